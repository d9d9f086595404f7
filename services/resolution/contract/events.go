// Package contract declares the events the resolution service publishes.
// Integrators subscribe to the public ones (dei.resolution.>); the
// internal ones (deiops.internal.resolution.>) drive the service's own
// consumers. No event carries restricted content: narratives, notes,
// messages, witnesses and the identities of people named in reports stay
// in the encrypted case record. Internal events may carry keyed hashes.
package contract

import (
	"time"

	"github.com/deiops/deiops/pkg/events"
)

// Service is the events.Spec service of every resolution event.
const Service = "resolution"

// ReportSubmitted says a report was accepted and its case opened.
type ReportSubmitted struct {
	CaseID         string    `json:"case_id" desc:"Case id" pattern:"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"`
	Category       string    `json:"category" desc:"Category chosen by the reporter" enum:"racism,microaggression,discrimination,harassment,bias_in_patient_care,exclusion,retaliation,other"`
	Department     string    `json:"department" desc:"Department where it happened"`
	Site           string    `json:"site" desc:"Site where it happened"`
	DesiredOutcome string    `json:"desired_outcome" desc:"What the reporter asked for" enum:"record_only,informal_support,formal_resolution"`
	Anonymous      bool      `json:"anonymous" desc:"True when the reporter kept no identity"`
	LinkedFrom     string    `json:"linked_from,omitempty" desc:"For a retaliation case opened at a check-in: the original case id"`
	SubmittedAt    time.Time `json:"submitted_at" desc:"When the report was accepted"`
}

// EventTime makes the envelope time (ce-time) the submitted_at instant.
func (r ReportSubmitted) EventTime() time.Time { return r.SubmittedAt }

func (ReportSubmitted) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "report", Action: "submitted", Version: 1,
		Summary: "A speak-up report was accepted and its case opened (codes only, no content, no reporter identity)"}
}

// CaseTriaged says a case was triaged.
type CaseTriaged struct {
	CaseID   string    `json:"case_id" desc:"Case id"`
	Category string    `json:"category" desc:"Category after triage" enum:"racism,microaggression,discrimination,harassment,bias_in_patient_care,exclusion,retaliation,other"`
	Severity string    `json:"severity" desc:"Severity set at triage" enum:"low,medium,high,critical"`
	Route    string    `json:"route" desc:"Routing code set at triage"`
	At       time.Time `json:"at" desc:"When"`
}

func (CaseTriaged) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "triaged", Version: 1,
		Summary: "A case was triaged: category, severity and route set"}
}

// CaseAssigned says a case was given to a handler (also on reassignment).
type CaseAssigned struct {
	CaseID     string    `json:"case_id" desc:"Case id"`
	AssigneeID string    `json:"assignee_id" desc:"Person id of the handler"`
	At         time.Time `json:"at" desc:"When"`
}

func (CaseAssigned) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "assigned", Version: 1,
		Summary: "A case was assigned or reassigned to a handler"}
}

// CaseAcknowledged says the handler acknowledged the report to the reporter.
type CaseAcknowledged struct {
	CaseID string    `json:"case_id" desc:"Case id"`
	At     time.Time `json:"at" desc:"When; stops the acknowledgment clock"`
}

func (CaseAcknowledged) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "acknowledged", Version: 1,
		Summary: "The handler acknowledged the report; the acknowledgment clock stops"}
}

// CaseStarted says the resolution work began.
type CaseStarted struct {
	CaseID string    `json:"case_id" desc:"Case id"`
	At     time.Time `json:"at" desc:"When"`
}

func (CaseStarted) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "started", Version: 1,
		Summary: "Work on an acknowledged case began (in progress)"}
}

// CaseEscalated says an escalation level fired.
type CaseEscalated struct {
	CaseID        string    `json:"case_id" desc:"Case id"`
	Department    string    `json:"department" desc:"Department of the case"`
	PolicyID      string    `json:"policy_id" desc:"Escalation policy id"`
	PolicyVersion int       `json:"policy_version" desc:"Policy version the case keeps"`
	Round         int       `json:"round" desc:"1, then one more per reopening"`
	Level         string    `json:"level" desc:"Level name, e.g. program-director"`
	Attempt       int       `json:"attempt" desc:"1, then 2, 3... for repeats of the level"`
	Recipients    int       `json:"recipients" desc:"How many people were notified; 0 means the fallback channel was alerted"`
	DueAt         time.Time `json:"due_at" desc:"When the level was due"`
}

func (CaseEscalated) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "escalated", Version: 1,
		Summary: "An escalation level of the case's policy fired and its targets were notified"}
}

// CaseResolved says a case was resolved with an outcome code.
type CaseResolved struct {
	CaseID  string    `json:"case_id" desc:"Case id"`
	Outcome string    `json:"outcome" desc:"Outcome code, e.g. substantiated"`
	At      time.Time `json:"at" desc:"When"`
}

func (CaseResolved) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "resolved", Version: 1,
		Summary: "A case was resolved; retaliation check-ins are scheduled from here"}
}

// CaseReopened says a resolved or closed case was reopened.
type CaseReopened struct {
	CaseID string    `json:"case_id" desc:"Case id"`
	Reason string    `json:"reason" desc:"Reason code"`
	At     time.Time `json:"at" desc:"When"`
}

func (CaseReopened) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "reopened", Version: 1,
		Summary: "A resolved or closed case was reopened; its escalation starts a new round"}
}

// CaseClosed says a case was closed.
type CaseClosed struct {
	CaseID string    `json:"case_id" desc:"Case id"`
	At     time.Time `json:"at" desc:"When"`
}

func (CaseClosed) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "closed", Version: 1,
		Summary: "A resolved case was closed"}
}

// CheckinDue says a retaliation check-in with the reporter is due.
type CheckinDue struct {
	CaseID string    `json:"case_id" desc:"Case id"`
	Round  int       `json:"round" desc:"Escalation round"`
	Number int       `json:"number" desc:"Check-in number, 1-based"`
	Of     int       `json:"of" desc:"How many check-ins the policy plans"`
	DueAt  time.Time `json:"due_at" desc:"When the check-in fell due"`
}

func (CheckinDue) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "checkin_due", Version: 1,
		Summary: "A retaliation check-in with the reporter fell due after resolution"}
}

// PatternDetected says the pattern engine found a systemic signal.
type PatternDetected struct {
	DetectionID string    `json:"detection_id" desc:"Stable id of the detection (same window, same id)"`
	Kind        string    `json:"kind" desc:"threshold: count over the threshold in the window; rise: significant rise over the department's own baseline" enum:"threshold,rise"`
	Department  string    `json:"department" desc:"Department"`
	Category    string    `json:"category" desc:"Category"`
	WindowStart time.Time `json:"window_start" desc:"First day of the window"`
	WindowEnd   time.Time `json:"window_end" desc:"Day after the window"`
	Count       int       `json:"count" desc:"Reports in the window; 0 when suppressed"`
	Suppressed  bool      `json:"count_suppressed,omitempty" desc:"True when the count is below the minimum cell size and therefore left out"`
	Expected    float64   `json:"expected" desc:"Reports expected in the window from the baseline (rise only)"`
	PValue      float64   `json:"p_value" desc:"One-sided Poisson p-value (rise only)"`
}

func (PatternDetected) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "pattern", Action: "detected", Version: 1,
		Summary: "Pattern detection found a count over threshold or a significant rise in a department and category (no identities)"}
}

// Internal events.

// CaseActed carries a handler action to the case's escalation workflow
// (as a signal), in order, through the outbox of the write that made it.
type CaseActed struct {
	CaseID   string    `json:"case_id" desc:"Case id"`
	Action   string    `json:"action" desc:"What happened" enum:"acknowledge,resolve,reopen,assign,recuse,retaliation_reported"`
	By       string    `json:"by,omitempty" desc:"Actor person id"`
	Assignee string    `json:"assignee,omitempty" desc:"New assignee (assign)"`
	Outcome  string    `json:"outcome,omitempty" desc:"Outcome code (resolve)"`
	Checkin  int       `json:"checkin,omitempty" desc:"Check-in answered (retaliation_reported)"`
	At       time.Time `json:"at" desc:"When"`
}

func (CaseActed) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "acted", Version: 1, Internal: true,
		Summary: "A handler or reporter action that the case's escalation workflow must hear about"}
}

// CaseChanged records internal changes with no public event (notes,
// messages, recusals, legal holds, check-in answers, handlers leaving).
type CaseChanged struct {
	CaseID string    `json:"case_id" desc:"Case id"`
	Change string    `json:"change" desc:"What changed" enum:"note_added,message_posted,recused,legal_hold_on,legal_hold_off,checkin_answered,handler_left,deleted"`
	Ref    int       `json:"ref,omitempty" desc:"Note, message or check-in number"`
	At     time.Time `json:"at" desc:"When"`
}

func (CaseChanged) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "case", Action: "changed", Version: 1, Internal: true,
		Summary: "An internal change to a case (no content)"}
}

// PatternObserved feeds the pattern engine: codes and keyed hashes only.
type PatternObserved struct {
	CaseID     string    `json:"case_id" desc:"Case id"`
	Department string    `json:"department" desc:"Department"`
	Category   string    `json:"category" desc:"Category"`
	Roles      []string  `json:"roles" desc:"Roles of the involved parties"`
	OccurredAt time.Time `json:"occurred_at" desc:"When it happened"`
	Reporter   string    `json:"reporter,omitempty" desc:"Keyed hash of the named reporter; empty when anonymous"`
	Subjects   []string  `json:"subjects,omitempty" desc:"Keyed hashes of the people named"`
}

func (PatternObserved) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "pattern", Action: "observed", Version: 1, Internal: true,
		Summary: "A report as the pattern engine sees it (codes and keyed hashes)"}
}

// Events lists every event of this package, for the catalog.
func Events() []events.Event {
	return []events.Event{
		ReportSubmitted{}, CaseTriaged{}, CaseAssigned{}, CaseAcknowledged{}, CaseStarted{}, CaseEscalated{},
		CaseResolved{}, CaseReopened{}, CaseClosed{}, CheckinDue{}, PatternDetected{},
		CaseActed{}, CaseChanged{}, PatternObserved{},
	}
}
