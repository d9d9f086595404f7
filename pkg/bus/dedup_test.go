package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/testkit"
)

func TestMemoryDedupRemembersTheLastWindowOfIDs(t *testing.T) {
	ctx := context.Background()
	d := bus.NewMemoryDedup(3)
	handle := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			if c, _ := d.Claim(ctx, "c1", id); c != bus.ClaimNew {
				t.Fatalf("claim %s = %v, want new", id, c)
			}
			if err := d.Done(ctx, "c1", id); err != nil {
				t.Fatal(err)
			}
		}
	}
	expect := func(consumer, id string, want bus.Claim) {
		t.Helper()
		got, err := d.Claim(ctx, consumer, id)
		if err != nil || got != want {
			t.Fatalf("Claim(%s, %s) = %v, %v; want %v", consumer, id, got, err, want)
		}
		if got == bus.ClaimNew {
			_ = d.Release(ctx, consumer, id)
		}
	}
	handle("a", "b", "c")
	expect("c1", "a", bus.ClaimDone)
	expect("c2", "a", bus.ClaimNew) // ids are per consumer
	handle("d", "e")                // evicts a, then b
	expect("c1", "a", bus.ClaimNew)
	expect("c1", "b", bus.ClaimNew)
	expect("c1", "c", bus.ClaimDone)
	expect("c1", "e", bus.ClaimDone)
}

// contract runs the Deduper rules every implementation must follow.
func contract(t *testing.T, d bus.Deduper) {
	ctx := context.Background()
	id := fmt.Sprintf("ev-%d", time.Now().UnixNano())
	if c, err := d.Claim(ctx, "c", id); err != nil || c != bus.ClaimNew {
		t.Fatalf("first claim: %v %v", c, err)
	}
	if c, _ := d.Claim(ctx, "c", id); c != bus.ClaimBusy {
		t.Fatalf("claim while in flight = %v, want busy", c)
	}
	if err := d.Release(ctx, "c", id); err != nil {
		t.Fatal(err)
	}
	if c, _ := d.Claim(ctx, "c", id); c != bus.ClaimNew {
		t.Fatalf("claim after release = %v, want new", c)
	}
	if err := d.Done(ctx, "c", id); err != nil {
		t.Fatal(err)
	}
	if c, _ := d.Claim(ctx, "c", id); c != bus.ClaimDone {
		t.Fatalf("claim after done = %v, want done", c)
	}
	if err := d.Release(ctx, "c", id); err != nil { // a late release must not undo done
		t.Fatal(err)
	}
	if c, _ := d.Claim(ctx, "c", id); c != bus.ClaimDone {
		t.Fatalf("claim after late release = %v, want done", c)
	}
}

func TestDeduperContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) { contract(t, bus.NewMemoryDedup(100)) })
	t.Run("redis", func(t *testing.T) {
		r := testkit.Redis(t)
		contract(t, bus.NewRedisDedup(r.Client, r.Prefix, time.Hour, time.Minute))
	})
	t.Run("layered", func(t *testing.T) {
		r := testkit.Redis(t)
		contract(t, bus.Layered{bus.NewMemoryDedup(100), bus.NewRedisDedup(r.Client, r.Prefix, time.Hour, time.Minute)})
	})
	t.Run("layered replicas share", func(t *testing.T) {
		r := testkit.Redis(t)
		shared := func() bus.Deduper {
			return bus.Layered{bus.NewMemoryDedup(100), bus.NewRedisDedup(r.Client, r.Prefix, time.Hour, time.Minute)}
		}
		a, b := shared(), shared()
		ctx := context.Background()
		if c, _ := a.Claim(ctx, "c", "x"); c != bus.ClaimNew {
			t.Fatal("replica a could not claim")
		}
		if c, _ := b.Claim(ctx, "c", "x"); c != bus.ClaimBusy {
			t.Fatalf("replica b claim while a handles = %v, want busy", c)
		}
		_ = a.Done(ctx, "c", "x")
		if c, _ := b.Claim(ctx, "c", "x"); c != bus.ClaimDone {
			t.Fatalf("replica b after a finished = %v, want done", c)
		}
	})
}
