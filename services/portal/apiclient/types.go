package apiclient

import "time"

// ReportRequest is the body of POST /v1/reports.
type ReportRequest struct {
	Category       string   `json:"category"`
	Narrative      string   `json:"narrative"`
	OccurredAt     string   `json:"occurred_at"` // RFC 3339
	Department     string   `json:"department"`
	Site           string   `json:"site"`
	Involved       []Party  `json:"involved,omitempty"`
	Witnesses      []string `json:"witnesses,omitempty"`
	DesiredOutcome string   `json:"desired_outcome"`
	Anonymous      bool     `json:"anonymous"`
}

// Party is one person involved, by role and optionally by name.
type Party struct {
	Role     string `json:"role"`
	PersonID string `json:"person_id,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Receipt answers POST /v1/reports.
type Receipt struct {
	CaseID  string `json:"case_id"`
	Status  string `json:"status"`
	CaseKey string `json:"case_key,omitempty"`
	Secret  string `json:"secret,omitempty"`
}

// TextRequest carries a message.
type TextRequest struct {
	Text string `json:"text"`
}

// CheckinAnswer answers a retaliation check-in.
type CheckinAnswer struct {
	Retaliation bool `json:"retaliation"`
}

// ReporterView is a case as its reporter sees it.
type ReporterView struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	Category       string    `json:"category"`
	Department     string    `json:"department"`
	OpenedAt       time.Time `json:"opened_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at"`
	Outcome        string    `json:"outcome"`
	Timeline       []Step    `json:"timeline"`
	Messages       []Message `json:"messages"`
	Checkins       []Checkin `json:"checkins"`
	Promise        *Promise  `json:"promise"`
}

// Promise is what the department's policy promises the reporter next:
// the acknowledgment, then feedback, by a date.
type Promise struct {
	Awaiting string    `json:"awaiting"` // acknowledgment or feedback
	DueBy    time.Time `json:"due_by"`
	Overdue  bool      `json:"overdue"`
}

// Step is one step of the case as the reporter sees it.
type Step struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
}

// Message is one message of the conversation.
type Message struct {
	ID   int       `json:"id"`
	From string    `json:"from"` // reporter or handler
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Checkin is a retaliation check-in.
type Checkin struct {
	Number      int       `json:"number"`
	Of          int       `json:"of"`
	DueAt       time.Time `json:"due_at"`
	Answered    bool      `json:"answered"`
	Retaliation bool      `json:"retaliation"`
}

// CaseSummary is one entry of GET /v1/my/cases.
type CaseSummary struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Category   string    `json:"category"`
	Department string    `json:"department"`
	OpenedAt   time.Time `json:"opened_at"`
	Promise    *Promise  `json:"promise"`
}

// Guidance is a department's guidance as the API answers it.
type Guidance struct {
	Department  string       `json:"department"`
	Version     int          `json:"version"`
	SourceScope string       `json:"source_scope"`
	PublishedAt time.Time    `json:"published_at"`
	Guidance    GuidanceText `json:"guidance"`
}

// GuidanceText is the document itself.
type GuidanceText struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Steps   []struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	} `json:"steps"`
	Contacts []struct {
		Role  string `json:"role"`
		Name  string `json:"name"`
		Email string `json:"email"`
		Phone string `json:"phone"`
		Hours string `json:"hours"`
	} `json:"contacts"`
	Timelines []struct {
		Label string `json:"label"`
		Days  int    `json:"days"`
	} `json:"timelines"`
	Options []struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"options"`
}
