package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteProblem(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantDetail string
		wantErrors int
	}{
		{"problem as is", Conflict("case already closed"), 409, "case already closed", 0},
		{"wrapped problem", fmt.Errorf("close case: %w", Conflict("case already closed")), 409, "case already closed", 0},
		{"field errors", Unprocessable("bad", FieldError{Field: "a", Reason: "required"}, FieldError{Field: "b", Reason: "too long"}), 422, "bad", 2},
		{"not found says nothing", NotFound(), 404, "", 0},
		{"plain error is a generic 500", errors.New("dial 10.0.0.7: narrative of the report"), 500, Internal().Detail, 0},
		{"out of range status becomes 500", &Problem{Status: 302}, 500, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := newTestLogger()
			h := Chain(RequestID(), ContextLogger(logger))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				WriteProblem(w, r, tc.err)
			}))
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			r.Header.Set(RequestIDHeader, "req-123")
			w := serve(h, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tc.wantStatus)
			}
			p := decodeProblemBody(t, w)
			if p.Status != tc.wantStatus || p.Detail != tc.wantDetail || len(p.Errors) != tc.wantErrors {
				t.Errorf("problem = %+v", p)
			}
			if p.Title != http.StatusText(tc.wantStatus) || p.Type != "about:blank" {
				t.Errorf("title/type = %q/%q", p.Title, p.Type)
			}
			if p.Instance != "urn:deiops:request:req-123" {
				t.Errorf("instance = %q", p.Instance)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
			}
			if strings.Contains(w.Body.String(), "narrative") || strings.Contains(w.Body.String(), "10.0.0.7") {
				t.Errorf("internal error leaked into the response: %s", w.Body.String())
			}
			if tc.wantStatus == 500 && strings.Contains(tc.err.Error(), "narrative") {
				if !strings.Contains(logs.String(), "narrative") || !strings.Contains(logs.String(), "req-123") {
					t.Errorf("the real error and request id should be logged: %s", logs.String())
				}
			}
		})
	}
}

func TestNotFoundRevealsNothing(t *testing.T) {
	w := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, NotFound())
	}), httptest.NewRequest(http.MethodGet, "/v1/cases/secret-case-id", nil))
	body := w.Body.String()
	for _, leak := range []string{"secret-case-id", "detail", "errors", "instance"} {
		if strings.Contains(body, leak) {
			t.Errorf("404 body mentions %q: %s", leak, body)
		}
	}
}

func TestProblemIsAnError(t *testing.T) {
	var err error = Unprocessable("invalid", FieldError{Field: "title", Reason: "required"})
	var p *Problem
	if !errors.As(fmt.Errorf("wrap: %w", err), &p) || p.Status != 422 {
		t.Fatalf("errors.As failed: %v", err)
	}
	if got, want := err.Error(), "422 Unprocessable Entity: invalid; title: required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestWriteProblemDoesNotModifyCaller(t *testing.T) {
	p := NotFound()
	serve(Chain(RequestID())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, p)
	})), httptest.NewRequest(http.MethodGet, "/", nil))
	if p.Instance != "" {
		t.Errorf("WriteProblem changed the caller's problem: %+v", p)
	}
}

// The answer to a client that went away is nobody's, but it must still be a
// 5xx on the wire: the idempotency middleware then frees the key, and the
// client's retry runs instead of replaying a 499.
func TestClientGoneFreesTheIdempotencyKey(t *testing.T) {
	f := newIdemFixture(t, NewMemoryIdempotencyStore(nil))
	ctx, hangUp := context.WithCancel(context.Background())
	f.behave = func(w http.ResponseWriter, r *http.Request) {
		hangUp()
		WriteProblem(w, r, fmt.Errorf("save note: %w", r.Context().Err()))
	}
	r := jsonRequest(http.MethodPost, "/v1/cases/c1/notes", `{}`).WithContext(ctx)
	r.Header.Set(IdempotencyKeyHeader, "k-gone")
	if w := serve(f.h, r); w.Code < 500 {
		t.Fatalf("written status = %d, want a 5xx", w.Code)
	}

	f.behave = nil
	if w := f.post("/v1/cases/c1/notes", "k-gone", "", `{}`); w.Code != http.StatusCreated || f.calls.Load() != 2 {
		t.Fatalf("retry: status %d after %d calls, want 201 from a second call", w.Code, f.calls.Load())
	}
}
