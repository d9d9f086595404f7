package bus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/deiops/deiops/pkg/events"
)

// attemptTimeout bounds one wait for a PubAck.
const attemptTimeout = 5 * time.Second

// Publish wraps ev in a new CloudEvent about entity subject and publishes it.
func (b *Bus) Publish(ctx context.Context, ev events.Event, subject string) (events.Envelope, error) {
	env, err := events.New(ev, b.opts.Source, subject, b.opts.Now())
	if err != nil {
		return events.Envelope{}, err
	}
	return env, b.PublishEnvelope(ctx, env, nil)
}

// PublishEnvelope publishes a prepared envelope with Nats-Msg-Id = its id,
// so a retried or relayed publish is stored once within the duplicate
// window. It returns only after JetStream acknowledged the message; a
// missing PubAck is retried with backoff and, after the configured
// attempts, reported as an error (the caller keeps the event, e.g. in its
// outbox). carrier, when set, holds the trace context to continue (the
// outbox stores it so that a relayed event stays in its original trace).
func (b *Bus) PublishEnvelope(ctx context.Context, env events.Envelope, carrier propagation.TextMapCarrier) error {
	ctx, span, msg := b.prepare(ctx, env, carrier)
	start := time.Now()
	err := b.publishWithRetry(ctx, msg, env.ID)
	b.published(ctx, span, env.Type, start, err)
	return err
}

// prepare starts the PRODUCER span of env and builds its message: the
// CloudEvents headers, the trace context and Nats-Msg-Id.
func (b *Bus) prepare(ctx context.Context, env events.Envelope, carrier propagation.TextMapCarrier) (context.Context, trace.Span, *nats.Msg) {
	if carrier != nil {
		ctx = b.prop.Extract(ctx, carrier)
	}
	ts := b.topicSpan(env.Topic)
	ctx, span := b.tracer.Start(ctx, ts.name, trace.WithSpanKind(trace.SpanKindProducer))
	// Attributes only for a span that records: an unsampled one would
	// allocate them for nothing.
	if span.IsRecording() {
		span.SetAttributes(ts.attrs...)
		span.SetAttributes(
			semconv.MessagingMessageID(env.ID),
			attribute.String("cloudevents.event_id", env.ID),
			attribute.String("cloudevents.event_type", env.Type),
			attribute.String("cloudevents.event_source", env.Source),
		)
	}
	return ctx, span, b.message(ctx, env)
}

// message is env on the wire: the CloudEvents headers, Nats-Msg-Id and the
// trace context of ctx.
func (b *Bus) message(ctx context.Context, env events.Envelope) *nats.Msg {
	// 9 CloudEvents headers, Nats-Msg-Id and up to 3 trace headers.
	msg := &nats.Msg{Subject: env.Topic, Header: make(nats.Header, 13)}
	msg.Data = env.Encode(msg.Header)
	msg.Header[jetstream.MsgIDHeader] = []string{env.ID}
	b.prop.Inject(ctx, headerCarrier(msg.Header))
	return msg
}

// topicSpan is what every PRODUCER span of a topic shares, built once per
// topic (topics come from the catalog: a bounded set).
func (b *Bus) topicSpan(topic string) subjectSpan {
	if v, ok := b.topicSpans.Load(topic); ok {
		return v.(subjectSpan)
	}
	ts := subjectSpan{name: "send " + topic, attrs: []attribute.KeyValue{
		attribute.String("messaging.system", "nats"),
		semconv.MessagingDestinationName(topic),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName("send"),
	}}
	b.topicSpans.Store(topic, ts)
	return ts
}

// published ends a publish: its span, its count and its duration.
func (b *Bus) published(ctx context.Context, span trace.Span, evType string, start time.Time, err error) {
	ok := err == nil
	if span != nil {
		if !ok {
			span.RecordError(err)
			span.SetStatus(codes.Error, "publish failed")
		}
		span.End()
	}
	attrs := b.m.publishAttrs(evType, ok)
	b.m.published.Add(ctx, 1, attrs)
	b.m.publishDur.Record(ctx, time.Since(start).Seconds(), attrs)
}

// publishWithRetry sends msg (whose Nats-Msg-Id is id) until a PubAck
// arrives. A duplicate PubAck (the server already stored this id) counts
// as success.
func (b *Bus) publishWithRetry(ctx context.Context, msg *nats.Msg, id string) error {
	if msg.Header.Get(jetstream.MsgIDHeader) == "" {
		msg.Header.Set(jetstream.MsgIDHeader, id)
	}
	var lastErr error
	delay := 50 * time.Millisecond
	for attempt := 1; attempt <= b.opts.NATS.PublishAttempts; attempt++ {
		actx, cancel := attemptContext(ctx)
		_, err := b.js.PublishMsg(actx, msg)
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		if !retryablePublish(err) || ctx.Err() != nil || attempt == b.opts.NATS.PublishAttempts {
			break
		}
		if err := b.backoff(ctx, &delay); err != nil {
			return fmt.Errorf("publish %s (%s): %w", msg.Subject, id, err)
		}
	}
	return fmt.Errorf("publish %s (%s): no PubAck after retries: %w", msg.Subject, id, lastErr)
}

// attemptContext bounds one attempt by attemptTimeout unless ctx ends
// sooner. Without a deadline ctx is used as it is: jetstream then applies
// its own default timeout, which Connect sets to attemptTimeout.
func attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); !ok || time.Until(d) <= attemptTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, attemptTimeout)
}

// backoff sleeps about *delay (full jitter keeps a fleet of publishers from
// retrying in step after a broker restart) and doubles it, up to 2 s.
func (b *Bus) backoff(ctx context.Context, delay *time.Duration) error {
	wait := time.Duration(rand.Int64N(int64(*delay))) + *delay/2
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	*delay = min(*delay*2, 2*time.Second)
	return nil
}

// retryablePublish separates transient conditions (broker restarting,
// leader election, timeouts) from answers that will not change (no stream
// for the subject, message too large, wrong expectations).
func retryablePublish(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeStreamNotFound, jetstream.JSErrCodeStreamMessageExceedsMaximum, jetstream.JSErrCodeStreamWrongLastSequence:
			return false
		}
		return apiErr.Code >= 500 || apiErr.Code == 0 || apiErr.Code == 503
	}
	switch {
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadSubject), errors.Is(err, nats.ErrConnectionClosed):
		return false
	}
	return true
}

// Outgoing is one event of a batch: its envelope and, when the event was
// caused by a request, the trace context to continue.
type Outgoing struct {
	Envelope events.Envelope
	Trace    propagation.TextMapCarrier
}

// BatchOptions bounds a batch.
type BatchOptions struct {
	// MaxInFlight is how many PubAcks may be outstanding at once (default
	// 256). It bounds the memory of a batch and the burst the broker sees.
	MaxInFlight int
	// OnAck, when set, is called once for every event after JetStream
	// stored it, from the batch's own goroutine, in no promised order.
	OnAck func(env events.Envelope)
}

// Batch publishes many events without waiting for each PubAck before
// sending the next: up to MaxInFlight are outstanding. The guarantee is
// the one of PublishEnvelope, per event: Wait returns nil only after every
// event added got its PubAck. An event whose PubAck fails or times out
// (a broker restart) is sent again with the same Nats-Msg-Id, with
// backoff, until it is stored or the attempts run out. Order is kept
// except for events sent again. A Batch is used by one goroutine.
//
// Tracing follows OpenTelemetry's batch convention: the batch has one
// PRODUCER span, child of the context it was started with, and the events
// added without a trace context of their own carry that span's context.
// An event added with its own (an outbox entry, caused by some request)
// gets a PRODUCER span in that trace, as PublishEnvelope gives it.
type Batch struct {
	b        *Bus
	ctx      context.Context
	span     trace.Span
	n        int // events added
	opts     BatchOptions
	inflight chan *pendingPub
	done     chan struct{}

	mu     sync.Mutex
	err    error
	waited bool
}

type pendingPub struct {
	ctx   context.Context
	span  trace.Span
	env   events.Envelope
	msg   *nats.Msg
	start time.Time
	fut   jetstream.PubAckFuture
	err   error // sending failed before a future existed
}

// NewBatch starts a batch; ctx bounds every publish of it. Call Wait.
func (b *Bus) NewBatch(ctx context.Context, o BatchOptions) *Batch {
	if o.MaxInFlight < 1 {
		o.MaxInFlight = 256
	}
	ctx, span := b.tracer.Start(ctx, "send batch", trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() {
		span.SetAttributes(attribute.String("messaging.system", "nats"), semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send"))
	}
	bt := &Batch{b: b, ctx: ctx, span: span, opts: o, inflight: make(chan *pendingPub, o.MaxInFlight), done: make(chan struct{})}
	go bt.collect()
	return bt
}

// Add sends one event. It blocks while MaxInFlight PubAcks are
// outstanding, and returns an error once the batch has failed (an event
// ran out of attempts, or ctx ended): Wait then reports which.
func (bt *Batch) Add(env events.Envelope, carrier propagation.TextMapCarrier) error {
	if err := bt.failed(); err != nil {
		return err
	}
	if bt.waited {
		return errors.New("publish batch: Add after Wait")
	}
	var p *pendingPub
	if carrier == nil {
		p = &pendingPub{ctx: bt.ctx, env: env, msg: bt.b.message(bt.ctx, env), start: time.Now()}
	} else {
		ctx, span, msg := bt.b.prepare(bt.ctx, env, carrier)
		p = &pendingPub{ctx: ctx, span: span, env: env, msg: msg, start: time.Now()}
	}
	bt.n++
	p.fut, p.err = bt.b.jsAsync.PublishMsgAsync(p.msg)
	select {
	case bt.inflight <- p:
		return nil
	case <-bt.ctx.Done():
		// Not handed to the collector: it never reaches Wait's count.
		err := fmt.Errorf("publish batch: %w", bt.ctx.Err())
		bt.b.published(p.ctx, p.span, env.Type, p.start, err)
		bt.fail(err)
		return err
	}
}

// Wait returns after every event added was stored or given up, with the
// first failure; nil means JetStream acknowledged all of them.
func (bt *Batch) Wait() error {
	if !bt.waited {
		bt.waited = true
		close(bt.inflight)
		<-bt.done
		bt.span.SetAttributes(semconv.MessagingBatchMessageCount(bt.n))
		if err := bt.failed(); err != nil {
			bt.span.RecordError(err)
			bt.span.SetStatus(codes.Error, "batch publish failed")
		}
		bt.span.End()
	}
	return bt.failed()
}

func (bt *Batch) failed() error {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	return bt.err
}

func (bt *Batch) fail(err error) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.err == nil {
		bt.err = err
	}
}

// collect waits for the futures in the order they were sent (PubAcks come
// back in that order) and sends again what failed, synchronously: while a
// broker restarts, the batch slows to one event at a time instead of
// piling up failures.
func (bt *Batch) collect() {
	defer close(bt.done)
	for p := range bt.inflight {
		err := p.err
		if err == nil {
			select {
			case <-p.fut.Ok():
			case err = <-p.fut.Err():
			case <-bt.ctx.Done():
				err = bt.ctx.Err()
			}
		}
		if err != nil && retryablePublish(err) && bt.ctx.Err() == nil && bt.failed() == nil {
			// Same message, same Nats-Msg-Id: stored once if the first
			// attempt did reach the stream.
			err = bt.b.publishWithRetry(p.ctx, p.msg, p.env.ID)
		}
		if err != nil {
			err = fmt.Errorf("publish %s (%s): %w", p.env.Topic, p.env.ID, err)
			bt.fail(err)
		}
		bt.b.published(p.ctx, p.span, p.env.Type, p.start, err)
		if err == nil && bt.opts.OnAck != nil {
			bt.opts.OnAck(p.env)
		}
	}
}

// PublishAll publishes outs as one batch and returns after every PubAck:
// for paths that publish many events at once (cohort waves, imports).
func (b *Bus) PublishAll(ctx context.Context, outs []Outgoing, o BatchOptions) error {
	bt := b.NewBatch(ctx, o)
	for _, out := range outs {
		if err := bt.Add(out.Envelope, out.Trace); err != nil {
			break
		}
	}
	return bt.Wait()
}
