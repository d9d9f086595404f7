package escalation_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/deiops/deiops/workflows/escalation"
)

// fakeService implements the activities the way the resolution service
// will, in memory, and records every call.
type fakeService struct {
	mu        sync.Mutex
	roles     map[string][]string
	live      escalation.Delegations
	notifyErr error
	linkErr   error

	resolved []escalation.ResolveTargetsInput
	notices  []escalation.NotifyEscalationInput
	checkins []escalation.RequestCheckinInput
	links    []escalation.OpenLinkedCaseInput
}

var _ escalation.Activities = (*fakeService)(nil)

func (f *fakeService) ResolveTargets(_ context.Context, in escalation.ResolveTargetsInput) (escalation.ResolveTargetsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolved = append(f.resolved, in)
	var out escalation.ResolveTargetsResult
	for _, t := range in.Targets {
		switch t.Kind {
		case escalation.TargetUser:
			out.People = append(out.People, t.ID)
		case escalation.TargetRole:
			out.People = append(out.People, f.roles[t.Role]...)
		case escalation.TargetRotation:
			out.People = append(out.People, t.Members[0]) // first member on duty
		}
	}
	out.Delegations = f.live
	return out, nil
}

func (f *fakeService) NotifyEscalation(_ context.Context, in escalation.NotifyEscalationInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, in)
	return f.notifyErr
}

func (f *fakeService) RequestCheckin(_ context.Context, in escalation.RequestCheckinInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkins = append(f.checkins, in)
	return nil
}

func (f *fakeService) OpenLinkedCase(_ context.Context, in escalation.OpenLinkedCaseInput) (escalation.OpenLinkedCaseResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links = append(f.links, in)
	if f.linkErr != nil {
		return escalation.OpenLinkedCaseResult{}, f.linkErr
	}
	return escalation.OpenLinkedCaseResult{CaseID: in.CaseID + "-retaliation"}, nil
}

// noticeLines renders notices as "level#attempt due→recipients" with due
// times in loc, for readable comparisons.
func (f *fakeService) noticeLines(loc *time.Location) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, n := range f.notices {
		out = append(out, fmt.Sprintf("%s#%d %s→%s", n.Level, n.Attempt, n.DueAt.In(loc).Format("2006-01-02 15:04"), strings.Join(n.Recipients, ",")))
	}
	return out
}

func (f *fakeService) checkinLines(loc *time.Location) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.checkins {
		out = append(out, fmt.Sprintf("r%d %d/%d %s", c.Round, c.Number, c.Of, c.DueAt.In(loc).Format("2006-01-02 15:04")))
	}
	return out
}

func (f *fakeService) allRecipients() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, n := range f.notices {
		out = append(out, n.Recipients...)
	}
	return out
}

// harness runs one case in the time-skipping test environment.
type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	svc   *fakeService
	start time.Time
}

func newHarness(t *testing.T, start time.Time) *harness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(2 * time.Minute)
	svc := &fakeService{roles: map[string][]string{
		escalation.RoleProgramDirector: {"pd-1"},
		escalation.RoleDEIOfficer:      {"dei-1"},
		escalation.RoleDepartmentLead:  {"chair-1"},
		escalation.RoleResolver:        {"res-1"},
	}}
	escalation.Register(env, svc)
	return &harness{t: t, env: env, svc: svc, start: start}
}

// at runs fn when the workflow clock reaches when.
func (h *harness) at(when time.Time, fn func()) {
	h.t.Helper()
	if when.Before(h.start) {
		h.t.Fatalf("callback at %s is before the start %s", when, h.start)
	}
	h.env.RegisterDelayedCallback(fn, when.Sub(h.start))
}

func (h *harness) signalAt(when time.Time, name string, v any) {
	h.at(when, func() { h.env.SignalWorkflow(name, v) })
}

// stateAt queries the case's state when the clock reaches when.
func (h *harness) stateAt(when time.Time) *escalation.State {
	var s escalation.State
	h.at(when, func() { s = h.state() })
	return &s
}

func (h *harness) run(in escalation.Input) escalation.Result {
	h.t.Helper()
	h.env.ExecuteWorkflow(escalation.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var r escalation.Result
	if err := h.env.GetWorkflowResult(&r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) state() escalation.State {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(escalation.QueryState)
	if err != nil {
		h.t.Fatal(err)
	}
	var s escalation.State
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) timeline() []escalation.Step {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(escalation.QueryTimeline)
	if err != nil {
		h.t.Fatal(err)
	}
	var steps []escalation.Step
	if err := v.Get(&steps); err != nil {
		h.t.Fatal(err)
	}
	return steps
}

// stepLines renders the timeline as "kind/status[ level#attempt][ by][ code]".
func stepLines(steps []escalation.Step) []string {
	var out []string
	for _, s := range steps {
		line := string(s.Kind) + "/" + string(s.Status)
		if s.Level != "" {
			line += fmt.Sprintf(" %s#%d", s.Level, s.Attempt)
		}
		if s.By != "" {
			line += " by " + s.By
		}
		if s.Code != "" {
			line += " " + s.Code
		}
		out = append(out, line)
	}
	return out
}

func caseInput(p escalation.Policy, opened time.Time, excluded ...string) escalation.Input {
	return escalation.Input{CaseID: "case-1", Department: "surgery", Policy: p, Excluded: excluded, OpenedAt: opened}
}

func wantLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}
