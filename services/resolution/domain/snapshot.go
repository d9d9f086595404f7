package domain

import (
	"fmt"
	"time"
)

// CaseSnapshot is the store's view of a case, separate from the entity so
// the entity can keep its fields unexported and the record can evolve on
// its own. Restricted fields stay Restricted: the adapter seals each with
// Reveal() and crypto.AAD("case", ID, <field>) into its own record type.
// There are deliberately no json tags; marshalling a snapshot directly
// would write placeholders instead of content.
type CaseSnapshot struct {
	ID         string
	Report     ReportSnapshot
	State      State
	Category   Category
	Severity   Severity
	Route      string
	Assignee   string
	Recused    []string
	Outcome    string
	LegalHold  bool
	AckAt      time.Time
	OpenedAt   time.Time
	Reopenings int
	Notes      []Note
	Timeline   []TimelineEntry
	Messages   []Message
	Checkins   []Checkin
	LinkedFrom string
}

// ReportSnapshot is the store's view of a report.
type ReportSnapshot struct {
	Category       Category
	Narrative      Restricted
	OccurredAt     time.Time
	DepartmentID   string
	Site           string
	Involved       []Party
	Witnesses      []Restricted
	DesiredOutcome DesiredOutcome
	Anonymous      bool
	ReporterID     string
}

// Snapshot copies the case for the store. Pending events are not part of
// it: the adapter pulls them with PullEvents.
func (c *Case) Snapshot() CaseSnapshot {
	r := c.report
	return CaseSnapshot{
		ID: c.id,
		Report: ReportSnapshot{
			Category: r.category, Narrative: r.narrative, OccurredAt: r.occurredAt,
			DepartmentID: r.departmentID, Site: r.site, Involved: append([]Party(nil), r.involved...),
			Witnesses: append([]Restricted(nil), r.witnesses...), DesiredOutcome: r.desiredOutcome,
			Anonymous: r.anonymous, ReporterID: r.reporterID,
		},
		State: c.state, Category: c.category, Severity: c.severity, Route: c.route,
		Assignee: c.assignee, Recused: append([]string(nil), c.recused...), Outcome: c.outcome,
		LegalHold: c.legalHold, AckAt: c.ackAt, OpenedAt: c.openedAt, Reopenings: c.reopenings,
		Notes: append([]Note(nil), c.notes...), Timeline: append([]TimelineEntry(nil), c.timeline...),
		Messages: append([]Message(nil), c.messages...), Checkins: append([]Checkin(nil), c.checkins...),
		LinkedFrom: c.linkedFrom,
	}
}

// UnmarshalCase rebuilds a case from the store. It skips intake validation
// (limits may change after a report was accepted) but rejects records that
// break the aggregate's invariants, so a corrupt record fails loudly
// instead of producing an impossible case.
func UnmarshalCase(s CaseSnapshot) (*Case, error) {
	bad := func(what string) error {
		return fmt.Errorf("unmarshal case %q: %s: %w", s.ID, what, ErrCorruptSnapshot)
	}
	switch {
	case !validCode(s.ID):
		return nil, bad("id")
	case !s.State.valid():
		return nil, bad("state")
	case !s.Category.Valid():
		return nil, bad("category")
	case s.State != StateSubmitted && (!s.Severity.Valid() || !validCode(s.Route)):
		return nil, bad("triage")
	case s.State == StateAssigned && s.Assignee == "":
		return nil, bad("assignee")
	case (s.State == StateResolved || s.State == StateClosed) && s.Outcome == "":
		return nil, bad("outcome")
	case s.Report.Anonymous && s.Report.ReporterID != "":
		return nil, bad("anonymous report with reporter")
	case len(s.Timeline) == 0:
		return nil, bad("timeline")
	}
	r := s.Report
	return &Case{
		id: s.ID,
		report: &Report{
			category: r.Category, narrative: r.Narrative, occurredAt: r.OccurredAt,
			departmentID: r.DepartmentID, site: r.Site, involved: append([]Party(nil), r.Involved...),
			witnesses: append([]Restricted(nil), r.Witnesses...), desiredOutcome: r.DesiredOutcome,
			anonymous: r.Anonymous, reporterID: r.ReporterID,
		},
		state: s.State, category: s.Category, severity: s.Severity, route: s.Route,
		assignee: s.Assignee, recused: append([]string(nil), s.Recused...), outcome: s.Outcome,
		legalHold: s.LegalHold, ackAt: s.AckAt, openedAt: s.OpenedAt, reopenings: s.Reopenings,
		notes: append([]Note(nil), s.Notes...), timeline: append([]TimelineEntry(nil), s.Timeline...),
		messages: append([]Message(nil), s.Messages...), checkins: append([]Checkin(nil), s.Checkins...),
		linkedFrom: s.LinkedFrom,
	}, nil
}
