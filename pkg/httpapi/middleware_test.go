package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		wantKeep bool
	}{
		{"absent is generated", "", false},
		{"valid is kept", "abc-DEF_123.x:y", true},
		{"too long is replaced", strings.Repeat("a", 129), false},
		{"longest is kept", strings.Repeat("a", 128), true},
		{"bad characters are replaced", "abc def", false},
		{"log injection is replaced", "abc\ninjected", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			h := RequestID()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = RequestIDFrom(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				r.Header[RequestIDHeader] = []string{tc.header}
			}
			w := serve(h, r)
			echoed := w.Header().Get(RequestIDHeader)
			if echoed != seen || seen == "" {
				t.Fatalf("echoed %q, context %q", echoed, seen)
			}
			if tc.wantKeep {
				if seen != tc.header {
					t.Errorf("id = %q, want the caller's %q", seen, tc.header)
				}
				return
			}
			if _, err := uuid.Parse(seen); err != nil {
				t.Errorf("generated id %q is not a UUID", seen)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	logger, logs := newTestLogger()
	h := Chain(RequestID(), ContextLogger(logger), Recover())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom: restricted detail")
	}))
	w := serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != 500 {
		t.Fatalf("status = %d", w.Code)
	}
	if p := decodeProblemBody(t, w); strings.Contains(p.Detail, "boom") {
		t.Errorf("panic value leaked: %+v", p)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("panic and stack should be logged: %s", logs.String())
	}
	if !strings.Contains(logs.String(), w.Header().Get(RequestIDHeader)) {
		t.Errorf("log lacks the request id: %s", logs.String())
	}
}

func TestRecoverAfterHeadersAbortsResponse(t *testing.T) {
	logger, _ := newTestLogger()
	h := Chain(ContextLogger(logger), Recover())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		panic("late")
	}))
	defer func() {
		v := recover()
		err, ok := v.(error)
		if !ok || !errors.Is(err, http.ErrAbortHandler) {
			t.Fatalf("want http.ErrAbortHandler so the connection is cut, got %v", v)
		}
	}()
	serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
}

func TestNoStore(t *testing.T) {
	w := serve(NoStore(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})), httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
		t.Errorf("headers = %v", w.Header())
	}
}

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string) Middleware {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	serve(Chain(mw("a"), nil, mw("b"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		order = append(order, "h")
	})), httptest.NewRequest(http.MethodGet, "/", nil))
	if got := strings.Join(order, ","); got != "a,b,h" {
		t.Errorf("order = %s", got)
	}
}

func TestStatusWriterSupportsFlush(t *testing.T) {
	h := AccessLog(newDiscardLogger())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the wrapper: %v", err)
		}
	}))
	w := serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
	if !w.Flushed {
		t.Error("response was not flushed")
	}
}
