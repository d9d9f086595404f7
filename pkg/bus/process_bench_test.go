package bus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/deiops/deiops/pkg/events"
)

type benchPing struct {
	N   int    `json:"n"`
	Pad string `json:"pad"`
}

func (benchPing) EventSpec() events.Spec {
	return events.Spec{Service: "bustest", Entity: "ping", Action: "sent", Version: 1, Summary: "x"}
}

// fakeMsg is a delivered message without a server: it measures the
// consumer's own work per message.
type fakeMsg struct {
	jetstream.Msg
	hdr   nats.Header
	data  []byte
	meta  *jetstream.MsgMetadata
	acked int
}

func (m *fakeMsg) Headers() nats.Header                      { return m.hdr }
func (m *fakeMsg) Data() []byte                              { return m.data }
func (m *fakeMsg) Subject() string                           { return "dei.bustest.ping.sent" }
func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) { return m.meta, nil }
func (m *fakeMsg) Ack() error                                { m.acked++; return nil }

// BenchmarkProcess is the consumer's work on one message, server aside:
// decode, span, dedup, handler with typed decode, metrics, ack.
// serverlessBus is a Bus without a connection, with the telemetry of
// production: every span recorded, every measurement aggregated.
func serverlessBus(b *testing.B) *Bus {
	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	m, err := newMetrics(mp.Meter("bench"))
	if err != nil {
		b.Fatal(err)
	}
	o := withDefaults(Options{TracerProvider: tp, MeterProvider: mp})
	return &Bus{opts: o, log: o.Logger, tracer: tp.Tracer("bench"), prop: o.Propagator, m: m}
}

func BenchmarkProcess(b *testing.B) {
	bus := serverlessBus(b)
	c := &Consumer{Name: "bench", Dedup: NewMemoryDedup(100_000)}
	On(c, func(context.Context, events.Envelope, benchPing) error { return nil })
	p := newProcessor(bus, c)
	ctx := context.Background()
	pad := make([]byte, 200)
	for i := range pad {
		pad[i] = 'x'
	}
	msgs := make([]*fakeMsg, b.N)
	for i := range msgs {
		env, _ := events.New(benchPing{N: i, Pad: string(pad)}, "/bench", "e", time.Now())
		hdr := nats.Header{}
		data := env.Encode(hdr)
		hdr["traceparent"] = []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
		msgs[i] = &fakeMsg{hdr: hdr, data: data, meta: &jetstream.MsgMetadata{NumDelivered: 1}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, msg := range msgs {
		p.process(ctx, msg)
	}
	b.StopTimer()
	for _, msg := range msgs {
		if msg.acked != 1 {
			b.Fatal("not acked")
		}
	}
}

// BenchmarkPrepare is the publisher's own work on one event, server
// aside: envelope, producer span, headers, trace context, metrics.
func BenchmarkPrepare(b *testing.B) {
	bus := serverlessBus(b)
	ev := benchPing{Pad: string(make([]byte, 200))}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		env, err := events.New(ev, "/bench", "e", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		pctx, span, msg := bus.prepare(ctx, env, nil)
		if len(msg.Header) == 0 {
			b.Fatal("no headers")
		}
		bus.published(pctx, span, env.Type, time.Now(), nil)
	}
}
