// Package ports are the resolution service's entry points: HTTP routes,
// NATS consumers, and the escalation workflow's activities.
package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/contract"
	"github.com/deiops/deiops/workflows/escalation"
)

// Policies returns the escalation policy a department's new cases keep.
type Policies interface {
	Policy(ctx context.Context, department string) (escalation.Policy, error)
}

// WorkflowID is the escalation workflow id of a case.
func WorkflowID(caseID string) string { return "case-" + caseID }

// Escalations starts and signals case escalation workflows.
type Escalations struct {
	Temporal  client.Client
	TaskQueue string
	Cases     app.Cases
	App       *app.Service
	Policies  Policies
	Logger    *slog.Logger
}

// input builds a case's workflow input: the policy snapshot it keeps and
// everyone excluded for a conflict of interest.
func (e *Escalations) input(ctx context.Context, caseID string) (escalation.Input, *app.Record, error) {
	r, err := e.Cases.Get(ctx, caseID)
	if err != nil {
		return escalation.Input{}, nil, err
	}
	dept := r.Case.Report().DepartmentID()
	p, err := e.Policies.Policy(ctx, dept)
	if err != nil {
		return escalation.Input{}, nil, fmt.Errorf("policy for %s: %w", dept, err)
	}
	excluded, err := e.App.Excluded(ctx, r.Case)
	if err != nil {
		return escalation.Input{}, nil, err
	}
	if len(excluded) > escalation.MaxExcluded {
		excluded = excluded[:escalation.MaxExcluded]
		e.Logger.WarnContext(ctx, "escalation: excluded list truncated", "case_id", caseID, "max", escalation.MaxExcluded)
	}
	in := escalation.Input{CaseID: caseID, Department: dept, Policy: p, Excluded: excluded, OpenedAt: r.Case.OpenedAt()}
	return in, r, nil
}

func (e *Escalations) options(caseID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: WorkflowID(caseID), TaskQueue: e.TaskQueue,
		// A case has one escalation for its whole life: a finished run is
		// never started again by a late event.
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}
}

// Start starts a case's escalation; a case already started is fine.
func (e *Escalations) Start(ctx context.Context, caseID string) error {
	if _, _, ok := e.App.Started(caseID); ok {
		return nil
	}
	in, _, err := e.input(ctx, caseID)
	if err != nil {
		if errors.Is(err, app.ErrNotFound) {
			return nil // deleted by retention before it started
		}
		return err
	}
	_, err = e.Temporal.ExecuteWorkflow(ctx, e.options(caseID), escalation.WorkflowName, in)
	if err != nil && !isAlreadyStarted(err) {
		return fmt.Errorf("start escalation of %s: %w", caseID, err)
	}
	return e.App.MarkStarted(ctx, caseID, in.Policy)
}

// Signal delivers a case action to its workflow, starting the workflow
// first when it is not running yet (the report event may still be
// waiting for Temporal). A finished workflow ignores late actions.
func (e *Escalations) Signal(ctx context.Context, a contract.CaseActed) error {
	name, arg, ok := signalOf(a)
	if !ok {
		return nil
	}
	err := e.Temporal.SignalWorkflow(ctx, WorkflowID(a.CaseID), "", name, arg)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		if err != nil {
			return fmt.Errorf("signal %s to %s: %w", name, a.CaseID, err)
		}
		return nil
	}
	in, _, err := e.input(ctx, a.CaseID)
	if errors.Is(err, app.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = e.Temporal.SignalWithStartWorkflow(ctx, WorkflowID(a.CaseID), name, arg, e.options(a.CaseID), escalation.WorkflowName, in)
	if err != nil && !isAlreadyStarted(err) {
		return fmt.Errorf("signal-with-start %s to %s: %w", name, a.CaseID, err)
	}
	if err == nil {
		return e.App.MarkStarted(ctx, a.CaseID, in.Policy)
	}
	return nil // finished for good: nothing left to escalate
}

func signalOf(a contract.CaseActed) (string, any, bool) {
	switch a.Action {
	case "acknowledge":
		return escalation.SignalAcknowledge, escalation.Acknowledge{By: a.By, At: a.At}, true
	case "resolve":
		return escalation.SignalResolve, escalation.Resolve{By: a.By, Outcome: a.Outcome}, true
	case "reopen":
		return escalation.SignalReopen, escalation.Reopen{By: a.By}, true
	case "assign":
		return escalation.SignalAssign, escalation.Assign{To: a.Assignee, By: a.By}, true
	case "recuse":
		return escalation.SignalRecuse, escalation.Recuse{By: a.By}, true
	case "retaliation_reported":
		return escalation.SignalRetaliationReported, escalation.RetaliationReport{Checkin: a.Checkin}, true
	}
	return "", nil, false
}

func isAlreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

// Reconcile starts the escalation of every case not known to run, every
// interval until ctx ends. The report event normally starts it; this
// catches cases whose event ran out of deliveries while Temporal was down.
func (e *Escalations) Reconcile(ctx context.Context, pending func(grace time.Duration) []string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, id := range pending(interval) {
			if err := e.Start(ctx, id); err != nil && ctx.Err() == nil {
				e.Logger.WarnContext(ctx, "escalation reconcile: start failed; will retry", "case_id", id, "error", err)
				break // Temporal is likely down: try the rest next tick
			}
		}
	}
}
