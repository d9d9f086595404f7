package ports

import (
	"strconv"
	"time"

	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/deiops/deiops/workflows/escalation"
)

// Request and response bodies of the resolution API. They are separate
// from the domain so the API can stay put while the domain moves.

// ReportRequest is the body of POST /v1/reports.
type ReportRequest struct {
	Category       string         `json:"category" desc:"racism, microaggression, discrimination, harassment, bias_in_patient_care, exclusion, retaliation or other"`
	Narrative      string         `json:"narrative" desc:"What happened, in the reporter's words (at most 20,000 characters; encrypted at rest)"`
	OccurredAt     time.Time      `json:"occurred_at" desc:"When it happened"`
	Department     string         `json:"department" desc:"Department id where it happened"`
	Site           string         `json:"site" desc:"Site id where it happened"`
	Involved       []PartyRequest `json:"involved,omitempty" desc:"People involved, by role and optionally by directory id or name"`
	Witnesses      []string       `json:"witnesses,omitempty" desc:"Witnesses, free text (encrypted at rest)"`
	DesiredOutcome string         `json:"desired_outcome" desc:"record_only, informal_support or formal_resolution"`
	Anonymous      bool           `json:"anonymous" desc:"Keep no identity: the answer carries a case key and a secret, shown once"`
}

// PartyRequest is one involved party.
type PartyRequest struct {
	Role     string `json:"role" desc:"patient, attending, resident, nurse, staff, visitor or unknown"`
	PersonID string `json:"person_id,omitempty" desc:"Directory id, when known (restricted)"`
	Name     string `json:"name,omitempty" desc:"Name as the reporter knows it (restricted)"`
}

func (r ReportRequest) input(reporter string) domain.ReportInput {
	in := domain.ReportInput{
		Category: domain.Category(r.Category), Narrative: domain.Restrict(r.Narrative), OccurredAt: r.OccurredAt,
		DepartmentID: r.Department, Site: r.Site, DesiredOutcome: domain.DesiredOutcome(r.DesiredOutcome),
		Anonymous: r.Anonymous, ReporterID: reporter,
	}
	for _, p := range r.Involved {
		in.Involved = append(in.Involved, domain.PartyInput{Role: domain.PartyRole(p.Role),
			PersonID: domain.Restrict(p.PersonID), Name: domain.Restrict(p.Name)})
	}
	for _, w := range r.Witnesses {
		in.Witnesses = append(in.Witnesses, domain.Restrict(w))
	}
	return in
}

// ReportReceipt answers POST /v1/reports.
type ReportReceipt struct {
	CaseID  string `json:"case_id" desc:"Case id"`
	Status  string `json:"status" desc:"submitted"`
	CaseKey string `json:"case_key,omitempty" desc:"Anonymous reports: the case key (XXXX-XXXX-XXXX). Shown once"`
	Secret  string `json:"secret,omitempty" desc:"Anonymous reports: the secret. Shown once; only a keyed hash (HMAC) is kept, it cannot be recovered"`
	Next    string `json:"next" desc:"Where the reporter follows the case"`
}

// TextRequest carries a note or a message.
type TextRequest struct {
	Text string `json:"text" desc:"The text (encrypted at rest)"`
}

// Validate implements httpapi.Validator.
func (t TextRequest) Validate() []httpapi.FieldError {
	if t.Text == "" {
		return []httpapi.FieldError{{Field: "text", Reason: "is required"}}
	}
	return nil
}

// CheckinAnswer answers a retaliation check-in.
type CheckinAnswer struct {
	Retaliation bool `json:"retaliation" desc:"True when the reporter has faced retaliation since the case was resolved"`
}

// TriageRequest is the body of the triage action.
type TriageRequest struct {
	Category string `json:"category" desc:"Category after triage"`
	Severity string `json:"severity" desc:"low, medium, high or critical"`
	Route    string `json:"route" desc:"Routing code"`
}

// Validate implements httpapi.Validator.
func (t TriageRequest) Validate() []httpapi.FieldError {
	var errs []httpapi.FieldError
	if !domain.Category(t.Category).Valid() {
		errs = append(errs, httpapi.FieldError{Field: "category", Reason: "must be one of racism, microaggression, discrimination, harassment, bias_in_patient_care, exclusion, retaliation, other"})
	}
	if !domain.Severity(t.Severity).Valid() {
		errs = append(errs, httpapi.FieldError{Field: "severity", Reason: "must be one of low, medium, high, critical"})
	}
	if !validCode(t.Route) {
		errs = append(errs, httpapi.FieldError{Field: "route", Reason: "must be a code (letters, digits, . _ : -; at most 64 characters)"})
	}
	return errs
}

// AssignRequest is the body of the assign action.
type AssignRequest struct {
	AssigneeID string `json:"assignee_id,omitempty" desc:"Person id; empty assigns by the routing rules (the policy's first level, minus conflicts of interest)"`
}

// Validate implements httpapi.Validator.
func (a AssignRequest) Validate() []httpapi.FieldError {
	if a.AssigneeID != "" && !validCode(a.AssigneeID) {
		return []httpapi.FieldError{{Field: "assignee_id", Reason: "must be a person id"}}
	}
	return nil
}

// ResolveRequest is the body of the resolve action.
type ResolveRequest struct {
	Outcome string `json:"outcome" desc:"Outcome code, e.g. substantiated, not_substantiated, resolved_informally, withdrawn"`
}

// Validate implements httpapi.Validator.
func (r ResolveRequest) Validate() []httpapi.FieldError {
	if !validCode(r.Outcome) {
		return []httpapi.FieldError{{Field: "outcome", Reason: "must be a code (letters, digits, . _ : -; at most 64 characters)"}}
	}
	return nil
}

// ReopenRequest is the body of the reopen action.
type ReopenRequest struct {
	Reason string `json:"reason" desc:"Reason code, e.g. new_information"`
}

// Validate implements httpapi.Validator.
func (r ReopenRequest) Validate() []httpapi.FieldError {
	if !validCode(r.Reason) {
		return []httpapi.FieldError{{Field: "reason", Reason: "must be a code (letters, digits, . _ : -; at most 64 characters)"}}
	}
	return nil
}

// LegalHoldRequest sets or clears the legal hold.
type LegalHoldRequest struct {
	On bool `json:"on" desc:"True blocks retention deletion"`
}

// Party is an involved party in a handler's view.
type Party struct {
	Role     string `json:"role"`
	PersonID string `json:"person_id,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Message is one message of a case's conversation.
type Message struct {
	ID   int       `json:"id"`
	From string    `json:"from" desc:"reporter or handler"`
	By   string    `json:"by,omitempty" desc:"Handler id (handlers' view only)"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Note is an internal note.
type Note struct {
	ID   int       `json:"id"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Checkin is a retaliation check-in.
type Checkin struct {
	Number      int       `json:"number"`
	Of          int       `json:"of"`
	DueAt       time.Time `json:"due_at"`
	Answered    bool      `json:"answered"`
	Retaliation bool      `json:"retaliation,omitempty"`
}

// TimelineEntry is one step of a case (handlers' view).
type TimelineEntry struct {
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Action string    `json:"action"`
}

// CaseView is a case as handlers see it.
type CaseView struct {
	ID             string          `json:"id"`
	State          string          `json:"state"`
	Category       string          `json:"category"`
	Severity       string          `json:"severity,omitempty"`
	Route          string          `json:"route,omitempty"`
	Department     string          `json:"department"`
	Site           string          `json:"site"`
	OccurredAt     time.Time       `json:"occurred_at"`
	OpenedAt       time.Time       `json:"opened_at"`
	AcknowledgedAt time.Time       `json:"acknowledged_at,omitzero"`
	Assignee       string          `json:"assignee,omitempty"`
	Outcome        string          `json:"outcome,omitempty"`
	LegalHold      bool            `json:"legal_hold"`
	DesiredOutcome string          `json:"desired_outcome"`
	Anonymous      bool            `json:"anonymous"`
	LinkedFrom     string          `json:"linked_from,omitempty"`
	PolicyID       string          `json:"policy_id,omitempty"`
	PolicyVersion  int             `json:"policy_version,omitempty"`
	Narrative      string          `json:"narrative"`
	Involved       []Party         `json:"involved"`
	Witnesses      []string        `json:"witnesses"`
	Messages       []Message       `json:"messages"`
	Checkins       []Checkin       `json:"checkins"`
	Timeline       []TimelineEntry `json:"timeline"`
	// Actions are what the caller may do to the case now, each named by
	// its route's last segment (triage, assign, … notes, messages,
	// legal-hold): what their place on the case permits and its state allows.
	Actions []string `json:"actions"`
}

func caseView(r *app.Record, policyID string, policyVersion int) CaseView {
	c := r.Case
	rep := c.Report()
	v := CaseView{
		ID: c.ID(), State: string(c.State()), Category: string(c.Category()), Severity: string(c.Severity()), Route: c.Route(),
		Department: rep.DepartmentID(), Site: rep.Site(), OccurredAt: rep.OccurredAt(), OpenedAt: c.OpenedAt(),
		AcknowledgedAt: c.AcknowledgedAt(), Assignee: c.Assignee(), Outcome: c.Outcome(), LegalHold: c.LegalHold(),
		DesiredOutcome: string(rep.DesiredOutcome()), Anonymous: rep.Anonymous(), LinkedFrom: c.LinkedFrom(),
		PolicyID: policyID, PolicyVersion: policyVersion, Narrative: rep.Narrative().Reveal(),
		Involved: []Party{}, Witnesses: []string{}, Messages: []Message{}, Checkins: checkins(c), Timeline: []TimelineEntry{}, Actions: []string{},
	}
	for _, p := range rep.Involved() {
		v.Involved = append(v.Involved, Party{Role: string(p.Role), PersonID: p.PersonID.Reveal(), Name: p.Name.Reveal()})
	}
	for _, w := range rep.Witnesses() {
		v.Witnesses = append(v.Witnesses, w.Reveal())
	}
	for _, m := range c.Messages() {
		by := m.By
		if m.From == domain.SenderReporter {
			by = "" // a named reporter's id is not the handlers' business
		}
		v.Messages = append(v.Messages, Message{ID: m.ID, From: string(m.From), By: by, At: m.At, Text: m.Text.Reveal()})
	}
	reporter := rep.ReporterID()
	for _, t := range c.Timeline() {
		by := t.By
		if by == reporter && by != "" {
			by = "reporter"
		}
		v.Timeline = append(v.Timeline, TimelineEntry{At: t.At, By: by, Action: string(t.Action)})
	}
	return v
}

func checkins(c *domain.Case) []Checkin {
	out := []Checkin{}
	for _, k := range c.Checkins() {
		out = append(out, Checkin{Number: k.Number, Of: k.Of, DueAt: k.DueAt, Answered: k.Answered(), Retaliation: k.Retaliation})
	}
	return out
}

// ReporterStep is one step of the case as the reporter sees it.
type ReporterStep struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
}

// ReporterView is a case as its reporter sees it: status, what happened
// to it, the conversation, pending check-ins. No internal notes, no
// handler identities.
type ReporterView struct {
	ID             string         `json:"id"`
	Status         string         `json:"status"`
	Category       string         `json:"category"`
	Department     string         `json:"department"`
	OpenedAt       time.Time      `json:"opened_at"`
	AcknowledgedAt time.Time      `json:"acknowledged_at,omitzero"`
	Outcome        string         `json:"outcome,omitempty"`
	Timeline       []ReporterStep `json:"timeline"`
	Messages       []Message      `json:"messages"`
	Checkins       []Checkin      `json:"checkins"`
	// Promise is what the department's policy promises the reporter next
	// (absent once the case is resolved or the policy promises nothing).
	Promise *escalation.Promise `json:"promise,omitempty"`
}

func reporterView(r *app.Record, promise *escalation.Promise) ReporterView {
	c := r.Case
	v := ReporterView{ID: c.ID(), Status: string(c.State()), Category: string(c.Report().Category()),
		Department: c.Report().DepartmentID(), OpenedAt: c.OpenedAt(), AcknowledgedAt: c.AcknowledgedAt(),
		Outcome: c.Outcome(), Timeline: []ReporterStep{}, Messages: []Message{}, Checkins: checkins(c), Promise: promise}
	for _, t := range c.ReporterTimeline() {
		v.Timeline = append(v.Timeline, ReporterStep{At: t.At, Action: string(t.Action)})
	}
	for _, m := range c.Messages() {
		v.Messages = append(v.Messages, Message{ID: m.ID, From: string(m.From), At: m.At, Text: m.Text.Reveal()})
	}
	return v
}

// MyCaseList is a named reporter's own cases.
type MyCaseList struct {
	Cases []app.ReporterSummary `json:"cases"`
}

// Created names what a POST created.
type Created struct {
	ID string `json:"id"`
}

// AuditTrail is a case's audit trail.
type AuditTrail struct {
	CaseID  string           `json:"case_id"`
	Entries []app.AuditEntry `json:"entries"`
}

func validCode(s string) bool { return domain.ValidCode(s) }

func itoa(i int) string { return strconv.Itoa(i) }
