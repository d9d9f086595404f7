package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/testkit"
)

type pinged struct {
	N int `json:"n" desc:"sequence number"`
}

func (pinged) EventSpec() events.Spec {
	return events.Spec{Service: "bustest", Entity: "ping", Action: "sent", Version: 1, Summary: "test event"}
}

type ponged struct {
	N int `json:"n"`
}

func (ponged) EventSpec() events.Spec {
	return events.Spec{Service: "bustest", Entity: "pong", Action: "sent", Version: 1, Summary: "another test event"}
}

func natsConfig(url string) config.NATS {
	return config.NATS{
		URL: url, Replicas: 1, DuplicateWindow: 2 * time.Minute, PublishAttempts: 50,
		AckWait: 2 * time.Second, MaxDeliver: 3, Backoff: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond},
	}
}

func newBus(t testing.TB, url string, mod ...func(*bus.Options)) *bus.Bus {
	t.Helper()
	o := bus.Options{Name: t.Name(), Source: "/test", NATS: natsConfig(url)}
	for _, m := range mod {
		m(&o)
	}
	b, err := bus.Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	cat, err := events.NewCatalog(pinged{}, ponged{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	return b
}

func stopOnCleanup(t testing.TB, r *bus.Running) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
}

func TestPublishCarriesCloudEventHeadersAndIsHandled(t *testing.T) {
	srv := testkit.NATS(t)
	tp, rec := testkit.Spans(t)
	b := newBus(t, srv.URL(), func(o *bus.Options) { o.TracerProvider = tp })
	ctx := context.Background()

	got := make(chan events.Envelope, 1)
	c := &bus.Consumer{Name: "roundtrip"}
	bus.On(c, func(ctx context.Context, env events.Envelope, p pinged) error {
		if p.N != 7 {
			return bus.Permanent(fmt.Errorf("n = %d", p.N))
		}
		got <- env
		return nil
	})
	r, err := b.Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, r)

	ctx, root := tp.Tracer("test").Start(ctx, "request")
	sent, err := b.Publish(ctx, pinged{N: 7}, "entity-1")
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	var env events.Envelope
	select {
	case env = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("event not handled")
	}
	if env.ID != sent.ID || env.Type != "org.deiops.bustest.ping.sent.v1" || env.Subject != "entity-1" || env.Source != "/test/bustest" {
		t.Fatalf("envelope = %+v", env)
	}

	// The stored message carries the binary-mode headers and the dedup id.
	s, err := b.JetStream().Stream(ctx, "DEI_BUSTEST")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "ce-subject", "ce-dataschema", "ce-dataclassification", "traceparent"} {
		if raw.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if raw.Header.Get(jetstream.MsgIDHeader) != sent.ID {
		t.Errorf("Nats-Msg-Id = %q, want the event id", raw.Header.Get(jetstream.MsgIDHeader))
	}

	// Producer and consumer spans share the request's trace.
	testkit.Eventually(t, 5*time.Second, "consumer span", func() bool {
		for _, sp := range rec.Ended() {
			if sp.SpanKind() == trace.SpanKindConsumer {
				return true
			}
		}
		return false
	})
	var kinds []trace.SpanKind
	for _, sp := range rec.Ended() {
		if sp.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %q in another trace", sp.Name())
		}
		kinds = append(kinds, sp.SpanKind())
		for _, a := range sp.Attributes() {
			if a.Key == "cloudevents.event_id" && a.Value.AsString() != sent.ID {
				t.Errorf("span %q event id %q", sp.Name(), a.Value.AsString())
			}
		}
	}
	if !containsKind(kinds, trace.SpanKindProducer) || !containsKind(kinds, trace.SpanKindConsumer) {
		t.Fatalf("span kinds %v: want producer and consumer", kinds)
	}
}

func containsKind(ks []trace.SpanKind, k trace.SpanKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func TestDuplicatePublishIsStoredOnceAndHandledOnce(t *testing.T) {
	srv := testkit.NATS(t)
	b := newBus(t, srv.URL())
	ctx := context.Background()
	env, err := events.New(pinged{N: 1}, "deiops/test", "x", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := b.PublishEnvelope(ctx, env, nil); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.StreamMessages(ctx, "DEI_BUSTEST")
	if err != nil || n != 1 {
		t.Fatalf("stream holds %d messages (err %v), want 1", n, err)
	}
}

// publishRaw puts a hand-made message on the stream, bypassing the envelope.
func publishRaw(t *testing.T, js jetstream.JetStream, subject string, hdr map[string]string, data string) {
	t.Helper()
	m := nats.NewMsg(subject)
	for k, v := range hdr {
		m.Header.Set(k, v)
	}
	m.Data = []byte(data)
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestPoisonAndMalformedMessagesAreDeadLetteredAndConsumerContinues(t *testing.T) {
	srv := testkit.NATS(t)
	b := newBus(t, srv.URL())
	ctx := context.Background()
	_, js := testkit.Connect(t, srv.URL())

	var handled atomic.Int64
	c := &bus.Consumer{Name: "poison"}
	bus.On(c, func(ctx context.Context, env events.Envelope, p pinged) error {
		if p.N < 0 {
			return errors.New("negative numbers always fail") // retryable, exhausts MaxDeliver
		}
		if p.N == 99 {
			return bus.Permanent(errors.New("rejected by rule"))
		}
		handled.Add(1)
		return nil
	})
	r, err := b.Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, r)

	good := func(id string) map[string]string {
		return map[string]string{"ce-id": id, "ce-source": "s", "ce-type": "org.deiops.bustest.ping.sent.v1", "ce-specversion": "1.0"}
	}
	subj := pinged{}.EventSpec().Subject()
	missingID := good("")
	delete(missingID, "ce-id")
	publishRaw(t, js, subj, missingID, `{"n":1}`)
	wrongVersion := good("a2")
	wrongVersion["ce-specversion"] = "0.3"
	publishRaw(t, js, subj, wrongVersion, `{"n":1}`)
	publishRaw(t, js, subj, good("a3"), `{"n":`)
	unknown := good("a4")
	unknown["ce-type"] = "org.deiops.bustest.ping.exploded.v1"
	publishRaw(t, js, subj, unknown, `{"n":1}`)
	publishRaw(t, js, subj, good("a5"), `{"n":"seven"}`)
	publishRaw(t, js, subj, good("a6"), `{"n":99}`)
	publishRaw(t, js, subj, good("a7"), `{"n":-1}`)
	for i := range 5 {
		publishRaw(t, js, subj, good(fmt.Sprintf("ok-%d", i)), `{"n":1}`)
	}

	testkit.Eventually(t, 15*time.Second, "good messages behind the poison ones", func() bool { return handled.Load() == 5 })
	testkit.Eventually(t, 15*time.Second, "seven dead letters", func() bool {
		n, _ := b.StreamMessages(ctx, events.DeadLetterStream)
		return n == 7
	})

	s, err := js.Stream(ctx, events.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"":   "missing ce-id",
		"a2": "unsupported ce-specversion",
		"a3": "not valid JSON",
		"a4": "no handler for event type",
		"a5": `does not fit its schema at "/n"`,
		"a6": "rejected by rule",
		"a7": "gave up after 3 deliveries",
	}
	for seq := uint64(1); seq <= 7; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		reason := m.Header.Get(bus.HeaderDLReason)
		id := m.Header.Get("ce-id")
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected dead letter %q: %s", id, reason)
			continue
		}
		if !strings.Contains(reason, w) {
			t.Errorf("dead letter %q reason %q, want it to mention %q", id, reason, w)
		}
		if m.Header.Get(bus.HeaderDLConsumer) != "poison" || m.Header.Get(bus.HeaderDLStream) != "DEI_BUSTEST" {
			t.Errorf("dead letter %q lacks its origin: %v", id, m.Header)
		}
		delete(want, id)
	}
	if len(want) != 0 {
		t.Errorf("missing dead letters for %v", want)
	}
}

func TestUnansweredLastDeliveryReachesDeadLetterThroughAdvisory(t *testing.T) {
	srv := testkit.NATS(t)
	b := newBus(t, srv.URL())
	ctx := context.Background()
	dl, err := b.StartDeadLetterer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, dl)

	// A consumer whose handler "crashes": it takes the message and never
	// answers, so JetStream redelivers until MaxDeliver and then advises.
	js := b.JetStream()
	cons, err := js.CreateOrUpdateConsumer(ctx, "DEI_BUSTEST", jetstream.ConsumerConfig{
		Durable: "crashy", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 100 * time.Millisecond, MaxDeliver: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(ctx, pinged{N: 3}, "x"); err != nil {
		t.Fatal(err)
	}
	taken := 0
	for taken < 2 {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for range batch.Messages() {
			taken++ // never acked
		}
	}
	// The server notices the exhausted message when it would deliver it a
	// third time, i.e. when a consumer instance asks for more.
	testkit.Eventually(t, 15*time.Second, "dead letter from advisory", func() bool {
		if batch, err := cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond)); err == nil {
			for range batch.Messages() {
			}
		}
		n, _ := b.StreamMessages(ctx, events.DeadLetterStream)
		return n == 1
	})
	s, _ := js.Stream(ctx, events.DeadLetterStream)
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Header.Get(bus.HeaderDLReason); !strings.Contains(r, "without an answer") || m.Header.Get(bus.HeaderDLConsumer) != "crashy" {
		t.Fatalf("dead letter headers %v", m.Header)
	}
}

func TestRetryableErrorIsRedeliveredThenSucceeds(t *testing.T) {
	srv := testkit.NATS(t)
	b := newBus(t, srv.URL())
	ctx := context.Background()
	var calls atomic.Int64
	done := make(chan struct{})
	c := &bus.Consumer{Name: "flaky"}
	bus.On(c, func(ctx context.Context, env events.Envelope, p pinged) error {
		if calls.Add(1) < 3 {
			return errors.New("dependency unavailable")
		}
		close(done)
		return nil
	})
	r, err := b.Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, r)
	if _, err := b.Publish(ctx, pinged{N: 1}, "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("handled %d times without success", calls.Load())
	}
	if n, _ := b.StreamMessages(ctx, events.DeadLetterStream); n != 0 {
		t.Fatalf("%d dead letters, want 0", n)
	}
}

func TestConsumerSkipsRedeliveredDuplicates(t *testing.T) {
	srv := testkit.NATS(t)
	b := newBus(t, srv.URL())
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	c := &bus.Consumer{Name: "dups", Dedup: bus.NewMemoryDedup(10)}
	bus.On(c, func(ctx context.Context, env events.Envelope, p pinged) error {
		mu.Lock()
		seen[env.ID]++
		mu.Unlock()
		return nil
	})
	r, err := b.Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, r)
	env, _ := events.New(pinged{N: 1}, "deiops/test", "x", time.Now())
	// Same event under two message ids: the stream stores both, the
	// consumer must handle it once.
	_, js := testkit.Connect(t, srv.URL())
	for i := range 2 {
		m := nats.NewMsg(env.Topic)
		m.Data = env.Encode(m.Header)
		if _, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(fmt.Sprintf("copy-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Publish(ctx, pinged{N: 2}, "y"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "both events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2
	})
	info, err := js.Consumer(ctx, "DEI_BUSTEST", "dups")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "all acked", func() bool {
		ci, err := info.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if seen[env.ID] != 1 {
		t.Fatalf("duplicate handled %d times", seen[env.ID])
	}
}

func TestConsumerRejectsTypesFromTwoStreams(t *testing.T) {
	c := &bus.Consumer{Name: "mixed"}
	bus.On(c, func(context.Context, events.Envelope, pinged) error { return nil })
	bus.On(c, func(context.Context, events.Envelope, internalEvt) error { return nil })
	srv := testkit.NATS(t)
	b := newBus(t, srv.URL())
	if _, err := b.Start(context.Background(), c); err == nil {
		t.Fatal("a consumer spanning two streams must be refused")
	}
}

type internalEvt struct{}

func (internalEvt) EventSpec() events.Spec {
	return events.Spec{Service: "bustest", Entity: "x", Action: "done", Version: 1, Internal: true, Summary: "internal"}
}

// TestBatchIsOneSpanWhoseContextEveryEventCarries: a batch started in a
// request's trace is one PRODUCER span of that trace, and each event
// without a trace context of its own carries the batch span's.
func TestBatchIsOneSpanWhoseContextEveryEventCarries(t *testing.T) {
	srv := testkit.NATS(t)
	tp, rec := testkit.Spans(t)
	b := newBus(t, srv.URL(), func(o *bus.Options) { o.TracerProvider = tp })
	ctx, root := tp.Tracer("test").Start(context.Background(), "wave")
	outs := make([]bus.Outgoing, 10)
	for i := range outs {
		env, err := events.New(pinged{N: i}, b.Source(), "wave", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = bus.Outgoing{Envelope: env}
	}
	if err := b.PublishAll(ctx, outs, bus.BatchOptions{MaxInFlight: 4}); err != nil {
		t.Fatal(err)
	}
	root.End()
	var batch []string
	for _, sp := range rec.Ended() {
		if sp.SpanKind() == trace.SpanKindProducer {
			if sp.Name() != "send batch" || sp.Parent().SpanID() != root.SpanContext().SpanID() {
				t.Errorf("producer span %q under %s", sp.Name(), sp.Parent().SpanID())
			}
			batch = append(batch, sp.SpanContext().SpanID().String())
		}
	}
	if len(batch) != 1 {
		t.Fatalf("%d producer spans, want one for the batch", len(batch))
	}
	s, err := b.JetStream().Stream(context.Background(), "DEI_BUSTEST")
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= uint64(len(outs)); seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		want := "00-" + root.SpanContext().TraceID().String() + "-" + batch[0] + "-01"
		if got := m.Header.Get("traceparent"); got != want {
			t.Errorf("event %d traceparent %q, want %q", seq, got, want)
		}
	}
}
