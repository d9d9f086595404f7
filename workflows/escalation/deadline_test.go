package escalation

import (
	"testing"
	"time"
)

func TestDeadlineAtFollowsTheLevelsAsTheCaseMoves(t *testing.T) {
	every := []Weekday{Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday}
	p := Policy{ID: "p", Version: 1, Calendar: BusinessCalendar{TimeZone: "UTC", Workdays: every, Start: "00:00", End: "24:00"}, Levels: []Level{
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
