package app

import (
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/resolution/contract"
	"github.com/deiops/deiops/services/resolution/domain"
)

// ContractEvents maps the events a case recorded to what the service
// publishes: the public event where there is one, and the internal events
// the escalation workflow and the audit of changes need. actor is who made
// the change (the workflow needs it to check conflicts of interest).
func ContractEvents(c *domain.Case, actor string, evs []domain.Event) []events.Event {
	var out []events.Event
	acted := func(action string, at contract.CaseActed) {
		at.Action, at.CaseID = action, c.ID()
		if at.By == "" {
			at.By = actor
		}
		out = append(out, at)
	}
	changed := func(change string, ref int, e contract.CaseChanged) {
		e.CaseID, e.Change, e.Ref = c.ID(), change, ref
		out = append(out, e)
	}
	for _, e := range evs {
		switch e := e.(type) {
		case domain.ReportSubmitted:
			out = append(out, contract.ReportSubmitted{
				CaseID: e.CaseID, Category: string(e.Category), Department: e.DepartmentID, Site: e.Site,
				DesiredOutcome: string(e.DesiredOutcome), Anonymous: e.Anonymous, LinkedFrom: c.LinkedFrom(), SubmittedAt: e.At,
			})
		case domain.CaseTriaged:
			out = append(out, contract.CaseTriaged{CaseID: e.CaseID, Category: string(e.Category), Severity: string(e.Severity), Route: e.Route, At: e.At})
		case domain.CaseAssigned:
			out = append(out, contract.CaseAssigned{CaseID: e.CaseID, AssigneeID: e.AssigneeID, At: e.At})
			acted("assign", contract.CaseActed{Assignee: e.AssigneeID, At: e.At})
		case domain.CaseAcknowledged:
			out = append(out, contract.CaseAcknowledged{CaseID: e.CaseID, At: e.At})
			acted("acknowledge", contract.CaseActed{At: e.At})
		case domain.CaseStarted:
			out = append(out, contract.CaseStarted{CaseID: e.CaseID, At: e.At})
		case domain.CaseResolved:
			out = append(out, contract.CaseResolved{CaseID: e.CaseID, Outcome: e.Outcome, At: e.At})
			acted("resolve", contract.CaseActed{Outcome: e.Outcome, At: e.At})
		case domain.CaseClosed:
			out = append(out, contract.CaseClosed{CaseID: e.CaseID, At: e.At})
		case domain.CaseReopened:
			out = append(out, contract.CaseReopened{CaseID: e.CaseID, Reason: e.Reason, At: e.At})
			acted("reopen", contract.CaseActed{At: e.At})
		case domain.HandlerRecused:
			changed("recused", 0, contract.CaseChanged{At: e.At})
			acted("recuse", contract.CaseActed{By: e.HandlerID, At: e.At})
		case domain.NoteAdded:
			changed("note_added", e.NoteID, contract.CaseChanged{At: e.At})
		case domain.MessagePosted:
			changed("message_posted", e.MessageID, contract.CaseChanged{At: e.At})
		case domain.LegalHoldChanged:
			change := "legal_hold_off"
			if e.On {
				change = "legal_hold_on"
			}
			changed(change, 0, contract.CaseChanged{At: e.At})
		case domain.CheckinRequested:
			out = append(out, contract.CheckinDue{CaseID: e.CaseID, Round: e.Round, Number: e.Number, Of: e.Of, DueAt: e.DueAt})
		case domain.CheckinAnswered:
			changed("checkin_answered", e.Number, contract.CaseChanged{At: e.At})
			if e.Retaliation {
				// The reporter may be anonymous: the signal names no one.
				out = append(out, contract.CaseActed{CaseID: c.ID(), Action: "retaliation_reported", Checkin: e.Number, At: e.At})
			}
		case domain.HandlerLeft:
			changed("handler_left", 0, contract.CaseChanged{At: e.At})
		}
	}
	return out
}
