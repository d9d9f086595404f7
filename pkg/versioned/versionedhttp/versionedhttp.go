// Package versionedhttp holds what every HTTP API over a versioned
// document store shares: reading the scope and version path values, and
// answering the store's errors with problems.
package versionedhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/versioned"
)

// Scope reads the path value param as a scope of at most maxLen
// characters that is none of reserved; a bad one is answered with 422
// naming param.
func Scope(w http.ResponseWriter, r *http.Request, param string, maxLen int, reserved ...string) (string, bool) {
	id := r.PathValue(param)
	if len(id) <= maxLen && versioned.ValidScope(id) && !slices.Contains(reserved, id) {
		return id, true
	}
	reason := fmt.Sprintf("must be 1 to %d letters, digits and . _ : -", maxLen)
	if slices.Contains(reserved, id) {
		reason = id + " is reserved"
	}
	httpapi.WriteProblem(w, r, httpapi.Unprocessable("invalid path", httpapi.FieldError{Field: param, Reason: reason}))
	return "", false
}

// Version reads the {version} path value; 422 naming version when it is
// not a positive integer.
func Version(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		httpapi.WriteProblem(w, r, httpapi.Unprocessable("invalid path", httpapi.FieldError{Field: "version", Reason: "must be a positive integer"}))
		return 0, false
	}
	return n, true
}

// Errors says how an API names its documents in problems and which of its
// own errors mean it has not started yet.
type Errors struct {
	Noun       string // e.g. "guidance", "escalation policy"
	NotStarted error
	// TooLarge answers ErrTooLarge; nil means 422.
	TooLarge *httpapi.Problem
}

// Fail answers err: 404 for no such document, 409 for a full history or
// colliding publishes, 503 while starting or when the store cannot answer,
// the problem itself for a *httpapi.Problem, 500 for the rest.
func (e Errors) Fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	var p *httpapi.Problem
	switch {
	case errors.Is(err, versioned.ErrNotFound):
		httpapi.WriteProblem(w, r, httpapi.NotFound())
	case errors.Is(err, versioned.ErrFull):
		httpapi.WriteProblem(w, r, httpapi.Conflict(fmt.Sprintf("the scope holds the maximum of %d %s versions", versioned.DefaultMaxVersions, e.Noun)))
	case errors.Is(err, versioned.ErrConflict):
		httpapi.WriteProblem(w, r, httpapi.Conflict("concurrent publishes kept colliding; send the "+e.Noun+" again"))
	case errors.Is(err, versioned.ErrTooLarge):
		if e.TooLarge != nil {
			httpapi.WriteProblem(w, r, e.TooLarge)
			return
		}
		httpapi.WriteProblem(w, r, httpapi.Unprocessable("the "+e.Noun+" is too large to store"))
	case errors.Is(err, versioned.ErrInvalidPublisher):
		httpapi.WriteProblem(w, r, err) // a subject the store cannot keep: a 500, logged
	case e.NotStarted != nil && errors.Is(err, e.NotStarted):
		httpapi.WriteProblem(w, r, httpapi.ServiceUnavailable("the "+e.Noun+" service is starting; retry shortly"))
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		httpapi.WriteProblem(w, r, err) // the client went away
	case errors.As(err, &p):
		httpapi.WriteProblem(w, r, p)
	default:
		httpapi.LoggerFrom(ctx).ErrorContext(ctx, e.Noun+" store unavailable", "request_id", httpapi.RequestIDFrom(ctx), "error", err)
		httpapi.WriteProblem(w, r, httpapi.ServiceUnavailable("the "+e.Noun+" cannot be read or stored right now; retry shortly"))
	}
}
