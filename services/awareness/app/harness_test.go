package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/awareness/adapters"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/contract"
)

// dir is a directory that tests change.
type dir struct {
	mu     sync.Mutex
	people map[string]directory.Person
}

func (d *dir) Snapshot(context.Context) (*directory.Directory, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ps []directory.Person
	for _, p := range d.people {
		ps = append(ps, p)
	}
	return directory.NewDirectory(ps, nil)
}

func (d *dir) put(p directory.Person) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.DisplayName == "" {
		p.DisplayName = "Person " + p.ID
	}
	if p.Role == "" {
		p.Role = "resident"
	}
	if p.Department == "" {
		p.Department = "med"
	}
	p.Active = true
	d.people[p.ID] = p
}

func (d *dir) leave(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.people[id]
	p.Active = false
	d.people[id] = p
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an app over real JetStream buckets with a fake directory, a
// settable clock, and every published event recorded.
type env struct {
	t      *testing.T
	app    *app.Service
	dir    *dir
	clock  *clock
	stores *adapters.Stores
	hasher *crypto.Hasher

	mu     sync.Mutex
	events map[string][]json.RawMessage // by type
	notes  []notify.Requested
}

var (
	officer  = caller.Actor{ID: "off1", Roles: []caller.Role{caller.DEIOfficer}}
	director = caller.Actor{ID: "pd1", Roles: []caller.Role{caller.ProgramDirector}}
	integr   = caller.Actor{ID: "lms", Roles: []caller.Role{caller.Integrator}}
)

func staff(id string) caller.Actor { return caller.Actor{ID: id, Roles: []caller.Role{caller.Staff}} }

func newEnv(t *testing.T) *env {
	t.Helper()
	ns := testkit.NATS(t)
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	b, err := bus.Connect(ctx, bus.Options{Source: "deiops/awareness-test", Now: c.Now, NATS: config.NATS{
		URL: ns.URL(), Replicas: 1, DuplicateWindow: 2 * time.Minute, PublishAttempts: 10, AckWait: 5 * time.Second, MaxDeliver: 5,
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
	ring, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	st, err := adapters.Open(ctx, b, ring)
	if err != nil {
		t.Fatal(err)
	}
	h, err := crypto.NewHasher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: &dir{people: map[string]directory.Person{}}, clock: c, stores: st, hasher: h, events: map[string][]json.RawMessage{}}
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("dei.awareness.>", func(m *nats.Msg) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events[m.Subject] = append(e.events[m.Subject], json.RawMessage(m.Data))
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	idx, follower := st.TrainingReadModel(nil)
	go follower.Run(t.Context())
	e.app = app.New(app.Options{
		Campaigns: st.Campaigns, Reach: st.Reach, Statements: st.Statements, Versions: st.Versions, Attestations: st.Attestations,
		Modules: st.Modules, Assignments: st.Assignments, Trainings: st.Trainings, Ingest: st.Ingest, Waves: st.Waves,
		TrainingIndex: idx, SyncTrainings: follower.Sync,
		Directory: e.dir, PublicURL: "https://deiops.example.org", MinCellSize: 3, Now: c.Now, Parallel: 16,
		Publish: func(ctx context.Context, id, subject string, ev events.Event) error {
			env, err := events.New(ev, b.Source(), subject, b.Now())
			if err != nil {
				return err
			}
			env.ID = id
			return b.PublishEnvelope(ctx, env, nil)
		},
		Notify: func(ctx context.Context, r notify.Requested) error {
			if err := r.Validate(); err != nil {
				return err
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			e.notes = append(e.notes, r)
			return nil
		},
	})
	return e
}

// count returns how many events arrived on subject.
func (e *env) count(subject string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.events[subject])
}

// waitEvents waits until n events arrived on subject and returns them.
func (e *env) waitEvents(subject string, n int) []json.RawMessage {
	e.t.Helper()
	testkit.Eventuallyf(e.t, 10*time.Second, func() bool { return e.count(subject) >= n }, "%d events on %s (have %d)", n, subject, e.count(subject))
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.events[subject])
}

// notified returns the recipients of notifications of template t, sorted.
func (e *env) notified(t notify.Template) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, n := range e.notes {
		if n.Template == t {
			out = append(out, n.Recipients...)
		}
	}
	sort.Strings(out)
	return out
}

func (e *env) resetNotes() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.notes = nil
}

// must returns v, failing the test (by panic, with the stack) on error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hospital puts a cohort of n residents (r01..) under att1 ← chief, plus
// the staff the tests use.
func (e *env) hospital(n int) {
	e.dir.put(directory.Person{ID: "chief", Role: "attending"})
	e.dir.put(directory.Person{ID: "att1", Role: "attending", SupervisorID: "chief"})
	e.dir.put(directory.Person{ID: "pd1", Role: "program_director"})
	e.dir.put(directory.Person{ID: "off1", Role: "dei_officer", Department: "dei"})
	for i := 1; i <= n; i++ {
		e.dir.put(directory.Person{ID: fmt.Sprintf("r%02d", i), Email: fmt.Sprintf("r%02d@example.org", i), TrainingLevel: "PGY-1", Cohort: "2026", SupervisorID: "att1"})
	}
}

// asFault reports whether err is classified, setting *f.
func asFault(err error, f **fault.Error) bool {
	var ok bool
	*f, ok = fault.As(err)
	return ok
}
