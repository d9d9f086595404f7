package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
)

// env is one embedded JetStream server (file store in a temporary
// directory) with the platform bus and a plain client connection on it.
type env struct {
	srv  *server.Server
	dir  string
	bus  *bus.Bus
	nc   *nats.Conn
	js   jetstream.JetStream
	stop []func()
}

// natsDefaults are the defaults of config.NATS.
func natsDefaults(url string) config.NATS {
	return config.NATS{
		URL: url, Replicas: 1, DuplicateWindow: 2 * time.Minute, MaxAge: 8760 * time.Hour,
		PublishAttempts: 8, AckWait: 30 * time.Second, MaxDeliver: 5,
		Backoff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute},
	}
}

func newEnv(ctx context.Context, kinds []kind) (*env, error) {
	dir, err := os.MkdirTemp("", "deiops-bench-bus-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		return nil, fmt.Errorf("nats server not ready")
	}
	e.srv = srv
	// The platform as it runs in production: the SDK's default sampler
	// (parent-based, roots sampled) records every span; the meter
	// aggregates every measurement as for the Prometheus endpoint.
	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	e.stop = append(e.stop, func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	e.bus, err = bus.Connect(ctx, bus.Options{Name: "bench-platform", Source: events.Installation("bench"),
		NATS: natsDefaults(srv.ClientURL()), TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	// Every path writes to its own stream; the bus provisions them all, so
	// they share one configuration (file storage, 2-minute duplicate window).
	var evs []events.Event
	for _, k := range kinds {
		evs = append(evs, k.sample)
	}
	cat, err := events.NewCatalog(evs...)
	if err != nil {
		return nil, err
	}
	if err := e.bus.Provision(ctx, cat); err != nil {
		return nil, err
	}
	if e.nc, err = nats.Connect(srv.ClientURL(), nats.Name("bench-plain")); err != nil {
		return nil, err
	}
	if e.js, err = jetstream.New(e.nc); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	for _, f := range e.stop {
		f()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e.bus != nil {
		_ = e.bus.Close(ctx)
	}
	if e.nc != nil {
		e.nc.Close()
	}
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	}
	_ = os.RemoveAll(e.dir)
}

func (e *env) purge(ctx context.Context, stream string) error {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	return s.Purge(ctx)
}

func (e *env) stored(ctx context.Context, stream string) (uint64, error) {
	return e.bus.StreamMessages(ctx, stream)
}

// consumerConfig is the server-side configuration the bus gives a durable
// consumer of k's events; every pull-based path consumes through it.
func (e *env) consumerConfig(k kind, durable string) jetstream.ConsumerConfig {
	c := &bus.Consumer{Name: durable}
	k.register(c, func() {})
	return e.bus.ConsumerConfig(c)
}

// waitAcked waits until the server holds every message of durable, up to
// the stream's last, as acknowledged (acks are fire-and-forget on every
// path).
func (e *env) waitAcked(ctx context.Context, stream, durable string) error {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	// The SDK's consumer is push-based, the others pull.
	var info func(context.Context) (*jetstream.ConsumerInfo, error)
	if c, err := s.Consumer(ctx, durable); err == nil {
		info = c.Info
	} else if pc, perr := s.PushConsumer(ctx, durable); perr == nil {
		info = pc.Info
	} else {
		return fmt.Errorf("consumer %s: %w", durable, errors.Join(err, perr))
	}
	si, err := s.Info(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ci, err := info(ctx)
		if err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 && ci.AckFloor.Stream >= si.State.LastSeq {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("consumer %s: not every message acknowledged (%+v, %v)", durable, ci, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
