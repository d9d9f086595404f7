// Package testenv runs the connection use cases and HTTP API against an
// in-process NATS server, with a development token issuer, a fixed
// directory and a controllable clock (tests only).
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/pkg/testkit/tokens"
	"github.com/deiops/deiops/services/connection/adapters"
	"github.com/deiops/deiops/services/connection/app"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/ports"
)

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Dir is a fixed directory.
type Dir struct{ D *directory.Directory }

// Snapshot implements app.Directory.
func (d Dir) Snapshot(context.Context) (*directory.Directory, error) { return d.D, nil }

// Env is a running connection service without the rest of the platform.
type Env struct {
	Bus     *bus.Bus
	Stores  *adapters.Stores
	App     *app.Service
	Handler http.Handler
	HTTP    *ports.HTTP
	Clock   *Clock
	Logs    *bytes.Buffer
	iss     *tokens.Issuer

	mu     sync.Mutex
	events []*nats.Msg
}

// New starts an environment; people make up the directory.
func New(t *testing.T, people ...directory.Person) *Env {
	t.Helper()
	ctx := context.Background()
	srv := testkit.NATS(t)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := bus.Connect(ctx, bus.Options{Source: "deiops/connection", Logger: log, NATS: config.NATS{
		URL: srv.URL(), Replicas: 1, DuplicateWindow: 2 * time.Minute, PublishAttempts: 10, AckWait: 5 * time.Second, MaxDeliver: 5,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	cat, err := events.NewCatalog(append(contract.Events(), notify.Events()...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx, cat); err != nil {
		t.Fatal(err)
	}
	e := &Env{Bus: b, Logs: logs, Clock: &Clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}}
	for _, subj := range []string{"dei.connection.>", "deiops.internal.>"} {
		sub, err := b.Conn().Subscribe(subj, func(m *nats.Msg) {
			e.mu.Lock()
			e.events = append(e.events, m)
			e.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	keys, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if e.Stores, err = adapters.NewStores(ctx, b, keys); err != nil {
		t.Fatal(err)
	}
	running, err := e.Stores.Relays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, r := range running {
			_ = r.Stop(context.Background())
		}
	})
	dir, err := directory.NewDirectory(people, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.App = app.New(app.Options{Profiles: e.Stores.Profiles, Rounds: e.Stores.Rounds, Gatherings: e.Stores.Gatherings,
		Groups: e.Stores.Groups, Programs: e.Stores.Programs, Directory: Dir{D: dir}, Now: e.Clock.Now, Logger: log,
		NotificationEvent: func(n app.Notification) events.Event {
			return notify.NewRequest(n.ID, "connection", notify.Template(n.Template), n.Link, n.Reference, n.Recipients...)
		}})

	e.iss = tokens.DevIssuer(t, "deiops")
	verifier, err := auth.NewVerifier(config.Auth{Audience: "deiops", Algorithms: []string{"ES256"}, Dev: true, Leeway: 30 * time.Second},
		auth.WithDevIssuer(e.iss.DevIssuer))
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.NewMiddleware(verifier, &auth.MemoryAuditSink{}, auth.MiddlewareOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := httpapi.NewRouter(httpapi.RouterOptions{RouteMiddleware: []httpapi.RouteMiddleware{authn.Route}})
	h := &ports.HTTP{App: e.App, Logger: log}
	h.Routes(r)
	if _, err := httpapi.MarshalDocument(r.OpenAPI("deiops connection", "1.0.0", "")); err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	e.Handler, e.HTTP = r, h
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Token returns a bearer token for sub with roles.
func (e *Env) Token(sub string, roles ...string) string { return e.iss.Token(sub, roles...) }

// Do sends a request as sub (roles) and returns the recorder.
func (e *Env) Do(t testing.TB, method, path, sub string, roles []string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sub != "" {
		req.Header.Set("Authorization", "Bearer "+e.iss.Token(sub, roles...))
	}
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	return rec
}

// Must is Do that requires status want and decodes the body into out.
func (e *Env) Must(t testing.TB, want int, method, path, sub string, roles []string, body, out any) {
	t.Helper()
	rec := e.Do(t, method, path, sub, roles, body)
	if rec.Code != want {
		t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, sub, rec.Code, want, rec.Body.String())
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("decode %s: %v", rec.Body.String(), err)
		}
	}
}

// Events returns every event seen so far, once each: a core subscription
// also sees the rare second publish (outbox relay) that JetStream
// deduplicates by Nats-Msg-Id, so duplicates are dropped here the same way.
func (e *Env) Events() []*nats.Msg {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var out []*nats.Msg
	for _, m := range e.events {
		id := m.Header.Get("Nats-Msg-Id")
		if id != "" && seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, m)
	}
	return out
}

// Count counts events whose subject ends with suffix.
func (e *Env) Count(suffix string) int {
	n := 0
	for _, m := range e.Events() {
		if strings.HasSuffix(m.Subject, suffix) {
			n++
		}
	}
	return n
}

// WaitEvents waits until at least n events with the subject suffix arrived.
func (e *Env) WaitEvents(t testing.TB, suffix string, n int) {
	t.Helper()
	testkit.Eventuallyf(t, 10*time.Second, func() bool { return e.Count(suffix) >= n }, "%d %s events (have %d)", n, suffix, e.Count(suffix))
}
