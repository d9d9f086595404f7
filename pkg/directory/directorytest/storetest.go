package directorytest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
)

// EventLog is implemented by a Store under test (or a wrapper around it)
// that can list what it has published. StoreContract checks events only
// when the store implements it. An implementation with an asynchronous
// outbox waits until every event of the acknowledged batches is out.
type EventLog interface {
	PublishedEvents(ctx context.Context) ([]events.Event, error)
}

// StoreContract runs the directory.Store contract against fresh, empty
// stores from newStore. Every implementation (memory, JetStream KV) must
// pass it, so the fakes used in service tests cannot drift from production.
func StoreContract(t *testing.T, newStore func(t *testing.T) directory.Store) {
	t.Helper()
	// Nanoseconds on purpose: a store that truncates time breaks
	// compare-and-set on Before.
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)

	seedBatch := func() directory.Batch {
		depts := []directory.Department{
			{ID: "med", Name: "Medicine"},
			{ID: "med.cardio", Name: "Cardiology", ParentID: "med", LeadID: "chief"},
		}
		people := []directory.Person{
			{ID: "chief", DisplayName: "Chief", Email: "chief@example.org", Department: "med", Role: "attending", Active: true},
			{ID: "att", DisplayName: "Attending", Department: "med.cardio", Role: "attending", SupervisorID: "chief", Site: "north", Active: true},
			{ID: "res", DisplayName: "Resident", Department: "med.cardio", Role: "resident", TrainingLevel: "PGY-1", Cohort: "2026", SupervisorID: "att", Active: true},
		}
		b, n := directory.Plan(emptyDirectory(t), people, depts, t0)
		b.ImportID = "import-1"
		b.Completed = &directory.ImportCompleted{ImportID: b.ImportID, Source: "json", Rows: n.Rows, PeopleCreated: n.PeopleCreated, DepartmentsCreated: n.DepartmentsCreated}
		return b
	}
	seeded := func(t *testing.T) directory.Store {
		s := newStore(t)
		if err := s.Apply(t.Context(), seedBatch()); err != nil {
			t.Fatalf("seed apply: %v", err)
		}
		return s
	}
	snapshot := func(t *testing.T, s directory.Store) *directory.Directory {
		t.Helper()
		d, err := s.Snapshot(t.Context())
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		return d
	}
	get := func(t *testing.T, d *directory.Directory, id string) directory.Person {
		t.Helper()
		p, ok := d.Get(id)
		if !ok {
			t.Fatalf("person %s missing from snapshot", id)
		}
		return p
	}
	update := func(t *testing.T, s directory.Store, id string, at time.Time, edit func(*directory.Person)) directory.Batch {
		t.Helper()
		old := get(t, snapshot(t, s), id)
		p := old
		edit(&p)
		b, _ := directory.Plan(snapshot(t, s), []directory.Person{p}, nil, at)
		if len(b.People) != 1 {
			t.Fatalf("update %s: plan has %d changes, want 1", id, len(b.People))
		}
		b.ImportID = "import-update-" + at.Format(time.RFC3339Nano)
		b.Completed = &directory.ImportCompleted{ImportID: b.ImportID, Source: "csv", Rows: 1, PeopleUpdated: 1}
		return b
	}

	t.Run("EmptySnapshot", func(t *testing.T) {
		d := snapshot(t, newStore(t))
		if d.Len() != 0 || len(d.Departments()) != 0 {
			t.Fatalf("new store has %d people and %d departments, want none", d.Len(), len(d.Departments()))
		}
	})

	t.Run("ApplyThenReadYourWrites", func(t *testing.T) {
		s := newStore(t)
		b := seedBatch()
		if err := s.Apply(t.Context(), b); err != nil {
			t.Fatalf("apply: %v", err)
		}
		d := snapshot(t, s)
		for _, c := range b.People {
			if got := get(t, d, c.After.ID); !got.Equal(c.After) {
				t.Errorf("person %s: stored %+v, want %+v", c.After.ID, got, c.After)
			}
		}
		for _, c := range b.Departments {
			got, ok := d.Department(c.After.ID)
			if !ok || !got.Equal(c.After) {
				t.Errorf("department %s: stored %+v (found %v), want %+v", c.After.ID, got, ok, c.After)
			}
		}
		if !d.InChainOf("res", "chief") {
			t.Errorf("chief not in res's chain after apply")
		}
	})

	t.Run("SnapshotNeverChanges", func(t *testing.T) {
		s := seeded(t)
		before := snapshot(t, s)
		b := update(t, s, "res", t0.Add(time.Hour), func(p *directory.Person) { p.TrainingLevel = "PGY-2" })
		if err := s.Apply(t.Context(), b); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if got := get(t, before, "res").TrainingLevel; got != "PGY-1" {
			t.Errorf("old snapshot changed: training level %q", got)
		}
		if got := get(t, snapshot(t, s), "res").TrainingLevel; got != "PGY-2" {
			t.Errorf("new snapshot: training level %q, want PGY-2", got)
		}
	})

	t.Run("UpdateKeepsEveryField", func(t *testing.T) {
		s := seeded(t)
		at := t0.Add(2 * time.Hour)
		b := update(t, s, "res", at, func(p *directory.Person) {
			p.DisplayName, p.Email, p.Department = "R. Esident", "r@example.org", "med"
			p.Role, p.TrainingLevel, p.Cohort, p.Site = "fellow", "PGY-4", "2023", "south"
			p.SupervisorID, p.Active = "chief", false
		})
		if err := s.Apply(t.Context(), b); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if got := get(t, snapshot(t, s), "res"); !got.Equal(b.People[0].After) {
			t.Errorf("stored %+v, want %+v", got, b.People[0].After)
		}
	})

	t.Run("StaleBeforeConflicts", func(t *testing.T) {
		s := seeded(t)
		stale := update(t, s, "res", t0.Add(time.Hour), func(p *directory.Person) { p.Site = "east" })
		fresh := update(t, s, "res", t0.Add(2*time.Hour), func(p *directory.Person) { p.Site = "west" })
		if err := s.Apply(t.Context(), fresh); err != nil {
			t.Fatalf("apply: %v", err)
		}
		events0 := publishedCount(t, s)
		err := s.Apply(t.Context(), stale)
		if !errors.Is(err, directory.ErrConflict) {
			t.Fatalf("apply with stale Before: %v, want ErrConflict", err)
		}
		if got := get(t, snapshot(t, s), "res").Site; got != "west" {
			t.Errorf("site %q after conflicting apply, want west", got)
		}
		if n := publishedCount(t, s); events0 >= 0 && n != events0 {
			t.Errorf("conflicting apply published %d events, want none", n-events0)
		}
	})

	t.Run("CreateOfExistingConflicts", func(t *testing.T) {
		s := seeded(t)
		b := seedBatch() // every Before is nil, every id exists
		b.Departments = nil
		b.People = b.People[:1]
		if err := s.Apply(t.Context(), b); !errors.Is(err, directory.ErrConflict) {
			t.Fatalf("creating an existing person: %v, want ErrConflict", err)
		}
	})

	t.Run("UpdateOfMissingConflicts", func(t *testing.T) {
		s := newStore(t)
		ghost := directory.Person{ID: "ghost", DisplayName: "G", Department: "x", Role: "staff", Active: true, UpdatedAt: t0}
		next := ghost
		next.Site, next.UpdatedAt = "north", t0.Add(time.Minute)
		b := directory.Batch{ImportID: "i", People: []directory.PersonChange{{Before: &ghost, After: next}}}
		if err := s.Apply(t.Context(), b); !errors.Is(err, directory.ErrConflict) {
			t.Fatalf("updating a missing person: %v, want ErrConflict", err)
		}
		if _, ok := snapshot(t, s).Get("ghost"); ok {
			t.Errorf("missing person was created by a conflicting update")
		}
	})

	t.Run("DepartmentStaleBeforeConflicts", func(t *testing.T) {
		s := seeded(t)
		old, _ := snapshot(t, s).Department("med")
		old.UpdatedAt = old.UpdatedAt.Add(-time.Second)
		next := old
		next.Name, next.UpdatedAt = "Internal Medicine", t0.Add(time.Hour)
		b := directory.Batch{ImportID: "i", Departments: []directory.DepartmentChange{{Before: &old, After: next}}}
		if err := s.Apply(t.Context(), b); !errors.Is(err, directory.ErrConflict) {
			t.Fatalf("stale department: %v, want ErrConflict", err)
		}
		if got, _ := snapshot(t, s).Department("med"); got.Name != "Medicine" {
			t.Errorf("department name %q after conflict, want Medicine", got.Name)
		}
	})

	t.Run("CancelledContextAppliesNothing", func(t *testing.T) {
		s := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Apply(ctx, seedBatch()); err == nil {
			t.Fatalf("apply with cancelled context succeeded")
		}
		if d := snapshot(t, s); d.Len() != 0 || len(d.Departments()) != 0 {
			t.Errorf("cancelled apply stored %d people and %d departments", d.Len(), len(d.Departments()))
		}
	})

	t.Run("ConcurrentUpdatesOneWins", func(t *testing.T) {
		s := seeded(t)
		const writers = 8
		batches := make([]directory.Batch, writers)
		for i := range batches {
			site := string(rune('a' + i))
			batches[i] = update(t, s, "res", t0.Add(time.Duration(i+1)*time.Minute), func(p *directory.Person) { p.Site = site })
		}
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range batches {
			wg.Go(func() { errs[i] = s.Apply(t.Context(), batches[i]) })
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("writers %d and %d both applied over the same Before", won, i)
			case err == nil:
				won = i
			case !errors.Is(err, directory.ErrConflict):
				t.Fatalf("writer %d: %v, want nil or ErrConflict", i, err)
			}
		}
		if won < 0 {
			t.Fatalf("no writer applied")
		}
		if got := get(t, snapshot(t, s), "res"); !got.Equal(batches[won].People[0].After) {
			t.Errorf("stored %+v, want the winner's %+v", got, batches[won].People[0].After)
		}
	})

	t.Run("EventsPublishedPerChange", func(t *testing.T) {
		s := newStore(t)
		log, ok := s.(EventLog)
		if !ok {
			t.Logf("%T does not implement EventLog; events not checked", s)
			return
		}
		b := seedBatch()
		if err := s.Apply(t.Context(), b); err != nil {
			t.Fatalf("apply: %v", err)
		}
		// A change whose event is nil (name only) publishes nothing.
		silent := update(t, s, "res", t0.Add(time.Hour), func(p *directory.Person) { p.DisplayName = "New Name" })
		if silent.People[0].Event != nil {
			t.Fatalf("name-only change has an event: %+v", silent.People[0].Event)
		}
		if err := s.Apply(t.Context(), silent); err != nil {
			t.Fatalf("apply: %v", err)
		}
		var changes []events.Event
		for _, c := range b.Departments {
			changes = append(changes, c.Event)
		}
		for _, c := range b.People {
			changes = append(changes, *c.Event)
		}
		got, err := log.PublishedEvents(t.Context())
		if err != nil {
			t.Fatalf("published events: %v", err)
		}
		// Events of different entities may leave an outbox in any order;
		// each must appear once, and Completed after all of its batch.
		want := append(append(slices.Clone(changes), *b.Completed), *silent.Completed)
		if !sameEvents(got, want) {
			t.Fatalf("published:\n%+v\nwant (in any order):\n%+v", got, want)
		}
		completedAt := slices.IndexFunc(got, func(e events.Event) bool { return reflect.DeepEqual(e, *b.Completed) })
		for _, c := range changes {
			if i := slices.IndexFunc(got, func(e events.Event) bool { return reflect.DeepEqual(e, c) }); i > completedAt {
				t.Errorf("%T for %+v published after ImportCompleted", c, c)
			}
		}
	})
}

// publishedCount is the number of events published so far, or -1 when the
// store cannot tell.
func publishedCount(t *testing.T, s directory.Store) int {
	t.Helper()
	log, ok := s.(EventLog)
	if !ok {
		return -1
	}
	evs, err := log.PublishedEvents(t.Context())
	if err != nil {
		t.Fatalf("published events: %v", err)
	}
	return len(evs)
}

// sameEvents compares as multisets.
func sameEvents(got, want []events.Event) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && reflect.DeepEqual(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func emptyDirectory(t *testing.T) *directory.Directory {
	t.Helper()
	d, err := directory.NewDirectory(nil, nil)
	if err != nil {
		t.Fatalf("empty directory: %v", err)
	}
	return d
}
