package bus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/deiops/deiops/pkg/events"
)

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
	if carrier != nil {
		ctx = b.prop.Extract(ctx, carrier)
	}
	ctx, span := b.tracer.Start(ctx, "send "+env.Topic,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			semconv.MessagingDestinationName(env.Topic),
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send"),
			semconv.MessagingMessageID(env.ID),
			attribute.String("cloudevents.event_id", env.ID),
			attribute.String("cloudevents.event_type", env.Type),
			attribute.String("cloudevents.event_source", env.Source),
		))
	defer span.End()

	msg := nats.NewMsg(env.Topic)
	msg.Data = env.Encode(msg.Header)
	b.prop.Inject(ctx, headerCarrier(msg.Header))

	start := time.Now()
	err := b.publishWithRetry(ctx, msg, env.ID)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
	}
	attrs := metric.WithAttributes(attribute.String("event_type", env.Type), attribute.String("outcome", outcome))
	b.m.published.Add(ctx, 1, attrs)
	b.m.publishDur.Record(ctx, time.Since(start).Seconds(), attrs)
	return err
}

// publishWithRetry sends msg until a PubAck arrives. A duplicate PubAck
// (the server already stored this id) counts as success.
func (b *Bus) publishWithRetry(ctx context.Context, msg *nats.Msg, id string) error {
	var lastErr error
	delay := 50 * time.Millisecond
	for attempt := 1; attempt <= b.opts.NATS.PublishAttempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.js.PublishMsg(actx, msg, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		if !retryablePublish(err) || ctx.Err() != nil {
			break
		}
		if attempt == b.opts.NATS.PublishAttempts {
			break
		}
		// Full jitter keeps a fleet of publishers from retrying in step
		// after a broker restart.
		wait := time.Duration(rand.Int64N(int64(delay))) + delay/2
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("publish %s (%s): %w", msg.Subject, id, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 2*time.Second)
	}
	return fmt.Errorf("publish %s (%s): no PubAck after retries: %w", msg.Subject, id, lastErr)
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
