package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	tests := []struct {
		name       string
		checks     map[string]Check
		wantStatus int
		wantChecks map[string]string
	}{
		{"no checks", nil, 200, map[string]string{}},
		{"all pass", map[string]Check{
			"nats":  func(context.Context) error { return nil },
			"redis": func(context.Context) error { return nil },
		}, 200, map[string]string{"nats": "ok", "redis": "ok"}},
		{"one fails", map[string]Check{
			"nats":  func(context.Context) error { return nil },
			"redis": func(context.Context) error { return errors.New("connection refused") },
		}, 503, map[string]string{"nats": "ok", "redis": "fail"}},
		{"one ignores its deadline", map[string]Check{
			"nats":     func(context.Context) error { return nil },
			"temporal": func(context.Context) error { <-block; return nil },
		}, 503, map[string]string{"nats": "ok", "temporal": "fail"}},
		{"one panics", map[string]Check{
			"bad": func(context.Context) error { panic("oops") },
		}, 503, map[string]string{"bad": "fail"}},
		{"an optional one fails", map[string]Check{
			"nats":           func(context.Context) error { return nil },
			"optional:redis": func(context.Context) error { return errors.New("connection refused") },
		}, 200, map[string]string{"nats": "ok", "redis": "degraded"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHealth(100 * time.Millisecond)
			for n, c := range tc.checks {
				if name, ok := strings.CutPrefix(n, "optional:"); ok {
					h.AddOptional(name, c)
					continue
				}
				h.Add(n, c)
			}
			if w := serve(h.Live(), httptest.NewRequest(http.MethodGet, "/healthz", nil)); w.Code != 200 {
				t.Errorf("healthz = %d", w.Code)
			}
			w := serve(h.Ready(), httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != tc.wantStatus {
				t.Fatalf("readyz = %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("readiness must not be cached")
			}
			var rep Report
			if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			wantOverall := "ok"
			if tc.wantStatus != 200 {
				wantOverall = "fail"
			}
			if rep.Status != wantOverall || len(rep.Checks) != len(tc.wantChecks) {
				t.Fatalf("report = %+v", rep)
			}
			for n, want := range tc.wantChecks {
				got := rep.Checks[n]
				if got.Status != want || (want == "ok") != (got.Error == "") {
					t.Errorf("check %s = %+v, want %s with an error iff failed", n, got, want)
				}
			}
		})
	}
}

// TestHealthChecksRunConcurrently would deadlock if checks ran one by one:
// each waits for the other to have started.
func TestHealthChecksRunConcurrently(t *testing.T) {
	a, b := make(chan struct{}), make(chan struct{})
	h := NewHealth(5 * time.Second)
	h.Add("a", func(ctx context.Context) error {
		close(a)
		select {
		case <-b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	h.Add("b", func(ctx context.Context) error {
		close(b)
		select {
		case <-a:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if rep := h.Run(context.Background()); rep.Status != "ok" {
		t.Fatalf("report = %+v", rep)
	}
}
