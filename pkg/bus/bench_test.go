//go:build linux || darwin

package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/testkit"
)

// Benchmarks of the platform bus against the plain JetStream client, side
// by side on one embedded server (see BENCHMARKS.md):
//
//	go test -run='^$' -bench='Publish|Consume' -benchtime=20000x -count=5 ./bus/
//
// Three paths per payload size:
//
//	platform  the bus: envelope, tracing, dedup id, PubAck / typed consumer
//	wire      the plain client sending or reading messages in the bus's wire
//	          format (CloudEvents headers, traceparent, Nats-Msg-Id) without
//	          any bus code: it separates the cost of the format from the cost
//	          of the code
//	raw       the plain client with the payload bytes only
//
// Every path and size owns a stream, and each run starts from a purged
// stream and a new durable consumer. msgs/s is b.N over the timed interval;
// cpu-ns/msg is the process's user+system CPU time over the same interval
// divided by b.N, which is less sensitive than wall time to other load on a
// shared machine. The embedded nats-server runs in the benchmark process, so
// its CPU time and allocations are part of cpu-ns/msg, B/op and allocs/op.

// benchDeadline bounds one run (publishing or draining b.N messages): a
// stuck run fails instead of hanging.
const benchDeadline = 3 * time.Minute

// benchFillers is how many goroutines pre-publish the messages of a consume
// run (untimed set-up).
const benchFillers = 8

// benchKind selects a benchmark stream (one per path and size) and the
// payload size written to it.
type benchKind interface {
	service() string
	size() int
}

type (
	platform256 struct{}
	platform4K  struct{}
	wire256     struct{}
	wire4K      struct{}
	raw256      struct{}
	raw4K       struct{}
)

func (platform256) service() string { return "benchplatform256" }
func (platform4K) service() string  { return "benchplatform4k" }
func (wire256) service() string     { return "benchwire256" }
func (wire4K) service() string      { return "benchwire4k" }
func (raw256) service() string      { return "benchraw256" }
func (raw4K) service() string       { return "benchraw4k" }
func (platform256) size() int       { return 256 }
func (platform4K) size() int        { return 4096 }
func (wire256) size() int           { return 256 }
func (wire4K) size() int            { return 4096 }
func (raw256) size() int            { return 256 }
func (raw4K) size() int             { return 4096 }

// benchEvent's JSON encoding is exactly K's size (see newBenchEvent).
type benchEvent[K benchKind] struct {
	Pad string `json:"pad"`
}

func (benchEvent[K]) EventSpec() events.Spec {
	var k K
	return events.Spec{Service: k.service(), Entity: "load", Action: "measured", Version: 1, Summary: "benchmark payload"}
}

func newBenchEvent[K benchKind](b *testing.B) (benchEvent[K], []byte) {
	b.Helper()
	var k K
	ev := benchEvent[K]{Pad: strings.Repeat("x", k.size()-len(`{"pad":""}`))}
	data, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	if len(data) != k.size() {
		b.Fatalf("payload is %d bytes, want %d", len(data), k.size())
	}
	return ev, data
}

// benchEnv is one embedded JetStream server with a platform bus and a plain
// client connection on it.
type benchEnv struct {
	bus *bus.Bus
	js  jetstream.JetStream
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	srv := testkit.NATS(b)
	// Sample every span, export none: span creation is paid in full, nothing
	// leaves the process.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	pb, err := bus.Connect(ctx, bus.Options{
		Name:   "bench",
		Source: "deiops/bench",
		// The defaults of config.NATS.
		NATS: config.NATS{
			URL: srv.URL(), Replicas: 1, DuplicateWindow: 2 * time.Minute, MaxAge: 8760 * time.Hour,
			PublishAttempts: 8, AckWait: 30 * time.Second, MaxDeliver: 5,
			Backoff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute},
		},
		TracerProvider: tp,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = pb.Close(ctx)
	})
	// The bus provisions every stream, so all paths write to streams with
	// the same configuration (file storage, 2-minute duplicate window).
	cat, err := events.NewCatalog(
		benchEvent[platform256]{}, benchEvent[platform4K]{},
		benchEvent[wire256]{}, benchEvent[wire4K]{},
		benchEvent[raw256]{}, benchEvent[raw4K]{},
	)
	if err != nil {
		b.Fatal(err)
	}
	if err := pb.Provision(ctx, cat); err != nil {
		b.Fatal(err)
	}
	_, js := testkit.Connect(b, srv.URL())
	return &benchEnv{bus: pb, js: js}
}

func (e *benchEnv) purge(b *testing.B, stream string) {
	b.Helper()
	s, err := e.js.Stream(context.Background(), stream)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Purge(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func (e *benchEnv) expectStored(b *testing.B, stream string, want int) {
	b.Helper()
	n, err := e.bus.StreamMessages(context.Background(), stream)
	if err != nil {
		b.Fatal(err)
	}
	if n != uint64(want) {
		b.Fatalf("stream %s holds %d messages, want %d", stream, n, want)
	}
}

// wireMessages returns n messages in the bus's wire format carrying data:
// the CloudEvents headers of one envelope, a sampled traceparent and a
// distinct message id each (the same headers Bus.Publish writes).
func wireMessages(b *testing.B, ev events.Event, data []byte, n int) []*nats.Msg {
	b.Helper()
	env, err := events.New(ev, "deiops/bench", "entity", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	tmpl := nats.Header{}
	env.Encode(tmpl)
	tmpl["traceparent"] = []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		h := make(nats.Header, len(tmpl)+1)
		for k, v := range tmpl {
			h[k] = v
		}
		h[jetstream.MsgIDHeader] = []string{uuid.NewString()}
		msgs[i] = &nats.Msg{Subject: env.Topic, Header: h, Data: data}
	}
	return msgs
}

// fill publishes n messages with publish(ctx, i), i in [0, n), from
// benchFillers goroutines.
func fill(b *testing.B, n int, publish func(ctx context.Context, i int) error) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchDeadline)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchFillers)
	for range benchFillers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := publish(ctx, int(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// processCPU is the user+system CPU time of the whole process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, cpu time.Duration) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "msgs/s")
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/msg")
}

// waitAllAcked waits until the server holds every message of a consumer as
// acknowledged (acks are fire-and-forget on every path).
func waitAllAcked(b *testing.B, js jetstream.JetStream, stream, durable string, want int) {
	b.Helper()
	ctx := context.Background()
	cons, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		b.Fatal(err)
	}
	testkit.Eventuallyf(b, 30*time.Second, func() bool {
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 && ci.AckFloor.Consumer == uint64(want)
	}, "consumer %s: every message acknowledged", durable)
}

func deleteConsumer(b *testing.B, js jetstream.JetStream, stream, durable string) {
	b.Helper()
	if err := js.DeleteConsumer(context.Background(), stream, durable); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPublish(b *testing.B) {
	e := newBenchEnv(b)
	b.Run("platform/256B", func(b *testing.B) { benchPublishPlatform[platform256](b, e) })
	b.Run("wire/256B", func(b *testing.B) { benchPublishWire[wire256](b, e) })
	b.Run("raw/256B", func(b *testing.B) { benchPublishRaw[raw256](b, e) })
	b.Run("platform/4KiB", func(b *testing.B) { benchPublishPlatform[platform4K](b, e) })
	b.Run("wire/4KiB", func(b *testing.B) { benchPublishWire[wire4K](b, e) })
	b.Run("raw/4KiB", func(b *testing.B) { benchPublishRaw[raw4K](b, e) })
}

// timePublish times publish(ctx, i) for i in [0, b.N), each call returning
// after its PubAck, and checks that the stream stored every message.
func timePublish(b *testing.B, e *benchEnv, stream string, publish func(ctx context.Context, i int) error) {
	b.StopTimer()
	e.purge(b, stream)
	ctx := context.Background()
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	cpu := processCPU(b)
	b.StartTimer()
	for i := range b.N {
		if err := publish(ctx, i); err != nil {
			b.Fatalf("publish %d: %v", i, err)
		}
	}
	b.StopTimer()
	report(b, processCPU(b)-cpu)
	e.expectStored(b, stream, b.N)
}

// benchPublishPlatform: Bus.Publish (envelope, producer span and trace
// headers, Nats-Msg-Id, PubAck awaited).
func benchPublishPlatform[K benchKind](b *testing.B, e *benchEnv) {
	ev, _ := newBenchEvent[K](b)
	timePublish(b, e, ev.EventSpec().Stream(), func(ctx context.Context, _ int) error {
		_, err := e.bus.Publish(ctx, ev, "entity")
		return err
	})
}

// benchPublishWire: jetstream.PublishMsg of a message in the bus's wire
// format built beforehand (PubAck awaited).
func benchPublishWire[K benchKind](b *testing.B, e *benchEnv) {
	ev, data := newBenchEvent[K](b)
	msgs := wireMessages(b, ev, data, b.N)
	timePublish(b, e, ev.EventSpec().Stream(), func(ctx context.Context, i int) error {
		_, err := e.js.PublishMsg(ctx, msgs[i])
		return err
	})
}

// benchPublishRaw: jetstream.Publish of the same payload bytes, no headers
// (PubAck awaited).
func benchPublishRaw[K benchKind](b *testing.B, e *benchEnv) {
	ev, data := newBenchEvent[K](b)
	subject := ev.EventSpec().Subject()
	timePublish(b, e, ev.EventSpec().Stream(), func(ctx context.Context, _ int) error {
		_, err := e.js.Publish(ctx, subject, data)
		return err
	})
}

func BenchmarkConsume(b *testing.B) {
	e := newBenchEnv(b)
	b.Run("platform/256B", func(b *testing.B) { benchConsumePlatform[platform256](b, e) })
	b.Run("wire/256B", func(b *testing.B) { benchConsumeWire[wire256](b, e) })
	b.Run("raw/256B", func(b *testing.B) { benchConsumeRaw[raw256](b, e) })
	b.Run("platform/4KiB", func(b *testing.B) { benchConsumePlatform[platform4K](b, e) })
	b.Run("wire/4KiB", func(b *testing.B) { benchConsumeWire[wire4K](b, e) })
	b.Run("raw/4KiB", func(b *testing.B) { benchConsumeRaw[raw4K](b, e) })
}

// benchConsumePlatform times a bus.Consumer (Concurrency 1, typed handler,
// in-memory dedup, tracing, ack) draining b.N events published through the
// bus. The timed interval starts with Bus.Start (the consumer is created
// there) and ends when the handler has seen the last event.
func benchConsumePlatform[K benchKind](b *testing.B, e *benchEnv) {
	b.StopTimer()
	const durable = "bench-platform"
	ev, _ := newBenchEvent[K](b)
	stream := ev.EventSpec().Stream()
	e.purge(b, stream)
	fill(b, b.N, func(ctx context.Context, _ int) error {
		_, err := e.bus.Publish(ctx, ev, "entity")
		return err
	})
	e.expectStored(b, stream, b.N)

	want := int64(b.N)
	var handled atomic.Int64
	done := make(chan struct{})
	// The dedup window has the size Start would give it but is allocated
	// here: it is a cost per consumer, not per message.
	c := &bus.Consumer{Name: durable, Concurrency: 1, Dedup: bus.NewMemoryDedup(100_000)}
	bus.On(c, func(_ context.Context, _ events.Envelope, got benchEvent[K]) error {
		if len(got.Pad) != len(ev.Pad) {
			return bus.Permanent(fmt.Errorf("payload of %d bytes, want %d", len(got.Pad), len(ev.Pad)))
		}
		if handled.Add(1) == want {
			close(done)
		}
		return nil
	})
	ctx := context.Background()
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	cpu := processCPU(b)
	b.StartTimer()
	r, err := e.bus.Start(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(benchDeadline):
		b.Fatalf("handled %d of %d events within %s", handled.Load(), want, benchDeadline)
	}
	b.StopTimer()
	report(b, processCPU(b)-cpu)

	waitAllAcked(b, e.js, stream, durable, b.N)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.Stop(sctx); err != nil {
		b.Fatal(err)
	}
	if n, _ := e.bus.StreamMessages(ctx, events.DeadLetterStream); n != 0 {
		b.Fatalf("%d dead letters", n)
	}
	deleteConsumer(b, e.js, stream, durable)
}

// benchConsumeWire: the plain client draining b.N events published through
// the bus (CloudEvents headers, traceparent), without decoding them.
func benchConsumeWire[K benchKind](b *testing.B, e *benchEnv) {
	b.StopTimer()
	ev, _ := newBenchEvent[K](b)
	timeRawConsume[K](b, e, "bench-wire", func(ctx context.Context, _ int) error {
		_, err := e.bus.Publish(ctx, ev, "entity")
		return err
	})
}

// benchConsumeRaw: the plain client draining b.N messages holding only the
// payload bytes.
func benchConsumeRaw[K benchKind](b *testing.B, e *benchEnv) {
	b.StopTimer()
	ev, data := newBenchEvent[K](b)
	subject := ev.EventSpec().Subject()
	timeRawConsume[K](b, e, "bench-raw", func(ctx context.Context, _ int) error {
		_, err := e.js.Publish(ctx, subject, data)
		return err
	})
}

// timeRawConsume pre-publishes b.N messages with publish, then times a
// durable pull consumer with the configuration the bus would give it,
// iterated with Messages, Next and Ack in one goroutine. The timed interval
// starts with the consumer's creation and ends after the last Ack.
func timeRawConsume[K benchKind](b *testing.B, e *benchEnv, durable string, publish func(ctx context.Context, i int) error) {
	b.Helper()
	var k K
	spec := benchEvent[K]{}.EventSpec()
	stream := spec.Stream()
	e.purge(b, stream)
	fill(b, b.N, publish)
	e.expectStored(b, stream, b.N)

	// The server-side consumer configuration of a bus.Consumer.
	shape := &bus.Consumer{Name: durable}
	bus.On(shape, func(context.Context, events.Envelope, benchEvent[K]) error { return nil })
	cfg := e.bus.ConsumerConfig(shape)

	ctx := context.Background()
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	cpu := processCPU(b)
	b.StartTimer()
	cons, err := e.js.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		b.Fatal(err)
	}
	// A stuck Next ends with ErrMsgIteratorClosed.
	watchdog := time.AfterFunc(benchDeadline, it.Stop)
	for i := range b.N {
		m, err := it.Next()
		if err != nil {
			b.Fatalf("message %d of %d: %v", i+1, b.N, err)
		}
		if len(m.Data()) != k.size() {
			b.Fatalf("message %d: %d bytes, want %d", i+1, len(m.Data()), k.size())
		}
		if err := m.Ack(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	watchdog.Stop()
	report(b, processCPU(b)-cpu)

	waitAllAcked(b, e.js, stream, durable, b.N)
	it.Stop()
	deleteConsumer(b, e.js, stream, durable)
}
