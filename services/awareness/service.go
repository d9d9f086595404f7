// Package awareness is the awareness service target: campaigns, attested
// expectation statements, training assignments and their follow-up.
//
// Layers: domain (entities and rules), app (use cases and the store
// interfaces), adapters (JetStream KV), ports (HTTP, the directory
// consumer, the follow-up workflow's activities and starter); contract
// declares the events. The follow-up workflow itself lives in
// workflows/followup. This file is the target's composition.
package awareness

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/services/awareness/adapters"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
	"github.com/deiops/deiops/services/awareness/ports"
	"github.com/deiops/deiops/workflows/followup"
)

// Name is the target name used by --target and in task queues.
const Name = "awareness"

// Options tune the target (tests).
type Options struct {
	// Tick is how often scheduled campaigns are published and follow-ups
	// that did not start are retried; default 30s.
	Tick time.Duration
	// Policy overrides every follow-up schedule (tests run in seconds).
	Policy func(a *domain.Assignment) followup.Policy
}

// Service is the awareness target.
type Service struct {
	deps platform.Deps
	opts Options
	http *ports.HTTP
	fu   *ports.FollowUps
	acts *ports.Activities

	mu     sync.Mutex
	app    *app.Service
	stores *adapters.Stores
	bg     platform.Background
}

// New builds the target from its dependencies. Nothing touches the
// network until Start, so the catalog and the OpenAPI document can be
// built from a zero Deps.
func New(d platform.Deps) (*Service, error) { return NewWithOptions(d, Options{}) }

// NewWithOptions is New with tuning.
func NewWithOptions(d platform.Deps, o Options) (*Service, error) {
	if o.Tick <= 0 {
		o.Tick = 30 * time.Second
	}
	s := &Service{deps: d, opts: o, http: &ports.HTTP{}, acts: &ports.Activities{},
		fu: &ports.FollowUps{Temporal: d.Temporal, TaskQueue: d.TaskQueue(Name)}}
	if d.Hasher != nil {
		s.http.Hasher = d.Hasher
	}
	if o.Policy != nil {
		s.fu.Policy = o.Policy
	}
	return s, nil
}

// Name implements platform.Target.
func (s *Service) Name() string { return Name }

// Events implements platform.Target.
func (s *Service) Events() []events.Event { return contract.Events() }

// Routes implements platform.Target.
func (s *Service) Routes(r *httpapi.Router) { s.http.Routes(r) }

// Consumers implements platform.Target.
func (s *Service) Consumers() []*bus.Consumer { return ports.Consumers(s.App) }

// Register implements platform.Target.
func (s *Service) Register(w worker.Registry) { followup.Register(w, s.acts) }

// Start provisions the stores, builds the use cases, starts the outbox
// relays and the loop that publishes scheduled campaigns and retries
// follow-ups that did not start.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deps
	st, err := adapters.Open(ctx, d.Bus, d.Keyring)
	if err != nil {
		return err
	}
	relays, err := st.Relays(ctx)
	if err != nil {
		return err
	}
	s.stores = st
	s.bg.Track(relays...)
	trainings, follower := st.TrainingReadModel(d.Logger)
	s.bg.Go(ctx, follower.Run)
	b := d.Bus
	s.app = app.New(app.Options{
		Campaigns: st.Campaigns, Reach: st.Reach, Statements: st.Statements, Versions: st.Versions, Attestations: st.Attestations,
		Modules: st.Modules, Assignments: st.Assignments, Trainings: st.Trainings,
		TrainingIndex: trainings, SyncTrainings: follower.Sync, Ingest: st.Ingest, Waves: st.Waves,
		Directory: d.Directory, FollowUps: s.fu, PublicURL: d.Config.HTTP.PublicURL, MinCellSize: d.Config.Privacy.MinCellSize,
		Logger: d.Logger,
		Notify: func(ctx context.Context, r notify.Requested) error {
			_, err := notify.Publish(ctx, b, r)
			return err
		},
		Publish: func(ctx context.Context, id, subject string, ev events.Event) error {
			env, err := events.New(ev, b.Source(), subject, b.Now())
			if err != nil {
				return err
			}
			env.ID = id
			return b.PublishEnvelope(ctx, env, nil)
		},
	})
	s.http.App, s.acts.App = s.app, s.app

	s.bg.Go(ctx, func(runCtx context.Context) {
		t := time.NewTicker(s.opts.Tick)
		defer t.Stop()
		for {
			if err := s.app.PublishDue(runCtx); err != nil && runCtx.Err() == nil {
				d.Logger.Warn("publishing scheduled campaigns", "error", err)
			}
			if err := s.app.StartPendingFollowUps(runCtx); err != nil && runCtx.Err() == nil {
				d.Logger.Warn("starting pending follow-ups", "error", err)
			}
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
		}
	})
	return nil
}

// Stop implements platform.Target.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bg.Stop(ctx)
}

// App exposes the use cases (nil before Start).
func (s *Service) App() *app.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app
}

// Stores exposes the buckets (tests).
func (s *Service) Stores() *adapters.Stores { return s.stores }
