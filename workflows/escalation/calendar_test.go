package escalation_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/workflows/escalation"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// wall parses "2006-01-02 15:04" in loc.
func wall(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustClock(t testing.TB, c escalation.BusinessCalendar) escalation.Clock {
	t.Helper()
	k, err := c.Clock()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newYork works 09:00–17:00 on weekdays with Labor Day, Thanksgiving and
// Christmas 2026 off.
func newYork() escalation.BusinessCalendar {
	return escalation.BusinessCalendar{
		TimeZone: "America/New_York",
		Workdays: escalation.MondayToFriday(),
		Start:    "09:00",
		End:      "17:00",
		Holidays: []string{"2026-09-07", "2026-11-26", "2026-12-25"},
	}
}

func TestAddBusinessTime(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	k := mustClock(t, newYork())
	eu := mustClock(t, escalation.BusinessCalendar{TimeZone: "Europe/Berlin", Workdays: escalation.MondayToFriday(), Start: "09:00", End: "17:00"})
	cases := []struct {
		name  string
		clock escalation.Clock
		from  time.Time
		add   escalation.Duration
		want  time.Time
	}{
		{"within a day", k, wall(t, ny, "2026-06-09 10:00"), escalation.BusinessHours(3), wall(t, ny, "2026-06-09 13:00")},
		{"past closing into the next morning", k, wall(t, ny, "2026-06-09 15:00"), escalation.BusinessHours(3), wall(t, ny, "2026-06-10 10:00")},
		{"using up a day ends at closing", k, wall(t, ny, "2026-06-09 15:00"), escalation.BusinessHours(2), wall(t, ny, "2026-06-09 17:00")},
		{"before opening starts at opening", k, wall(t, ny, "2026-06-09 07:00"), escalation.BusinessHours(1), wall(t, ny, "2026-06-09 10:00")},
		{"after closing starts next morning", k, wall(t, ny, "2026-06-09 18:00"), escalation.BusinessHours(1), wall(t, ny, "2026-06-10 10:00")},
		{"Friday to Monday over a weekend", k, wall(t, ny, "2026-06-12 16:00"), escalation.BusinessHours(2), wall(t, ny, "2026-06-15 10:00")},
		{"from a Saturday", k, wall(t, ny, "2026-06-13 12:00"), escalation.BusinessHours(1), wall(t, ny, "2026-06-15 10:00")},
		{"weekend then a Monday holiday", k, wall(t, ny, "2026-09-04 16:00"), escalation.BusinessHours(2), wall(t, ny, "2026-09-08 10:00")},
		{"a Friday holiday then the weekend", k, wall(t, ny, "2026-12-24 16:00"), escalation.BusinessHours(2), wall(t, ny, "2026-12-28 10:00")},
		{"Thanksgiving in a business day count", k, wall(t, ny, "2026-11-25 10:00"), escalation.BusinessDays(1), wall(t, ny, "2026-11-27 10:00")},
		{"spring forward over the weekend", k, wall(t, ny, "2026-03-06 15:00"), escalation.BusinessHours(4), wall(t, ny, "2026-03-09 11:00")},
		{"fall back over the weekend", k, wall(t, ny, "2026-10-30 15:00"), escalation.BusinessHours(4), wall(t, ny, "2026-11-02 11:00")},
		{"two business days keep the time of day", k, wall(t, ny, "2026-06-08 10:00"), escalation.BusinessDays(2), wall(t, ny, "2026-06-10 10:00")},
		{"two business days from a Friday night end Tuesday at closing", k, wall(t, ny, "2026-06-12 20:00"), escalation.BusinessDays(2), wall(t, ny, "2026-06-16 17:00")},
		{"Berlin spring forward", eu, wall(t, berlin, "2026-03-27 16:00"), escalation.BusinessDays(2), wall(t, berlin, "2026-03-31 16:00")},
		{"input in another zone", k, wall(t, ny, "2026-06-09 15:00").UTC(), escalation.BusinessHours(3), wall(t, ny, "2026-06-10 10:00")},
		{"calendar days keep the wall clock across spring forward", k, wall(t, ny, "2026-03-07 12:00"), escalation.Days(1), wall(t, ny, "2026-03-08 12:00")},
		{"calendar days ignore weekends and holidays", k, wall(t, ny, "2026-12-24 12:00"), escalation.Days(7), wall(t, ny, "2026-12-31 12:00")},
		{"a month from 31 January is the end of February", k, wall(t, ny, "2026-01-31 10:00"), escalation.Months(1), wall(t, ny, "2026-02-28 10:00")},
		{"leap year February", k, wall(t, ny, "2028-01-31 10:00"), escalation.Months(1), wall(t, ny, "2028-02-29 10:00")},
		{"months over a year end", k, wall(t, ny, "2026-11-30 10:00"), escalation.Months(3), wall(t, ny, "2027-02-28 10:00")},
		{"months keep the wall clock across DST", k, wall(t, ny, "2026-02-15 10:00"), escalation.Months(1), wall(t, ny, "2026-03-15 10:00")},
		{"hours are real time", k, wall(t, ny, "2026-03-07 12:00"), escalation.Hours(24), wall(t, ny, "2026-03-08 13:00")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.clock.Add(c.from, c.add)
			if !got.Equal(c.want) {
				t.Fatalf("%s + %s = %s, want %s", c.from, c.add, got.In(c.want.Location()), c.want)
			}
		})
	}
}

func TestSpringForwardShortensRealElapsedTime(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	k := mustClock(t, newYork())
	from := wall(t, ny, "2026-03-06 15:00") // EST, UTC-5
	got := k.AddBusiness(from, 4*time.Hour)
	if want := time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC); !got.Equal(want) { // 11:00 EDT
		t.Fatalf("got %s, want %s", got.UTC(), want)
	}
	if real := got.Sub(from); real != 67*time.Hour {
		t.Fatalf("real elapsed %s, want 67h: the weekend lost an hour", real)
	}
}

func TestAlwaysOpenCalendarCountsRealTimeThroughDSTDays(t *testing.T) {
	week := []escalation.Weekday{escalation.Monday, escalation.Tuesday, escalation.Wednesday, escalation.Thursday, escalation.Friday, escalation.Saturday, escalation.Sunday}
	for _, zone := range []string{"America/New_York", "Europe/Berlin", "America/Santiago", "UTC"} {
		t.Run(zone, func(t *testing.T) {
			loc := mustLoc(t, zone)
			k := mustClock(t, escalation.BusinessCalendar{TimeZone: zone, Workdays: week, Start: "00:00", End: "24:00"})
			// Santiago's clocks jump at midnight on 6 September 2026: that
			// midnight does not exist.
			for _, s := range []string{"2026-03-07 12:00", "2026-03-28 12:00", "2026-09-05 12:00", "2026-10-31 12:00", "2026-04-04 12:00"} {
				from := wall(t, loc, s)
				for _, d := range []time.Duration{time.Hour, 13 * time.Hour, 24 * time.Hour, 49*time.Hour + 30*time.Minute} {
					if got, want := k.AddBusiness(from, d), from.Add(d); !got.Equal(want) {
						t.Errorf("%s + %s = %s, want %s", from, d, got, want)
					}
				}
			}
		})
	}
}

// businessBetween counts working minutes from a to b by walking minute by
// minute, independently of AddBusiness.
func businessBetween(k escalation.Clock, a, b time.Time) time.Duration {
	var n time.Duration
	for m := a; m.Before(b); m = m.Add(time.Minute) {
		if k.IsBusinessTime(m) {
			n += time.Minute
		}
	}
	return n
}

func TestAddBusinessAgreesWithAMinuteByMinuteWalk(t *testing.T) {
	k := mustClock(t, newYork())
	ny := k.Location()
	r := rand.New(rand.NewPCG(1, 2))
	// Around the holidays and both DST changes of 2026.
	origins := []time.Time{wall(t, ny, "2026-03-05 00:00"), wall(t, ny, "2026-09-03 00:00"), wall(t, ny, "2026-10-29 00:00"), wall(t, ny, "2026-11-24 00:00"), wall(t, ny, "2026-12-22 00:00")}
	for i := 0; i < 60; i++ {
		from := origins[i%len(origins)].Add(time.Duration(r.IntN(6*24*60)) * time.Minute)
		d := time.Duration(1+r.IntN(3*8*60)) * time.Minute
		got := k.AddBusiness(from, d)
		if counted := businessBetween(k, from, got); counted != d {
			t.Fatalf("AddBusiness(%s, %s) = %s, but %s of working time lies between", from, d, got, counted)
		}
		if !k.IsBusinessTime(got.Add(-time.Minute)) {
			t.Fatalf("AddBusiness(%s, %s) = %s does not end working time", from, d, got)
		}
		// Adding in two parts is adding the sum.
		part := time.Duration(r.IntN(int(d/time.Minute)+1)) * time.Minute
		if two := k.AddBusiness(k.AddBusiness(from, part), d-part); !two.Equal(got) {
			t.Fatalf("AddBusiness in parts %s+%s = %s, at once %s", part, d-part, two, got)
		}
	}
}

func TestIsBusinessTime(t *testing.T) {
	k := mustClock(t, newYork())
	ny := k.Location()
	cases := map[string]bool{
		"2026-06-09 09:00": true,  // opening counts
		"2026-06-09 16:59": true,  //
		"2026-06-09 17:00": false, // closing does not
		"2026-06-09 08:59": false,
		"2026-06-13 12:00": false, // Saturday
		"2026-12-25 12:00": false, // holiday
		"2026-03-09 09:30": true,  // first weekday after spring forward
	}
	for s, want := range cases {
		if got := k.IsBusinessTime(wall(t, ny, s)); got != want {
			t.Errorf("IsBusinessTime(%s) = %v, want %v", s, got, want)
		}
	}
	if k.IsBusinessDay(wall(t, ny, "2026-09-07 12:00")) {
		t.Error("Labor Day is a business day")
	}
	// 2026-12-26 02:00 UTC is still Christmas evening in New York.
	if k.IsBusinessDay(time.Date(2026, 12, 26, 2, 0, 0, 0, time.UTC)) {
		t.Error("the holiday is not judged in the calendar's time zone")
	}
	if k.WorkingDay() != 8*time.Hour {
		t.Errorf("working day %s", k.WorkingDay())
	}
}

func TestZeroClockIsAlwaysOpenUTC(t *testing.T) {
	var k escalation.Clock
	from := time.Date(2026, 6, 13, 12, 0, 0, 0, time.UTC)
	if got := k.AddBusiness(from, 30*time.Hour); !got.Equal(from.Add(30 * time.Hour)) {
		t.Fatalf("zero clock: %s", got)
	}
	if got := k.Add(from, escalation.BusinessDays(1)); !got.Equal(from.Add(24 * time.Hour)) {
		t.Fatalf("zero clock business day: %s", got)
	}
	if k.Location() != time.UTC {
		t.Fatal("zero clock not in UTC")
	}
}

func TestCalendarValidation(t *testing.T) {
	cases := []struct {
		name   string
		change func(*escalation.BusinessCalendar)
		field  string
	}{
		{"missing zone", func(c *escalation.BusinessCalendar) { c.TimeZone = "" }, "calendar.time_zone"},
		{"unknown zone", func(c *escalation.BusinessCalendar) { c.TimeZone = "Mars/Olympus_Mons" }, "calendar.time_zone"},
		{"host zone", func(c *escalation.BusinessCalendar) { c.TimeZone = "Local" }, "calendar.time_zone"},
		{"no workdays", func(c *escalation.BusinessCalendar) { c.Workdays = nil }, "calendar.workdays"},
		{"unknown day", func(c *escalation.BusinessCalendar) { c.Workdays = []escalation.Weekday{"monday"} }, "calendar.workdays[0]"},
		{"day twice", func(c *escalation.BusinessCalendar) { c.Workdays = []escalation.Weekday{"mon", "mon"} }, "calendar.workdays[1]"},
		{"short start", func(c *escalation.BusinessCalendar) { c.Start = "9:00" }, "calendar.start"},
		{"start at 24:00", func(c *escalation.BusinessCalendar) { c.Start = "24:00"; c.End = "24:00" }, "calendar.start"},
		{"minutes out of range", func(c *escalation.BusinessCalendar) { c.End = "17:60" }, "calendar.end"},
		{"end before start", func(c *escalation.BusinessCalendar) { c.End = "08:00" }, "calendar.end"},
		{"bad holiday", func(c *escalation.BusinessCalendar) { c.Holidays = []string{"2026-2-3"} }, "calendar.holidays[0]"},
		{"impossible holiday", func(c *escalation.BusinessCalendar) { c.Holidays = []string{"2026-02-30"} }, "calendar.holidays[0]"},
		{"holiday twice", func(c *escalation.BusinessCalendar) { c.Holidays = []string{"2026-12-25", "2026-12-25"} }, "calendar.holidays[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cal := newYork()
			c.change(&cal)
			_, err := cal.Clock()
			if err == nil || !strings.Contains(err.Error(), c.field+":") {
				t.Fatalf("want a problem with %s, got %v", c.field, err)
			}
		})
	}
	ok := newYork()
	ok.End = "24:00"
	if _, err := ok.Clock(); err != nil {
		t.Fatalf("24:00 closing rejected: %v", err)
	}
}
