package ports

import (
	"time"

	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/connection/domain"
	"github.com/deiops/deiops/services/connection/matching"
)

// fieldErrors lists the field problems of a domain validation error.
func fieldErrors(err error) []httpapi.FieldError {
	if f, ok := fault.As(err); ok {
		return f.Fields
	}
	return nil
}

// WindowBody is a weekly availability window in the profile's time zone.
type WindowBody struct {
	Day   string `json:"day" desc:"Day of the week" enum:"mon,tue,wed,thu,fri,sat,sun"`
	Start int    `json:"start" desc:"First hour (0..23), local time"`
	End   int    `json:"end" desc:"Hour the window ends (exclusive, 1..24), local time"`
}

// ProfileRequest is the body of PUT /v1/connection/profiles/{person}.
// Sending it is opting in.
type ProfileRequest struct {
	Interests         []string     `json:"interests,omitempty" desc:"Self-described interests" maxItems:"20"`
	Experiences       []string     `json:"experiences,omitempty" desc:"Self-described experiences, e.g. first-generation, international medical graduate, parent, veteran, career changer" maxItems:"20"`
	Affinities        []string     `json:"affinities,omitempty" desc:"Optional self-identified affinities. Restricted: visible only to you and the matcher, never inferred, never in events" maxItems:"5"`
	WantsAffinity     bool         `json:"wants_affinity,omitempty" desc:"Count shared affinity when matching me with a mentor (restricted)"`
	Specialty         string       `json:"specialty,omitempty" desc:"Specialty"`
	TrainingLevel     string       `json:"training_level,omitempty" desc:"Training level"`
	Languages         []string     `json:"languages,omitempty" desc:"Languages spoken" maxItems:"20"`
	Availability      []WindowBody `json:"availability,omitempty" desc:"Weekly availability in time_zone" maxItems:"21"`
	TimeZone          string       `json:"time_zone" desc:"IANA time zone, e.g. America/Chicago"`
	SeekingMentor     bool         `json:"seeking_mentor,omitempty" desc:"Take part in matching rounds as a mentee"`
	MentorCapacity    int          `json:"mentor_capacity,omitempty" desc:"Mentees you can take on (0..10); above 0 takes part as a mentor"`
	AffinityMentoring bool         `json:"affinity_mentoring,omitempty" desc:"Offer affinity mentoring; the program caps your load (restricted)"`
	Avoid             []string     `json:"avoid,omitempty" desc:"Person ids you will not be matched with" maxItems:"50"`
}

func (r ProfileRequest) input() domain.ProfileInput {
	in := domain.ProfileInput{Interests: r.Interests, Experiences: r.Experiences, Affinities: r.Affinities,
		WantsAffinity: r.WantsAffinity, Specialty: r.Specialty, TrainingLevel: r.TrainingLevel, Languages: r.Languages,
		TimeZone: r.TimeZone, SeekingMentor: r.SeekingMentor, MentorCapacity: r.MentorCapacity,
		AffinityMentoring: r.AffinityMentoring, Avoid: r.Avoid}
	for _, w := range r.Availability {
		in.Availability = append(in.Availability, domain.Window{Day: w.Day, Start: w.Start, End: w.End})
	}
	return in
}

// Validate implements httpapi.Validator.
func (r ProfileRequest) Validate() []httpapi.FieldError { return fieldErrors(r.input().Validate()) }

// ProfileResponse is a profile. The restricted fields appear only in the
// person's own view.
type ProfileResponse struct {
	PersonID          string       `json:"person_id" desc:"Directory person id"`
	OptedIn           bool         `json:"opted_in" desc:"False once consent was withdrawn (the content is then erased)"`
	Interests         []string     `json:"interests" desc:"Interests"`
	Experiences       []string     `json:"experiences" desc:"Experiences"`
	Affinities        []string     `json:"affinities,omitempty" desc:"Own view only"`
	WantsAffinity     bool         `json:"wants_affinity,omitempty" desc:"Own view only"`
	AffinityMentoring bool         `json:"affinity_mentoring,omitempty" desc:"Own view only"`
	Avoid             []string     `json:"avoid,omitempty" desc:"Own view only"`
	Specialty         string       `json:"specialty" desc:"Specialty"`
	TrainingLevel     string       `json:"training_level" desc:"Training level"`
	Languages         []string     `json:"languages" desc:"Languages"`
	Availability      []WindowBody `json:"availability" desc:"Weekly availability"`
	TimeZone          string       `json:"time_zone" desc:"IANA time zone"`
	SeekingMentor     bool         `json:"seeking_mentor" desc:"Takes part as a mentee"`
	MentorCapacity    int          `json:"mentor_capacity" desc:"Mentor capacity"`
	UpdatedAt         time.Time    `json:"updated_at" desc:"Last change"`
}

func profileResponse(p *domain.Profile, full bool) ProfileResponse {
	st := p.State()
	in := st.Input
	out := ProfileResponse{PersonID: st.PersonID, OptedIn: st.OptedIn, Interests: nonNil(in.Interests), Experiences: nonNil(in.Experiences),
		Specialty: in.Specialty, TrainingLevel: in.TrainingLevel, Languages: nonNil(in.Languages), TimeZone: in.TimeZone,
		SeekingMentor: in.SeekingMentor, MentorCapacity: in.MentorCapacity, UpdatedAt: st.UpdatedAt, Availability: []WindowBody{}}
	for _, w := range in.Availability {
		out.Availability = append(out.Availability, WindowBody{Day: w.Day, Start: w.Start, End: w.End})
	}
	if full {
		out.Affinities, out.WantsAffinity, out.AffinityMentoring, out.Avoid = in.Affinities, in.WantsAffinity, in.AffinityMentoring, in.Avoid
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WeightsBody are points per unit of each compatibility factor (0..100).
type WeightsBody struct {
	Interest     int `json:"interest" desc:"Per shared interest (up to 5)"`
	Experience   int `json:"experience" desc:"Per shared experience (up to 3)"`
	Specialty    int `json:"specialty" desc:"Same specialty"`
	Language     int `json:"language" desc:"Per shared language (up to 2)"`
	Availability int `json:"availability" desc:"Per overlapping hour of weekly availability (up to 4)"`
	Affinity     int `json:"affinity" desc:"Per shared affinity (up to 2), only where the mentee asks for it and the mentor offers affinity mentoring"`
}

// RoundRequest is the body of POST /v1/connection/rounds.
type RoundRequest struct {
	Program             string       `json:"program" desc:"Program code"`
	Weights             *WeightsBody `json:"weights,omitempty" desc:"Compatibility weights; the defaults when absent"`
	MinScore            int          `json:"min_score,omitempty" desc:"Lowest score of a feasible pair (default 1)"`
	AffinityLoadCap     int          `json:"affinity_load_cap,omitempty" desc:"Most mentees for a mentor who offers affinity mentoring (default 2)"`
	ResponseWindowHours int          `json:"response_window_hours,omitempty" desc:"Hours a mentor has to answer (default 72)"`
}

func (r RoundRequest) settings() domain.RoundSettings {
	s := domain.RoundSettings{Program: r.Program, MinScore: r.MinScore, AffinityLoadCap: r.AffinityLoadCap,
		ResponseWindow: time.Duration(r.ResponseWindowHours) * time.Hour}
	if r.Weights != nil {
		s.Weights = matching.Weights(*r.Weights)
	}
	return s
}

// Validate implements httpapi.Validator.
func (r RoundRequest) Validate() []httpapi.FieldError {
	if r.Weights != nil && *r.Weights == (WeightsBody{}) {
		return []httpapi.FieldError{{Field: "weights", Reason: "at least one weight must be positive"}}
	}
	if r.ResponseWindowHours < 0 {
		return []httpapi.FieldError{{Field: "response_window_hours", Reason: "positive"}}
	}
	return fieldErrors(r.settings().Validate())
}

// FactorBody is one shared factor of a pair.
type FactorBody struct {
	Kind   string   `json:"kind" desc:"Factor" enum:"interests,experiences,specialty,languages,availability"`
	Points int      `json:"points" desc:"Points it adds"`
	Shared []string `json:"shared,omitempty" desc:"The shared values"`
}

// ProposalResponse is a proposed pair and its explanation (top shared
// factors). Affinity never appears: score excludes its points.
type ProposalResponse struct {
	ID        string       `json:"id" desc:"Proposal id"`
	RoundID   string       `json:"round_id" desc:"Round id"`
	MenteeID  string       `json:"mentee_id" desc:"Mentee"`
	MentorID  string       `json:"mentor_id" desc:"Mentor"`
	Score     int          `json:"score" desc:"Compatibility score of the shown factors"`
	Factors   []FactorBody `json:"factors" desc:"Top shared factors"`
	Attempt   int          `json:"attempt" desc:"1 for the round's pair, 2+ for fallbacks"`
	Status    string       `json:"status" desc:"Proposal state" enum:"draft,pending,accepted,declined,expired,withdrawn"`
	RespondBy time.Time    `json:"respond_by,omitzero" desc:"Deadline of the mentor's answer"`
	DecidedAt time.Time    `json:"decided_at,omitzero" desc:"When it was answered or ended"`
}

func proposalResponse(round string, p domain.Proposal) ProposalResponse {
	out := ProposalResponse{ID: p.ID, RoundID: round, MenteeID: p.Mentee, MentorID: p.Mentor, Score: p.VisibleScore(),
		Attempt: p.Attempt, Status: string(p.Status), RespondBy: p.RespondBy, DecidedAt: p.DecidedAt, Factors: []FactorBody{}}
	for _, f := range p.Factors {
		if f.Kind == matching.FactorAffinity {
			continue
		}
		out.Factors = append(out.Factors, FactorBody{Kind: f.Kind, Points: f.Points, Shared: f.Shared})
	}
	return out
}

// UnmatchedBody is a mentee without a mentor and the binding constraint.
type UnmatchedBody struct {
	MenteeID string `json:"mentee_id" desc:"Mentee"`
	Reason   string `json:"reason" desc:"Binding constraint" enum:"no_mentors,supervisory_chain,avoid_list,low_compatibility,capacity,affinity_load_cap,declined_or_expired"`
	Feasible int    `json:"feasible" desc:"Feasible mentors the round had for them"`
}

// RoundResponse is a round for coordinators.
type RoundResponse struct {
	ID          string             `json:"id" desc:"Round id"`
	Program     string             `json:"program" desc:"Program"`
	Status      string             `json:"status" desc:"Round state" enum:"draft,published"`
	CreatedAt   time.Time          `json:"created_at" desc:"When it was computed"`
	PublishedAt time.Time          `json:"published_at,omitzero" desc:"When it was published"`
	Proposals   []ProposalResponse `json:"proposals" desc:"Proposed pairs"`
	Unmatched   []UnmatchedBody    `json:"unmatched" desc:"Mentees without a mentor"`
}

func roundResponse(r *domain.Round) RoundResponse {
	st := r.State()
	out := RoundResponse{ID: st.ID, Program: st.Settings.Program, Status: string(st.Status), CreatedAt: st.CreatedAt,
		PublishedAt: st.PublishedAt, Proposals: []ProposalResponse{}, Unmatched: []UnmatchedBody{}}
	for _, p := range st.Proposals {
		out.Proposals = append(out.Proposals, proposalResponse(st.ID, p))
	}
	for _, u := range st.Unmatched {
		out.Unmatched = append(out.Unmatched, UnmatchedBody{MenteeID: u.Mentee, Reason: u.Reason, Feasible: u.Feasible})
	}
	return out
}

// ProposalList is the actor's proposals.
type ProposalList struct {
	Proposals []ProposalResponse `json:"proposals" desc:"Proposals addressed to you as mentor"`
}

// GatheringRequest is the body of POST /v1/connection/gatherings.
type GatheringRequest struct {
	Title       string    `json:"title" desc:"Title" maxLength:"200"`
	Description string    `json:"description,omitempty" desc:"Description" maxLength:"4000"`
	Kind        string    `json:"kind" desc:"Kind" enum:"formal,informal,story_circle"`
	Mode        string    `json:"mode" desc:"Where" enum:"in_person,virtual"`
	Location    string    `json:"location,omitempty" desc:"Room or meeting link"`
	StartsAt    time.Time `json:"starts_at" desc:"Start (future)"`
	EndsAt      time.Time `json:"ends_at" desc:"End"`
	Capacity    int       `json:"capacity" desc:"Places (1..10000)"`
}

func (r GatheringRequest) input() domain.GatheringInput {
	return domain.GatheringInput{Title: r.Title, Description: r.Description, Kind: r.Kind, Mode: r.Mode, Location: r.Location,
		StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(), Capacity: r.Capacity}
}

// GatheringResponse is a gathering. Attendee lists are shown to the
// organiser only; everyone sees counts and their own RSVP.
type GatheringResponse struct {
	ID         string    `json:"id" desc:"Gathering id"`
	Organizer  string    `json:"organizer" desc:"Organiser"`
	Title      string    `json:"title" desc:"Title"`
	Kind       string    `json:"kind" desc:"Kind"`
	Mode       string    `json:"mode" desc:"Mode"`
	Location   string    `json:"location" desc:"Room or meeting link"`
	StartsAt   time.Time `json:"starts_at" desc:"Start"`
	EndsAt     time.Time `json:"ends_at" desc:"End"`
	Capacity   int       `json:"capacity" desc:"Places"`
	Confirmed  int       `json:"confirmed" desc:"Confirmed attendees"`
	Waitlisted int       `json:"waitlisted" desc:"Waitlisted people"`
	Cancelled  bool      `json:"cancelled" desc:"Cancelled"`
	MyRSVP     string    `json:"my_rsvp" desc:"Your RSVP" enum:"confirmed,waitlisted,none"`
	MyPosition int       `json:"my_position,omitempty" desc:"Your waitlist position"`
	Attendees  []string  `json:"attendees,omitempty" desc:"Organiser only: confirmed, in order"`
	Waitlist   []string  `json:"waitlist,omitempty" desc:"Organiser only: waitlist, in order"`
}

func gatheringResponse(g *domain.Gathering, viewer string) GatheringResponse {
	st := g.State()
	in := st.Input
	my, pos := g.StatusOf(viewer)
	out := GatheringResponse{ID: st.ID, Organizer: st.Organizer, Title: in.Title, Kind: in.Kind, Mode: in.Mode, Location: in.Location,
		StartsAt: in.StartsAt, EndsAt: in.EndsAt, Capacity: in.Capacity, Confirmed: len(st.Confirmed), Waitlisted: len(st.Waitlist),
		Cancelled: st.Cancelled, MyRSVP: my, MyPosition: pos}
	if viewer == st.Organizer {
		out.Attendees, out.Waitlist = nonNil(st.Confirmed), nonNil(st.Waitlist)
	}
	return out
}

// GatheringList is every gathering.
type GatheringList struct {
	Gatherings []GatheringResponse `json:"gatherings" desc:"Gatherings"`
}

// RSVPResponse is the result of an RSVP.
type RSVPResponse struct {
	Status   string `json:"status" desc:"Your RSVP" enum:"confirmed,waitlisted,none"`
	Position int    `json:"position,omitempty" desc:"Waitlist position from 1"`
}

// TopicRequest suggests a story-circle topic.
type TopicRequest struct {
	Text      string `json:"text" desc:"The suggested topic" maxLength:"1000"`
	Anonymous bool   `json:"anonymous,omitempty" desc:"Submit without any link to you"`
}

// Validate implements httpapi.Validator.
func (r TopicRequest) Validate() []httpapi.FieldError {
	if len([]rune(r.Text)) == 0 || len([]rune(r.Text)) > domain.MaxTopicLength {
		return []httpapi.FieldError{{Field: "text", Reason: "1..1000 characters"}}
	}
	return nil
}

// TopicBody is a topic suggestion.
type TopicBody struct {
	ID        string    `json:"id" desc:"Topic id"`
	Text      string    `json:"text" desc:"Suggestion"`
	Submitter string    `json:"submitter,omitempty" desc:"Who suggested it; absent when anonymous"`
	Day       time.Time `json:"day" desc:"Day it was suggested (no time, so timing cannot identify anyone)"`
}

// TopicList is a story circle's suggestions.
type TopicList struct {
	Topics []TopicBody `json:"topics" desc:"Suggestions"`
}

// GroupRequest is the body of POST /v1/connection/groups.
type GroupRequest struct {
	Name        string   `json:"name" desc:"Name"`
	Description string   `json:"description,omitempty" desc:"Description"`
	Kind        string   `json:"kind" desc:"Kind" enum:"affinity,interest"`
	Visibility  string   `json:"visibility" desc:"Who sees the membership list" enum:"public,private"`
	Leaders     []string `json:"leaders" desc:"Leader person ids (1..10)"`
}

func (r GroupRequest) input() domain.GroupInput {
	return domain.GroupInput{Name: r.Name, Description: r.Description, Kind: r.Kind, Visibility: r.Visibility, Leaders: r.Leaders}
}

// Validate implements httpapi.Validator.
func (r GroupRequest) Validate() []httpapi.FieldError { return fieldErrors(r.input().Validate()) }

// GroupResponse is a group; members are listed when the viewer may see them.
type GroupResponse struct {
	ID          string   `json:"id" desc:"Group id"`
	Name        string   `json:"name" desc:"Name"`
	Description string   `json:"description" desc:"Description"`
	Kind        string   `json:"kind" desc:"Kind"`
	Visibility  string   `json:"visibility" desc:"Membership list visibility"`
	Leaders     []string `json:"leaders" desc:"Leaders"`
	MemberCount int      `json:"member_count" desc:"Members"`
	Members     []string `json:"members,omitempty" desc:"Members (public groups, or to members of private ones)"`
	Member      bool     `json:"member" desc:"Whether you are a member"`
}

func groupResponse(g *domain.Group, viewer string) GroupResponse {
	st := g.State()
	return GroupResponse{ID: st.ID, Name: st.Input.Name, Description: st.Input.Description, Kind: st.Input.Kind,
		Visibility: st.Input.Visibility, Leaders: nonNil(st.Input.Leaders), MemberCount: len(st.Members),
		Members: g.MembersVisibleTo(viewer), Member: g.IsMember(viewer)}
}

// AnnouncementRequest is a leader's announcement.
type AnnouncementRequest struct {
	Text string `json:"text" desc:"Announcement" maxLength:"4000"`
}

// Validate implements httpapi.Validator.
func (r AnnouncementRequest) Validate() []httpapi.FieldError {
	if n := len([]rune(r.Text)); n == 0 || n > 4000 {
		return []httpapi.FieldError{{Field: "text", Reason: "1..4000 characters"}}
	}
	return nil
}

// AnnouncementBody is one announcement.
type AnnouncementBody struct {
	ID   string    `json:"id" desc:"Id"`
	By   string    `json:"by" desc:"Leader"`
	Text string    `json:"text" desc:"Text"`
	At   time.Time `json:"at" desc:"When"`
}

// AnnouncementList is a group's announcements.
type AnnouncementList struct {
	Announcements []AnnouncementBody `json:"announcements" desc:"Announcements, oldest first"`
}

// MentorshipResponse is a mentorship, for its participants.
type MentorshipResponse struct {
	ID        string    `json:"id" desc:"Mentorship id"`
	RoundID   string    `json:"round_id" desc:"Round it came from"`
	MenteeID  string    `json:"mentee_id" desc:"Mentee"`
	MentorID  string    `json:"mentor_id" desc:"Mentor"`
	Status    string    `json:"status" desc:"State" enum:"active,ended"`
	Checkins  int       `json:"checkins" desc:"Check-ins due so far"`
	EndReason string    `json:"end_reason,omitempty" desc:"Why it ended" enum:"not_a_fit,inactivity,completed,withdrawn"`
	StartedAt time.Time `json:"started_at" desc:"When the mentor accepted"`
	EndedAt   time.Time `json:"ended_at,omitzero" desc:"When it ended"`
}

// FitRequest answers the fit check.
type FitRequest struct {
	Answer string `json:"answer" desc:"How the pairing fits" enum:"good,still_deciding,not_a_fit"`
}

// Validate implements httpapi.Validator.
func (r FitRequest) Validate() []httpapi.FieldError {
	switch r.Answer {
	case "good", "still_deciding", "not_a_fit":
		return nil
	}
	return []httpapi.FieldError{{Field: "answer", Reason: "one of good, still_deciding, not_a_fit"}}
}

// ProgramRequest is the body of PUT /v1/connection/programs/{program}:
// the defaults of the program's rounds and its check-in cadence.
type ProgramRequest struct {
	Weights             *WeightsBody `json:"weights,omitempty" desc:"Compatibility weights; the defaults when absent"`
	MinScore            int          `json:"min_score,omitempty" desc:"Lowest score of a feasible pair (default 1)"`
	AffinityLoadCap     int          `json:"affinity_load_cap,omitempty" desc:"Most mentees for a mentor who offers affinity mentoring (default 2)"`
	ResponseWindowHours int          `json:"response_window_hours,omitempty" desc:"Hours a mentor has to answer (default 72)"`
	CheckinEveryDays    int          `json:"checkin_every_days,omitempty" desc:"Days between mentorship check-ins (7..180; default 30)"`
}

func (r ProgramRequest) program(id string) domain.Program {
	p := domain.Program{ID: id, CheckinEvery: time.Duration(r.CheckinEveryDays) * 24 * time.Hour,
		Round: domain.RoundSettings{Program: id, MinScore: r.MinScore, AffinityLoadCap: r.AffinityLoadCap,
			ResponseWindow: time.Duration(r.ResponseWindowHours) * time.Hour}}
	if r.Weights != nil {
		p.Round.Weights = matching.Weights(*r.Weights)
	}
	return p
}

// Validate implements httpapi.Validator.
func (r ProgramRequest) Validate() []httpapi.FieldError {
	var out []httpapi.FieldError
	if r.Weights != nil && *r.Weights == (WeightsBody{}) {
		out = append(out, httpapi.FieldError{Field: "weights", Reason: "at least one weight must be positive"})
	}
	if r.ResponseWindowHours < 0 {
		out = append(out, httpapi.FieldError{Field: "response_window_hours", Reason: "positive"})
	}
	if r.CheckinEveryDays < 0 {
		out = append(out, httpapi.FieldError{Field: "checkin_every_days", Reason: "7..180"})
	}
	if len(out) > 0 {
		return out
	}
	var errs []httpapi.FieldError
	for _, f := range fieldErrors(r.program("p").Validate()) {
		if f.Field != "program" {
			errs = append(errs, f)
		}
	}
	return errs
}

// ProgramResponse is a program's settings.
type ProgramResponse struct {
	ID                  string      `json:"id" desc:"Program code"`
	Weights             WeightsBody `json:"weights" desc:"Compatibility weights (zero: the defaults)"`
	MinScore            int         `json:"min_score" desc:"Lowest score of a feasible pair (0: default)"`
	AffinityLoadCap     int         `json:"affinity_load_cap" desc:"Affinity mentors' load cap (0: default)"`
	ResponseWindowHours int         `json:"response_window_hours" desc:"Response window (0: default)"`
	CheckinEveryDays    int         `json:"checkin_every_days" desc:"Check-in cadence (0: default)"`
	UpdatedBy           string      `json:"updated_by" desc:"Coordinator who set it"`
	UpdatedAt           time.Time   `json:"updated_at" desc:"When"`
}

func programResponse(p *domain.Program) ProgramResponse {
	return ProgramResponse{ID: p.ID, Weights: WeightsBody(p.Round.Weights), MinScore: p.Round.MinScore,
		AffinityLoadCap: p.Round.AffinityLoadCap, ResponseWindowHours: int(p.Round.ResponseWindow / time.Hour),
		CheckinEveryDays: int(p.CheckinEvery / (24 * time.Hour)), UpdatedBy: p.UpdatedBy, UpdatedAt: p.UpdatedAt}
}

// FeedbackRequest is a participant's end-of-mentorship feedback.
type FeedbackRequest struct {
	Rating int `json:"rating" desc:"How the mentorship went, 1 (poorly) to 5 (very well); stored sealed, never in events"`
}

// Validate implements httpapi.Validator.
func (r FeedbackRequest) Validate() []httpapi.FieldError {
	if r.Rating < 1 || r.Rating > 5 {
		return []httpapi.FieldError{{Field: "rating", Reason: "1..5"}}
	}
	return nil
}

// GroupList is every group.
type GroupList struct {
	Groups []GroupResponse `json:"groups" desc:"Groups (member lists as the viewer may see them)"`
}
