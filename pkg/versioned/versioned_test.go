package versioned_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/pkg/versioned"
)

type note struct {
	Text string `json:"text"`
}

type notePublished struct {
	Scope   string `json:"scope"`
	Version int    `json:"version"`
}

func (notePublished) EventSpec() events.Spec {
	return events.Spec{Service: "versionedtest", Entity: "note", Action: "published", Version: 1, Summary: "test"}
}

func connect(t testing.TB) *bus.Bus {
	t.Helper()
	srv := testkit.NATS(t)
	b, err := bus.Connect(context.Background(), bus.Options{Source: "deiops/versionedtest", NATS: config.NATS{
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
	cat, err := events.NewCatalog(notePublished{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	return b
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newStore(t testing.TB, b *bus.Bus, mod func(*versioned.Options[note])) *versioned.Store[note] {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	o := versioned.Options[note]{
		Bucket: "notes", Default: "hospital", Now: c.Now,
		Published: func(scope string, v versioned.Version[note]) events.Event {
			return notePublished{Scope: scope, Version: v.Version}
		},
	}
	if mod != nil {
		mod(&o)
	}
	s, err := versioned.New(context.Background(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPublishCurrentGetHistory(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, connect(t), nil)

	if _, _, err := s.Current(ctx, "cardiology"); !errors.Is(err, versioned.ErrNotFound) {
		t.Fatalf("current of an empty store: %v, want ErrNotFound", err)
	}
	if h, err := s.History(ctx, "cardiology"); err != nil || len(h) != 0 || h == nil {
		t.Fatalf("history of an empty scope: %#v, %v; want an empty list", h, err)
	}

	v1, err := s.Publish(ctx, "cardiology", note{"first"}, "officer-1")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.Publish(ctx, "cardiology", note{"second"}, "officer-2")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v2.Version != 2 || !v2.PublishedAt.After(v1.PublishedAt) || v2.PublishedBy != "officer-2" {
		t.Fatalf("versions %+v %+v", v1, v2)
	}

	cur, from, err := s.Current(ctx, "cardiology")
	if err != nil || from != "cardiology" || cur.Version != 2 || cur.Doc.Text != "second" || !cur.PublishedAt.Equal(v2.PublishedAt) {
		t.Fatalf("current %+v from %q: %v", cur, from, err)
	}
	old, err := s.Get(ctx, "cardiology", 1)
	if err != nil || old.Doc.Text != "first" || old.PublishedBy != "officer-1" || !old.PublishedAt.Equal(v1.PublishedAt) {
		t.Fatalf("version 1: %+v, %v", old, err)
	}
	for _, n := range []int{0, -1, 3} {
		if _, err := s.Get(ctx, "cardiology", n); !errors.Is(err, versioned.ErrNotFound) {
			t.Errorf("version %d: %v, want ErrNotFound", n, err)
		}
	}
	h, err := s.History(ctx, "cardiology")
	if err != nil {
		t.Fatal(err)
	}
	want := []versioned.VersionInfo{v1.Info(), v2.Info()}
	if len(h) != 2 || h[0].Version != 1 || h[1].Version != 2 || h[0].PublishedBy != "officer-1" ||
		!h[0].PublishedAt.Equal(want[0].PublishedAt) || !h[1].PublishedAt.Equal(want[1].PublishedAt) {
		t.Fatalf("history %+v, want %+v", h, want)
	}
}

func TestCurrentFallsBackToTheDefaultScope(t *testing.T) {
	ctx := t.Context()
	b := connect(t)
	s := newStore(t, b, nil)
	if _, err := s.Publish(ctx, "hospital", note{"default"}, "admin-1"); err != nil {
		t.Fatal(err)
	}
	cur, from, err := s.Current(ctx, "oncology")
	if err != nil || from != "hospital" || cur.Doc.Text != "default" || cur.Version != 1 {
		t.Fatalf("fallback %+v from %q: %v", cur, from, err)
	}
	// Get and History never fall back: the version numbers are the scope's own.
	if _, err := s.Get(ctx, "oncology", 1); !errors.Is(err, versioned.ErrNotFound) {
		t.Errorf("get without fallback: %v", err)
	}
	if _, err := s.Publish(ctx, "oncology", note{"own"}, "officer-1"); err != nil {
		t.Fatal(err)
	}
	if cur, from, err := s.Current(ctx, "oncology"); err != nil || from != "oncology" || cur.Doc.Text != "own" {
		t.Fatalf("own version %+v from %q: %v", cur, from, err)
	}
	// A store without a default scope does not fall back.
	plain := newStore(t, b, func(o *versioned.Options[note]) { o.Bucket, o.Default = "plain_notes", "" })
	if _, err := plain.Publish(ctx, "hospital", note{"x"}, "admin-1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := plain.Current(ctx, "oncology"); !errors.Is(err, versioned.ErrNotFound) {
		t.Errorf("no default: %v, want ErrNotFound", err)
	}
}

func TestConcurrentPublishesGetDistinctConsecutiveVersions(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, connect(t), nil)
	const writers, each = 6, 5
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[int]string{}
	)
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				text := fmt.Sprintf("w%d-%d", w, i)
				v, err := s.Publish(ctx, "surgery", note{text}, fmt.Sprintf("officer-%d", w))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if prev, dup := got[v.Version]; dup {
					errs <- fmt.Errorf("version %d given to %s and %s", v.Version, prev, text)
				}
				got[v.Version] = text
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(got) != writers*each {
		t.Fatalf("%d versions, want %d", len(got), writers*each)
	}
	for n := 1; n <= writers*each; n++ {
		text, ok := got[n]
		if !ok {
			t.Fatalf("version %d missing: versions are not consecutive", n)
		}
		v, err := s.Get(ctx, "surgery", n)
		if err != nil || v.Doc.Text != text {
			t.Fatalf("version %d holds %+v (%v), its publisher wrote %q", n, v, err, text)
		}
	}
	h, err := s.History(ctx, "surgery")
	if err != nil {
		t.Fatal(err)
	}
	for i, info := range h {
		if info.Version != i+1 {
			t.Fatalf("history[%d] is version %d", i, info.Version)
		}
		if i > 0 && info.PublishedAt.Before(h[i-1].PublishedAt) {
			t.Fatalf("version %d published before version %d", info.Version, h[i-1].Version)
		}
	}
}

func TestEveryPublishEmitsItsEvent(t *testing.T) {
	ctx := t.Context()
	b := connect(t)
	s := newStore(t, b, nil)
	cons, err := b.JetStream().CreateOrUpdateConsumer(ctx, notePublished{}.EventSpec().Stream(), jetstream.ConsumerConfig{
		FilterSubject: notePublished{}.EventSpec().Subject(), AckPolicy: jetstream.AckNonePolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"med.icu", "dept:7", "med.icu"} {
		if _, err := s.Publish(ctx, scope, note{"x"}, "officer-1"); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := cons.Fetch(3, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		var ev notePublished
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s v%d (%s)", ev.Scope, ev.Version, m.Headers().Get(events.HeaderSubject)))
	}
	want := []string{"med.icu v1 (med.icu)", "dept:7 v1 (dept=3A7)", "med.icu v2 (med.icu)"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestLimitsAndInvalidInput(t *testing.T) {
	ctx := t.Context()
	b := connect(t)
	s := newStore(t, b, func(o *versioned.Options[note]) { o.MaxVersions = 2; o.MaxDocBytes = 64 })
	for range 2 {
		if _, err := s.Publish(ctx, "a", note{"ok"}, "officer-1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Publish(ctx, "a", note{"third"}, "officer-1"); !errors.Is(err, versioned.ErrFull) {
		t.Fatalf("third version: %v, want ErrFull", err)
	}
	if cur, _, err := s.Current(ctx, "a"); err != nil || cur.Version != 2 {
		t.Fatalf("after a refused publish: %+v, %v", cur, err)
	}
	if _, err := s.Publish(ctx, "b", note{strings.Repeat("x", 100)}, "officer-1"); !errors.Is(err, versioned.ErrTooLarge) {
		t.Errorf("large document: %v, want ErrTooLarge", err)
	}
	for _, scope := range []string{"", "has space", "x/y", "dept=1", strings.Repeat("a", 129)} {
		if _, err := s.Publish(ctx, scope, note{"x"}, "officer-1"); !errors.Is(err, versioned.ErrInvalidScope) {
			t.Errorf("publish to %q: %v, want ErrInvalidScope", scope, err)
		}
		if _, _, err := s.Current(ctx, scope); !errors.Is(err, versioned.ErrInvalidScope) {
			t.Errorf("current of %q: %v, want ErrInvalidScope", scope, err)
		}
	}
	for _, by := range []string{"", strings.Repeat("u", 257)} {
		if _, err := s.Publish(ctx, "b", note{"x"}, by); !errors.Is(err, versioned.ErrInvalidPublisher) {
			t.Errorf("publisher of %d bytes: %v, want ErrInvalidPublisher", len(by), err)
		}
	}
	// The refused publishes left no document records behind.
	kv, err := b.JetStream().KeyValue(ctx, "notes")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var docs int
	for k := range keys.Keys() {
		if strings.HasPrefix(k, "=d.") {
			docs++
		}
	}
	if docs != 2 {
		t.Errorf("%d document records, want 2", docs)
	}
}

func TestScopesThatEscapeDoNotCollide(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, connect(t), nil)
	scopes := []string{"a.b", "a:b", "a..b", ".a", "a.", "a-b", "a_b"}
	for _, scope := range scopes {
		if _, err := s.Publish(ctx, scope, note{scope}, "officer-1"); err != nil {
			t.Fatalf("publish %q: %v", scope, err)
		}
	}
	for _, scope := range scopes {
		v, from, err := s.Current(ctx, scope)
		if err != nil || from != scope || v.Doc.Text != scope || v.Version != 1 {
			t.Errorf("scope %q: %+v from %q, %v", scope, v, from, err)
		}
	}
}

func TestRecordsAreStoreRecords(t *testing.T) {
	// Adapters that watch the bucket read records through store.StateOf.
	ctx := t.Context()
	b := connect(t)
	s := newStore(t, b, nil)
	if _, err := s.Publish(ctx, "lab", note{"x"}, "officer-1"); err != nil {
		t.Fatal(err)
	}
	kv, err := b.JetStream().KeyValue(ctx, "notes")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	state, err := store.StateOf(e.Value())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(state), `"scope":"lab"`) || !strings.Contains(string(state), `"version":1`) {
		t.Errorf("index state %s", state)
	}
}
