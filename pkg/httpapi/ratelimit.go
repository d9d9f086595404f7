package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is the generic cell rate algorithm: each caller has a
// theoretical arrival time (TAT); a request is allowed when it would not push
// TAT more than burst intervals past now. Time comes from Redis (TIME) so
// instances with skewed clocks agree. Times are whole milliseconds: Redis
// turns Lua numbers into strings with 14 significant digits, enough for
// epoch milliseconds but not microseconds.
//
//	KEYS[1] the caller's TAT key
//	ARGV[1] emission interval in ms (60000 / requests per minute)
//	ARGV[2] burst: requests that may arrive at once
//
// Returns {allowed (0|1), remaining, retry after ms, reset ms}.
const gcraScript = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tolerance = interval * burst
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = math.max(tonumber(stored), now)
end
local ahead = tat + interval - now
if ahead > tolerance then
  return {0, 0, ahead - tolerance, tat - now}
end
redis.call('SET', KEYS[1], tat + interval, 'PX', ahead)
return {1, math.floor((tolerance - ahead) / interval), 0, ahead}
`

// RateLimitOptions configures a RateLimiter.
type RateLimitOptions struct {
	PerMinute int // steady rate per caller (config.HTTP.RateLimit)
	Burst     int // requests a caller may send at once (config.HTTP.RateBurst)
	// KeyPrefix starts every Redis key; KeySecret keys the hash of the
	// caller in the key name (required, same on every instance).
	KeyPrefix string
	KeySecret []byte
	// Identity names the authenticated caller ("" when anonymous); anonymous
	// callers are limited per ClientIP (default RemoteIP).
	Identity func(*http.Request) string
	ClientIP func(*http.Request) string
	// Timeout bounds one Redis round trip (default 250ms) so a slow Redis
	// cannot stall every request.
	Timeout time.Duration
	Logger  *slog.Logger
}

// RateDecision is the outcome of one RateLimiter.Allow.
type RateDecision struct {
	Allowed    bool
	Limit      int           // burst capacity
	Remaining  int           // requests left at once after this one
	RetryAfter time.Duration // when denied: wait before the next one is allowed
	Reset      time.Duration // until the full burst is available again
}

// RateLimiter limits requests per caller with GCRA in Redis.
type RateLimiter struct {
	client     redis.Scripter
	script     *redis.Script
	o          RateLimitOptions
	hasher     keyHasher
	intervalMS int64
	// lastFailLog throttles the fail-open warning to one per 10s.
	lastFailLog atomic.Int64
}

// NewRateLimiter checks o and prepares the script.
func NewRateLimiter(client redis.Scripter, o RateLimitOptions) (*RateLimiter, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("rate limit: a redis client is required"))
	}
	if o.PerMinute < 1 {
		errs = append(errs, fmt.Errorf("rate limit: per-minute rate %d must be at least 1", o.PerMinute))
	}
	if o.Burst < 1 {
		errs = append(errs, fmt.Errorf("rate limit: burst %d must be at least 1", o.Burst))
	}
	if len(o.KeySecret) < 16 {
		errs = append(errs, errors.New("rate limit: a key secret of at least 16 bytes is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// Whole milliseconds: rates above 60000/min are capped at 1 per ms.
	interval := max(int64(1), (60_000+int64(o.PerMinute)-1)/int64(o.PerMinute))
	return &RateLimiter{
		client: client, script: redis.NewScript(gcraScript), o: o,
		hasher: keyHasher{secret: o.KeySecret}, intervalMS: interval,
	}, nil
}

// Allow spends one request of caller's allowance.
func (l *RateLimiter) Allow(ctx context.Context, caller string) (RateDecision, error) {
	ctx, cancel := context.WithTimeout(ctx, l.o.Timeout)
	defer cancel()
	key := l.o.KeyPrefix + "rl:" + l.hasher.sum("rate-limit", []byte(caller))
	res, err := l.script.Run(ctx, l.client, []string{key}, l.intervalMS, l.o.Burst).Int64Slice()
	if err != nil {
		return RateDecision{}, fmt.Errorf("rate limit: run script: %w", err)
	}
	if len(res) != 4 {
		return RateDecision{}, fmt.Errorf("rate limit: script returned %d values, want 4", len(res))
	}
	return RateDecision{
		Allowed:    res[0] == 1,
		Limit:      l.o.Burst,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Millisecond,
		Reset:      time.Duration(res[3]) * time.Millisecond,
	}, nil
}

// Middleware answers 429 with Retry-After when the caller is over its limit,
// and sets RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds)
// on every response it decided.
//
// When Redis cannot answer, the request is let through (fail open) and a
// warning is logged at most every 10s. Redis holds nothing deiops cannot
// lose; an outage of it should not take the API down, and the limiter is a
// guard against abuse, not an authorization control. Brute-force-sensitive
// endpoints (anonymous case secrets) keep their own checks.
func (l *RateLimiter) Middleware() Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			d, err := l.Allow(ctx, callerOf(r, l.o.Identity, l.o.ClientIP))
			if err != nil {
				l.logFailOpen(ctx, err)
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
			h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
			h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
			if !d.Allowed {
				h.Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(d.RetryAfter)), 10))
				WriteProblem(w, r, TooManyRequests("too many requests; retry after the time in Retry-After"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (l *RateLimiter) logFailOpen(ctx context.Context, err error) {
	now := time.Now().UnixNano()
	last := l.lastFailLog.Load()
	if now-last < int64(10*time.Second) || !l.lastFailLog.CompareAndSwap(last, now) {
		return
	}
	l.o.Logger.WarnContext(ctx, "rate limiter unavailable; letting requests through", "error", err)
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
