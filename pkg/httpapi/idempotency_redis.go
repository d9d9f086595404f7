package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A Redis idempotency value is
//
//	"P\n" token "\n" fingerprint "\n"            while the first request runs
//	"D\n" token "\n" fingerprint "\n" response   once it completed
//
// token and fingerprint are hex, so the separators are unambiguous, and
// response is the sealed, opaque blob the middleware produced.

// completeScript swaps our in-flight marker for the stored response, keeping
// token and fingerprint, only while the marker is still ours.
const completeScript = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], 'D' .. string.sub(v, 2) .. ARGV[2], 'PX', ARGV[3])
return 1
`

// releaseScript deletes our in-flight marker, and nothing else.
const releaseScript = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
`

// RedisIdempotencyStore keeps claims in Redis so every instance of a service
// sees the same keys. Entries expire by TTL; losing them (a flush) only means
// a retried POST runs again, which the domain's own idempotency absorbs.
type RedisIdempotencyStore struct {
	client   redis.Cmdable
	prefix   string
	complete *redis.Script
	release  *redis.Script
}

// NewRedisIdempotencyStore stores entries under prefix+"idem:"+key.
func NewRedisIdempotencyStore(client redis.Cmdable, prefix string) *RedisIdempotencyStore {
	return &RedisIdempotencyStore{
		client:   client,
		prefix:   prefix + "idem:",
		complete: redis.NewScript(completeScript),
		release:  redis.NewScript(releaseScript),
	}
}

func pendingValue(token, fp string) string { return "P\n" + token + "\n" + fp + "\n" }

// Begin implements IdempotencyStore: SET NX claims a free key; otherwise the
// stored value says what holds it. A key that vanishes between the two steps
// (released or expired) is claimed again.
func (s *RedisIdempotencyStore) Begin(ctx context.Context, key, fp string, lockTTL time.Duration) (Claim, error) {
	if strings.ContainsRune(fp, '\n') {
		return Claim{}, errors.New("idempotency begin: fingerprint must not contain a newline")
	}
	token, err := newClaimToken()
	if err != nil {
		return Claim{}, err
	}
	rkey := s.prefix + key
	for range 3 {
		ok, err := s.client.SetNX(ctx, rkey, pendingValue(token, fp), lockTTL).Result()
		if err != nil {
			return Claim{}, fmt.Errorf("idempotency begin: claim: %w", err)
		}
		if ok {
			return Claim{State: ClaimAcquired, Token: token}, nil
		}
		v, err := s.client.Get(ctx, rkey).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return Claim{}, fmt.Errorf("idempotency begin: read: %w", err)
		}
		return parseRedisClaim(v, fp)
	}
	return Claim{}, errors.New("idempotency begin: key keeps changing, giving up")
}

func parseRedisClaim(v, fp string) (Claim, error) {
	parts := strings.SplitN(v, "\n", 4)
	if len(parts) != 4 || (parts[0] != "P" && parts[0] != "D") {
		return Claim{}, errors.New("idempotency begin: stored value is malformed")
	}
	switch {
	case parts[2] != fp:
		return Claim{State: ClaimMismatch}, nil
	case parts[0] == "P":
		return Claim{State: ClaimInFlight}, nil
	}
	return Claim{State: ClaimReplay, Response: []byte(parts[3])}, nil
}

// Complete implements IdempotencyStore.
func (s *RedisIdempotencyStore) Complete(ctx context.Context, key, token string, response []byte, ttl time.Duration) error {
	n, err := s.complete.Run(ctx, s.client, []string{s.prefix + key},
		"P\n"+token+"\n", response, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("idempotency complete: %w", err)
	}
	if n != 1 {
		return ErrClaimLost
	}
	return nil
}

// Release implements IdempotencyStore.
func (s *RedisIdempotencyStore) Release(ctx context.Context, key, token string) error {
	n, err := s.release.Run(ctx, s.client, []string{s.prefix + key}, "P\n"+token+"\n").Int()
	if err != nil {
		return fmt.Errorf("idempotency release: %w", err)
	}
	if n != 1 {
		return ErrClaimLost
	}
	return nil
}
