package ports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
	"github.com/deiops/deiops/workflows/followup"
)

// WorkflowID is the follow-up workflow id of an assignment.
func WorkflowID(assignmentID string) string { return "awareness-assignment-" + assignmentID }

// Policy maps an assignment's follow-up settings to the workflow's.
func Policy(a *domain.Assignment) followup.Policy {
	f := a.FollowUp()
	return followup.Policy{Offsets: f.ReminderOffsets, DigestEvery: f.DigestEvery, EscalateAfter: f.EscalateAfter, RecurEvery: a.RecurEvery()}
}

// Input is an assignment's workflow input: ids and times only.
func Input(a *domain.Assignment) followup.Input {
	return followup.Input{AssignmentID: a.ID(), Cycle: a.Cycle(), CycleStart: a.CycleStart(), DueAt: a.DueAt(), Policy: Policy(a)}
}

// FollowUps starts follow-up workflows (app.FollowUps).
type FollowUps struct {
	Temporal  client.Client
	TaskQueue string
	// Policy overrides the policy of every workflow it starts (tests run
	// schedules in seconds); nil keeps the assignment's.
	Policy func(a *domain.Assignment) followup.Policy
}

// Start starts an assignment's follow-up; one already started is fine.
func (f *FollowUps) Start(ctx context.Context, a *domain.Assignment) error {
	if f.Temporal == nil {
		return errors.New("no Temporal client")
	}
	in := Input(a)
	if f.Policy != nil {
		in.Policy = f.Policy(a)
	}
	_, err := f.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: WorkflowID(a.ID()), TaskQueue: f.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, followup.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start follow-up of %s: %w", a.ID(), err)
	}
	return nil
}

// Activities implements followup.Activities over the app.
type Activities struct {
	App *app.Service
}

var _ followup.Activities = (*Activities)(nil)

// heartbeat keeps a long wave alive while fn runs.
func heartbeat[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	if !activity.IsActivity(ctx) {
		return fn(ctx)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return fn(ctx)
}

func permanent(err error) error {
	if errors.Is(err, app.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError("assignment not found", "NotFound", err)
	}
	return err
}

func step(in followup.WaveInput) app.Step {
	return app.Step{WaveID: in.WaveID, AssignmentID: in.AssignmentID, Cycle: in.Cycle, Kind: string(in.Kind), N: in.N, Offset: in.Offset}
}

// SyncRoster implements followup.Activities.
func (a *Activities) SyncRoster(ctx context.Context, in followup.RosterInput) (followup.RosterResult, error) {
	return heartbeat(ctx, func(ctx context.Context) (followup.RosterResult, error) {
		r, err := a.App.SyncRoster(ctx, in.AssignmentID)
		return followup.RosterResult{Joined: r.Joined, Left: r.Left, Incomplete: r.Incomplete}, permanent(err)
	})
}

// Remind implements followup.Activities.
func (a *Activities) Remind(ctx context.Context, in followup.WaveInput) (followup.WaveResult, error) {
	return heartbeat(ctx, func(ctx context.Context) (followup.WaveResult, error) {
		r, err := a.App.Remind(ctx, step(in))
		return followup.WaveResult{Notified: r.Notified, Incomplete: r.Incomplete}, permanent(err)
	})
}

// Digest implements followup.Activities.
func (a *Activities) Digest(ctx context.Context, in followup.WaveInput) (followup.WaveResult, error) {
	return heartbeat(ctx, func(ctx context.Context) (followup.WaveResult, error) {
		r, _, err := a.App.Digest(ctx, step(in))
		return followup.WaveResult{Notified: r.Notified, Incomplete: r.Incomplete}, permanent(err)
	})
}

// Escalate implements followup.Activities.
func (a *Activities) Escalate(ctx context.Context, in followup.WaveInput) (followup.WaveResult, error) {
	return heartbeat(ctx, func(ctx context.Context) (followup.WaveResult, error) {
		r, err := a.App.Escalate(ctx, step(in))
		return followup.WaveResult{Notified: r.Notified, Incomplete: r.Incomplete}, permanent(err)
	})
}

// NextCycle implements followup.Activities.
func (a *Activities) NextCycle(ctx context.Context, in followup.NextCycleInput) (followup.NextCycleResult, error) {
	return heartbeat(ctx, func(ctx context.Context) (followup.NextCycleResult, error) {
		as, ended, err := a.App.NextCycle(ctx, in.AssignmentID, in.Cycle, in.Start)
		if err != nil {
			return followup.NextCycleResult{}, permanent(err)
		}
		if ended {
			return followup.NextCycleResult{Ended: true}, nil
		}
		return followup.NextCycleResult{Cycle: as.Cycle(), Start: as.CycleStart(), DueAt: as.DueAt()}, nil
	})
}

// Consumers returns the service's durable consumer: awareness-directory
// reaches joiners with live campaigns, assigns them open trainings of
// their audiences, and drops leavers. app is called when a message
// arrives (the target builds its use cases in Start).
func Consumers(app func() *app.Service) []*bus.Consumer {
	dir := &bus.Consumer{Name: "awareness-directory"}
	bus.On(dir, func(ctx context.Context, _ events.Envelope, p directory.PersonUpdated) error {
		a := app()
		if a == nil {
			return errors.New("awareness: not started")
		}
		return a.PersonChanged(ctx, p.PersonID, p.Active)
	})
	return []*bus.Consumer{dir}
}
