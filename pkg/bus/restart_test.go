package bus_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

// TestBatchSurvivesBrokerRestart publishes a cohort wave of 50,000 events
// as one batch while the broker restarts in the middle. The batch must
// report success only when every event is stored, and the stream must
// hold each event exactly once: as many messages as events, and as many
// distinct ids.
func TestBatchSurvivesBrokerRestart(t *testing.T) {
	const total = 50_000
	srv := testkit.NATS(t)
	pub := newBus(t, srv.URL())
	ctx := context.Background()

	var acked atomic.Int64
	bt := pub.NewBatch(ctx, bus.BatchOptions{MaxInFlight: 512, OnAck: func(events.Envelope) { acked.Add(1) }})
	restarted := make(chan error, 1)
	var ackedAtRestart int64
	for i := range total {
		if i == total/2 {
			go func() {
				err := srv.Restart()
				ackedAtRestart = acked.Load()
				restarted <- err
			}()
		}
		env, err := events.New(pinged{N: i}, pub.Source(), "wave", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := bt.Add(env, nil); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	if err := bt.Wait(); err != nil {
		t.Fatalf("batch: %v", err)
	}
	if err := <-restarted; err != nil {
		t.Fatalf("restart: %v", err)
	}
	if ackedAtRestart >= total {
		t.Fatal("the broker came back after the batch ended: the restart was not mid-batch")
	}
	if n := acked.Load(); n != total {
		t.Fatalf("%d events acknowledged, want %d", n, total)
	}
	n, err := pub.StreamMessages(ctx, "DEI_BUSTEST")
	if err != nil || n != total {
		t.Fatalf("stream holds %d messages (%v), want %d", n, err, total)
	}
	// Read the stream back: every id once.
	_, js := testkit.Connect(t, srv.URL())
	cons, err := js.OrderedConsumer(ctx, "DEI_BUSTEST", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, total)
	for len(seen) < total {
		batch, err := cons.Fetch(5000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			id := m.Headers().Get(events.HeaderID)
			if seen[id] {
				t.Fatalf("event %s stored twice", id)
			}
			seen[id] = true
		}
		if got == 0 {
			t.Fatalf("stream ended after %d distinct events, want %d", len(seen), total)
		}
	}
}
