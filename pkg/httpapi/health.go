package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check reports whether one dependency is usable. It must honour ctx: the
// readiness probe stops waiting when ctx ends.
type Check func(ctx context.Context) error

// Health serves liveness and readiness. Checks may be added while serving.
type Health struct {
	timeout time.Duration

	mu     sync.RWMutex
	checks map[string]Check
	// optional names the checks whose failure degrades the process without
	// making it unready.
	optional map[string]bool
}

// NewHealth returns a Health whose readiness checks each get timeout
// (default 2s).
func NewHealth(timeout time.Duration) *Health {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &Health{timeout: timeout, checks: map[string]Check{}, optional: map[string]bool{}}
}

// Add registers a named readiness check, replacing one of the same name.
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
	delete(h.optional, name)
}

// AddOptional registers a check of a dependency the process serves without
// (Redis: rate limits fail open, idempotent routes rest on their own
// store). Its failure shows as "degraded" and never makes the process
// unready, so an outage of it cannot take every replica out of service.
func (h *Health) AddOptional(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
	h.optional[name] = true
}

// CheckResult is one check's entry in the readiness body.
type CheckResult struct {
	Status string `json:"status" enum:"ok,degraded,fail"`
	Error  string `json:"error,omitempty"`
}

// Report is the readiness body.
type Report struct {
	Status string                 `json:"status" enum:"ok,fail"`
	Checks map[string]CheckResult `json:"checks"`
}

// Live answers 200 while the process can serve HTTP at all; it checks no
// dependency, so a Redis outage never gets the pod restarted.
func (h *Health) Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetNoStore(w)
		WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready runs every check concurrently and answers 200 when all pass, else
// 503. A check that outlives the timeout counts as failed.
func (h *Health) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := h.Run(r.Context())
		status := http.StatusOK
		if rep.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		SetNoStore(w)
		WriteJSON(w, r, status, rep)
	})
}

// Run executes every check once.
func (h *Health) Run(ctx context.Context) Report {
	h.mu.RLock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	checks := make([]Check, len(names))
	optional := make([]bool, len(names))
	for i, n := range names {
		checks[i], optional[i] = h.checks[n], h.optional[n]
	}
	h.mu.RUnlock()

	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	type result struct {
		i   int
		err error
	}
	// Buffered so a check that ignores ctx cannot block forever on sending.
	done := make(chan result, len(checks))
	for i, c := range checks {
		go func() {
			done <- result{i, runCheck(ctx, c)}
		}()
	}
	errs := make([]error, len(checks))
	pending := make([]bool, len(checks))
	for i := range pending {
		pending[i] = true
	}
wait:
	for range checks {
		select {
		case res := <-done:
			errs[res.i], pending[res.i] = res.err, false
		case <-ctx.Done():
			break wait
		}
	}
	rep := Report{Status: "ok", Checks: make(map[string]CheckResult, len(names))}
	for i, n := range names {
		err := errs[i]
		if pending[i] {
			err = fmt.Errorf("no answer within %s", h.timeout)
		}
		switch {
		case err != nil && optional[i]:
			rep.Checks[n] = CheckResult{Status: "degraded", Error: err.Error()}
			continue
		case err != nil:
			rep.Status = "fail"
			rep.Checks[n] = CheckResult{Status: "fail", Error: err.Error()}
			continue
		}
		rep.Checks[n] = CheckResult{Status: "ok"}
	}
	return rep
}

// runCheck turns a panicking check into a failure rather than a crash.
func runCheck(ctx context.Context, c Check) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("check panicked: %v", v)
		}
	}()
	return c(ctx)
}
