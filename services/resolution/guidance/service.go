package guidance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/versioned"
)

const (
	// Bucket is the KV bucket of guidance versions.
	Bucket = "resolution_guidance"
	// HospitalScope is the department id of the hospital-wide default.
	HospitalScope = "hospital"
	// BuiltinScope is the source scope of Builtin: nothing was published
	// for the department nor for the hospital.
	BuiltinScope = "builtin"
	// MaxDepartmentLength bounds department ids in paths.
	MaxDepartmentLength = 64
)

// ErrNotStarted means Start has not provisioned the store yet.
var ErrNotStarted = errors.New("guidance: service not started")

// Options configures a Service.
type Options struct {
	// Now stamps published versions; default the bus's clock.
	Now func() time.Time
}

// Service publishes and answers guidance. New needs no infrastructure
// (the OpenAPI document is built from Routes alone); Start provisions
// the bucket and starts the outbox relay of Published events.
type Service struct {
	bus  *bus.Bus
	opts Options

	mu    sync.RWMutex
	store *versioned.Store[Guidance]
	relay *bus.Running
}

// New returns a service over b; b may be nil when only Routes is used.
func New(b *bus.Bus, o Options) *Service {
	return &Service{bus: b, opts: o}
}

// Start provisions the bucket and starts the outbox relay. It is
// idempotent.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil {
		return nil
	}
	if s.bus == nil {
		return errors.New("guidance: no bus")
	}
	st, err := versioned.New(ctx, s.bus, versioned.Options[Guidance]{
		Bucket:      Bucket,
		Description: "resolution: guidance on racism and mistreatment, every version, per department",
		Default:     HospitalScope,
		Now:         s.opts.Now,
		Published: func(scope string, v versioned.Version[Guidance]) events.Event {
			return Published{Department: scope, Version: v.Version, PublishedAt: v.PublishedAt}
		},
	})
	if err != nil {
		return fmt.Errorf("guidance store: %w", err)
	}
	relay, err := st.StartRelay(ctx)
	if err != nil {
		return fmt.Errorf("guidance outbox relay: %w", err)
	}
	s.store, s.relay = st, relay
	return nil
}

// Stop stops the outbox relay.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	relay := s.relay
	s.relay = nil
	s.mu.Unlock()
	if relay == nil {
		return nil
	}
	return relay.Stop(ctx)
}

func (s *Service) versions() (*versioned.Store[Guidance], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.store == nil {
		return nil, ErrNotStarted
	}
	return s.store, nil
}

// ValidDepartment reports whether id can name a department's guidance:
// 1 to 64 letters, digits and . _ : -, and not "builtin". "hospital" is
// the hospital-wide default.
func ValidDepartment(id string) bool {
	return len(id) <= MaxDepartmentLength && versioned.ValidScope(id) && id != BuiltinScope
}

// Current is the guidance in force for a department.
type Current struct {
	Department string
	// Source is whose guidance it is: Department itself, HospitalScope,
	// or BuiltinScope (Version.Version is then 0).
	Source  string
	Version versioned.Version[Guidance]
}

// Current returns the department's latest guidance, else the hospital
// default's, else Builtin as version 0 from BuiltinScope.
func (s *Service) Current(ctx context.Context, department string) (Current, error) {
	if !ValidDepartment(department) {
		return Current{}, versioned.ErrInvalidScope
	}
	st, err := s.versions()
	if err != nil {
		return Current{}, err
	}
	v, from, err := st.Current(ctx, department)
	switch {
	case errors.Is(err, versioned.ErrNotFound):
		return Current{Department: department, Source: BuiltinScope, Version: versioned.Version[Guidance]{Doc: Builtin()}}, nil
	case err != nil:
		return Current{}, err
	}
	return Current{Department: department, Source: from, Version: v}, nil
}

// Publish validates g and stores it as the department's next version;
// department HospitalScope sets the hospital-wide default. Invalid
// guidance is a 422 *httpapi.Problem naming every bad field.
func (s *Service) Publish(ctx context.Context, department string, g Guidance, by string) (versioned.Version[Guidance], error) {
	if !ValidDepartment(department) {
		return versioned.Version[Guidance]{}, versioned.ErrInvalidScope
	}
	if errs := g.Validate(); len(errs) > 0 {
		return versioned.Version[Guidance]{}, httpapi.Unprocessable("the guidance has invalid fields", errs...)
	}
	st, err := s.versions()
	if err != nil {
		return versioned.Version[Guidance]{}, err
	}
	return st.Publish(ctx, department, g, by)
}

// Version returns one version of the department's own guidance
// (versioned.ErrNotFound when it has no such version).
func (s *Service) Version(ctx context.Context, department string, version int) (versioned.Version[Guidance], error) {
	if !ValidDepartment(department) {
		return versioned.Version[Guidance]{}, versioned.ErrInvalidScope
	}
	st, err := s.versions()
	if err != nil {
		return versioned.Version[Guidance]{}, err
	}
	return st.Get(ctx, department, version)
}

// History lists the department's own versions, oldest first.
func (s *Service) History(ctx context.Context, department string) ([]versioned.VersionInfo, error) {
	if !ValidDepartment(department) {
		return nil, versioned.ErrInvalidScope
	}
	st, err := s.versions()
	if err != nil {
		return nil, err
	}
	return st.History(ctx, department)
}
