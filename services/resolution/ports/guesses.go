package ports

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// GuessLimiter counts failed attempts at anonymous credentials per client
// and blocks a client that failed too often. Only failures count, so a
// reporter checking their case often is never slowed down, while
// guessing stops after a handful of tries.
type GuessLimiter interface {
	// Blocked reports whether caller must wait, and for how long.
	Blocked(ctx context.Context, caller string) (bool, time.Duration)
	// Failed records one failed attempt by caller.
	Failed(ctx context.Context, caller string)
}

// Guess limits.
const (
	MaxFailedGuesses = 10
	GuessWindow      = 15 * time.Minute
)

// MemoryGuesses counts failures in process memory, in fixed windows.
type MemoryGuesses struct {
	Max    int
	Window time.Duration
	Now    func() time.Time

	mu    sync.Mutex
	fails map[string]window
}

type window struct {
	n     int
	until time.Time
}

const maxGuessCallers = 100_000

func (m *MemoryGuesses) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Blocked implements GuessLimiter.
func (m *MemoryGuesses) Blocked(_ context.Context, caller string) (bool, time.Duration) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.fails[caller]
	if !ok || !now.Before(w.until) {
		return false, 0
	}
	return w.n >= m.Max, w.until.Sub(now)
}

// Failed implements GuessLimiter.
func (m *MemoryGuesses) Failed(_ context.Context, caller string) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fails == nil {
		m.fails = map[string]window{}
	}
	if len(m.fails) >= maxGuessCallers {
		for k, w := range m.fails {
			if !now.Before(w.until) {
				delete(m.fails, k)
			}
		}
	}
	w := m.fails[caller]
	if !now.Before(w.until) {
		w = window{until: now.Add(m.Window)}
	}
	w.n++
	m.fails[caller] = w
}

// RedisGuesses shares the counts across replicas. When Redis cannot
// answer it falls back to the local counts: guessing protection fails
// closed, unlike the general rate limit. Keys are keyed hashes of the
// caller, never an address in clear.
type RedisGuesses struct {
	Client   redis.Cmdable
	Prefix   string
	Key      func(caller string) string
	Max      int
	Window   time.Duration
	Fallback *MemoryGuesses
}

// Blocked implements GuessLimiter.
func (g *RedisGuesses) Blocked(ctx context.Context, caller string) (bool, time.Duration) {
	local, wait := g.Fallback.Blocked(ctx, caller)
	key := g.Prefix + g.Key(caller)
	n, err := g.Client.Get(ctx, key).Int()
	if err == redis.Nil {
		return local, wait
	}
	if err != nil || n < g.Max {
		return local, wait
	}
	ttl, err := g.Client.PTTL(ctx, key).Result()
	if err != nil || ttl < 0 {
		ttl = g.Window
	}
	return true, ttl
}

// Failed implements GuessLimiter.
func (g *RedisGuesses) Failed(ctx context.Context, caller string) {
	g.Fallback.Failed(ctx, caller)
	key := g.Prefix + g.Key(caller)
	pipe := g.Client.TxPipeline()
	pipe.Incr(ctx, key)
	pipe.ExpireNX(ctx, key, g.Window)
	_, _ = pipe.Exec(ctx)
}
