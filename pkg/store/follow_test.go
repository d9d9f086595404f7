package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
)

// mapSink is the simplest read model: every key's latest value.
type mapSink struct {
	mu    sync.Mutex
	vals  map[string]int
	loads int
}

func (s *mapSink) Load(vals map[string]*counter, _ []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	s.vals = map[string]int{}
	for k, v := range vals {
		s.vals[k] = v.Value
	}
}

func (s *mapSink) Put(key string, v *counter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals[key] = v.Value
}

func (s *mapSink) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.vals, key)
}

func (s *mapSink) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.vals)
}

// TestFollowerReadsItsWrites: after Sync the read model holds every write
// made before it (loaded at start, applied live, deletes included), and a
// follower started later over the same bucket rebuilds it equal.
func TestFollowerReadsItsWrites(t *testing.T) {
	srv := testkit.NATS(t)
	b := connect(t, srv.URL())
	r := repo(t, b, false)
	ctx := t.Context()
	want := map[string]int{}
	for i := range 50 {
		key := fmt.Sprintf("k%02d", i)
		if err := r.Create(ctx, key, &counter{Value: i}); err != nil {
			t.Fatal(err)
		}
		want[key] = i
	}
	first := &mapSink{}
	f := store.NewFollower(r, store.Sink[counter](first), nil)
	go f.Run(ctx)
	sync := func(f *store.Follower[counter]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := f.Sync(sctx); err != nil {
			t.Fatal(err)
		}
	}
	sync(f)
	if got := first.snapshot(); !maps.Equal(got, want) {
		t.Fatalf("after the load: %v, want %v", got, want)
	}
	for i := range 20 {
		key := fmt.Sprintf("k%02d", i)
		if err := r.Update(ctx, key, func(c *counter) ([]events.Event, error) { c.Value += 100; return nil, nil }); err != nil {
			t.Fatal(err)
		}
		want[key] += 100
		// Read-your-writes after every single write, not only eventually.
		sync(f)
		if got := first.snapshot()[key]; got != want[key] {
			t.Fatalf("%s after its write: %d, want %d", key, got, want[key])
		}
	}
	for i := 40; i < 50; i++ {
		key := fmt.Sprintf("k%02d", i)
		if err := r.Purge(ctx, key); err != nil {
			t.Fatal(err)
		}
		delete(want, key)
	}
	sync(f)
	if got := first.snapshot(); !maps.Equal(got, want) {
		t.Fatalf("after live changes: %v, want %v", got, want)
	}

	second := &mapSink{}
	g := store.NewFollower(r, store.Sink[counter](second), nil)
	go g.Run(ctx)
	sync(g)
	if got := second.snapshot(); !maps.Equal(got, first.snapshot()) || second.loads != 1 {
		t.Fatalf("rebuilt from the bucket: %v (%d loads), want %v", got, second.loads, first.snapshot())
	}
}

// TestFollowerSyncEndsWithItsContext: a follower that never runs cannot
// pretend to be current.
func TestFollowerSyncEndsWithItsContext(t *testing.T) {
	srv := testkit.NATS(t)
	b := connect(t, srv.URL())
	r := repo(t, b, false)
	if err := r.Create(t.Context(), "k", &counter{}); err != nil {
		t.Fatal(err)
	}
	f := store.NewFollower(r, store.Sink[counter](&mapSink{}), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := f.Sync(ctx); !errors.Is(err, store.ErrBehind) {
		t.Fatalf("Sync of a follower that is not running: %v, want ErrBehind", err)
	}
}
