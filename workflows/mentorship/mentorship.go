// Package mentorship is the lifecycle of one mentoring pair, as a Temporal
// workflow (one per pair, started when the mentor accepts):
//
//   - first-meeting nudge: if the pair has not reported a first meeting
//     FirstMeetingNudge after the start, both are nudged (once);
//   - fit check: FitCheckAfter the first meeting both are asked whether the
//     pairing fits; "good" settles it, "still deciding" asks again after
//     FitRecheckAfter, "not a fit" ends the mentorship and asks the service
//     to re-match the mentee;
//   - periodic check-ins every CheckinEvery from the start (the service
//     publishes check-in-due events);
//   - inactivity: any reported activity (first meeting, fit answer,
//     activity signal) restarts the clock; InactivityWarning before
//     InactivityLimit both are warned once, at InactivityLimit it ends;
//   - at the end, both are asked for feedback; the workflow waits up to
//     FeedbackWindow for both answers, then completes.
//
// Every notification is a generic request (a kind code and ids, never
// content); the service maps kinds to notification templates. The
// workflow is deterministic: time comes from workflow.Now and timers,
// decisions never range over maps, and all I/O is in activities.
package mentorship

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Registered names.
const (
	WorkflowName = "deiops.connection.Mentorship"

	NotifyActivity     = "deiops.connection.MentorshipNotify"
	CheckinDueActivity = "deiops.connection.MentorshipCheckinDue"
	EndedActivity      = "deiops.connection.MentorshipEnded"

	// Signals.
	SignalMet      = "met"
	SignalFit      = "fit"
	SignalActivity = "activity"
	SignalEnd      = "end"
	SignalFeedback = "feedback"

	// QueryState returns State.
	QueryState = "state"
)

// Defaults of Input's durations.
const (
	DefaultFirstMeetingNudge = 7 * 24 * time.Hour
	DefaultFitCheckAfter     = 7 * 24 * time.Hour
	DefaultFitRecheckAfter   = 14 * 24 * time.Hour
	DefaultCheckinEvery      = 30 * 24 * time.Hour
	DefaultInactivityLimit   = 90 * 24 * time.Hour
	DefaultInactivityWarning = 7 * 24 * time.Hour
	DefaultFeedbackWindow    = 14 * 24 * time.Hour
)

// Notification kinds.
const (
	KindFirstMeetingNudge = "first_meeting_nudge"
	KindFitCheck          = "fit_check"
	KindInactivityWarning = "inactivity_warning"
	KindFeedbackRequest   = "feedback_request"
)

// Fit answers.
const (
	FitGood     = "good"
	FitDeciding = "still_deciding"
	FitNotAFit  = "not_a_fit"
)

// End reasons.
const (
	EndNotAFit    = "not_a_fit"
	EndInactivity = "inactivity"
	EndCompleted  = "completed"
	EndWithdrawn  = "withdrawn"
)

// ErrInvalidInput marks input the workflow cannot run with.
var ErrInvalidInput = errors.New("invalid mentorship input")

// Input starts a mentorship. Zero durations take the defaults.
type Input struct {
	MentorshipID string    `json:"mentorship_id"`
	RoundID      string    `json:"round_id"`
	MenteeID     string    `json:"mentee_id"`
	MentorID     string    `json:"mentor_id"`
	StartedAt    time.Time `json:"started_at"`

	FirstMeetingNudge time.Duration `json:"first_meeting_nudge,omitempty"`
	FitCheckAfter     time.Duration `json:"fit_check_after,omitempty"`
	FitRecheckAfter   time.Duration `json:"fit_recheck_after,omitempty"`
	CheckinEvery      time.Duration `json:"checkin_every,omitempty"`
	InactivityLimit   time.Duration `json:"inactivity_limit,omitempty"`
	InactivityWarning time.Duration `json:"inactivity_warning,omitempty"`
	FeedbackWindow    time.Duration `json:"feedback_window,omitempty"`
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (in Input) withDefaults() Input {
	in.FirstMeetingNudge = orDefault(in.FirstMeetingNudge, DefaultFirstMeetingNudge)
	in.FitCheckAfter = orDefault(in.FitCheckAfter, DefaultFitCheckAfter)
	in.FitRecheckAfter = orDefault(in.FitRecheckAfter, DefaultFitRecheckAfter)
	in.CheckinEvery = orDefault(in.CheckinEvery, DefaultCheckinEvery)
	in.InactivityLimit = orDefault(in.InactivityLimit, DefaultInactivityLimit)
	in.InactivityWarning = orDefault(in.InactivityWarning, DefaultInactivityWarning)
	in.FeedbackWindow = orDefault(in.FeedbackWindow, DefaultFeedbackWindow)
	return in
}

// Validate checks the input.
func (in Input) Validate() error {
	switch {
	case in.MentorshipID == "" || in.MenteeID == "" || in.MentorID == "":
		return fmt.Errorf("%w: mentorship, mentee and mentor ids are required", ErrInvalidInput)
	case in.MenteeID == in.MentorID:
		return fmt.Errorf("%w: mentee and mentor are the same person", ErrInvalidInput)
	}
	d := in.withDefaults()
	if d.InactivityWarning >= d.InactivityLimit {
		return fmt.Errorf("%w: the inactivity warning must come before the limit", ErrInvalidInput)
	}
	return nil
}

// FitSignal answers the fit check.
type FitSignal struct {
	By     string `json:"by"`
	Answer string `json:"answer"`
}

// EndSignal ends the mentorship early.
type EndSignal struct {
	Reason string `json:"reason"` // completed or withdrawn
}

// FeedbackSignal says a participant gave feedback (its content stays in
// the service, never in workflow history).
type FeedbackSignal struct {
	By string `json:"by"`
}

// NotifyInput asks for a generic notification to the pair.
type NotifyInput struct {
	NotificationID string    `json:"notification_id"` // idempotency key
	MentorshipID   string    `json:"mentorship_id"`
	Kind           string    `json:"kind"`
	Recipients     []string  `json:"recipients"`
	At             time.Time `json:"at"`
}

// CheckinDueInput says check-in Number is due.
type CheckinDueInput struct {
	MentorshipID string    `json:"mentorship_id"`
	Number       int       `json:"number"`
	Recipients   []string  `json:"recipients"`
	At           time.Time `json:"at"`
}

// EndedInput says the mentorship ended; for not_a_fit the service
// re-matches the mentee.
type EndedInput struct {
	MentorshipID string    `json:"mentorship_id"`
	RoundID      string    `json:"round_id"`
	MenteeID     string    `json:"mentee_id"`
	MentorID     string    `json:"mentor_id"`
	Reason       string    `json:"reason"`
	At           time.Time `json:"at"`
}

// Activities is the connection service's side. Implementations must be
// idempotent on their keys (NotificationID; MentorshipID+Number;
// MentorshipID) because Temporal retries activities.
type Activities interface {
	Notify(ctx context.Context, in NotifyInput) error
	CheckinDue(ctx context.Context, in CheckinDueInput) error
	Ended(ctx context.Context, in EndedInput) error
}

// Register adds the workflow and a's activities to a worker.
func Register(r worker.Registry, a Activities) {
	r.RegisterWorkflowWithOptions(Mentorship, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(a.Notify, activity.RegisterOptions{Name: NotifyActivity})
	r.RegisterActivityWithOptions(a.CheckinDue, activity.RegisterOptions{Name: CheckinDueActivity})
	r.RegisterActivityWithOptions(a.Ended, activity.RegisterOptions{Name: EndedActivity})
}

// WorkflowID is the workflow id of a mentorship (one per pair).
func WorkflowID(mentorshipID string) string { return "mentorship-" + mentorshipID }

// State is what QueryState returns.
type State struct {
	Phase        string    `json:"phase"` // awaiting_first_meeting, fit_check, active, feedback, ended
	Met          bool      `json:"met"`
	Fit          string    `json:"fit,omitempty"`
	Checkins     int       `json:"checkins"`
	LastActivity time.Time `json:"last_activity"`
	Warned       bool      `json:"warned"`
	EndReason    string    `json:"end_reason,omitempty"`
	Feedback     []string  `json:"feedback,omitempty"`
}

// Result is the workflow's result.
type Result struct {
	Reason   string   `json:"reason"`
	Checkins int      `json:"checkins"`
	Feedback []string `json:"feedback,omitempty"`
}

type run struct {
	in  Input
	st  State
	ids []string // recipients: mentee, mentor

	nudged      bool
	fitAskAt    time.Time // zero: no fit question pending
	fitAsks     int
	warnings    int
	nextCheckin time.Time
}

// Mentorship runs one pair's lifecycle (see the package documentation).
func Mentorship(ctx workflow.Context, in Input) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	in = in.withDefaults()
	now := workflow.Now(ctx)
	start := in.StartedAt
	if start.IsZero() || start.After(now) {
		start = now
	}
	in.StartedAt = start
	r := &run{in: in, ids: []string{in.MenteeID, in.MentorID}, nextCheckin: start.Add(in.CheckinEvery),
		st: State{Phase: "awaiting_first_meeting", LastActivity: start}}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.st, nil }); err != nil {
		return Result{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute},
	})
	reason, err := r.live(ctx)
	if err != nil {
		return Result{}, err
	}
	return r.finish(ctx, reason)
}

func (r *run) notify(ctx workflow.Context, kind string, n int) error {
	id := fmt.Sprintf("%s-%s-%d", r.in.MentorshipID, kind, n)
	return workflow.ExecuteActivity(ctx, NotifyActivity, NotifyInput{NotificationID: id, MentorshipID: r.in.MentorshipID,
		Kind: kind, Recipients: r.ids, At: workflow.Now(ctx)}).Get(ctx, nil)
}

// deadlines, earliest first decides the timer.
func (r *run) next() time.Time {
	in := r.in
	t := r.st.LastActivity.Add(in.InactivityLimit)
	consider := func(c time.Time) {
		if !c.IsZero() && c.Before(t) {
			t = c
		}
	}
	if !r.st.Warned {
		consider(r.st.LastActivity.Add(in.InactivityLimit - in.InactivityWarning))
	}
	if !r.st.Met && !r.nudged {
		consider(r.in.StartedAt.Add(in.FirstMeetingNudge))
	}
	consider(r.fitAskAt)
	consider(r.nextCheckin)
	return t
}

func (r *run) active(now time.Time) {
	r.st.LastActivity = now
	r.st.Warned = false
}

// live runs until the mentorship ends and returns the reason.
func (r *run) live(ctx workflow.Context) (string, error) {
	met := workflow.GetSignalChannel(ctx, SignalMet)
	fit := workflow.GetSignalChannel(ctx, SignalFit)
	act := workflow.GetSignalChannel(ctx, SignalActivity)
	end := workflow.GetSignalChannel(ctx, SignalEnd)
	for {
		now := workflow.Now(ctx)
		// Everything due now, in a fixed order; auto-end first, so nothing
		// else is sent at the moment the mentorship ends.
		if !now.Before(r.st.LastActivity.Add(r.in.InactivityLimit)) {
			return EndInactivity, nil
		}
		if !r.st.Met && !r.nudged && !now.Before(r.in.StartedAt.Add(r.in.FirstMeetingNudge)) {
			r.nudged = true
			if err := r.notify(ctx, KindFirstMeetingNudge, 1); err != nil {
				return "", err
			}
		}
		if !r.fitAskAt.IsZero() && !now.Before(r.fitAskAt) {
			r.fitAskAt = time.Time{}
			r.fitAsks++
			r.st.Phase = "fit_check"
			if err := r.notify(ctx, KindFitCheck, r.fitAsks); err != nil {
				return "", err
			}
		}
		for !now.Before(r.nextCheckin) {
			r.st.Checkins++
			r.nextCheckin = r.nextCheckin.Add(r.in.CheckinEvery)
			if err := workflow.ExecuteActivity(ctx, CheckinDueActivity, CheckinDueInput{MentorshipID: r.in.MentorshipID,
				Number: r.st.Checkins, Recipients: r.ids, At: now}).Get(ctx, nil); err != nil {
				return "", err
			}
		}
		if !r.st.Warned && !now.Before(r.st.LastActivity.Add(r.in.InactivityLimit-r.in.InactivityWarning)) {
			r.st.Warned = true
			r.warnings++
			if err := r.notify(ctx, KindInactivityWarning, r.warnings); err != nil {
				return "", err
			}
		}

		timerCtx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(timerCtx, r.next().Sub(now))
		var endReason string
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.AddReceive(met, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			t := workflow.Now(ctx)
			r.active(t)
			if !r.st.Met {
				r.st.Met = true
				r.st.Phase = "fit_check"
				r.fitAskAt = t.Add(r.in.FitCheckAfter)
			}
		})
		sel.AddReceive(fit, func(c workflow.ReceiveChannel, _ bool) {
			var s FitSignal
			c.Receive(ctx, &s)
			t := workflow.Now(ctx)
			r.active(t)
			switch s.Answer {
			case FitGood:
				r.st.Fit, r.st.Phase, r.fitAskAt = FitGood, "active", time.Time{}
			case FitDeciding:
				r.st.Fit = FitDeciding
				r.fitAskAt = t.Add(r.in.FitRecheckAfter)
			case FitNotAFit:
				r.st.Fit = FitNotAFit
				endReason = EndNotAFit
			}
		})
		sel.AddReceive(act, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			r.active(workflow.Now(ctx))
		})
		sel.AddReceive(end, func(c workflow.ReceiveChannel, _ bool) {
			var s EndSignal
			c.Receive(ctx, &s)
			endReason = EndCompleted
			if s.Reason == EndWithdrawn {
				endReason = EndWithdrawn
			}
		})
		sel.Select(ctx)
		cancel()
		if endReason != "" {
			return endReason, nil
		}
	}
}

// finish reports the end (the service publishes it and, for not_a_fit,
// re-matches the mentee), asks both for feedback and waits for it.
func (r *run) finish(ctx workflow.Context, reason string) (Result, error) {
	now := workflow.Now(ctx)
	r.st.Phase, r.st.EndReason = "feedback", reason
	if err := workflow.ExecuteActivity(ctx, EndedActivity, EndedInput{MentorshipID: r.in.MentorshipID, RoundID: r.in.RoundID,
		MenteeID: r.in.MenteeID, MentorID: r.in.MentorID, Reason: reason, At: now}).Get(ctx, nil); err != nil {
		return Result{}, err
	}
	if err := r.notify(ctx, KindFeedbackRequest, 1); err != nil {
		return Result{}, err
	}
	fb := workflow.GetSignalChannel(ctx, SignalFeedback)
	deadline := now.Add(r.in.FeedbackWindow)
	for len(r.st.Feedback) < len(r.ids) {
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			break
		}
		var s FeedbackSignal
		ok, _ := fb.ReceiveWithTimeout(ctx, left, &s)
		if !ok {
			break
		}
		if (s.By == r.in.MenteeID || s.By == r.in.MentorID) && !contains(r.st.Feedback, s.By) {
			r.st.Feedback = append(r.st.Feedback, s.By)
		}
	}
	r.st.Phase = "ended"
	return Result{Reason: reason, Checkins: r.st.Checkins, Feedback: r.st.Feedback}, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
