package escalation

import (
	"errors"
	"strconv"
	"time"

	// Workers run in minimal, non-root images that may carry no zoneinfo;
	// the embedded database keeps every policy's time zone loadable there.
	_ "time/tzdata"
)

// Weekday names a day of the week in a calendar.
type Weekday string

// Weekdays, as policies store them.
const (
	Monday    Weekday = "mon"
	Tuesday   Weekday = "tue"
	Wednesday Weekday = "wed"
	Thursday  Weekday = "thu"
	Friday    Weekday = "fri"
	Saturday  Weekday = "sat"
	Sunday    Weekday = "sun"
)

func (w Weekday) weekday() (time.Weekday, bool) {
	switch w {
	case Sunday:
		return time.Sunday, true
	case Monday:
		return time.Monday, true
	case Tuesday:
		return time.Tuesday, true
	case Wednesday:
		return time.Wednesday, true
	case Thursday:
		return time.Thursday, true
	case Friday:
		return time.Friday, true
	case Saturday:
		return time.Saturday, true
	}
	return 0, false
}

// MondayToFriday is the usual working week.
func MondayToFriday() []Weekday { return []Weekday{Monday, Tuesday, Wednesday, Thursday, Friday} }

// DateLayout is how calendars and delegations write dates: "2026-12-25".
const DateLayout = "2006-01-02"

// BusinessCalendar says when a department works: business durations count
// only this time. Every day in Workdays that is not a holiday is open from
// Start to End, wall-clock time in TimeZone. End may be "24:00".
type BusinessCalendar struct {
	TimeZone string    `json:"time_zone"` // IANA name, e.g. "America/New_York"
	Workdays []Weekday `json:"workdays"`
	Start    string    `json:"start"` // "09:00"
	End      string    `json:"end"`   // "17:00"
	Holidays []string  `json:"holidays,omitempty"`
}

// Clock is a compiled BusinessCalendar: pure functions from a time to a
// later time. Get one from BusinessCalendar.Clock; the zero Clock is open
// around the clock in UTC.
type Clock struct {
	loc      *time.Location
	workdays [7]bool
	open     int          // minutes after midnight
	close    int          // minutes after midnight, up to 24*60
	holidays map[int]bool // by dateKey
}

// Clock compiles c, reporting every problem with it at once.
func (c BusinessCalendar) Clock() (Clock, error) {
	if errs := c.validate("calendar"); len(errs) > 0 {
		return Clock{}, fieldErrors(errs)
	}
	loc, _ := time.LoadLocation(c.TimeZone)
	k := Clock{loc: loc, holidays: make(map[int]bool, len(c.Holidays))}
	k.open, _ = parseClockTime(c.Start)
	k.close, _ = parseClockTime(c.End)
	for _, w := range c.Workdays {
		d, _ := w.weekday()
		k.workdays[d] = true
	}
	for _, h := range c.Holidays {
		d, _ := time.Parse(DateLayout, h)
		k.holidays[dateKey(d)] = true
	}
	return k, nil
}

func (c BusinessCalendar) validate(prefix string) []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{prefix + "." + field, reason}) }
	if c.TimeZone == "" {
		add("time_zone", "required")
	} else if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
		add("time_zone", "unknown IANA time zone "+strconv.Quote(c.TimeZone))
	}
	if len(c.Workdays) == 0 {
		add("workdays", "at least one working day is required")
	}
	var seen [7]bool
	for i, w := range c.Workdays {
		d, ok := w.weekday()
		switch {
		case !ok:
			add("workdays["+strconv.Itoa(i)+"]", "unknown day "+strconv.Quote(string(w))+" (mon, tue, wed, thu, fri, sat, sun)")
		case seen[d]:
			add("workdays["+strconv.Itoa(i)+"]", "listed twice")
		default:
			seen[d] = true
		}
	}
	start, okStart := parseClockTime(c.Start)
	end, okEnd := parseClockTime(c.End)
	if !okStart || start == 24*60 {
		add("start", "must be a time of day HH:MM, e.g. 09:00")
	}
	if !okEnd {
		add("end", "must be a time of day HH:MM, e.g. 17:00, or 24:00")
	}
	if okStart && okEnd && start >= end {
		add("end", "must be after start")
	}
	dates := make(map[string]bool, len(c.Holidays))
	for i, h := range c.Holidays {
		field := "holidays[" + strconv.Itoa(i) + "]"
		if !validDate(h) {
			add(field, "must be a date YYYY-MM-DD")
		} else if dates[h] {
			add(field, "listed twice")
		}
		dates[h] = true
	}
	return errs
}

// parseClockTime reads "HH:MM" (00:00 to 24:00) as minutes after midnight.
func parseClockTime(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[3] == '+' || h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, false
	}
	return h*60 + m, true
}

func validDate(s string) bool {
	t, err := time.Parse(DateLayout, s)
	return err == nil && t.Format(DateLayout) == s
}

func (k Clock) location() *time.Location {
	if k.loc == nil {
		return time.UTC
	}
	return k.loc
}

func (k Clock) alwaysOpen() bool { return k.loc == nil }

// Location is the calendar's time zone.
func (k Clock) Location() *time.Location { return k.location() }

// WorkingDay is the length of one working day: what a business day counts.
func (k Clock) WorkingDay() time.Duration {
	if k.alwaysOpen() {
		return 24 * time.Hour
	}
	return time.Duration(k.close-k.open) * time.Minute
}

// IsBusinessDay reports whether the calendar date of t (in the calendar's
// time zone) is a working day and not a holiday.
func (k Clock) IsBusinessDay(t time.Time) bool {
	y, m, d := t.In(k.location()).Date()
	return k.isWorkdate(civilDate(y, m, d))
}

// IsBusinessTime reports whether t falls in working hours on a business day
// (opening time included, closing time excluded).
func (k Clock) IsBusinessTime(t time.Time) bool {
	if k.alwaysOpen() {
		return true
	}
	t = t.In(k.loc)
	y, m, d := t.Date()
	day := civilDate(y, m, d)
	if !k.isWorkdate(day) {
		return false
	}
	open, close := k.hours(day)
	return !t.Before(open) && t.Before(close)
}

// AddBusiness returns the instant at which d of working time has passed
// after t. Time outside working hours, on non-working days and on holidays
// does not count; working time is real elapsed time, so a daylight-saving
// change inside working hours shortens or lengthens that day. A result
// that uses up a day exactly is that day's closing time, not the next
// opening. A non-positive d returns t.
func (k Clock) AddBusiness(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	if k.alwaysOpen() {
		return t.Add(d)
	}
	t = t.In(k.loc)
	y, m, dd := t.Date()
	// Walk civil dates, not instants: midnight does not exist in every
	// zone on every day, but every date does. A civil date is midnight UTC,
	// so the next one is 24 hours later.
	for day := civilDate(y, m, dd); ; day = day.Add(24 * time.Hour) {
		if !k.isWorkdate(day) {
			continue
		}
		open, close := k.hours(day)
		start := t
		if start.Before(open) {
			start = open
		}
		if !start.Before(close) {
			continue
		}
		if avail := close.Sub(start); d > avail {
			d -= avail
			continue
		}
		return start.Add(d)
	}
}

// Add returns t plus d: absolute units add real time, days and months move
// the calendar date keeping the wall-clock time (a month from 31 January is
// the last day of February), business units count working time.
func (k Clock) Add(t time.Time, d Duration) time.Time {
	if fixed, ok := d.fixed(); ok {
		return t.Add(fixed)
	}
	loc := k.location()
	switch d.Unit {
	case UnitDays:
		return t.In(loc).AddDate(0, 0, d.Amount)
	case UnitMonths:
		return addMonths(t.In(loc), d.Amount)
	case UnitBusinessHours:
		return k.AddBusiness(t, time.Duration(d.Amount)*time.Hour)
	case UnitBusinessDays:
		return k.AddBusiness(t, time.Duration(d.Amount)*k.WorkingDay())
	}
	return t
}

// addMonths moves t by n calendar months, clamping the day to the target
// month's last day.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	hh, mm, ss := t.Clock()
	return time.Date(first.Year(), first.Month(), d, hh, mm, ss, t.Nanosecond(), t.Location())
}

// civilDate is a calendar date carried as midnight UTC.
func civilDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func (k Clock) isWorkdate(day time.Time) bool {
	if k.alwaysOpen() {
		return true
	}
	return k.workdays[day.Weekday()] && (len(k.holidays) == 0 || !k.holidays[dateKey(day)])
}

// dateKey names a civil date as yyyymmdd.
func dateKey(day time.Time) int {
	y, m, d := day.Date()
	return y*10000 + int(m)*100 + d
}

// hours returns the opening and closing instants of a civil date.
func (k Clock) hours(day time.Time) (open, close time.Time) {
	y, m, d := day.Date()
	open = time.Date(y, m, d, 0, k.open, 0, 0, k.loc)
	// The closing instant is the opening plus the working day unless the
	// zone's offset changes in between (a daylight-saving day).
	close = open.Add(time.Duration(k.close-k.open) * time.Minute)
	_, before := open.Zone()
	if _, after := close.Zone(); before != after {
		close = time.Date(y, m, d, 0, k.close, 0, 0, k.loc)
	}
	return open, close
}

// fieldErrors joins problems into one error.
func fieldErrors(errs []FieldError) error {
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
