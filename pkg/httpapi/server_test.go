package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/testkit"
)

type testUserKey struct{}

func testHTTPConfig() config.HTTP {
	return config.HTTP{
		MaxBodyBytes: 1 << 10, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		RateLimit: 1, RateBurst: 5, IdempotencyTTL: time.Hour, PublicURL: "http://localhost:8080",
	}
}

func TestServerWiring(t *testing.T) {
	env := testkit.Redis(t)
	tp, spans := testkit.Spans(t)
	logger, logs := newTestLogger()
	health := NewHealth(time.Second)
	health.Add("redis", func(ctx context.Context) error { return env.Client.Ping(ctx).Err() })
	cfg := testHTTPConfig()
	cfg.RateBurst = 2 // alice: first and replay pass, the 413 is refused before rate limiting
	s, err := NewServer(Options{
		Logger: logger, TracerProvider: tp, Config: cfg,
		Redis: env.Client, RedisKeyPrefix: env.Prefix, KeySecret: testSecret(), Sealer: xorSealer{},
		// Authentication happens per route, as in the deiops binary; the
		// limiter must see the identity it sets.
		RouteMiddleware: []RouteMiddleware{func(op Operation, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), testUserKey{}, r.Header.Get(userHeader))))
			})
		}},
		Identity: func(r *http.Request) string {
			user, _ := r.Context().Value(testUserKey{}).(string)
			return user
		},
		Health: health,
		MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "# metrics\n")
		}),
		APITitle: "deiops test", APIVersion: "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		calls  int
		postAs func(user, key, body string) *http.Response
	)
	s.Router().HandleFunc(Operation{Method: "POST", Path: "/v1/notes", ID: "addNote", Request: createNote{}, Responses: map[int]any{201: note{}}},
		func(w http.ResponseWriter, r *http.Request) {
			calls++
			in, err := Decode[createNote](r)
			if err != nil {
				WriteProblem(w, r, err)
				return
			}
			WriteJSON(w, r, http.StatusCreated, note{ID: "1", Text: in.Text})
		})
	h := s.Handler()

	// Probes and scrapes bypass the chain: no request id, no rate limit.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		for range 10 {
			w := serve(h, jsonRequest(http.MethodGet, path, ""))
			if w.Code != 200 || w.Header().Get(RequestIDHeader) != "" {
				t.Fatalf("%s: %d %v", path, w.Code, w.Header())
			}
		}
	}

	post := func(key, body string) *http.Response {
		return postAs("alice", key, body)
	}
	postAs = func(user, key, body string) *http.Response {
		r := jsonRequest(http.MethodPost, "/v1/notes", body)
		r.Header.Set(userHeader, user)
		r.Header.Set(IdempotencyKeyHeader, key)
		return serve(h, r).Result()
	}
	first := post("k1", `{"text":"hi"}`)
	if first.StatusCode != 201 || first.Header.Get(RequestIDHeader) == "" || first.Header.Get("RateLimit-Remaining") != "1" {
		t.Fatalf("first: %d %v", first.StatusCode, first.Header)
	}
	if replay := post("k1", `{"text":"hi"}`); replay.Header.Get(IdempotentReplayedHeader) != "true" || calls != 1 {
		t.Fatalf("replay: %v, handler calls %d", replay.Header, calls)
	}
	if tooBig := post("k2", `{"text":"`+strings.Repeat("a", 2000)+`"}`); tooBig.StatusCode != 413 {
		t.Fatalf("oversized body: %d", tooBig.StatusCode)
	}
	if doc := serve(h, jsonRequest(http.MethodGet, "/openapi.json", "")); doc.Code != 200 || !strings.Contains(doc.Body.String(), "addNote") {
		t.Fatalf("openapi.json: %d", doc.Code)
	}
	if limited := post("k3", `{"text":"x"}`); limited.StatusCode != 429 || limited.Header.Get("Retry-After") == "" {
		t.Fatalf("third request by alice: %d, want 429", limited.StatusCode)
	}
	// Same address, other identity: limited separately, which only works if
	// the limiter runs after the route's authentication.
	if bob := postAs("bob", "k4", `{"text":"x"}`); bob.StatusCode != 201 {
		t.Fatalf("bob after alice was limited: %d, want 201", bob.StatusCode)
	}
	if len(spans.Ended()) != 6 {
		t.Errorf("%d spans, want one per routed request", len(spans.Ended()))
	}
	if n := strings.Count(logs.String(), `"msg":"http request"`); n != 6 {
		t.Errorf("%d access log lines, want 6", n)
	}
}

func TestNewServerReportsEveryProblem(t *testing.T) {
	env := testkit.Redis(t)
	cfg := testHTTPConfig()
	cfg.MaxBodyBytes, cfg.RateBurst = 0, 0
	_, err := NewServer(Options{Config: cfg, Redis: env.Client})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"max body", "burst", "sealer", "secret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestServerWithoutRedis(t *testing.T) {
	s, err := NewServer(Options{Config: testHTTPConfig(), Logger: newDiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s.Router().HandleFunc(Operation{Method: "GET", Path: "/v1/x", ID: "x", Public: true}, func(w http.ResponseWriter, r *http.Request) {})
	for range 10 {
		if w := serve(s.Handler(), jsonRequest(http.MethodGet, "/v1/x", "")); w.Code != 200 || w.Header().Get("RateLimit-Limit") != "" {
			t.Fatalf("status %d %v", w.Code, w.Header())
		}
	}
}

func TestServerGracefulShutdown(t *testing.T) {
	s, err := NewServer(Options{Config: testHTTPConfig(), Logger: newDiscardLogger(), ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	s.Router().HandleFunc(Operation{Method: "GET", Path: "/v1/slow", ID: "slow", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	addr := ln.Addr().String()
	testkit.Eventually(t, 5*time.Second, "the server to report its address", func() bool { return s.Addr() == addr })

	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/v1/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-entered
	cancel() // as on SIGTERM

	// New connections are refused while the in-flight request still runs.
	testkit.Eventually(t, 5*time.Second, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}
	close(release)
	res := <-inflight
	if res.err != nil || res.body != "finished" {
		t.Fatalf("in-flight request: %q %v", res.body, res.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServerShutdownDeadline(t *testing.T) {
	s, err := NewServer(Options{Config: testHTTPConfig(), Logger: newDiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	s.Router().HandleFunc(Operation{Method: "GET", Path: "/v1/stuck", ID: "stuck", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/v1/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time left at all
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want the context's error", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown = %v, want nil", err)
	}
}

func TestListenAndServeReportsListenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := NewServer(Options{Addr: ln.Addr().String(), Config: testHTTPConfig(), Logger: newDiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ListenAndServe(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("ListenAndServe on a busy port = %v", err)
	}
}

// Work that outlives the request's budget is answered 503 with Retry-After
// before the write timeout would cut the connection.
func TestWorkThatRunsOutOfTimeIsRetryable(t *testing.T) {
	cfg := testHTTPConfig()
	cfg.WriteTimeout = 400 * time.Millisecond
	s, err := NewServer(Options{Config: cfg, Logger: newDiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s.Router().HandleFunc(Operation{Method: "GET", Path: "/v1/slow", ID: "slow", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a turn in a queue that never comes
		WriteProblem(w, r, fmt.Errorf("wait for a turn: %w", r.Context().Err()))
	})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	start := time.Now()
	resp, err := http.Get(srv.URL + "/v1/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %v, want a 503 problem with Retry-After", resp.StatusCode, resp.Header)
	}
	if took := time.Since(start); took >= cfg.WriteTimeout {
		t.Fatalf("answered after %s, not within the write timeout %s", took, cfg.WriteTimeout)
	}
}
