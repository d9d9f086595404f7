package escalation

import (
	"iter"
	"time"
)

// Deadline is where a case stands against its policy's clocks at a given
// moment, computed from the case alone — what a queue of thousands of
// cases shows without asking each case's workflow.
type Deadline struct {
	// Reached is the last level that came due while its condition held,
	// that is the level the escalation has notified ("" before the first).
	Reached string `json:"reached,omitempty"`
	// Next is the next level to come due while its condition still holds,
	// and NextDue when; both are zero once no level is ahead.
	Next    string    `json:"next,omitempty"`
	NextDue time.Time `json:"next_due,omitzero"`
	// Overdue says that a level came due and its condition still holds:
	// the promise the policy made (e.g. acknowledgment within seven days)
	// is broken now.
	Overdue bool `json:"overdue"`
	// OverdueSince is when the first deadline still broken came due.
	OverdueSince time.Time `json:"overdue_since,omitzero"`
}

// Schedule is a policy ready to compute deadlines for many cases: its
// calendar is read once.
type Schedule struct {
	levels []Level
	clock  Clock
}

// Schedule prepares p's levels and calendar.
func (p Policy) Schedule() (Schedule, error) {
	clock, err := p.Calendar.Clock()
	if err != nil {
		return Schedule{}, err
	}
	return Schedule{levels: p.Levels, clock: clock}, nil
}

// DeadlineAt computes a round's deadlines at now. start is when the round
// began (the case's opening, or its last reopening); ackAt is when the case
// was acknowledged (zero if not); resolved says the round is over, which
// leaves no clock running. It follows the workflow's own schedule (levelDue)
// without its repeats, which never move a level's due time.
func (s Schedule) DeadlineAt(start, ackAt time.Time, resolved bool, now time.Time) Deadline {
	var d Deadline
	if resolved {
		return d
	}
	acked := !ackAt.IsZero() && !ackAt.After(now)
	for lv, due := range s.dues(start, ackAt, acked) {
		heldAtDue, holdsNow := true, true
		if lv.Condition == IfNotAcknowledged && acked {
			heldAtDue, holdsNow = ackAt.After(due), false
		}
		if !due.After(now) {
			if heldAtDue {
				d.Reached = lv.Name
			}
			if holdsNow && !d.Overdue {
				d.Overdue, d.OverdueSince = true, due
			}
			continue
		}
		if holdsNow {
			// Due times never decrease: no later level has come due.
			d.Next, d.NextDue = lv.Name, due
			return d
		}
	}
	return d
}

// dues yields each level with its due time, in order.
func (s Schedule) dues(start, ackAt time.Time, acked bool) iter.Seq2[Level, time.Time] {
	return func(yield func(Level, time.Time) bool) {
		ackDeadline, prev := start, start
		for _, lv := range s.levels {
			due := levelDue(s.clock, lv, prev, start, ackDeadline, acked, ackAt)
			if lv.Condition == IfNotAcknowledged {
				ackDeadline = due
			}
			prev = due
			if !yield(lv, due) {
				return
			}
		}
	}
}

// Promise is what a policy promises the reporter next, and by when: the
// acknowledgment of their report, then feedback on it (Directive 2019/1937
// art. 9(1)(b) and (f)). It names no level and no one notified.
type Promise struct {
	Awaiting Awaited   `json:"awaiting"`
	DueBy    time.Time `json:"due_by"`
	// Overdue says the promise is broken: DueBy has passed.
	Overdue bool `json:"overdue"`
}

// Awaited is what a reporter is waiting for.
type Awaited string

// What a reporter waits for.
const (
	AwaitingAcknowledgment Awaited = "acknowledgment"
	AwaitingFeedback       Awaited = "feedback"
)

// PromiseAt is the reporter's next promised deadline at now: while the
// case is unacknowledged, the first if_not_acknowledged level's due time;
// then the first if_not_resolved level's. Later levels are escalations
// among staff, not promises. ok is false when the round is over or the
// policy promises nothing more.
func (s Schedule) PromiseAt(start, ackAt time.Time, resolved bool, now time.Time) (p Promise, ok bool) {
	if resolved {
		return Promise{}, false
	}
	acked := !ackAt.IsZero() && !ackAt.After(now)
	var feedback Promise
	for lv, due := range s.dues(start, ackAt, acked) {
		switch {
		case lv.Condition == IfNotAcknowledged && !acked:
			return Promise{Awaiting: AwaitingAcknowledgment, DueBy: due, Overdue: !due.After(now)}, true
		case lv.Condition == IfNotResolved && !ok:
			feedback, ok = Promise{Awaiting: AwaitingFeedback, DueBy: due, Overdue: !due.After(now)}, true
		}
	}
	return feedback, ok
}

// levelDue is when lv is due, given the previous level's due time, the
// round's start, the acknowledgment deadline so far and the acknowledgment.
// The workflow and DeadlineAt share it, so a queue shows the clock the
// escalation keeps.
func levelDue(clock Clock, lv Level, prev, start, ackDeadline time.Time, acked bool, ackAt time.Time) time.Time {
	base := prev
	if lv.From == FromAcknowledgment {
		base = ackDeadline
		if acked && ackAt.Before(base) {
			base = ackAt
			if base.Before(start) {
				base = start
			}
		}
	}
	due := clock.Add(base, lv.Delay)
	if due.Before(prev) {
		due = prev
	}
	return due
}
