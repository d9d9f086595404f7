package escalation

import (
	"fmt"
	"time"
)

// Signal and query names.
const (
	SignalAcknowledge         = "acknowledge"
	SignalResolve             = "resolve"
	SignalReopen              = "reopen"
	SignalAssign              = "assign"
	SignalRecuse              = "recuse"
	SignalRetaliationReported = "retaliationReported"

	QueryTimeline = "timeline"
	QueryState    = "state"
)

// MaxReopens bounds how often one case may be reopened; after that the
// service opens a linked case instead. It bounds the history too.
const MaxReopens = 5

// ErrInvalidInput is the application error type of a case that cannot
// start because its input (or policy) is invalid. The service validates
// with Input.Validate before starting, so this means a bug.
const ErrInvalidInput = "InvalidCaseInput"

// Input starts one case's escalation. It carries ids only.
type Input struct {
	CaseID     string `json:"case_id"`
	Department string `json:"department"`
	// Policy is the full policy snapshot the case keeps for its lifetime.
	Policy Policy `json:"policy"`
	// Excluded are the people named in the report and everyone in their
	// supervisory chains: never notified, escalated to, assigned, nor
	// allowed to acknowledge, resolve or reopen.
	Excluded []string `json:"excluded,omitempty"`
	// OpenedAt starts the clocks (the report's acceptance, not the
	// workflow's start, so a late start does not stretch a deadline).
	// Zero or future values mean the workflow's start.
	OpenedAt time.Time `json:"opened_at"`
}

// Validate returns every problem with in; nil means the case can start.
func (in Input) Validate() []FieldError {
	var errs []FieldError
	if !ValidID(in.CaseID) {
		errs = append(errs, FieldError{"case_id", reasonID})
	}
	if !ValidID(in.Department) {
		errs = append(errs, FieldError{"department", reasonID})
	}
	if len(in.Excluded) > MaxExcluded {
		errs = append(errs, FieldError{"excluded", fmt.Sprintf("at most %d people", MaxExcluded)})
	}
	for i, id := range in.Excluded {
		if !ValidID(id) {
			errs = append(errs, FieldError{fmt.Sprintf("excluded[%d]", i), reasonID})
		}
	}
	for _, e := range in.Policy.Validate() {
		errs = append(errs, FieldError{"policy." + e.Field, e.Reason})
	}
	return errs
}

// Acknowledge is the acknowledge signal: By (a person id) acknowledged the
// case at At (zero: when the signal arrives).
type Acknowledge struct {
	By string    `json:"by"`
	At time.Time `json:"at,omitzero"`
}

// Resolve is the resolve signal; Outcome is a code such as
// "substantiated", never free text.
type Resolve struct {
	By      string `json:"by"`
	Outcome string `json:"outcome"`
}

// Reopen is the reopen signal.
type Reopen struct {
	By string `json:"by"`
}

// Assign is the assign signal: To becomes the case's handler.
type Assign struct {
	To string `json:"to"`
	By string `json:"by,omitempty"`
}

// Recuse is the recuse signal: By steps away from the case for a conflict
// of interest and is treated as excluded from then on.
type Recuse struct {
	By string `json:"by"`
}

// RetaliationReport is the retaliationReported signal from the reporter's
// view. Checkin is the check-in answered (0 when unprompted). A reporter
// may be anonymous, so it names no one.
type RetaliationReport struct {
	Checkin int `json:"checkin,omitempty"`
}

// Status is where a case stands in its escalation.
type Status string

// Statuses.
const (
	StatusOpen         Status = "open"         // waiting for acknowledgment
	StatusAcknowledged Status = "acknowledged" // waiting for resolution
	StatusClosed       Status = "closed"       // resolved; retaliation check-ins run
	StatusEnded        Status = "ended"        // follow-up over; the workflow has returned
)

// StepKind says what a timeline step records.
type StepKind string

// Step kinds.
const (
	StepEscalation          StepKind = "escalation"
	StepAcknowledged        StepKind = "acknowledged"
	StepResolved            StepKind = "resolved"
	StepReopened            StepKind = "reopened"
	StepAssigned            StepKind = "assigned"
	StepRecused             StepKind = "recused"
	StepCheckin             StepKind = "checkin"
	StepRetaliationReported StepKind = "retaliation_reported"
	StepLinkedCase          StepKind = "linked_case"
)

// StepStatus is how a step went.
type StepStatus string

// Step statuses.
const (
	StepNotified  StepStatus = "notified"  // escalation sent to Targets
	StepSkipped   StepStatus = "skipped"   // the level's condition no longer held when it was due
	StepUnrouted  StepStatus = "unrouted"  // no eligible recipient; the service alerted its fallback
	StepFailed    StepStatus = "failed"    // the activity failed for good
	StepRequested StepStatus = "requested" // check-in sent
	StepOpened    StepStatus = "opened"    // linked case opened
	StepAccepted  StepStatus = "accepted"  // a signal changed the case
	StepRejected  StepStatus = "rejected"  // a signal did not fit; Code says why
)

// Codes of rejected steps.
const (
	RejectInvalid     = "invalid"              // malformed id or code
	RejectConflict    = "conflict_of_interest" // actor or assignee excluded or recused
	RejectWrongState  = "wrong_state"
	RejectReopenLimit = "reopen_limit"
)

// Step is one entry of a case's timeline. Ids and codes only. A step
// rejected for a conflict of interest names no one, so the timeline does
// not reveal who is in a reported person's chain.
type Step struct {
	Seq        int        `json:"seq"`
	Kind       StepKind   `json:"kind"`
	Status     StepStatus `json:"status"`
	Round      int        `json:"round"`
	Level      string     `json:"level,omitempty"`
	Attempt    int        `json:"attempt,omitempty"` // escalation repeat (1 first) or check-in number
	Targets    []string   `json:"targets,omitempty"`
	By         string     `json:"by,omitempty"`
	Code       string     `json:"code,omitempty"` // outcome, or why a step was rejected
	LinkedCase string     `json:"linked_case,omitempty"`
	DueAt      time.Time  `json:"due_at,omitzero"`
	At         time.Time  `json:"at"`
}

// State is the answer to the state query.
type State struct {
	CaseID         string    `json:"case_id"`
	Department     string    `json:"department"`
	PolicyID       string    `json:"policy_id"`
	PolicyVersion  int       `json:"policy_version"`
	Status         Status    `json:"status"`
	Round          int       `json:"round"`
	Level          string    `json:"level,omitempty"` // level awaited, or the last one reached
	NextDueAt      time.Time `json:"next_due_at,omitzero"`
	OpenedAt       time.Time `json:"opened_at"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	ResolvedBy     string    `json:"resolved_by,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	Outcome        string    `json:"outcome,omitempty"`
	Assignee       string    `json:"assignee,omitempty"`
	Recused        []string  `json:"recused,omitempty"`
	Reopens        int       `json:"reopens"`
	CheckinsDone   int       `json:"checkins_done"`
	Retaliation    bool      `json:"retaliation_reported"`
	LinkedCaseID   string    `json:"linked_case_id,omitempty"`
}

// Ending says why a case's workflow returned.
type Ending string

// Endings.
const (
	EndingFollowedUp          Ending = "followed_up"          // every check-in done, no retaliation reported
	EndingRetaliationReported Ending = "retaliation_reported" // a linked case takes over
)

// Result is what CaseEscalation returns. When LinkedCaseNeeded is set and
// LinkedCaseID is empty, OpenLinkedCase failed for good and the caller must
// open the linked retaliation case itself.
type Result struct {
	CaseID           string `json:"case_id"`
	Ending           Ending `json:"ending"`
	Rounds           int    `json:"rounds"`
	CheckinsDone     int    `json:"checkins_done"`
	LinkedCaseNeeded bool   `json:"linked_case_needed"`
	LinkedCaseID     string `json:"linked_case_id,omitempty"`
}
