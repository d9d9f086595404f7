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
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/versioned"
	"github.com/deiops/deiops/workflows/escalation"
)

const (
	// Bucket is the KV bucket of policy versions.
	Bucket = "resolution_policies"
	// HospitalScope is the department id of the hospital-wide default.
	HospitalScope = "hospital"
	// BuiltinScope is the source of the built-in policy (nothing published).
	BuiltinScope = versioned.BuiltinSource
	// MaxDepartmentLength bounds department ids in paths.
	MaxDepartmentLength = 64
)

// Builtin is the policy of a department when neither it nor the hospital
// has published one.
func Builtin() escalation.Policy { return escalation.ResidencyProgramDefault() }

// Options configures the policies.
type Options struct {
	// Now stamps published versions; default the bus's clock.
	Now func() time.Time
}

// Service keeps the escalation policy of every department: a versioned
// document per department, falling back to the hospital-wide default,
// then Builtin.
type Service struct {
	*versioned.Documents[escalation.Policy]
}

// Current is the policy in force for a department; Version.Doc has its
// id, version and department set.
type Current = versioned.Current[escalation.Policy]

// New returns the policies over b; b may be nil when only Routes is used.
func New(b *bus.Bus, o Options) *Service {
	return &Service{versioned.NewDocuments(b, versioned.DocumentsOptions[escalation.Policy]{
		Bucket:         Bucket,
		Description:    "resolution: escalation policies, every version, per department",
		Default:        HospitalScope,
		Builtin:        Builtin,
		MaxScopeLength: MaxDepartmentLength,
		Reserved:       []string{BuiltinScope, "templates"},
		// The stored document carries no identity of its own: id, version
		// and department come from where it is stored, so they cannot drift.
		Prepare: func(_ string, p escalation.Policy) escalation.Policy {
			p.ID, p.Version, p.Department = "", 0, ""
			return p
		},
		Validate: validate,
		Stamp:    stamp,
		Published: func(scope string, v versioned.Version[escalation.Policy]) events.Event {
			return Published{Department: scope, Version: v.Version, PolicyID: policyID(scope)}
		},
		Now: o.Now,
	})}
}

// Policy returns the policy snapshot a case opened now in department
// starts with: the department's latest version, else the hospital-wide
// default's, else escalation.ResidencyProgramDefault(). The snapshot is
// a full copy; the case keeps it whatever is published later.
func (s *Service) Policy(ctx context.Context, department string) (escalation.Policy, error) {
	c, err := s.Current(ctx, department)
	if err != nil {
		return escalation.Policy{}, err
	}
	return c.Version.Doc, nil
}

// PolicyVersion returns a policy by the id and version a case's escalation
// started with: version n of a scope's own policy (its id is the scope), or
// the built-in template a case started with before anything was published.
func (s *Service) PolicyVersion(ctx context.Context, id string, n int) (escalation.Policy, error) {
	for _, t := range Templates() {
		if t.Policy.ID == id && t.Policy.Version == n {
			return t.Policy, nil
		}
	}
	v, err := s.Version(ctx, id, n)
	if err != nil {
		return escalation.Policy{}, err
	}
	return v.Doc, nil
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
func validate(department string, p escalation.Policy) []fault.Field {
	p = stamp(department, versioned.Version[escalation.Policy]{Version: 1, Doc: p}).Doc
	var out []fault.Field
	for _, e := range p.Validate() {
		out = append(out, fault.Field{Field: e.Field, Reason: e.Reason})
	}
	return out
}
