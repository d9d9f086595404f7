package patterns

import (
	"testing"
	"time"
)

func TestObserveRejectsUnusableObservations(t *testing.T) {
	e := mustNew(t, Options{})
	if e.Observe(Observation{At: weekTime(0), Department: "icu"}) {
		t.Error("applied an observation without EventID (cannot be deduplicated)")
	}
	if e.Observe(Observation{EventID: "e1", Department: "icu"}) {
		t.Error("applied an observation without At (cannot be bucketed)")
	}
	if e.Len() != 0 || e.Fingerprint() != mustNew(t, Options{}).Fingerprint() {
		t.Error("rejected observations changed state")
	}
}

func TestObserveRolesCountOncePerDistinctRole(t *testing.T) {
	e := mustNew(t, Options{})
	at := weekTime(0).Add(time.Hour)
	e.Observe(Observation{EventID: "e1", Department: "icu", Category: "racism", At: at, Roles: []string{"nurse", "attending", "nurse", ""}})
	e.Observe(Observation{EventID: "e2", Department: "icu", Category: "racism", At: at})
	e.Observe(Observation{EventID: "e3", At: at, Roles: []string{""}})

	byRole, err := e.Table(Query{Rows: DimRole, Cols: DimDepartment})
	if err != nil {
		t.Fatal(err)
	}
	// k = 5 would hide everything here; read the raw aggregates instead.
	w := weekOf(at)
	for k, want := range map[roleKey]int{
		{"icu", "racism", "nurse", w}:         1,
		{"icu", "racism", "attending", w}:     1,
		{"icu", "racism", Unknown, w}:         1,
		{Unknown, Unknown, Unknown, w}:        1,
		{"icu", "racism", "", w}:              0,
		{Unknown, Unknown, "", w}:             0,
		{"icu", "racism", "nurse", w + 1}:     0,
		{"icu", "racism", "attending", w - 1}: 0,
	} {
		if got := e.roles[k]; got != want {
			t.Errorf("roles[%+v] = %d, want %d", k, got, want)
		}
	}
	if got := e.series[seriesKey{"icu", "racism"}].weeks[w]; got != 2 {
		t.Errorf("report count = %d, want 2", got)
	}
	if len(byRole.Rows) != 3 || byRole.Rows[0] != "attending" {
		t.Errorf("role rows = %v", byRole.Rows)
	}
}

func TestObserveDoesNotRetainCallerSlices(t *testing.T) {
	e := mustNew(t, Options{})
	roles, subjects := []string{"nurse"}, []string{"subj-a"}
	e.Observe(Observation{EventID: "e1", CaseID: "c1", Reporter: "r1", At: weekTime(0), Roles: roles, Subjects: subjects})
	fp := e.Fingerprint()
	roles[0], subjects[0] = "patient", "subj-b"
	if e.Fingerprint() != fp {
		t.Fatal("mutating the caller's slices changed engine state")
	}
}
