package natsstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/directorytest"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
)

// connect opens a bus on url with the directory's stream provisioned.
func connect(t *testing.T, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(context.Background(), bus.Options{Name: t.Name(), Source: "deiops/natsstoretest", NATS: config.NATS{
		URL: url, Replicas: 1, DuplicateWindow: 2 * time.Minute, PublishAttempts: 10, AckWait: 5 * time.Second, MaxDeliver: 5,
	}})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	cat, err := events.NewCatalog(directory.Events()...)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	if err := b.Provision(context.Background(), cat); err != nil {
		t.Fatalf("provision: %v", err)
	}
	return b
}

// testSealer is the keyring every store of a test shares, as the processes
// of one installation do.
var testSealer = func() crypto.Sealer {
	k, _, err := crypto.GenerateKeyring()
	if err != nil {
		panic(err)
	}
	return k
}()

func newStore(t *testing.T, b *bus.Bus, o Options) *Store {
	t.Helper()
	if o.Sealer == nil {
		o.Sealer = testSealer
	}
	s, err := New(context.Background(), b, o)
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// loggedStore is the store under contract test plus what an integrator
// subscribed to the directory's subjects has received.
type loggedStore struct {
	*Store
	t   *testing.T
	bus *bus.Bus

	mu  sync.Mutex
	got []events.Event
}

// PublishedEvents waits until the subscriber has every message the stream
// holds (the stream de-duplicates by event id, as integrators do), then
// returns them in order.
func (l *loggedStore) PublishedEvents(ctx context.Context) ([]events.Event, error) {
	stream := directory.PersonUpdated{}.EventSpec().Stream()
	testkit.Eventually(l.t, 10*time.Second, "every stored directory event delivered", func() bool {
		n, err := l.bus.StreamMessages(ctx, stream)
		l.mu.Lock()
		defer l.mu.Unlock()
		return err == nil && uint64(len(l.got)) == n
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]events.Event(nil), l.got...), nil
}

func (l *loggedStore) subscribe(t *testing.T) {
	spec := directory.PersonUpdated{}.EventSpec()
	cons, err := l.bus.JetStream().OrderedConsumer(t.Context(), spec.Stream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{spec.StreamSubjects()},
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ev, err := decodeEvent(m)
		if err != nil {
			t.Errorf("directory event on %s: %v", m.Subject(), err)
			return
		}
		l.mu.Lock()
		l.got = append(l.got, ev)
		l.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	t.Cleanup(cc.Stop)
}

func decodeEvent(m jetstream.Msg) (events.Event, error) {
	env, err := events.Decode(m.Headers(), m.Data(), m.Subject())
	if err != nil {
		return nil, err
	}
	switch env.Type {
	case directory.PersonUpdated{}.EventSpec().Type():
		return events.Unmarshal[directory.PersonUpdated](env)
	case directory.DepartmentUpdated{}.EventSpec().Type():
		return events.Unmarshal[directory.DepartmentUpdated](env)
	case directory.ImportCompleted{}.EventSpec().Type():
		return events.Unmarshal[directory.ImportCompleted](env)
	}
	return nil, fmt.Errorf("unexpected event type %q", env.Type)
}

func TestStoreContract(t *testing.T) {
	directorytest.StoreContract(t, func(t *testing.T) directory.Store {
		b := connect(t, testkit.NATS(t).URL())
		s := newStore(t, b, Options{})
		relays, err := s.StartRelay(context.Background())
		if err != nil {
			t.Fatalf("start relays: %v", err)
		}
		t.Cleanup(func() {
			for _, r := range relays {
				_ = r.Stop(context.Background())
			}
		})
		l := &loggedStore{Store: s, t: t, bus: b}
		l.subscribe(t)
		return l
	})
}

// t0 has nanoseconds: a store that truncates time breaks compare-and-set.
func t0() time.Time { return time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC) }

func seed(t *testing.T, s directory.Store, people ...directory.Person) {
	t.Helper()
	d, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	b, _ := directory.Plan(d, people, nil, t0())
	b.ImportID = "seed"
	if err := s.Apply(t.Context(), b); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func person(id string) directory.Person {
	return directory.Person{ID: id, DisplayName: "P " + id, Department: "med", Role: "staff", Active: true}
}

func site(t *testing.T, s directory.Store, id string) string {
	t.Helper()
	d, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	p, ok := d.Get(id)
	if !ok {
		return "<missing>"
	}
	return p.Site
}

// setSite changes one person's site through s, as an import would.
func setSite(t *testing.T, s directory.Store, id, to string, at time.Time) {
	t.Helper()
	d, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	p, ok := d.Get(id)
	if !ok {
		t.Fatalf("person %s missing", id)
	}
	p.Site = to
	b, _ := directory.Plan(d, []directory.Person{p}, nil, at)
	b.ImportID = "site-" + to
	if err := s.Apply(t.Context(), b); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func TestWritesOfAnotherProcessReachTheSnapshot(t *testing.T) {
	url := testkit.NATS(t).URL()
	reader := newStore(t, connect(t, url), Options{})
	writer := newStore(t, connect(t, url), Options{})
	if d, err := reader.Snapshot(t.Context()); err != nil || d.Len() != 0 {
		t.Fatalf("empty snapshot: %v, %v", d, err)
	}
	seed(t, writer, person("a"), person("b"))
	testkit.Eventually(t, 10*time.Second, "the reader sees the writer's people", func() bool {
		d, err := reader.Snapshot(t.Context())
		return err == nil && d.Len() == 2
	})
	setSite(t, writer, "a", "north", t0().Add(time.Hour))
	testkit.Eventually(t, 10*time.Second, "the reader sees the update", func() bool {
		return site(t, reader, "a") == "north"
	})
}

// fakeClock is the quiet-period clock of a store under test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// caughtUp waits until s's watches have seen every write so far.
func caughtUp(t *testing.T, s *Store) {
	t.Helper()
	p, err := s.lastRevision(t.Context(), PeopleBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.peopleView.waitFor(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

func TestOutsideBurstRebuildsOnceQuietOrTooStale(t *testing.T) {
	url := testkit.NATS(t).URL()
	clock := &fakeClock{now: t0()}
	const quiet, maxStale = time.Second, 3 * time.Second
	reader := newStore(t, connect(t, url), Options{Quiet: quiet, MaxStale: maxStale, Now: clock.Now})
	writer := newStore(t, connect(t, url), Options{})
	seed(t, writer, person("a"), person("b"))

	d1, err := reader.Snapshot(t.Context())
	if err != nil || d1.Len() != 2 {
		t.Fatalf("first snapshot: %v, %v", d1, err)
	}

	// A change arrives while the clock stands still: still the burst.
	setSite(t, writer, "a", "north", t0().Add(time.Minute))
	caughtUp(t, reader)
	for range 3 {
		if d, _ := reader.Snapshot(t.Context()); d != d1 {
			t.Fatalf("snapshot rebuilt during a burst")
		}
	}
	clock.Add(quiet)
	d2, err := reader.Snapshot(t.Context())
	if err != nil || d2 == d1 {
		t.Fatalf("no rebuild after a quiet period: %v", err)
	}
	if p, _ := d2.Get("a"); p.Site != "north" {
		t.Fatalf("site %q after the burst, want north", p.Site)
	}

	// Changes that keep coming are built in after MaxStale at the latest.
	setSite(t, writer, "a", "south", t0().Add(2*time.Minute))
	caughtUp(t, reader)
	if d, _ := reader.Snapshot(t.Context()); d != d2 {
		t.Fatalf("snapshot rebuilt during a burst")
	}
	clock.Add(maxStale - quiet/2)
	setSite(t, writer, "b", "east", t0().Add(3*time.Minute))
	caughtUp(t, reader)
	if d, _ := reader.Snapshot(t.Context()); d != d2 {
		t.Fatalf("snapshot rebuilt before MaxStale")
	}
	clock.Add(quiet / 2)
	d3, err := reader.Snapshot(t.Context())
	if err != nil || d3 == d2 {
		t.Fatalf("no rebuild after MaxStale: %v", err)
	}
	if p, _ := d3.Get("b"); p.Site != "east" {
		t.Fatalf("site %q, want east", p.Site)
	}

	// The reader's own writes are in the very next snapshot, burst or not.
	setSite(t, reader, "b", "west", t0().Add(4*time.Minute))
	if got := site(t, reader, "b"); got != "west" {
		t.Fatalf("own write not read back: site %q", got)
	}
}

func TestIDsThatAreNoKVKeys(t *testing.T) {
	s := newStore(t, connect(t, testkit.NATS(t).URL()), Options{})
	ids := []string{"urn:hr:42", ".lead", "trail.", "a..b", "a.b"}
	var people []directory.Person
	for _, id := range ids {
		people = append(people, person(id))
	}
	seed(t, s, people...)
	for _, id := range ids {
		setSite(t, s, id, "north", t0().Add(time.Hour))
		if got := site(t, s, id); got != "north" {
			t.Errorf("person %q: site %q, want north", id, got)
		}
	}
	for id, want := range map[string]string{"a..b": "a=2E=2Eb", "urn:hr:42": "urn=3Ahr=3A42", ".x.y.": "=2Ex.y=2E", "a.b": "a.b"} {
		if got := keyOf(id); got != want {
			t.Errorf("keyOf(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestUnreadableRecordsStayOutOfSnapshots(t *testing.T) {
	b := connect(t, testkit.NATS(t).URL())
	s := newStore(t, b, Options{})
	seed(t, s, person("a"), person("b"))
	kv, err := b.JetStream().KeyValue(t.Context(), PeopleBucket)
	if err != nil {
		t.Fatal(err)
	}
	// The view can only keep a version it has seen: a KV watch skips
	// versions superseded before it reads them (the bucket keeps one per
	// key), so wait until it has read b's readable version.
	readable, err := kv.Get(t.Context(), "b")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.peopleView.waitFor(wctx, readable.Revision()); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "b", []byte(`{"state":{"v":99,"id":"b"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "ghost", []byte(`not json`)); err != nil {
		t.Fatal(err)
	}
	// Another process's writes: wait for the watch, then let the quiet
	// period pass by writing through s (own writes force a rebuild).
	setSite(t, s, "a", "north", t0().Add(time.Hour))
	d, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("snapshot with unreadable records: %v", err)
	}
	if _, ok := d.Get("ghost"); ok {
		t.Errorf("unreadable new record in snapshot")
	}
	// An unreadable update keeps the last readable version: leaving the
	// person out would shorten supervisor chains.
	if p, ok := d.Get("b"); !ok || p.DisplayName != "P b" {
		t.Errorf("person b: %+v, %v; want the last readable version", p, ok)
	}
	// And an import cannot overwrite what it cannot read.
	old := person("b")
	old.UpdatedAt = t0()
	next := old
	next.Site = "x"
	err = s.Apply(t.Context(), directory.Batch{ImportID: "i", People: []directory.PersonChange{{Before: &old, After: next}}})
	if err == nil || errors.Is(err, directory.ErrConflict) {
		t.Errorf("apply over an unreadable record: %v, want a non-conflict error", err)
	}
}

func TestReusedImportIDConflicts(t *testing.T) {
	s := newStore(t, connect(t, testkit.NATS(t).URL()), Options{})
	d, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"x", "y"} {
		b, _ := directory.Plan(d, []directory.Person{person(id)}, nil, t0())
		b.ImportID = "same"
		b.Completed = &directory.ImportCompleted{ImportID: "same", Source: "csv", Rows: 1, PeopleCreated: 1}
		err := s.Apply(t.Context(), b)
		if i == 0 && err != nil {
			t.Fatalf("first import: %v", err)
		}
		if i == 1 && !errors.Is(err, directory.ErrConflict) {
			t.Fatalf("second import with the same id: %v, want ErrConflict", err)
		}
	}
}

func TestRelayPublishesWhatACrashLeftInTheOutbox(t *testing.T) {
	b := connect(t, testkit.NATS(t).URL())
	s := newStore(t, b, Options{})
	// A writer that died between its KV write and the publish.
	crashed, err := store.New(t.Context(), b, peopleCodec{testSealer}, store.Options{Bucket: PeopleBucket, DeferPublish: true, Lease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := person("a")
	p.UpdatedAt = t0()
	rec := directory.NewPersonRecord(p)
	if err := crashed.Create(t.Context(), "a", &rec, directory.PersonUpdated{PersonID: "a", Department: "med", Role: "staff", Active: true, Change: directory.ChangeCreated}); err != nil {
		t.Fatal(err)
	}
	stream := directory.PersonUpdated{}.EventSpec().Stream()
	if n, _ := b.StreamMessages(t.Context(), stream); n != 0 {
		t.Fatalf("%d events published before the relay ran", n)
	}
	relays, err := s.StartRelay(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(relays) != 3 {
		t.Errorf("%d relays, want one per bucket", len(relays))
	}
	t.Cleanup(func() {
		for _, r := range relays {
			_ = r.Stop(context.Background())
		}
	})
	testkit.Eventually(t, 10*time.Second, "the relayed event", func() bool {
		n, err := b.StreamMessages(t.Context(), stream)
		return err == nil && n == 1
	})
	if got := site(t, s, "a"); got != "" {
		t.Errorf("person a: site %q", got)
	}
}

func TestReloadKeepsTheLastReadableVersion(t *testing.T) {
	v := newView("b", nil, func(string, []byte) (string, error) { return "", nil },
		func(a, b string) bool { return a == b }, slog.Default(), time.Now)
	str := func(s string) *string { return &s }
	v.Load(map[string]*string{"a": str("a1"), "b": str("b1")}, nil)
	// The watch reopened; b's latest version cannot be read, ghost was
	// never readable.
	v.Load(map[string]*string{"a": str("a2")}, []string{"b", "ghost"})
	vals, _, _ := v.values()
	slices.Sort(vals)
	if !slices.Equal(vals, []string{"a2", "b1"}) {
		t.Errorf("after reload: %v, want [a2 b1]", vals)
	}
}
