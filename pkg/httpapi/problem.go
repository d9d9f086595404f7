package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/fault"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object. It implements error, so a
// handler or a domain adapter can return one and WriteProblem answers with it
// unchanged.
type Problem struct {
	Type     string       `json:"type" desc:"URI reference identifying the problem type; about:blank means the HTTP status says it all"`
	Title    string       `json:"title" desc:"Short summary of the problem type"`
	Status   int          `json:"status" desc:"HTTP status code" minimum:"400" maximum:"599"`
	Detail   string       `json:"detail,omitempty" desc:"Explanation specific to this occurrence"`
	Instance string       `json:"instance,omitempty" desc:"URI reference of this occurrence (the request id)"`
	Errors   []FieldError `json:"errors,omitempty" desc:"Every invalid field of the request"`
}

// FieldError names one invalid field of a request body. It is the
// platform's one field-problem type (pkg/fault), so domain validation and
// request decoding report alike.
type FieldError = fault.Field

// Error makes *Problem an error.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(p.Status))
	b.WriteByte(' ')
	b.WriteString(p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, fe := range p.Errors {
		fmt.Fprintf(&b, "; %s: %s", fe.Field, fe.Reason)
	}
	return b.String()
}

// NewProblem returns an about:blank problem whose title is the status text.
func NewProblem(status int, detail string, errs ...FieldError) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
}

// BadRequest is 400: the request could not be read (syntax, unknown fields).
func BadRequest(detail string, errs ...FieldError) *Problem {
	return NewProblem(http.StatusBadRequest, detail, errs...)
}

// Unauthorized is 401: no valid credentials.
func Unauthorized(detail string) *Problem { return NewProblem(http.StatusUnauthorized, detail) }

// Forbidden is 403. For objects the caller may not know exist, answer
// NotFound instead so the answer does not confirm their existence.
func Forbidden(detail string) *Problem { return NewProblem(http.StatusForbidden, detail) }

// NotFound is 404 with no detail at all: the response must not reveal whether
// the resource exists, what it is, or why the caller cannot see it.
func NotFound() *Problem { return NewProblem(http.StatusNotFound, "") }

// Conflict is 409: the request conflicts with the current state.
func Conflict(detail string) *Problem { return NewProblem(http.StatusConflict, detail) }

// PayloadTooLarge is 413.
func PayloadTooLarge(limit int64) *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", limit))
}

// UnsupportedMediaType is 415.
func UnsupportedMediaType(detail string) *Problem {
	return NewProblem(http.StatusUnsupportedMediaType, detail)
}

// Unprocessable is 422: well-formed JSON whose values break the rules.
func Unprocessable(detail string, errs ...FieldError) *Problem {
	return NewProblem(http.StatusUnprocessableEntity, detail, errs...)
}

// TooManyRequests is 429. The caller sets Retry-After.
func TooManyRequests(detail string) *Problem {
	return NewProblem(http.StatusTooManyRequests, detail)
}

// StatusClientClosedRequest is nginx's 499 "client closed request": what
// logs, metrics and traces record for a request whose client went away
// before the answer, so it is not counted as a server fault (5xx).
const StatusClientClosedRequest = 499

// Internal is 500 with a generic detail; the cause is logged, never sent.
func Internal() *Problem {
	return NewProblem(http.StatusInternalServerError, "the server could not complete the request; quote the instance when reporting it")
}

// ServiceUnavailable is 503: a dependency is down; the client may retry.
func ServiceUnavailable(detail string) *Problem {
	return NewProblem(http.StatusServiceUnavailable, detail)
}

// DefaultRetryAfter is sent with a 503 whose error names no delay.
const DefaultRetryAfter = time.Second

// ProblemFor maps err to the problem a client sees: a *Problem anywhere in
// err's chain as is; a classified error (pkg/fault) by its kind, with its
// detail and fields; and nil for anything else, which is a server fault.
// It is the platform's one mapping of error kinds to HTTP statuses.
func ProblemFor(err error) (*Problem, time.Duration) {
	var p *Problem
	if errors.As(err, &p) && p != nil {
		return p, 0
	}
	f, ok := fault.As(err)
	if !ok {
		return nil, 0
	}
	switch f.Kind {
	case fault.NotFound:
		return NotFound(), 0 // never a detail: a 404 must reveal nothing
	case fault.Forbidden:
		return Forbidden(orDefault(f.Detail, "you may not do this")), 0
	case fault.Conflict:
		return Conflict(orDefault(f.Detail, "not possible in the current state")), 0
	case fault.Invalid:
		return Unprocessable(orDefault(f.Detail, "the request has invalid fields"), f.Fields...), 0
	case fault.TooLarge:
		return NewProblem(http.StatusRequestEntityTooLarge, orDefault(f.Detail, "the request is too large")), 0
	case fault.Unauthenticated:
		return Unauthorized(orDefault(f.Detail, "valid credentials are required")), 0
	case fault.Limited:
		return TooManyRequests(orDefault(f.Detail, "too many requests; retry after the time in Retry-After")), max(f.RetryAfter, time.Second)
	case fault.Unavailable:
		after := f.RetryAfter
		if after <= 0 {
			after = DefaultRetryAfter
		}
		return ServiceUnavailable(orDefault(f.Detail, "temporarily unable to complete the request; retry after the time in Retry-After")), after
	}
	return nil, 0
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// WriteProblem answers with err as problem+json, mapped by ProblemFor. Any
// error it does not classify becomes a generic 500 and is logged with the
// request id, because error strings can carry restricted data or internals
// that a client must not see. A 503 carries Retry-After.
//
// An error that is the client going away (context.Canceled while the
// request's context is cancelled) is no server fault: it is not logged,
// and logs, metrics and traces record StatusClientClosedRequest.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p, retryAfter := ProblemFor(err)
	switch {
	case clientClosed(r, err):
		markClientClosed(r)
		// Nobody receives this answer; a 5xx on the wire makes the
		// idempotency middleware free the key for the client's retry.
		p, retryAfter = Internal(), 0
	case p == nil && outOfTime(r, err):
		// The request's time budget (RequestDeadline) ran out, e.g. in a
		// queue of writers of one record: busy, not broken.
		LoggerFrom(r.Context()).WarnContext(r.Context(), "request ran out of time", "request_id", RequestIDFrom(r.Context()),
			"route", Route(r), "error", err)
		p, retryAfter = ServiceUnavailable("the server could not finish in time; retry after the time in Retry-After"), DefaultRetryAfter
	case p == nil:
		logUnexpected(r, err)
		p = Internal()
	default:
		if f, ok := fault.As(err); ok && f.Cause != nil && f.Kind == fault.Unavailable {
			LoggerFrom(r.Context()).WarnContext(r.Context(), "request answered 503", "request_id", RequestIDFrom(r.Context()),
				"route", Route(r), "error", f.Cause)
		}
	}
	if (p.Status == http.StatusServiceUnavailable || retryAfter > 0) && w.Header().Get("Retry-After") == "" {
		if retryAfter <= 0 {
			retryAfter = DefaultRetryAfter
		}
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	out := *p // never modify the caller's value
	if out.Status < 400 || out.Status > 599 {
		out.Status = http.StatusInternalServerError
	}
	if out.Type == "" {
		out.Type = "about:blank"
	}
	if out.Title == "" {
		out.Title = http.StatusText(out.Status)
	}
	if out.Instance == "" {
		if id := RequestIDFrom(r.Context()); id != "" {
			out.Instance = "urn:deiops:request:" + id
		}
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	// Errors are about one request and may name its fields; never cache them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(out.Status)
	if r.Method == http.MethodHead {
		return
	}
	if err := json.NewEncoder(w).Encode(&out); err != nil {
		LoggerFrom(r.Context()).DebugContext(r.Context(), "write problem response", "error", err)
	}
}

func logUnexpected(r *http.Request, err error) {
	ctx := r.Context()
	LoggerFrom(ctx).ErrorContext(ctx, "request failed", "request_id", RequestIDFrom(ctx), "route", Route(r), "error", err)
}

// outOfTime reports whether err is the request's own deadline passing.
func outOfTime(r *http.Request, err error) bool {
	return errors.Is(err, context.DeadlineExceeded) && errors.Is(r.Context().Err(), context.DeadlineExceeded)
}

// clientClosed reports whether err is the client having gone away rather
// than a failure of the server.
func clientClosed(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled)
}

// WriteJSON answers with v as application/json.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified {
		return
	}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// Headers are gone; all that is left is to record it.
		LoggerFrom(r.Context()).ErrorContext(r.Context(), "encode response", "request_id", RequestIDFrom(r.Context()), "error", err)
	}
}
