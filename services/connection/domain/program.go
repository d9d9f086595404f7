package domain

import (
	"time"

	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/connection/matching"
)

// Check-in cadence limits.
const (
	MinCheckinEvery = 7 * 24 * time.Hour
	MaxCheckinEvery = 180 * 24 * time.Hour
)

// Program is a mentoring program's standing settings: the defaults of its
// rounds (weights, minimum score, affinity load cap, response window) and
// the check-in cadence of its mentorships.
type Program struct {
	ID           string        `json:"id"`
	Round        RoundSettings `json:"round"`
	CheckinEvery time.Duration `json:"checkin_every"`
	UpdatedBy    string        `json:"updated_by"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// Validate checks a program.
func (p Program) Validate() error {
	s := p.Round
	s.Program = p.ID
	var c checker
	if err := s.Validate(); err != nil {
		if f, ok := fault.As(err); ok {
			for _, fe := range f.Fields {
				c.errs.Add(fe.Field, fe.Reason)
			}
		}
	}
	if p.CheckinEvery != 0 && (p.CheckinEvery < MinCheckinEvery || p.CheckinEvery > MaxCheckinEvery) {
		c.fail("checkin_every_days", "7..180")
	}
	return c.err()
}

// Apply fills the settings' zero fields with the program's.
func (p Program) Apply(s RoundSettings) RoundSettings {
	if s.Weights == (matching.Weights{}) {
		s.Weights = p.Round.Weights
	}
	if s.MinScore == 0 {
		s.MinScore = p.Round.MinScore
	}
	if s.AffinityLoadCap == 0 {
		s.AffinityLoadCap = p.Round.AffinityLoadCap
	}
	if s.ResponseWindow == 0 {
		s.ResponseWindow = p.Round.ResponseWindow
	}
	return s
}
