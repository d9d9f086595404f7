package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// QueueCase is one case of the handlers' queue (GET /v1/cases).
type QueueCase struct {
	ID              string    `json:"id"`
	State           string    `json:"state"`
	Category        string    `json:"category"`
	Severity        string    `json:"severity"`
	Department      string    `json:"department"`
	Assignee        string    `json:"assignee"`
	OpenedAt        time.Time `json:"opened_at"`
	AcknowledgedAt  time.Time `json:"acknowledged_at"`
	EscalationLevel string    `json:"escalation_level"`
	NextLevel       string    `json:"next_level"`
	NextDueAt       time.Time `json:"next_due_at"`
	Overdue         bool      `json:"overdue"`
	OverdueSince    time.Time `json:"overdue_since"`
}

// CaseQueue is one page of the queue.
type CaseQueue struct {
	Cases []QueueCase `json:"cases"`
	Total int         `json:"total"`
	Next  string      `json:"next"`
}

// HandlerCase is a case as the people on it see it (GET /v1/cases/{id}).
type HandlerCase struct {
	ID             string    `json:"id"`
	State          string    `json:"state"`
	Category       string    `json:"category"`
	Severity       string    `json:"severity"`
	Route          string    `json:"route"`
	Department     string    `json:"department"`
	Site           string    `json:"site"`
	OccurredAt     time.Time `json:"occurred_at"`
	OpenedAt       time.Time `json:"opened_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at"`
	Assignee       string    `json:"assignee"`
	Outcome        string    `json:"outcome"`
	LegalHold      bool      `json:"legal_hold"`
	DesiredOutcome string    `json:"desired_outcome"`
	Anonymous      bool      `json:"anonymous"`
	LinkedFrom     string    `json:"linked_from"`
	PolicyID       string    `json:"policy_id"`
	PolicyVersion  int       `json:"policy_version"`
	Narrative      string    `json:"narrative"`
	Involved       []Party   `json:"involved"`
	Witnesses      []string  `json:"witnesses"`
	Messages       []struct {
		Message
		By string `json:"by"`
	} `json:"messages"`
	Checkins []Checkin `json:"checkins"`
	Timeline []struct {
		At     time.Time `json:"at"`
		By     string    `json:"by"`
		Action string    `json:"action"`
	} `json:"timeline"`
	// Actions are what the caller may do now (route segments).
	Actions []string `json:"actions"`
}

// Note is an internal note.
type Note struct {
	ID   int       `json:"id"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Escalation is a case's escalation as its workflow answers it.
type Escalation struct {
	State struct {
		Status    string    `json:"status"`
		Round     int       `json:"round"`
		Level     string    `json:"level"`
		NextDueAt time.Time `json:"next_due_at"`
	} `json:"state"`
	Timeline []EscalationStep `json:"timeline"`
}

// EscalationStep is one step of the escalation timeline (ids and codes).
type EscalationStep struct {
	Seq     int       `json:"seq"`
	Kind    string    `json:"kind"`
	Status  string    `json:"status"`
	Round   int       `json:"round"`
	Level   string    `json:"level"`
	Attempt int       `json:"attempt"`
	Targets []string  `json:"targets"`
	By      string    `json:"by"`
	Code    string    `json:"code"`
	DueAt   time.Time `json:"due_at"`
	At      time.Time `json:"at"`
}

// AuditEntry is one read or write of a case.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Outcome string    `json:"outcome"`
}

// Assignee is someone the caller may assign a case to.
type Assignee struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Cases is one page of the queue; q carries the API's filter, sort and
// page parameters as they are.
func (c *Client) Cases(ctx context.Context, who Caller, q url.Values) (CaseQueue, error) {
	var out CaseQueue
	p := "/v1/cases"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	err := c.do(ctx, http.MethodGet, p, who, nil, &out)
	return out, err
}

// Case is one case with its report, for the people on it.
func (c *Client) Case(ctx context.Context, who Caller, id string) (HandlerCase, error) {
	var out HandlerCase
	err := c.do(ctx, http.MethodGet, casePath(id, ""), who, nil, &out)
	return out, err
}

// Notes are a case's internal notes.
func (c *Client) Notes(ctx context.Context, who Caller, id string) ([]Note, error) {
	var out []Note
	err := c.do(ctx, http.MethodGet, casePath(id, "notes"), who, nil, &out)
	return out, err
}

// Escalation is a case's escalation state and timeline.
func (c *Client) Escalation(ctx context.Context, who Caller, id string) (Escalation, error) {
	var out Escalation
	err := c.do(ctx, http.MethodGet, casePath(id, "escalation"), who, nil, &out)
	return out, err
}

// Audit is a case's audit trail (DEI officers).
func (c *Client) Audit(ctx context.Context, who Caller, id string) ([]AuditEntry, error) {
	var out struct {
		Entries []AuditEntry `json:"entries"`
	}
	err := c.do(ctx, http.MethodGet, casePath(id, "audit"), who, nil, &out)
	return out.Entries, err
}

// Assignees lists who the caller may assign the case to.
func (c *Client) Assignees(ctx context.Context, who Caller, id string) ([]Assignee, error) {
	var out struct {
		Assignees []Assignee `json:"assignees"`
	}
	err := c.do(ctx, http.MethodGet, casePath(id, "assignees"), who, nil, &out)
	return out.Assignees, err
}

// Act takes one action on a case: POST /v1/cases/{id}/{action} with body
// (nil for actions without one), or PUT for the legal hold.
func (c *Client) Act(ctx context.Context, who Caller, id, action string, body any) error {
	method := http.MethodPost
	if action == "legal-hold" {
		method = http.MethodPut
	}
	return c.do(ctx, method, casePath(id, action), who, body, nil)
}

func casePath(id, sub string) string {
	p := "/v1/cases/" + url.PathEscape(id)
	if sub != "" {
		p += "/" + sub
	}
	return p
}
