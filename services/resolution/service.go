// Package resolution is the resolution service target: speak-up reports,
// anonymous two-way contact, the designated resolution process with timed
// escalation, and systemic patterns.
//
// Layers: domain (the case and its rules), app (use cases and access),
// adapters (JetStream KV), ports (HTTP, consumers, workflow activities);
// contract declares the events; guidance, policies and patterns are
// self-contained parts. This file is the target's composition.
package resolution

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/services/resolution/adapters"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/contract"
	"github.com/deiops/deiops/services/resolution/guidance"
	"github.com/deiops/deiops/services/resolution/patterns"
	"github.com/deiops/deiops/services/resolution/policies"
	"github.com/deiops/deiops/services/resolution/ports"
	"github.com/deiops/deiops/workflows/escalation"
)

// Name is the target name used by --target and in task queues.
const Name = "resolution"

// Service is the resolution target.
type Service struct {
	deps     platform.Deps
	guidance *guidance.Service
	policies *policies.Service
	http     *ports.HTTP
	esc      *ports.Escalations
	acts     *ports.Activities
	patterns *ports.Patterns

	mu      sync.Mutex
	bg      platform.Background
	app     *app.Service
	index   *adapters.Index
	started *adapters.Started
}

// New builds the target from its dependencies. Nothing touches the
// network until Start, so the catalog and the OpenAPI document can be
// built from a zero Deps.
func New(d platform.Deps) (*Service, error) {
	engine, err := patterns.New(patterns.Options{MinCellSize: d.Config.Privacy.MinCellSize})
	if err != nil {
		return nil, fmt.Errorf("patterns: %w", err)
	}
	log := d.Logger
	if log == nil {
		log = discard()
	}
	s := &Service{
		deps:     d,
		guidance: guidance.New(d.Bus, guidance.Options{}),
		policies: policies.New(d.Bus, policies.Options{}),
		http:     &ports.HTTP{Temporal: d.Temporal, Logger: log},
		esc:      &ports.Escalations{Temporal: d.Temporal, TaskQueue: d.TaskQueue(Name), Logger: log},
		acts:     &ports.Activities{Directory: d.Directory},
		patterns: &ports.Patterns{Engine: engine, Bus: d.Bus, Logger: log, Now: time.Now},
	}
	s.esc.Policies = s.policies
	s.http.Candidates = s.candidates
	return s, nil
}

// Name implements platform.Target.
func (s *Service) Name() string { return Name }

// Events implements platform.Target.
func (s *Service) Events() []events.Event {
	evs := contract.Events()
	evs = append(evs, guidance.Events()...)
	return append(evs, policies.Events()...)
}

// Routes implements platform.Target.
func (s *Service) Routes(r *httpapi.Router) {
	guidance.Routes(r, s.guidance)
	policies.Routes(r, s.policies)
	s.http.Routes(r)
	s.patterns.Routes(r)
}

// Consumers implements platform.Target.
func (s *Service) Consumers() []*bus.Consumer { return s.esc.Consumers() }

// Register implements platform.Target.
func (s *Service) Register(w worker.Registry) { escalation.Register(w, s.acts) }

// Start provisions the stores, builds the use cases and starts the
// outbox relays, the case index, the pattern replay and the escalation
// reconciler. The composition root calls it before consumers, workers and
// the HTTP server start.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deps
	cases, err := adapters.NewCases(ctx, d.Bus, d.Keyring)
	if err != nil {
		return err
	}
	creds, err := adapters.NewCredentials(ctx, d.Bus)
	if err != nil {
		return err
	}
	audit, err := adapters.NewAudit(ctx, d.Bus)
	if err != nil {
		return err
	}
	if err := s.guidance.Start(ctx); err != nil {
		return err
	}
	if err := s.policies.Start(ctx); err != nil {
		return err
	}
	// Only cases carry events; keys and the audit trail publish nothing.
	relay, err := cases.Repo().StartRelay(ctx)
	if err != nil {
		return err
	}
	s.bg.Track(relay)
	if s.index, err = adapters.StartIndex(ctx, cases.Repo().KV(), d.Logger.With("component", "case-index")); err != nil {
		return err
	}
	if s.started, err = adapters.StartStarted(ctx, d.Bus, d.Logger.With("component", "started-escalations")); err != nil {
		return err
	}
	s.app = app.New(app.Options{
		Cases: cases, Credentials: creds, Audit: audit, Index: s.index, Starts: s.started, Directory: d.Directory, Hasher: d.Hasher,
		NotificationEvent: notification, PublicURL: d.Config.HTTP.PublicURL, Logger: d.Logger, Policy: s.policies.Policy, PolicyVersion: s.policies.PolicyVersion,
	})
	s.http.App, s.esc.App, s.esc.Cases, s.acts.App = s.app, s.app, cases, s.app
	s.http.Guesses = s.guessLimiter()

	s.bg.Go(ctx, func(ctx context.Context) {
		s.retain(ctx, adapters.Deleter{Cases: cases, Keys: creds, Started: s.started})
	})
	s.bg.Go(ctx, func(ctx context.Context) {
		if err := s.patterns.Run(ctx); err != nil {
			d.Logger.Error("pattern replay stopped", "error", err)
		}
	})
	s.bg.Go(ctx, func(ctx context.Context) { s.esc.Reconcile(ctx, s.app.Pending, 30*time.Second) })
	return nil
}

// Stop implements platform.Target.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := []error{s.bg.Stop(ctx)}
	if s.index != nil {
		s.index.Stop()
		s.index = nil
	}
	if s.started != nil {
		s.started.Stop()
		s.started = nil
	}
	errs = append(errs, s.guidance.Stop(ctx), s.policies.Stop(ctx))
	return errors.Join(errs...)
}

// retain deletes closed cases past their retention, every sweep interval.
func (s *Service) retain(ctx context.Context, del adapters.Deleter) {
	cfg := s.deps.Config.Resolution
	every := cfg.RetentionSweep
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids, err := s.app.Sweep(ctx, time.Now(), cfg.RetentionFor, del)
		if len(ids) > 0 {
			s.deps.Logger.Info("retention: closed cases deleted", "count", len(ids))
		}
		if err != nil && ctx.Err() == nil {
			s.deps.Logger.Warn("retention sweep", "error", err)
		}
	}
}

// App exposes the use cases (tests).
func (s *Service) App() *app.Service { return s.app }

// Index exposes the case index (tests).
func (s *Service) Index() *adapters.Index { return s.index }

// Patterns exposes the pattern engine's port (tests).
func (s *Service) Patterns() *ports.Patterns { return s.patterns }

// notification builds the platform's notification request.
func notification(n app.Notification) events.Event {
	if n.Fallback || len(n.Recipients) == 0 {
		return notify.NewFallbackRequest(n.ID, Name, notify.Template(n.Template), n.Link, n.Reference)
	}
	return notify.NewRequest(n.ID, Name, notify.Template(n.Template), n.Link, n.Reference, n.Recipients...)
}

// candidates are the routing rules: the people the department's policy
// targets at its first level, in order.
// candidates are who a case may be assigned to, in routing order: the
// people the department policy's first level targets, then the
// department's designated resolvers (directory role "resolver"; the
// hospital's when the department has none), so a case can be routed when
// the first level names a role nobody holds. Conflicts of interest are
// removed by the app.
func (s *Service) candidates(ctx context.Context, r *app.Record) ([]string, error) {
	dept := r.Case.Report().DepartmentID()
	p, err := s.policies.Policy(ctx, dept)
	if err != nil {
		return nil, err
	}
	var people []string
	if len(p.Levels) > 0 {
		res, err := s.acts.ResolveTargets(ctx, escalation.ResolveTargetsInput{CaseID: r.Case.ID(), Department: dept,
			Level: p.Levels[0].Name, Targets: p.Levels[0].Targets, At: time.Now()})
		if err != nil {
			return nil, err
		}
		people = res.People
	}
	dir, err := s.deps.Directory.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	for _, id := range ports.RoleHolders(dir, escalation.RoleResolver, dept) {
		if !slices.Contains(people, id) {
			people = append(people, id)
		}
	}
	return people, nil
}

func (s *Service) guessLimiter() ports.GuessLimiter {
	local := &ports.MemoryGuesses{Max: ports.MaxFailedGuesses, Window: ports.GuessWindow}
	if s.deps.Redis == nil {
		return local
	}
	return &ports.RedisGuesses{Client: s.deps.Redis, Prefix: "deiops:resolution:guess:",
		Key: func(c string) string { return s.deps.Hasher.Hash("client", c) },
		Max: ports.MaxFailedGuesses, Window: ports.GuessWindow, Fallback: local}
}
