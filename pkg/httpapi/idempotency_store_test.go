package httpapi

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/testkit"
)

// TestIdempotencyStoreContract runs one suite against every implementation,
// so the in-memory store cannot drift from the Redis one.
func TestIdempotencyStoreContract(t *testing.T) {
	impls := map[string]func(t *testing.T) IdempotencyStore{
		"memory": func(t *testing.T) IdempotencyStore { return NewMemoryIdempotencyStore(nil) },
		"redis": func(t *testing.T) IdempotencyStore {
			env := testkit.Redis(t)
			return NewRedisIdempotencyStore(env.Client, env.Prefix)
		},
	}
	for name, newStore := range impls {
		t.Run(name, func(t *testing.T) { idempotencyStoreContract(t, newStore) })
	}
}

const (
	fpA         = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	fpB         = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	testLockTTL = time.Minute
	testTTL     = time.Hour
)

func idempotencyStoreContract(t *testing.T, newStore func(t *testing.T) IdempotencyStore) {
	ctx := context.Background()
	begin := func(t *testing.T, s IdempotencyStore, key, fp string, want ClaimState) Claim {
		t.Helper()
		c, err := s.Begin(ctx, key, fp, testLockTTL)
		if err != nil {
			t.Fatalf("Begin(%s): %v", key, err)
		}
		if c.State != want {
			t.Fatalf("Begin(%s) = %v, want %v", key, c.State, want)
		}
		return c
	}

	t.Run("claim, complete, replay", func(t *testing.T) {
		s := newStore(t)
		c := begin(t, s, "k1", fpA, ClaimAcquired)
		if c.Token == "" {
			t.Fatal("acquired claim has no token")
		}
		begin(t, s, "k1", fpA, ClaimInFlight)
		begin(t, s, "k1", fpB, ClaimMismatch)
		// Every byte value must survive the round trip: responses are sealed.
		payload := make([]byte, 256)
		for i := range payload {
			payload[i] = byte(i)
		}
		if err := s.Complete(ctx, "k1", c.Token, payload, testTTL); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		r := begin(t, s, "k1", fpA, ClaimReplay)
		if string(r.Response) != string(payload) {
			t.Fatalf("replayed %x, want %x", r.Response, payload)
		}
		begin(t, s, "k1", fpB, ClaimMismatch)
		if err := s.Complete(ctx, "k1", c.Token, []byte("again"), testTTL); !errors.Is(err, ErrClaimLost) {
			t.Errorf("second Complete = %v, want ErrClaimLost", err)
		}
		if err := s.Release(ctx, "k1", c.Token); !errors.Is(err, ErrClaimLost) {
			t.Errorf("Release after Complete = %v, want ErrClaimLost", err)
		}
		begin(t, s, "k1", fpA, ClaimReplay)
	})

	t.Run("release frees the key", func(t *testing.T) {
		s := newStore(t)
		c := begin(t, s, "k2", fpA, ClaimAcquired)
		if err := s.Release(ctx, "k2", c.Token); err != nil {
			t.Fatalf("Release: %v", err)
		}
		c2 := begin(t, s, "k2", fpB, ClaimAcquired)
		if c2.Token == c.Token {
			t.Error("tokens must differ between claims")
		}
	})

	t.Run("wrong token changes nothing", func(t *testing.T) {
		s := newStore(t)
		c := begin(t, s, "k3", fpA, ClaimAcquired)
		if err := s.Release(ctx, "k3", "not-the-token"); !errors.Is(err, ErrClaimLost) {
			t.Errorf("Release with a wrong token = %v, want ErrClaimLost", err)
		}
		if err := s.Complete(ctx, "k3", "not-the-token", []byte("x"), testTTL); !errors.Is(err, ErrClaimLost) {
			t.Errorf("Complete with a wrong token = %v, want ErrClaimLost", err)
		}
		begin(t, s, "k3", fpA, ClaimInFlight)
		if err := s.Complete(ctx, "k3", c.Token, []byte("ok"), testTTL); err != nil {
			t.Fatalf("Complete: %v", err)
		}
	})

	t.Run("unknown key", func(t *testing.T) {
		s := newStore(t)
		if err := s.Release(ctx, "never", "t"); !errors.Is(err, ErrClaimLost) {
			t.Errorf("Release = %v, want ErrClaimLost", err)
		}
		if err := s.Complete(ctx, "never", "t", nil, testTTL); !errors.Is(err, ErrClaimLost) {
			t.Errorf("Complete = %v, want ErrClaimLost", err)
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		s := newStore(t)
		begin(t, s, "a", fpA, ClaimAcquired)
		begin(t, s, "b", fpA, ClaimAcquired)
	})

	t.Run("exactly one concurrent begin wins", func(t *testing.T) {
		s := newStore(t)
		const n = 16
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			states = map[ClaimState]int{}
		)
		start := make(chan struct{})
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, err := s.Begin(ctx, "race", fpA, testLockTTL)
				if err != nil {
					t.Errorf("Begin: %v", err)
					return
				}
				mu.Lock()
				states[c.State]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if states[ClaimAcquired] != 1 || states[ClaimInFlight] != n-1 {
			t.Errorf("states = %v, want 1 acquired and %d in flight", states, n-1)
		}
	})
}

func TestMemoryIdempotencyStoreExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewMemoryIdempotencyStore(func() time.Time { return now })

	c, _ := s.Begin(ctx, "k", fpA, time.Minute)
	now = now.Add(time.Minute)
	if got, _ := s.Begin(ctx, "k", fpB, time.Minute); got.State != ClaimAcquired {
		t.Fatalf("expired lock: state %v, want acquired", got.State)
	}
	if err := s.Complete(ctx, "k", c.Token, []byte("late"), time.Hour); !errors.Is(err, ErrClaimLost) {
		t.Errorf("Complete by the expired claim = %v, want ErrClaimLost", err)
	}

	c, _ = s.Begin(ctx, "done", fpA, time.Minute)
	if err := s.Complete(ctx, "done", c.Token, []byte("r"), time.Hour); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Minute)
	if got, _ := s.Begin(ctx, "done", fpA, time.Minute); got.State != ClaimReplay {
		t.Fatalf("within testTTL: state %v, want replay", got.State)
	}
	now = now.Add(time.Minute)
	if got, _ := s.Begin(ctx, "done", fpA, time.Minute); got.State != ClaimAcquired {
		t.Fatalf("after testTTL: state %v, want acquired", got.State)
	}
}
