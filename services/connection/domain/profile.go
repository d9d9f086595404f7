package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/connection/matching"
)

// Profile limits.
const (
	MaxListItems      = 20
	MaxItemLength     = 64
	MaxAffinities     = 5
	MaxWindows        = 21
	MaxMentorCapacity = 10
	MaxAvoid          = 50
)

// Days are the accepted availability day codes, Monday first.
var Days = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// Window is a weekly availability window in the profile's time zone:
// hours [Start, End) of Day.
type Window struct {
	Day   string `json:"day"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// ProfileInput is what a person says about themself.
type ProfileInput struct {
	Interests     []string
	Experiences   []string
	Affinities    []string // restricted: visible only to the person and the matcher
	WantsAffinity bool     // count shared affinity when matching me with a mentor
	Specialty     string
	TrainingLevel string
	Languages     []string
	Availability  []Window
	TimeZone      string
	SeekingMentor bool
	// MentorCapacity > 0 offers mentoring to that many mentees.
	MentorCapacity    int
	AffinityMentoring bool // offer affinity mentoring (load capped by the program)
	Avoid             []string
}

// ProfileState is a profile's stored form. Affinities are restricted:
// adapters seal them, ports show them only to the person.
type ProfileState struct {
	PersonID    string       `json:"person_id"`
	OptedIn     bool         `json:"opted_in"`
	Input       ProfileInput `json:"input"`
	OptedInAt   time.Time    `json:"opted_in_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	WithdrawnAt time.Time    `json:"withdrawn_at,omitzero"`
}

// Profile is a person's opt-in connection profile.
type Profile struct{ st ProfileState }

// Validate checks an input and returns every invalid field.
func (in ProfileInput) Validate() error {
	var c checker
	c.list("interests", in.Interests, MaxListItems, MaxItemLength)
	c.list("experiences", in.Experiences, MaxListItems, MaxItemLength)
	c.list("affinities", in.Affinities, MaxAffinities, MaxItemLength)
	c.list("languages", in.Languages, MaxListItems, MaxItemLength)
	c.list("avoid", in.Avoid, MaxAvoid, 64)
	for i, id := range in.Avoid {
		if !ValidID(id) {
			c.fail(fmt.Sprintf("avoid[%d]", i), "not a person id")
		}
	}
	c.text("specialty", in.Specialty, MaxItemLength, false)
	c.text("training_level", in.TrainingLevel, MaxItemLength, false)
	if in.TimeZone == "" {
		c.fail("time_zone", "required (IANA name, e.g. America/Chicago)")
	} else if _, err := time.LoadLocation(in.TimeZone); err != nil || len(in.TimeZone) > 64 {
		c.fail("time_zone", "unknown IANA time zone")
	}
	if len(in.Availability) > MaxWindows {
		c.fail("availability", "at most %d windows", MaxWindows)
	}
	for i, w := range in.Availability {
		if !slices.Contains(Days, w.Day) {
			c.fail(fmt.Sprintf("availability[%d].day", i), "one of %s", strings.Join(Days, ", "))
		}
		if w.Start < 0 || w.Start > 23 {
			c.fail(fmt.Sprintf("availability[%d].start", i), "hour 0..23")
		}
		if w.End <= w.Start || w.End > 24 {
			c.fail(fmt.Sprintf("availability[%d].end", i), "hour after start, at most 24")
		}
	}
	if in.MentorCapacity < 0 || in.MentorCapacity > MaxMentorCapacity {
		c.fail("mentor_capacity", "0..%d", MaxMentorCapacity)
	}
	if in.AffinityMentoring && in.MentorCapacity == 0 {
		c.fail("affinity_mentoring", "needs a mentor capacity above 0")
	}
	if !in.SeekingMentor && in.MentorCapacity == 0 {
		c.fail("seeking_mentor", "seek a mentor, offer mentoring, or both")
	}
	return c.err()
}

// OptIn creates an opted-in profile.
func OptIn(personID string, in ProfileInput, at time.Time) (*Profile, error) {
	if !ValidID(personID) {
		return nil, fault.InvalidFields("the request has invalid fields", fault.Field{Field: "person_id", Reason: "not a person id"})
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return &Profile{st: ProfileState{PersonID: personID, OptedIn: true, Input: clean(in), OptedInAt: at, UpdatedAt: at}}, nil
}

// Update replaces the profile's content; a withdrawn profile opts in again.
func (p *Profile) Update(in ProfileInput, at time.Time) error {
	if err := in.Validate(); err != nil {
		return err
	}
	if !p.st.OptedIn {
		p.st.OptedInAt, p.st.WithdrawnAt = at, time.Time{}
	}
	p.st.OptedIn, p.st.Input, p.st.UpdatedAt = true, clean(in), at
	return nil
}

// Withdraw ends consent: the content is erased at once, only the fact of
// withdrawal remains. False when already withdrawn.
func (p *Profile) Withdraw(at time.Time) bool {
	if !p.st.OptedIn {
		return false
	}
	p.st = ProfileState{PersonID: p.st.PersonID, OptedInAt: p.st.OptedInAt, UpdatedAt: at, WithdrawnAt: at}
	return true
}

func clean(in ProfileInput) ProfileInput {
	trim := func(l []string) []string {
		var out []string
		for _, s := range l {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	in.Interests, in.Experiences, in.Affinities = trim(in.Interests), trim(in.Experiences), trim(in.Affinities)
	in.Languages, in.Avoid = trim(in.Languages), trim(in.Avoid)
	in.Availability = slices.Clone(in.Availability)
	in.Specialty, in.TrainingLevel = strings.TrimSpace(in.Specialty), strings.TrimSpace(in.TrainingLevel)
	return in
}

// RestoreProfile rebuilds a profile from its stored state.
func RestoreProfile(s ProfileState) *Profile { return &Profile{st: s} }

// State returns the stored form.
func (p *Profile) State() ProfileState { return p.st }

// PersonID is the owner.
func (p *Profile) PersonID() string { return p.st.PersonID }

// OptedIn reports consent.
func (p *Profile) OptedIn() bool { return p.st.OptedIn }

// Input is the profile's content (empty once withdrawn).
func (p *Profile) Input() ProfileInput { return p.st.Input }

// Week converts the availability to UTC hours of the week, using the time
// zone's offset in the week of ref (so DST is that of the round's date).
func (p *Profile) Week(ref time.Time) matching.Week {
	var w matching.Week
	loc, err := time.LoadLocation(p.st.Input.TimeZone)
	if err != nil {
		return w
	}
	// Monday of ref's week, in the profile's zone.
	l := ref.In(loc)
	monday := time.Date(l.Year(), l.Month(), l.Day()-(int(l.Weekday())+6)%7, 0, 0, 0, 0, loc)
	for _, win := range p.st.Input.Availability {
		d := slices.Index(Days, win.Day)
		for h := win.Start; h < win.End; h++ {
			u := time.Date(monday.Year(), monday.Month(), monday.Day()+d, h, 0, 0, 0, loc).UTC()
			w.Set(((int(u.Weekday())+6)%7)*24 + u.Hour())
		}
	}
	return w
}

func (p *Profile) attributes(ref time.Time) matching.Attributes {
	in := p.st.Input
	return matching.Attributes{Interests: in.Interests, Experiences: in.Experiences, Languages: in.Languages,
		Specialty: in.Specialty, Affinities: in.Affinities, Availability: p.Week(ref)}
}

// Mentee is the profile as the matcher sees a mentee; chain is the
// person's supervisory chain from the directory.
func (p *Profile) Mentee(chain []string, ref time.Time) matching.Mentee {
	return matching.Mentee{ID: p.st.PersonID, Attributes: p.attributes(ref), WantsAffinity: p.st.Input.WantsAffinity,
		Avoid: slices.Clone(p.st.Input.Avoid), Chain: chain}
}

// Mentor is the profile as the matcher sees a mentor.
func (p *Profile) Mentor(ref time.Time) matching.Mentor {
	return matching.Mentor{ID: p.st.PersonID, Attributes: p.attributes(ref), Capacity: p.st.Input.MentorCapacity,
		AffinityMentoring: p.st.Input.AffinityMentoring}
}

// IsMentee reports whether the profile takes part in rounds as a mentee.
func (p *Profile) IsMentee() bool { return p.st.OptedIn && p.st.Input.SeekingMentor }

// IsMentor reports whether the profile takes part in rounds as a mentor.
func (p *Profile) IsMentor() bool { return p.st.OptedIn && p.st.Input.MentorCapacity > 0 }
