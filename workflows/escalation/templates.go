package escalation

// Role names used by the templates. They are the platform's authorization
// roles; the service resolves each to the people who hold it in the case's
// department.
const (
	RoleResolver        = "resolver"         // designated case handlers
	RoleProgramDirector = "program_director" // residency or fellowship program director
	RoleDEIOfficer      = "dei_officer"
	RoleDepartmentLead  = "department_lead" // department chair
)

// EUWhistleblowingDirective is a ready policy for the clocks of Directive
// (EU) 2019/1937, art. 9(1)(b) and (f): acknowledge receipt within seven
// days, give feedback within three months of the acknowledgment (or, when
// none was sent, of the end of the seven days).
//
//   - acknowledgment-reminder, day 5: the handlers, two days before the
//     limit, so acknowledging in time is the normal path.
//   - acknowledgment-overdue, day 7: the limit has passed; the DEI officer
//     and the handlers, then daily for up to six more days.
//   - feedback-reminder, two months from the acknowledgment: the handlers,
//     a month before the limit.
//   - feedback-overdue, three months from the acknowledgment: the DEI
//     officer and the department lead, then weekly for four more weeks.
//
// Clocks are calendar days and months, as in the Directive, not business
// days. The workflow has no separate "feedback given" signal: resolving
// the case is what stops the feedback levels, so a handler who gave
// interim feedback but has not resolved will still see them fire.
// Adopters set Department, Calendar.TimeZone (Europe/Brussels here) and
// the site's holidays, and raise Version on every change.
func EUWhistleblowingDirective() Policy {
	return Policy{
		ID:      "eu-whistleblowing-2019-1937",
		Version: 1,
		Calendar: BusinessCalendar{
			TimeZone: "Europe/Brussels",
			Workdays: MondayToFriday(),
			Start:    "09:00",
			End:      "17:00",
		},
		Levels: []Level{
			{
				Name:      "acknowledgment-reminder",
				Targets:   []Target{Role(RoleResolver)},
				Delay:     Days(5),
				Condition: IfNotAcknowledged,
			},
			{
				Name:        "acknowledgment-overdue",
				Targets:     []Target{Role(RoleDEIOfficer), Role(RoleResolver)},
				Delay:       Days(2),
				Condition:   IfNotAcknowledged,
				Repeat:      6,
				RepeatEvery: Days(1),
			},
			{
				Name:      "feedback-reminder",
				Targets:   []Target{Role(RoleResolver)},
				Delay:     Months(2),
				From:      FromAcknowledgment,
				Condition: IfNotResolved,
			},
			{
				Name:        "feedback-overdue",
				Targets:     []Target{Role(RoleDEIOfficer), Role(RoleDepartmentLead)},
				Delay:       Months(3),
				From:        FromAcknowledgment,
				Condition:   IfNotResolved,
				Repeat:      4,
				RepeatEvery: Days(7),
			},
		},
		Checkins: RetaliationCheckins{Offsets: DefaultCheckinOffsets(), ResponseWindow: DefaultResponseWindow()},
	}
}

// ResidencyProgramDefault is a ready policy for a residency or fellowship
// program. No statute sets these clocks; they are choices:
//
//   - program-director, 2 business days without acknowledgment: the
//     program director, who is accountable for the learning environment
//     (reminded once a business day later).
//   - dei-officer, 2 more business days (4 in all): the DEI officer, who
//     is outside the program's reporting line (reminded twice, daily).
//   - department-chair, 3 more business days (7 in all, usually a
//     little over a calendar week): the department chair.
//   - resolution-overdue, 30 business days (about six weeks) from the
//     acknowledgment, or from the end of the acknowledgment levels: the
//     program director and the DEI officer, and once more 5 business
//     days later.
//   - resolution-chair, 10 more business days: the department chair.
//
// Business days, because handlers are program staff who work weekdays and
// a case reported on Friday night should not be "late" on Sunday. Every
// level is filtered for conflicts of interest: when the program director
// is in the reported person's supervisory chain, the first level reaches
// no one (the service alerts its fallback) and the DEI officer follows two
// business days later. Adopters set Department, Calendar.TimeZone
// (America/New_York here) and holidays, and raise Version on every change.
func ResidencyProgramDefault() Policy {
	return Policy{
		ID:      "residency-program-default",
		Version: 1,
		Calendar: BusinessCalendar{
			TimeZone: "America/New_York",
			Workdays: MondayToFriday(),
			Start:    "09:00",
			End:      "17:00",
		},
		Levels: []Level{
			{
				Name:        "program-director",
				Targets:     []Target{Role(RoleProgramDirector)},
				Delay:       BusinessDays(2),
				Condition:   IfNotAcknowledged,
				Repeat:      1,
				RepeatEvery: BusinessDays(1),
			},
			{
				Name:        "dei-officer",
				Targets:     []Target{Role(RoleDEIOfficer)},
				Delay:       BusinessDays(2),
				Condition:   IfNotAcknowledged,
				Repeat:      2,
				RepeatEvery: BusinessDays(1),
			},
			{
				Name:      "department-chair",
				Targets:   []Target{Role(RoleDepartmentLead)},
				Delay:     BusinessDays(3),
				Condition: IfNotAcknowledged,
			},
			{
				Name:        "resolution-overdue",
				Targets:     []Target{Role(RoleProgramDirector), Role(RoleDEIOfficer)},
				Delay:       BusinessDays(30),
				From:        FromAcknowledgment,
				Condition:   IfNotResolved,
				Repeat:      1,
				RepeatEvery: BusinessDays(5),
			},
			{
				Name:      "resolution-chair",
				Targets:   []Target{Role(RoleDepartmentLead)},
				Delay:     BusinessDays(10),
				Condition: IfNotResolved,
			},
		},
		Checkins: RetaliationCheckins{Offsets: DefaultCheckinOffsets(), ResponseWindow: DefaultResponseWindow()},
	}
}
