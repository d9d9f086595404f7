// Package followup holds the awareness service's cohort follow-up
// workflow: one workflow per training assignment (a cohort), never one per
// person.
//
// The workflow owns the schedule — reminder waves at offsets from the due
// date, a weekly out-of-compliance digest to supervisors once the due date
// has passed, one escalation to the program director after N days overdue,
// and, for recurring assignments, the start of the next cycle. It never
// holds the roster: every wave is an activity that reads who is still
// incomplete from the service's store at that moment (and first brings the
// roster in line with the directory: joiners assigned, leavers dropped).
// So its history grows with the number of waves, not people, and a person
// who completed or was exempted before a wave is simply not in it.
//
// Each cycle ends in continue-as-new, and so does a long cycle whose
// history the server suggests to cut.
package followup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Registered names.
const (
	WorkflowName = "deiops.awareness.CohortFollowUp"

	SyncRosterActivity = "deiops.awareness.SyncRoster"
	RemindActivity     = "deiops.awareness.Remind"
	DigestActivity     = "deiops.awareness.Digest"
	EscalateActivity   = "deiops.awareness.Escalate"
	NextCycleActivity  = "deiops.awareness.NextCycle"

	// QueryState answers State.
	QueryState = "state"
)

// Defaults of a Policy's zero fields.
var (
	// DefaultOffsets are the reminder waves: 30, 14 and 1 days before the
	// due date and 1 day after (the overdue notice).
	DefaultOffsets = []time.Duration{-30 * Day, -14 * Day, -1 * Day, 1 * Day}
	// DefaultDigestEvery is the supervisors' digest period.
	DefaultDigestEvery = 7 * Day
	// DefaultEscalateAfter is how long after the due date incomplete
	// people are escalated to the program director.
	DefaultEscalateAfter = 14 * Day
	// DefaultMaxDigests bounds the digests of a cycle that does not recur.
	DefaultMaxDigests = 8
)

// Day is 24 hours (the workflow works in UTC; due dates are instants).
const Day = 24 * time.Hour

// MaxHistory is the number of history events after which a run continues
// as new within a cycle even if the server has not suggested it yet;
// MaxStepsPerRun bounds the steps one run takes before it continues as
// new (each step adds about a dozen events). Variables only so that tests
// can lower them.
var (
	MaxHistory     = 10000
	MaxStepsPerRun = 200
)

// ErrInvalidInput is the type of the error for an input the workflow cannot run.
const ErrInvalidInput = "InvalidInput"

// Policy is the follow-up schedule of one assignment.
type Policy struct {
	// Offsets from the due date of the reminder waves; negative is before.
	// A wave at or after the due date is an overdue notice.
	Offsets []time.Duration `json:"offsets,omitempty"`
	// DigestEvery is the period of the supervisors' digest after the due date.
	DigestEvery time.Duration `json:"digest_every,omitempty"`
	// MaxDigests bounds digests in a cycle that does not recur.
	MaxDigests int `json:"max_digests,omitempty"`
	// EscalateAfter is the time overdue after which the program director
	// is told, once per cycle.
	EscalateAfter time.Duration `json:"escalate_after,omitempty"`
	// RecurEvery starts a new cycle this long after the current cycle's
	// start (annual recertification); zero means no recurrence.
	RecurEvery time.Duration `json:"recur_every,omitempty"`
}

// WithDefaults fills zero fields.
func (p Policy) WithDefaults() Policy {
	if len(p.Offsets) == 0 {
		p.Offsets = slices.Clone(DefaultOffsets)
	}
	if p.DigestEvery <= 0 {
		p.DigestEvery = DefaultDigestEvery
	}
	if p.EscalateAfter <= 0 {
		p.EscalateAfter = DefaultEscalateAfter
	}
	if p.MaxDigests <= 0 {
		p.MaxDigests = DefaultMaxDigests
	}
	return p
}

// Validate lists problems with p.
func (p Policy) Validate() []error {
	var errs []error
	for i, o := range p.Offsets {
		if o < -366*Day || o > 366*Day {
			errs = append(errs, fmt.Errorf("offsets[%d]: must be within a year of the due date", i))
		}
	}
	if p.DigestEvery < 0 || (p.DigestEvery > 0 && p.DigestEvery < time.Second) {
		errs = append(errs, errors.New("digest_every: must be at least a second"))
	}
	if p.EscalateAfter < 0 {
		errs = append(errs, errors.New("escalate_after: must not be negative"))
	}
	if p.RecurEvery < 0 || (p.RecurEvery > 0 && p.RecurEvery < time.Second) {
		errs = append(errs, errors.New("recur_every: must be at least a second"))
	}
	return errs
}

// Input starts (or continues) one assignment's follow-up. It carries ids
// and times only.
type Input struct {
	AssignmentID string    `json:"assignment_id"`
	Cycle        int       `json:"cycle"`
	CycleStart   time.Time `json:"cycle_start"`
	DueAt        time.Time `json:"due_at"`
	Policy       Policy    `json:"policy"`
	// Done counts the steps of this cycle already taken by earlier runs
	// (continue-as-new within a cycle).
	Done int `json:"done,omitempty"`
}

// Validate lists problems with in.
func (in Input) Validate() []error {
	var errs []error
	if in.AssignmentID == "" {
		errs = append(errs, errors.New("assignment_id: required"))
	}
	if in.Cycle < 1 {
		errs = append(errs, errors.New("cycle: must be at least 1"))
	}
	if in.DueAt.IsZero() {
		errs = append(errs, errors.New("due_at: required"))
	}
	return append(errs, in.Policy.Validate()...)
}

// StepKind is what a step of the schedule does.
type StepKind string

// Step kinds.
const (
	StepReminder StepKind = "reminder"
	StepOverdue  StepKind = "overdue"
	StepDigest   StepKind = "digest"
	StepEscalate StepKind = "escalate"
	StepCycle    StepKind = "next_cycle"
)

// Step is one point of the schedule.
type Step struct {
	Kind   StepKind      `json:"kind"`
	At     time.Time     `json:"at"`
	Offset time.Duration `json:"offset"` // from the due date
	N      int           `json:"n"`      // 1-based number among steps of its kind
}

// Schedule lists the steps of one cycle in time order (ties: reminders,
// then escalation, then digest). Digests follow the due date every
// DigestEvery until the next cycle starts, or MaxDigests of them when the
// assignment does not recur.
func Schedule(in Input) []Step {
	p := in.Policy.WithDefaults()
	var steps []Step
	offsets := slices.Clone(p.Offsets)
	slices.Sort(offsets)
	offsets = slices.Compact(offsets)
	r, o := 0, 0
	for _, off := range offsets {
		if off < 0 {
			r++
			steps = append(steps, Step{Kind: StepReminder, At: in.DueAt.Add(off), Offset: off, N: r})
		} else {
			o++
			steps = append(steps, Step{Kind: StepOverdue, At: in.DueAt.Add(off), Offset: off, N: o})
		}
	}
	steps = append(steps, Step{Kind: StepEscalate, At: in.DueAt.Add(p.EscalateAfter), Offset: p.EscalateAfter, N: 1})
	var next time.Time
	if p.RecurEvery > 0 {
		start := in.CycleStart
		if start.IsZero() || !start.Before(in.DueAt) {
			start = in.DueAt
		}
		next = start.Add(p.RecurEvery)
		if !next.After(in.DueAt) {
			next = in.DueAt.Add(p.RecurEvery)
		}
	}
	for n := 1; ; n++ {
		off := time.Duration(n) * p.DigestEvery
		at := in.DueAt.Add(off)
		if p.RecurEvery > 0 && !at.Before(next) || p.RecurEvery == 0 && n > p.MaxDigests || n > 1000 {
			break
		}
		steps = append(steps, Step{Kind: StepDigest, At: at, Offset: off, N: n})
	}
	if p.RecurEvery > 0 {
		steps = append(steps, Step{Kind: StepCycle, At: next, Offset: next.Sub(in.DueAt), N: 1})
	}
	rank := map[StepKind]int{StepReminder: 0, StepOverdue: 0, StepEscalate: 1, StepDigest: 2, StepCycle: 3}
	slices.SortStableFunc(steps, func(a, b Step) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return rank[a.Kind] - rank[b.Kind]
	})
	return steps
}

// WaveInput asks for one step's work. WaveID is the idempotency key:
// a retried activity must not notify twice.
type WaveInput struct {
	WaveID       string        `json:"wave_id"`
	AssignmentID string        `json:"assignment_id"`
	Cycle        int           `json:"cycle"`
	Kind         StepKind      `json:"kind"`
	N            int           `json:"n"`
	Offset       time.Duration `json:"offset"`
	DueAt        time.Time     `json:"due_at"`
	At           time.Time     `json:"at"`
}

// WaveResult counts, never names.
type WaveResult struct {
	// Notified is how many people (or supervisors, or program directors)
	// the step notified.
	Notified int `json:"notified"`
	// Incomplete is how many people of the cycle are still neither
	// completed nor exempt after the step.
	Incomplete int `json:"incomplete"`
}

// RosterInput asks to bring a cycle's roster in line with the directory.
type RosterInput struct {
	AssignmentID string    `json:"assignment_id"`
	Cycle        int       `json:"cycle"`
	At           time.Time `json:"at"`
}

// RosterResult counts the roster change.
type RosterResult struct {
	Joined     int `json:"joined"`
	Left       int `json:"left"`
	Incomplete int `json:"incomplete"`
}

// NextCycleInput asks to start cycle Cycle of an assignment.
type NextCycleInput struct {
	AssignmentID string    `json:"assignment_id"`
	Cycle        int       `json:"cycle"` // the new cycle's number
	Start        time.Time `json:"start"`
}

// NextCycleResult is the new cycle.
type NextCycleResult struct {
	Cycle int       `json:"cycle"`
	Start time.Time `json:"start"`
	DueAt time.Time `json:"due_at"`
	// Ended is true when the assignment was cancelled: no new cycle.
	Ended bool `json:"ended"`
}

// Activities is the awareness service's side of the follow-up. Every
// method reads the store at the moment it runs.
type Activities interface {
	// SyncRoster assigns people who joined the audience since the cycle
	// started (with the joiner due-date policy) and drops people who left.
	SyncRoster(ctx context.Context, in RosterInput) (RosterResult, error)
	// Remind notifies the people of the cycle who are still incomplete
	// (a reminder before the due date, an overdue notice at or after it,
	// which also marks them overdue).
	Remind(ctx context.Context, in WaveInput) (WaveResult, error)
	// Digest sends each supervisor in the directory chain of an overdue
	// person a digest of their own reports' overdue items (ids and counts).
	Digest(ctx context.Context, in WaveInput) (WaveResult, error)
	// Escalate tells the program director who is overdue.
	Escalate(ctx context.Context, in WaveInput) (WaveResult, error)
	// NextCycle starts a recurring assignment's next cycle.
	NextCycle(ctx context.Context, in NextCycleInput) (NextCycleResult, error)
}

// State answers QueryState.
type State struct {
	AssignmentID string    `json:"assignment_id"`
	Cycle        int       `json:"cycle"`
	DueAt        time.Time `json:"due_at"`
	Done         int       `json:"done"`
	Steps        int       `json:"steps"`
	Next         *Step     `json:"next,omitempty"`
	Incomplete   int       `json:"incomplete"`
	Escalated    bool      `json:"escalated"`
}

// Result ends a workflow that does not recur.
type Result struct {
	AssignmentID string `json:"assignment_id"`
	Cycles       int    `json:"cycles"`
	Incomplete   int    `json:"incomplete"`
}

// CohortFollowUp runs one cycle of an assignment's schedule.
func CohortFollowUp(ctx workflow.Context, in Input) (Result, error) {
	if errs := in.Validate(); len(errs) > 0 {
		return Result{}, temporal.NewNonRetryableApplicationError("invalid follow-up input", ErrInvalidInput, errors.Join(errs...))
	}
	steps := Schedule(in)
	st := State{AssignmentID: in.AssignmentID, Cycle: in.Cycle, DueAt: in.DueAt, Done: in.Done, Steps: len(steps), Incomplete: -1}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) {
		s := st
		if s.Done < len(steps) {
			next := steps[s.Done]
			s.Next = &next
		}
		return s, nil
	}); err != nil {
		return Result{}, err
	}
	actx := workflow.WithActivityOptions(ctx, activityOptions())
	taken := 0
	for st.Done < len(steps) {
		step := steps[st.Done]
		if stale(steps, st.Done, workflow.Now(ctx)) {
			st.Done++
			continue
		}
		if d := step.At.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.NewTimer(ctx, d).Get(ctx, nil); err != nil {
				return Result{}, err
			}
		}
		if step.Kind == StepCycle {
			var next NextCycleResult
			err := workflow.ExecuteActivity(actx, NextCycleActivity, NextCycleInput{AssignmentID: in.AssignmentID, Cycle: in.Cycle + 1, Start: step.At}).Get(ctx, &next)
			if err != nil {
				return Result{}, err
			}
			if next.Ended {
				return Result{AssignmentID: in.AssignmentID, Cycles: in.Cycle, Incomplete: st.Incomplete}, nil
			}
			return Result{}, workflow.NewContinueAsNewError(ctx, WorkflowName, Input{
				AssignmentID: in.AssignmentID, Cycle: next.Cycle, CycleStart: next.Start, DueAt: next.DueAt, Policy: in.Policy,
			})
		}
		if err := runStep(ctx, actx, in, step, &st); err != nil {
			return Result{}, err
		}
		st.Done++
		taken++
		// A cycle that does not recur ends once nobody is left to follow up
		// after the due date.
		if in.Policy.RecurEvery == 0 && st.Incomplete == 0 && !step.At.Before(in.DueAt) {
			break
		}
		info := workflow.GetInfo(ctx)
		if st.Done < len(steps) && (info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > MaxHistory || taken >= MaxStepsPerRun) {
			next := in
			next.Done = st.Done
			return Result{}, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
	}
	return Result{AssignmentID: in.AssignmentID, Cycles: in.Cycle, Incomplete: st.Incomplete}, nil
}

// stale reports whether steps[i] is a notice overtaken by a later one of
// the same kind that is also due already: an assignment made ten days
// before its due date gets one reminder, not a burst of the missed ones.
func stale(steps []Step, i int, now time.Time) bool {
	k := steps[i].Kind
	if k != StepReminder && k != StepOverdue && k != StepDigest {
		return false
	}
	for _, s := range steps[i+1:] {
		if s.At.After(now) {
			return false
		}
		if s.Kind == k {
			return true
		}
	}
	return false
}

// runStep runs one step: the roster first, then the step's activity. A
// failed step (after its retries) is logged and skipped so later steps keep
// their times.
func runStep(ctx, actx workflow.Context, in Input, step Step, st *State) error {
	now := workflow.Now(ctx)
	var roster RosterResult
	if err := workflow.ExecuteActivity(actx, SyncRosterActivity, RosterInput{AssignmentID: in.AssignmentID, Cycle: in.Cycle, At: now}).Get(ctx, &roster); err != nil {
		if temporal.IsCanceledError(err) {
			return err
		}
		workflow.GetLogger(ctx).Warn("roster sync failed; following up the roster as it is", "assignment_id", in.AssignmentID, "error", err)
	}
	name := map[StepKind]string{StepReminder: RemindActivity, StepOverdue: RemindActivity, StepDigest: DigestActivity, StepEscalate: EscalateActivity}[step.Kind]
	wave := WaveInput{
		WaveID:       fmt.Sprintf("%s:%d:%s:%d", in.AssignmentID, in.Cycle, step.Kind, step.N),
		AssignmentID: in.AssignmentID, Cycle: in.Cycle, Kind: step.Kind, N: step.N, Offset: step.Offset, DueAt: in.DueAt, At: now,
	}
	var res WaveResult
	if err := workflow.ExecuteActivity(actx, name, wave).Get(ctx, &res); err != nil {
		if temporal.IsCanceledError(err) {
			return err
		}
		workflow.GetLogger(ctx).Error("follow-up step failed", "assignment_id", in.AssignmentID, "step", wave.WaveID, "error", err)
		return nil
	}
	st.Incomplete = res.Incomplete
	if step.Kind == StepEscalate {
		st.Escalated = true
	}
	return nil
}

// activityOptions retry a step for a day with backoff; waves over large
// cohorts heartbeat.
func activityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
		},
	}
}

// Register adds the workflow and a's activities to a worker.
func Register(r worker.Registry, a Activities) {
	r.RegisterWorkflowWithOptions(CohortFollowUp, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(a.SyncRoster, activity.RegisterOptions{Name: SyncRosterActivity})
	r.RegisterActivityWithOptions(a.Remind, activity.RegisterOptions{Name: RemindActivity})
	r.RegisterActivityWithOptions(a.Digest, activity.RegisterOptions{Name: DigestActivity})
	r.RegisterActivityWithOptions(a.Escalate, activity.RegisterOptions{Name: EscalateActivity})
	r.RegisterActivityWithOptions(a.NextCycle, activity.RegisterOptions{Name: NextCycleActivity})
}
