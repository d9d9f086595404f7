package guidance

import (
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/versioned"
)

const (
	// Bucket is the KV bucket of guidance versions.
	Bucket = "resolution_guidance"
	// HospitalScope is the department id of the hospital-wide default.
	HospitalScope = "hospital"
	// BuiltinScope is the source scope of Builtin: nothing was published
	// for the department nor for the hospital.
	BuiltinScope = versioned.BuiltinSource
	// MaxDepartmentLength bounds department ids in paths.
	MaxDepartmentLength = 64
)

// Options configures the guidance documents.
type Options struct {
	// Now stamps published versions; default the bus's clock.
	Now func() time.Time
}

// Service is the guidance of every department: a versioned document per
// department, falling back to the hospital-wide default, then Builtin.
type Service = versioned.Documents[Guidance]

// Current is the guidance in force for a department.
type Current = versioned.Current[Guidance]

// New returns the guidance over b; b may be nil when only Routes is used.
func New(b *bus.Bus, o Options) *Service {
	return versioned.NewDocuments(b, versioned.DocumentsOptions[Guidance]{
		Bucket:         Bucket,
		Description:    "resolution: guidance on racism and mistreatment, every version, per department",
		Default:        HospitalScope,
		Builtin:        Builtin,
		MaxScopeLength: MaxDepartmentLength,
		Reserved:       []string{BuiltinScope},
		Validate:       func(_ string, g Guidance) []fault.Field { return g.Validate() },
		Published: func(scope string, v versioned.Version[Guidance]) events.Event {
			return Published{Department: scope, Version: v.Version, PublishedAt: v.PublishedAt}
		},
		Now: o.Now,
	})
}
