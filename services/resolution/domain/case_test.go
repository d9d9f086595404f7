package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/fault"
)

func noOne(string) bool { return false }

func newTestCase(t *testing.T) *Case {
	t.Helper()
	r, err := NewReport(validInput(), testNow())
	if err != nil {
		t.Fatalf("NewReport: %v", err)
	}
	c, err := NewCase("case-1", r, testNow())
	if err != nil {
		t.Fatalf("NewCase: %v", err)
	}
	return c
}

type step struct {
	to  State
	run func(c *Case) error
}

// forward returns the steps that drive a case to each state in turn.
func forward() []step {
	return []step{
		{StateTriaged, func(c *Case) error { return c.Triage("off-1", CategoryHarassment, SeverityHigh, "route-a", testNow()) }},
		{StateAssigned, func(c *Case) error { return c.Assign("off-1", "h-1", noOne, testNow()) }},
		{StateAcknowledged, func(c *Case) error { return c.Acknowledge("h-1", testNow()) }},
		{StateInProgress, func(c *Case) error { return c.Start("h-1", testNow()) }},
		{StateResolved, func(c *Case) error { return c.Resolve("h-1", "substantiated", testNow()) }},
		{StateClosed, func(c *Case) error { return c.Close("h-1", testNow()) }},
	}
}

func caseIn(t *testing.T, s State) *Case {
	t.Helper()
	c := newTestCase(t)
	for _, step := range forward() {
		if c.State() == s {
			break
		}
		if err := step.run(c); err != nil {
			t.Fatalf("to %s: %v", step.to, err)
		}
	}
	if c.State() != s {
		t.Fatalf("could not reach %s", s)
	}
	return c
}

func TestStateMachine(t *testing.T) {
	actions := map[Action]func(c *Case) error{
		ActionTriage:      forward()[0].run,
		ActionAssign:      forward()[1].run,
		ActionAcknowledge: forward()[2].run,
		ActionStart:       forward()[3].run,
		ActionResolve:     forward()[4].run,
		ActionClose:       forward()[5].run,
		ActionReopen:      func(c *Case) error { return c.Reopen("off-1", "new_information", testNow()) },
	}
	allowed := map[State]map[Action]State{
		StateSubmitted:    {ActionTriage: StateTriaged},
		StateTriaged:      {ActionAssign: StateAssigned},
		StateAssigned:     {ActionAcknowledge: StateAcknowledged, ActionAssign: StateAssigned},
		StateAcknowledged: {ActionStart: StateInProgress, ActionAssign: StateAcknowledged},
		StateInProgress:   {ActionResolve: StateResolved, ActionAssign: StateInProgress},
		StateResolved:     {ActionClose: StateClosed, ActionReopen: StateInProgress},
		StateClosed:       {ActionReopen: StateInProgress},
	}
	for from, next := range allowed {
		for action, run := range actions {
			t.Run(string(from)+"/"+string(action), func(t *testing.T) {
				c := caseIn(t, from)
				c.PullEvents()
				before := len(c.Timeline())
				err := run(c)
				if want, ok := next[action]; ok {
					if err != nil {
						t.Fatalf("allowed transition failed: %v", err)
					}
					if c.State() != want {
						t.Fatalf("state = %s, want %s", c.State(), want)
					}
					if len(c.Timeline()) != before+1 || len(c.PullEvents()) != 1 {
						t.Fatal("want one timeline entry and one event")
					}
					return
				}
				var te *TransitionError
				if fault.KindOf(err) != fault.Conflict || !errors.As(err, &te) {
					t.Fatalf("err = %v, want transition error", err)
				}
				if te.State != from || te.Action != action || c.State() != from {
					t.Fatalf("error state %s action %s, case state %s; want %s", te.State, te.Action, c.State(), from)
				}
				if len(c.Timeline()) != before || len(c.PullEvents()) != 0 {
					t.Fatal("a refused action changed the timeline or events")
				}
			})
		}
	}
}

func TestEventsCarryCodes(t *testing.T) {
	c := caseIn(t, StateTriaged)
	ev := c.PullEvents()
	want := []Event{
		ReportSubmitted{CaseID: "case-1", Category: CategoryRacism, DepartmentID: "dept-surgery", Site: "main", DesiredOutcome: OutcomeFormalResolution, At: testNow()},
		CaseTriaged{CaseID: "case-1", Category: CategoryHarassment, Severity: SeverityHigh, Route: "route-a", At: testNow()},
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("events = %#v", ev)
	}
	if len(c.PullEvents()) != 0 {
		t.Fatal("PullEvents did not clear")
	}
}

func TestTriageRejectsBadArguments(t *testing.T) {
	c := newTestCase(t)
	for _, err := range []error{
		c.Triage("off-1", "nope", SeverityLow, "r", testNow()),
		c.Triage("off-1", CategoryOther, "urgent", "r", testNow()),
		c.Triage("off-1", CategoryOther, SeverityLow, "", testNow()),
		c.Triage("", CategoryOther, SeverityLow, "r", testNow()),
	} {
		if fault.KindOf(err) != fault.Invalid {
			t.Errorf("err = %v, want an invalid-kind error", err)
		}
	}
	if c.State() != StateSubmitted {
		t.Fatal("state changed")
	}
}

func TestAssignConflictOfInterest(t *testing.T) {
	c := caseIn(t, StateTriaged)
	excluded := func(id string) bool { return id == "named-1" || id == "named-1-supervisor" }
	for _, to := range []string{"named-1", "named-1-supervisor", "u-999" /* the named reporter */} {
		if err := c.Assign("off-1", to, excluded, testNow()); !errors.Is(err, ErrConflictOfInterest) {
			t.Errorf("assign %s: err = %v, want ErrConflictOfInterest", to, err)
		}
	}
	if err := c.Assign("off-1", "h-2", nil, testNow()); fault.KindOf(err) != fault.Invalid {
		t.Errorf("nil exclusion check: err = %v", err)
	}
	if c.State() != StateTriaged || c.Assignee() != "" {
		t.Fatal("refused assignment changed the case")
	}
	if err := c.Assign("off-1", "h-2", excluded, testNow()); err != nil || c.Assignee() != "h-2" {
		t.Fatalf("clean assignment: %v", err)
	}
}

func TestRecuse(t *testing.T) {
	c := caseIn(t, StateAssigned)
	if err := c.Recuse("h-other", testNow()); !errors.Is(err, ErrNotAssignee) {
		t.Fatalf("non-assignee recusal: %v", err)
	}
	if err := c.Recuse("h-1", testNow()); err != nil {
		t.Fatalf("Recuse: %v", err)
	}
	if c.State() != StateTriaged || c.Assignee() != "" {
		t.Fatalf("after recusal: state %s assignee %q", c.State(), c.Assignee())
	}
	if err := c.Assign("off-1", "h-1", noOne, testNow()); !errors.Is(err, ErrConflictOfInterest) {
		t.Fatalf("recused handler reassigned: %v", err)
	}
	if err := c.Assign("off-1", "h-2", noOne, testNow()); err != nil {
		t.Fatalf("reassign: %v", err)
	}

	// In progress: the state stays, the case waits for a new assignee.
	c = caseIn(t, StateInProgress)
	if err := c.Recuse("h-1", testNow()); err != nil || c.State() != StateInProgress || c.Assignee() != "" {
		t.Fatalf("in-progress recusal: %v state %s", err, c.State())
	}
}

func TestReopen(t *testing.T) {
	for _, from := range []State{StateResolved, StateClosed} {
		c := caseIn(t, from)
		if err := c.Reopen("off-1", "bad code!", testNow()); fault.KindOf(err) != fault.Invalid {
			t.Fatalf("free-text reason accepted: %v", err)
		}
		if err := c.Reopen("off-1", "retaliation_checkin", testNow().Add(time.Hour)); err != nil {
			t.Fatalf("Reopen from %s: %v", from, err)
		}
		if c.State() != StateInProgress || c.Outcome() != "" {
			t.Fatalf("after reopen: %s %q", c.State(), c.Outcome())
		}
		if err := c.Resolve("h-1", "resolved_informally", testNow()); err != nil {
			t.Fatalf("resolve after reopen: %v", err)
		}
	}
}

func TestResolveClosedCaseReportsState(t *testing.T) {
	c := caseIn(t, StateClosed)
	err := c.Resolve("h-1", "substantiated", testNow())
	var te *TransitionError
	if !errors.As(err, &te) || te.State != StateClosed {
		t.Fatalf("err = %v, want transition error with state closed", err)
	}
}

func TestNotesLegalHoldAndReporterTimeline(t *testing.T) {
	c := caseIn(t, StateAcknowledged)
	if err := c.AddNote("h-1", Restrict(""), testNow()); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("empty note: %v", err)
	}
	if err := c.AddNote("h-1", Restrict("spoke with the program director"), testNow()); err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	if err := c.SetLegalHold("off-1", true, testNow()); err != nil || !c.LegalHold() {
		t.Fatalf("SetLegalHold: %v", err)
	}
	if err := c.Recuse("h-1", testNow()); err != nil {
		t.Fatal(err)
	}
	got := c.ReporterTimeline()
	var actions []Action
	for _, e := range got {
		actions = append(actions, e.Action)
	}
	want := []Action{ActionSubmit, ActionTriage, ActionAssign, ActionAcknowledge}
	if !reflect.DeepEqual(actions, want) {
		t.Fatalf("reporter timeline = %v, want %v", actions, want)
	}
	// The type itself has no field for who acted.
	if _, ok := reflect.TypeOf(ReporterTimelineEntry{}).FieldByName("By"); ok {
		t.Fatal("reporter timeline exposes handler identity")
	}
	if full := c.Timeline(); len(full) != 7 || full[4].Action != ActionAddNote || full[4].By != "h-1" {
		t.Fatalf("full timeline = %+v", full)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	c := caseIn(t, StateInProgress)
	if err := c.AddNote("h-1", Restrict("note text"), testNow()); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLegalHold("off-1", true, testNow()); err != nil {
		t.Fatal(err)
	}
	if err := c.Recuse("h-1", testNow()); err != nil {
		t.Fatal(err)
	}
	s := c.Snapshot()
	back, err := UnmarshalCase(s)
	if err != nil {
		t.Fatalf("UnmarshalCase: %v", err)
	}
	if !reflect.DeepEqual(back.Snapshot(), s) {
		t.Fatalf("round trip differs:\n%+v\n%+v", back.Snapshot(), s)
	}
	if len(back.PullEvents()) != 0 {
		t.Fatal("rehydrated case has pending events")
	}
	if back.Report().Narrative().Reveal() != c.Report().Narrative().Reveal() || back.Notes()[0].Text.Reveal() != "note text" {
		t.Fatal("restricted content lost")
	}
	// The rehydrated case still enforces the process.
	if err := back.Recuse("h-1", testNow()); !errors.Is(err, ErrNotAssignee) {
		t.Fatalf("rehydrated case: %v", err)
	}
}

func TestUnmarshalCaseRejectsCorrupt(t *testing.T) {
	good := caseIn(t, StateResolved).Snapshot()
	for name, mutate := range map[string]func(*CaseSnapshot){
		"state":     func(s *CaseSnapshot) { s.State = "limbo" },
		"id":        func(s *CaseSnapshot) { s.ID = "" },
		"category":  func(s *CaseSnapshot) { s.Category = "x" },
		"severity":  func(s *CaseSnapshot) { s.Severity = "" },
		"outcome":   func(s *CaseSnapshot) { s.Outcome = "" },
		"timeline":  func(s *CaseSnapshot) { s.Timeline = nil },
		"anonymous": func(s *CaseSnapshot) { s.Report.Anonymous = true },
	} {
		s := good
		mutate(&s)
		if _, err := UnmarshalCase(s); !errors.Is(err, ErrCorruptSnapshot) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
