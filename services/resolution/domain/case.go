package domain

import (
	"fmt"
	"slices"
	"time"
)

// State is where a case is in the designated resolution process.
type State string

// States, in process order.
const (
	StateSubmitted    State = "submitted"
	StateTriaged      State = "triaged"
	StateAssigned     State = "assigned"
	StateAcknowledged State = "acknowledged"
	StateInProgress   State = "in_progress"
	StateResolved     State = "resolved"
	StateClosed       State = "closed"
)

// Known reports whether s is one of the states.
func (s State) Known() bool { return s.valid() }

// Resolved says the round is over (resolved or closed): no clock runs.
func (s State) Resolved() bool { return s == StateResolved || s == StateClosed }

func (s State) valid() bool {
	switch s {
	case StateSubmitted, StateTriaged, StateAssigned, StateAcknowledged, StateInProgress, StateResolved, StateClosed:
		return true
	}
	return false
}

// Severity is set at triage.
type Severity string

// Severities.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	switch s {
	case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return true
	}
	return false
}

// Action names what happened in a timeline entry; it is a code, never content.
type Action string

// Actions.
const (
	ActionSubmit      Action = "submit"
	ActionTriage      Action = "triage"
	ActionAssign      Action = "assign"
	ActionAcknowledge Action = "acknowledge"
	ActionStart       Action = "start"
	ActionResolve     Action = "resolve"
	ActionClose       Action = "close"
	ActionReopen      Action = "reopen"
	ActionRecuse      Action = "recuse"
	ActionAddNote     Action = "add_note"
	ActionLegalHold   Action = "legal_hold"
)

// reporterVisible lists the actions a reporter sees; notes, recusals and
// legal holds are handler-internal.
func (a Action) reporterVisible() bool {
	switch a {
	case ActionSubmit, ActionTriage, ActionAssign, ActionAcknowledge, ActionStart,
		ActionResolve, ActionClose, ActionReopen, ActionMessage, ActionCheckin,
		ActionCheckinAnswer, ActionLinkedCase:
		return true
	}
	return false
}

// TimelineEntry records who did what and when, never content.
type TimelineEntry struct {
	At     time.Time
	By     string // user id; empty for anonymous reporters
	Action Action
}

// ReporterTimelineEntry is a timeline entry as the reporter sees it: no
// handler identity.
type ReporterTimelineEntry struct {
	At     time.Time `json:"at"`
	Action Action    `json:"action"`
}

// Note is an internal handler note.
type Note struct {
	ID   int
	By   string
	At   time.Time
	Text Restricted
}

// MaxNoteRunes bounds an internal note.
const MaxNoteRunes = 20000

// Case is the aggregate for one report's resolution. Fields are unexported
// so that every change goes through a method that enforces the process; the
// store uses Snapshot and UnmarshalCase.
//
// Methods take the time of the action rather than reading a clock, so the
// same code runs deterministically in workflows and tests.
type Case struct {
	id         string
	report     *Report
	state      State
	category   Category
	severity   Severity
	route      string
	assignee   string
	recused    []string
	outcome    string
	legalHold  bool
	ackAt      time.Time
	notes      []Note
	timeline   []TimelineEntry
	events     []Event
	openedAt   time.Time
	reopenings int
	messages   []Message
	checkins   []Checkin
	linkedFrom string
}

// NewCase opens a case for a validated report.
func NewCase(id string, r *Report, at time.Time) (*Case, error) {
	if !validCode(id) {
		return nil, invalidArg("case id %q", id)
	}
	if r == nil {
		return nil, invalidArg("case %s: nil report", id)
	}
	at = at.UTC()
	c := &Case{id: id, report: r, state: StateSubmitted, category: r.category, openedAt: at}
	c.record(at, r.reporterID, ActionSubmit, ReportSubmitted{
		CaseID: id, Category: r.category, DepartmentID: r.departmentID, Site: r.site,
		DesiredOutcome: r.desiredOutcome, Anonymous: r.anonymous, At: at,
	})
	return c, nil
}

// Accessors.

func (c *Case) ID() string                { return c.id }
func (c *Case) Report() *Report           { return c.report }
func (c *Case) State() State              { return c.state }
func (c *Case) Category() Category        { return c.category }
func (c *Case) Severity() Severity        { return c.severity }
func (c *Case) Route() string             { return c.route }
func (c *Case) Assignee() string          { return c.assignee }
func (c *Case) Outcome() string           { return c.outcome }
func (c *Case) LegalHold() bool           { return c.legalHold }
func (c *Case) AcknowledgedAt() time.Time { return c.ackAt }
func (c *Case) OpenedAt() time.Time       { return c.openedAt }
func (c *Case) Recused() []string         { return append([]string(nil), c.recused...) }
func (c *Case) Notes() []Note             { return append([]Note(nil), c.notes...) }

// RoundStart is when the case's current round began: its opening, or its
// last reopening, from which the escalation's clocks count again.
func (c *Case) RoundStart() time.Time {
	for _, t := range slices.Backward(c.timeline) {
		if t.Action == ActionReopen {
			return t.At
		}
	}
	return c.openedAt
}

func (c *Case) Timeline() []TimelineEntry {
	return append([]TimelineEntry(nil), c.timeline...)
}

// ReporterTimeline is the timeline shown to the reporter: internal actions
// (notes, recusals, legal holds) and every handler identity are left out.
func (c *Case) ReporterTimeline() []ReporterTimelineEntry {
	out := make([]ReporterTimelineEntry, 0, len(c.timeline))
	for _, e := range c.timeline {
		if e.Action.reporterVisible() {
			out = append(out, ReporterTimelineEntry{At: e.At, Action: e.Action})
		}
	}
	return out
}

// PullEvents returns the events recorded since the last pull and forgets
// them; the adapter publishes them after a successful write.
func (c *Case) PullEvents() []Event {
	ev := c.events
	c.events = nil
	return ev
}

// Triage sets category, severity and route on a submitted case.
func (c *Case) Triage(by string, category Category, severity Severity, route string, at time.Time) error {
	if err := c.check(ActionTriage, by); err != nil {
		return err
	}
	switch {
	case !category.Valid():
		return invalidArg("triage case %s: category %q", c.id, category)
	case !severity.Valid():
		return invalidArg("triage case %s: severity %q", c.id, severity)
	case !validCode(route):
		return invalidArg("triage case %s: route %q", c.id, route)
	}
	at = at.UTC()
	c.state, c.category, c.severity, c.route = StateTriaged, category, severity, route
	c.record(at, by, ActionTriage, CaseTriaged{CaseID: c.id, Category: category, Severity: severity, Route: route, At: at})
	return nil
}

// Assign gives the case to handler to. From triaged it moves the case to
// assigned; from assigned, acknowledged or in progress it is a reassignment
// (a handler left or recused) and keeps the state, because the reporter's
// acknowledgment was already given.
//
// excluded must say whether a person is barred by conflict of interest
// (named in the report, or in a named person's supervisory chain); it is
// required, so a caller cannot forget the check. The named reporter and
// anyone who recused from this case are refused as well.
func (c *Case) Assign(by, to string, excluded func(id string) bool, at time.Time) error {
	if err := c.check(ActionAssign, by); err != nil {
		return err
	}
	if !validCode(to) {
		return invalidArg("assign case %s: assignee %q", c.id, to)
	}
	if excluded == nil {
		return invalidArg("assign case %s: no conflict-of-interest check", c.id)
	}
	if excluded(to) || to == c.report.reporterID || c.hasRecused(to) {
		return fmt.Errorf("assign case %s to %s: %w", c.id, to, ErrConflictOfInterest)
	}
	if c.state == StateTriaged {
		c.state = StateAssigned
	}
	at = at.UTC()
	c.assignee = to
	c.record(at, by, ActionAssign, CaseAssigned{CaseID: c.id, AssigneeID: to, At: at})
	return nil
}

// Acknowledge records that the assigned handler acknowledged the report to
// the reporter, which stops the acknowledgment clock.
func (c *Case) Acknowledge(by string, at time.Time) error {
	if err := c.check(ActionAcknowledge, by); err != nil {
		return err
	}
	at = at.UTC()
	c.state, c.ackAt = StateAcknowledged, at
	c.record(at, by, ActionAcknowledge, CaseAcknowledged{CaseID: c.id, At: at})
	return nil
}

// Start moves an acknowledged case into progress.
func (c *Case) Start(by string, at time.Time) error {
	if err := c.check(ActionStart, by); err != nil {
		return err
	}
	at = at.UTC()
	c.state = StateInProgress
	c.record(at, by, ActionStart, CaseStarted{CaseID: c.id, At: at})
	return nil
}

// Resolve records the outcome, a code such as "substantiated" (free text
// belongs in a note, which stays internal and encrypted).
func (c *Case) Resolve(by, outcome string, at time.Time) error {
	if err := c.check(ActionResolve, by); err != nil {
		return err
	}
	if !validCode(outcome) {
		return invalidArg("resolve case %s: outcome code", c.id)
	}
	at = at.UTC()
	c.state, c.outcome = StateResolved, outcome
	c.record(at, by, ActionResolve, CaseResolved{CaseID: c.id, Outcome: outcome, At: at})
	return nil
}

// Close ends a resolved case.
func (c *Case) Close(by string, at time.Time) error {
	if err := c.check(ActionClose, by); err != nil {
		return err
	}
	at = at.UTC()
	c.state = StateClosed
	c.record(at, by, ActionClose, CaseClosed{CaseID: c.id, At: at})
	return nil
}

// Reopen puts a resolved or closed case back in progress (for instance a
// retaliation check-in, or new information); reason is a code.
func (c *Case) Reopen(by, reason string, at time.Time) error {
	if err := c.check(ActionReopen, by); err != nil {
		return err
	}
	if !validCode(reason) {
		return invalidArg("reopen case %s: reason code", c.id)
	}
	at = at.UTC()
	c.state, c.outcome = StateInProgress, ""
	c.reopenings++
	c.record(at, by, ActionReopen, CaseReopened{CaseID: c.id, Reason: reason, At: at})
	return nil
}

// Recuse lets the assigned handler step away. An assigned case returns to
// triaged; an acknowledged or in-progress case keeps its state with no
// assignee until Assign picks someone else. The handler can never be
// assigned to this case again.
func (c *Case) Recuse(by string, at time.Time) error {
	if err := c.check(ActionRecuse, by); err != nil {
		return err
	}
	if c.assignee != by {
		return fmt.Errorf("recuse %s from case %s: %w", by, c.id, ErrNotAssignee)
	}
	if c.state == StateAssigned {
		c.state = StateTriaged
	}
	at = at.UTC()
	c.assignee = ""
	c.recused = append(c.recused, by)
	c.record(at, by, ActionRecuse, HandlerRecused{CaseID: c.id, HandlerID: by, At: at})
	return nil
}

// AddNote adds an internal note, in any state: notes document the case
// even after closure. The reporter never sees notes.
func (c *Case) AddNote(by string, text Restricted, at time.Time) error {
	if err := c.check(ActionAddNote, by); err != nil {
		return err
	}
	if text.IsZero() || text.RuneLen() > MaxNoteRunes {
		return invalidArg("note on case %s: must be 1..%d characters", c.id, MaxNoteRunes)
	}
	at = at.UTC()
	id := len(c.notes) + 1
	c.notes = append(c.notes, Note{ID: id, By: by, At: at, Text: text})
	c.record(at, by, ActionAddNote, NoteAdded{CaseID: c.id, NoteID: id, At: at})
	return nil
}

// SetLegalHold sets or clears the legal hold, which blocks retention
// deletion. It is allowed in every state.
func (c *Case) SetLegalHold(by string, on bool, at time.Time) error {
	if err := c.check(ActionLegalHold, by); err != nil {
		return err
	}
	at = at.UTC()
	c.legalHold = on
	c.record(at, by, ActionLegalHold, LegalHoldChanged{CaseID: c.id, On: on, At: at})
	return nil
}

// transitions lists the states each state-bound action may start from;
// an action not listed (notes, messages, legal hold) is allowed in every
// state. The actions and Allows read the same table, so what a handler is
// offered is what the case accepts.
var transitions = map[Action][]State{
	ActionTriage:      {StateSubmitted},
	ActionAssign:      {StateTriaged, StateAssigned, StateAcknowledged, StateInProgress},
	ActionAcknowledge: {StateAssigned},
	ActionStart:       {StateAcknowledged},
	ActionResolve:     {StateInProgress},
	ActionClose:       {StateResolved},
	ActionReopen:      {StateResolved, StateClosed},
	ActionRecuse:      {StateAssigned, StateAcknowledged, StateInProgress},
}

// Allows reports whether the case's state lets by take action a now
// (recusal only by the assignee). Permissions are the caller's concern.
func (c *Case) Allows(a Action, by string) bool {
	if a == ActionRecuse && c.assignee != by {
		return false
	}
	allowed, bound := transitions[a]
	return !bound || slices.Contains(allowed, c.state)
}

// check validates the actor and that the case's state allows a.
func (c *Case) check(a Action, by string) error {
	if !validCode(by) {
		return invalidArg("%s case %s: actor id", a, c.id)
	}
	if allowed, bound := transitions[a]; bound && !slices.Contains(allowed, c.state) {
		return fmt.Errorf("case %s: %w", c.id, &TransitionError{Action: a, State: c.state})
	}
	return nil
}

func (c *Case) hasRecused(id string) bool {
	for _, r := range c.recused {
		if r == id {
			return true
		}
	}
	return false
}

func (c *Case) record(at time.Time, by string, a Action, e Event) {
	c.timeline = append(c.timeline, TimelineEntry{At: at, By: by, Action: a})
	c.events = append(c.events, e)
}
