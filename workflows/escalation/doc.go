// Package escalation is the deterministic core of the resolution service's
// designated resolution process: a versioned escalation policy (data) and
// CaseEscalation, one workflow per case. It does no I/O: everything that
// touches the world is an activity the service implements (Activities).
//
// # Clocks
//
// A round of escalation starts when the case opens (Input.OpenedAt) or is
// reopened. Each level is due Delay after the previous level was due (the
// round's start for the first), or, for a level with From =
// acknowledgment, Delay after the acknowledgment, or after the last
// if_not_acknowledged level was due when there was no acknowledgment by
// then. Due times never go backwards. When a level is due and its
// condition still holds, its targets are notified; it repeats every
// RepeatEvery, at most Repeat times, while the condition holds and until
// the next level is due. A level whose condition has cleared is recorded
// as skipped. After the last level the case waits for its resolution
// without further notices.
//
// Durations are data in the policy's calendar: seconds, minutes and hours
// are real time; days and months move the date in the policy's time zone
// keeping the time of day (daylight-saving safe; a month from 31 January
// is the end of February); business hours and business days count only
// working time (a business day is one working day's length: 8 hours for
// 09:00–17:00), skipping weekends and holidays. All of it is computed from
// workflow.Now and the input, never the host clock. The time zone database
// is embedded (time/tzdata), so workers in images without zoneinfo compute
// the same times.
//
// # People
//
// Roles and rotations become people through the ResolveTargets activity;
// the workflow then removes everyone in Input.Excluded (people named in
// the report and their supervisory chains) and everyone who recused,
// replaces people who are out of office by their delegates, and checks
// exclusion again after delegation: a delegation never hands a case to a
// blocked person. This happens at every level and every repeat. Excluded
// and recused people cannot acknowledge, resolve, reopen or be assigned.
//
// # After resolution
//
// A resolved case is closed and checks in with the reporter at the
// policy's offsets (30, 60 and 90 days by default), then keeps listening
// for a response window (14 days by default) and returns. A
// retaliationReported signal while closed opens a linked retaliation case
// through OpenLinkedCase (retried until it succeeds or fails for good) and
// returns a Result saying so; when the activity failed for good, the
// Result tells the caller to open the linked case itself. Reopening
// cancels the pending check-ins and starts a new round; the next
// resolution starts the check-ins again.
//
// # History size
//
// The workflow does not continue-as-new: a case's history is bounded by
// the policy limits rather than by time. A round sends at most
// MaxNotificationsPerRound notices (about 17 events each: timer, two
// activities, workflow tasks), a case has at most MaxReopens + 1 rounds and
// closures, and each closure at most MaxCheckins check-ins: about 6,000
// events plus about 4 per signal, well under Temporal's 10,240-event
// warning and 51,200-event limit while signals come at human pace through
// the service's rate-limited, authorized API. Waiting for months adds
// timers, not events. Keeping one run also keeps the timeline query
// complete without carrying it across runs.
//
// # Changing this workflow
//
// Running cases replay their histories on every worker start: a change
// that alters the sequence of timers or activities must be guarded with
// workflow.GetVersion, and the replay test over testdata/*.history.json
// must keep passing.
package escalation
