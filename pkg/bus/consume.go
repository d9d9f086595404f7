package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
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

// Handler processes one event.
//
// Returning nil acknowledges the message. Returning an error asks for a
// redelivery after the consumer's backoff; when the error is marked with
// Permanent, or when the last allowed delivery fails, the message goes to
// the dead-letter stream with the error text as the reason and the
// consumer moves on. ctx is cancelled when the consumer is stopped; a
// handler should then return promptly (its message is redelivered later).
// Handlers must be idempotent: the bus removes duplicate deliveries of an
// event id it has seen, but a store change and its event id are the
// handler's own guarantee against a replay after the dedup memory expires.
type Handler func(ctx context.Context, env events.Envelope) error

// TypedHandler receives the decoded payload as well as the envelope.
type TypedHandler[T events.Event] func(ctx context.Context, env events.Envelope, data T) error

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: the message is dead-lettered.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent or is a
// malformed-event error.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) || errors.Is(err, events.ErrMalformed)
}

// Consumer declares a durable pull consumer and its handlers by event type.
type Consumer struct {
	// Name is the durable name, unique per stream, e.g. "resolution-intake".
	Name string
	// Concurrency is how many messages are handled at once (default 1,
	// which keeps the stream's order).
	Concurrency int
	// Dedup remembers handled event ids; nil means an in-memory window.
	Dedup Deduper

	stream   string
	subjects []string
	handlers map[string]Handler
	err      error
}

// On registers h for event type T on c. Every type on one consumer must
// live in the same stream.
func On[T events.Event](c *Consumer, h TypedHandler[T]) {
	var zero T
	spec := zero.EventSpec()
	if c.handlers == nil {
		c.handlers = map[string]Handler{}
	}
	if c.stream == "" {
		c.stream = spec.Stream()
	} else if c.stream != spec.Stream() {
		c.err = errors.Join(c.err, fmt.Errorf("consumer %s: %s lives in stream %s, not %s", c.Name, spec.Type(), spec.Stream(), c.stream))
		return
	}
	c.subjects = append(c.subjects, spec.Subject())
	c.handlers[spec.Type()] = func(ctx context.Context, env events.Envelope) error {
		data, err := events.Unmarshal[T](env)
		if err != nil {
			return err
		}
		return h(ctx, env, data)
	}
}

// Running is a started consumer.
type Running struct {
	name  string
	msgs  interface{ Drain() } // a MessagesContext or a ConsumeContext
	done  chan struct{}
	stop  context.CancelFunc
	after []func(context.Context)
	once  sync.Once
}

// AfterStop adds f to what Stop runs once the handlers have finished
// (work a handler handed on, such as a batch to publish). Call it before
// Stop.
func (r *Running) AfterStop(f func(context.Context)) { r.after = append(r.after, f) }

// Stop drains the consumer: no new messages are pulled, in-flight handlers
// finish and ack. If ctx ends first the handlers are cancelled.
func (r *Running) Stop(ctx context.Context) error {
	r.msgs.Drain()
	var err error
	select {
	case <-r.done:
	case <-ctx.Done():
		r.stop()
		<-r.done
		err = fmt.Errorf("stop consumer %s: %w", r.name, ctx.Err())
	}
	r.stop()
	r.once.Do(func() {
		for _, f := range r.after {
			f(ctx)
		}
	})
	return err
}

// ConsumerConfig is the JetStream configuration the bus derives for c.
func (b *Bus) ConsumerConfig(c *Consumer) jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:        c.Name,
		Description:    "deiops consumer " + c.Name,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        b.opts.NATS.AckWait,
		MaxDeliver:     b.opts.NATS.MaxDeliver,
		MaxAckPending:  1000,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		FilterSubjects: c.subjects,
		Replicas:       b.opts.NATS.Replicas,
	}
	// BackOff governs redelivery after an ack timeout (a stuck or crashed
	// handler); it must be shorter than MaxDeliver.
	if n := len(b.opts.NATS.Backoff); n > 0 && n < b.opts.NATS.MaxDeliver {
		cfg.BackOff = b.opts.NATS.Backoff
	}
	return cfg
}

// Start creates or updates the durable consumer and begins handling.
func (b *Bus) Start(ctx context.Context, c *Consumer) (*Running, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.Name == "" || len(c.handlers) == 0 {
		return nil, fmt.Errorf("consumer %q: a name and at least one handler are required", c.Name)
	}
	if c.Concurrency < 1 {
		c.Concurrency = 1
	}
	if c.Dedup == nil {
		c.Dedup = NewMemoryDedup(100_000)
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, c.stream, b.ConsumerConfig(c))
	if err != nil {
		return nil, fmt.Errorf("provision consumer %s on %s: %w", c.Name, c.stream, err)
	}
	hctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := newProcessor(b, c)
	if c.Concurrency == 1 {
		// One at a time, in stream order: the handler runs on the
		// subscription's own goroutine, without a hop through a channel.
		cc, err := cons.Consume(func(m jetstream.Msg) { p.process(hctx, m) }, jetstream.PullMaxMessages(256),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				b.log.Warn("consumer", "consumer", c.Name, "error", err)
			}))
		if err != nil {
			stop()
			return nil, fmt.Errorf("consume %s: %w", c.Name, err)
		}
		r := &Running{name: c.Name, msgs: cc, done: make(chan struct{}), stop: stop}
		go func() {
			<-cc.Closed()
			close(r.done)
		}()
		return r, nil
	}
	msgs, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		stop()
		return nil, fmt.Errorf("consume %s: %w", c.Name, err)
	}
	r := &Running{name: c.Name, msgs: msgs, done: make(chan struct{}), stop: stop}
	go func() {
		defer close(r.done)
		work := make(chan jetstream.Msg)
		var wg sync.WaitGroup
		for range c.Concurrency {
			wg.Go(func() {
				for m := range work {
					p.process(hctx, m)
				}
			})
		}
		for {
			m, ok := b.next(msgs, c.Name)
			if !ok {
				break
			}
			work <- m
		}
		close(work)
		wg.Wait()
	}()
	return r, nil
}

type processor struct {
	b *Bus
	c *Consumer
	// bySubject holds what every message of a subject shares in its span,
	// built once: it is read-only while messages are handled.
	bySubject map[string]subjectSpan
}

type subjectSpan struct {
	name  string
	attrs []attribute.KeyValue
}

func newProcessor(b *Bus, c *Consumer) *processor {
	p := &processor{b: b, c: c, bySubject: make(map[string]subjectSpan, len(c.subjects))}
	for _, subj := range c.subjects {
		p.bySubject[subj] = p.subjectSpan(subj)
	}
	return p
}

func (p *processor) subjectSpan(subj string) subjectSpan {
	return subjectSpan{name: "process " + subj, attrs: []attribute.KeyValue{
		attribute.String("messaging.system", "nats"),
		semconv.MessagingDestinationName(subj),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingConsumerGroupName(p.c.Name),
	}}
}

// process runs one message through decode, tracing, dedup and the handler,
// then acks, naks with backoff, or dead-letters it.
func (p *processor) process(ctx context.Context, m jetstream.Msg) {
	b, c := p.b, p.c
	start := time.Now()
	meta, _ := m.Metadata()
	var delivered uint64 = 1
	if meta != nil {
		delivered = meta.NumDelivered
	}
	hdr := m.Headers()
	if hdr == nil {
		hdr = nats.Header{}
	}
	// The envelope and its trace context are read (no I/O) before the span
	// starts: the span joins the producer's trace, with the event's ids.
	env, tr, err := events.DecodeAttributes(hdr, m.Data(), m.Subject())
	h, known := c.handlers[env.Type]
	ctx = b.prop.Extract(ctx, tr)
	ss, ok := p.bySubject[m.Subject()]
	if !ok {
		ss = p.subjectSpan(m.Subject())
	}
	ctx, span := b.tracer.Start(ctx, ss.name, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(ss.attrs...)
		if err == nil {
			span.SetAttributes(attribute.Int64("messaging.nats.delivery_count", int64(delivered)),
				semconv.MessagingMessageID(env.ID),
				attribute.String("cloudevents.event_id", env.ID),
				attribute.String("cloudevents.event_type", env.Type),
				attribute.String("cloudevents.event_source", env.Source))
		} else {
			span.SetAttributes(attribute.Int64("messaging.nats.delivery_count", int64(delivered)))
		}
	}
	defer span.End()

	// Metrics are labelled by the types the consumer handles only: a type
	// read from a message is not a bounded label.
	outcome, evType := "ack", "unknown"
	if err == nil && known {
		evType = env.Type
	}
	defer func() {
		attrs := b.m.attrs(attrKey{consumer: c.Name, eventType: evType, outcome: outcome})
		b.m.handled.Add(ctx, 1, attrs)
		b.m.handleDur.Record(ctx, time.Since(start).Seconds(), attrs)
	}()

	if err == nil {
		switch claim, derr := c.Dedup.Claim(ctx, c.Name, env.ID); {
		case derr != nil:
			b.log.WarnContext(ctx, "dedup claim failed; handling anyway", "consumer", c.Name, "error", derr)
		case claim == ClaimDone:
			outcome = "duplicate"
			p.ack(ctx, m)
			return
		case claim == ClaimBusy:
			// Another delivery of this event is being handled; acking this
			// one could lose the event if that handling fails.
			outcome = "busy"
			_ = m.NakWithDelay(time.Second)
			return
		}
		if !known {
			err = Permanent(fmt.Errorf("consumer %s has no handler for event type %q", c.Name, env.Type))
		} else {
			err = p.safeCall(ctx, h, env)
		}
		if err == nil {
			if derr := c.Dedup.Done(ctx, c.Name, env.ID); derr != nil {
				b.log.WarnContext(ctx, "dedup record failed", "consumer", c.Name, "error", derr)
			}
			p.ack(ctx, m)
			return
		}
		if derr := c.Dedup.Release(ctx, c.Name, env.ID); derr != nil {
			b.log.WarnContext(ctx, "dedup release failed", "consumer", c.Name, "error", derr)
		}
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, "handler failed")
	if ctx.Err() != nil && !IsPermanent(err) {
		// Stopping: leave the message for the next consumer instance.
		outcome = "retry"
		_ = m.Nak()
		return
	}
	if IsPermanent(err) || delivered >= uint64(b.opts.NATS.MaxDeliver) {
		outcome = "deadletter"
		reason := err.Error()
		if !IsPermanent(err) {
			reason = fmt.Sprintf("gave up after %d deliveries: %s", delivered, reason)
		}
		if dlErr := b.deadLetter(ctx, c.Name, m, meta, reason); dlErr != nil {
			// Not captured: let JetStream redeliver so nothing is lost.
			outcome = "retry"
			b.log.ErrorContext(ctx, "dead-letter failed; message will be redelivered", "consumer", c.Name, "error", dlErr)
			_ = m.NakWithDelay(time.Second)
			return
		}
		if terr := m.TermWithReason(truncate(reason, 200)); terr != nil {
			b.log.WarnContext(ctx, "terminate after dead-letter failed", "consumer", c.Name, "error", terr)
		}
		return
	}
	outcome = "retry"
	b.log.WarnContext(ctx, "handler failed; will retry", "consumer", c.Name, "event_type", evType, "delivery", delivered, "error", err)
	_ = m.NakWithDelay(p.backoff(delivered))
}

func (p *processor) ack(ctx context.Context, m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		// The message will be redelivered and recognised as a duplicate.
		p.b.log.WarnContext(ctx, "ack failed", "consumer", p.c.Name, "error", err)
	}
}

func (p *processor) backoff(delivered uint64) time.Duration {
	bo := p.b.opts.NATS.Backoff
	if len(bo) == 0 {
		return time.Second
	}
	i := int(delivered) - 1
	if i >= len(bo) {
		i = len(bo) - 1
	}
	if i < 0 {
		i = 0
	}
	return bo[i]
}

// safeCall turns a handler panic into a retryable error so one bad message
// cannot take the process down; repeated panics end in the dead letter.
func (p *processor) safeCall(ctx context.Context, h Handler, env events.Envelope) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.b.log.ErrorContext(ctx, "handler panicked", "consumer", p.c.Name, "event_type", env.Type, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, env)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// RawHandler handles one message of a platform-internal stream (KV change
// feeds, advisories). nil acks; RetryAfter(d) redelivers after d (a
// decision, not a failure); any other error redelivers after a second.
type RawHandler func(ctx context.Context, m jetstream.Msg) error

type retryAfter time.Duration

func (r retryAfter) Error() string { return fmt.Sprintf("retry after %s", time.Duration(r)) }

// RetryAfter is what a RawHandler returns to see its message again after d.
func RetryAfter(d time.Duration) error { return retryAfter(d) }

// StartRaw runs a durable pull consumer over any stream with explicit acks
// and unlimited redelivery: for platform plumbing whose messages must never
// be dropped (the outbox relay, the dead-letterer).
func (b *Bus) StartRaw(ctx context.Context, stream string, cfg jetstream.ConsumerConfig, h RawHandler) (*Running, error) {
	cfg.AckPolicy = jetstream.AckExplicitPolicy
	cfg.MaxDeliver = -1
	if cfg.AckWait == 0 {
		cfg.AckWait = b.opts.NATS.AckWait
	}
	cfg.Replicas = b.opts.NATS.Replicas
	cons, err := b.js.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("provision consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	msgs, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", cfg.Durable, err)
	}
	hctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r := &Running{name: cfg.Durable, msgs: msgs, done: make(chan struct{}), stop: stop}
	go func() {
		defer close(r.done)
		for {
			m, ok := b.next(msgs, cfg.Durable)
			if !ok {
				return
			}
			if err := h(hctx, m); err != nil {
				var ra retryAfter
				if errors.As(err, &ra) {
					_ = m.NakWithDelay(time.Duration(ra))
					continue
				}
				b.log.WarnContext(hctx, "platform consumer will retry", "consumer", cfg.Durable, "error", err)
				_ = m.NakWithDelay(time.Second)
				continue
			}
			_ = m.Ack()
		}
	}()
	return r, nil
}

// next is msgs.Next riding out what the iterator reports without closing
// (a missed heartbeat while a cluster node is lost and its streams change
// leader): a consumer must not stop for good on it. It reports false only
// once the iterator is closed (Stop or Drain).
func (b *Bus) next(msgs jetstream.MessagesContext, consumer string) (jetstream.Msg, bool) {
	wait := 50 * time.Millisecond
	for {
		m, err := msgs.Next()
		switch {
		case err == nil:
			return m, true
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			return nil, false
		}
		b.log.Warn("consumer fetch failed; fetching again", "consumer", consumer, "error", err, "after", wait)
		// A fault that persists is retried at most every two seconds.
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}

// TraceCarrier captures ctx's trace context so that work resumed later (an
// outbox relay after a crash) joins the same trace.
func (b *Bus) TraceCarrier(ctx context.Context) map[string]string {
	c := propagation.MapCarrier{}
	b.prop.Inject(ctx, c)
	return c
}
