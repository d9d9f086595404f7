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

// view mirrors one bucket through a store.Follower: the latest readable
// value of every key, with a generation that moves only when a value
// changes, so snapshots are rebuilt only when something changed. The
// watch hands over whole values, so loading 50,000 people costs one
// stream read instead of one Get per key.
type view[T any] struct {
	bucket string
	equal  func(a, b T) bool
	now    func() time.Time
	follow *store.Follower[T]

	mu      sync.Mutex
	vals    map[string]T
	loaded  bool      // a complete load is in
	gen     uint64    // moves whenever a value changes
	changed time.Time // when gen last moved
}

func newView[T any](bucket string, kv jetstream.KeyValue, decode func(string, []byte) (T, error),
	equal func(a, b T) bool, log *slog.Logger, now func() time.Time) *view[T] {
	v := &view[T]{bucket: bucket, equal: equal, now: now, vals: map[string]T{}}
	v.follow = store.FollowBucket(kv, bucket, func(key string, data []byte) (*T, error) {
		val, err := decode(key, data)
		return &val, err
	}, store.Sink[T](v), log)
	return v
}

// run keeps the view current until ctx ends.
func (v *view[T]) run(ctx context.Context) { v.follow.Run(ctx) }

// Load installs a complete load of the bucket (store.Sink). A key whose
// latest version is unreadable keeps the version the view already held,
// as a live update does, so a reopened watch does not drop a person it
// had: dropping a person would silently shorten supervisor chains, the
// unsafe direction.
func (v *view[T]) Load(loaded map[string]*T, unreadable []string) {
	vals := make(map[string]T, len(loaded))
	for k, p := range loaded {
		vals[k] = *p
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, k := range unreadable {
		if old, ok := v.vals[k]; ok {
			vals[k] = old
		}
	}
	if !v.loaded || !v.same(vals) {
		v.bump()
	}
	v.vals, v.loaded = vals, true
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

// Put applies one live change (store.Sink). Rewrites that leave the value
// as it was (the outbox being emptied after a publish) do not move the
// generation, so they do not invalidate the snapshot.
func (v *view[T]) Put(key string, p *T) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, had := v.vals[key]; !had || !v.equal(old, *p) {
		v.vals[key] = *p
		v.bump()
	}
}

// Delete applies one live delete (store.Sink).
func (v *view[T]) Delete(key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, had := v.vals[key]; had {
		delete(v.vals, key)
		v.bump()
	}
}

// bump runs with mu held.
func (v *view[T]) bump() {
	v.gen++
	v.changed = v.now()
}

// reached reports whether the initial values are in and revision rev has
// been applied.
func (v *view[T]) reached(rev uint64) bool { return v.follow.Reached(rev) }

// waitFor blocks until the initial values are in and revision rev has been
// applied.
func (v *view[T]) waitFor(ctx context.Context, rev uint64) error { return v.follow.WaitFor(ctx, rev) }

// status is the view's change generation, revision and last change time.
func (v *view[T]) status() (gen, rev uint64, changed time.Time) {
	rev = v.follow.Rev()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gen, rev, v.changed
}

// values copies the current values with the generation they belong to and
// a revision they include at least (read first: the follower moves its
// revision after the view has applied a change, so the values are never
// older than the revision given).
func (v *view[T]) values() (vals []T, gen, rev uint64) {
	rev = v.follow.Rev()
	v.mu.Lock()
	defer v.mu.Unlock()
	vals = make([]T, 0, len(v.vals))
	for _, val := range v.vals {
		vals = append(vals, val)
	}
	return vals, v.gen, rev
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
