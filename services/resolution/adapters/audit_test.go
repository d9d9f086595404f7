package adapters_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution/adapters"
	"github.com/deiops/deiops/services/resolution/app"
)

// Concurrent appends to one case each land once, in the trail of their
// own case, without contending on a record.
func TestAuditTrailAppendsConcurrentlyAndListsPerCase(t *testing.T) {
	ctx := context.Background()
	srv := testkit.NATS(t)
	b, err := bus.Connect(ctx, bus.Options{Source: "/test/resolution", Logger: slog.New(slog.DiscardHandler), NATS: config.NATS{
		URL: srv.URL(), Replicas: 1, DuplicateWindow: time.Minute, PublishAttempts: 5, AckWait: 5 * time.Second, MaxDeliver: 5}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	audit, err := adapters.NewAudit(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := audit.List(ctx, "c-none"); err != nil || len(got) != 0 {
		t.Fatalf("empty trail: %v %v", got, err)
	}
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Go(func() {
			for i := range 30 {
				if err := audit.Append(ctx, "c-a", app.AuditEntry{At: time.Now(), Actor: fmt.Sprintf("w%d", w), Action: fmt.Sprintf("a%d", i), Outcome: "allowed"}); err != nil {
					t.Error(err)
				}
			}
			if err := audit.Append(ctx, "c-b", app.AuditEntry{Actor: fmt.Sprintf("w%d", w), Action: "read", Outcome: "denied"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	a, err := audit.List(ctx, "c-a")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range a {
		seen[e.Actor+"/"+e.Action]++
	}
	if len(a) != 300 || len(seen) != 300 {
		t.Fatalf("case a: %d entries, %d distinct, want 300", len(a), len(seen))
	}
	// Each writer's entries keep their order.
	last := map[string]int{}
	for _, e := range a {
		var i int
		fmt.Sscanf(e.Action, "a%d", &i)
		if prev, ok := last[e.Actor]; ok && i <= prev {
			t.Fatalf("%s's entries out of order", e.Actor)
		}
		last[e.Actor] = i
	}
	bEntries, err := audit.List(ctx, "c-b")
	if err != nil || len(bEntries) != 10 {
		t.Fatalf("case b: %d entries, %v", len(bEntries), err)
	}
}
