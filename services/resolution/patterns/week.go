package patterns

import (
	"fmt"
	"time"
)

// week numbers ISO weeks: week 0 starts on Monday 1969-12-29 00:00 UTC.
// A plain integer keeps map keys small and makes window arithmetic trivial.
type week int32

const secondsPerDay = 86400

// weekOf returns the ISO week (UTC) containing t.
func weekOf(t time.Time) week {
	days := floorDiv(t.Unix(), secondsPerDay)
	// 1970-01-01 was a Thursday, three days after the Monday that starts week 0.
	return week(floorDiv(days+3, 7))
}

// start is Monday 00:00 UTC of w.
func (w week) start() time.Time {
	return time.Unix((int64(w)*7-3)*secondsPerDay, 0).UTC()
}

// label is the ISO week as "2006-W01".
func (w week) label() string {
	y, n := w.start().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, n)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
