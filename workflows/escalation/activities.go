package escalation

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Registered names. Departments and tools that start, signal or query
// cases from their own Temporal code use these.
const (
	WorkflowName = "deiops.resolution.CaseEscalation"

	ResolveTargetsActivity   = "deiops.resolution.ResolveTargets"
	NotifyEscalationActivity = "deiops.resolution.NotifyEscalation"
	RequestCheckinActivity   = "deiops.resolution.RequestCheckin"
	OpenLinkedCaseActivity   = "deiops.resolution.OpenLinkedCase"
)

// Activities is the resolution service's side of a case: everything that
// touches the world. The workflow calls these by name and owns every
// decision; an implementation must be idempotent where its input carries a
// key, because Temporal retries activities (at least once, never exactly
// once). An error is retried with backoff; return a non-retryable
// application error (temporal.NewNonRetryableApplicationError) for a
// failure retrying cannot fix. Cancelling ctx means the case was cancelled
// or the worker is stopping.
type Activities interface {
	// ResolveTargets turns a level's targets into person ids at At: a user
	// target is that user (left out when they have left the hospital), a
	// role the people holding it in Department, a rotation the member(s)
	// on duty. It may also return current out-of-office delegations of
	// those people; the workflow applies them before the policy's own.
	// It must not filter for conflicts of interest: the workflow does,
	// after delegation too.
	ResolveTargets(ctx context.Context, in ResolveTargetsInput) (ResolveTargetsResult, error)

	// NotifyEscalation asks for a generic notification ("a case needs your
	// attention") to Recipients. Recipients is empty when every target was
	// excluded, recused or unresolvable: the service must then alert its
	// fallback channel (e.g. the DEI office) and never the people filtered
	// out. NotificationID is the idempotency key.
	NotifyEscalation(ctx context.Context, in NotifyEscalationInput) error

	// RequestCheckin asks the reporter, through their channel (token or
	// anonymous inbox), whether they have faced retaliation since the case
	// closed. RequestID is the idempotency key.
	RequestCheckin(ctx context.Context, in RequestCheckinInput) error

	// OpenLinkedCase opens a retaliation case linked to CaseID and returns
	// its id; the service starts that case's own escalation. RequestID is
	// the idempotency key: a retry must return the case opened first.
	OpenLinkedCase(ctx context.Context, in OpenLinkedCaseInput) (OpenLinkedCaseResult, error)
}

// ResolveTargetsInput asks who a level's targets are.
type ResolveTargetsInput struct {
	CaseID     string    `json:"case_id"`
	Department string    `json:"department"`
	Level      string    `json:"level"`
	Targets    []Target  `json:"targets"`
	At         time.Time `json:"at"`
}

// ResolveTargetsResult lists person ids, in the order the targets name
// them, and any live out-of-office delegations for them.
type ResolveTargetsResult struct {
	People      []string    `json:"people"`
	Delegations Delegations `json:"delegations,omitempty"`
}

// NotifyEscalationInput is one escalation notice. Ids only.
type NotifyEscalationInput struct {
	NotificationID string    `json:"notification_id"` // idempotency key
	CaseID         string    `json:"case_id"`
	Department     string    `json:"department"`
	PolicyID       string    `json:"policy_id"`
	PolicyVersion  int       `json:"policy_version"`
	Round          int       `json:"round"` // 1, then one more per reopening
	Level          string    `json:"level"`
	Attempt        int       `json:"attempt"` // 1, then 2, 3... for repeats
	Recipients     []string  `json:"recipients"`
	DueAt          time.Time `json:"due_at"`
}

// RequestCheckinInput is one retaliation check-in with the reporter.
type RequestCheckinInput struct {
	RequestID string    `json:"request_id"` // idempotency key
	CaseID    string    `json:"case_id"`
	Round     int       `json:"round"`
	Number    int       `json:"number"` // 1-based
	Of        int       `json:"of"`
	DueAt     time.Time `json:"due_at"`
}

// OpenLinkedCaseInput asks for a retaliation case linked to CaseID.
type OpenLinkedCaseInput struct {
	RequestID  string `json:"request_id"` // idempotency key
	CaseID     string `json:"case_id"`
	Department string `json:"department"`
	Checkin    int    `json:"checkin"` // the check-in answered; 0 when unprompted
}

// OpenLinkedCaseResult names the linked case.
type OpenLinkedCaseResult struct {
	CaseID string `json:"case_id"`
}

// Register adds the workflow and a's activities to a worker under the
// names above.
func Register(r worker.Registry, a Activities) {
	r.RegisterWorkflowWithOptions(CaseEscalation, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(a.ResolveTargets, activity.RegisterOptions{Name: ResolveTargetsActivity})
	r.RegisterActivityWithOptions(a.NotifyEscalation, activity.RegisterOptions{Name: NotifyEscalationActivity})
	r.RegisterActivityWithOptions(a.RequestCheckin, activity.RegisterOptions{Name: RequestCheckinActivity})
	r.RegisterActivityWithOptions(a.OpenLinkedCase, activity.RegisterOptions{Name: OpenLinkedCaseActivity})
}
