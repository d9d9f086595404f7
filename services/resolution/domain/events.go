package domain

import "time"

// Event is a domain event: a plain struct with ids and codes only, never
// restricted content, so it can go on the bus and into workflow payloads.
type Event interface {
	EventName() string
}

// ReportSubmitted is recorded when a case is opened from a report.
type ReportSubmitted struct {
	CaseID         string         `json:"case_id"`
	Category       Category       `json:"category"`
	DepartmentID   string         `json:"department_id"`
	Site           string         `json:"site"`
	DesiredOutcome DesiredOutcome `json:"desired_outcome"`
	Anonymous      bool           `json:"anonymous"`
	At             time.Time      `json:"at"`
}

// CaseTriaged is recorded by Triage.
type CaseTriaged struct {
	CaseID   string    `json:"case_id"`
	Category Category  `json:"category"`
	Severity Severity  `json:"severity"`
	Route    string    `json:"route"`
	At       time.Time `json:"at"`
}

// CaseAssigned is recorded by Assign, including reassignments.
type CaseAssigned struct {
	CaseID     string    `json:"case_id"`
	AssigneeID string    `json:"assignee_id"`
	At         time.Time `json:"at"`
}

// CaseAcknowledged is recorded by Acknowledge; it stops the acknowledgment clock.
type CaseAcknowledged struct {
	CaseID string    `json:"case_id"`
	At     time.Time `json:"at"`
}

// CaseStarted is recorded by Start.
type CaseStarted struct {
	CaseID string    `json:"case_id"`
	At     time.Time `json:"at"`
}

// CaseResolved is recorded by Resolve.
type CaseResolved struct {
	CaseID  string    `json:"case_id"`
	Outcome string    `json:"outcome"`
	At      time.Time `json:"at"`
}

// CaseClosed is recorded by Close; retaliation check-ins start from it.
type CaseClosed struct {
	CaseID string    `json:"case_id"`
	At     time.Time `json:"at"`
}

// CaseReopened is recorded by Reopen.
type CaseReopened struct {
	CaseID string    `json:"case_id"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// HandlerRecused is recorded by Recuse; the case needs a new assignee.
type HandlerRecused struct {
	CaseID    string    `json:"case_id"`
	HandlerID string    `json:"handler_id"`
	At        time.Time `json:"at"`
}

// NoteAdded is recorded by AddNote; it carries the note's number, not its text.
type NoteAdded struct {
	CaseID string    `json:"case_id"`
	NoteID int       `json:"note_id"`
	At     time.Time `json:"at"`
}

// LegalHoldChanged is recorded by SetLegalHold.
type LegalHoldChanged struct {
	CaseID string    `json:"case_id"`
	On     bool      `json:"on"`
	At     time.Time `json:"at"`
}

// MessagePosted is recorded by PostMessage; it carries no text.
type MessagePosted struct {
	CaseID    string    `json:"case_id"`
	MessageID int       `json:"message_id"`
	From      Sender    `json:"from"`
	At        time.Time `json:"at"`
}

// CheckinRequested is recorded when a retaliation check-in is sent.
type CheckinRequested struct {
	CaseID string    `json:"case_id"`
	Round  int       `json:"round"`
	Number int       `json:"number"`
	Of     int       `json:"of"`
	DueAt  time.Time `json:"due_at"`
	At     time.Time `json:"at"`
}

// CheckinAnswered is recorded when the reporter answers a check-in.
type CheckinAnswered struct {
	CaseID      string    `json:"case_id"`
	Round       int       `json:"round"`
	Number      int       `json:"number"`
	Retaliation bool      `json:"retaliation"`
	At          time.Time `json:"at"`
}

// HandlerLeft is recorded when the assignee left; the case needs a new one.
type HandlerLeft struct {
	CaseID    string    `json:"case_id"`
	HandlerID string    `json:"handler_id"`
	At        time.Time `json:"at"`
}

func (MessagePosted) EventName() string    { return "case.message_posted" }
func (CheckinRequested) EventName() string { return "case.checkin_requested" }
func (CheckinAnswered) EventName() string  { return "case.checkin_answered" }
func (HandlerLeft) EventName() string      { return "case.handler_left" }
func (ReportSubmitted) EventName() string  { return "report.submitted" }
func (CaseTriaged) EventName() string      { return "case.triaged" }
func (CaseAssigned) EventName() string     { return "case.assigned" }
func (CaseAcknowledged) EventName() string { return "case.acknowledged" }
func (CaseStarted) EventName() string      { return "case.started" }
func (CaseResolved) EventName() string     { return "case.resolved" }
func (CaseClosed) EventName() string       { return "case.closed" }
func (CaseReopened) EventName() string     { return "case.reopened" }
func (HandlerRecused) EventName() string   { return "case.recused" }
func (NoteAdded) EventName() string        { return "case.note_added" }
func (LegalHoldChanged) EventName() string { return "case.legal_hold_changed" }
