package patterns

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	e := mustNew(t, Options{})
	want := Options{MinCellSize: 5, Window: 4, BaselineWeeks: 26, Threshold: 10, Alpha: 0.001, MinRiseCount: 3, MinBaselineWeeks: 8}
	if got := e.Options(); got != want {
		t.Fatalf("effective options = %+v, want %+v", got, want)
	}
}

func TestOptionsValidateNamesEveryField(t *testing.T) {
	err := Options{MinCellSize: 1, Window: -1, BaselineWeeks: -2, Threshold: -3, Alpha: 1.5, MinRiseCount: -4, MinBaselineWeeks: 27}.Validate()
	if err == nil {
		t.Fatal("Validate accepted invalid options")
	}
	for _, field := range []string{"MinCellSize", "Window", "BaselineWeeks", "Threshold", "Alpha", "MinRiseCount", "MinBaselineWeeks"} {
		if !strings.Contains(err.Error(), "Options."+field) {
			t.Errorf("error does not name Options.%s: %v", field, err)
		}
	}
	if _, err := New(Options{Window: -1}); err == nil {
		t.Error("New accepted an invalid option")
	}
}

func TestWeekBucketsAreISOWeeksUTC(t *testing.T) {
	cases := []struct {
		at    time.Time
		label string
	}{
		{time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC), "2025-W01"},
		{time.Date(2021, 1, 3, 23, 59, 59, 0, time.UTC), "2020-W53"},
		{time.Date(2021, 1, 4, 0, 0, 0, 0, time.UTC), "2021-W01"},
		// 00:30 on a Monday in UTC+2 is still Sunday in UTC.
		{time.Date(2021, 1, 4, 0, 30, 0, 0, time.FixedZone("UTC+2", 2*3600)), "2020-W53"},
		{time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC), "1970-W01"},
		{time.Date(1969, 12, 28, 12, 0, 0, 0, time.UTC), "1969-W52"},
	}
	for _, c := range cases {
		w := weekOf(c.at)
		if got := w.label(); got != c.label {
			t.Errorf("weekOf(%v).label() = %s, want %s", c.at, got, c.label)
		}
		if s := w.start(); s.Weekday() != time.Monday || s.After(c.at) || !c.at.Before(s.AddDate(0, 0, 7)) {
			t.Errorf("week start %v does not bound %v", s, c.at)
		}
	}
}
