package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/deiops/deiops/pkg/testkit"
)

func newTestLimiter(t *testing.T, client redis.Scripter, prefix string, perMinute, burst int) *RateLimiter {
	t.Helper()
	logger, _ := newTestLogger()
	l, err := NewRateLimiter(client, RateLimitOptions{
		PerMinute: perMinute, Burst: burst, KeyPrefix: prefix, KeySecret: testSecret(),
		Identity: func(r *http.Request) string { return r.Header.Get(userHeader) },
		Logger:   logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRateLimitMiddleware(t *testing.T) {
	env := testkit.Redis(t)
	// One request a minute: the steady rate cannot refill during the test,
	// so the outcome does not depend on how fast it runs.
	const burst = 3
	l := newTestLimiter(t, env.Client, env.Prefix, 1, burst)
	h := l.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	request := func(user, ip string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = ip + ":5000"
		if user != "" {
			r.Header.Set(userHeader, user)
		}
		return serve(h, r)
	}

	for i := range burst {
		w := request("alice", "192.0.2.1")
		if w.Code != http.StatusNoContent {
			t.Fatalf("request %d within the burst: status %d", i+1, w.Code)
		}
		if got, want := w.Header().Get("RateLimit-Remaining"), strconv.Itoa(burst-1-i); got != want {
			t.Errorf("request %d: RateLimit-Remaining = %s, want %s", i+1, got, want)
		}
		if w.Header().Get("RateLimit-Limit") != strconv.Itoa(burst) {
			t.Errorf("RateLimit-Limit = %q", w.Header().Get("RateLimit-Limit"))
		}
	}

	denied := request("alice", "192.0.2.1")
	if denied.Code != http.StatusTooManyRequests {
		t.Fatalf("request after the burst: status %d, want 429", denied.Code)
	}
	decodeProblemBody(t, denied)
	retry, err := strconv.Atoi(denied.Header().Get("Retry-After"))
	if err != nil || retry < 1 || retry > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", denied.Header().Get("Retry-After"))
	}
	if denied.Header().Get("RateLimit-Remaining") != "0" {
		t.Errorf("RateLimit-Remaining = %q, want 0", denied.Header().Get("RateLimit-Remaining"))
	}
	if reset, _ := strconv.Atoi(denied.Header().Get("RateLimit-Reset")); reset < 120 || reset > 180 {
		t.Errorf("RateLimit-Reset = %d, want about 3 minutes", reset)
	}

	// Another identity on the same address, and anonymous callers, have
	// their own allowance.
	if w := request("bob", "192.0.2.1"); w.Code != http.StatusNoContent {
		t.Errorf("other identity: status %d", w.Code)
	}
	for range burst {
		if w := request("", "192.0.2.1"); w.Code != http.StatusNoContent {
			t.Fatalf("anonymous: status %d", w.Code)
		}
	}
	if w := request("", "192.0.2.1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("anonymous after burst: status %d", w.Code)
	}
	if w := request("", "198.51.100.7"); w.Code != http.StatusNoContent {
		t.Errorf("other address: status %d", w.Code)
	}

	// Neither identities nor addresses appear in Redis key names.
	keys, err := env.Client.Keys(context.Background(), env.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Errorf("keys = %v, want one per caller", keys)
	}
	for _, k := range keys {
		if strings.Contains(k, "alice") || strings.Contains(k, "192.0.2.1") {
			t.Errorf("key %q names the caller", k)
		}
	}
}

func TestRateLimitRefills(t *testing.T) {
	env := testkit.Redis(t)
	// 60000/min is one request per millisecond; a burst of one refills by the
	// next millisecond, which Eventually observes without sleeping blindly.
	l := newTestLimiter(t, env.Client, env.Prefix, 60_000, 1)
	ctx := context.Background()
	if d, err := l.Allow(ctx, "c"); err != nil || !d.Allowed {
		t.Fatalf("first: %+v %v", d, err)
	}
	testkit.Eventually(t, 5*time.Second, "the allowance to refill", func() bool {
		d, err := l.Allow(ctx, "c")
		return err == nil && d.Allowed
	})
}

func TestRateLimitFailsOpen(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	logger, logs := newTestLogger()
	l, err := NewRateLimiter(client, RateLimitOptions{PerMinute: 1, Burst: 1, KeySecret: testSecret(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for range 3 {
		if w := serve(h, httptest.NewRequest(http.MethodGet, "/", nil)); w.Code != http.StatusNoContent {
			t.Fatalf("status %d, want the request let through", w.Code)
		}
	}
	if n := strings.Count(logs.String(), "rate limiter unavailable"); n != 1 {
		t.Errorf("logged %d warnings, want 1 (throttled): %s", n, logs.String())
	}
}

func TestRateLimitOptionsChecked(t *testing.T) {
	_, err := NewRateLimiter(nil, RateLimitOptions{})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"redis client", "per-minute", "burst", "secret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
