package guidance

import (
	"time"

	"github.com/deiops/deiops/pkg/events"
)

// Published says a department (or the hospital-wide default) published a
// new version of its guidance. The text itself is read through the API.
type Published struct {
	Department  string    `json:"department" desc:"Department id, or hospital for the hospital-wide default" pattern:"^[A-Za-z0-9._:-]{1,64}$"`
	Version     int       `json:"version" desc:"The new version number; versions of a department count from 1" minimum:"1"`
	PublishedAt time.Time `json:"published_at" desc:"When the version was published"`
}

// EventSpec declares the event.
func (Published) EventSpec() events.Spec {
	return events.Spec{
		Service: "resolution", Entity: "guidance", Action: "published", Version: 1,
		Summary: "A department, or the hospital-wide default, published a new version of its guidance on racism and mistreatment",
	}
}

// Events lists every event type the package publishes, for the catalog.
func Events() []events.Event { return []events.Event{Published{}} }
