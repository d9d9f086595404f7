package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/services/connection/app"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/workflows/mentorship"
)

// Mentorships starts and signals mentorship lifecycle workflows and
// implements their activities.
type Mentorships struct {
	Temporal  client.Client
	TaskQueue string
	App       *app.Service
	Bus       *bus.Bus
	PublicURL string
	Logger    *slog.Logger
	// Timing overrides the workflow's default durations (check-in cadence,
	// inactivity limit...): its non-zero duration fields are copied into
	// every new mentorship's input.
	Timing mentorship.Input
}

var _ mentorship.Activities = (*Mentorships)(nil)

// Consumers starts a workflow for every new mentorship.
func (m *Mentorships) Consumers() []*bus.Consumer {
	c := &bus.Consumer{Name: "connection-mentorships"}
	bus.On(c, func(ctx context.Context, _ events.Envelope, ev contract.MentorshipMatched) error {
		return m.Start(ctx, ev)
	})
	w := &bus.Consumer{Name: "connection-withdrawals"}
	bus.On(w, func(ctx context.Context, _ events.Envelope, ev contract.ProfileWithdrawn) error {
		return m.EndFor(ctx, ev.PersonID)
	})
	return []*bus.Consumer{c, w}
}

// EndFor ends the running mentorships of a person who withdrew consent
// (reason withdrawn); finished ones are left alone.
func (m *Mentorships) EndFor(ctx context.Context, person string) error {
	ids, err := m.App.ActiveMentorships(ctx, person)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := m.Signal(ctx, id, mentorship.SignalEnd, mentorship.EndSignal{Reason: mentorship.EndWithdrawn})
		if err != nil && !errors.Is(err, app.ErrConflict) {
			return err
		}
	}
	return nil
}

// Start starts a mentorship's workflow; one already started is fine.
func (m *Mentorships) Start(ctx context.Context, ev contract.MentorshipMatched) error {
	if m.Temporal == nil {
		return errors.New("no Temporal client")
	}
	in := m.Timing
	if every, err := m.App.CheckinEvery(ctx, ev.RoundID); err != nil {
		return err
	} else if every > 0 {
		in.CheckinEvery = every
	}
	in.MentorshipID, in.RoundID, in.MenteeID, in.MentorID, in.StartedAt = ev.MentorshipID, ev.RoundID, ev.MenteeID, ev.MentorID, ev.At
	if err := in.Validate(); err != nil {
		return bus.Permanent(err)
	}
	_, err := m.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: mentorship.WorkflowID(ev.MentorshipID), TaskQueue: m.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, mentorship.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start mentorship %s: %w", ev.MentorshipID, err)
	}
	return nil
}

// Signal sends a participant's action to the mentorship's workflow.
func (m *Mentorships) Signal(ctx context.Context, id, name string, arg any) error {
	if m.Temporal == nil {
		return errors.New("no Temporal client")
	}
	err := m.Temporal.SignalWorkflow(ctx, mentorship.WorkflowID(id), "", name, arg)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("mentorship %s is not running: %w", id, app.ErrConflict)
	}
	return err
}

// Notify implements mentorship.Activities: a generic notification whose
// id is the workflow's idempotency key (a retry publishes the same event id).
func (m *Mentorships) Notify(ctx context.Context, in mentorship.NotifyInput) error {
	link := m.PublicURL
	if link == "" {
		link = "http://localhost:8080"
	}
	req := notify.NewRequest(in.NotificationID, contract.Service, notify.Template(app.TemplateFor(in.Kind)),
		link+"/connection/mentorships/"+in.MentorshipID, in.MentorshipID, in.Recipients...)
	_, err := notify.Publish(ctx, m.Bus, req)
	return err
}

// CheckinDue implements mentorship.Activities.
func (m *Mentorships) CheckinDue(ctx context.Context, in mentorship.CheckinDueInput) error {
	return m.App.MentorshipCheckin(ctx, in.MentorshipID, in.Number, in.At)
}

// Ended implements mentorship.Activities.
func (m *Mentorships) Ended(ctx context.Context, in mentorship.EndedInput) error {
	return m.App.MentorshipEnded(ctx, in.MentorshipID, in.Reason, in.At)
}
