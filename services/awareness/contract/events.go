// Package contract declares the events the awareness service publishes
// (dei.awareness.>). They carry ids, codes, times and counts only: never a
// campaign's or statement's text, never a name, an email or an exemption
// reason.
package contract

import (
	"time"

	"github.com/deiops/deiops/pkg/events"
)

// Service is the events.Spec service of every awareness event.
const Service = "awareness"

// CampaignPublished says a campaign reached its audience.
type CampaignPublished struct {
	CampaignID  string    `json:"campaign_id" desc:"Campaign id"`
	Reached     int       `json:"reached" desc:"People reached at publication (the audience resolved against the directory then)"`
	PublishedAt time.Time `json:"published_at" desc:"When"`
	ExpiresAt   time.Time `json:"expires_at,omitzero" desc:"When the campaign stops showing; absent when never"`
}

func (CampaignPublished) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "campaign", Action: "published", Version: 1,
		Summary: "A campaign was published to its audience (ids and counts only, never its text)"}
}

// StatementVersionPublished says a new version of an expectation statement is out.
type StatementVersionPublished struct {
	StatementID         string    `json:"statement_id" desc:"Statement id"`
	Version             int       `json:"version" desc:"Version number, from 1"`
	RequiresAttestation bool      `json:"requires_attestation" desc:"True when everyone in the audience must attest this version (again)"`
	PublishedAt         time.Time `json:"published_at" desc:"When"`
}

func (StatementVersionPublished) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "statement", Action: "version_published", Version: 1,
		Summary: "A new version of an expectation statement was published; when it requires attestation, everyone in its audience owes it"}
}

// AttestationRecorded says a person attested a statement version.
type AttestationRecorded struct {
	StatementID string    `json:"statement_id" desc:"Statement id"`
	Version     int       `json:"version" desc:"Version attested"`
	PersonID    string    `json:"person_id" desc:"Directory id of the person who attested"`
	At          time.Time `json:"at" desc:"When"`
}

func (AttestationRecorded) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "attestation", Action: "recorded", Version: 1,
		Summary: "A person attested a version of an expectation statement"}
}

// TrainingAssigned says a module was assigned: to a cohort (person_id
// empty, people counts it) or to one person who joined the audience later.
type TrainingAssigned struct {
	AssignmentID string    `json:"assignment_id" desc:"Assignment id"`
	ModuleID     string    `json:"module_id" desc:"Module id"`
	Cycle        int       `json:"cycle" desc:"Cycle number, from 1; a recurring assignment starts a new cycle each period"`
	PersonID     string    `json:"person_id,omitempty" desc:"Set for one joiner; absent for the cohort"`
	People       int       `json:"people" desc:"People assigned by this event"`
	DueAt        time.Time `json:"due_at" desc:"Due date (the joiner's own for a joiner)"`
	At           time.Time `json:"at" desc:"When"`
}

func (TrainingAssigned) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "training", Action: "assigned", Version: 1,
		Summary: "A training module was assigned to a cohort (with a count), to a joiner, or a new recertification cycle started"}
}

// ReminderSent says one follow-up wave notified the incomplete people of a cohort.
type ReminderSent struct {
	AssignmentID string    `json:"assignment_id" desc:"Assignment id"`
	Cycle        int       `json:"cycle" desc:"Cycle number"`
	Wave         string    `json:"wave" desc:"Wave code, e.g. reminder#2 or overdue#1"`
	OffsetDays   float64   `json:"offset_days" desc:"Offset of the wave from the due date in days; negative before"`
	Recipients   int       `json:"recipients" desc:"People notified"`
	At           time.Time `json:"at" desc:"When"`
}

func (ReminderSent) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "reminder", Action: "sent", Version: 1,
		Summary: "A follow-up wave reminded the people of a cohort who are neither completed nor exempt (a count, no names)"}
}

// TrainingOverdue says a person's training passed its due date incomplete.
type TrainingOverdue struct {
	AssignmentID string    `json:"assignment_id" desc:"Assignment id"`
	ModuleID     string    `json:"module_id" desc:"Module id"`
	Cycle        int       `json:"cycle" desc:"Cycle number"`
	PersonID     string    `json:"person_id" desc:"Directory id of the person"`
	DueAt        time.Time `json:"due_at" desc:"The due date passed"`
	At           time.Time `json:"at" desc:"When"`
}

func (TrainingOverdue) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "training", Action: "overdue", Version: 1,
		Summary: "A person's training passed its due date without completion or exemption"}
}

// TrainingEscalated says a cohort's overdue people were escalated to the program director.
type TrainingEscalated struct {
	AssignmentID string    `json:"assignment_id" desc:"Assignment id"`
	Cycle        int       `json:"cycle" desc:"Cycle number"`
	Overdue      int       `json:"overdue" desc:"People overdue at escalation"`
	Recipients   int       `json:"recipients" desc:"Program directors notified"`
	At           time.Time `json:"at" desc:"When"`
}

func (TrainingEscalated) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "training", Action: "escalated", Version: 1,
		Summary: "The overdue people of a cohort were escalated to the program director (counts only)"}
}

// TrainingCompleted says a person completed an assigned module.
type TrainingCompleted struct {
	AssignmentID string    `json:"assignment_id" desc:"Assignment id"`
	ModuleID     string    `json:"module_id" desc:"Module id"`
	Cycle        int       `json:"cycle" desc:"Cycle number"`
	PersonID     string    `json:"person_id" desc:"Directory id of the person"`
	Source       string    `json:"source" desc:"How the completion arrived" enum:"api,csv,xapi,webhook"`
	CompletedAt  time.Time `json:"completed_at" desc:"When the person completed it"`
}

func (TrainingCompleted) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "training", Action: "completed", Version: 1,
		Summary: "A person completed an assigned training module (duplicates are not repeated)"}
}

// TrainingExempted says a person was exempted from a cycle of an assignment.
type TrainingExempted struct {
	AssignmentID string    `json:"assignment_id" desc:"Assignment id"`
	ModuleID     string    `json:"module_id" desc:"Module id"`
	Cycle        int       `json:"cycle" desc:"Cycle number"`
	PersonID     string    `json:"person_id" desc:"Directory id of the person"`
	By           string    `json:"by" desc:"Directory id of whoever granted it (the reason stays in the service)"`
	At           time.Time `json:"at" desc:"When"`
}

func (TrainingExempted) EventSpec() events.Spec {
	return events.Spec{Service: Service, Entity: "training", Action: "exempted", Version: 1,
		Summary: "A person was exempted from a training for the current cycle (the reason is not in the event)"}
}

// Events lists the service's events, for the catalog.
func Events() []events.Event {
	return []events.Event{CampaignPublished{}, StatementVersionPublished{}, AttestationRecorded{}, TrainingAssigned{},
		ReminderSent{}, TrainingOverdue{}, TrainingEscalated{}, TrainingCompleted{}, TrainingExempted{}}
}
