package domain

import (
	"fmt"
	"slices"
	"time"
)

// Gathering limits.
const (
	MaxCapacity    = 10000
	MaxTopics      = 200
	MaxTopicLength = 1000
	MaxTitleLength = 200
)

// Gathering kinds and modes.
var (
	GatheringKinds = []string{"formal", "informal", "story_circle"}
	GatheringModes = []string{"in_person", "virtual"}
)

// RSVP states.
const (
	RSVPConfirmed  = "confirmed"
	RSVPWaitlisted = "waitlisted"
	RSVPCancelled  = "cancelled"
	RSVPNone       = "none"
)

// GatheringInput describes a gathering.
type GatheringInput struct {
	Title       string
	Description string
	Kind        string
	Mode        string
	Location    string // room or meeting link
	StartsAt    time.Time
	EndsAt      time.Time
	Capacity    int
}

// Validate checks an input against the current time.
func (in GatheringInput) Validate(now time.Time) error {
	var c checker
	c.text("title", in.Title, MaxTitleLength, true)
	c.text("description", in.Description, 4000, false)
	c.text("location", in.Location, 500, false)
	if !slices.Contains(GatheringKinds, in.Kind) {
		c.fail("kind", "one of formal, informal, story_circle")
	}
	if !slices.Contains(GatheringModes, in.Mode) {
		c.fail("mode", "one of in_person, virtual")
	}
	if in.StartsAt.IsZero() || !in.StartsAt.After(now) {
		c.fail("starts_at", "a future time")
	}
	if !in.EndsAt.After(in.StartsAt) || in.EndsAt.Sub(in.StartsAt) > 7*24*time.Hour {
		c.fail("ends_at", "after starts_at, within 7 days")
	}
	if in.Capacity < 1 || in.Capacity > MaxCapacity {
		c.fail("capacity", "1..%d", MaxCapacity)
	}
	return c.err()
}

// Topic is a story-circle topic suggestion. Submitter is empty when it was
// submitted anonymously: nothing links it to a person.
type Topic struct {
	ID        string    `json:"id"`
	Text      string    `json:"text"`
	Submitter string    `json:"submitter,omitempty"`
	At        time.Time `json:"at"`
}

// GatheringState is a gathering's stored form.
type GatheringState struct {
	ID          string         `json:"id"`
	Organizer   string         `json:"organizer"`
	Input       GatheringInput `json:"input"`
	Cancelled   bool           `json:"cancelled,omitempty"`
	CancelledAt time.Time      `json:"cancelled_at,omitzero"`
	Confirmed   []string       `json:"confirmed"`
	Waitlist    []string       `json:"waitlist"`
	Reminded    bool           `json:"reminded,omitempty"`
	Topics      []Topic        `json:"topics,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
}

// Gathering is a formal or informal gathering or a story circle, with a
// capacity, confirmed attendees and a waitlist that is promoted in order.
type Gathering struct{ st GatheringState }

// ScheduleGathering creates a gathering.
func ScheduleGathering(id, organizer string, in GatheringInput, now time.Time) (*Gathering, error) {
	if err := in.Validate(now); err != nil {
		return nil, err
	}
	return &Gathering{st: GatheringState{ID: id, Organizer: organizer, Input: in, CreatedAt: now}}, nil
}

// RestoreGathering rebuilds a gathering.
func RestoreGathering(s GatheringState) *Gathering { return &Gathering{st: s} }

// State returns the stored form.
func (g *Gathering) State() GatheringState { return g.st }

// ID is the gathering id.
func (g *Gathering) ID() string { return g.st.ID }

// Organizer is the person who scheduled it.
func (g *Gathering) Organizer() string { return g.st.Organizer }

func (g *Gathering) open() error {
	if g.st.Cancelled {
		return fmt.Errorf("gathering %s is cancelled: %w", g.st.ID, ErrConflict)
	}
	return nil
}

// StatusOf is a person's RSVP state and waitlist position (from 1).
func (g *Gathering) StatusOf(person string) (string, int) {
	if slices.Contains(g.st.Confirmed, person) {
		return RSVPConfirmed, 0
	}
	if i := slices.Index(g.st.Waitlist, person); i >= 0 {
		return RSVPWaitlisted, i + 1
	}
	return RSVPNone, 0
}

// RSVP confirms the person while places remain, else waitlists them at
// the end. Repeating an RSVP changes nothing (changed false).
func (g *Gathering) RSVP(person string, now time.Time) (status string, position int, changed bool, err error) {
	if err := g.open(); err != nil {
		return "", 0, false, err
	}
	if !now.Before(g.st.Input.StartsAt) {
		return "", 0, false, fmt.Errorf("gathering %s has started: %w", g.st.ID, ErrConflict)
	}
	if st, pos := g.StatusOf(person); st != RSVPNone {
		return st, pos, false, nil
	}
	if len(g.st.Confirmed) < g.st.Input.Capacity {
		g.st.Confirmed = append(g.st.Confirmed, person)
		return RSVPConfirmed, 0, true, nil
	}
	g.st.Waitlist = append(g.st.Waitlist, person)
	return RSVPWaitlisted, len(g.st.Waitlist), true, nil
}

// CancelRSVP removes the person; a freed place goes to the first
// waitlisted person, who is returned as promoted ("" when none).
func (g *Gathering) CancelRSVP(person string) (was string, promoted string, err error) {
	if err := g.open(); err != nil {
		return "", "", err
	}
	was, _ = g.StatusOf(person)
	switch was {
	case RSVPConfirmed:
		g.st.Confirmed = slices.DeleteFunc(g.st.Confirmed, func(p string) bool { return p == person })
		if len(g.st.Waitlist) > 0 && len(g.st.Confirmed) < g.st.Input.Capacity {
			promoted = g.st.Waitlist[0]
			g.st.Waitlist = g.st.Waitlist[1:]
			g.st.Confirmed = append(g.st.Confirmed, promoted)
		}
	case RSVPWaitlisted:
		g.st.Waitlist = slices.DeleteFunc(g.st.Waitlist, func(p string) bool { return p == person })
	}
	return was, promoted, nil
}

// Cancel cancels the gathering; it returns everyone to notify (confirmed
// and waitlisted). Cancelling twice changes nothing.
func (g *Gathering) Cancel(now time.Time) ([]string, bool) {
	if g.st.Cancelled {
		return nil, false
	}
	g.st.Cancelled, g.st.CancelledAt = true, now
	return append(slices.Clone(g.st.Confirmed), g.st.Waitlist...), true
}

// Cancelled reports cancellation.
func (g *Gathering) Cancelled() bool { return g.st.Cancelled }

// DueReminder reports whether the reminder is due at now (within lead of
// the start, not yet sent, not cancelled) and marks it sent; it returns the
// confirmed attendees to remind.
func (g *Gathering) DueReminder(now time.Time, lead time.Duration) ([]string, bool) {
	if g.st.Cancelled || g.st.Reminded || now.Before(g.st.Input.StartsAt.Add(-lead)) || !now.Before(g.st.Input.StartsAt) {
		return nil, false
	}
	g.st.Reminded = true
	return slices.Clone(g.st.Confirmed), true
}

// SuggestTopic adds a story-circle topic suggestion; anonymous ones keep
// no submitter.
func (g *Gathering) SuggestTopic(id, text, submitter string, anonymous bool, now time.Time) (Topic, error) {
	for _, t := range g.st.Topics {
		if t.ID == id { // the retry of the request that added it
			return t, nil
		}
	}
	if err := g.open(); err != nil {
		return Topic{}, err
	}
	if g.st.Input.Kind != "story_circle" {
		return Topic{}, fmt.Errorf("gathering %s is not a story circle: %w", g.st.ID, ErrConflict)
	}
	var c checker
	c.text("text", text, MaxTopicLength, true)
	if err := c.err(); err != nil {
		return Topic{}, err
	}
	if len(g.st.Topics) >= MaxTopics {
		return Topic{}, fmt.Errorf("gathering %s has %d topics: %w", g.st.ID, MaxTopics, ErrConflict)
	}
	t := Topic{ID: id, Text: text, At: now.Truncate(24 * time.Hour)} // day only: no timing correlation
	if !anonymous {
		t.Submitter = submitter
	}
	g.st.Topics = append(g.st.Topics, t)
	return t, nil
}
