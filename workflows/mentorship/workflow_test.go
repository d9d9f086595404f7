package mentorship_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/deiops/deiops/workflows/mentorship"
)

const day = 24 * time.Hour

var start = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// fake records what the workflow asked for, with the workflow time.
type fake struct {
	mu       sync.Mutex
	env      *testsuite.TestWorkflowEnvironment
	notices  []string // kind@day
	checkins []int    // day of each check-in
	ended    []mentorship.EndedInput
}

func (f *fake) elapsed() int { return int(f.env.Now().Sub(start) / day) }

func (f *fake) Notify(_ context.Context, in mentorship.NotifyInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, in.Kind+"@"+itoa(f.elapsed()))
	return nil
}

func (f *fake) CheckinDue(_ context.Context, in mentorship.CheckinDueInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkins = append(f.checkins, f.elapsed())
	return nil
}

func (f *fake) Ended(_ context.Context, in mentorship.EndedInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, in)
	return nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *fake) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	f := &fake{env: env}
	mentorship.Register(env, f)
	return env, f
}

func input() mentorship.Input {
	return mentorship.Input{MentorshipID: "r-1-p1", RoundID: "r-1", MenteeID: "mia", MentorID: "omar", StartedAt: start}
}

func at(env *testsuite.TestWorkflowEnvironment, d time.Duration, fn func()) {
	env.RegisterDelayedCallback(fn, d)
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) mentorship.Result {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var r mentorship.Result
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFitCheckNotAFitEndsAndAsksForRematch(t *testing.T) {
	env, f := newEnv(t)
	at(env, 3*day, func() { env.SignalWorkflow(mentorship.SignalMet, nil) })
	at(env, 11*day, func() {
		env.SignalWorkflow(mentorship.SignalFit, mentorship.FitSignal{By: "mia", Answer: mentorship.FitNotAFit})
	})
	at(env, 12*day, func() { env.SignalWorkflow(mentorship.SignalFeedback, mentorship.FeedbackSignal{By: "mia"}) })
	at(env, 13*day, func() { env.SignalWorkflow(mentorship.SignalFeedback, mentorship.FeedbackSignal{By: "omar"}) })
	env.ExecuteWorkflow(mentorship.WorkflowName, input())
	r := result(t, env)
	if r.Reason != mentorship.EndNotAFit || len(r.Feedback) != 2 {
		t.Fatalf("result %+v", r)
	}
	// Met on day 3: no first-meeting nudge; fit check on day 10; feedback request on day 11.
	if want := []string{"fit_check@10", "feedback_request@11"}; !slices.Equal(f.notices, want) {
		t.Fatalf("notices %v, want %v", f.notices, want)
	}
	if len(f.ended) != 1 || f.ended[0].Reason != mentorship.EndNotAFit || f.ended[0].RoundID != "r-1" || f.ended[0].MenteeID != "mia" {
		t.Fatalf("ended %+v", f.ended)
	}
}

func TestStillDecidingIsAskedAgain(t *testing.T) {
	env, f := newEnv(t)
	at(env, day, func() { env.SignalWorkflow(mentorship.SignalMet, nil) })
	at(env, 9*day, func() {
		env.SignalWorkflow(mentorship.SignalFit, mentorship.FitSignal{By: "omar", Answer: mentorship.FitDeciding})
	})
	at(env, 24*day, func() {
		env.SignalWorkflow(mentorship.SignalFit, mentorship.FitSignal{By: "omar", Answer: mentorship.FitGood})
	})
	at(env, 26*day, func() {
		var st mentorship.State
		v, err := env.QueryWorkflow(mentorship.QueryState)
		if err != nil || v.Get(&st) != nil || st.Phase != "active" || st.Fit != mentorship.FitGood {
			t.Errorf("state %+v, %v", st, err)
		}
		env.SignalWorkflow(mentorship.SignalEnd, mentorship.EndSignal{Reason: mentorship.EndCompleted})
	})
	env.ExecuteWorkflow(mentorship.WorkflowName, input())
	r := result(t, env)
	// Fit check on day 8 (a week after the first meeting), again on day 23 (14 days after "still deciding").
	if want := []string{"fit_check@8", "fit_check@23", "feedback_request@26"}; !slices.Equal(f.notices, want) {
		t.Fatalf("notices %v, want %v", f.notices, want)
	}
	if r.Reason != mentorship.EndCompleted || r.Checkins != 0 {
		t.Fatalf("result %+v", r)
	}
}

func TestInactivityWarnsThenAutoEnds(t *testing.T) {
	env, f := newEnv(t)
	env.ExecuteWorkflow(mentorship.WorkflowName, input())
	r := result(t, env)
	// Nothing ever happens: nudge on day 7, check-ins on days 30 and 60,
	// warning on day 83, auto-end on day 90, feedback window of 14 days.
	if want := []string{"first_meeting_nudge@7", "inactivity_warning@83", "feedback_request@90"}; !slices.Equal(f.notices, want) {
		t.Fatalf("notices %v, want %v", f.notices, want)
	}
	if !slices.Equal(f.checkins, []int{30, 60}) {
		t.Fatalf("check-ins on days %v", f.checkins)
	}
	if r.Reason != mentorship.EndInactivity || len(f.ended) != 1 || len(r.Feedback) != 0 {
		t.Fatalf("result %+v, ended %+v", r, f.ended)
	}
	if got := env.Now().Sub(start); got != 104*day {
		t.Fatalf("completed after %v, want 104 days (90 + feedback window)", got)
	}
}

func TestActivityResetsInactivityAndCadenceIsConfigurable(t *testing.T) {
	env, f := newEnv(t)
	in := input()
	in.CheckinEvery = 14 * day
	in.InactivityLimit = 30 * day
	in.InactivityWarning = 5 * day
	for d := 20; d <= 60; d += 20 {
		at(env, time.Duration(d)*day, func() { env.SignalWorkflow(mentorship.SignalActivity, nil) })
	}
	env.ExecuteWorkflow(mentorship.WorkflowName, in)
	r := result(t, env)
	// Last activity day 60: warning day 85, end day 90. Check-ins every 14 days until then.
	if want := []int{14, 28, 42, 56, 70, 84}; !slices.Equal(f.checkins, want) {
		t.Fatalf("check-ins %v, want %v", f.checkins, want)
	}
	if want := []string{"first_meeting_nudge@7", "inactivity_warning@85", "feedback_request@90"}; !slices.Equal(f.notices, want) {
		t.Fatalf("notices %v, want %v", f.notices, want)
	}
	if r.Reason != mentorship.EndInactivity || r.Checkins != 6 {
		t.Fatalf("result %+v", r)
	}
}

func TestInvalidInputFailsWithoutRetry(t *testing.T) {
	env, _ := newEnv(t)
	in := input()
	in.MentorID = in.MenteeID
	env.ExecuteWorkflow(mentorship.WorkflowName, in)
	if env.GetWorkflowError() == nil {
		t.Fatal("same mentee and mentor accepted")
	}
}
