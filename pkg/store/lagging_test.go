package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
)

// laggingKV reads like a replica of an R3 bucket that has not applied the
// latest writes yet: any replica answers a KV read (direct get), and one
// that lags answers with an older revision or does not find a new key.
type laggingKV struct {
	jetstream.KeyValue
	// asOf is what the replica holds per key: an older entry, or nil for
	// a key it has not seen created.
	asOf map[string]jetstream.KeyValueEntry
}

func (l laggingKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if e, ok := l.asOf[key]; ok {
		if e == nil {
			return nil, jetstream.ErrKeyNotFound
		}
		return e, nil
	}
	return l.KeyValue.Get(ctx, key)
}

// A relay whose reads come from a lagging replica still publishes what a
// writer left: the revision it was delivered is the proof the write
// happened, whatever the replica says. Before, it took "not found" for a
// deleted key and an older revision for a superseded one, acknowledged
// the revision and left the events in the outbox for good.
func TestRelayReadingALaggingReplicaStillPublishes(t *testing.T) {
	srv := testkit.NATS(t)
	w := watchWire(t, srv.URL())
	ctx := context.Background()
	// A writer whose answers were lost (a failover): it never publishes.
	lost := repo(t, connect(t, srv.URL()), true)
	if err := lost.Create(ctx, "old", &counter{}); err != nil {
		t.Fatal(err)
	}
	before, err := lost.KV().Get(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := lost.Update(ctx, "old", increment); err != nil {
		t.Fatal(err)
	}
	if err := lost.Create(ctx, "new", &counter{}, counted{Value: 1}); err != nil {
		t.Fatal(err)
	}

	b := connect(t, srv.URL())
	relay := repo(t, b, false)
	store.WrapKV(relay, func(kv jetstream.KeyValue) jetstream.KeyValue {
		return laggingKV{KeyValue: kv, asOf: map[string]jetstream.KeyValueEntry{"old": before, "new": nil}}
	})
	startRelay(t, relay)

	testkit.Eventually(t, 20*time.Second, "both left events published", func() bool { return w.distinct() == 2 })
	settled(t, b, "counters")
	w.checkOnce(t, 2)
	if n, err := b.StreamMessages(ctx, "DEI_STORETEST"); err != nil || n != 2 {
		t.Fatalf("stream holds %d events (%v), want 2", n, err)
	}
}
