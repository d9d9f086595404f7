package escalation_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/deiops/deiops/workflows/escalation"
)

func TestAcknowledgedInTimeNeverEscalates(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00") // Monday
	h := newHarness(t, opened)
	h.signalAt(wall(t, ny, "2026-06-09 11:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "pd-1"})
	mid := h.stateAt(wall(t, ny, "2026-06-12 12:00"))
	h.signalAt(wall(t, ny, "2026-06-15 10:00"), escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "resolved_informally"})

	res := h.run(caseInput(escalation.ResidencyProgramDefault(), opened))

	if got := h.svc.noticeLines(ny); got != nil {
		t.Fatalf("escalated although acknowledged in time: %q", got)
	}
	// The resolution clock counts from the acknowledgment: 30 business days.
	if mid.Status != escalation.StatusAcknowledged || mid.Level != "resolution-overdue" || !mid.NextDueAt.Equal(wall(t, ny, "2026-07-21 11:00")) {
		t.Fatalf("state while waiting: %+v", mid)
	}
	wantLines(t, "timeline", stepLines(h.timeline()), []string{
		"acknowledged/accepted by pd-1",
		"escalation/skipped program-director#1",
		"escalation/skipped dei-officer#1",
		"escalation/skipped department-chair#1",
		"resolved/accepted by pd-1 resolved_informally",
		"checkin/requested",
		"checkin/requested",
		"checkin/requested",
	})
	if res != (escalation.Result{CaseID: "case-1", Ending: escalation.EndingFollowedUp, Rounds: 1, CheckinsDone: 3}) {
		t.Fatalf("result %+v", res)
	}
	if end := wall(t, ny, "2026-09-27 10:00"); !h.env.Now().Equal(end) {
		t.Fatalf("ended at %s, want 14 days after the 90-day check-in (%s)", h.env.Now(), end)
	}
}

func TestEscalatesThroughEveryLevelWithRepeats(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00") // Monday
	h := newHarness(t, opened)
	mid := h.stateAt(wall(t, ny, "2026-06-15 12:00"))
	h.signalAt(wall(t, ny, "2026-08-20 10:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "substantiated"})

	res := h.run(caseInput(escalation.ResidencyProgramDefault(), opened))

	wantLines(t, "notices", h.svc.noticeLines(ny), []string{
		"program-director#1 2026-06-10 10:00→pd-1", // 2 business days
		"program-director#2 2026-06-11 10:00→pd-1", // repeat a business day later
		"dei-officer#1 2026-06-12 10:00→dei-1",     // 2 more
		"dei-officer#2 2026-06-15 10:00→dei-1",     // over the weekend
		"dei-officer#3 2026-06-16 10:00→dei-1",
		"department-chair#1 2026-06-17 10:00→chair-1",      // 3 more
		"resolution-overdue#1 2026-07-29 10:00→pd-1,dei-1", // 30 business days from the acknowledgment deadline
		"resolution-overdue#2 2026-08-05 10:00→pd-1,dei-1", // 5 business days later
		"resolution-chair#1 2026-08-12 10:00→chair-1",      // 10 business days after resolution-overdue
	})
	for _, n := range h.svc.notices {
		if n.PolicyID != "residency-program-default" || n.PolicyVersion != 1 || n.Round != 1 || n.CaseID != "case-1" || n.Department != "surgery" {
			t.Fatalf("notice %+v", n)
		}
	}
	if id := h.svc.notices[1].NotificationID; id != "case-1:1:program-director:2" {
		t.Fatalf("notification id %q", id)
	}
	// Notices go out when due, not later.
	for _, s := range h.timeline() {
		if s.Kind == escalation.StepEscalation && (s.Status != escalation.StepNotified || !s.At.Equal(s.DueAt)) {
			t.Fatalf("step %+v", s)
		}
	}
	if mid.Status != escalation.StatusOpen || mid.Level != "dei-officer" || !mid.NextDueAt.Equal(wall(t, ny, "2026-06-16 10:00")) {
		t.Fatalf("state between repeats: %+v", mid)
	}
	wantLines(t, "check-ins", h.svc.checkinLines(ny), []string{"r1 1/3 2026-09-19 10:00", "r1 2/3 2026-10-19 10:00", "r1 3/3 2026-11-18 10:00"})
	if res.Ending != escalation.EndingFollowedUp {
		t.Fatalf("result %+v", res)
	}
}

func TestRepeatsStopAtTheNextLevelAndWhenTheConditionClears(t *testing.T) {
	start := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	p := escalation.Policy{
		ID: "repeats", Version: 1, Calendar: alwaysOpenUTC(),
		Levels: []escalation.Level{
			{Name: "first", Targets: []escalation.Target{escalation.User("a")}, Delay: escalation.Hours(1), Condition: escalation.IfNotAcknowledged, Repeat: 5, RepeatEvery: escalation.Hours(1)},
			{Name: "second", Targets: []escalation.Target{escalation.User("b")}, Delay: escalation.Hours(3), Condition: escalation.IfNotAcknowledged, Repeat: 3, RepeatEvery: escalation.Hours(2)},
		},
	}
	h := newHarness(t, start)
	h.signalAt(start.Add(7*time.Hour), escalation.SignalAcknowledge, escalation.Acknowledge{By: "b"})
	h.signalAt(start.Add(8*time.Hour), escalation.SignalResolve, escalation.Resolve{By: "b", Outcome: "resolved"})
	h.run(caseInput(p, start))
	wantLines(t, "notices", h.svc.noticeLines(time.UTC), []string{
		"first#1 2026-06-08 01:00→a",
		"first#2 2026-06-08 02:00→a",
		"first#3 2026-06-08 03:00→a", // 04:00 is the second level's
		"second#1 2026-06-08 04:00→b",
		"second#2 2026-06-08 06:00→b", // acknowledged at 07:00: no 08:00
	})
}

func alwaysOpenUTC() escalation.BusinessCalendar {
	return escalation.BusinessCalendar{
		TimeZone: "UTC",
		Workdays: []escalation.Weekday{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		Start:    "00:00", End: "24:00",
	}
}

func TestBusinessHoursCrossWeekendsHolidaysAndDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	p := escalation.Policy{
		ID: "business-hours", Version: 1, Department: "surgery", Calendar: newYork(),
		Levels: []escalation.Level{
			{Name: "handler", Targets: []escalation.Target{escalation.User("handler-1")}, Delay: escalation.BusinessHours(4), Condition: escalation.IfNotAcknowledged},
			{Name: "dei", Targets: []escalation.Target{escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.BusinessDays(1), Condition: escalation.IfNotAcknowledged},
		},
	}
	cases := []struct {
		name, opened string
		want         []string
	}{
		{"weekend then Labor Day", "2026-09-04 15:00", []string{"handler#1 2026-09-08 11:00→handler-1", "dei#1 2026-09-09 11:00→dei-1"}},
		{"Christmas Friday then the weekend", "2026-12-24 15:00", []string{"handler#1 2026-12-28 11:00→handler-1", "dei#1 2026-12-29 11:00→dei-1"}},
		{"weekend of the change from daylight time", "2026-10-30 16:00", []string{"handler#1 2026-11-02 12:00→handler-1", "dei#1 2026-11-03 12:00→dei-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opened := wall(t, ny, c.opened)
			h := newHarness(t, opened)
			h.signalAt(opened.Add(10*24*time.Hour), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "resolved"})
			h.run(caseInput(p, opened))
			wantLines(t, "notices", h.svc.noticeLines(ny), c.want)
			for _, s := range h.timeline() {
				if s.Kind == escalation.StepEscalation && !s.At.Equal(s.DueAt) {
					t.Fatalf("notified at %s, due %s", s.At, s.DueAt)
				}
			}
		})
	}
}

func TestOutOfOfficeDelegation(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	p := escalation.Policy{
		ID: "delegation", Version: 1, Department: "surgery", Calendar: newYork(),
		Levels: []escalation.Level{
			{Name: "first", Targets: []escalation.Target{escalation.User("pd-1"), escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.BusinessDays(2), Condition: escalation.IfNotAcknowledged},
			{Name: "second", Targets: []escalation.Target{escalation.User("pd-1"), escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.BusinessDays(3), Condition: escalation.IfNotAcknowledged},
			{Name: "third", Targets: []escalation.Target{escalation.User("pd-1")}, Delay: escalation.BusinessDays(5), Condition: escalation.IfNotAcknowledged},
		},
		Delegations: escalation.Delegations{
			{From: "pd-1", To: "pd-2", Start: "2026-06-08", End: "2026-06-12"},
			{From: "pd-2", To: "pd-3", Start: "2026-06-01", End: "2026-06-30"},
			// The second week pd-1 names their own supervisor, who is in
			// the reported person's chain: pd-1 keeps their notices.
			{From: "pd-1", To: "att-9", Start: "2026-06-15", End: "2026-06-19"},
		},
	}
	h := newHarness(t, opened)
	// Live out-of-office from the service's store.
	h.svc.live = escalation.Delegations{{From: "dei-1", To: "dei-2", Start: "2026-06-01", End: "2026-06-30"}}
	h.signalAt(wall(t, ny, "2026-06-23 10:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-2", Outcome: "resolved"})
	h.run(caseInput(p, opened, "res-7", "att-9"))
	wantLines(t, "notices", h.svc.noticeLines(ny), []string{
		"first#1 2026-06-10 10:00→pd-3,dei-2", // pd-1 → pd-2 → pd-3, both away
		"second#1 2026-06-15 10:00→pd-1,dei-2",
		"third#1 2026-06-22 10:00→pd-1", // back
	})
}

func TestConflictOfInterestIsExcludedAtLevelThree(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	// The report names resident res-7; their supervising attending att-3,
	// the program director pd-1 and the chair chair-1 are their chain.
	excluded := []string{"res-7", "att-3", "pd-1", "chair-1"}
	h := newHarness(t, opened)
	h.svc.roles[escalation.RoleDepartmentLead] = []string{"chair-1", "chair-2"}
	// The chair in the chain tries to acknowledge (and bury) the case.
	h.signalAt(wall(t, ny, "2026-06-16 09:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "chair-1"})
	h.signalAt(wall(t, ny, "2026-06-18 10:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "dei-1"})
	h.signalAt(wall(t, ny, "2026-08-13 10:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "substantiated"})

	h.run(caseInput(escalation.ResidencyProgramDefault(), opened, excluded...))

	wantLines(t, "notices", h.svc.noticeLines(ny), []string{
		"program-director#1 2026-06-10 10:00→", // pd-1 is conflicted: nobody, the service alerts its fallback
		"program-director#2 2026-06-11 10:00→",
		"dei-officer#1 2026-06-12 10:00→dei-1",
		"dei-officer#2 2026-06-15 10:00→dei-1",
		"dei-officer#3 2026-06-16 10:00→dei-1",
		"department-chair#1 2026-06-17 10:00→chair-2", // chair-1 is the supervisor in the chain
		"resolution-overdue#1 2026-07-29 10:00→dei-1",
		"resolution-overdue#2 2026-08-05 10:00→dei-1",
		"resolution-chair#1 2026-08-12 10:00→chair-2",
	})
	for _, id := range h.svc.allRecipients() {
		if slices.Contains(excluded, id) {
			t.Fatalf("excluded %s was notified", id)
		}
	}
	steps := h.timeline()
	wantLines(t, "timeline", stepLines(steps)[:9], []string{
		"escalation/unrouted program-director#1",
		"escalation/unrouted program-director#2",
		"escalation/notified dei-officer#1",
		"escalation/notified dei-officer#2",
		"acknowledged/rejected conflict_of_interest", // names no one
		"escalation/notified dei-officer#3",
		"escalation/notified department-chair#1",
		"acknowledged/accepted by dei-1",
		"escalation/notified resolution-overdue#1",
	})
}

func TestInFlightCaseKeepsItsPolicyVersion(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	v1 := escalation.ResidencyProgramDefault()
	v2 := escalation.ResidencyProgramDefault()
	v2.Version = 2
	v2.Levels[0].Delay = escalation.BusinessDays(1)
	v2.Levels[0].Targets = []escalation.Target{escalation.Role(escalation.RoleDEIOfficer)}
	v2.Levels[0].Repeat, v2.Levels[0].RepeatEvery = 0, escalation.Duration{}

	// The department's store, as the service would read it when opening a case.
	store := v1
	opened := wall(t, ny, "2026-06-08 10:00")
	a := newHarness(t, opened)
	a.at(wall(t, ny, "2026-06-09 09:30"), func() { store = v2 }) // published while case A is open
	stateA := a.stateAt(wall(t, ny, "2026-06-10 12:00"))
	a.signalAt(wall(t, ny, "2026-06-10 13:00"), escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "resolved"})
	a.run(caseInput(store, opened))
	if store.Version != 2 {
		t.Fatal("the new version was not published during case A")
	}
	wantLines(t, "case A (v1)", a.svc.noticeLines(ny), []string{"program-director#1 2026-06-10 10:00→pd-1"})
	if a.svc.notices[0].PolicyVersion != 1 || stateA.PolicyVersion != 1 {
		t.Fatalf("case A reports version %d / %d", a.svc.notices[0].PolicyVersion, stateA.PolicyVersion)
	}

	b := newHarness(t, opened)
	b.signalAt(wall(t, ny, "2026-06-10 13:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "resolved"})
	b.run(caseInput(store, opened))
	wantLines(t, "case B (v2)", b.svc.noticeLines(ny), []string{
		"program-director#1 2026-06-09 10:00→dei-1", // one business day, to the DEI officer
	})
	if b.svc.notices[0].PolicyVersion != 2 {
		t.Fatalf("case B reports version %d", b.svc.notices[0].PolicyVersion)
	}
}

func TestReopenAfterResolve(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	h := newHarness(t, opened)
	h.signalAt(wall(t, ny, "2026-06-09 11:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "pd-1"})
	h.signalAt(wall(t, ny, "2026-06-10 11:00"), escalation.SignalReopen, escalation.Reopen{By: "pd-1"}) // not closed yet
	h.signalAt(wall(t, ny, "2026-06-15 10:00"), escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "resolved_informally"})
	h.signalAt(wall(t, ny, "2026-07-20 10:00"), escalation.SignalReopen, escalation.Reopen{By: "dei-1"})
	reopened := h.stateAt(wall(t, ny, "2026-07-21 10:00"))
	h.signalAt(wall(t, ny, "2026-09-02 10:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "substantiated"})

	res := h.run(caseInput(escalation.ResidencyProgramDefault(), opened))

	// Round 2 counts 30 business days from the reopening; the
	// acknowledgment levels do not apply again.
	wantLines(t, "notices", h.svc.noticeLines(ny), []string{"resolution-overdue#1 2026-08-31 10:00→pd-1,dei-1"})
	if id := h.svc.notices[0].NotificationID; id != "case-1:2:resolution-overdue:1" {
		t.Fatalf("notification id %q", id)
	}
	// The first closure's later check-ins were cancelled by the reopening.
	wantLines(t, "check-ins", h.svc.checkinLines(ny), []string{
		"r1 1/3 2026-07-15 10:00",
		"r2 1/3 2026-10-02 10:00", "r2 2/3 2026-11-01 10:00", "r2 3/3 2026-12-01 10:00",
	})
	if reopened.Status != escalation.StatusAcknowledged || reopened.Round != 2 || reopened.Reopens != 1 || reopened.Outcome != "" || reopened.Level != "resolution-overdue" {
		t.Fatalf("state after reopening: %+v", reopened)
	}
	lines := stepLines(h.timeline())
	if lines[4] != "reopened/rejected by pd-1 wrong_state" || !slices.Contains(lines, "reopened/accepted by dei-1") {
		t.Fatalf("timeline %q", lines)
	}
	if res.Rounds != 2 || res.CheckinsDone != 3 || res.Ending != escalation.EndingFollowedUp {
		t.Fatalf("result %+v", res)
	}
}

func TestRecusal(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	p := escalation.Policy{
		ID: "recusal", Version: 1, Department: "surgery", Calendar: newYork(),
		Levels: []escalation.Level{
			{Name: "first", Targets: []escalation.Target{escalation.User("handler-1"), escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.BusinessDays(1), Condition: escalation.IfNotAcknowledged},
			{Name: "second", Targets: []escalation.Target{escalation.User("handler-1"), escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.BusinessDays(1), Condition: escalation.IfNotAcknowledged},
			{Name: "third", Targets: []escalation.Target{escalation.User("handler-1"), escalation.Rotation("dei-rota", "handler-1", "dei-3")}, Delay: escalation.BusinessDays(1), Condition: escalation.IfNotResolved},
		},
	}
	h := newHarness(t, opened)
	h.signalAt(wall(t, ny, "2026-06-08 11:00"), escalation.SignalAssign, escalation.Assign{To: "handler-1", By: "dei-1"})
	assigned := h.stateAt(wall(t, ny, "2026-06-08 12:00"))
	h.signalAt(wall(t, ny, "2026-06-09 12:00"), escalation.SignalRecuse, escalation.Recuse{By: "handler-1"})
	h.signalAt(wall(t, ny, "2026-06-10 12:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "handler-1"})
	h.signalAt(wall(t, ny, "2026-06-10 13:00"), escalation.SignalAssign, escalation.Assign{To: "handler-1", By: "dei-1"})
	after := h.stateAt(wall(t, ny, "2026-06-10 14:00"))
	h.signalAt(wall(t, ny, "2026-06-11 12:00"), escalation.SignalResolve, escalation.Resolve{By: "handler-1", Outcome: "resolved"})
	h.signalAt(wall(t, ny, "2026-06-11 13:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "resolved"})

	h.run(caseInput(p, opened))

	wantLines(t, "notices", h.svc.noticeLines(ny), []string{
		"first#1 2026-06-09 10:00→handler-1,dei-1",
		"second#1 2026-06-10 10:00→dei-1", // recused
		"third#1 2026-06-11 10:00→",       // the rotation's on-duty member is the recused handler
	})
	if assigned.Assignee != "handler-1" {
		t.Fatalf("not assigned: %+v", assigned)
	}
	if after.Assignee != "" || !slices.Equal(after.Recused, []string{"handler-1"}) || after.Status != escalation.StatusOpen {
		t.Fatalf("state after recusal: %+v", after)
	}
	wantLines(t, "timeline", stepLines(h.timeline())[:9], []string{
		"assigned/accepted by dei-1",
		"escalation/notified first#1",
		"recused/accepted by handler-1",
		"escalation/notified second#1",
		"acknowledged/rejected conflict_of_interest",
		"assigned/rejected conflict_of_interest",
		"escalation/unrouted third#1",
		"resolved/rejected conflict_of_interest",
		"resolved/accepted by dei-1 resolved",
	})
}

func TestRetaliationCheckinsAtConfiguredOffsets(t *testing.T) {
	start := time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC)
	p := escalation.Policy{
		ID: "checkins", Version: 1, Calendar: alwaysOpenUTC(),
		Levels: []escalation.Level{{Name: "only", Targets: []escalation.Target{escalation.User("a")}, Delay: escalation.Days(5), Condition: escalation.IfNotResolved}},
		// Out of order on purpose: check-ins run in time order.
		Checkins: escalation.RetaliationCheckins{Offsets: []escalation.Duration{escalation.Months(1), escalation.Days(7)}, ResponseWindow: escalation.Days(3)},
	}
	h := newHarness(t, start)
	h.signalAt(time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), escalation.SignalResolve, escalation.Resolve{By: "a", Outcome: "resolved"})
	res := h.run(caseInput(p, start))
	wantLines(t, "check-ins", h.svc.checkinLines(time.UTC), []string{"r1 1/2 2026-02-07 10:00", "r1 2/2 2026-02-28 10:00"})
	if id := h.svc.checkins[1].RequestID; id != "case-1:checkin:1:2" {
		t.Fatalf("request id %q", id)
	}
	if end := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC); !h.env.Now().Equal(end) {
		t.Fatalf("ended at %s, want %s", h.env.Now(), end)
	}
	if res.CheckinsDone != 2 || res.LinkedCaseNeeded {
		t.Fatalf("result %+v", res)
	}
}

func TestRetaliationReported(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	resolved := wall(t, ny, "2026-06-15 10:00")
	setup := func(t *testing.T) *harness {
		h := newHarness(t, opened)
		// While the case is open, retaliation is a new report, not a reply.
		h.signalAt(wall(t, ny, "2026-06-09 10:30"), escalation.SignalRetaliationReported, escalation.RetaliationReport{})
		h.signalAt(wall(t, ny, "2026-06-09 11:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "pd-1"})
		h.signalAt(resolved, escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "resolved"})
		return h
	}

	t.Run("after the second check-in", func(t *testing.T) {
		h := setup(t)
		h.signalAt(wall(t, ny, "2026-08-20 10:00"), escalation.SignalRetaliationReported, escalation.RetaliationReport{Checkin: 2})
		res := h.run(caseInput(escalation.ResidencyProgramDefault(), opened))
		wantLines(t, "check-ins", h.svc.checkinLines(ny), []string{"r1 1/3 2026-07-15 10:00", "r1 2/3 2026-08-14 10:00"})
		if len(h.svc.links) != 1 || h.svc.links[0] != (escalation.OpenLinkedCaseInput{RequestID: "case-1:retaliation:1", CaseID: "case-1", Department: "surgery", Checkin: 2}) {
			t.Fatalf("linked case requests %+v", h.svc.links)
		}
		want := escalation.Result{CaseID: "case-1", Ending: escalation.EndingRetaliationReported, Rounds: 1, CheckinsDone: 2, LinkedCaseNeeded: true, LinkedCaseID: "case-1-retaliation"}
		if res != want {
			t.Fatalf("result %+v", res)
		}
		if !h.env.Now().Equal(wall(t, ny, "2026-08-20 10:00")) {
			t.Fatalf("ended at %s", h.env.Now())
		}
		lines := stepLines(h.timeline())
		if lines[0] != "retaliation_reported/rejected wrong_state" || lines[len(lines)-1] != "linked_case/opened" {
			t.Fatalf("timeline %q", lines)
		}
		if st := h.state(); st.Status != escalation.StatusEnded || !st.Retaliation || st.LinkedCaseID != "case-1-retaliation" {
			t.Fatalf("final state %+v", st)
		}
	})

	t.Run("in the response window after the last check-in", func(t *testing.T) {
		h := setup(t)
		h.signalAt(wall(t, ny, "2026-09-20 10:00"), escalation.SignalRetaliationReported, escalation.RetaliationReport{Checkin: 3})
		res := h.run(caseInput(escalation.ResidencyProgramDefault(), opened))
		if res.Ending != escalation.EndingRetaliationReported || res.CheckinsDone != 3 || len(h.svc.links) != 1 || h.svc.links[0].Checkin != 3 {
			t.Fatalf("result %+v, links %+v", res, h.svc.links)
		}
	})

	t.Run("when opening the linked case fails for good the caller is told", func(t *testing.T) {
		h := setup(t)
		h.svc.linkErr = temporal.NewNonRetryableApplicationError("department unknown", "Rejected", nil)
		h.signalAt(wall(t, ny, "2026-07-16 10:00"), escalation.SignalRetaliationReported, escalation.RetaliationReport{Checkin: 1})
		res := h.run(caseInput(escalation.ResidencyProgramDefault(), opened))
		if !res.LinkedCaseNeeded || res.LinkedCaseID != "" || res.Ending != escalation.EndingRetaliationReported {
			t.Fatalf("result %+v", res)
		}
		lines := stepLines(h.timeline())
		if lines[len(lines)-1] != "linked_case/failed" {
			t.Fatalf("timeline %q", lines)
		}
	})
}

func TestLateStartCatchesUpWithoutABurstOfRepeats(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	start := wall(t, ny, "2026-06-12 11:00") // Temporal was unavailable for four days
	h := newHarness(t, start)
	h.signalAt(wall(t, ny, "2026-06-15 12:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "dei-1"})
	h.signalAt(wall(t, ny, "2026-06-15 13:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "resolved"})
	h.run(caseInput(escalation.ResidencyProgramDefault(), opened))
	wantLines(t, "notices", h.svc.noticeLines(ny), []string{
		"program-director#1 2026-06-10 10:00→pd-1", // overdue: sent at the start
		"dei-officer#1 2026-06-12 10:00→dei-1",     // overdue: sent at the start
		"dei-officer#2 2026-06-15 10:00→dei-1",     // on time again
	})
	for _, s := range h.timeline()[:2] {
		if !s.At.Equal(start) {
			t.Fatalf("catch-up notice at %s, want %s", s.At, start)
		}
	}
}

func TestEUDirectiveClocks(t *testing.T) {
	brussels := mustLoc(t, "Europe/Brussels")
	opened := wall(t, brussels, "2026-06-08 10:00")

	t.Run("late acknowledgment: feedback counts from the end of the seven days", func(t *testing.T) {
		h := newHarness(t, opened)
		h.signalAt(wall(t, brussels, "2026-06-17 12:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "res-1"})
		h.signalAt(wall(t, brussels, "2026-09-20 12:00"), escalation.SignalResolve, escalation.Resolve{By: "res-1", Outcome: "feedback_given"})
		h.run(caseInput(escalation.EUWhistleblowingDirective(), opened))
		wantLines(t, "notices", h.svc.noticeLines(brussels), []string{
			"acknowledgment-reminder#1 2026-06-13 10:00→res-1", // day 5, a Saturday: calendar days
			"acknowledgment-overdue#1 2026-06-15 10:00→dei-1,res-1",
			"acknowledgment-overdue#2 2026-06-16 10:00→dei-1,res-1",
			"acknowledgment-overdue#3 2026-06-17 10:00→dei-1,res-1",
			"feedback-reminder#1 2026-08-15 10:00→res-1",
			"feedback-overdue#1 2026-09-15 10:00→dei-1,chair-1",
		})
	})

	t.Run("acknowledged on day 2: feedback counts from the acknowledgment", func(t *testing.T) {
		h := newHarness(t, opened)
		h.signalAt(wall(t, brussels, "2026-06-10 09:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "res-1"})
		h.signalAt(wall(t, brussels, "2026-10-05 12:00"), escalation.SignalResolve, escalation.Resolve{By: "res-1", Outcome: "feedback_given"})
		h.run(caseInput(escalation.EUWhistleblowingDirective(), opened))
		wantLines(t, "notices", h.svc.noticeLines(brussels), []string{
			"feedback-reminder#1 2026-08-10 09:00→res-1",
			"feedback-overdue#1 2026-09-10 09:00→dei-1,chair-1",
			"feedback-overdue#2 2026-09-17 09:00→dei-1,chair-1",
			"feedback-overdue#3 2026-09-24 09:00→dei-1,chair-1",
			"feedback-overdue#4 2026-10-01 09:00→dei-1,chair-1",
		})
	})

	t.Run("an acknowledgment dated earlier than its arrival counts from its date", func(t *testing.T) {
		h := newHarness(t, opened)
		h.signalAt(wall(t, brussels, "2026-06-12 09:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "res-1", At: wall(t, brussels, "2026-06-11 16:00")})
		h.signalAt(wall(t, brussels, "2026-08-12 12:00"), escalation.SignalResolve, escalation.Resolve{By: "res-1", Outcome: "feedback_given"})
		h.run(caseInput(escalation.EUWhistleblowingDirective(), opened))
		wantLines(t, "notices", h.svc.noticeLines(brussels), []string{"feedback-reminder#1 2026-08-11 16:00→res-1"})
	})
}

func TestActionsCarryIDsAndCodesOnly(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	h := newHarness(t, opened)
	h.signalAt(wall(t, ny, "2026-06-08 11:00"), escalation.SignalAcknowledge, escalation.Acknowledge{By: "Dr Jane Doe"})
	h.signalAt(wall(t, ny, "2026-06-08 12:00"), escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "he said it again in the OR"})
	h.signalAt(wall(t, ny, "2026-06-08 13:00"), escalation.SignalAssign, escalation.Assign{To: "Jane Doe"})
	h.signalAt(wall(t, ny, "2026-06-08 14:00"), escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "resolved"})
	h.signalAt(wall(t, ny, "2026-06-08 15:00"), escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "resolved"})
	h.run(caseInput(escalation.ResidencyProgramDefault(), opened))
	wantLines(t, "timeline", stepLines(h.timeline())[:5], []string{
		"acknowledged/rejected invalid",
		"resolved/rejected by pd-1 invalid",
		"assigned/rejected invalid",
		"resolved/accepted by pd-1 resolved",
		"resolved/rejected by pd-1 wrong_state",
	})
	for _, s := range h.timeline() {
		if len(s.Targets) > 0 && s.Kind == escalation.StepAssigned {
			t.Fatalf("rejected assignee recorded: %+v", s)
		}
	}
}

func TestFailedNoticeIsRecordedAndLaterLevelsKeepTheirTimes(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	opened := wall(t, ny, "2026-06-08 10:00")
	h := newHarness(t, opened)
	h.svc.notifyErr = temporal.NewNonRetryableApplicationError("smtp refused", "Permanent", nil)
	h.signalAt(wall(t, ny, "2026-06-12 12:00"), escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "resolved"})
	h.run(caseInput(escalation.ResidencyProgramDefault(), opened))
	wantLines(t, "timeline", stepLines(h.timeline())[:3], []string{
		"escalation/failed program-director#1",
		"escalation/failed program-director#2",
		"escalation/failed dei-officer#1",
	})
	if at := h.timeline()[2].At; !at.Equal(wall(t, ny, "2026-06-12 10:00")) {
		t.Fatalf("next level at %s", at)
	}
}

func TestInvalidInputFailsWithoutRetrying(t *testing.T) {
	h := newHarness(t, time.Date(2026, 6, 8, 10, 0, 0, 0, time.UTC))
	p := escalation.ResidencyProgramDefault()
	p.Levels[0].Condition = "whenever"
	h.env.ExecuteWorkflow(escalation.WorkflowName, caseInput(p, time.Time{}))
	var app *temporal.ApplicationError
	if err := h.env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != escalation.ErrInvalidInput || !app.NonRetryable() {
		t.Fatalf("error %v", err)
	}
	if len(h.svc.resolved) > 0 {
		t.Fatal("an invalid case ran activities")
	}
}

func TestOpenedAtDefaultsToTheStart(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	start := wall(t, ny, "2026-06-08 10:00")
	h := newHarness(t, start)
	st := h.stateAt(wall(t, ny, "2026-06-08 10:01"))
	h.signalAt(wall(t, ny, "2026-06-08 11:00"), escalation.SignalResolve, escalation.Resolve{By: "pd-1", Outcome: "resolved"})
	h.run(caseInput(escalation.ResidencyProgramDefault(), start.Add(48*time.Hour))) // in the future
	if !st.OpenedAt.Equal(start) || !st.NextDueAt.Equal(wall(t, ny, "2026-06-10 10:00")) {
		t.Fatalf("state %+v", st)
	}
}
