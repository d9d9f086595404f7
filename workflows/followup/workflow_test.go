package followup_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/deiops/deiops/workflows/followup"
)

// cohort is an in-memory awareness service: who is in the cycle and in
// which state, plus the directory's notion of who is in the audience.
type cohort struct {
	mu       sync.Mutex
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time
	status   map[string]string // person -> assigned | completed | exempt
	audience map[string]bool   // directory audience now
	calls    []string
	cycles   []followup.NextCycleInput
	dueNext  time.Duration
}

func newCohort(env *testsuite.TestWorkflowEnvironment, start time.Time, people ...string) *cohort {
	c := &cohort{env: env, start: start, status: map[string]string{}, audience: map[string]bool{}}
	for _, p := range people {
		c.status[p] = "assigned"
		c.audience[p] = true
	}
	return c
}

func (c *cohort) day() int { return int(c.env.Now().Sub(c.start) / followup.Day) }

func (c *cohort) incomplete() []string {
	var out []string
	for p, s := range c.status {
		if s == "assigned" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (c *cohort) set(person, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status[person] = status
}

func (c *cohort) SyncRoster(_ context.Context, in followup.RosterInput) (followup.RosterResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var r followup.RosterResult
	for p := range c.audience {
		if _, ok := c.status[p]; !ok {
			c.status[p] = "assigned"
			r.Joined++
		}
	}
	for p, s := range c.status {
		if !c.audience[p] && s != "left" {
			c.status[p] = "left"
			r.Left++
		}
	}
	r.Incomplete = len(c.incomplete())
	return r, nil
}

func (c *cohort) wave(in followup.WaveInput, who []string) followup.WaveResult {
	c.calls = append(c.calls, fmt.Sprintf("d%d %s#%d %v", c.day(), in.Kind, in.N, who))
	return followup.WaveResult{Notified: len(who), Incomplete: len(c.incomplete())}
}

func (c *cohort) Remind(_ context.Context, in followup.WaveInput) (followup.WaveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wave(in, c.incomplete()), nil
}

func (c *cohort) Digest(_ context.Context, in followup.WaveInput) (followup.WaveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wave(in, c.incomplete()), nil
}

func (c *cohort) Escalate(_ context.Context, in followup.WaveInput) (followup.WaveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wave(in, c.incomplete()), nil
}

func (c *cohort) NextCycle(_ context.Context, in followup.NextCycleInput) (followup.NextCycleResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cycles = append(c.cycles, in)
	for p, s := range c.status {
		if s != "left" {
			c.status[p] = "assigned"
		}
	}
	c.calls = append(c.calls, fmt.Sprintf("d%d cycle %d", c.day(), in.Cycle))
	return followup.NextCycleResult{Cycle: in.Cycle, Start: in.Start, DueAt: in.Start.Add(c.dueNext)}, nil
}

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func setup(t *testing.T, people ...string) (*testsuite.TestWorkflowEnvironment, *cohort) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	c := newCohort(env, start, people...)
	followup.Register(env, c)
	return env, c
}

// at runs fn when the workflow's clock reaches day d after start.
func at(env *testsuite.TestWorkflowEnvironment, d int, fn func()) {
	env.RegisterDelayedCallback(fn, time.Duration(d)*followup.Day+time.Hour)
}

func run(t *testing.T, env *testsuite.TestWorkflowEnvironment, in followup.Input) followup.Result {
	t.Helper()
	env.ExecuteWorkflow(followup.WorkflowName, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var r followup.Result
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func same(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// TestRemindersAtEachOffsetToIncompletePeople: due in 40 days, default
// policy. Waves at days 10, 26, 39 and 41 reach exactly who is incomplete
// then; completion and exemption take people out; once nobody is left
// after the due date the workflow ends (no digest, no escalation).
func TestRemindersAtEachOffsetToIncompletePeople(t *testing.T) {
	env, c := setup(t, "p1", "p2", "p3", "p4")
	at(env, 12, func() { c.set("p1", "completed") })
	at(env, 30, func() { c.set("p2", "exempt") })
	at(env, 40, func() { c.set("p3", "completed") })
	at(env, 45, func() { c.set("p4", "completed") })
	r := run(t, env, followup.Input{AssignmentID: "a1", Cycle: 1, CycleStart: start, DueAt: start.Add(40 * followup.Day)})
	same(t, c.calls, []string{
		"d10 reminder#1 [p1 p2 p3 p4]",
		"d26 reminder#2 [p2 p3 p4]",
		"d39 reminder#3 [p3 p4]",
		"d41 overdue#1 [p4]",
		"d47 digest#1 []",
	})
	if r.Incomplete != 0 || r.Cycles != 1 {
		t.Errorf("result %+v", r)
	}
}

// TestEscalationAndDigests: nobody completes; escalation after N (3) days
// overdue, weekly digests after the due date, bounded for a cycle that
// does not recur.
func TestEscalationAndDigests(t *testing.T) {
	env, c := setup(t, "p1", "p2")
	pol := followup.Policy{Offsets: []time.Duration{-2 * followup.Day, followup.Day}, EscalateAfter: 3 * followup.Day, MaxDigests: 2}
	r := run(t, env, followup.Input{AssignmentID: "a2", Cycle: 1, CycleStart: start, DueAt: start.Add(10 * followup.Day), Policy: pol})
	same(t, c.calls, []string{
		"d8 reminder#1 [p1 p2]",
		"d11 overdue#1 [p1 p2]",
		"d13 escalate#1 [p1 p2]",
		"d17 digest#1 [p1 p2]",
		"d24 digest#2 [p1 p2]",
	})
	if r.Incomplete != 2 {
		t.Errorf("result %+v", r)
	}
}

// TestLateAssignmentSkipsMissedReminders: assigned 5 days before due,
// the 30- and 14-day reminders are past: one reminder now, not a burst.
func TestLateAssignmentSkipsMissedReminders(t *testing.T) {
	env, c := setup(t, "p1")
	at(env, 5, func() { c.set("p1", "completed") })
	run(t, env, followup.Input{AssignmentID: "a3", Cycle: 1, CycleStart: start, DueAt: start.Add(5 * followup.Day)})
	same(t, c.calls, []string{"d0 reminder#2 [p1]", "d4 reminder#3 [p1]", "d6 overdue#1 []"})
}

// TestJoinerMidCycleIsFollowedUp: someone joins the audience on day 20
// and is in the next wave; a leaver is dropped.
func TestJoinerMidCycleIsFollowedUp(t *testing.T) {
	env, c := setup(t, "p1", "p2")
	at(env, 20, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.audience["p9"] = true
		delete(c.audience, "p2")
	})
	at(env, 42, func() { c.set("p1", "completed"); c.set("p9", "completed") })
	run(t, env, followup.Input{AssignmentID: "a4", Cycle: 1, CycleStart: start, DueAt: start.Add(40 * followup.Day)})
	same(t, c.calls, []string{
		"d10 reminder#1 [p1 p2]",
		"d26 reminder#2 [p1 p9]",
		"d39 reminder#3 [p1 p9]",
		"d41 overdue#1 [p1 p9]",
		"d47 digest#1 []",
	})
}

// TestRecurrenceStartsNewCycle: an annual assignment starts cycle 2 a
// year after cycle 1 started and continues as new with it.
func TestRecurrenceStartsNewCycle(t *testing.T) {
	env, c := setup(t, "p1")
	c.dueNext = 30 * followup.Day
	at(env, 40, func() { c.set("p1", "completed") })
	pol := followup.Policy{RecurEvery: 365 * followup.Day, DigestEvery: 100 * followup.Day}
	env.ExecuteWorkflow(followup.WorkflowName, followup.Input{AssignmentID: "a5", Cycle: 1, CycleStart: start, DueAt: start.Add(60 * followup.Day), Policy: pol})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if len(c.cycles) != 1 || c.cycles[0].Cycle != 2 || !c.cycles[0].Start.Equal(start.Add(365*followup.Day)) {
		t.Fatalf("cycles %+v", c.cycles)
	}
	same(t, c.calls, []string{
		"d30 reminder#1 [p1]", "d46 reminder#2 []", "d59 reminder#3 []", "d61 overdue#1 []",
		"d74 escalate#1 []", "d160 digest#1 []", "d260 digest#2 []", "d360 digest#3 []", "d365 cycle 2",
	})
	// The next run is cycle 2 with its own due date, and its people owe
	// the training again.
	var next followup.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Cycle != 2 || !next.DueAt.Equal(start.Add(395*followup.Day)) || next.Done != 0 {
		t.Errorf("next input %+v", next)
	}
	if got := c.incomplete(); !slices.Equal(got, []string{"p1"}) {
		t.Errorf("cycle 2 incomplete %v", got)
	}
}

// TestStateQuery reports the next step without naming anyone.
func TestStateQuery(t *testing.T) {
	env, _ := setup(t, "p1")
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(followup.QueryState)
		if err != nil {
			t.Fatal(err)
		}
		var s followup.State
		if err := v.Get(&s); err != nil {
			t.Fatal(err)
		}
		if s.Done != 1 || s.Next == nil || s.Next.Kind != followup.StepReminder || s.Next.N != 2 || s.Incomplete != 1 {
			t.Errorf("state %+v next %+v", s, s.Next)
		}
	}, 11*followup.Day)
	run(t, env, followup.Input{AssignmentID: "a6", Cycle: 1, CycleStart: start, DueAt: start.Add(40 * followup.Day),
		Policy: followup.Policy{MaxDigests: 1}})
}

// TestInvalidInputFailsForGood.
func TestInvalidInputFailsForGood(t *testing.T) {
	env, _ := setup(t)
	env.ExecuteWorkflow(followup.WorkflowName, followup.Input{AssignmentID: "", Cycle: 0})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "assignment_id") {
		t.Fatalf("err %v", err)
	}
}

// TestScheduleDefaults documents the default schedule.
func TestScheduleDefaults(t *testing.T) {
	due := start.Add(60 * followup.Day)
	steps := followup.Schedule(followup.Input{AssignmentID: "a", Cycle: 1, DueAt: due})
	var got []string
	for _, s := range steps {
		got = append(got, fmt.Sprintf("%s#%d %+dd", s.Kind, s.N, int(s.Offset/followup.Day)))
	}
	same(t, got, []string{"reminder#1 -30d", "reminder#2 -14d", "reminder#3 -1d", "overdue#1 +1d", "digest#1 +7d", "escalate#1 +14d", "digest#2 +14d",
		"digest#3 +21d", "digest#4 +28d", "digest#5 +35d", "digest#6 +42d", "digest#7 +49d", "digest#8 +56d"})
}

// TestContinueAsNewWithinACycle: a run whose history grows past the limit
// continues as new after the step it took, and the next run carries on
// with the following step: every step runs exactly once.
func TestContinueAsNewWithinACycle(t *testing.T) {
	defer func(n int) { followup.MaxStepsPerRun = n }(followup.MaxStepsPerRun)
	followup.MaxStepsPerRun = 3
	in := followup.Input{AssignmentID: "a7", Cycle: 1, CycleStart: start, DueAt: start.Add(40 * followup.Day), Policy: followup.Policy{MaxDigests: 2}}
	var calls []string
	runs := 0
	for {
		runs++
		env, c := setup(t, "p1")
		if in.Done > 0 {
			// Later runs start when the previous one stopped.
			steps := followup.Schedule(in)
			env.SetStartTime(steps[in.Done-1].At)
		}
		c.start = start
		env.ExecuteWorkflow(followup.WorkflowName, in)
		calls = append(calls, c.calls...)
		var can *workflow.ContinueAsNewError
		err := env.GetWorkflowError()
		if err == nil {
			break
		}
		if !errors.As(err, &can) {
			t.Fatal(err)
		}
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
			t.Fatal(err)
		}
		if runs > 10 {
			t.Fatal("does not end")
		}
	}
	if runs < 2 {
		t.Fatalf("%d run(s): never continued as new", runs)
	}
	same(t, calls, []string{"d10 reminder#1 [p1]", "d26 reminder#2 [p1]", "d39 reminder#3 [p1]", "d41 overdue#1 [p1]", "d47 digest#1 [p1]",
		"d54 escalate#1 [p1]", "d54 digest#2 [p1]"})
}
