package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
)

// path is one way of putting CloudEvents on JetStream and reading them.
//
// publish prepares a run that sends n events one at a time, each
// returning after its PubAck (what a path builds before it publishes, like
// wire's ready-made messages, is prepared outside the timing). fill puts n
// events on the stream in the path's own format (untimed).
// consume reads n events from a durable consumer with the bus's
// configuration (created within the timing: the path's own way, or by the
// caller), decoding each payload into its typed struct and acking it after
// the handler ran; it returns when the last one was handled, with what
// ends the subscription (called outside the timing).
type path interface {
	publish(k kind, n int) (run func(ctx context.Context) error, err error)
	fill(ctx context.Context, k kind, n int) error
	consume(ctx context.Context, k kind, durable string, n int) (end func(), err error)
}

func noEnd() {}

const fillers = 8

// parallel runs f(i) for i in [0, n) on fillers goroutines.
func parallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, fillers)
	for range fillers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := f(int(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func checkPad(got, want int) error {
	if got != want {
		return fmt.Errorf("payload of %d bytes, want %d", got, want)
	}
	return nil
}

// --- platform: pkg/bus ---

type platformPath struct{ e *env }

func (p platformPath) publish(k kind, n int) (func(context.Context) error, error) {
	return func(ctx context.Context) error {
		for i := range n {
			if _, err := p.e.bus.Publish(ctx, k.sample, "entity"); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		return nil
	}, nil
}

func (p platformPath) fill(ctx context.Context, k kind, n int) error {
	return parallel(n, func(int) error {
		_, err := p.e.bus.Publish(ctx, k.sample, "entity")
		return err
	})
}

func (p platformPath) consume(ctx context.Context, k kind, durable string, n int) (func(), error) {
	var handled atomic.Int64
	done := make(chan struct{})
	// The dedup window is allocated up front: a cost per consumer, not per message.
	c := &bus.Consumer{Name: durable, Concurrency: 1, Dedup: bus.NewMemoryDedup(100_000)}
	k.register(c, func() {
		if handled.Add(1) == int64(n) {
			close(done)
		}
	})
	r, err := p.e.bus.Start(ctx, c)
	if err != nil {
		return noEnd, err
	}
	end := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	}
	select {
	case <-done:
		return end, nil
	case <-ctx.Done():
		return end, fmt.Errorf("handled %d of %d: %w", handled.Load(), n, ctx.Err())
	}
}

// --- batch: pkg/bus Batch (publish only) ---

type batchPath struct{ e *env }

func (p batchPath) publish(k kind, n int) (func(context.Context) error, error) {
	return func(ctx context.Context) error {
		bt := p.e.bus.NewBatch(ctx, bus.BatchOptions{})
		for i := range n {
			env, err := events.New(k.sample, p.e.bus.Source(), "entity", p.e.bus.Now())
			if err != nil {
				return err
			}
			if err := bt.Add(env, nil); err != nil {
				return fmt.Errorf("add %d: %w", i, err)
			}
		}
		return bt.Wait()
	}, nil
}

func (p batchPath) fill(context.Context, kind, int) error { return errors.New("batch: publish only") }
func (p batchPath) consume(context.Context, kind, string, int) (func(), error) {
	return noEnd, errors.New("batch: publish only")
}

// --- wire: the plain client with exactly the bus's headers ---

type wirePath struct{ e *env }

// messages returns n messages in the bus's wire format: the CloudEvents
// headers of one envelope, a sampled traceparent and a distinct
// Nats-Msg-Id each, built before the timed loop.
func (p wirePath) messages(k kind, n int) ([]*nats.Msg, error) {
	env, err := events.New(k.sample, p.e.bus.Source(), "entity", time.Now())
	if err != nil {
		return nil, err
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
		msgs[i] = &nats.Msg{Subject: env.Topic, Header: h, Data: k.data}
	}
	return msgs, nil
}

func (p wirePath) publish(k kind, n int) (func(context.Context) error, error) {
	msgs, err := p.messages(k, n)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		for i, m := range msgs {
			if _, err := p.e.js.PublishMsg(ctx, m); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		return nil
	}, nil
}

// fill publishes through the bus: the stream then holds exactly what the
// platform writes.
func (p wirePath) fill(ctx context.Context, k kind, n int) error {
	return platformPath(p).fill(ctx, k, n)
}

func (p wirePath) consume(ctx context.Context, k kind, durable string, n int) (func(), error) {
	return pullLoop(ctx, p.e, k, durable, n)
}

// pullLoop is the plain client's consume: create the durable, then
// Messages, Next, decode, Ack in one goroutine.
func pullLoop(ctx context.Context, e *env, k kind, durable string, n int) (func(), error) {
	cons, err := e.js.CreateOrUpdateConsumer(ctx, k.spec.Stream(), e.consumerConfig(k, durable))
	if err != nil {
		return noEnd, err
	}
	it, err := cons.Messages()
	if err != nil {
		return noEnd, err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	end := func() { stop(); it.Stop() }
	var seen distinct[uint64]
	for seen.n() < n {
		m, err := it.Next()
		if err != nil {
			return end, fmt.Errorf("message %d of %d: %w", seen.n()+1, n, err)
		}
		if err := k.decode(m.Data()); err != nil {
			return end, err
		}
		if err := m.Ack(); err != nil {
			return end, err
		}
		meta, err := m.Metadata()
		if err != nil {
			return end, err
		}
		seen.add(meta.Sequence.Stream)
	}
	return end, nil
}

// distinct counts the messages a loop handled, a redelivery once: on a
// loaded machine a message can wait past the consumer's first backoff
// step (1 s) and come again.
type distinct[K comparable] struct{ m map[K]struct{} }

func (d *distinct[K]) add(k K) {
	if d.m == nil {
		d.m = map[K]struct{}{}
	}
	d.m[k] = struct{}{}
}

func (d *distinct[K]) n() int { return len(d.m) }

// --- raw: the plain client, payload only ---

type rawPath struct{ e *env }

func (p rawPath) publish(k kind, n int) (func(context.Context) error, error) {
	subject := k.spec.Subject()
	return func(ctx context.Context) error {
		for i := range n {
			if _, err := p.e.js.Publish(ctx, subject, k.data); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		return nil
	}, nil
}

func (p rawPath) fill(ctx context.Context, k kind, n int) error {
	subject := k.spec.Subject()
	return parallel(n, func(int) error {
		_, err := p.e.js.Publish(ctx, subject, k.data)
		return err
	})
}

func (p rawPath) consume(ctx context.Context, k kind, durable string, n int) (func(), error) {
	return pullLoop(ctx, p.e, k, durable, n)
}

// --- Watermill: watermill-nats/v2 JetStream publisher and subscriber ---

type watermillPath struct {
	e   *env
	pub *wmjs.Publisher
}

func newWatermillPath(e *env) (*watermillPath, error) {
	// The publisher publishes to the subject its stream configurator names.
	pub, err := wmjs.NewPublisher(wmjs.PublisherConfig{URL: e.srv.ClientURL(), Logger: watermill.NopLogger{},
		ConfigureStream: func(subject string) jetstream.StreamConfig { return jetstream.StreamConfig{Name: subject} }})
	if err != nil {
		return nil, err
	}
	return &watermillPath{e: e, pub: pub}, nil
}

// message is what a team would build for one CloudEvent on Watermill: the
// event id as Watermill UUID and Nats-Msg-Id, the CloudEvents attributes
// as metadata (binary mode), the payload marshalled to JSON.
func (p *watermillPath) message(k kind) (*message.Message, error) {
	data, err := json.Marshal(k.sample)
	if err != nil {
		return nil, err
	}
	id := watermill.NewUUID()
	m := message.NewMessage(id, data)
	m.Metadata = message.Metadata{
		events.HeaderID: id, events.HeaderSource: k.spec.Source(p.e.bus.Source()), events.HeaderType: k.spec.Type(),
		events.HeaderSpecVersion: events.SpecVersion, events.HeaderTime: time.Now().UTC().Format(time.RFC3339Nano),
		events.HeaderSubject: "entity", events.HeaderDataSchema: k.spec.DataSchema(),
		events.HeaderClassification: k.spec.Classification(), events.HeaderContentType: events.ContentJSON,
		jetstream.MsgIDHeader: id,
	}
	return m, nil
}

func (p *watermillPath) publish(k kind, n int) (func(context.Context) error, error) {
	subject := k.spec.Subject()
	return func(context.Context) error {
		for i := range n {
			m, err := p.message(k)
			if err != nil {
				return err
			}
			if err := p.pub.Publish(subject, m); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		return nil
	}, nil
}

func (p *watermillPath) fill(ctx context.Context, k kind, n int) error {
	subject := k.spec.Subject()
	return parallel(n, func(int) error {
		m, err := p.message(k)
		if err != nil {
			return err
		}
		return p.pub.Publish(subject, m)
	})
}

func (p *watermillPath) consume(ctx context.Context, k kind, durable string, n int) (func(), error) {
	// The subscriber binds to a durable with the bus's configuration and
	// acks without waiting for the server's answer, as the bus does.
	if _, err := p.e.js.CreateOrUpdateConsumer(ctx, k.spec.Stream(), p.e.consumerConfig(k, durable)); err != nil {
		return noEnd, err
	}
	sub, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{URL: p.e.srv.ClientURL(), Logger: watermill.NopLogger{}, AckAsync: true,
		ResourceInitializer: wmjs.ExistingConsumer(func(string, string) jetstream.ConsumerConfig {
			return jetstream.ConsumerConfig{Name: durable}
		}, "")})
	if err != nil {
		return noEnd, err
	}
	end := func() { _ = sub.Close() }
	msgs, err := sub.Subscribe(ctx, k.spec.Stream())
	if err != nil {
		return end, err
	}
	var seen distinct[string]
	for seen.n() < n {
		select {
		case m, ok := <-msgs:
			if !ok {
				return end, fmt.Errorf("watermill: channel closed after %d of %d", seen.n(), n)
			}
			if err := k.decode(m.Payload); err != nil {
				return end, err
			}
			m.Ack()
			seen.add(m.UUID)
		case <-ctx.Done():
			return end, fmt.Errorf("watermill: %d of %d: %w", seen.n(), n, ctx.Err())
		}
	}
	return end, nil
}

// --- CloudEvents Go SDK: protocol/nats_jetstream/v2 ---

type sdkPath struct {
	e       *env
	clients map[string]cloudevents.Client // by subject: an SDK sender has one
	mu      sync.Mutex
}

func newSDKPath(e *env) *sdkPath { return &sdkPath{e: e, clients: map[string]cloudevents.Client{}} }

func (p *sdkPath) client(k kind) (cloudevents.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[k.spec.Subject()]; ok {
		return c, nil
	}
	sender, err := cejs.NewSender(p.e.srv.ClientURL(), k.spec.Stream(), k.spec.Subject(), nil, nil)
	if err != nil {
		return nil, err
	}
	c, err := cloudevents.NewClient(sender)
	if err != nil {
		return nil, err
	}
	p.clients[k.spec.Subject()] = c
	return c, nil
}

// send builds one event as SDK users do and sends it; the sender returns
// after the PubAck. The SDK sets no Nats-Msg-Id: it has no de-duplication.
func (p *sdkPath) send(ctx context.Context, c cloudevents.Client, k kind) error {
	ev := cloudevents.NewEvent()
	ev.SetID(uuid.NewString())
	ev.SetSource(k.spec.Source(p.e.bus.Source()))
	ev.SetType(k.spec.Type())
	ev.SetTime(time.Now())
	ev.SetSubject("entity")
	ev.SetDataSchema(k.spec.DataSchema())
	ev.SetExtension("dataclassification", k.spec.Classification())
	if err := ev.SetData(cloudevents.ApplicationJSON, k.sample); err != nil {
		return err
	}
	if res := c.Send(ctx, ev); !cloudevents.IsACK(res) {
		return fmt.Errorf("sdk send: %w", res)
	}
	return nil
}

func (p *sdkPath) publish(k kind, n int) (func(context.Context) error, error) {
	c, err := p.client(k)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		for i := range n {
			if err := p.send(ctx, c, k); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		return nil
	}, nil
}

func (p *sdkPath) fill(ctx context.Context, k kind, n int) error {
	c, err := p.client(k)
	if err != nil {
		return err
	}
	return parallel(n, func(int) error { return p.send(ctx, c, k) })
}

// consume uses the SDK's consumer, which subscribes with the legacy push
// API: the durable gets the bus's ack settings but is push-based. The
// SDK's Finish does not ack JetStream messages, so the handler acks the
// underlying message itself.
func (p *sdkPath) consume(ctx context.Context, k kind, durable string, n int) (func(), error) {
	cfg := p.e.consumerConfig(k, durable)
	cons, err := cejs.NewConsumer(p.e.srv.ClientURL(), k.spec.Stream(), k.spec.Subject(), nil, nil, []nats.SubOpt{
		nats.Durable(durable), nats.BindStream(k.spec.Stream()), nats.ManualAck(), nats.AckExplicit(),
		nats.DeliverAll(), nats.AckWait(cfg.AckWait), nats.MaxDeliver(cfg.MaxDeliver), nats.MaxAckPending(cfg.MaxAckPending),
	})
	if err != nil {
		return noEnd, err
	}
	octx, cancel := context.WithCancel(ctx)
	opened := make(chan error, 1)
	go func() { opened <- cons.OpenInbound(octx) }()
	end := func() {
		cancel()
		<-opened
		_ = cons.Close(context.Background())
	}
	var seen distinct[string]
	for seen.n() < n {
		m, err := cons.Receive(ctx)
		if err != nil {
			return end, fmt.Errorf("sdk: %d of %d: %w", seen.n(), n, err)
		}
		ev, err := binding.ToEvent(ctx, m)
		if err != nil {
			return end, err
		}
		var v struct {
			Pad string `json:"pad"`
		}
		if err := ev.DataAs(&v); err != nil {
			return end, err
		}
		if err := checkPad(len(v.Pad), k.bytes-len(`{"pad":""}`)); err != nil {
			return end, err
		}
		if err := m.(*cejs.Message).Msg.Ack(); err != nil {
			return end, err
		}
		seen.add(ev.ID())
	}
	return end, nil
}
