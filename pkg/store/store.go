// Package store keeps aggregates in JetStream KV buckets and emits their
// events exactly once.
//
// A change and its events are written together: the KV record holds the
// aggregate's state and an outbox of events not yet confirmed published,
// in one compare-and-set write. Each outbox entry carries a lease, written
// in that same write: until the lease ends only the writer publishes the
// entry, right after its write (Nats-Msg-Id = event id), and then removes
// it from the outbox. The relay — a durable consumer of the bucket's own
// change stream — publishes only entries whose lease has ended (the writer
// crashed or the broker was away), after claiming them with a
// compare-and-set write of its own, so two relays never publish the same
// entry. outbox.go argues the design.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
)

var (
	// ErrNotFound means no aggregate has that id.
	ErrNotFound = errors.New("not found")
	// ErrExists means Create found an aggregate with that id.
	ErrExists = errors.New("already exists")
	// ErrConflict means concurrent writers kept winning past every retry:
	// the request was right, the moment was not, so the client is told to
	// retry (503 with Retry-After), never that the server failed.
	ErrConflict = fault.Retry("the record is being changed by others; retry", time.Second, nil)
)

// Codec maps an aggregate to the JSON record kept in the bucket and back.
// It is where restricted fields are encrypted: records are stored as the
// codec returns them.
type Codec[T any] interface {
	Marshal(id string, v *T) ([]byte, error)
	Unmarshal(id string, data []byte) (*T, error)
}

// JSONCodec stores T as plain JSON (for aggregates without restricted fields).
type JSONCodec[T any] struct{}

func (JSONCodec[T]) Marshal(_ string, v *T) ([]byte, error) { return json.Marshal(v) }
func (JSONCodec[T]) Unmarshal(_ string, data []byte) (*T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

type record struct {
	State  json.RawMessage `json:"state"`
	Outbox []pending       `json:"outbox,omitempty"`
}

// StateOf returns the aggregate state held in a raw record of a bucket
// (as a KV watch delivers it), without its outbox. Adapters that follow a
// bucket's changes use it instead of knowing the record layout.
func StateOf(data []byte) (json.RawMessage, error) {
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if len(rec.State) == 0 {
		return nil, errors.New("decode record: no state")
	}
	return rec.State, nil
}

// DefaultLease is how long the writer of an event owns its publication.
const DefaultLease = 30 * time.Second

// Options configures a repository.
type Options struct {
	Bucket      string
	Description string
	History     uint8
	// DeferPublish writes as usual, leases included, but never publishes
	// after the write: the relay publishes once the leases end. Tests use
	// it to stand for a crash between the write and the publish.
	DeferPublish bool
	// MaxRetries bounds compare-and-set retries under contention; between
	// retries writers back off for a short random time so they stop
	// colliding (default 64 retries, at most about 1.5 s in all).
	MaxRetries int
	// Lease is how long the writer of an event alone may publish it
	// (default DefaultLease). The writer gives up at half of it; the relay
	// takes over once it has passed. Half of it is the clock skew between
	// processes that the design tolerates; keep it well below the streams'
	// duplicate window, the second line of defence.
	Lease time.Duration
}

// Repo is a repository of aggregates of type T in one KV bucket.
type Repo[T any] struct {
	kv    jetstream.KeyValue
	bus   *bus.Bus
	codec Codec[T]
	opts  Options

	mu sync.Mutex
	// settled holds, per key, ids of events this process has published
	// whose outbox entries are still being removed: a write of the key in
	// this process meanwhile removes them in its own write, so the
	// publisher's clearing write is saved (see settle).
	settled map[string]map[string]struct{}

	// writers takes turns per key within this process: concurrent changes
	// of one hot aggregate (a busy case) queue here instead of losing
	// compare-and-set races over and over. Compare-and-set still decides
	// between processes.
	writers keyLocks
}

// keyLocks is a mutex per key, held only while some goroutine uses it.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu    sync.Mutex
	users int
}

// lock takes id's turn, or returns ctx's error if it ends first.
func (k *keyLocks) lock(ctx context.Context, id string) (unlock func(), err error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[id]
	if l == nil {
		l = &keyLock{}
		k.locks[id] = l
	}
	l.users++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, id)
		}
		k.mu.Unlock()
	}
	got := make(chan struct{})
	go func() { l.mu.Lock(); close(got) }()
	select {
	case <-got:
		return func() { l.mu.Unlock(); release() }, nil
	case <-ctx.Done():
		go func() { <-got; l.mu.Unlock(); release() }()
		return nil, ctx.Err()
	}
}

// New provisions the bucket (idempotently) and returns its repository.
func New[T any](ctx context.Context, b *bus.Bus, codec Codec[T], o Options) (*Repo[T], error) {
	if o.MaxRetries <= 0 {
		o.MaxRetries = 64
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	kv, err := b.EnsureKV(ctx, bus.KVOptions{Bucket: o.Bucket, Description: o.Description, History: o.History})
	if err != nil {
		return nil, err
	}
	return &Repo[T]{kv: kv, bus: b, codec: codec, opts: o, settled: map[string]map[string]struct{}{}}, nil
}

// Bucket is the KV bucket name.
func (r *Repo[T]) Bucket() string { return r.opts.Bucket }

func (r *Repo[T]) load(ctx context.Context, id string) (*T, record, uint64, error) {
	e, err := r.kv.Get(ctx, id)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, record{}, 0, ErrNotFound
		}
		return nil, record{}, 0, unavailable(fmt.Errorf("load %s/%s: %w", r.opts.Bucket, id, err))
	}
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, record{}, 0, fmt.Errorf("decode %s/%s: %w", r.opts.Bucket, id, err)
	}
	v, err := r.codec.Unmarshal(id, rec.State)
	if err != nil {
		return nil, record{}, 0, fmt.Errorf("decode %s/%s state: %w", r.opts.Bucket, id, err)
	}
	return v, rec, e.Revision(), nil
}

// Get loads one aggregate.
func (r *Repo[T]) Get(ctx context.Context, id string) (*T, error) {
	v, _, _, err := r.load(ctx, id)
	return v, err
}

// Create stores a new aggregate and its events; ErrExists if id is taken.
func (r *Repo[T]) Create(ctx context.Context, id string, v *T, evs ...events.Event) error {
	w, err := r.encode(ctx, id, v, nil, evs)
	if err != nil {
		return err
	}
	rev, err := r.kv.Create(ctx, id, w.data)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return ErrExists
		}
		return unavailable(fmt.Errorf("create %s/%s: %w", r.opts.Bucket, id, err))
	}
	r.afterWrite(ctx, id, rev, w)
	return nil
}

// Creator is what CreateOnce needs of a store.
type Creator[T any] interface {
	Get(ctx context.Context, id string) (*T, error)
	Create(ctx context.Context, id string, v *T, evs ...events.Event) error
}

// CreateOnce creates v under id with its events and returns it; when id
// exists it returns what is stored instead. Ids derived from the request
// (idem.ID) make an existing id the retry of the request that created it,
// so the retry answers the first result and nothing is created twice.
// Random ids never collide, so the rule costs them nothing.
func CreateOnce[T any](ctx context.Context, s Creator[T], id string, v *T, evs ...events.Event) (*T, error) {
	err := s.Create(ctx, id, v, evs...)
	if errors.Is(err, ErrExists) {
		return s.Get(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Update loads the aggregate, lets fn change it and return the events the
// change causes, and writes both with compare-and-set on the revision it
// loaded, retrying fn on conflict. fn may run more than once and must not
// have side effects outside the aggregate. An error from fn aborts the
// update unchanged.
func (r *Repo[T]) Update(ctx context.Context, id string, fn func(*T) ([]events.Event, error)) error {
	return r.change(ctx, id, false, func(v *T, exists bool) (*T, []events.Event, error) {
		evs, err := fn(v)
		return v, evs, err
	})
}

// Upsert is Update that also creates: fn receives nil when id is new and
// returns the aggregate to store.
func (r *Repo[T]) Upsert(ctx context.Context, id string, fn func(cur *T) (*T, []events.Event, error)) error {
	return r.change(ctx, id, true, func(v *T, exists bool) (*T, []events.Event, error) {
		if !exists {
			v = nil
		}
		return fn(v)
	})
}

func (r *Repo[T]) change(ctx context.Context, id string, create bool, fn func(*T, bool) (*T, []events.Event, error)) error {
	unlock, err := r.writers.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("update %s/%s: %w", r.opts.Bucket, id, err)
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	for attempt := 0; attempt < r.opts.MaxRetries; attempt++ {
		cur, rec, rev, err := r.load(ctx, id)
		exists := err == nil
		if err != nil && (!errors.Is(err, ErrNotFound) || !create) {
			return err
		}
		next, evs, err := fn(cur, exists)
		if err != nil {
			return err
		}
		if next == nil {
			return nil // nothing to store
		}
		if exists && len(evs) == 0 && r.unchanged(id, next, rec) {
			return nil
		}
		w, err := r.encode(ctx, id, next, rec.Outbox, evs)
		if err != nil {
			return err
		}
		var newRev uint64
		if exists {
			newRev, err = r.kv.Update(ctx, id, w.data, rev)
		} else {
			newRev, err = r.kv.Create(ctx, id, w.data)
		}
		if err != nil {
			if isConflict(err) {
				if err := conflictBackoff(ctx, attempt); err != nil {
					return fmt.Errorf("write %s/%s: %w", r.opts.Bucket, id, err)
				}
				continue
			}
			return unavailable(fmt.Errorf("write %s/%s: %w", r.opts.Bucket, id, err))
		}
		r.forget(id, w.dropped)
		// The next writer of id may go while this one publishes.
		locked = false
		unlock()
		r.afterWrite(ctx, id, newRev, w)
		return nil
	}
	return fmt.Errorf("update %s/%s: %w", r.opts.Bucket, id, ErrConflict)
}

// unavailable classifies a failed store operation: the broker did not
// answer in time or refused for now, so the client may retry (503). A
// cancelled context (the client left) stays what it is.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fault.Retry("the store is not available right now; retry", 0, err)
}

func (r *Repo[T]) unchanged(id string, next *T, rec record) bool {
	data, err := r.codec.Marshal(id, next)
	return err == nil && string(data) == string(rec.State)
}

// conflictBackoff waits a random while, growing with attempt, after a lost
// compare-and-set: writers that lost together would otherwise retry
// together and lose together again.
func conflictBackoff(ctx context.Context, attempt int) error {
	ceiling := min(time.Duration(1<<min(attempt, 6))*500*time.Microsecond, 20*time.Millisecond)
	t := time.NewTimer(rand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// written is a record about to be written: its bytes, its outbox, the
// entries this write adds (the writer owns them), the entries it removed
// because this process had published them already, and when it started.
type written struct {
	data    []byte
	rec     record
	own     []pending
	dropped []string
	start   time.Time
}

func (r *Repo[T]) encode(ctx context.Context, id string, v *T, outbox []pending, evs []events.Event) (written, error) {
	w := written{start: time.Now()}
	state, err := r.codec.Marshal(id, v)
	if err != nil {
		return written{}, fmt.Errorf("encode %s/%s: %w", r.opts.Bucket, id, err)
	}
	w.rec = record{State: state}
	w.rec.Outbox, w.dropped = r.withoutSettled(id, outbox)
	if len(evs) > 0 {
		// The lease is on the bus clock (the relay reads it there); it
		// starts before the write is sent, so it ends no later than the
		// writer believes.
		now := r.bus.Now()
		lease := now.Add(r.opts.Lease)
		carrier := r.bus.TraceCarrier(ctx)
		for _, ev := range evs {
			env, err := events.New(ev, r.bus.Source(), id, now)
			if err != nil {
				return written{}, err
			}
			w.own = append(w.own, newPending(env, carrier, lease))
		}
		w.rec.Outbox = append(w.rec.Outbox, w.own...)
	}
	if w.data, err = json.Marshal(w.rec); err != nil {
		return written{}, fmt.Errorf("encode %s/%s record: %w", r.opts.Bucket, id, err)
	}
	return w, nil
}

// Each calls fn for every aggregate (rebuilding read models, exports).
func (r *Repo[T]) Each(ctx context.Context, fn func(id string, v *T) error) error {
	lister, err := r.kv.ListKeys(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil
		}
		return fmt.Errorf("list %s: %w", r.opts.Bucket, err)
	}
	defer lister.Stop()
	for key := range lister.Keys() {
		v, err := r.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(key, v); err != nil {
			return err
		}
	}
	return nil
}

// Purge deletes an aggregate for good: the purge marker rolls up every
// earlier revision of the key, so its values leave the bucket's stream
// (retention and secure deletion). Pending outbox events are dropped with
// it; callers flush first when they matter.
func (r *Repo[T]) Purge(ctx context.Context, id string) error {
	if err := r.kv.Purge(ctx, id); err != nil {
		return fmt.Errorf("purge %s/%s: %w", r.opts.Bucket, id, err)
	}
	return nil
}

// KV is the bucket, for read models that watch it (decode values with
// StateOf and the codec).
func (r *Repo[T]) KV() jetstream.KeyValue { return r.kv }
