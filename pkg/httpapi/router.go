package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/page"
)

// Operation describes one route for both the mux and the OpenAPI document,
// so the published API cannot drift from what is served.
type Operation struct {
	Method      string   // GET, POST, PUT, PATCH, DELETE
	Path        string   // ServeMux path, e.g. /v1/cases/{id}/notes
	ID          string   // operationId, unique in the router
	Summary     string   // one line
	Description string   // optional, longer
	Tags        []string // groups in the rendered docs
	// Query documents the query parameters the route reads.
	Query []QueryParam
	// Request is the zero value of the JSON body type, nil when there is none.
	Request any
	// Responses maps each success or documented error status to the zero
	// value of its body type; nil means no body. 4xx/5xx are always
	// problem+json whatever the value.
	Responses map[int]any
	// Public marks a route that needs no bearer token. Otherwise a token is
	// required and, when Roles is not empty, one of Roles.
	Public bool
	Roles  []caller.Role
	// Restricted marks responses that carry restricted data: they are sent
	// with Cache-Control: no-store and flagged x-restricted in the document.
	Restricted bool
	// Idempotent marks a POST that is idempotent by itself: its handler
	// creates what it creates under an id derived from the request's
	// IdempotencyScope, with compare-and-set, and answers a retry with the
	// first result. The idempotency store is then only the fast path, and
	// the route keeps serving while that store is unreachable.
	Idempotent bool
}

// QueryParam is one documented query parameter.
type QueryParam struct {
	Name, Description string
	Enum              []string // the values allowed, when they are a closed set
	Integer           bool     // a number, Min..Max
	Min, Max          int
}

// PageParams are the query parameters of every paged list (pkg/page).
var PageParams = []QueryParam{
	{Name: "limit", Description: "Page size (default " + strconv.Itoa(page.DefaultLimit) + ")", Integer: true, Min: 1, Max: page.MaxLimit},
	{Name: "after", Description: "The previous page's next cursor; absent for the first page"},
}

func (op Operation) pattern() string { return op.Method + " " + op.Path }

// RouteMiddleware wraps one route's handler knowing its Operation, e.g. an
// authorization check against op.Roles.
type RouteMiddleware func(op Operation, next http.Handler) http.Handler

// RouterOptions configures a Router.
type RouterOptions struct {
	// Title, Version and ServerURL describe the API in GET /openapi.json.
	Title, Version, ServerURL string
	// RouteMiddleware wrap every route, first listed outermost.
	RouteMiddleware []RouteMiddleware
	// RateLimit wraps every route inside RouteMiddleware, so it sees the
	// identity that authentication placed there; nil means no limit.
	RateLimit Middleware
	// Idempotency wraps every POST route; nil leaves POSTs unprotected.
	Idempotency Middleware
}

// Router is an http.ServeMux that keeps each route's Operation. Routes
// answer unmatched requests with a 404 (or 405) problem that says nothing
// about what exists.
type Router struct {
	mux  *http.ServeMux
	opts RouterOptions

	mu  sync.RWMutex
	ops []Operation
	// notFoundPage answers unmatched page requests (see NotFoundPage).
	notFoundPage http.Handler
}

// NewRouter returns a router serving GET /openapi.json.
func NewRouter(o RouterOptions) *Router {
	rt := &Router{mux: http.NewServeMux(), opts: o}
	rt.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		recordRoute(r)
		WriteJSON(w, r, http.StatusOK, rt.OpenAPI(o.Title, o.Version, o.ServerURL))
	})
	return rt
}

// Handle registers h for op. Like http.ServeMux it panics on an invalid or
// conflicting registration: that is a programming error found at start-up.
func (rt *Router) Handle(op Operation, h http.Handler) {
	if err := op.validate(); err != nil {
		panic(fmt.Sprintf("httpapi: register %s: %v", op.pattern(), err))
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, o := range rt.ops {
		if o.ID == op.ID {
			panic(fmt.Sprintf("httpapi: register %s: operation id %q already used by %s", op.pattern(), op.ID, o.pattern()))
		}
	}
	if op.Method == http.MethodPost && rt.opts.Idempotency != nil {
		h = rt.opts.Idempotency(h)
		if op.Idempotent {
			h = selfIdempotent(h)
		}
	}
	if op.Restricted {
		h = NoStore(h)
	}
	if rt.opts.RateLimit != nil {
		h = rt.opts.RateLimit(h)
	}
	for i := len(rt.opts.RouteMiddleware) - 1; i >= 0; i-- {
		h = rt.opts.RouteMiddleware[i](op, h)
	}
	rt.mux.Handle(op.pattern(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recordRoute(r)
		h.ServeHTTP(w, r)
	}))
	rt.ops = append(rt.ops, op)
}

// Page registers h for a ServeMux pattern (e.g. "GET /report") that is not
// an API operation: a web page, a static file, a sign-in redirect. Pages get
// the server's chain (request id, tracing, metrics, access log by route
// template, recovery, body limit) but no bearer authentication, API rate
// limit or idempotency, and they are not in the OpenAPI document: the
// handler owns its security (sessions, CSRF, headers). Like Handle it panics
// on a conflicting pattern.
func (rt *Router) Page(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recordRoute(r)
		h.ServeHTTP(w, r)
	}))
}

// NotFoundPage answers the GET and HEAD requests that match nothing, are
// outside the API (/v1/, /openapi.json) and accept HTML, with h (the
// portal's "page not found"); API clients keep getting problems.
func (rt *Router) NotFoundPage(h http.Handler) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.notFoundPage = h
}

func (rt *Router) pageNotFound(r *http.Request) http.Handler {
	rt.mu.RLock()
	h := rt.notFoundPage
	rt.mu.RUnlock()
	if h == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
		strings.HasPrefix(r.URL.Path, "/v1/") || r.URL.Path == "/openapi.json" ||
		!strings.Contains(r.Header.Get("Accept"), "text/html") {
		return nil
	}
	return h
}

// HandleFunc registers a handler function for op.
func (rt *Router) HandleFunc(op Operation, h func(http.ResponseWriter, *http.Request)) {
	rt.Handle(op, http.HandlerFunc(h))
}

// Operations lists the registered operations in registration order.
func (rt *Router) Operations() []Operation {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return slices.Clone(rt.ops)
}

// ServeHTTP routes r. Unmatched requests get a problem instead of the
// ServeMux's plain-text page; 405 keeps its Allow header.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := rt.mux.Handler(r); pattern == "" {
		if h := rt.pageNotFound(r); h != nil {
			h.ServeHTTP(w, r)
			return
		}
		rt.mux.ServeHTTP(&unmatchedWriter{ResponseWriter: w, r: r}, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// unmatchedWriter replaces the ServeMux's 404/405 bodies with problems.
type unmatchedWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (w *unmatchedWriter) WriteHeader(code int) {
	if code >= 400 && !w.replaced {
		w.replaced = true
		p := NewProblem(code, "")
		WriteProblem(w.ResponseWriter, w.r, p)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *unmatchedWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (op Operation) validate() error {
	switch op.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fmt.Errorf("method %q is not one of GET, POST, PUT, PATCH, DELETE", op.Method)
	}
	if !strings.HasPrefix(op.Path, "/") || strings.ContainsAny(op.Path, " \t") {
		return fmt.Errorf("path %q must start with / and contain no spaces", op.Path)
	}
	if op.ID == "" {
		return fmt.Errorf("operation id is required")
	}
	for status := range op.Responses {
		if status < 100 || status > 599 {
			return fmt.Errorf("response status %d is not an HTTP status", status)
		}
	}
	return nil
}
