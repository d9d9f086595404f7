package escalation

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// CaseEscalation runs one case's designated resolution process: it
// escalates through the policy's levels while their conditions hold,
// takes department actions as signals, and after resolution checks in
// with the reporter about retaliation. See the package documentation.
func CaseEscalation(ctx workflow.Context, in Input) (Result, error) {
	if errs := in.Validate(); len(errs) > 0 {
		return Result{}, temporal.NewNonRetryableApplicationError("invalid case input", ErrInvalidInput, fieldErrors(errs))
	}
	clock, err := in.Policy.Calendar.Clock()
	if err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError("invalid calendar", ErrInvalidInput, err)
	}
	c := &caseRun{in: in, clock: clock, excluded: make(map[string]bool, len(in.Excluded)), status: StatusOpen, round: 1}
	for _, id := range in.Excluded {
		c.excluded[id] = true
	}
	now := workflow.Now(ctx)
	c.openedAt = in.OpenedAt
	if c.openedAt.IsZero() || c.openedAt.After(now) {
		c.openedAt = now
	}
	c.roundStart = c.openedAt
	if err := workflow.SetQueryHandler(ctx, QueryTimeline, func() ([]Step, error) { return c.steps(), nil }); err != nil {
		return Result{}, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return c.state(), nil }); err != nil {
		return Result{}, err
	}
	workflow.Go(ctx, c.receiveSignals)
	return c.run(ctx)
}

// caseRun is one case's state. Signal handlers change it; the main
// coroutine waits on it and does the activities.
type caseRun struct {
	in       Input
	clock    Clock
	excluded map[string]bool
	recused  []string

	status     Status
	round      int
	openedAt   time.Time
	roundStart time.Time
	level      string
	nextDue    time.Time

	acknowledged bool
	ackBy        string
	ackAt        time.Time
	resolvedBy   string
	resolvedAt   time.Time
	outcome      string
	assignee     string
	reopens      int
	checkinsDone int
	retaliation  *RetaliationReport
	linkedCase   string

	timeline []Step
}

func (c *caseRun) run(ctx workflow.Context) (Result, error) {
	for {
		if c.status == StatusClosed {
			res, reopened, err := c.followUp(ctx)
			if err != nil || !reopened {
				return res, err
			}
			continue
		}
		if err := c.escalate(ctx); err != nil {
			return Result{}, err
		}
	}
}

// escalate runs one round of the policy's levels. It returns when the case
// is resolved, or reopened (a new round starts); after the last level it
// waits for one of these.
func (c *caseRun) escalate(ctx workflow.Context) error {
	round, start := c.round, c.roundStart
	stop := func() bool { return c.round != round || c.status == StatusClosed }
	levels := c.in.Policy.Levels
	ackDeadline, prev := start, start
	var due time.Time
	known := false // whether due already holds levels[i]'s due time
	for i := range levels {
		lv := levels[i]
		if !known {
			due = c.dueOf(lv, prev, start, ackDeadline)
		}
		known = false
		if lv.Condition == IfNotAcknowledged {
			ackDeadline = due
		}
		prev = due
		c.level, c.nextDue = lv.Name, due
		cleared, err := c.awaitLevel(ctx, lv, due, stop)
		if err != nil || stop() {
			return err
		}
		if cleared {
			c.record(Step{Kind: StepEscalation, Status: StepSkipped, Round: round, Level: lv.Name, Attempt: 1, DueAt: due, At: workflow.Now(ctx)})
			continue
		}
		c.escalateOnce(ctx, lv, 1, due)
		if stop() {
			return nil
		}
		// Repeats run until the next level is due. That level's due time is
		// fixed now: if it counts from the acknowledgment, the
		// acknowledgment levels are behind us. A case that starts late
		// (OpenedAt long past) catches up level by level without a burst
		// of stale repeats.
		if i+1 < len(levels) {
			due, known = c.dueOf(levels[i+1], prev, start, ackDeadline), true
		}
		at := prev
		for attempt := 2; attempt <= lv.Repeat+1; attempt++ {
			at = c.clock.Add(at, lv.RepeatEvery)
			if known && (!at.Before(due) || !due.After(workflow.Now(ctx))) {
				break
			}
			c.nextDue = at
			cleared, err := c.awaitLevel(ctx, lv, at, stop)
			if err != nil || stop() {
				return err
			}
			if cleared {
				break
			}
			c.escalateOnce(ctx, lv, attempt, at)
			if stop() {
				return nil
			}
		}
	}
	c.nextDue = time.Time{}
	return workflow.Await(ctx, stop)
}

// dueOf returns when lv is due, given the previous level's due time, the
// round's start and the acknowledgment deadline so far.
func (c *caseRun) dueOf(lv Level, prev, start, ackDeadline time.Time) time.Time {
	return levelDue(c.clock, lv, prev, start, ackDeadline, c.acknowledged, c.ackAt)
}

// holds reports whether a level's condition still holds.
func (c *caseRun) holds(cond Condition) bool {
	switch cond {
	case IfNotAcknowledged:
		return c.status == StatusOpen
	case IfNotResolved:
		return c.status == StatusOpen || c.status == StatusAcknowledged
	}
	return false
}

// awaitLevel waits until at, unless lv's condition clears or stop holds
// first, and reports whether the condition cleared.
func (c *caseRun) awaitLevel(ctx workflow.Context, lv Level, at time.Time, stop func() bool) (cleared bool, err error) {
	err = c.sleepUntil(ctx, at, "escalation "+lv.Name, func() bool { return !c.holds(lv.Condition) || stop() })
	return !c.holds(lv.Condition), err
}

// sleepUntil waits until at or until wake holds. A timer that is no longer
// needed is cancelled (this SDK version leaves it pending otherwise, to
// fire months later for nothing and add events to the history).
func (c *caseRun) sleepUntil(ctx workflow.Context, at time.Time, summary string, wake func() bool) error {
	d := at.Sub(workflow.Now(ctx))
	if d <= 0 || wake() {
		return nil
	}
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	_, err := workflow.AwaitWithOptions(timerCtx, workflow.AwaitOptions{Timeout: d, TimerOptions: workflow.TimerOptions{Summary: summary}}, wake)
	return err
}

// escalateOnce notifies a level's eligible targets and records the step.
func (c *caseRun) escalateOnce(ctx workflow.Context, lv Level, attempt int, due time.Time) {
	now := workflow.Now(ctx)
	step := Step{Kind: StepEscalation, Round: c.round, Level: lv.Name, Attempt: attempt, DueAt: due, At: now}
	actx := workflow.WithActivityOptions(ctx, stepOptions())
	var found ResolveTargetsResult
	err := workflow.ExecuteActivity(actx, ResolveTargetsActivity, ResolveTargetsInput{
		CaseID: c.in.CaseID, Department: c.in.Department, Level: lv.Name, Targets: lv.Targets, At: now,
	}).Get(ctx, &found)
	if err != nil {
		workflow.GetLogger(ctx).Warn("resolve targets failed; escalating to no one", "case_id", c.in.CaseID, "level", lv.Name, "error", err)
	}
	if !c.holds(lv.Condition) {
		step.Status = StepSkipped
		c.record(step)
		return
	}
	step.Targets = c.route(found, now)
	err = workflow.ExecuteActivity(actx, NotifyEscalationActivity, NotifyEscalationInput{
		NotificationID: fmt.Sprintf("%s:%d:%s:%d", c.in.CaseID, c.round, lv.Name, attempt),
		CaseID:         c.in.CaseID,
		Department:     c.in.Department,
		PolicyID:       c.in.Policy.ID,
		PolicyVersion:  c.in.Policy.Version,
		Round:          c.round,
		Level:          lv.Name,
		Attempt:        attempt,
		Recipients:     step.Targets,
		DueAt:          due,
	}).Get(ctx, nil)
	switch {
	case err != nil:
		step.Status = StepFailed
		workflow.GetLogger(ctx).Error("escalation notice failed", "case_id", c.in.CaseID, "level", lv.Name, "attempt", attempt, "error", err)
	case len(step.Targets) == 0:
		step.Status = StepUnrouted
		workflow.GetLogger(ctx).Warn("escalation has no eligible recipient", "case_id", c.in.CaseID, "level", lv.Name, "attempt", attempt)
	default:
		step.Status = StepNotified
		workflow.GetLogger(ctx).Info("escalated", "case_id", c.in.CaseID, "level", lv.Name, "attempt", attempt, "recipients", len(step.Targets))
	}
	c.record(step)
}

// route turns resolved people into recipients: the excluded and recused
// are dropped, the away are replaced by their delegates (live delegations
// first, then the policy's), a delegate is never someone blocked, and
// nobody is listed twice.
func (c *caseRun) route(found ResolveTargetsResult, at time.Time) []string {
	var ds Delegations
	for _, d := range found.Delegations {
		if len(d.validate("")) == 0 {
			ds = append(ds, d)
		}
	}
	ds = append(ds, c.in.Policy.Delegations...)
	var out []string
	for _, p := range found.People {
		if !ValidID(p) || c.blocked(p) {
			continue
		}
		r := ds.Delegate(p, at, c.clock.Location(), c.blocked)
		if c.blocked(r) || contains(out, r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (c *caseRun) blocked(id string) bool { return c.excluded[id] || contains(c.recused, id) }

// followUp runs the retaliation check-ins after a resolution. It returns
// reopened when the case is reopened meanwhile; otherwise the workflow's
// result.
func (c *caseRun) followUp(ctx workflow.Context) (res Result, reopened bool, err error) {
	round, closedAt := c.round, c.resolvedAt
	offsets := c.in.Policy.Checkins.offsets()
	dues := make([]time.Time, len(offsets))
	for i, o := range offsets {
		dues[i] = c.clock.Add(closedAt, o)
	}
	slices.SortStableFunc(dues, func(a, b time.Time) int { return a.Compare(b) })
	wake := func() bool { return c.round != round || c.retaliation != nil }
	c.level = ""
	for n, due := range dues {
		c.nextDue = due
		if err := c.sleepUntil(ctx, due, "retaliation check-in", wake); err != nil {
			return Result{}, false, err
		}
		if c.retaliation != nil {
			return c.openLinkedCase(ctx)
		}
		if c.round != round {
			return Result{}, true, nil
		}
		c.checkin(ctx, n+1, len(dues), due)
	}
	end := c.clock.Add(dues[len(dues)-1], c.in.Policy.Checkins.responseWindow())
	c.nextDue = end
	if err := c.sleepUntil(ctx, end, "retaliation response window", wake); err != nil {
		return Result{}, false, err
	}
	if c.retaliation != nil {
		return c.openLinkedCase(ctx)
	}
	if c.round != round {
		return Result{}, true, nil
	}
	c.status, c.nextDue = StatusEnded, time.Time{}
	return Result{CaseID: c.in.CaseID, Ending: EndingFollowedUp, Rounds: c.round, CheckinsDone: c.checkinsDone}, false, nil
}

func (c *caseRun) checkin(ctx workflow.Context, n, of int, due time.Time) {
	step := Step{Kind: StepCheckin, Round: c.round, Attempt: n, DueAt: due, At: workflow.Now(ctx)}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, stepOptions()), RequestCheckinActivity, RequestCheckinInput{
		RequestID: fmt.Sprintf("%s:checkin:%d:%d", c.in.CaseID, c.round, n),
		CaseID:    c.in.CaseID, Round: c.round, Number: n, Of: of, DueAt: due,
	}).Get(ctx, nil)
	if err != nil {
		step.Status = StepFailed
		workflow.GetLogger(ctx).Error("retaliation check-in failed", "case_id", c.in.CaseID, "checkin", n, "error", err)
	} else {
		step.Status = StepRequested
		c.checkinsDone++
	}
	c.record(step)
}

// openLinkedCase ends the case after a retaliation report: the linked case
// is opened durably (retried until it succeeds or fails for good) and the
// result tells the caller either way.
func (c *caseRun) openLinkedCase(ctx workflow.Context) (Result, bool, error) {
	c.nextDue = time.Time{}
	step := Step{Kind: StepLinkedCase, Round: c.round, Attempt: c.retaliation.Checkin, At: workflow.Now(ctx)}
	var out OpenLinkedCaseResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, durableOptions()), OpenLinkedCaseActivity, OpenLinkedCaseInput{
		RequestID:  fmt.Sprintf("%s:retaliation:%d", c.in.CaseID, c.round),
		CaseID:     c.in.CaseID,
		Department: c.in.Department,
		Checkin:    c.retaliation.Checkin,
	}).Get(ctx, &out)
	switch {
	case temporal.IsCanceledError(err):
		return Result{}, false, err
	case err != nil || !ValidID(out.CaseID):
		step.Status = StepFailed
		workflow.GetLogger(ctx).Error("opening the linked retaliation case failed; the caller must open it", "case_id", c.in.CaseID, "error", err)
	default:
		step.Status, step.LinkedCase = StepOpened, out.CaseID
		c.linkedCase = out.CaseID
	}
	c.record(step)
	c.status = StatusEnded
	return Result{
		CaseID: c.in.CaseID, Ending: EndingRetaliationReported, Rounds: c.round, CheckinsDone: c.checkinsDone,
		LinkedCaseNeeded: true, LinkedCaseID: c.linkedCase,
	}, false, nil
}

// stepOptions run an activity a notice depends on: retried for a day, then
// recorded as failed so later levels keep their times.
func stepOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
		},
	}
}

// durableOptions run an activity that must happen: retried until it
// succeeds or fails for good.
func durableOptions() workflow.ActivityOptions {
	o := stepOptions()
	o.ScheduleToCloseTimeout = 0
	return o
}

// receiveSignals applies department and reporter actions as they arrive,
// in the order the history holds them.
func (c *caseRun) receiveSignals(ctx workflow.Context) {
	sel := workflow.NewSelector(ctx)
	onSignal(ctx, sel, SignalAcknowledge, c.acknowledge)
	onSignal(ctx, sel, SignalResolve, c.resolve)
	onSignal(ctx, sel, SignalReopen, c.reopen)
	onSignal(ctx, sel, SignalAssign, c.assign)
	onSignal(ctx, sel, SignalRecuse, c.recuse)
	onSignal(ctx, sel, SignalRetaliationReported, c.reportRetaliation)
	for {
		sel.Select(ctx)
	}
}

// onSignal decodes signal name into T for handle. Undecodable payloads are
// dropped (the SDK logs and counts them).
func onSignal[T any](ctx workflow.Context, sel workflow.Selector, name string, handle func(now time.Time, v T)) {
	sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(ch workflow.ReceiveChannel, _ bool) {
		var v T
		if ch.ReceiveAsync(&v) {
			handle(workflow.Now(ctx), v)
		}
	})
}

// actorProblem says why id may not act on the case; "" means it may.
func (c *caseRun) actorProblem(id string) string {
	switch {
	case !ValidID(id):
		return RejectInvalid
	case c.blocked(id):
		return RejectConflict
	}
	return ""
}

// reject records a refused action. Only well-formed ids are kept, and none
// at all for a conflict of interest.
func (c *caseRun) reject(step Step, code string) {
	step.Status, step.Code = StepRejected, code
	if code == RejectConflict || !ValidID(step.By) {
		step.By = ""
	}
	if code == RejectConflict || code == RejectInvalid {
		step.Targets = nil
	}
	c.record(step)
}

func (c *caseRun) acknowledge(now time.Time, s Acknowledge) {
	step := Step{Kind: StepAcknowledged, Round: c.round, By: s.By, At: now}
	if code := c.actorProblem(s.By); code != "" {
		c.reject(step, code)
		return
	}
	switch c.status {
	case StatusOpen:
	case StatusAcknowledged:
		return // already acknowledged: a retried request changes nothing
	default:
		c.reject(step, RejectWrongState)
		return
	}
	at := s.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	if at.Before(c.openedAt) {
		at = c.openedAt
	}
	c.status, c.acknowledged, c.ackBy, c.ackAt = StatusAcknowledged, true, s.By, at
	step.Status = StepAccepted
	c.record(step)
}

func (c *caseRun) resolve(now time.Time, s Resolve) {
	step := Step{Kind: StepResolved, Round: c.round, By: s.By, At: now}
	if code := c.actorProblem(s.By); code != "" {
		c.reject(step, code)
		return
	}
	if !ValidCode(s.Outcome) {
		c.reject(step, RejectInvalid)
		return
	}
	if c.status != StatusOpen && c.status != StatusAcknowledged {
		c.reject(step, RejectWrongState)
		return
	}
	if !c.acknowledged {
		c.acknowledged, c.ackBy, c.ackAt = true, s.By, now
	}
	c.status, c.resolvedBy, c.resolvedAt, c.outcome = StatusClosed, s.By, now, s.Outcome
	c.checkinsDone = 0
	step.Status, step.Code = StepAccepted, s.Outcome
	c.record(step)
}

func (c *caseRun) reopen(now time.Time, s Reopen) {
	step := Step{Kind: StepReopened, Round: c.round, By: s.By, At: now}
	if code := c.actorProblem(s.By); code != "" {
		c.reject(step, code)
		return
	}
	if c.status != StatusClosed || c.retaliation != nil {
		c.reject(step, RejectWrongState)
		return
	}
	if c.reopens >= MaxReopens {
		c.reject(step, RejectReopenLimit)
		return
	}
	c.reopens++
	c.round++
	c.roundStart = now
	c.status = StatusAcknowledged
	c.resolvedBy, c.resolvedAt, c.outcome = "", time.Time{}, ""
	step.Status, step.Round = StepAccepted, c.round
	c.record(step)
}

func (c *caseRun) assign(now time.Time, s Assign) {
	step := Step{Kind: StepAssigned, Round: c.round, By: s.By, Targets: []string{s.To}, At: now}
	if s.By != "" {
		if code := c.actorProblem(s.By); code != "" {
			c.reject(step, code)
			return
		}
	}
	if code := c.actorProblem(s.To); code != "" {
		c.reject(step, code)
		return
	}
	if c.status != StatusOpen && c.status != StatusAcknowledged {
		c.reject(step, RejectWrongState)
		return
	}
	c.assignee = s.To
	step.Status = StepAccepted
	c.record(step)
}

func (c *caseRun) recuse(now time.Time, s Recuse) {
	step := Step{Kind: StepRecused, Round: c.round, By: s.By, At: now}
	if !ValidID(s.By) {
		c.reject(step, RejectInvalid)
		return
	}
	if !contains(c.recused, s.By) {
		c.recused = append(c.recused, s.By)
	}
	if c.assignee == s.By {
		c.assignee = ""
	}
	step.Status = StepAccepted
	c.record(step)
}

func (c *caseRun) reportRetaliation(now time.Time, s RetaliationReport) {
	step := Step{Kind: StepRetaliationReported, Round: c.round, Attempt: s.Checkin, At: now}
	if c.status != StatusClosed || c.retaliation != nil {
		step.Attempt = 0
		c.reject(step, RejectWrongState)
		return
	}
	if s.Checkin < 0 || s.Checkin > c.checkinsDone {
		s.Checkin = 0
	}
	c.retaliation = &s
	step.Status, step.Attempt = StepAccepted, s.Checkin
	c.record(step)
}

func (c *caseRun) record(s Step) {
	s.Seq = len(c.timeline) + 1
	c.timeline = append(c.timeline, s)
}

func (c *caseRun) steps() []Step {
	out := make([]Step, len(c.timeline))
	for i, s := range c.timeline {
		s.Targets = slices.Clone(s.Targets)
		out[i] = s
	}
	return out
}

func (c *caseRun) state() State {
	return State{
		CaseID:         c.in.CaseID,
		Department:     c.in.Department,
		PolicyID:       c.in.Policy.ID,
		PolicyVersion:  c.in.Policy.Version,
		Status:         c.status,
		Round:          c.round,
		Level:          c.level,
		NextDueAt:      c.nextDue,
		OpenedAt:       c.openedAt,
		AcknowledgedBy: c.ackBy,
		AcknowledgedAt: c.ackAt,
		ResolvedBy:     c.resolvedBy,
		ResolvedAt:     c.resolvedAt,
		Outcome:        c.outcome,
		Assignee:       c.assignee,
		Recused:        slices.Clone(c.recused),
		Reopens:        c.reopens,
		CheckinsDone:   c.checkinsDone,
		Retaliation:    c.retaliation != nil,
		LinkedCaseID:   c.linkedCase,
	}
}
