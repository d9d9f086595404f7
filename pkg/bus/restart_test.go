package bus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/testkit"
)

// TestNoLossAcrossBrokerRestarts publishes 10,000 events while the broker is
// stopped and restarted on the same store five times. Every event that got
// a PubAck must be handled, and none twice.
func TestNoLossAcrossBrokerRestarts(t *testing.T) {
	const total = 10_000
	const restarts = 5
	srv := testkit.NATS(t)
	pub := newBus(t, srv.URL())
	sub := newBus(t, srv.URL())
	ctx := context.Background()

	var mu sync.Mutex
	handled := make(map[string]int, total)
	c := &bus.Consumer{Name: "restarts", Concurrency: 4}
	bus.On(c, func(ctx context.Context, env events.Envelope, p pinged) error {
		mu.Lock()
		handled[env.ID]++
		mu.Unlock()
		return nil
	})
	r, err := sub.Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, r)

	acked := make([]string, 0, total)
	restartAt := map[int]bool{}
	for i := 1; i <= restarts; i++ {
		restartAt[i*total/(restarts+1)] = true
	}
	var restarting sync.WaitGroup
	for i := 0; i < total; i++ {
		if restartAt[i] {
			// Restart in the background so publishes race the outage.
			restarting.Wait()
			restarting.Go(func() {
				if err := srv.Restart(); err != nil {
					t.Errorf("restart: %v", err)
				}
			})
		}
		env, err := events.New(pinged{N: i}, "deiops/test", "x", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// The publisher keeps the event until it is acknowledged, as the
		// outbox does; every id it reports as acked must arrive.
		for {
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = pub.PublishEnvelope(pctx, env, nil)
			cancel()
			if err == nil {
				break
			}
			t.Logf("publish %d retried after: %v", i, err)
		}
		acked = append(acked, env.ID)
	}
	restarting.Wait()

	testkit.Eventually(t, 120*time.Second, "every acked event handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) >= len(acked)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, id := range acked {
		switch handled[id] {
		case 1:
		case 0:
			t.Errorf("event %s acked but never handled", id)
		default:
			t.Errorf("event %s handled %d times", id, handled[id])
		}
	}
	if len(handled) != total {
		t.Errorf("handled %d distinct events, want %d", len(handled), total)
	}
}
