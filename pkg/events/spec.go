// Package events defines the integrators' contract: the CloudEvents 1.0
// envelope deiops puts on NATS, and the catalog of event types.
//
// Every event type is a plain Go struct with JSON tags that declares itself
// once through EventSpec. The CloudEvents type, the NATS subject, the stream,
// the JSON Schema and the AsyncAPI channel all derive from that declaration.
package events

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Event is implemented by every event payload struct (value receiver).
type Event interface {
	EventSpec() Spec
}

const (
	// TypePrefix starts every CloudEvents type (reverse DNS).
	TypePrefix = "org.deiops"
	// PublicPrefix starts every subject integrators may subscribe to.
	PublicPrefix = "dei"
	// InternalPrefix starts subjects for traffic between deiops services only;
	// integrator credentials are never granted it.
	InternalPrefix = "deiops.internal"
	// DeadLetterPrefix starts subjects of the dead-letter stream.
	DeadLetterPrefix = "deiops.deadletter"
	// DeadLetterStream keeps every message a consumer could not handle.
	DeadLetterStream = "DEI_DEADLETTER"
)

// Spec declares one event type.
type Spec struct {
	Service string // owning service, e.g. "resolution" (or "directory", "platform")
	Entity  string // e.g. "case"
	Action  string // past tense, e.g. "escalated"
	Version int    // starts at 1; a breaking change is a new version published beside the old
	// Internal events travel under InternalPrefix and are not part of the
	// integrators' contract.
	Internal bool
	// Platform marks an event of a platform library (directory, audit,
	// notify, probe) rather than of a service: whichever process publishes
	// it, its ce-source names the platform (see Source).
	Platform bool
	Summary  string // one line for the catalog
}

// PlatformSource is the last segment of the ce-source of platform events.
const PlatformSource = "platform"

// Owner is what publishes the event as an integrator sees it: its service,
// or the platform for platform events.
func (s Spec) Owner() string {
	if s.Platform {
		return PlatformSource
	}
	return s.Service
}

// Source is the ce-source of this event type in an installation whose
// source base is base (Installation gives it, e.g. "/st-marys"): the base
// and the owner, "/st-marys/resolution". It depends on neither the process
// nor how the installation is deployed, so integrators may key on it.
func (s Spec) Source(base string) string {
	return base + "/" + s.Owner()
}

// InstallationPattern is what an installation name may be: one URI path
// segment, so that every ce-source stays a plain URI-reference.
const InstallationPattern = `[a-z0-9][a-z0-9._-]{0,62}`

// Installation is the source base of an installation name: "/" + name.
func Installation(name string) string { return "/" + name }

var token = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks the declaration's names are lowercase subject tokens.
func (s Spec) Validate() error {
	// A slice, not a map, so that the first problem reported is always the same.
	for _, f := range [...]struct{ name, v string }{{"service", s.Service}, {"entity", s.Entity}, {"action", s.Action}} {
		if !token.MatchString(f.v) {
			return fmt.Errorf("event spec %s %q: must match %s", f.name, f.v, token)
		}
	}
	// These service names would give a stream the name of another one
	// (DEI_DEADLETTER, or DEI_<X>_INTERNAL of service x).
	if s.Service == "deadletter" || strings.HasSuffix(s.Service, "_internal") {
		return fmt.Errorf("event spec service %q: reserved stream name %s", s.Service, s.Stream())
	}
	if s.Version < 1 {
		return fmt.Errorf("event spec %s.%s.%s: version must be at least 1", s.Service, s.Entity, s.Action)
	}
	if strings.TrimSpace(s.Summary) == "" {
		return fmt.Errorf("event spec %s.%s.%s: summary required", s.Service, s.Entity, s.Action)
	}
	return nil
}

// Type is the CloudEvents type, e.g. org.deiops.resolution.case.escalated.v1.
func (s Spec) Type() string {
	// Concatenation, not Sprintf: every publish derives the type.
	return TypePrefix + "." + s.Service + "." + s.Entity + "." + s.Action + ".v" + strconv.Itoa(s.Version)
}

// Subject is the NATS subject, e.g. dei.resolution.case.escalated. Version 1
// has no suffix; later versions add .v2, .v3 so that a wildcard on the
// entity still sees both while they are published side by side.
func (s Spec) Subject() string {
	prefix := PublicPrefix
	if s.Internal {
		prefix = InternalPrefix
	}
	subj := prefix + "." + s.Service + "." + s.Entity + "." + s.Action
	if s.Version > 1 {
		subj += ".v" + strconv.Itoa(s.Version)
	}
	return subj
}

// Stream is the JetStream stream that stores this event.
func (s Spec) Stream() string {
	name := "DEI_" + strings.ToUpper(s.Service)
	if s.Internal {
		name += "_INTERNAL"
	}
	return name
}

// StreamSubjects is the subject filter of Stream.
func (s Spec) StreamSubjects() string {
	if s.Internal {
		return InternalPrefix + "." + s.Service + ".>"
	}
	return PublicPrefix + "." + s.Service + ".>"
}

// DataSchema is the ce-dataschema URI; docs/schemas/<type>.json is the document.
func (s Spec) DataSchema() string {
	return "urn:deiops:schema:" + s.Type()
}

// Classification is ce-dataclassification: public events are for
// integrators, internal ones for deiops services. Restricted data never
// travels in an event at all.
func (s Spec) Classification() string {
	if s.Internal {
		return "internal"
	}
	return "public"
}
