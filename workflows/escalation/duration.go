package escalation

import (
	"strconv"
	"time"
)

// Unit says how a Duration is counted.
type Unit string

// Units. Calendar units (days, months) keep the wall-clock time of day in the
// policy's time zone, so a day across a daylight-saving change is 23 or 25
// hours long. Business units count only working time of the policy's
// calendar; a business day is one working day's length of working time
// (8 hours for 09:00–17:00).
const (
	UnitSeconds       Unit = "seconds"
	UnitMinutes       Unit = "minutes"
	UnitHours         Unit = "hours"
	UnitDays          Unit = "days"
	UnitMonths        Unit = "months"
	UnitBusinessHours Unit = "business_hours"
	UnitBusinessDays  Unit = "business_days"
)

// maxAmount bounds each unit to about two years, so a typo cannot park a
// case for decades and the business-time walk stays short.
func (u Unit) maxAmount() (int, bool) {
	switch u {
	case UnitSeconds:
		return 2 * 365 * 24 * 3600, true
	case UnitMinutes:
		return 2 * 365 * 24 * 60, true
	case UnitHours:
		return 2 * 365 * 24, true
	case UnitDays:
		return 2 * 365, true
	case UnitMonths:
		return 24, true
	case UnitBusinessHours:
		return 2 * 260 * 24, true
	case UnitBusinessDays:
		return 2 * 260, true
	}
	return 0, false
}

// Duration is an amount of a unit, e.g. {2, business_days} or {3, months}.
// It is data: policies store it as {"amount": 2, "unit": "business_days"}.
type Duration struct {
	Amount int  `json:"amount"`
	Unit   Unit `json:"unit"`
}

// Constructors for the units.
func Seconds(n int) Duration       { return Duration{n, UnitSeconds} }
func Minutes(n int) Duration       { return Duration{n, UnitMinutes} }
func Hours(n int) Duration         { return Duration{n, UnitHours} }
func Days(n int) Duration          { return Duration{n, UnitDays} }
func Months(n int) Duration        { return Duration{n, UnitMonths} }
func BusinessHours(n int) Duration { return Duration{n, UnitBusinessHours} }
func BusinessDays(n int) Duration  { return Duration{n, UnitBusinessDays} }

// IsZero reports whether d is unset.
func (d Duration) IsZero() bool { return d == Duration{} }

// String renders d as "2 business_days".
func (d Duration) String() string { return strconv.Itoa(d.Amount) + " " + string(d.Unit) }

// problem names what is wrong with d as a positive duration; "" means fine.
func (d Duration) problem() string {
	max, known := d.Unit.maxAmount()
	switch {
	case d.Unit == "":
		return "unit is required"
	case !known:
		return "unknown unit " + strconv.Quote(string(d.Unit)) + " (seconds, minutes, hours, days, months, business_hours, business_days)"
	case d.Amount <= 0:
		return "must be positive"
	case d.Amount > max:
		return "at most " + strconv.Itoa(max) + " " + string(d.Unit)
	}
	return ""
}

// fixed returns d as an absolute duration when its unit is one.
func (d Duration) fixed() (time.Duration, bool) {
	switch d.Unit {
	case UnitSeconds:
		return time.Duration(d.Amount) * time.Second, true
	case UnitMinutes:
		return time.Duration(d.Amount) * time.Minute, true
	case UnitHours:
		return time.Duration(d.Amount) * time.Hour, true
	}
	return 0, false
}
