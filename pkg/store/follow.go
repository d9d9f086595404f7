package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Sink is an in-memory read model of one bucket that a Follower keeps
// current. Its methods are called from one goroutine, in stream order.
type Sink[T any] interface {
	// Load replaces the whole model with a complete load of the bucket
	// (when the watch opens, and again whenever it had to be reopened, so
	// that deletes missed meanwhile are not kept). unreadable are the keys
	// whose latest version could not be decoded (logged): a model that
	// must not lose them keeps the version it held.
	Load(vals map[string]*T, unreadable []string)
	// Put and Delete apply one live change; an unreadable put is logged
	// and not applied, so the model keeps the last readable version.
	Put(key string, v *T)
	Delete(key string)
}

// Follower mirrors a Repo's bucket into a Sink through a KV watch: one
// stream read loads every record, then each write arrives as it lands.
// Sync gives read-your-writes: it returns once the sink holds every write
// the bucket had when Sync was called.
type Follower[T any] struct {
	kv     jetstream.KeyValue
	bucket string
	decode func(key string, data []byte) (*T, error)
	sink   Sink[T]
	log    *slog.Logger

	mu    sync.Mutex
	rev   uint64        // highest revision handed to the sink
	ready bool          // a complete load is in
	wake  chan struct{} // closed and replaced when rev or ready moves
}

// NewFollower returns a follower of r's bucket into sink, decoding with
// r's codec; Run does the following.
func NewFollower[T any](r *Repo[T], sink Sink[T], log *slog.Logger) *Follower[T] {
	return FollowBucket(r.kv, r.Bucket(), func(key string, data []byte) (*T, error) {
		state, err := StateOf(data)
		if err != nil {
			return nil, err
		}
		return r.codec.Unmarshal(key, state)
	}, sink, log)
}

// FollowBucket returns a follower of any bucket whose values decode
// reads (a read model with its own decoding, the directory's).
func FollowBucket[T any](kv jetstream.KeyValue, bucket string, decode func(key string, data []byte) (*T, error), sink Sink[T], log *slog.Logger) *Follower[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower[T]{kv: kv, bucket: bucket, decode: decode, sink: sink, log: log, wake: make(chan struct{})}
}

// Run keeps the sink current until ctx ends. A watch that breaks (the
// connection closed under it, the server lost the consumer) is reopened
// with backoff and loads everything again.
func (f *Follower[T]) Run(ctx context.Context) {
	const first, most = 250 * time.Millisecond, 30 * time.Second
	backoff := first
	for {
		loaded, err := f.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		if loaded {
			backoff = first
		}
		f.log.WarnContext(ctx, "read model watch ended; reopening", "bucket", f.bucket, "error", err, "retry_in", backoff)
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

func (f *Follower[T]) watch(ctx context.Context) (loaded bool, err error) {
	w, err := f.kv.WatchAll(ctx)
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", f.bucket, err)
	}
	defer func() {
		_ = w.Stop()
		// The subscription blocks on a full channel; it can only finish
		// (and close the channel) while someone keeps reading.
		for range w.Updates() {
		}
	}()
	initial := map[string]*T{}
	var unreadable []string
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
			return loaded, fmt.Errorf("watch %s: closed", f.bucket)
		case e == nil: // every initial value has arrived
			f.sink.Load(initial, unreadable)
			initial, unreadable, loaded = nil, nil, true
			f.advance(initialRev, true)
		case !loaded:
			initialRev = max(initialRev, e.Revision())
			if e.Operation() != jetstream.KeyValuePut {
				break
			}
			if v, ok := f.read(ctx, e); ok {
				initial[e.Key()] = v
			} else {
				unreadable = append(unreadable, e.Key())
			}
		default:
			if e.Operation() != jetstream.KeyValuePut {
				f.sink.Delete(e.Key())
			} else if v, ok := f.read(ctx, e); ok {
				f.sink.Put(e.Key(), v)
			}
			f.advance(e.Revision(), false)
		}
	}
}

// read decodes a put; an unreadable record is logged.
func (f *Follower[T]) read(ctx context.Context, e jetstream.KeyValueEntry) (*T, bool) {
	v, err := f.decode(e.Key(), e.Value())
	if err == nil {
		return v, true
	}
	f.log.ErrorContext(ctx, "record unreadable; the read model keeps its last readable version",
		"bucket", f.bucket, "key", e.Key(), "revision", e.Revision(), "error", err)
	return nil, false
}

func (f *Follower[T]) advance(rev uint64, loaded bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rev = max(f.rev, rev)
	f.ready = f.ready || loaded
	close(f.wake)
	f.wake = make(chan struct{})
}

// ErrBehind means a read model could not catch up with its bucket within
// the caller's deadline.
var ErrBehind = errors.New("read model is behind its bucket")

// Rev is the highest revision the sink has been handed (0 before the
// first complete load).
func (f *Follower[T]) Rev() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ready {
		return 0
	}
	return f.rev
}

// Reached reports whether a complete load is in and revision rev has
// been handed to the sink.
func (f *Follower[T]) Reached(rev uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready && f.rev >= rev
}

// WaitFor blocks until a complete load is in and revision rev has been
// handed to the sink.
func (f *Follower[T]) WaitFor(ctx context.Context, rev uint64) error {
	for {
		f.mu.Lock()
		done, wake, at := f.ready && f.rev >= rev, f.wake, f.rev
		f.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return unavailable(fmt.Errorf("%w: %s at revision %d, waiting for %d: %w", ErrBehind, f.bucket, at, rev, ctx.Err()))
		case <-wake:
		}
	}
}

// Sync waits until the sink holds every write the bucket had when Sync was
// called: one round trip for the bucket's last revision, then usually no
// wait at all.
func (f *Follower[T]) Sync(ctx context.Context) error {
	st, err := f.kv.Status(ctx)
	if err != nil {
		return unavailable(fmt.Errorf("status of %s: %w", f.bucket, err))
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok || bs.StreamInfo() == nil {
		return fmt.Errorf("status of %s: no stream info", f.bucket)
	}
	return f.WaitFor(ctx, bs.StreamInfo().State.LastSeq)
}
