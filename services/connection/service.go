// Package connection is the connection service target: opt-in profiles,
// mentor matching, mentorship lifecycle, groups and gatherings.
//
// Layers: matching (the exact matcher, pure), domain (profiles, rounds,
// gatherings, groups and their rules), app (use cases and authorization),
// adapters (JetStream KV with restricted fields sealed), ports (HTTP);
// contract declares the events. This file is the target's composition.
package connection

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/services/connection/adapters"
	"github.com/deiops/deiops/services/connection/app"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/ports"
	"github.com/deiops/deiops/workflows/mentorship"
)

// Name is the target name used by --target and in task queues.
const Name = "connection"

// SweepInterval is how often proposal timeouts and gathering reminders
// are checked.
const SweepInterval = 30 * time.Second

// Service is the connection target.
type Service struct {
	platform.Unimplemented
	deps platform.Deps
	http *ports.HTTP
	ms   *ports.Mentorships
	log  *slog.Logger

	mu     sync.Mutex
	app    *app.Service
	stores *adapters.Stores
	bg     platform.Background
}

// New builds the target from its dependencies. Nothing touches the
// network until Start, so the catalog and the OpenAPI document can be
// built from a zero Deps.
func New(d platform.Deps) (*Service, error) {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ms := &ports.Mentorships{Temporal: d.Temporal, TaskQueue: d.TaskQueue(Name), Bus: d.Bus,
		PublicURL: d.Config.HTTP.PublicURL, Logger: log}
	return &Service{deps: d, log: log, ms: ms, http: &ports.HTTP{Logger: log, Mentorships: ms}}, nil
}

// Name implements platform.Target.
func (s *Service) Name() string { return Name }

// Events implements platform.Target.
func (s *Service) Events() []events.Event { return contract.Events() }

// Routes implements platform.Target.
func (s *Service) Routes(r *httpapi.Router) { s.http.Routes(r) }

// Consumers implements platform.Target: new mentorships start their
// lifecycle workflow.
func (s *Service) Consumers() []*bus.Consumer { return s.ms.Consumers() }

// Register implements platform.Target.
func (s *Service) Register(w worker.Registry) { mentorship.Register(w, s.ms) }

// Start provisions the stores, builds the use cases, starts the outbox
// relays and the sweeper (proposal timeouts, gathering reminders).
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deps
	stores, err := adapters.NewStores(ctx, d.Bus, d.Keyring)
	if err != nil {
		return err
	}
	running, err := stores.Relays(ctx)
	if err != nil {
		return err
	}
	s.stores = stores
	s.bg.Track(running...)
	s.app = app.New(app.Options{
		Profiles: stores.Profiles, Rounds: stores.Rounds, Gatherings: stores.Gatherings, Groups: stores.Groups, Programs: stores.Programs,
		Directory: d.Directory, NotificationEvent: notification, PublicURL: d.Config.HTTP.PublicURL, Logger: s.log,
	})
	s.http.App, s.ms.App = s.app, s.app
	s.bg.Go(ctx, func(ctx context.Context) { s.sweep(ctx, SweepInterval) })
	return nil
}

func (s *Service) sweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.app.ExpireDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("proposal timeouts", "error", err)
		}
		if _, err := s.app.SendReminders(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("gathering reminders", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop implements platform.Target.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bg.Stop(ctx)
}

// App exposes the use cases (tests).
func (s *Service) App() *app.Service { return s.app }

// notification builds the platform's notification request.
func notification(n app.Notification) events.Event {
	return notify.NewRequest(n.ID, Name, notify.Template(n.Template), n.Link, n.Reference, n.Recipients...)
}
