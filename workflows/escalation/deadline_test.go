package escalation

import (
	"testing"
	"time"
)

// openEveryDay is a calendar that never closes, so expected clocks are plain dates.
func openEveryDay() BusinessCalendar {
	every := []Weekday{Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday}
	return BusinessCalendar{TimeZone: "UTC", Workdays: every, Start: "00:00", End: "24:00"}
}

func TestDeadlineAtFollowsTheLevelsAsTheCaseMoves(t *testing.T) {
	p := Policy{ID: "p", Version: 1, Calendar: openEveryDay(), Levels: []Level{
		{Name: "lead", Targets: []Target{User("u1")}, Delay: Days(2), Condition: IfNotAcknowledged},
		{Name: "officer", Targets: []Target{User("u2")}, Delay: Days(3), Condition: IfNotAcknowledged},
		{Name: "overdue", Targets: []Target{User("u2")}, Delay: Days(30), From: FromAcknowledgment, Condition: IfNotResolved},
	}}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return start.AddDate(0, 0, n) }
	cases := []struct {
		name     string
		ackAt    time.Time
		resolved bool
		now      time.Time
		want     Deadline
	}{
		{"fresh", time.Time{}, false, day(1), Deadline{Next: "lead", NextDue: day(2)}},
		{"first level passed", time.Time{}, false, day(3), Deadline{Reached: "lead", Next: "officer", NextDue: day(5), Overdue: true, OverdueSince: day(2)}},
		// Unacknowledged past the acknowledgment levels: resolution counts from the last one's due time.
		{"all acknowledgment levels passed", time.Time{}, false, day(6), Deadline{Reached: "officer", Next: "overdue", NextDue: day(35), Overdue: true, OverdueSince: day(2)}},
		// Acknowledged in time: the acknowledgment levels cleared; resolution counts from the acknowledgment.
		{"acknowledged early", day(1), false, day(4), Deadline{Next: "overdue", NextDue: day(31)}},
		// Acknowledged late: the first level was reached, nothing is overdue now.
		{"acknowledged late", day(3), false, day(4), Deadline{Reached: "lead", Next: "overdue", NextDue: day(33)}},
		{"resolution late", day(1), false, day(40), Deadline{Reached: "overdue", Overdue: true, OverdueSince: day(31)}},
		{"resolved", day(1), true, day(40), Deadline{}},
	}
	sched, err := p.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		got := sched.DeadlineAt(start, c.ackAt, c.resolved, c.now)
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestPromiseAtNamesTheAcknowledgmentThenTheFeedback(t *testing.T) {
	p := Policy{ID: "p", Version: 1, Calendar: openEveryDay(), Levels: []Level{
		{Name: "lead", Targets: []Target{User("u1")}, Delay: Days(7), Condition: IfNotAcknowledged},
		{Name: "officer", Targets: []Target{User("u2")}, Delay: Days(3), Condition: IfNotAcknowledged},
		{Name: "feedback", Targets: []Target{User("u2")}, Delay: Days(90), From: FromAcknowledgment, Condition: IfNotResolved},
		{Name: "board", Targets: []Target{User("u3")}, Delay: Days(30), Condition: IfNotResolved},
	}}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return start.AddDate(0, 0, n) }
	cases := []struct {
		name     string
		ackAt    time.Time
		resolved bool
		now      time.Time
		want     Promise
		ok       bool
	}{
		{"fresh", time.Time{}, false, day(1), Promise{Awaiting: AwaitingAcknowledgment, DueBy: day(7)}, true},
		// The promise stays the first level's even after staff escalation began.
		{"acknowledgment late", time.Time{}, false, day(8), Promise{Awaiting: AwaitingAcknowledgment, DueBy: day(7), Overdue: true}, true},
		{"acknowledged", day(2), false, day(3), Promise{Awaiting: AwaitingFeedback, DueBy: day(92)}, true},
		{"feedback late", day(2), false, day(100), Promise{Awaiting: AwaitingFeedback, DueBy: day(92), Overdue: true}, true},
		{"acknowledged in the future is not yet", day(5), false, day(3), Promise{Awaiting: AwaitingAcknowledgment, DueBy: day(7)}, true},
		{"resolved", day(2), true, day(3), Promise{}, false},
	}
	sched, err := p.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		got, ok := sched.PromiseAt(start, c.ackAt, c.resolved, c.now)
		if ok != c.ok || !got.DueBy.Equal(c.want.DueBy) || got.Awaiting != c.want.Awaiting || got.Overdue != c.want.Overdue {
			t.Errorf("%s: PromiseAt = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
	empty := Policy{ID: "q", Version: 1, Calendar: p.Calendar, Levels: []Level{{Name: "lead", Targets: []Target{User("u1")}, Delay: Days(1), Condition: IfNotAcknowledged}}}
	if s, _ := empty.Schedule(); true {
		if _, ok := s.PromiseAt(start, day(0), false, day(1)); ok {
			t.Error("an acknowledged case under a policy without a resolution level is promised something")
		}
	}
}

// BenchmarkDeadlineAt is one case's clocks under the residency template
// (business days in New York), what the handlers' queue computes per case.
func BenchmarkDeadlineAt(b *testing.B) {
	s, err := ResidencyProgramDefault().Schedule()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 18, 30, 0, 0, time.UTC) // a Friday evening
	now := start.AddDate(0, 0, 4)
	b.ReportAllocs()
	for i := range b.N {
		s.DeadlineAt(start.Add(time.Duration(i%1000)*time.Minute), time.Time{}, false, now)
	}
}
