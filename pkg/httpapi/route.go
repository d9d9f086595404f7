package httpapi

import (
	"context"
	"net/http"
	"strings"
)

// routeInfo is filled in by the router once a request is matched. The
// middleware outside the router hold a pointer to it because the request the
// ServeMux sees (and sets Pattern on) is a copy made further down the chain.
type routeInfo struct {
	pattern string
	// clientClosed is set by WriteProblem when the client went away.
	clientClosed bool
}

type routeKey struct{}

// withRouteInfo returns r carrying a routeInfo, reusing one set further out.
func withRouteInfo(r *http.Request) (*http.Request, *routeInfo) {
	if ri, ok := r.Context().Value(routeKey{}).(*routeInfo); ok {
		return r, ri
	}
	ri := &routeInfo{}
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, ri)), ri
}

// recordRoute publishes the matched pattern to the middleware outside.
func recordRoute(r *http.Request) {
	if ri, ok := r.Context().Value(routeKey{}).(*routeInfo); ok && r.Pattern != "" {
		ri.pattern = r.Pattern
	}
}

// markClientClosed tells the middleware outside that r's client went away.
func markClientClosed(r *http.Request) {
	if ri, ok := r.Context().Value(routeKey{}).(*routeInfo); ok {
		ri.clientClosed = true
	}
}

// status is what telemetry records for a response: 499 once the client went
// away, whatever was written for nobody to read.
func (ri *routeInfo) status(sw *statusWriter) int {
	if ri.clientClosed {
		return StatusClientClosedRequest
	}
	return sw.Status()
}

// Route is the route template that matched r, without the method, e.g.
// "/v1/cases/{id}/notes"; "" when no route matched. Telemetry uses it instead
// of the raw path, which can carry identifiers.
func Route(r *http.Request) string {
	if ri, ok := r.Context().Value(routeKey{}).(*routeInfo); ok && ri.pattern != "" {
		return routePath(ri.pattern)
	}
	return routePath(r.Pattern)
}

// routePath strips the method and host from a ServeMux pattern.
func routePath(pattern string) string {
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimLeft(rest, " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:] // host-specific pattern
	}
	return pattern
}

// methodLabel bounds the method label: anything unknown is "_OTHER", as the
// HTTP semantic conventions ask, so a client cannot mint label values.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

func schemeOf(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
