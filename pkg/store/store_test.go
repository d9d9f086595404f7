package store_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
)

type counter struct {
	Value int `json:"value"`
}

type counted struct {
	Value int `json:"value"`
}

func (counted) EventSpec() events.Spec {
	return events.Spec{Service: "storetest", Entity: "counter", Action: "incremented", Version: 1, Summary: "test"}
}

// minDuplicateWindow is the shortest window JetStream accepts (zero means
// its default of two minutes): a copy published later than that is stored
// twice, so the tests see any double the store makes.
const minDuplicateWindow = 100 * time.Millisecond

func connect(t testing.TB, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(context.Background(), bus.Options{Source: "/storetest", NATS: config.NATS{
		URL: url, Replicas: 1, DuplicateWindow: minDuplicateWindow, PublishAttempts: 10, AckWait: 5 * time.Second, MaxDeliver: 5,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	cat, _ := events.NewCatalog(counted{})
	if err := b.Provision(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	return b
}

// testLease keeps the tests that wait for a lease to end short.
const testLease = time.Second

func repo(t testing.TB, b *bus.Bus, deferPublish bool) *store.Repo[counter] {
	t.Helper()
	r, err := store.New[counter](context.Background(), b, store.JSONCodec[counter]{}, store.Options{Bucket: "counters", DeferPublish: deferPublish, Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func increment(c *counter) ([]events.Event, error) {
	c.Value++
	return []events.Event{counted{Value: c.Value}}, nil
}

func TestConcurrentUpdatesNeverLoseAWriteOrAnEvent(t *testing.T) {
	srv := testkit.NATS(t)
	b := connect(t, srv.URL())
	r := repo(t, b, false)
	ctx := context.Background()
	if err := r.Create(ctx, "c1", &counter{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(ctx, "c1", &counter{}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if err := r.Update(ctx, "c1", increment); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := r.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != writers*each {
		t.Fatalf("value %d, want %d", got.Value, writers*each)
	}
	n, err := b.StreamMessages(ctx, "DEI_STORETEST")
	if err != nil || n != writers*each {
		t.Fatalf("%d events published (err %v), want %d", n, err, writers*each)
	}
	if _, err := r.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if err := r.Update(ctx, "c1", func(*counter) ([]events.Event, error) { return nil, errors.New("refused") }); err == nil {
		t.Fatal("fn error must abort the update")
	}
}

// crashEnv makes the test binary act as a writer that dies right after the
// KV write, before anything is published.
const crashEnv = "DEIOPS_STORE_CRASH_NATS_URL"

func TestCrashBetweenWriteAndPublishIsRecoveredExactlyOnce(t *testing.T) {
	if url := os.Getenv(crashEnv); url != "" {
		b := connect(t, url)
		r := repo(t, b, true)
		if err := r.Upsert(context.Background(), "c9", func(*counter) (*counter, []events.Event, error) {
			return &counter{Value: 1}, []events.Event{counted{Value: 1}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		os.Exit(3) // the crash: no publish, no cleanup, no drain
	}

	srv := testkit.NATS(t)
	w := watchWire(t, srv.URL())
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashBetweenWriteAndPublishIsRecoveredExactlyOnce$")
	cmd.Env = append(os.Environ(), crashEnv+"="+srv.URL())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("writer did not crash as planned: %v\n%s", err, out)
	}

	b := connect(t, srv.URL())
	ctx := context.Background()
	if n, _ := b.StreamMessages(ctx, "DEI_STORETEST"); n != 0 {
		t.Fatalf("the crashed writer published %d events; the crash came too late", n)
	}

	var mu sync.Mutex
	got := map[string]int{}
	c := &bus.Consumer{Name: "after-crash"}
	bus.On(c, func(ctx context.Context, env events.Envelope, e counted) error {
		mu.Lock()
		got[env.ID]++
		mu.Unlock()
		return nil
	})
	run, err := b.Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Stop(context.Background()) })

	// The restarted process runs the relay.
	r := repo(t, b, false)
	relay, err := r.StartRelay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Stop(context.Background()) })

	testkit.Eventually(t, 20*time.Second, "the relayed event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	})
	// Wait until the relay has nothing left and the outbox is empty, then
	// check the event exists once in the stream and was handled once.
	cons, err := b.JetStream().Consumer(ctx, "KV_counters", "outbox-relay")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "relay idle", func() bool {
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	if n, _ := b.StreamMessages(ctx, "DEI_STORETEST"); n != 1 {
		t.Fatalf("stream holds %d events, want exactly 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range got {
		if n != 1 {
			t.Fatalf("event %s handled %d times", id, n)
		}
	}
	v, err := r.Get(ctx, "c9")
	if err != nil || v.Value != 1 {
		t.Fatalf("state after crash: %+v, %v", v, err)
	}
	settled(t, b, "counters")
	w.checkOnce(t, 1)
}

// Writers of one key in one process take turns: with a single attempt
// allowed, 40 concurrent increments still all land, because none loses a
// compare-and-set to another writer of the same process. Two repositories
// over the bucket (two processes) still race, and retries settle that.
func TestWritersOfOneKeyTakeTurnsInAProcess(t *testing.T) {
	srv := testkit.NATS(t)
	b := connect(t, srv.URL())
	ctx := context.Background()
	one, err := store.New[counter](ctx, b, store.JSONCodec[counter]{}, store.Options{Bucket: "turns", MaxRetries: 1, Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	if err := one.Create(ctx, "hot", &counter{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if err := one.Update(ctx, "hot", func(c *counter) ([]events.Event, error) { c.Value++; return nil, nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, err := one.Get(ctx, "hot"); err != nil || got.Value != 40 {
		t.Fatalf("value %+v, %v; want 40", got, err)
	}

	other, err := store.New[counter](ctx, b, store.JSONCodec[counter]{}, store.Options{Bucket: "turns", Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	again, err := store.New[counter](ctx, b, store.JSONCodec[counter]{}, store.Options{Bucket: "turns", Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*store.Repo[counter]{other, again} {
		wg.Go(func() {
			for range 20 {
				if err := r.Update(ctx, "hot", func(c *counter) ([]events.Event, error) { c.Value++; return nil, nil }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got, err := one.Get(ctx, "hot"); err != nil || got.Value != 80 {
		t.Fatalf("value %+v, %v; want 80", got, err)
	}
}

// A writer waiting its turn gives up when its context ends.
func TestWaitingForATurnEndsWithTheContext(t *testing.T) {
	srv := testkit.NATS(t)
	b := connect(t, srv.URL())
	r := repo(t, b, false)
	ctx := context.Background()
	if err := r.Create(ctx, "k", &counter{}); err != nil {
		t.Fatal(err)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = r.Update(ctx, "k", func(c *counter) ([]events.Event, error) { close(inside); <-release; return nil, nil })
	}()
	<-inside
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := r.Update(short, "k", increment); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting writer: %v, want deadline exceeded", err)
	}
	close(release)
	if err := r.Update(ctx, "k", increment); err != nil {
		t.Fatalf("after the turn: %v", err)
	}
}
