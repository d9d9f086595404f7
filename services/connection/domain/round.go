package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/connection/matching"
)

// Round defaults and limits.
const (
	DefaultResponseWindow = 72 * time.Hour
	MinResponseWindow     = time.Hour
	MaxResponseWindow     = 30 * 24 * time.Hour
	MaxMinScore           = 1000
	MaxAffinityLoadCap    = 10
)

// RoundStatus is a round's state.
type RoundStatus string

const (
	RoundDraft     RoundStatus = "draft"
	RoundPublished RoundStatus = "published"
)

// ProposalStatus is a proposal's state.
type ProposalStatus string

const (
	ProposalDraft     ProposalStatus = "draft" // in a round under review
	ProposalPending   ProposalStatus = "pending"
	ProposalAccepted  ProposalStatus = "accepted"
	ProposalDeclined  ProposalStatus = "declined"
	ProposalExpired   ProposalStatus = "expired"
	ProposalWithdrawn ProposalStatus = "withdrawn"
	// ProposalEnded: an accepted proposal whose mentorship ended.
	ProposalEnded ProposalStatus = "ended"
)

// RoundSettings are a round's program settings.
type RoundSettings struct {
	Program         string           `json:"program"`
	Weights         matching.Weights `json:"weights"`
	MinScore        int              `json:"min_score"`
	AffinityLoadCap int              `json:"affinity_load_cap"`
	ResponseWindow  time.Duration    `json:"response_window"`
}

// Validate checks the settings; zero values take defaults.
func (s RoundSettings) Validate() error {
	var c checker
	if !ValidID(s.Program) {
		c.fail("program", "required program code (letters, digits, . _ : -)")
	}
	if s.Weights != (matching.Weights{}) {
		for _, f := range s.Weights.Validate() {
			if f == "weights" {
				c.fail("weights", "at least one weight must be positive")
			} else {
				c.fail("weights."+f, "0..%d", matching.MaxWeight)
			}
		}
	}
	if s.MinScore < 0 || s.MinScore > MaxMinScore {
		c.fail("min_score", "0..%d", MaxMinScore)
	}
	if s.AffinityLoadCap < 0 || s.AffinityLoadCap > MaxAffinityLoadCap {
		c.fail("affinity_load_cap", "0..%d", MaxAffinityLoadCap)
	}
	if s.ResponseWindow != 0 && (s.ResponseWindow < MinResponseWindow || s.ResponseWindow > MaxResponseWindow) {
		c.fail("response_window_hours", "between %v and %v", MinResponseWindow, MaxResponseWindow)
	}
	return c.err()
}

// Options are the matcher options of the settings.
func (s RoundSettings) Options() matching.Options {
	return matching.Options{Weights: s.Weights, MinScore: s.MinScore, AffinityLoadCap: s.AffinityLoadCap}
}

func (s RoundSettings) window() time.Duration {
	if s.ResponseWindow == 0 {
		return DefaultResponseWindow
	}
	return s.ResponseWindow
}

// Proposal is one proposed pair. AffinityPoints is restricted (sealed at
// rest, never shown): Score includes it, VisibleScore does not.
type Proposal struct {
	ID             string            `json:"id"`
	Mentee         string            `json:"mentee"`
	Mentor         string            `json:"mentor"`
	Score          int               `json:"score"`
	AffinityPoints int               `json:"affinity_points,omitempty"`
	Factors        []matching.Factor `json:"factors,omitempty"`
	Attempt        int               `json:"attempt"`
	Status         ProposalStatus    `json:"status"`
	ProposedAt     time.Time         `json:"proposed_at"`
	RespondBy      time.Time         `json:"respond_by,omitzero"`
	DecidedAt      time.Time         `json:"decided_at,omitzero"`
	// Mentorship lifecycle (accepted proposals): check-ins published and
	// how it ended.
	Checkins  int       `json:"checkins,omitempty"`
	EndReason string    `json:"end_reason,omitempty"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Feedback maps each participant who gave end-of-mentorship feedback
	// to their rating (1..5). Sealed at rest with the rest of the round.
	Feedback map[string]int `json:"feedback,omitempty"`
}

// VisibleScore is the score without its restricted affinity part.
func (p Proposal) VisibleScore() int { return p.Score - p.AffinityPoints }

// Unmatched is a mentee without a mentor and the binding constraint.
type Unmatched struct {
	Mentee   string `json:"mentee"`
	Reason   string `json:"reason"`
	Feasible int    `json:"feasible"`
}

// RoundState is a round's stored form.
type RoundState struct {
	ID          string        `json:"id"`
	CreatedBy   string        `json:"created_by"`
	Settings    RoundSettings `json:"settings"`
	Status      RoundStatus   `json:"status"`
	CreatedAt   time.Time     `json:"created_at"`
	PublishedAt time.Time     `json:"published_at,omitzero"`
	Objective   int64         `json:"objective"`
	Proposals   []Proposal    `json:"proposals"`
	Unmatched   []Unmatched   `json:"unmatched"`
	Seq         int           `json:"seq"`
}

// Round is a matching round: a draft under review, then published with
// its proposals open to the mentors.
type Round struct{ st RoundState }

// NewRound records the matcher's result as a draft.
func NewRound(id, by string, s RoundSettings, res matching.Result, at time.Time) *Round {
	r := &Round{st: RoundState{ID: id, CreatedBy: by, Settings: s, Status: RoundDraft, CreatedAt: at, Objective: res.Objective}}
	for _, p := range res.Pairs {
		r.addProposal(p, 1, ProposalDraft, at)
	}
	for _, u := range res.Unmatched {
		r.st.Unmatched = append(r.st.Unmatched, Unmatched{Mentee: u.Mentee, Reason: string(u.Reason), Feasible: u.Feasible})
	}
	return r
}

func (r *Round) addProposal(p matching.Pair, attempt int, st ProposalStatus, at time.Time) Proposal {
	r.st.Seq++
	pr := Proposal{ID: fmt.Sprintf("%s-p%d", r.st.ID, r.st.Seq), Mentee: p.Mentee, Mentor: p.Mentor, Score: p.Score,
		AffinityPoints: p.AffinityPoints, Factors: p.Factors, Attempt: attempt, Status: st, ProposedAt: at}
	if st == ProposalPending {
		pr.RespondBy = at.Add(r.st.Settings.window())
	}
	r.st.Proposals = append(r.st.Proposals, pr)
	return pr
}

// RestoreRound rebuilds a round from its stored state.
func RestoreRound(s RoundState) *Round { return &Round{st: s} }

// State returns the stored form.
func (r *Round) State() RoundState { return r.st }

// ID is the round id.
func (r *Round) ID() string { return r.st.ID }

// Status is the round's state.
func (r *Round) Status() RoundStatus { return r.st.Status }

// Settings are the round's settings.
func (r *Round) Settings() RoundSettings { return r.st.Settings }

// Proposals returns a copy of the proposals.
func (r *Round) Proposals() []Proposal { return slices.Clone(r.st.Proposals) }

// Unmatched returns a copy of the unmatched mentees.
func (r *Round) Unmatched() []Unmatched { return slices.Clone(r.st.Unmatched) }

// Publish opens the draft's proposals to the mentors.
func (r *Round) Publish(at time.Time) ([]Proposal, error) {
	if r.st.Status != RoundDraft {
		return nil, fmt.Errorf("round %s is %s: %w", r.st.ID, r.st.Status, ErrConflict)
	}
	r.st.Status, r.st.PublishedAt = RoundPublished, at
	var out []Proposal
	for i := range r.st.Proposals {
		p := &r.st.Proposals[i]
		p.Status, p.ProposedAt, p.RespondBy = ProposalPending, at, at.Add(r.st.Settings.window())
		out = append(out, *p)
	}
	return out, nil
}

func (r *Round) find(id string) (*Proposal, error) {
	for i := range r.st.Proposals {
		if r.st.Proposals[i].ID == id {
			return &r.st.Proposals[i], nil
		}
	}
	return nil, fmt.Errorf("proposal %s: %w", id, ErrNotFound)
}

// Proposal returns one proposal.
func (r *Round) Proposal(id string) (Proposal, error) {
	p, err := r.find(id)
	if err != nil {
		return Proposal{}, err
	}
	return *p, nil
}

// Decide records the mentor's answer. Repeating the same answer changes
// nothing (changed false); a different answer after a decision conflicts.
func (r *Round) Decide(id, mentor string, accept bool, at time.Time) (p Proposal, changed bool, err error) {
	pp, err := r.find(id)
	if err != nil {
		return Proposal{}, false, err
	}
	if pp.Mentor != mentor {
		return Proposal{}, false, fmt.Errorf("proposal %s is not addressed to %s: %w", id, mentor, ErrForbidden)
	}
	want := ProposalDeclined
	if accept {
		want = ProposalAccepted
	}
	switch {
	case pp.Status == want:
		return *pp, false, nil
	case pp.Status != ProposalPending:
		return Proposal{}, false, fmt.Errorf("proposal %s is %s: %w", id, pp.Status, ErrConflict)
	case !at.Before(pp.RespondBy):
		return Proposal{}, false, fmt.Errorf("proposal %s expired at %s: %w", id, pp.RespondBy.Format(time.RFC3339), ErrConflict)
	}
	pp.Status, pp.DecidedAt = want, at
	return *pp, true, nil
}

// Expire marks pending proposals past their deadline as expired.
func (r *Round) Expire(at time.Time) []Proposal {
	var out []Proposal
	for i := range r.st.Proposals {
		p := &r.st.Proposals[i]
		if p.Status == ProposalPending && !at.Before(p.RespondBy) {
			p.Status, p.DecidedAt = ProposalExpired, at
			out = append(out, *p)
		}
	}
	return out
}

// RemovePerson takes a person who withdrew consent out of the round: their
// open proposals (as mentee or mentor) are withdrawn and, as a mentee,
// they leave the unmatched list. It returns the withdrawn proposals.
func (r *Round) RemovePerson(person string, at time.Time) []Proposal {
	var out []Proposal
	for i := range r.st.Proposals {
		p := &r.st.Proposals[i]
		if (p.Mentee == person || p.Mentor == person) && (p.Status == ProposalPending || p.Status == ProposalDraft) {
			p.Status, p.DecidedAt = ProposalWithdrawn, at
			out = append(out, *p)
		}
	}
	r.st.Unmatched = slices.DeleteFunc(r.st.Unmatched, func(u Unmatched) bool { return u.Mentee == person })
	return out
}

// Tried lists the mentors already proposed for the mentee in this round.
func (r *Round) Tried(mentee string) map[string]bool {
	out := map[string]bool{}
	for _, p := range r.st.Proposals {
		if p.Mentee == mentee {
			out[p.Mentor] = true
		}
	}
	return out
}

// Loads counts each mentor's open and accepted proposals in this round.
func (r *Round) Loads() map[string]int {
	out := map[string]int{}
	for _, p := range r.st.Proposals {
		if p.Status == ProposalPending || p.Status == ProposalAccepted || p.Status == ProposalDraft {
			out[p.Mentor]++
		}
	}
	return out
}

// HasOpen reports whether the mentee has a pending or accepted proposal.
func (r *Round) HasOpen(mentee string) bool {
	for _, p := range r.st.Proposals {
		if p.Mentee == mentee && (p.Status == ProposalPending || p.Status == ProposalAccepted) {
			return true
		}
	}
	return false
}

// Fallback proposes the next best mentor to a mentee after a decline, a
// timeout or a mentor's withdrawal; with no candidate the mentee is
// reported unmatched with reason.
func (r *Round) Fallback(mentee string, next *matching.Pair, reason string, at time.Time) (Proposal, bool) {
	attempt := 1
	for _, p := range r.st.Proposals {
		if p.Mentee == mentee {
			attempt = max(attempt, p.Attempt+1)
		}
	}
	r.st.Unmatched = slices.DeleteFunc(r.st.Unmatched, func(u Unmatched) bool { return u.Mentee == mentee })
	if next == nil {
		r.st.Unmatched = append(r.st.Unmatched, Unmatched{Mentee: mentee, Reason: reason})
		return Proposal{}, false
	}
	st := ProposalPending
	if r.st.Status == RoundDraft {
		st = ProposalDraft
	}
	return r.addProposal(*next, attempt, st, at), true
}

// RoundOfProposal returns the round id a proposal (mentorship) id belongs to.
func RoundOfProposal(id string) (string, bool) {
	i := strings.LastIndex(id, "-p")
	if i <= 0 {
		return "", false
	}
	return id[:i], true
}

// Checkin records that check-in number of an accepted proposal's
// mentorship is due; false when already recorded (idempotent).
func (r *Round) Checkin(id string, number int) (Proposal, bool, error) {
	p, err := r.find(id)
	if err != nil {
		return Proposal{}, false, err
	}
	if p.Status != ProposalAccepted || number <= p.Checkins {
		return *p, false, nil
	}
	p.Checkins = number
	return *p, true, nil
}

// EndMentorship ends an accepted proposal's mentorship; false when it had
// already ended (idempotent).
func (r *Round) EndMentorship(id, reason string, at time.Time) (Proposal, bool, error) {
	p, err := r.find(id)
	if err != nil {
		return Proposal{}, false, err
	}
	if p.Status != ProposalAccepted {
		return *p, false, nil
	}
	p.Status, p.EndReason, p.EndedAt = ProposalEnded, reason, at
	return *p, true, nil
}

// RecordFeedback stores a participant's rating (1..5) of an ended
// mentorship; a second rating replaces the first.
func (r *Round) RecordFeedback(id, by string, rating int) (bool, error) {
	p, err := r.find(id)
	if err != nil {
		return false, err
	}
	if p.Status != ProposalEnded {
		return false, fmt.Errorf("mentorship %s has not ended: %w", id, ErrConflict)
	}
	if by != p.Mentee && by != p.Mentor {
		return false, fmt.Errorf("mentorship %s: %w", id, ErrForbidden)
	}
	if rating < 1 || rating > 5 {
		return false, fault.InvalidFields("the request has invalid fields", fault.Field{Field: "rating", Reason: "1..5"})
	}
	if p.Feedback[by] == rating {
		return false, nil
	}
	if p.Feedback == nil {
		p.Feedback = map[string]int{}
	}
	p.Feedback[by] = rating
	return true, nil
}
