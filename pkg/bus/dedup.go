package bus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Deduper remembers which event ids a consumer has handled, so that a
// redelivery (a lost ack, a broker restart) is acknowledged without running
// the handler again. Implementations must be safe for concurrent use.
type Deduper interface {
	// Seen reports whether consumer already handled id.
	Seen(ctx context.Context, consumer, id string) (bool, error)
	// Done records that consumer handled id.
	Done(ctx context.Context, consumer, id string) error
}

// MemoryDedup keeps the most recent ids in a fixed-size window per process.
// It is the first line: most duplicates arrive within seconds at the same
// process.
type MemoryDedup struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

// NewMemoryDedup remembers up to size ids.
func NewMemoryDedup(size int) *MemoryDedup {
	return &MemoryDedup{set: make(map[string]struct{}, size), ring: make([]string, size)}
}

func (d *MemoryDedup) Seen(_ context.Context, consumer, id string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[consumer+"\x00"+id]
	return ok, nil
}

func (d *MemoryDedup) Done(_ context.Context, consumer, id string) error {
	k := consumer + "\x00" + id
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[k]; ok {
		return nil
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.set, old)
	}
	d.ring[d.next] = k
	d.next = (d.next + 1) % len(d.ring)
	d.set[k] = struct{}{}
	return nil
}

// RedisDedup shares the memory across replicas of a consumer. Losing it
// (a Redis flush) only means a replayed event reaches an idempotent handler.
type RedisDedup struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedisDedup keeps ids for ttl under keys starting with prefix.
func NewRedisDedup(rdb redis.UniversalClient, prefix string, ttl time.Duration) *RedisDedup {
	return &RedisDedup{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (d *RedisDedup) key(consumer, id string) string {
	return d.prefix + "dedup:" + consumer + ":" + id
}

func (d *RedisDedup) Seen(ctx context.Context, consumer, id string) (bool, error) {
	n, err := d.rdb.Exists(ctx, d.key(consumer, id)).Result()
	if err != nil {
		return false, fmt.Errorf("dedup exists: %w", err)
	}
	return n > 0, nil
}

func (d *RedisDedup) Done(ctx context.Context, consumer, id string) error {
	if err := d.rdb.Set(ctx, d.key(consumer, id), 1, d.ttl).Err(); err != nil {
		return fmt.Errorf("dedup set: %w", err)
	}
	return nil
}

// Layered checks a fast local memory first, then a shared one.
type Layered []Deduper

func (l Layered) Seen(ctx context.Context, consumer, id string) (bool, error) {
	var firstErr error
	for _, d := range l {
		ok, err := d.Seen(ctx, consumer, id)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			return true, nil
		}
	}
	return false, firstErr
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
