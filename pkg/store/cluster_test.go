package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
)

// ledger is an aggregate that remembers every operation applied to it, so
// that a lost or doubled write shows in its state.
type ledger struct {
	Ops []string `json:"ops"`
}

// appended is the event of one operation on a ledger.
type appended struct {
	Op string `json:"op"`
}

func (appended) EventSpec() events.Spec {
	return events.Spec{Service: "storecluster", Entity: "ledger", Action: "appended", Version: 1, Summary: "test"}
}

const (
	clusterBucket = "ledgers"
	clusterStream = "DEI_STORECLUSTER"
	// clusterLease is short so that events whose writer lost its answer in
	// the failover are relayed within the test, and long enough that a
	// writer's own publish, slowed by the failover, usually fits in half.
	clusterLease = 3 * time.Second
	// opAttempt bounds one attempt of an operation; the bus bounds each
	// broker round trip to 5 s within it.
	opAttempt = 10 * time.Second
	// opGiveUp is how long a writer retries one operation before it fails
	// the test: far longer than any failover should take.
	opGiveUp = 30 * time.Second
)

// clusterBus connects to every node of the cluster with R3 streams and
// buckets and the production duplicate window (the bus default). An ack
// the relay sent as the node went away may be lost with it, and the
// revision comes back only after AckWait: a short one keeps that within
// the test (the production 30 s would outlast its wait for the relay).
func clusterBus(t testing.TB, url string) *bus.Bus {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Connect(ctx, bus.Options{Source: "/storecluster", NATS: config.NATS{URL: url, Replicas: 3, AckWait: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	cat, err := events.NewCatalog(appended{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx, cat); err != nil {
		t.Fatal(err)
	}
	return b
}

func clusterRepo(t testing.TB, b *bus.Bus) *store.Repo[ledger] {
	t.Helper()
	r, err := store.New[ledger](context.Background(), b, store.JSONCodec[ledger]{}, store.Options{Bucket: clusterBucket, Lease: clusterLease})
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.StartRelay(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Stop(context.Background()) })
	return r
}

// journal is what the writers saw: every operation they attempted (and on
// which record), which ones they saw succeed and when, and the errors on
// the way.
type journal struct {
	mu        sync.Mutex
	attempted map[string]string // op -> record
	succeeded map[string]string // op -> record
	at        []time.Time       // when each success was seen
	failures  int
	errs      map[string]int // the end of each error (its cause), for the log
	notFound  int            // an Update of a record whose Create had succeeded said ErrNotFound
}

func newJournal() *journal {
	return &journal{attempted: map[string]string{}, succeeded: map[string]string{}, errs: map[string]int{}}
}

func (j *journal) attempt(op, id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.attempted[op] = id
}

func (j *journal) succeed(op, id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.succeeded[op] = id
	j.at = append(j.at, time.Now())
}

func (j *journal) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.failures++
	if errors.Is(err, store.ErrNotFound) {
		j.notFound++
	}
	msg := err.Error()
	j.errs[msg[max(0, len(msg)-70):]]++
}

// since counts the successes seen after t.
func (j *journal) since(t time.Time) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.at) - sort.Search(len(j.at), func(i int) bool { return j.at[i].After(t) })
}

// longestGap is the longest time between two successes (or from..to and
// the nearest success) within [from, to]: how long writes stalled.
func (j *journal) longestGap(from, to time.Time) time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	prev, gap := from, time.Duration(0)
	for _, at := range j.at {
		if at.Before(from) || at.After(to) {
			continue
		}
		gap = max(gap, at.Sub(prev))
		prev = at
	}
	return max(gap, to.Sub(prev))
}

// writer applies operations to its own ledgers and to a ledger every
// writer shares, retrying each until it succeeds, as a client that keeps
// its request (and its ids) across errors does.
type writer struct {
	name string
	repo *store.Repo[ledger]
	j    *journal
	hot  string
	own  []string
}

func (w *writer) run(ctx context.Context, t *testing.T) {
	for n := 0; ctx.Err() == nil; n++ {
		op := fmt.Sprintf("%s-%d", w.name, n)
		var err error
		switch {
		case n%10 == 0:
			id := fmt.Sprintf("%s-r%d", w.name, n)
			if err = w.complete(op, id, w.create(id, op)); err == nil {
				w.own = append(w.own, id)
			}
		case n%3 == 0:
			err = w.complete(op, w.hot, w.update(w.hot, op))
		default:
			id := w.own[n%len(w.own)]
			err = w.complete(op, id, w.update(id, op))
		}
		if err != nil {
			t.Error(err)
			return
		}
	}
}

// complete retries one operation until it succeeds or opGiveUp passes.
func (w *writer) complete(op, id string, try func(ctx context.Context, attempt int) error) error {
	w.j.attempt(op, id)
	giveUp := time.Now().Add(opGiveUp)
	pause := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), opAttempt)
		err := try(ctx, attempt)
		cancel()
		if err == nil {
			w.j.succeed(op, id)
			return nil
		}
		w.j.fail(err)
		if time.Now().After(giveUp) {
			return fmt.Errorf("%s: operation %s on %s still failing after %s: %w", w.name, op, id, opGiveUp, err)
		}
		// A client's retry pause: not a wait for some state, which the
		// next attempt observes itself.
		time.Sleep(pause)
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// create creates ledger id holding op. A retry that finds the ledger is
// the retry of an attempt that landed but whose answer was lost: ids are
// the writer's own.
func (w *writer) create(id, op string) func(context.Context, int) error {
	return func(ctx context.Context, attempt int) error {
		err := w.repo.Create(ctx, id, &ledger{Ops: []string{op}}, appended{Op: op})
		if errors.Is(err, store.ErrExists) && attempt > 0 {
			return nil
		}
		return err
	}
}

// update appends op to ledger id, once: a retry that finds op there
// already (an attempt that landed) changes nothing and emits nothing.
func (w *writer) update(id, op string) func(context.Context, int) error {
	return func(ctx context.Context, _ int) error {
		return w.repo.Update(ctx, id, func(l *ledger) ([]events.Event, error) {
			if slices.Contains(l.Ops, op) {
				return nil, nil
			}
			l.Ops = append(l.Ops, op)
			return []events.Event{appended{Op: op}}, nil
		})
	}
}

// TestClusterNodeLossLosesNothingAndDoublesNothing runs the production
// topology — three JetStream nodes, R3 bucket and streams, two processes
// each with its relay — under a stream of writes, kills the node leading
// the bucket's stream midway, keeps writing and restarts it. Every
// operation a writer saw succeed must be stored exactly once, every stored
// operation's event must be in the event stream exactly once, the writers
// must keep serving while the node is away, and the cluster must take
// writes after it returned.
func TestClusterNodeLossLosesNothingAndDoublesNothing(t *testing.T) {
	cl := testkit.NATSCluster(t, 3)
	b1, b2 := clusterBus(t, cl.URL), clusterBus(t, cl.URL)
	repos := []*store.Repo[ledger]{clusterRepo(t, b1), clusterRepo(t, b2)}
	ctx := context.Background()

	// Watch the wire from every node; the watcher on a node that stays up
	// sees every publication the writers and relays make, JetStream's
	// de-duplication aside.
	wires := make([]*wire, cl.Nodes().Nodes())
	for i := range wires {
		wires[i] = watchWire(t, cl.Nodes().Node(i).URL())
	}

	const hot = "hot"
	if err := repos[0].Create(ctx, hot, &ledger{}); err != nil {
		t.Fatal(err)
	}
	j := newJournal()
	wctx, stopWriters := context.WithCancel(ctx)
	var writers sync.WaitGroup
	for i := range 6 {
		wr := &writer{name: fmt.Sprintf("w%d", i), repo: repos[i%2], j: j, hot: hot}
		writers.Go(func() { wr.run(wctx, t) })
	}

	start := time.Now()
	testkit.Eventually(t, 30*time.Second, "writes before the kill", func() bool {
		return time.Since(start) > 4*time.Second && j.since(start) >= 30
	})
	victim := kvLeader(t, cl)
	killed := time.Now()
	cl.Kill(victim)
	shutdown := time.Since(killed)
	next := kvLeader(t, cl)
	t.Logf("killed node %d (leader of KV_%s) after %d successful operations (its shutdown took %s); node %d leads it %s after the kill began",
		victim, clusterBucket, j.since(start), shutdown.Round(time.Millisecond), next, time.Since(killed).Round(time.Millisecond))
	// Long enough to outlast the requests the kill cut off (nothing
	// answers them: they wait out their attempt's deadline) and to see the
	// writers at work on two nodes.
	testkit.Eventually(t, 45*time.Second, "writes with a node down", func() bool {
		return time.Since(killed) > 8*time.Second && j.since(killed) >= 60
	})
	down := j.since(killed)
	restartAt := time.Now()
	cl.Restart(victim)
	restarted := time.Now()
	testkit.Eventually(t, 45*time.Second, "writes after the restart", func() bool {
		return time.Since(restarted) > 3*time.Second && j.since(restarted) >= 30
	})
	stopWriters()
	writers.Wait()
	stopped := time.Now()
	t.Logf("%d successful operations with the node down, %d after its restart (rejoined in %s); writes stalled at most %s after the kill, %s after the restart",
		down, j.since(restarted), restarted.Sub(restartAt).Round(time.Millisecond),
		j.longestGap(killed, restartAt).Round(time.Millisecond), j.longestGap(restarted, stopped).Round(time.Millisecond))

	finalWrite(t, repos[0], j)
	final := time.Now()
	settled(t, b1, clusterBucket)
	t.Logf("phases: %s writing on three nodes, %s on two, %s rejoining, %s on three again; final write %s, relay settled %s",
		killed.Sub(start).Round(time.Millisecond), restartAt.Sub(killed).Round(time.Millisecond),
		restarted.Sub(restartAt).Round(time.Millisecond), stopped.Sub(restarted).Round(time.Millisecond),
		final.Sub(stopped).Round(time.Millisecond), time.Since(final).Round(time.Millisecond))
	checkLedgers(t, repos[0], j)
	checkEvents(t, b1, j, wires[(victim+1)%len(wires)])
}

// kvLeader is the node leading the bucket's stream.
func kvLeader(t *testing.T, cl *testkit.Cluster) int {
	t.Helper()
	leader := -1
	testkit.Eventually(t, 20*time.Second, "a leader of KV_"+clusterBucket, func() bool {
		leader = cl.StreamLeader("KV_" + clusterBucket)
		return leader >= 0
	})
	return leader
}

// finalWrite checks the restored cluster takes a new ledger and a change
// of it within a deadline.
func finalWrite(t *testing.T, r *store.Repo[ledger], j *journal) {
	t.Helper()
	wr := &writer{name: "final", repo: r, j: j}
	j.attempt("final-0", "final")
	j.attempt("final-1", "final")
	created, updated, tries := false, false, 0
	testkit.Eventually(t, 20*time.Second, "a write to the restored cluster", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !created {
			created = wr.create("final", "final-0")(ctx, tries) == nil
			tries++
		}
		if created && !updated {
			updated = wr.update("final", "final-1")(ctx, 0) == nil
		}
		return created && updated
	})
	j.succeed("final-0", "final")
	j.succeed("final-1", "final")
}

// checkLedgers fails the test for an operation seen to succeed but not
// stored, or stored twice, or stored on a ledger nobody applied it to.
func checkLedgers(t *testing.T, r *store.Repo[ledger], j *journal) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	records, err := latestValues(ctx, r.KV())
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for id, e := range records {
		state, err := store.StateOf(e.Value())
		if err != nil {
			t.Fatalf("ledger %s: %v", id, err)
		}
		var l ledger
		if err := json.Unmarshal(state, &l); err != nil {
			t.Fatalf("ledger %s: %v", id, err)
		}
		for _, op := range l.Ops {
			stored[op]++
			if j.attempted[op] != id {
				t.Errorf("ledger %s holds %s, applied to %q", id, op, j.attempted[op])
			}
		}
	}
	for op, id := range j.succeeded {
		if stored[op] == 0 {
			t.Errorf("operation %s on %s succeeded but is not stored", op, id)
		}
	}
	for op, n := range stored {
		if n != 1 {
			t.Errorf("operation %s stored %d times", op, n)
		}
	}
	t.Logf("%d operations attempted, %d seen to succeed, %d stored; %d failed attempts retried (%d said not found), errors: %v",
		len(j.attempted), len(j.succeeded), len(stored), j.failures, j.notFound, j.errs)
}

// checkEvents reads the event stream back: every stored operation's event
// is there once, under one message id, and nothing else is.
func checkEvents(t *testing.T, b *bus.Bus, j *journal, w *wire) {
	t.Helper()
	byOp, byID := readEvents(t, b.JetStream())
	for id, n := range byID {
		if n != 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
	}
	ops := 0
	for op, id := range j.succeeded {
		ops++
		if byOp[op] != 1 {
			t.Errorf("operation %s on %s has %d events, want 1", op, id, byOp[op])
		}
	}
	for op := range byOp {
		if _, ok := j.attempted[op]; !ok {
			t.Errorf("event for operation %s nobody applied", op)
		}
	}
	doubled := 0
	w.mu.Lock()
	for _, n := range w.seen {
		if n > 1 {
			doubled++
		}
	}
	published := len(w.seen)
	w.mu.Unlock()
	t.Logf("%d events in %s for %d operations; on the wire %d distinct events, %d sent more than once (absorbed by the duplicate window)",
		len(byID), clusterStream, ops, published, doubled)
}

// countEvent counts one event of the stream by operation and by message id.
func countEvent(t *testing.T, m jetstream.Msg, byOp, byID map[string]int) {
	t.Helper()
	id := m.Headers().Get(jetstream.MsgIDHeader)
	if ce := m.Headers().Get(events.HeaderID); ce != id {
		t.Errorf("event %s published under message id %s", ce, id)
	}
	var ev appended
	if err := json.Unmarshal(m.Data(), &ev); err != nil {
		t.Fatalf("event %s: %v", id, err)
	}
	byID[id]++
	byOp[ev.Op]++
}

// readEvents counts the stream's events by operation and by Nats-Msg-Id.
func readEvents(t *testing.T, js jetstream.JetStream) (byOp, byID map[string]int) {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, clusterStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	byOp, byID = map[string]int{}, map[string]int{}
	read := uint64(0)
	// A fetch may come back empty while the consumer settles on a cluster
	// that just changed leaders: fetch again until every event is in.
	testkit.Eventuallyf(t, 30*time.Second, func() bool {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Logf("fetch events: %v", err)
			return false
		}
		got := 0
		for m := range batch.Messages() {
			got++
			countEvent(t, m, byOp, byID)
		}
		if got == 0 {
			t.Logf("fetch events: none after %d of %d (%v)", read, info.State.Msgs, batch.Error())
		}
		read += uint64(got)
		return read >= info.State.Msgs
	}, "all %d events read back", info.State.Msgs)
	return byOp, byID
}
