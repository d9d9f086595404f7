package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/deiops/deiops/pkg/testkit"
)

const (
	userHeader = "X-Test-User"
	canary     = "CANARY-restricted-narrative-3141"
)

// idemFixture is a router whose POST handler's behaviour each test chooses.
type idemFixture struct {
	h     http.Handler
	calls atomic.Int32
	// behave runs inside the handler; nil answers 201 with a canary body.
	behave func(w http.ResponseWriter, r *http.Request)
}

func newIdemFixture(t *testing.T, store IdempotencyStore) *idemFixture {
	t.Helper()
	f := &idemFixture{}
	idem, err := Idempotency(IdempotencyOptions{
		Store: store, Sealer: xorSealer{}, KeySecret: testSecret(),
		Identity: func(r *http.Request) string { return r.Header.Get(userHeader) },
	})
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := newTestLogger()
	rt := NewRouter(RouterOptions{Idempotency: idem})
	rt.HandleFunc(Operation{Method: "POST", Path: "/v1/cases/{id}/notes", ID: "addNote"}, func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.behave != nil {
			f.behave(w, r)
			return
		}
		if _, err := Decode[map[string]any](r); err != nil {
			WriteProblem(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/cases/"+r.PathValue("id")+"/notes/9")
		WriteJSON(w, r, http.StatusCreated, map[string]string{"id": "9", "text": canary})
	})
	f.h = Chain(RequestID(), ContextLogger(logger), Recover())(rt)
	return f
}

func (f *idemFixture) post(path, key, user, body string) *httptest.ResponseRecorder {
	r := jsonRequest(http.MethodPost, path, body)
	if key != "" {
		r.Header.Set(IdempotencyKeyHeader, key)
	}
	if user != "" {
		r.Header.Set(userHeader, user)
	}
	return serve(f.h, r)
}

func idempotencyStores() map[string]func(t *testing.T) IdempotencyStore {
	return map[string]func(t *testing.T) IdempotencyStore{
		"memory": func(t *testing.T) IdempotencyStore { return NewMemoryIdempotencyStore(nil) },
		"redis": func(t *testing.T) IdempotencyStore {
			env := testkit.Redis(t)
			return NewRedisIdempotencyStore(env.Client, env.Prefix)
		},
	}
}

func TestIdempotency(t *testing.T) {
	for name, newStore := range idempotencyStores() {
		t.Run(name, func(t *testing.T) { idempotencyBehaviour(t, newStore) })
	}
}

func idempotencyBehaviour(t *testing.T, newStore func(t *testing.T) IdempotencyStore) {
	const path, body = "/v1/cases/1/notes", `{"text":"hello"}`

	t.Run("replays the first result", func(t *testing.T) {
		f := newIdemFixture(t, newStore(t))
		first := f.post(path, "key-1", "alice", body)
		if first.Code != 201 || first.Header().Get(IdempotentReplayedHeader) != "" {
			t.Fatalf("first: %d %v", first.Code, first.Header())
		}
		second := f.post(path, "key-1", "alice", body)
		if second.Code != 201 || second.Header().Get(IdempotentReplayedHeader) != "true" {
			t.Fatalf("second: %d %v", second.Code, second.Header())
		}
		for _, h := range []string{"Content-Type", "Location"} {
			if first.Header().Get(h) != second.Header().Get(h) {
				t.Errorf("%s: first %q, replay %q", h, first.Header().Get(h), second.Header().Get(h))
			}
		}
		if first.Body.String() != second.Body.String() {
			t.Errorf("body: first %q, replay %q", first.Body, second.Body)
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("handler ran %d times, want 1", n)
		}
	})

	t.Run("conflicting reuse", func(t *testing.T) {
		tests := []struct {
			name, path, user, body string
			wantStatus             int
			wantCalls              int32
		}{
			{"different body", path, "alice", `{"text":"other"}`, 422, 1},
			{"different path", "/v1/cases/2/notes", "alice", body, 422, 1},
			{"different caller has its own keys", path, "bob", body, 201, 2},
			{"anonymous caller has its own keys", path, "", body, 201, 2},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := newIdemFixture(t, newStore(t))
				if w := f.post(path, "key-2", "alice", body); w.Code != 201 {
					t.Fatalf("first: %d", w.Code)
				}
				w := f.post(tc.path, "key-2", tc.user, tc.body)
				if w.Code != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
				}
				if tc.wantStatus >= 400 {
					decodeProblemBody(t, w)
				}
				if n := f.calls.Load(); n != tc.wantCalls {
					t.Errorf("handler ran %d times, want %d", n, tc.wantCalls)
				}
			})
		}
	})

	t.Run("without a key every request runs", func(t *testing.T) {
		f := newIdemFixture(t, newStore(t))
		f.post(path, "", "alice", body)
		f.post(path, "", "alice", body)
		if n := f.calls.Load(); n != 2 {
			t.Errorf("handler ran %d times, want 2", n)
		}
	})

	t.Run("key validation", func(t *testing.T) {
		tests := []struct {
			name, key  string
			wantStatus int
		}{
			{"255 printable characters", strings.Repeat("k", 255), 201},
			{"spaces and symbols", "a b~!@#$%^&*()", 201},
			{"256 characters", strings.Repeat("k", 256), 400},
			{"control character", "key\x01", 400},
			{"non-ASCII", "clé", 400},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := newIdemFixture(t, newStore(t))
				if w := f.post(path, tc.key, "alice", body); w.Code != tc.wantStatus {
					t.Fatalf("status %d, want %d", w.Code, tc.wantStatus)
				}
			})
		}
		t.Run("empty value", func(t *testing.T) {
			f := newIdemFixture(t, newStore(t))
			r := jsonRequest(http.MethodPost, path, body)
			r.Header[IdempotencyKeyHeader] = []string{""}
			if w := serve(f.h, r); w.Code != 400 {
				t.Fatalf("status %d, want 400", w.Code)
			}
		})
	})

	t.Run("client errors are stored", func(t *testing.T) {
		f := newIdemFixture(t, newStore(t))
		bad := `{"text":`
		first := f.post(path, "key-4", "alice", bad)
		second := f.post(path, "key-4", "alice", bad)
		if first.Code != 400 || second.Code != 400 || second.Header().Get(IdempotentReplayedHeader) != "true" {
			t.Fatalf("first %d, second %d %v", first.Code, second.Code, second.Header())
		}
		if second.Header().Get("Content-Type") != ProblemContentType {
			t.Errorf("replayed content type %q", second.Header().Get("Content-Type"))
		}
	})

	t.Run("server errors release the key", func(t *testing.T) {
		f := newIdemFixture(t, newStore(t))
		f.behave = func(w http.ResponseWriter, r *http.Request) {
			WriteProblem(w, r, ServiceUnavailable("try again"))
		}
		if w := f.post(path, "key-5", "alice", body); w.Code != 503 {
			t.Fatalf("first: %d", w.Code)
		}
		f.behave = nil
		if w := f.post(path, "key-5", "alice", body); w.Code != 201 || w.Header().Get(IdempotentReplayedHeader) != "" {
			t.Fatalf("retry: %d %v", w.Code, w.Header())
		}
		if n := f.calls.Load(); n != 2 {
			t.Errorf("handler ran %d times, want 2", n)
		}
	})

	t.Run("a panic releases the key", func(t *testing.T) {
		f := newIdemFixture(t, newStore(t))
		f.behave = func(http.ResponseWriter, *http.Request) { panic("crash") }
		if w := f.post(path, "key-6", "alice", body); w.Code != 500 {
			t.Fatalf("first: %d", w.Code)
		}
		f.behave = nil
		if w := f.post(path, "key-6", "alice", body); w.Code != 201 {
			t.Fatalf("retry: %d", w.Code)
		}
	})

	t.Run("in flight is a conflict", func(t *testing.T) {
		f := newIdemFixture(t, newStore(t))
		entered, release := make(chan struct{}), make(chan struct{})
		f.behave = func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			w.WriteHeader(http.StatusAccepted)
		}
		var wg sync.WaitGroup
		var first *httptest.ResponseRecorder
		wg.Go(func() { first = f.post(path, "key-7", "alice", body) })
		<-entered
		second := f.post(path, "key-7", "alice", body)
		close(release)
		wg.Wait()
		if second.Code != 409 || second.Header().Get("Retry-After") == "" {
			t.Fatalf("concurrent: %d %v", second.Code, second.Header())
		}
		decodeProblemBody(t, second)
		if first.Code != 202 {
			t.Fatalf("first: %d", first.Code)
		}
		if w := f.post(path, "key-7", "alice", body); w.Code != 202 || w.Header().Get(IdempotentReplayedHeader) != "true" {
			t.Fatalf("after: %d %v", w.Code, w.Header())
		}
	})
}

// TestIdempotencyRedisHoldsNoCleartext proves that what a response contains,
// the key the client chose and who the caller is never appear in Redis.
func TestIdempotencyRedisHoldsNoCleartext(t *testing.T) {
	env := testkit.Redis(t)
	f := newIdemFixture(t, NewRedisIdempotencyStore(env.Client, env.Prefix))
	const key, user = "client-chosen-key-42", "alice@hospital.example"
	if w := f.post("/v1/cases/1/notes", key, user, `{"text":"hello"}`); w.Code != 201 || !strings.Contains(w.Body.String(), canary) {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	if w := f.post("/v1/cases/1/notes", key, user, `{"text":"hello"}`); !strings.Contains(w.Body.String(), canary) {
		t.Fatalf("replay lost the body: %s", w.Body)
	}
	ctx := context.Background()
	keys, err := env.Client.Keys(ctx, env.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("keys = %v, want one entry", keys)
	}
	for _, k := range keys {
		if strings.Contains(k, key) || strings.Contains(k, "alice") {
			t.Errorf("redis key %q contains the idempotency key or the caller", k)
		}
		v, err := env.Client.Get(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{canary, "/v1/cases/1/notes/9", "hello", key, "alice"} {
			if strings.Contains(v, secret) {
				t.Errorf("redis value of %q contains %q in clear", k, secret)
			}
		}
		if !strings.Contains(v, sealedPrefix) {
			t.Errorf("redis value was not sealed: %q", v)
		}
	}
}

func TestIdempotencyStoreDownIsUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	f := newIdemFixture(t, NewRedisIdempotencyStore(client, "x:"))
	w := f.post("/v1/cases/1/notes", "k", "alice", `{}`)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d %v, want 503 with Retry-After", w.Code, w.Header())
	}
	if f.calls.Load() != 0 {
		t.Error("the handler must not run unprotected")
	}
}

func TestIdempotencyOptionsRequired(t *testing.T) {
	_, err := Idempotency(IdempotencyOptions{})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"store", "sealer", "secret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

func TestIdempotencyIgnoresOtherMethods(t *testing.T) {
	var calls int
	idem, err := Idempotency(IdempotencyOptions{Store: NewMemoryIdempotencyStore(nil), Sealer: xorSealer{}, KeySecret: testSecret()})
	if err != nil {
		t.Fatal(err)
	}
	h := idem(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	for range 2 {
		r := httptest.NewRequest(http.MethodPut, "/x", strings.NewReader("{}"))
		r.Header.Set(IdempotencyKeyHeader, "k")
		serve(h, r)
	}
	if calls != 2 {
		t.Errorf("PUT ran %d times, want 2", calls)
	}
}

// An Idempotent route keeps serving while the store is down, and its
// handler sees a scope that is the same on every retry of one caller's key
// and different for another caller or key.
func TestIdempotentRouteRunsOnWithoutTheStore(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	idem, err := Idempotency(IdempotencyOptions{
		Store: NewRedisIdempotencyStore(client, "x:"), Sealer: xorSealer{}, KeySecret: testSecret(),
		Identity: func(r *http.Request) string { return r.Header.Get(userHeader) },
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := NewRouter(RouterOptions{Idempotency: idem})
	scopes := make(chan IdempotencyScope, 8)
	rt.HandleFunc(Operation{Method: "POST", Path: "/v1/reports", ID: "submit", Idempotent: true}, func(w http.ResponseWriter, r *http.Request) {
		s, ok := IdempotencyScopeFrom(r.Context())
		if !ok {
			t.Error("an Idempotent route's handler must see the scope")
		}
		scopes <- s
		w.WriteHeader(http.StatusCreated)
	})
	h := Chain(RequestID(), Recover())(rt)
	send := func(key, user, body string) IdempotencyScope {
		t.Helper()
		r := jsonRequest(http.MethodPost, "/v1/reports", body)
		r.Header.Set(IdempotencyKeyHeader, key)
		r.Header.Set(userHeader, user)
		if w := serve(h, r); w.Code != http.StatusCreated {
			t.Fatalf("status %d, want 201 while the store is down: %s", w.Code, w.Body)
		}
		return <-scopes
	}
	first, retry := send("k1", "alice", `{"a":1}`), send("k1", "alice", `{"a":1}`)
	if first != retry || first.Key == "" || first.Fingerprint == "" {
		t.Errorf("a retry's scope %+v differs from the first %+v", retry, first)
	}
	if other := send("k1", "bob", `{"a":1}`); other.Key == first.Key {
		t.Error("two callers share a scope")
	}
	if other := send("k2", "alice", `{"a":1}`); other.Key == first.Key {
		t.Error("two keys share a scope")
	}
	if misuse := send("k1", "alice", `{"a":2}`); misuse.Key != first.Key || misuse.Fingerprint == first.Fingerprint {
		t.Error("a different body under the same key must keep the key and change the fingerprint")
	}
}
