package policies

import "github.com/deiops/deiops/pkg/events"

// Published says a department (or the hospital-wide default) published a
// new version of its escalation policy. Cases already open keep the
// version they started with; the new one applies to cases opened after it.
type Published struct {
	Department string `json:"department" desc:"Department id, or hospital for the hospital-wide default" pattern:"^[A-Za-z0-9._:-]{1,64}$"`
	Version    int    `json:"version" desc:"The new version number; versions of a department count from 1" minimum:"1"`
	PolicyID   string `json:"policy_id" desc:"Id of the policy the version belongs to (the department id, or hospital)" pattern:"^[A-Za-z0-9._:-]{1,128}$"`
}

// EventSpec declares the event.
func (Published) EventSpec() events.Spec {
	return events.Spec{
		Service: "resolution", Entity: "escalation_policy", Action: "published", Version: 1,
		Summary: "A department, or the hospital-wide default, published a new version of its escalation policy",
	}
}

// Events lists every event type the package publishes, for the catalog.
func Events() []events.Event { return []events.Event{Published{}} }
