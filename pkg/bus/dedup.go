package bus

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Claim is what a Deduper says about an event id a consumer is about to handle.
type Claim int

const (
	// ClaimNew: nobody handled it; the caller now holds it and must call
	// Done after success or Release after failure.
	ClaimNew Claim = iota
	// ClaimDone: already handled; acknowledge without handling.
	ClaimDone
	// ClaimBusy: another delivery of the same event is being handled right
	// now; try again later rather than acknowledging, in case it fails.
	ClaimBusy
)

// Deduper makes handling at-most-once per event id within its memory,
// even when two deliveries of one event (a lost ack, a broker restart, a
// republished copy) reach handlers at the same time. Implementations must
// be safe for concurrent use.
type Deduper interface {
	Claim(ctx context.Context, consumer, id string) (Claim, error)
	Done(ctx context.Context, consumer, id string) error
	Release(ctx context.Context, consumer, id string) error
}

// MemoryDedup keeps the most recent handled ids in a fixed-size window per
// consumer and process, plus the ids being handled. It is the first line:
// most duplicates arrive within seconds at the same process. Memory grows
// with the ids it holds, up to the window: an idle consumer costs next to
// nothing.
type MemoryDedup struct {
	mu      sync.Mutex
	size    int
	seeds   [2]maphash.Seed
	windows map[string]*dedupWindow // by consumer: lookups need no combined key
}

// idKey is a 128-bit hash of an event id under two random per-process
// seeds. A window holds keys, not strings: pointer-free maps and rings
// are not scanned by the garbage collector and grow cheaply. Two ids of
// a 100,000-id window share a key with a probability near 10^-29.
type idKey [2]uint64

type dedupWindow struct {
	done     map[idKey]struct{}
	inFlight map[idKey]struct{}
	// ring holds handled ids in arrival order; once full, next is the
	// oldest, which the next id replaces.
	ring []idKey
	next int
}

func (d *MemoryDedup) key(id string) idKey {
	return idKey{maphash.String(d.seeds[0], id), maphash.String(d.seeds[1], id)}
}

// NewMemoryDedup remembers up to size handled ids per consumer.
func NewMemoryDedup(size int) *MemoryDedup {
	if size < 1 {
		size = 1
	}
	return &MemoryDedup{size: size, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, windows: map[string]*dedupWindow{}}
}

// window returns consumer's window; d.mu must be held.
func (d *MemoryDedup) window(consumer string) *dedupWindow {
	w := d.windows[consumer]
	if w == nil {
		w = &dedupWindow{done: map[idKey]struct{}{}, inFlight: map[idKey]struct{}{}}
		d.windows[consumer] = w
	}
	return w
}

func (d *MemoryDedup) Claim(_ context.Context, consumer, id string) (Claim, error) {
	k := d.key(id)
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.window(consumer)
	if _, ok := w.done[k]; ok {
		return ClaimDone, nil
	}
	if _, ok := w.inFlight[k]; ok {
		return ClaimBusy, nil
	}
	w.inFlight[k] = struct{}{}
	return ClaimNew, nil
}

func (d *MemoryDedup) Done(_ context.Context, consumer, id string) error {
	k := d.key(id)
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.window(consumer)
	delete(w.inFlight, k)
	if _, ok := w.done[k]; ok {
		return nil
	}
	if len(w.ring) < d.size {
		w.ring = append(w.ring, k)
	} else {
		delete(w.done, w.ring[w.next])
		w.ring[w.next] = k
		w.next = (w.next + 1) % len(w.ring)
	}
	w.done[k] = struct{}{}
	return nil
}

func (d *MemoryDedup) Release(_ context.Context, consumer, id string) error {
	k := d.key(id)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.window(consumer).inFlight, k)
	return nil
}

// RedisDedup shares the memory across replicas of a consumer. Losing it
// (a Redis flush) only means a replayed event reaches an idempotent handler.
type RedisDedup struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	lease  time.Duration
}

// NewRedisDedup keeps handled ids for ttl under keys starting with prefix.
// A claim lapses after lease (use the consumer's AckWait) so a crashed
// handler does not block redelivery forever.
func NewRedisDedup(rdb redis.UniversalClient, prefix string, ttl, lease time.Duration) *RedisDedup {
	if lease <= 0 {
		lease = 30 * time.Second
	}
	return &RedisDedup{rdb: rdb, prefix: prefix, ttl: ttl, lease: lease}
}

func (d *RedisDedup) key(consumer, id string) string {
	return d.prefix + "dedup:" + consumer + ":" + id
}

const (
	redisInFlight = "p"
	redisDone     = "d"
)

func (d *RedisDedup) Claim(ctx context.Context, consumer, id string) (Claim, error) {
	k := d.key(consumer, id)
	ok, err := d.rdb.SetNX(ctx, k, redisInFlight, d.lease).Result()
	if err != nil {
		return ClaimNew, fmt.Errorf("dedup claim: %w", err)
	}
	if ok {
		return ClaimNew, nil
	}
	v, err := d.rdb.Get(ctx, k).Result()
	if err == redis.Nil {
		return ClaimBusy, nil // lapsed between the two calls: let a retry decide
	}
	if err != nil {
		return ClaimNew, fmt.Errorf("dedup read: %w", err)
	}
	if v == redisDone {
		return ClaimDone, nil
	}
	return ClaimBusy, nil
}

func (d *RedisDedup) Done(ctx context.Context, consumer, id string) error {
	if err := d.rdb.Set(ctx, d.key(consumer, id), redisDone, d.ttl).Err(); err != nil {
		return fmt.Errorf("dedup done: %w", err)
	}
	return nil
}

// releaseScript deletes a claim only while it is still in flight, so a
// late Release never erases a Done written by another replica.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

func (d *RedisDedup) Release(ctx context.Context, consumer, id string) error {
	if err := releaseScript.Run(ctx, d.rdb, []string{d.key(consumer, id)}, redisInFlight).Err(); err != nil {
		return fmt.Errorf("dedup release: %w", err)
	}
	return nil
}

// Layered checks a fast local memory first, then a shared one.
type Layered []Deduper

// Claim takes the id in every layer; the first layer that knows it as done
// or busy decides, and the claims taken before it are given back. A layer
// that fails is skipped (handlers are idempotent; dedup is an optimisation
// of correctness, not its only guard).
func (l Layered) Claim(ctx context.Context, consumer, id string) (Claim, error) {
	var firstErr error
	var taken []Deduper
	for _, d := range l {
		c, err := d.Claim(ctx, consumer, id)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if c != ClaimNew {
			for _, t := range taken {
				_ = t.Release(ctx, consumer, id)
			}
			return c, nil
		}
		taken = append(taken, d)
	}
	return ClaimNew, firstErr
}

func (l Layered) Done(ctx context.Context, consumer, id string) error {
	var firstErr error
	for _, d := range l {
		if err := d.Done(ctx, consumer, id); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (l Layered) Release(ctx context.Context, consumer, id string) error {
	var firstErr error
	for _, d := range l {
		if err := d.Release(ctx, consumer, id); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
