// Package natsstore keeps the directory in JetStream KV: people and
// departments in one bucket each, written through pkg/store repositories so
// that every change and its event are stored together (outbox) and the
// event is published without loss.
//
// Apply writes each change with compare-and-set against the batch's Before.
// ImportCompleted gets its own small aggregate, one record per import in a
// third bucket, written after the last change: its CloudEvents subject is
// then the import id (not whichever person happened to be last), the bucket
// doubles as a log of applied imports, and a reused import id is refused.
// The price is a narrow window: a crash after the last change but before
// that record loses the ImportCompleted (never a change event), and
// re-importing the file then finds nothing to do.
//
// Snapshot serves a *directory.Directory built from a KV watch of both
// buckets. It is built lazily and reused until something changes: after
// this Store's own Apply the next Snapshot waits for the watch to catch up
// and rebuilds (read your writes); writes by other processes are built in
// once the buckets have been quiet for Options.Quiet, or at the latest
// Options.MaxStale after a reader first noticed them, so a burst of
// thousands of writes costs one rebuild, not one per key.
package natsstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
)

// Bucket names.
const (
	PeopleBucket      = "directory_people"
	DepartmentsBucket = "directory_departments"
	ImportsBucket     = "directory_imports"
)

// Options configures a Store. Sealer is required.
type Options struct {
	// Sealer seals each person's display name and e-mail address at rest
	// (the keyring).
	Sealer crypto.Sealer
	// Quiet is how long both buckets must go without a change made by
	// another process before Snapshot builds it in (default 250ms).
	Quiet time.Duration
	// MaxStale bounds how long a continuing burst of outside changes can
	// keep Snapshot on the previous directory (default 5s).
	MaxStale time.Duration
	// CatchUp bounds how long Snapshot waits for the watch to load the
	// buckets or reach this Store's own writes (default 15s); the
	// caller's context may end it sooner.
	CatchUp time.Duration
	// Logger defaults to the bus's logger.
	Logger *slog.Logger
	// Now is the clock for the quiet period and records (tests).
	Now func() time.Time
}

// Store is a directory.Store on JetStream KV.
type Store struct {
	bus     *bus.Bus
	opts    Options
	log     *slog.Logger
	people  *store.Repo[directory.PersonRecord]
	depts   *store.Repo[directory.DepartmentRecord]
	imports *store.Repo[importRecord]

	peopleView *view[directory.Person]
	deptView   *view[directory.Department]
	// clear holds the people the first load found stored in clear.
	clear clearKeys

	// Views start with the first Snapshot and stop on Close.
	startOnce sync.Once
	stop      context.CancelFunc
	stopSeal  context.CancelFunc
	done      sync.WaitGroup
	closed    atomic.Bool

	// writes counts Apply calls that wrote; Snapshot turns a new count
	// into revisions the watch must reach (read your writes).
	writes atomic.Uint64
	syncMu sync.Mutex
	synced uint64
	need   revisions

	buildMu sync.Mutex
	cache   *cached
}

type revisions struct{ people, depts uint64 }

// cached is a built directory and the view state it was built from.
type cached struct {
	dir        *directory.Directory
	peopleGen  uint64
	deptGen    uint64
	rev        revisions
	staleSince time.Time // when a reader first saw newer values; zero while current
}

// importRecord is the state of one applied import.
type importRecord struct {
	V                    int       `json:"v"`
	ImportID             string    `json:"import_id"`
	Source               string    `json:"source"`
	Rows                 int       `json:"rows"`
	PeopleCreated        int       `json:"people_created"`
	PeopleUpdated        int       `json:"people_updated"`
	PeopleDeactivated    int       `json:"people_deactivated"`
	PeopleUnchanged      int       `json:"people_unchanged"`
	DepartmentsCreated   int       `json:"departments_created"`
	DepartmentsUpdated   int       `json:"departments_updated"`
	DepartmentsUnchanged int       `json:"departments_unchanged"`
	AppliedAt            time.Time `json:"applied_at"`
}

var _ directory.Store = (*Store)(nil)

// New provisions the buckets (idempotently) and returns the store. Nothing
// runs in the background until the first Snapshot; call Close when done.
func New(ctx context.Context, b *bus.Bus, o Options) (*Store, error) {
	if o.Sealer == nil {
		return nil, errors.New("directory store: no sealer for the people's restricted fields")
	}
	if o.Quiet <= 0 {
		o.Quiet = 250 * time.Millisecond
	}
	if o.MaxStale <= 0 {
		o.MaxStale = 5 * time.Second
	}
	if o.CatchUp <= 0 {
		o.CatchUp = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = b.Logger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{bus: b, opts: o, log: o.Logger}
	var err error
	if s.people, err = store.New(ctx, b, peopleCodec{o.Sealer}, store.Options{
		Bucket: PeopleBucket, Description: "directory people (restricted: names, e-mail addresses)",
	}); err != nil {
		return nil, fmt.Errorf("directory store: %w", err)
	}
	if s.depts, err = store.New(ctx, b, store.JSONCodec[directory.DepartmentRecord]{}, store.Options{
		Bucket: DepartmentsBucket, Description: "directory departments",
	}); err != nil {
		return nil, fmt.Errorf("directory store: %w", err)
	}
	if s.imports, err = store.New(ctx, b, store.JSONCodec[importRecord]{}, store.Options{
		Bucket: ImportsBucket, Description: "applied directory imports and their counts",
	}); err != nil {
		return nil, fmt.Errorf("directory store: %w", err)
	}
	js := b.JetStream()
	peopleKV, err := js.KeyValue(ctx, PeopleBucket)
	if err != nil {
		return nil, fmt.Errorf("directory store: open %s: %w", PeopleBucket, err)
	}
	deptKV, err := js.KeyValue(ctx, DepartmentsBucket)
	if err != nil {
		return nil, fmt.Errorf("directory store: open %s: %w", DepartmentsBucket, err)
	}
	s.peopleView = newView(PeopleBucket, peopleKV, s.decodePerson,
		func(a, b directory.Person) bool { return a.Equal(b) }, s.log, o.Now)
	s.deptView = newView(DepartmentsBucket, deptKV, decodeDepartment,
		func(a, b directory.Department) bool { return a.Equal(b) }, s.log, o.Now)
	return s, nil
}

func (s *Store) decodePerson(key string, data []byte) (directory.Person, error) {
	state, err := store.StateOf(data)
	if err != nil {
		return directory.Person{}, fmt.Errorf("record %s: %w", key, err)
	}
	rec, clear, err := peopleCodec{s.opts.Sealer}.open(state)
	if err != nil {
		return directory.Person{}, fmt.Errorf("record %s: %w", key, err)
	}
	if clear {
		s.clear.add(key)
	}
	p, err := rec.Person()
	if err != nil {
		return directory.Person{}, err
	}
	if keyOf(p.ID) != key {
		return directory.Person{}, fmt.Errorf("person record %s: %w", key, errKeyMismatch)
	}
	return p, nil
}

func decodeDepartment(key string, data []byte) (directory.Department, error) {
	rec, err := decodeState[directory.DepartmentRecord](key, data)
	if err != nil {
		return directory.Department{}, err
	}
	d, err := rec.Department()
	if err != nil {
		return directory.Department{}, err
	}
	if keyOf(d.ID) != key {
		return directory.Department{}, fmt.Errorf("department record %s: %w", key, errKeyMismatch)
	}
	return d, nil
}

// StartRelay starts the outbox relays of the three buckets, which publish
// events a crash or a broker outage left behind, and the sealing of people
// stored in clear by an earlier version (it ends with ctx or Close). The
// caller stops the relays.
func (s *Store) StartRelay(ctx context.Context) ([]*bus.Running, error) {
	var running []*bus.Running
	for _, start := range []func(context.Context) (*bus.Running, error){
		s.depts.StartRelay, s.people.StartRelay, s.imports.StartRelay,
	} {
		r, err := start(ctx)
		if err != nil {
			for _, started := range running {
				_ = started.Stop(ctx)
			}
			return nil, fmt.Errorf("directory outbox relay: %w", err)
		}
		running = append(running, r)
	}
	sctx, cancel := context.WithCancel(ctx)
	s.stopSeal = cancel
	s.done.Add(1)
	go func() { defer s.done.Done(); s.sealClear(sctx) }()
	return running, nil
}

// Close stops the watches. Snapshot fails afterwards; Apply still works.
func (s *Store) Close() {
	s.closed.Store(true)
	s.startOnce.Do(func() {}) // a later Snapshot must not start them
	if s.stop != nil {
		s.stop()
	}
	if s.stopSeal != nil {
		s.stopSeal()
	}
	s.done.Wait()
}

func (s *Store) startViews() {
	s.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		s.done.Add(2)
		go func() { defer s.done.Done(); s.peopleView.run(ctx) }()
		go func() { defer s.done.Done(); s.deptView.run(ctx) }()
	})
}

// Snapshot returns the current directory; see the package documentation
// for when it is rebuilt.
func (s *Store) Snapshot(ctx context.Context) (*directory.Directory, error) {
	if s.closed.Load() {
		return nil, errors.New("directory snapshot: store closed")
	}
	s.startViews()
	need, err := s.ownWrites(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory snapshot: %w", err)
	}
	if !s.peopleView.reached(need.people) || !s.deptView.reached(need.depts) {
		wctx, cancel := context.WithTimeout(ctx, s.opts.CatchUp)
		defer cancel()
		if err := s.peopleView.waitFor(wctx, need.people); err != nil {
			return nil, fmt.Errorf("directory snapshot: %w", err)
		}
		if err := s.deptView.waitFor(wctx, need.depts); err != nil {
			return nil, fmt.Errorf("directory snapshot: %w", err)
		}
	}

	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	pGen, _, pChanged := s.peopleView.status()
	dGen, _, dChanged := s.deptView.status()
	if c := s.cache; c != nil {
		if c.peopleGen == pGen && c.deptGen == dGen {
			return c.dir, nil
		}
		// Newer values are all from other processes when the cache
		// already holds our own writes: ride out their burst.
		if c.rev.people >= need.people && c.rev.depts >= need.depts {
			now := s.opts.Now()
			if c.staleSince.IsZero() {
				c.staleSince = now
			}
			last := pChanged
			if dChanged.After(last) {
				last = dChanged
			}
			if now.Sub(last) < s.opts.Quiet && now.Sub(c.staleSince) < s.opts.MaxStale {
				return c.dir, nil
			}
		}
	}
	people, pGen, pRev := s.peopleView.values()
	depts, dGen, dRev := s.deptView.values()
	dir, err := directory.NewDirectory(people, depts)
	if err != nil {
		return nil, fmt.Errorf("directory snapshot: %w", err)
	}
	s.cache = &cached{dir: dir, peopleGen: pGen, deptGen: dGen, rev: revisions{pRev, dRev}}
	return dir, nil
}

// ownWrites returns the revisions the views must reach to include every
// write of this Store's past Apply calls. It asks the server only after an
// Apply, so reads between imports cost no round trip.
func (s *Store) ownWrites(ctx context.Context) (revisions, error) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	w := s.writes.Load()
	if w == s.synced {
		return s.need, nil
	}
	p, err := s.lastRevision(ctx, PeopleBucket)
	if err != nil {
		return revisions{}, err
	}
	d, err := s.lastRevision(ctx, DepartmentsBucket)
	if err != nil {
		return revisions{}, err
	}
	s.need = revisions{max(s.need.people, p), max(s.need.depts, d)}
	s.synced = w
	return s.need, nil
}

func (s *Store) lastRevision(ctx context.Context, bucket string) (uint64, error) {
	st, err := s.bus.JetStream().Stream(ctx, "KV_"+bucket)
	if err != nil {
		return 0, fmt.Errorf("read %s revision: %w", bucket, err)
	}
	return st.CachedInfo().State.LastSeq, nil
}

// errStale means the stored value is not the batch's Before.
var errStale = errors.New("stored value differs from the one the import read")

// Apply writes the batch in order, each change with its event, and then
// the import's ImportCompleted record; it stops at the first failure.
func (s *Store) Apply(ctx context.Context, b directory.Batch) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("directory apply %s: %w", b.ImportID, err)
	}
	wrote := false
	defer func() {
		if wrote {
			s.writes.Add(1)
		}
	}()
	// The rows' events are published in batches, many PubAcks in flight,
	// instead of one round trip per row; ImportCompleted follows them.
	pub := store.NewBatch(s.bus, store.BatchOptions{})
	if err := s.applyRows(store.WithBatch(ctx, pub), b, &wrote); err != nil {
		if ferr := pub.Flush(ctx); ferr != nil {
			s.log.WarnContext(ctx, "directory import events left to the relay", "import", b.ImportID, "error", ferr)
		}
		return err
	}
	if err := pub.Flush(ctx); err != nil {
		s.log.WarnContext(ctx, "directory import events left to the relay", "import", b.ImportID, "error", err)
	}
	if b.Completed != nil {
		if err := s.complete(ctx, b); err != nil {
			return fmt.Errorf("directory apply %s: %w", b.ImportID, err)
		}
	}
	return nil
}

// applyRows writes the batch's departments, then its people, in order.
func (s *Store) applyRows(ctx context.Context, b directory.Batch, wrote *bool) error {
	for _, c := range b.Departments {
		*wrote = true // even a failed write may have reached the server
		next := directory.NewDepartmentRecord(c.After)
		match := func(cur *directory.DepartmentRecord) (bool, error) {
			d, err := cur.Department()
			return err == nil && d.Equal(*c.Before), err
		}
		if err := write(ctx, s.depts, "department", c.After.ID, c.Before == nil, next, match, []events.Event{c.Event}); err != nil {
			return fmt.Errorf("directory apply %s: %w", b.ImportID, err)
		}
	}
	for _, c := range b.People {
		*wrote = true
		next := directory.NewPersonRecord(c.After)
		match := func(cur *directory.PersonRecord) (bool, error) {
			p, err := cur.Person()
			return err == nil && p.Equal(*c.Before), err
		}
		var evs []events.Event
		if c.Event != nil {
			evs = append(evs, *c.Event)
		}
		if err := write(ctx, s.people, "person", c.After.ID, c.Before == nil, next, match, evs); err != nil {
			return fmt.Errorf("directory apply %s: %w", b.ImportID, err)
		}
	}
	return nil
}

// write stores next under id with compare-and-set: create when it must not
// exist yet, else update only while match accepts the stored record. The
// repository retries lost revision races, running match again each time,
// so a concurrent writer can never be overwritten unseen.
func write[R any](ctx context.Context, repo *store.Repo[R], kind, id string, create bool, next R,
	match func(cur *R) (bool, error), evs []events.Event) error {
	key := keyOf(id)
	if create {
		err := repo.Create(ctx, key, &next, evs...)
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("create %s %s: %w: it exists already", kind, id, directory.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create %s %s: %w", kind, id, err)
		}
		return nil
	}
	err := repo.Update(ctx, key, func(cur *R) ([]events.Event, error) {
		ok, err := match(cur)
		if err != nil {
			return nil, fmt.Errorf("stored %s unreadable: %w", kind, err)
		}
		if !ok {
			return nil, errStale
		}
		*cur = next
		return evs, nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("update %s %s: %w: it does not exist", kind, id, directory.ErrConflict)
	case errors.Is(err, errStale):
		return fmt.Errorf("update %s %s: %w: %w", kind, id, directory.ErrConflict, err)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("update %s %s: %w: %w", kind, id, directory.ErrConflict, err)
	}
	return fmt.Errorf("update %s %s: %w", kind, id, err)
}

// complete records the import and, with it, its ImportCompleted event.
// Every change was written (and, unless the broker failed, published)
// before, so the event follows them.
func (s *Store) complete(ctx context.Context, b directory.Batch) error {
	c := b.Completed
	id := c.ImportID
	if id == "" {
		id = b.ImportID
	}
	if id == "" {
		return errors.New("record import: batch has Completed but no import id")
	}
	rec := importRecord{
		V: 1, ImportID: id, Source: c.Source, Rows: c.Rows,
		PeopleCreated: c.PeopleCreated, PeopleUpdated: c.PeopleUpdated,
		PeopleDeactivated: c.PeopleDeactivated, PeopleUnchanged: c.PeopleUnchanged,
		DepartmentsCreated: c.DepartmentsCreated, DepartmentsUpdated: c.DepartmentsUpdated,
		DepartmentsUnchanged: c.DepartmentsUnchanged, AppliedAt: s.opts.Now().UTC(),
	}
	err := s.imports.Create(ctx, keyOf(id), &rec, *c)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("record import %s: %w: import id already used", id, directory.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("record import %s: %w", id, err)
	}
	return nil
}
