// Package contract declares the events the connection service publishes.
//
// No event carries an affinity, free text (interests, experiences, titles,
// topics, announcements, feedback) or a compatibility explanation: only
// ids, codes, counts and times. Group events name no person, because
// membership of an affinity group would disclose an affinity. Scores are
// left out too, since an affinity factor contributes to them.
package contract

import (
	"time"

	"github.com/deiops/deiops/pkg/events"
)

// Service is the events.Spec service of every connection event.
const Service = "connection"

// Events lists every event type, for the catalog.
func Events() []events.Event {
	return []events.Event{
		ProfileOptedIn{}, ProfileWithdrawn{}, RoundPublished{},
		MentorshipProposed{}, MentorshipAccepted{}, MentorshipDeclined{}, MentorshipMatched{},
		MentorshipCheckinDue{}, MentorshipEnded{},
		GroupMemberJoined{}, GroupMemberLeft{},
		GatheringScheduled{}, GatheringCancelled{}, RSVPRecorded{}, WaitlistPromoted{},
	}
}

// ProfileOptedIn says a person opted in (or updated an opted-in profile).
type ProfileOptedIn struct {
	PersonID      string    `json:"person_id" desc:"Directory person id"`
	SeekingMentor bool      `json:"seeking_mentor" desc:"The person asks to be matched with a mentor"`
	Mentor        bool      `json:"mentor" desc:"The person offers to mentor (capacity above zero)"`
	At            time.Time `json:"at" desc:"When"`
}

func (ProfileOptedIn) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "profile", Action: "opted_in", Version: 1,
		Summary: "A person opted in to connection (or changed an opted-in profile); no profile content"}
}

// ProfileWithdrawn says a person withdrew consent; their profile content
// was erased and their pending proposals ended.
type ProfileWithdrawn struct {
	PersonID string    `json:"person_id" desc:"Directory person id"`
	At       time.Time `json:"at" desc:"When"`
}

func (ProfileWithdrawn) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "profile", Action: "withdrawn", Version: 1,
		Summary: "A person withdrew consent: profile erased, removed from matching, pending proposals ended"}
}

// RoundPublished says a coordinator published a reviewed matching round.
type RoundPublished struct {
	RoundID   string    `json:"round_id" desc:"Matching round id"`
	Program   string    `json:"program" desc:"Program code the round belongs to"`
	Proposals int       `json:"proposals" desc:"Number of pairs proposed to mentors"`
	Unmatched int       `json:"unmatched" desc:"Number of mentees left unmatched"`
	At        time.Time `json:"at" desc:"When"`
}

func (RoundPublished) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "round", Action: "published", Version: 1,
		Summary: "A matching round was reviewed and published; its proposals went to the mentors"}
}

// MentorshipProposed says a pair was proposed to the mentor.
type MentorshipProposed struct {
	ProposalID string    `json:"proposal_id" desc:"Proposal id"`
	RoundID    string    `json:"round_id" desc:"Matching round id"`
	MenteeID   string    `json:"mentee_id" desc:"Directory person id of the mentee"`
	MentorID   string    `json:"mentor_id" desc:"Directory person id of the mentor"`
	Attempt    int       `json:"attempt" desc:"1 for the round's pair, 2+ for fallbacks after declines or timeouts"`
	RespondBy  time.Time `json:"respond_by" desc:"When the proposal expires unanswered"`
}

func (MentorshipProposed) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "mentorship", Action: "proposed", Version: 1,
		Summary: "A mentor was asked to accept a mentee (no score, no explanation)"}
}

// MentorshipAccepted says the mentor accepted a proposal.
type MentorshipAccepted struct {
	ProposalID string    `json:"proposal_id" desc:"Proposal id"`
	RoundID    string    `json:"round_id" desc:"Matching round id"`
	At         time.Time `json:"at" desc:"When"`
}

func (MentorshipAccepted) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "mentorship", Action: "accepted", Version: 1,
		Summary: "A mentor accepted a proposal"}
}

// MentorshipDeclined says a proposal ended without acceptance.
type MentorshipDeclined struct {
	ProposalID string    `json:"proposal_id" desc:"Proposal id"`
	RoundID    string    `json:"round_id" desc:"Matching round id"`
	Reason     string    `json:"reason" desc:"Why it ended" enum:"declined,expired,withdrawn"`
	At         time.Time `json:"at" desc:"When"`
}

func (MentorshipDeclined) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "mentorship", Action: "declined", Version: 1,
		Summary: "A proposal was declined, expired unanswered or ended by a withdrawal; the mentee falls back to the next best mentor"}
}

// MentorshipMatched says a mentorship began (the pair's lifecycle starts).
type MentorshipMatched struct {
	MentorshipID string    `json:"mentorship_id" desc:"Mentorship id (the accepted proposal's id)"`
	RoundID      string    `json:"round_id" desc:"Matching round id"`
	MenteeID     string    `json:"mentee_id" desc:"Directory person id of the mentee"`
	MentorID     string    `json:"mentor_id" desc:"Directory person id of the mentor"`
	At           time.Time `json:"at" desc:"When"`
}

func (MentorshipMatched) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "mentorship", Action: "matched", Version: 1,
		Summary: "A mentorship began; its lifecycle workflow starts"}
}

// MentorshipCheckinDue says a periodic check-in of a mentorship is due.
type MentorshipCheckinDue struct {
	MentorshipID string    `json:"mentorship_id" desc:"Mentorship id"`
	Number       int       `json:"number" desc:"Check-in number, from 1"`
	At           time.Time `json:"at" desc:"When"`
}

func (MentorshipCheckinDue) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "mentorship", Action: "checkin_due", Version: 1,
		Summary: "A periodic check-in of a mentorship is due"}
}

// MentorshipEnded says a mentorship ended.
type MentorshipEnded struct {
	MentorshipID string    `json:"mentorship_id" desc:"Mentorship id"`
	Reason       string    `json:"reason" desc:"Why it ended" enum:"not_a_fit,inactivity,completed,withdrawn"`
	At           time.Time `json:"at" desc:"When"`
}

func (MentorshipEnded) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "mentorship", Action: "ended", Version: 1,
		Summary: "A mentorship ended (not a fit, inactivity, completed or withdrawn)"}
}

// GroupMemberJoined says a group gained a member. It names no person.
type GroupMemberJoined struct {
	GroupID string    `json:"group_id" desc:"Group id"`
	Members int       `json:"members" desc:"Member count after the change"`
	At      time.Time `json:"at" desc:"When"`
}

func (GroupMemberJoined) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "group", Action: "member_joined", Version: 1,
		Summary: "A group gained a member (the person is not named: membership may disclose an affinity)"}
}

// GroupMemberLeft says a group lost a member. It names no person.
type GroupMemberLeft struct {
	GroupID string    `json:"group_id" desc:"Group id"`
	Members int       `json:"members" desc:"Member count after the change"`
	At      time.Time `json:"at" desc:"When"`
}

func (GroupMemberLeft) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "group", Action: "member_left", Version: 1,
		Summary: "A group lost a member (the person is not named)"}
}

// GatheringScheduled says a gathering was scheduled.
type GatheringScheduled struct {
	GatheringID string    `json:"gathering_id" desc:"Gathering id"`
	Kind        string    `json:"kind" desc:"Kind of gathering" enum:"formal,informal,story_circle"`
	Mode        string    `json:"mode" desc:"Where it happens" enum:"in_person,virtual"`
	Capacity    int       `json:"capacity" desc:"Places"`
	StartsAt    time.Time `json:"starts_at" desc:"Start"`
}

func (GatheringScheduled) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "gathering", Action: "scheduled", Version: 1,
		Summary: "A gathering was scheduled (no title or description)"}
}

// GatheringCancelled says a gathering was cancelled; attendees were notified.
type GatheringCancelled struct {
	GatheringID string    `json:"gathering_id" desc:"Gathering id"`
	At          time.Time `json:"at" desc:"When"`
}

func (GatheringCancelled) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "gathering", Action: "cancelled", Version: 1,
		Summary: "A gathering was cancelled and its attendees notified"}
}

// RSVPRecorded says a person's RSVP changed.
type RSVPRecorded struct {
	GatheringID string    `json:"gathering_id" desc:"Gathering id"`
	PersonID    string    `json:"person_id" desc:"Directory person id"`
	Status      string    `json:"status" desc:"The RSVP's state" enum:"confirmed,waitlisted,cancelled"`
	Position    int       `json:"position,omitempty" desc:"Waitlist position from 1 when waitlisted"`
	At          time.Time `json:"at" desc:"When"`
}

func (RSVPRecorded) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "rsvp", Action: "recorded", Version: 1,
		Summary: "An RSVP was confirmed, waitlisted or cancelled"}
}

// WaitlistPromoted says a waitlisted person got a place.
type WaitlistPromoted struct {
	GatheringID string    `json:"gathering_id" desc:"Gathering id"`
	PersonID    string    `json:"person_id" desc:"Directory person id"`
	At          time.Time `json:"at" desc:"When"`
}

func (WaitlistPromoted) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "waitlist", Action: "promoted", Version: 1,
		Summary: "The first waitlisted person got a freed place"}
}
