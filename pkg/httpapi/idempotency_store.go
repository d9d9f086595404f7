package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ClaimState is what IdempotencyStore.Begin found for a key.
type ClaimState int

const (
	// ClaimAcquired: the key was free and now belongs to this request, which
	// must end with Complete or Release using Claim.Token.
	ClaimAcquired ClaimState = iota + 1
	// ClaimReplay: an earlier request with the same fingerprint completed;
	// Claim.Response holds what it stored.
	ClaimReplay
	// ClaimInFlight: a request with the same fingerprint holds the key now.
	ClaimInFlight
	// ClaimMismatch: the key was used for a request with another fingerprint
	// (whether that one is still running or done).
	ClaimMismatch
)

func (s ClaimState) String() string {
	switch s {
	case ClaimAcquired:
		return "acquired"
	case ClaimReplay:
		return "replay"
	case ClaimInFlight:
		return "in-flight"
	case ClaimMismatch:
		return "mismatch"
	}
	return fmt.Sprintf("ClaimState(%d)", int(s))
}

// Claim is the answer of IdempotencyStore.Begin.
type Claim struct {
	State    ClaimState
	Token    string // set with ClaimAcquired; proves ownership to Complete and Release
	Response []byte // set with ClaimReplay; opaque (sealed) bytes given to Complete
}

// ErrClaimLost means the claim expired (its lock TTL passed) or was taken over
// before Complete or Release; nothing was changed.
var ErrClaimLost = errors.New("idempotency claim lost")

// IdempotencyStore remembers, per key, the first response to a POST.
//
// Keys and fingerprints arrive already hashed, and responses already sealed,
// so an implementation stores nothing a caller sent in the clear. Begin is
// atomic: of concurrent Begins on a free key exactly one is ClaimAcquired. An
// error from any method means the store could not answer and nothing changed
// that the caller can rely on. Cancelling ctx abandons the call.
type IdempotencyStore interface {
	// Begin claims key for a request with fingerprint fp, or reports what
	// holds it. An acquired claim expires after lockTTL so a crashed request
	// does not block the key for the whole replay window.
	Begin(ctx context.Context, key, fp string, lockTTL time.Duration) (Claim, error)
	// Complete replaces the claim with response, kept for ttl. It returns
	// ErrClaimLost when token no longer holds the key.
	Complete(ctx context.Context, key, token string, response []byte, ttl time.Duration) error
	// Release frees the key so the request can be retried (after a 5xx or a
	// panic). It returns ErrClaimLost when token no longer holds the key.
	Release(ctx context.Context, key, token string) error
}

func newClaimToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// MemoryIdempotencyStore keeps claims in process memory. It suits tests and a
// single instance; several instances need the shared Redis store.
type MemoryIdempotencyStore struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memoryEntry
	begins  int // Begin calls since the last full sweep
}

// sweepEvery amortises the full expiry sweep over many Begins; between sweeps
// an expired entry is still ignored when its own key is looked up.
const sweepEvery = 1024

type memoryEntry struct {
	done     bool
	token    string
	fp       string
	response []byte
	expires  time.Time
}

// NewMemoryIdempotencyStore returns an empty store reading time from now
// (time.Now when nil), so tests can move the clock.
func NewMemoryIdempotencyStore(now func() time.Time) *MemoryIdempotencyStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryIdempotencyStore{now: now, entries: map[string]memoryEntry{}}
}

// Begin implements IdempotencyStore.
func (s *MemoryIdempotencyStore) Begin(ctx context.Context, key, fp string, lockTTL time.Duration) (Claim, error) {
	if err := ctx.Err(); err != nil {
		return Claim{}, fmt.Errorf("idempotency begin: %w", err)
	}
	token, err := newClaimToken()
	if err != nil {
		return Claim{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.begins++; s.begins >= sweepEvery {
		s.begins = 0
		for k, e := range s.entries {
			if !now.Before(e.expires) {
				delete(s.entries, k)
			}
		}
	}
	e, ok := s.lookupLocked(key, now)
	switch {
	case !ok:
		s.entries[key] = memoryEntry{token: token, fp: fp, expires: now.Add(lockTTL)}
		return Claim{State: ClaimAcquired, Token: token}, nil
	case e.fp != fp:
		return Claim{State: ClaimMismatch}, nil
	case !e.done:
		return Claim{State: ClaimInFlight}, nil
	}
	return Claim{State: ClaimReplay, Response: append([]byte(nil), e.response...)}, nil
}

// Complete implements IdempotencyStore.
func (s *MemoryIdempotencyStore) Complete(ctx context.Context, key, token string, response []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("idempotency complete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e, ok := s.lookupLocked(key, now)
	if !ok || e.done || e.token != token {
		return ErrClaimLost
	}
	e.done, e.response, e.expires = true, append([]byte(nil), response...), now.Add(ttl)
	s.entries[key] = e
	return nil
}

// Release implements IdempotencyStore.
func (s *MemoryIdempotencyStore) Release(ctx context.Context, key, token string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("idempotency release: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.lookupLocked(key, s.now())
	if !ok || e.done || e.token != token {
		return ErrClaimLost
	}
	delete(s.entries, key)
	return nil
}

// lookupLocked returns the live entry for key, dropping it if expired.
func (s *MemoryIdempotencyStore) lookupLocked(key string, now time.Time) (memoryEntry, bool) {
	e, ok := s.entries[key]
	if ok && !now.Before(e.expires) {
		delete(s.entries, key)
		return memoryEntry{}, false
	}
	return e, ok
}
