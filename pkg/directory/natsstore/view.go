package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/store"
)

// view mirrors one bucket through a KV watch: the latest readable value of
// every key and the revision (stream sequence) it has caught up to. The
// watch hands over whole values, so loading 50,000 people costs one stream
// read instead of one Get per key.
type view[T any] struct {
	bucket string
	kv     jetstream.KeyValue
	decode func(key string, data []byte) (T, error)
	equal  func(a, b T) bool
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	vals    map[string]T
	rev     uint64        // highest revision applied
	ready   bool          // the initial values are in
	gen     uint64        // moves whenever a value changes
	changed time.Time     // when gen last moved
	wake    chan struct{} // closed and replaced when rev or ready moves
}

func newView[T any](bucket string, kv jetstream.KeyValue, decode func(string, []byte) (T, error),
	equal func(a, b T) bool, log *slog.Logger, now func() time.Time) *view[T] {
	return &view[T]{
		bucket: bucket, kv: kv, decode: decode, equal: equal, log: log, now: now,
		vals: map[string]T{}, wake: make(chan struct{}),
	}
}

// run keeps the view current until ctx ends. A watch that breaks (the
// connection closed under it, the server lost the consumer) is reopened
// with backoff and reloads every value, so deletes missed meanwhile are not
// kept.
func (v *view[T]) run(ctx context.Context) {
	const first, most = 250 * time.Millisecond, 30 * time.Second
	backoff := first
	for {
		loaded, err := v.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		if loaded {
			backoff = first
		}
		v.log.WarnContext(ctx, "directory watch ended; reopening", "bucket", v.bucket, "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, most)
	}
}

// watch follows the bucket until the watch ends; loaded reports whether it
// got as far as the initial values.
func (v *view[T]) watch(ctx context.Context) (loaded bool, err error) {
	w, err := v.kv.WatchAll(ctx)
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", v.bucket, err)
	}
	defer func() {
		_ = w.Stop()
		// The subscription blocks on a full channel; it can only finish
		// (and close the channel) while someone keeps reading.
		for range w.Updates() {
		}
	}()
	initial := map[string]T{}
	var unreadable []string // initial keys whose latest version cannot be read
	var initialRev uint64
	for {
		var e jetstream.KeyValueEntry
		var open bool
		select {
		case <-ctx.Done():
			return loaded, ctx.Err()
		case e, open = <-w.Updates():
		}
		switch {
		case !open:
			return loaded, fmt.Errorf("watch %s: closed", v.bucket)
		case e == nil: // every initial value has arrived
			v.replace(initial, unreadable, initialRev)
			initial, unreadable, loaded = nil, nil, true
		case !loaded:
			initialRev = max(initialRev, e.Revision())
			if e.Operation() == jetstream.KeyValuePut {
				if val, err := v.decode(e.Key(), e.Value()); err != nil {
					v.unreadable(ctx, e, err)
					unreadable = append(unreadable, e.Key())
				} else {
					initial[e.Key()] = val
				}
			}
		default:
			v.update(ctx, e)
		}
	}
}

// replace installs a complete load of the bucket. A key whose latest
// version is unreadable keeps the version the view already held, as a live
// update does, so a reopened watch does not drop a person it had.
func (v *view[T]) replace(vals map[string]T, unreadable []string, rev uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, k := range unreadable {
		if old, ok := v.vals[k]; ok {
			vals[k] = old
		}
	}
	if !v.ready || !v.same(vals) {
		v.bump()
	}
	v.vals = vals
	v.rev = max(v.rev, rev)
	v.ready = true
	v.signal()
}

func (v *view[T]) same(vals map[string]T) bool {
	if len(vals) != len(v.vals) {
		return false
	}
	for k, a := range vals {
		if b, ok := v.vals[k]; !ok || !v.equal(a, b) {
			return false
		}
	}
	return true
}

// update applies one live change. Rewrites that leave the value as it was
// (the outbox being emptied after a publish) move the revision only, so
// they do not invalidate the snapshot.
func (v *view[T]) update(ctx context.Context, e jetstream.KeyValueEntry) {
	key := e.Key()
	var (
		val T
		err error
	)
	put := e.Operation() == jetstream.KeyValuePut
	if put {
		if val, err = v.decode(key, e.Value()); err != nil {
			// Keep the last readable version: dropping a person would
			// silently shorten supervisor chains, the unsafe direction.
			v.unreadable(ctx, e, err)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rev = max(v.rev, e.Revision())
	old, had := v.vals[key]
	switch {
	case !put:
		if had {
			delete(v.vals, key)
			v.bump()
		}
	case err != nil:
	case !had || !v.equal(old, val):
		v.vals[key] = val
		v.bump()
	}
	v.signal()
}

func (v *view[T]) unreadable(ctx context.Context, e jetstream.KeyValueEntry, err error) {
	v.log.ErrorContext(ctx, "directory record unreadable; left out of snapshots",
		"bucket", v.bucket, "key", e.Key(), "revision", e.Revision(), "error", err)
}

// bump and signal run with mu held.
func (v *view[T]) bump() {
	v.gen++
	v.changed = v.now()
}

func (v *view[T]) signal() {
	close(v.wake)
	v.wake = make(chan struct{})
}

// reached reports whether the initial values are in and revision rev has
// been applied.
func (v *view[T]) reached(rev uint64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ready && v.rev >= rev
}

// waitFor blocks until the initial values are in and revision rev has been
// applied.
func (v *view[T]) waitFor(ctx context.Context, rev uint64) error {
	for {
		v.mu.Lock()
		done, wake, at := v.ready && v.rev >= rev, v.wake, v.rev
		v.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s watch at revision %d, waiting for %d: %w", v.bucket, at, rev, ctx.Err())
		case <-wake:
		}
	}
}

// status is the view's change generation, revision and last change time.
func (v *view[T]) status() (gen, rev uint64, changed time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gen, v.rev, v.changed
}

// values copies the current values with the generation and revision they
// belong to.
func (v *view[T]) values() (vals []T, gen, rev uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vals = make([]T, 0, len(v.vals))
	for _, val := range v.vals {
		vals = append(vals, val)
	}
	return vals, v.gen, v.rev
}

// decodeState decodes the aggregate state of a raw pkg/store record.
func decodeState[R any](key string, data []byte) (R, error) {
	var r R
	state, err := store.StateOf(data)
	if err != nil {
		return r, fmt.Errorf("record %s: %w", key, err)
	}
	if err := json.Unmarshal(state, &r); err != nil {
		return r, fmt.Errorf("decode record %s state: %w", key, err)
	}
	return r, nil
}

// keyOf maps a directory id to a KV key. Ids may hold ':' and dots in any
// position, but KV keys allow neither ':' nor empty dot-separated tokens, so
// those characters are escaped as =XX ('=' never occurs in an id, so keys
// stay unique). Most ids are their own key.
func keyOf(id string) string {
	if !strings.ContainsRune(id, ':') && !strings.HasPrefix(id, ".") && !strings.HasSuffix(id, ".") && !strings.Contains(id, "..") {
		return id
	}
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		lone := c == '.' && i > 0 && i < len(id)-1 && id[i-1] != '.' && id[i+1] != '.'
		switch {
		case c == ':':
			b.WriteString("=3A")
		case c == '.' && !lone:
			b.WriteString("=2E")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// errKeyMismatch flags a record stored under another id's key.
var errKeyMismatch = errors.New("record id does not match its key")
