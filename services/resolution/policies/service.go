// Package policies keeps the escalation policies of departments as
// versioned data (package versioned) and serves them over HTTP.
//
// A department publishes its policy, or adopts a template; every publish
// is a new version and every version stays readable, because a case keeps
// the full policy snapshot it started with (escalation.Input.Policy) and
// people reviewing a case need to see the rules it ran under.
//
// The policy for a department is, in order: its own latest version, the
// hospital-wide default's latest version (department "hospital"), or,
// when nothing was ever published, escalation.ResidencyProgramDefault()
// as it ships (source "builtin"). A published policy's id is its scope
// (the department id, or "hospital"), its version is the store version,
// and its department is the department id ("" for the hospital default,
// as escalation.Policy documents); the server sets all three.
package policies

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
	"github.com/deiops/deiops/workflows/escalation"
)

const (
	// Bucket is the KV bucket of policy versions.
	Bucket = "resolution_policies"
	// HospitalScope is the department id of the hospital-wide default.
	HospitalScope = "hospital"
	// BuiltinScope is the source of the built-in policy (nothing published).
	BuiltinScope = "builtin"
	// MaxDepartmentLength bounds department ids in paths.
	MaxDepartmentLength = 64
)

// ErrNotStarted means Start has not provisioned the store yet.
var ErrNotStarted = errors.New("policies: service not started")

// Builtin is the policy of a department when neither it nor the hospital
// has published one.
func Builtin() escalation.Policy { return escalation.ResidencyProgramDefault() }

// Options configures a Service.
type Options struct {
	// Now stamps published versions; default the bus's clock.
	Now func() time.Time
}

// Service publishes and answers escalation policies. New needs no
// infrastructure (the OpenAPI document is built from Routes alone);
// Start provisions the bucket and starts the outbox relay.
type Service struct {
	bus  *bus.Bus
	opts Options

	mu    sync.RWMutex
	store *versioned.Store[escalation.Policy]
	relay *bus.Running
}

// New returns a service over b; b may be nil when only Routes is used.
func New(b *bus.Bus, o Options) *Service {
	return &Service{bus: b, opts: o}
}

// Start provisions the bucket and starts the outbox relay of Published
// events. It is idempotent.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil {
		return nil
	}
	if s.bus == nil {
		return errors.New("policies: no bus")
	}
	st, err := versioned.New(ctx, s.bus, versioned.Options[escalation.Policy]{
		Bucket:      Bucket,
		Description: "resolution: escalation policies, every version, per department",
		Default:     HospitalScope,
		Now:         s.opts.Now,
		Published: func(scope string, v versioned.Version[escalation.Policy]) events.Event {
			return Published{Department: scope, Version: v.Version, PolicyID: policyID(scope)}
		},
	})
	if err != nil {
		return fmt.Errorf("policies store: %w", err)
	}
	relay, err := st.StartRelay(ctx)
	if err != nil {
		return fmt.Errorf("policies outbox relay: %w", err)
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

func (s *Service) versions() (*versioned.Store[escalation.Policy], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.store == nil {
		return nil, ErrNotStarted
	}
	return s.store, nil
}

// ValidDepartment reports whether id can name a department's policy: 1 to
// 64 letters, digits and . _ : -, other than "builtin" and "templates".
// "hospital" is the hospital-wide default.
func ValidDepartment(id string) bool {
	return len(id) <= MaxDepartmentLength && versioned.ValidScope(id) && id != BuiltinScope && id != "templates"
}

// Current is the policy in force for a department.
type Current struct {
	Department string
	// Source is whose policy it is: Department itself, HospitalScope, or
	// BuiltinScope (Version.Version is then 0).
	Source string
	// Version.Doc is the policy with id, version and department set.
	Version versioned.Version[escalation.Policy]
}

// Lookup returns the policy in force for department and where it comes
// from: its own latest version, else the hospital default's, else Builtin.
func (s *Service) Lookup(ctx context.Context, department string) (Current, error) {
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
		return Current{Department: department, Source: BuiltinScope, Version: versioned.Version[escalation.Policy]{Doc: Builtin()}}, nil
	case err != nil:
		return Current{}, err
	}
	return Current{Department: department, Source: from, Version: stamp(from, v)}, nil
}

// Current returns the policy snapshot a case opened now in department
// starts with: the department's latest version, else the hospital-wide
// default's, else escalation.ResidencyProgramDefault(). The snapshot is
// a full copy; the case keeps it whatever is published later.
func (s *Service) Current(ctx context.Context, department string) (escalation.Policy, error) {
	c, err := s.Lookup(ctx, department)
	if err != nil {
		return escalation.Policy{}, err
	}
	return c.Version.Doc, nil
}

// Publish validates p and stores it as the department's next version;
// department HospitalScope sets the hospital-wide default. p's id,
// version and department are ignored: the store sets them. An invalid
// policy is a 422 *httpapi.Problem naming every bad field.
func (s *Service) Publish(ctx context.Context, department string, p escalation.Policy, by string) (versioned.Version[escalation.Policy], error) {
	if !ValidDepartment(department) {
		return versioned.Version[escalation.Policy]{}, versioned.ErrInvalidScope
	}
	if errs := validate(department, p); len(errs) > 0 {
		return versioned.Version[escalation.Policy]{}, httpapi.Unprocessable("the policy has invalid fields", errs...)
	}
	st, err := s.versions()
	if err != nil {
		return versioned.Version[escalation.Policy]{}, err
	}
	// The stored document carries no identity of its own: id, version
	// and department come from where it is stored, so they cannot drift.
	p.ID, p.Version, p.Department = "", 0, ""
	v, err := st.Publish(ctx, department, p, by)
	if err != nil {
		return versioned.Version[escalation.Policy]{}, err
	}
	return stamp(department, v), nil
}

// Version returns one version of the department's own policy
// (versioned.ErrNotFound when it has no such version).
func (s *Service) Version(ctx context.Context, department string, version int) (versioned.Version[escalation.Policy], error) {
	if !ValidDepartment(department) {
		return versioned.Version[escalation.Policy]{}, versioned.ErrInvalidScope
	}
	st, err := s.versions()
	if err != nil {
		return versioned.Version[escalation.Policy]{}, err
	}
	v, err := st.Get(ctx, department, version)
	if err != nil {
		return versioned.Version[escalation.Policy]{}, err
	}
	return stamp(department, v), nil
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

// policyID is the id of a scope's policy: the scope itself.
func policyID(scope string) string { return scope }

// stamp sets the identity of a stored policy from where it is stored.
func stamp(scope string, v versioned.Version[escalation.Policy]) versioned.Version[escalation.Policy] {
	v.Doc.ID = policyID(scope)
	v.Doc.Version = v.Version
	v.Doc.Department = scope
	if scope == HospitalScope {
		v.Doc.Department = "" // escalation.Policy: empty means the hospital-wide default
	}
	return v
}

// validate runs the escalation package's validation on p as it would be
// stored in department, so only the fields a publisher controls can fail.
func validate(department string, p escalation.Policy) []httpapi.FieldError {
	p = stamp(department, versioned.Version[escalation.Policy]{Version: 1, Doc: p}).Doc
	var out []httpapi.FieldError
	for _, e := range p.Validate() {
		out = append(out, httpapi.FieldError{Field: e.Field, Reason: e.Reason})
	}
	return out
}
