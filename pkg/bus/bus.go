// Package bus moves deiops events over NATS JetStream: it provisions streams,
// KV buckets and durable consumers, publishes CloudEvents with
// de-duplication and a required PubAck, and runs durable pull consumers
// whose poison messages end in a dead-letter stream instead of stalling.
package bus

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/tlsfiles"
)

// Options configures a Bus.
type Options struct {
	// Name identifies the connection in NATS monitoring.
	Name string
	// Source is the installation's CloudEvents source base, e.g.
	// "/st-marys" (events.Installation): an event's ce-source is this base
	// followed by the event's owner (its service, or "platform"), so it is
	// the same whichever process publishes it. Default "/deiops".
	Source string

	NATS config.NATS

	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	Now            func() time.Time
}

// Bus is one NATS connection with its JetStream context and telemetry.
type Bus struct {
	nc *nats.Conn
	js jetstream.JetStream
	// jsAsync publishes batches: its futures time out, so a PubAck lost in
	// a broker restart is noticed and the message sent again.
	jsAsync jetstream.JetStream
	opts    Options
	log     *slog.Logger
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	m       *busMetrics
	// topicSpans caches the shared part of PRODUCER spans by topic.
	topicSpans sync.Map
}

// maxAsyncPending caps the async publishes of all batches of one bus
// together; each batch bounds its own with BatchOptions.MaxInFlight.
const maxAsyncPending = 4096

// Connect dials NATS. The connection reconnects forever: a broker restart
// pauses the bus, it does not end it.
func Connect(ctx context.Context, o Options) (*Bus, error) {
	o = withDefaults(o)
	nopts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Logger.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { o.Logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
		// Without a handler nats.go prints asynchronous errors to stderr.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			o.Logger.Warn("nats asynchronous error", "error", err)
		}),
	}
	if o.NATS.CredsFile != "" {
		nopts = append(nopts, nats.UserCredentials(o.NATS.CredsFile))
	}
	if o.NATS.User != "" {
		nopts = append(nopts, nats.UserInfo(o.NATS.User, o.NATS.Password))
	}
	if o.NATS.TLSCA != "" || o.NATS.TLSCert != "" {
		tc, err := tlsfiles.Load(tlsfiles.Files{CA: o.NATS.TLSCA, Cert: o.NATS.TLSCert, Key: o.NATS.TLSKey})
		if err != nil {
			return nil, fmt.Errorf("nats tls: %w", err)
		}
		nopts = append(nopts, nats.Secure(tc))
	}
	nc, err := nats.Connect(o.NATS.URL, nopts...)
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", o.NATS.URL, err)
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(attemptTimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	jsAsync, err := jetstream.New(nc, jetstream.WithDefaultTimeout(attemptTimeout),
		jetstream.WithPublishAsyncTimeout(attemptTimeout), jetstream.WithPublishAsyncMaxPending(maxAsyncPending))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	m, err := newMetrics(o.MeterProvider.Meter("github.com/deiops/deiops/pkg/bus"))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &Bus{
		nc: nc, js: js, jsAsync: jsAsync, opts: o, log: o.Logger,
		tracer: o.TracerProvider.Tracer("github.com/deiops/deiops/pkg/bus"),
		prop:   o.Propagator,
		m:      m,
	}, nil
}

func withDefaults(o Options) Options {
	if o.Name == "" {
		o.Name = "deiops"
	}
	if o.Source == "" {
		o.Source = events.Installation("deiops")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TracerProvider == nil {
		o.TracerProvider = tracenoop.NewTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = metricnoop.NewMeterProvider()
	}
	if o.Propagator == nil {
		o.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NATS.PublishAttempts < 1 {
		o.NATS.PublishAttempts = 8
	}
	if o.NATS.AckWait <= 0 {
		o.NATS.AckWait = 30 * time.Second
	}
	if o.NATS.MaxDeliver < 1 {
		o.NATS.MaxDeliver = 5
	}
	if o.NATS.Replicas < 1 {
		o.NATS.Replicas = 1
	}
	if o.NATS.DuplicateWindow <= 0 {
		o.NATS.DuplicateWindow = 2 * time.Minute
	}
	return o
}

// JetStream exposes the JetStream context for adapters (KV repositories).
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn exposes the NATS connection (health checks, tailing).
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Source is the installation's CloudEvents source base (see Options.Source).
func (b *Bus) Source() string { return b.opts.Source }

// Now is the bus clock.
func (b *Bus) Now() time.Time { return b.opts.Now() }

// Check reports whether NATS and JetStream answer (readiness).
func (b *Bus) Check(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("nats not connected (status %s)", b.nc.Status())
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream account info: %w", err)
	}
	return nil
}

// Close drains the connection: subscriptions finish their in-flight
// messages and pending publishes are flushed before it closes.
func (b *Bus) Close(ctx context.Context) error {
	done := make(chan struct{})
	b.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := b.nc.Drain(); err != nil {
		b.nc.Close()
		return fmt.Errorf("drain nats: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		b.nc.Close()
		return fmt.Errorf("drain nats: %w", ctx.Err())
	}
}

// Logger is the bus's logger (adapters built on the bus log through it).
func (b *Bus) Logger() *slog.Logger { return b.log }
