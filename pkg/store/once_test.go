package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
)

// wire counts every event publication the server receives, by event id,
// from a core subscription on ">": JetStream's de-duplication cannot hide
// a double from it.
type wire struct {
	mu   sync.Mutex
	seen map[string]int
}

func watchWire(t testing.TB, url string) *wire {
	t.Helper()
	nc, _ := testkit.Connect(t, url)
	w := &wire{seen: map[string]int{}}
	if _, err := nc.Subscribe(">", func(m *nats.Msg) {
		// Publications travel on the events' subjects; deliveries to
		// consumers show the same subject but carry an ack reply.
		if !strings.HasPrefix(m.Subject, events.PublicPrefix+".") && !strings.HasPrefix(m.Subject, events.InternalPrefix+".") ||
			strings.HasPrefix(m.Reply, "$JS.ACK.") {
			return
		}
		if id := m.Header.Get(events.HeaderID); id != "" {
			w.mu.Lock()
			w.seen[id]++
			w.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *wire) distinct() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// checkOnce fails the test for every event published other than once.
func (w *wire) checkOnce(t testing.TB, want int) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seen) != want {
		t.Errorf("%d distinct events on the wire, want %d", len(w.seen), want)
	}
	for id, n := range w.seen {
		if n != 1 {
			t.Errorf("event %s published %d times", id, n)
		}
	}
}

// settled waits until the relay has looked at every revision it holds and
// no record of the bucket has an outbox left: from then on nobody can
// publish anything more.
func settled(t testing.TB, b *bus.Bus, bucket string) {
	t.Helper()
	ctx := context.Background()
	kv, err := b.JetStream().KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := b.JetStream().Consumer(ctx, "KV_"+bucket, "outbox-relay")
	if err != nil {
		t.Fatal(err)
	}
	// What is still in the way is logged as it changes: a timeout then
	// says which outbox or which relay state never settled.
	last := ""
	testkit.Eventually(t, 30*time.Second, "empty outboxes and an idle relay", func() bool {
		left := unsettled(ctx, cons, kv)
		if left != last && left != "" {
			t.Logf("not settled yet: %s", left)
		}
		last = left
		return left == ""
	})
}

// unsettled says what keeps the bucket from being settled, or "".
func unsettled(ctx context.Context, cons jetstream.Consumer, kv jetstream.KeyValue) string {
	ci, err := cons.Info(ctx)
	if err != nil {
		return fmt.Sprintf("relay consumer: %v", err)
	}
	if ci.NumPending != 0 || ci.NumAckPending != 0 {
		return fmt.Sprintf("relay has %d revisions pending, %d unacknowledged", ci.NumPending, ci.NumAckPending)
	}
	records, err := latestValues(ctx, kv)
	if err != nil {
		return err.Error()
	}
	for k, e := range records {
		if i := bytes.Index(e.Value(), []byte(`"outbox":`)); i >= 0 {
			outbox := e.Value()[i:]
			return fmt.Sprintf("%s (revision %d) has an outbox: %s", k, e.Revision(), outbox[:min(len(outbox), 600)])
		}
	}
	return ""
}

// latestValues is the latest value of every key of the bucket, read from
// its stream in order. A Get of a replicated bucket may be answered by a
// replica that lags, and a check that read stale records could pass or
// fail for nothing.
func latestValues(ctx context.Context, kv jetstream.KeyValue) (map[string]jetstream.KeyValueEntry, error) {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", kv.Bucket(), err)
	}
	defer w.Stop()
	out := map[string]jetstream.KeyValueEntry{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return out, nil // the current values are all in
			}
			out[e.Key()] = e
		case <-ctx.Done():
			return nil, fmt.Errorf("watch %s: %w", kv.Bucket(), ctx.Err())
		}
	}
}

func startRelay(t testing.TB, r *store.Repo[counter]) {
	t.Helper()
	run, err := r.StartRelay(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Stop(context.Background()) })
}

// TestEveryEventIsPublishedOnce runs a realistic mix of writes from two
// processes, both running the relay, with the shortest duplicate window:
// every event reaches the wire exactly once and the stream holds each once.
func TestEveryEventIsPublishedOnce(t *testing.T) {
	srv := testkit.NATS(t)
	w := watchWire(t, srv.URL())
	b1, b2 := connect(t, srv.URL()), connect(t, srv.URL())
	r1, r2 := repo(t, b1, false), repo(t, b2, false)
	startRelay(t, r1)
	startRelay(t, r2)
	ctx := context.Background()
	repos := []*store.Repo[counter]{r1, r2}

	want := 0
	for i := range 20 {
		r := repos[i%2]
		if err := r.Create(ctx, fmt.Sprintf("k%d", i), &counter{}, counted{}); err != nil {
			t.Fatal(err)
		}
		want++
	}
	// A hot key written from both processes at once.
	if err := r1.Create(ctx, "hot", &counter{}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for i := range writers {
		r := repos[i%2]
		wg.Go(func() {
			for range each {
				if err := r.Update(ctx, "hot", increment); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	want += writers * each
	// Two events in one change, and changes without events between.
	for i := range 10 {
		if err := repos[i%2].Upsert(ctx, "pair", func(cur *counter) (*counter, []events.Event, error) {
			if cur == nil {
				cur = &counter{}
			}
			cur.Value++
			if i%3 == 0 {
				return cur, nil, nil
			}
			return cur, []events.Event{counted{Value: cur.Value}, counted{Value: -cur.Value}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			want += 2
		}
	}

	settled(t, b1, "counters")
	w.checkOnce(t, want)
	if n, err := b1.StreamMessages(ctx, "DEI_STORETEST"); err != nil || n != uint64(want) {
		t.Fatalf("stream holds %d events (%v), want %d", n, err, want)
	}
	if got, err := r2.Get(ctx, "hot"); err != nil || got.Value != writers*each {
		t.Fatalf("hot = %+v, %v", got, err)
	}
}

// TestTwoRelaysPublishAnOrphanOnce leaves many outboxes behind (writers
// that never publish) and lets two relays race for them once the leases
// end: the claims let exactly one publish each event.
func TestTwoRelaysPublishAnOrphanOnce(t *testing.T) {
	srv := testkit.NATS(t)
	w := watchWire(t, srv.URL())
	ctx := context.Background()
	crashed := repo(t, connect(t, srv.URL()), true)
	const orphans = 200
	for i := range orphans {
		if err := crashed.Create(ctx, fmt.Sprintf("o%d", i), &counter{}, counted{Value: i}); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.distinct(); n != 0 {
		t.Fatalf("%d events published by writers that defer", n)
	}
	b1, b2 := connect(t, srv.URL()), connect(t, srv.URL())
	// Two relays on one durable would split the work; two durables make
	// both see every revision and race for every entry.
	for i, b := range []*bus.Bus{b1, b2} {
		r, err := store.New[counter](ctx, b, store.JSONCodec[counter]{}, store.Options{Bucket: "counters", Lease: testLease})
		if err != nil {
			t.Fatal(err)
		}
		run, err := store.StartRelayAs(ctx, r, fmt.Sprintf("relay-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = run.Stop(context.Background()) })
	}
	testkit.Eventually(t, 30*time.Second, "every orphan published", func() bool { return w.distinct() == orphans })
	for _, durable := range []string{"relay-0", "relay-1"} {
		cons, err := b1.JetStream().Consumer(ctx, "KV_counters", durable)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 30*time.Second, durable+" idle", func() bool {
			ci, err := cons.Info(ctx)
			return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
		})
	}
	w.checkOnce(t, orphans)
	if n, _ := b1.StreamMessages(ctx, "DEI_STORETEST"); n != orphans {
		t.Fatalf("stream holds %d events, want %d", n, orphans)
	}
}

// TestBatchPublishesManyWritesOnce writes many aggregates under one batch:
// their events are published together, once each, and every outbox is
// cleared.
func TestBatchPublishesManyWritesOnce(t *testing.T) {
	srv := testkit.NATS(t)
	w := watchWire(t, srv.URL())
	b := connect(t, srv.URL())
	// The default lease: a test lease of a second is shorter than the
	// thousand writes take on a loaded machine.
	r, err := store.New[counter](context.Background(), b, store.JSONCodec[counter]{}, store.Options{Bucket: "counters"})
	if err != nil {
		t.Fatal(err)
	}
	startRelay(t, r)
	ctx := context.Background()
	bt := store.NewBatch(b, store.BatchOptions{MaxEvents: 300})
	bctx := store.WithBatch(ctx, bt)
	const n = 1000
	for i := range n {
		if err := r.Create(bctx, fmt.Sprintf("b%d", i), &counter{Value: i}, counted{Value: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := bt.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := b.StreamMessages(ctx, "DEI_STORETEST"); err != nil || got != n {
		t.Fatalf("stream holds %d events after Flush (%v), want %d", got, err, n)
	}
	settled(t, b, "counters")
	w.checkOnce(t, n)
}
