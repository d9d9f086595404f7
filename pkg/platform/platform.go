// Package platform defines what a service target is and what it receives
// from the composition root. A target is its HTTP routes, its NATS
// consumers and its Temporal workflows; the binary runs one or all of them
// with the same code path.
package platform

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/propagation"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
)

// Deps is everything a target may use. Targets never reach each other
// directly: only through the bus and Temporal.
type Deps struct {
	Config   config.Config
	Logger   *slog.Logger
	Bus      *bus.Bus
	Temporal client.Client
	Redis    redis.UniversalClient // nil when not configured
	Keyring  *crypto.Keyring
	Hasher   *crypto.Hasher
	// Directory is the process's shared view of people and departments.
	Directory Directory
	// SelfURL is the loopback base URL of this process's own HTTP server
	// (e.g. http://127.0.0.1:8080): where the portal reaches the API when
	// both run in one process. Empty when nothing listens (document builds).
	SelfURL string
	// Propagator carries trace context into calls a target makes over HTTP
	// (the portal's API calls), so a page and the API work it causes are one
	// trace; nil propagates nothing.
	Propagator propagation.TextMapPropagator
}

// Directory reads the current people and departments snapshot.
type Directory interface {
	Snapshot(ctx context.Context) (*directory.Directory, error)
}

// TaskQueue is the Temporal task queue of target name.
func (d Deps) TaskQueue(name string) string {
	p := d.Config.Temporal.TaskQueuePrefix
	if p == "" {
		p = "deiops"
	}
	return p + "-" + name
}

// Target is one service target.
type Target interface {
	// Name is awareness, connection or resolution.
	Name() string
	// Events lists the event types the target publishes (the catalog).
	Events() []events.Event
	// Routes registers the target's HTTP API.
	Routes(r *httpapi.Router)
	// Consumers lists the target's durable consumers.
	Consumers() []*bus.Consumer
	// Register adds the target's workflows and activities to its worker.
	Register(w worker.Registry)
	// Start runs background work that is not a consumer (outbox relays,
	// projections); Stop ends it. Both may be no-ops.
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Unimplemented gives a target no-op defaults for the parts it does not
// have yet; embed it and override what the target provides.
type Unimplemented struct{}

func (Unimplemented) Events() []events.Event      { return nil }
func (Unimplemented) Routes(*httpapi.Router)      {}
func (Unimplemented) Consumers() []*bus.Consumer  { return nil }
func (Unimplemented) Register(worker.Registry)    {}
func (Unimplemented) Start(context.Context) error { return nil }
func (Unimplemented) Stop(context.Context) error  { return nil }
