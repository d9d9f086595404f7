package domain

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// Limits of training fields.
const (
	MaxDescription = 5000
	MaxReason      = 500
	MaxHistory     = 200 // changes kept per person record
	Day            = 24 * time.Hour
)

// ModuleInput creates or edits a catalog module.
type ModuleInput struct {
	Title           string
	Description     string
	DurationMinutes int
	Credits         float64
	LMSURL          string // link into the LMS
	LMSActivityID   string // xAPI activity id (an IRI) that completes the module
}

func (in ModuleInput) validate() error {
	var p problems
	p.text("title", in.Title, MaxTitle, true)
	p.text("description", in.Description, MaxDescription, false)
	if in.DurationMinutes < 0 || in.DurationMinutes > 100000 {
		p.add("duration_minutes", "must be between 0 and 100000")
	}
	if in.Credits < 0 || in.Credits > 1000 {
		p.add("credits", "must be between 0 and 1000")
	}
	if in.LMSURL != "" {
		if u, err := url.Parse(in.LMSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.add("lms_url", "must be an absolute http(s) URL")
		}
	}
	if in.LMSActivityID != "" {
		if u, err := url.Parse(in.LMSActivityID); err != nil || u.Scheme == "" || len(in.LMSActivityID) > 800 {
			p.add("lms_activity_id", "must be an IRI (e.g. https://lms.example.org/activities/42) of at most 800 characters")
		}
	}
	return p.err("invalid module")
}

// Module is one entry of the training catalog.
type Module struct {
	id        string
	in        ModuleInput
	updatedAt time.Time
}

// NewModule validates a catalog entry.
func NewModule(id string, in ModuleInput, now time.Time) (*Module, error) {
	var p problems
	p.id("id", id)
	if err := p.err("invalid module"); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	return &Module{id: id, in: in, updatedAt: now}, nil
}

// Edit replaces the module's description.
func (m *Module) Edit(in ModuleInput, now time.Time) error {
	if err := in.validate(); err != nil {
		return err
	}
	m.in, m.updatedAt = in, now
	return nil
}

func (m *Module) ID() string           { return m.id }
func (m *Module) Input() ModuleInput   { return m.in }
func (m *Module) UpdatedAt() time.Time { return m.updatedAt }

type moduleJSON struct {
	ID        string      `json:"id"`
	In        ModuleInput `json:"module"`
	UpdatedAt time.Time   `json:"updated_at"`
}

func (m *Module) MarshalJSON() ([]byte, error) {
	return json.Marshal(moduleJSON{m.id, m.in, m.updatedAt})
}
func (m *Module) UnmarshalJSON(b []byte) error {
	var j moduleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Module{id: j.ID, in: j.In, updatedAt: j.UpdatedAt}
	return nil
}

// Recurrence of an assignment.
type Recurrence string

// Recurrences: none, or annual recertification (a new cycle a year after
// the previous cycle started, due as long after its start as the first).
const (
	RecurNone   Recurrence = ""
	RecurAnnual Recurrence = "annual"
)

// FollowUp is an assignment's follow-up policy. Zero values take the
// workflow's defaults (reminders 30, 14, 1 days before the due date and
// 1 day after; digest weekly; escalation after 14 days overdue).
type FollowUp struct {
	ReminderOffsets []time.Duration `json:"reminder_offsets,omitempty"` // from the due date, negative before
	DigestEvery     time.Duration   `json:"digest_every,omitempty"`
	EscalateAfter   time.Duration   `json:"escalate_after,omitempty"`
	EscalateTo      []string        `json:"escalate_to,omitempty"` // program director ids; empty: the directory's program directors of each department
}

// AssignmentInput assigns a module to an audience.
type AssignmentInput struct {
	ModuleID   string
	Audience   Audience
	DueAt      time.Time
	Recurrence Recurrence
	// JoinerDays is how long someone who joins the audience mid-cycle has:
	// due JoinerDays after joining, never before the cohort's due date.
	JoinerDays int
	FollowUp   FollowUp
}

// DefaultJoinerDays is the joiner due-date policy when none is given.
const DefaultJoinerDays = 30

func (in AssignmentInput) validate(now time.Time) error {
	var p problems
	p.id("module_id", in.ModuleID)
	p = append(p, in.Audience.Validate("audience")...)
	switch {
	case in.DueAt.IsZero():
		p.add("due_at", "is required")
	case !in.DueAt.After(now):
		p.add("due_at", "must be in the future")
	}
	if in.Recurrence != RecurNone && in.Recurrence != RecurAnnual {
		p.add("recurrence", "must be empty or annual")
	}
	if in.JoinerDays < 0 || in.JoinerDays > 366 {
		p.add("joiner_days", "must be between 0 and 366")
	}
	year := 366 * Day
	for i, d := range in.FollowUp.ReminderOffsets {
		if d < -year || d > year || (d > -time.Second && d < time.Second) {
			p.add(fmt.Sprintf("follow_up.reminder_offsets[%d]", i), "must be at least a second and at most a year from the due date")
		}
	}
	if d := in.FollowUp.DigestEvery; d != 0 && (d < time.Second || d > year) {
		p.add("follow_up.digest_every", "must be between a second and a year")
	}
	if d := in.FollowUp.EscalateAfter; d != 0 && (d < time.Second || d > year) {
		p.add("follow_up.escalate_after", "must be between a second and a year")
	}
	for i, id := range in.FollowUp.EscalateTo {
		p.id(fmt.Sprintf("follow_up.escalate_to[%d]", i), id)
	}
	return p.err("invalid assignment")
}

// AssignmentStatus is where an assignment is.
type AssignmentStatus string

// Assignment statuses: provisioning while its people are written, then
// active; cancelled stops the follow-up.
const (
	AssignmentProvisioning AssignmentStatus = "provisioning"
	AssignmentActive       AssignmentStatus = "active"
	AssignmentCancelled    AssignmentStatus = "cancelled"
)

// Assignment is a module assigned to a cohort. Its people are separate
// records (Training), one per person, so a cohort of any size stays small.
type Assignment struct {
	id              string
	in              AssignmentInput
	cycle           int
	cycleStart      time.Time
	dueAt           time.Time
	status          AssignmentStatus
	people          int
	workflowStarted bool
	createdBy       string
	createdAt       time.Time
}

// NewAssignment validates an assignment; its due date must be in the future.
func NewAssignment(id, by string, in AssignmentInput, now time.Time) (*Assignment, error) {
	var p problems
	p.id("id", id)
	if err := p.err("invalid assignment"); err != nil {
		return nil, err
	}
	if err := in.validate(now); err != nil {
		return nil, err
	}
	if in.JoinerDays == 0 {
		in.JoinerDays = DefaultJoinerDays
	}
	return &Assignment{id: id, in: in, cycle: 1, cycleStart: now, dueAt: in.DueAt, status: AssignmentProvisioning, createdBy: by, createdAt: now}, nil
}

func (a *Assignment) ID() string               { return a.id }
func (a *Assignment) ModuleID() string         { return a.in.ModuleID }
func (a *Assignment) Audience() Audience       { return a.in.Audience }
func (a *Assignment) Recurrence() Recurrence   { return a.in.Recurrence }
func (a *Assignment) FollowUp() FollowUp       { return a.in.FollowUp }
func (a *Assignment) JoinerDays() int          { return a.in.JoinerDays }
func (a *Assignment) Cycle() int               { return a.cycle }
func (a *Assignment) CycleStart() time.Time    { return a.cycleStart }
func (a *Assignment) DueAt() time.Time         { return a.dueAt }
func (a *Assignment) Status() AssignmentStatus { return a.status }
func (a *Assignment) People() int              { return a.people }
func (a *Assignment) WorkflowStarted() bool    { return a.workflowStarted }
func (a *Assignment) CreatedBy() string        { return a.createdBy }
func (a *Assignment) CreatedAt() time.Time     { return a.createdAt }

// RecurEvery is the time between cycle starts; zero when not recurring.
func (a *Assignment) RecurEvery() time.Duration {
	if a.in.Recurrence == RecurAnnual {
		return 365 * Day
	}
	return 0
}

// Activate records that its people are written.
func (a *Assignment) Activate(people int) {
	if a.status == AssignmentProvisioning {
		a.status = AssignmentActive
	}
	a.people = people
}

// Joined counts people added (joiners) or removed (negative).
func (a *Assignment) Joined(n int) { a.people += n }

// MarkWorkflowStarted records that the follow-up runs.
func (a *Assignment) MarkWorkflowStarted() { a.workflowStarted = true }

// Cancel stops the assignment.
func (a *Assignment) Cancel() error {
	if a.status == AssignmentCancelled {
		return ErrState
	}
	a.status = AssignmentCancelled
	return nil
}

// JoinerDue is the due date of someone who joins at now.
func (a *Assignment) JoinerDue(now time.Time) time.Time {
	due := now.Add(time.Duration(a.in.JoinerDays) * Day)
	if due.Before(a.dueAt) {
		return a.dueAt
	}
	return due
}

// NextCycle starts cycle n at start, due as long after start as the first
// cycle was after its start. It returns false when n is not the next
// cycle (a retried call) or the assignment does not recur.
func (a *Assignment) NextCycle(n int, start time.Time) bool {
	if a.status != AssignmentActive || a.RecurEvery() == 0 || n != a.cycle+1 {
		return false
	}
	length := a.in.DueAt.Sub(a.createdAt)
	a.cycle, a.cycleStart, a.dueAt = n, start, start.Add(length)
	return true
}

type assignmentJSON struct {
	ID              string           `json:"id"`
	ModuleID        string           `json:"module_id"`
	Audience        Audience         `json:"audience"`
	FirstDueAt      time.Time        `json:"first_due_at"`
	Recurrence      Recurrence       `json:"recurrence,omitempty"`
	JoinerDays      int              `json:"joiner_days"`
	FollowUp        FollowUp         `json:"follow_up"`
	Cycle           int              `json:"cycle"`
	CycleStart      time.Time        `json:"cycle_start"`
	DueAt           time.Time        `json:"due_at"`
	Status          AssignmentStatus `json:"status"`
	People          int              `json:"people"`
	WorkflowStarted bool             `json:"workflow_started"`
	CreatedBy       string           `json:"created_by"`
	CreatedAt       time.Time        `json:"created_at"`
}

func (a *Assignment) MarshalJSON() ([]byte, error) {
	return json.Marshal(assignmentJSON{a.id, a.in.ModuleID, a.in.Audience, a.in.DueAt, a.in.Recurrence, a.in.JoinerDays, a.in.FollowUp,
		a.cycle, a.cycleStart, a.dueAt, a.status, a.people, a.workflowStarted, a.createdBy, a.createdAt})
}

func (a *Assignment) UnmarshalJSON(b []byte) error {
	var j assignmentJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*a = Assignment{id: j.ID, in: AssignmentInput{ModuleID: j.ModuleID, Audience: j.Audience, DueAt: j.FirstDueAt, Recurrence: j.Recurrence,
		JoinerDays: j.JoinerDays, FollowUp: j.FollowUp}, cycle: j.Cycle, cycleStart: j.CycleStart, dueAt: j.DueAt, status: j.Status,
		people: j.People, workflowStarted: j.WorkflowStarted, createdBy: j.CreatedBy, createdAt: j.CreatedAt}
	return nil
}

// Status of a person's training.
type Status string

// Statuses. Overdue is set by the follow-up's overdue wave; Effective
// also reports it for anyone incomplete past their due date. Removed is a
// leaver: not followed up, not counted.
const (
	StatusAssigned   Status = "assigned"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusExempt     Status = "exempt"
	StatusOverdue    Status = "overdue"
	StatusRemoved    Status = "removed"
)

// Change is one entry of a person's training history.
type Change struct {
	Cycle  int       `json:"cycle"`
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`     // person id of whoever made the change; empty for the system
	Source string    `json:"source,omitempty"` // api, csv, xapi, webhook, roster, follow_up
	Ref    string    `json:"ref,omitempty"`    // e.g. xAPI statement id
	Reason string    `json:"reason,omitempty"` // exemptions
}

// Training is one person's record of one assignment across its cycles.
type Training struct {
	assignmentID string
	moduleID     string
	personID     string
	cycle        int
	dueAt        time.Time
	status       Status
	completedAt  time.Time
	exemptReason string
	history      []Change
}

// NewTraining assigns the module to person for cycle.
func NewTraining(a *Assignment, person string, due time.Time, source string, now time.Time) *Training {
	t := &Training{assignmentID: a.id, moduleID: a.in.ModuleID, personID: person, cycle: a.cycle, dueAt: due, status: StatusAssigned}
	t.record(Change{Status: StatusAssigned, At: now, Source: source})
	return t
}

func (t *Training) AssignmentID() string   { return t.assignmentID }
func (t *Training) ModuleID() string       { return t.moduleID }
func (t *Training) PersonID() string       { return t.personID }
func (t *Training) Cycle() int             { return t.cycle }
func (t *Training) DueAt() time.Time       { return t.dueAt }
func (t *Training) Status() Status         { return t.status }
func (t *Training) CompletedAt() time.Time { return t.completedAt }
func (t *Training) ExemptReason() string   { return t.exemptReason }
func (t *Training) History() []Change      { return slices.Clone(t.history) }

// Effective is the status as people see it: overdue once an incomplete
// training is past its due date.
func (t *Training) Effective(now time.Time) Status {
	if (t.status == StatusAssigned || t.status == StatusInProgress) && now.After(t.dueAt) {
		return StatusOverdue
	}
	return t.status
}

// Incomplete reports whether the person still owes the training.
func (t *Training) Incomplete() bool {
	return t.status == StatusAssigned || t.status == StatusInProgress || t.status == StatusOverdue
}

func (t *Training) record(c Change) {
	c.Cycle = t.cycle
	t.history = append(t.history, c)
	if len(t.history) > MaxHistory {
		t.history = slices.Delete(t.history, 0, len(t.history)-MaxHistory)
	}
}

// Start marks the training in progress (the person opened it).
func (t *Training) Start(now time.Time) bool {
	if t.status != StatusAssigned && t.status != StatusOverdue {
		return false
	}
	t.status = StatusInProgress
	t.record(Change{Status: StatusInProgress, At: now, By: t.personID, Source: "api"})
	return true
}

// Complete records a completion at at. It returns false when there is
// nothing to change: already completed this cycle (duplicates are
// idempotent), exempt, or removed.
func (t *Training) Complete(at time.Time, by, source, ref string, now time.Time) bool {
	if !t.Incomplete() {
		return false
	}
	t.status, t.completedAt = StatusCompleted, at
	t.record(Change{Status: StatusCompleted, At: now, By: by, Source: source, Ref: ref})
	return true
}

// Exempt exempts the person for the current cycle.
func (t *Training) Exempt(reason, by string, now time.Time) (bool, error) {
	var p problems
	p.text("reason", reason, MaxReason, true)
	if err := p.err("invalid exemption"); err != nil {
		return false, err
	}
	if t.status == StatusExempt || t.status == StatusRemoved {
		return false, nil
	}
	if t.status == StatusCompleted {
		return false, ErrState
	}
	t.status, t.exemptReason = StatusExempt, reason
	t.record(Change{Status: StatusExempt, At: now, By: by, Source: "api", Reason: reason})
	return true, nil
}

// MarkOverdue records that an incomplete training passed its due date;
// ref names the follow-up step that found it (see OverdueRef).
func (t *Training) MarkOverdue(now time.Time, ref string) bool {
	if (t.status != StatusAssigned && t.status != StatusInProgress) || !now.After(t.dueAt) {
		return false
	}
	t.status = StatusOverdue
	t.record(Change{Status: StatusOverdue, At: now, Source: "follow_up", Ref: ref})
	return true
}

// OverdueRef is the ref of the step that marked the training overdue in
// its current cycle; empty when it is not overdue.
func (t *Training) OverdueRef() string {
	if t.status != StatusOverdue {
		return ""
	}
	for i := len(t.history) - 1; i >= 0; i-- {
		if c := t.history[i]; c.Status == StatusOverdue && c.Cycle == t.cycle {
			return c.Ref
		}
	}
	return ""
}

// Remove drops a leaver (no longer active, or no longer in the audience).
func (t *Training) Remove(now time.Time) bool {
	if t.status == StatusRemoved {
		return false
	}
	t.status = StatusRemoved
	t.record(Change{Status: StatusRemoved, At: now, Source: "roster"})
	return true
}

// Rejoin assigns someone removed earlier who is back in the audience.
func (t *Training) Rejoin(cycle int, due, now time.Time) bool {
	if t.status != StatusRemoved {
		return false
	}
	t.cycle, t.dueAt, t.status, t.completedAt, t.exemptReason = cycle, due, StatusAssigned, time.Time{}, ""
	t.record(Change{Status: StatusAssigned, At: now, Source: "roster"})
	return true
}

// NewCycle starts a recurring assignment's next cycle for this person:
// everyone owes it again (exemptions are per cycle); leavers stay removed.
func (t *Training) NewCycle(cycle int, due, now time.Time) bool {
	if cycle <= t.cycle || t.status == StatusRemoved {
		return false
	}
	t.cycle, t.dueAt, t.status, t.completedAt, t.exemptReason = cycle, due, StatusAssigned, time.Time{}, ""
	t.record(Change{Status: StatusAssigned, At: now, Source: "follow_up"})
	return true
}

type trainingJSON struct {
	AssignmentID string    `json:"assignment_id"`
	ModuleID     string    `json:"module_id"`
	PersonID     string    `json:"person_id"`
	Cycle        int       `json:"cycle"`
	DueAt        time.Time `json:"due_at"`
	Status       Status    `json:"status"`
	CompletedAt  time.Time `json:"completed_at"`
	ExemptReason string    `json:"exempt_reason,omitempty"`
	History      []Change  `json:"history"`
}

func (t *Training) MarshalJSON() ([]byte, error) {
	return json.Marshal(trainingJSON{t.assignmentID, t.moduleID, t.personID, t.cycle, t.dueAt, t.status, t.completedAt, t.exemptReason, t.history})
}

func (t *Training) UnmarshalJSON(b []byte) error {
	var j trainingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Training{assignmentID: j.AssignmentID, moduleID: j.ModuleID, personID: j.PersonID, cycle: j.Cycle, dueAt: j.DueAt,
		status: j.Status, completedAt: j.CompletedAt, exemptReason: j.ExemptReason, history: j.History}
	return nil
}
