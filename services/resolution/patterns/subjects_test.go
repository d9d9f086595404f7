package patterns

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func named(id, caseID, reporter, dept string, at time.Time, subjects ...string) Observation {
	return Observation{EventID: id, CaseID: caseID, Department: dept, Category: "racism", At: at, Reporter: reporter, Subjects: subjects}
}

func TestRepeatSubjectsSameReporterNeverMatches(t *testing.T) {
	e := mustNew(t, Options{})
	e.Observe(named("e1", "c1", "rep-a", "icu", weekTime(1), "subj-x"))
	e.Observe(named("e2", "c2", "rep-a", "er", weekTime(2), "subj-x", "subj-x"))
	if got := e.RepeatSubjects(); len(got) != 0 {
		t.Fatalf("one reporter twice matched: %+v", got)
	}
}

func TestRepeatSubjectsDistinctReporters(t *testing.T) {
	e := mustNew(t, Options{})
	e.Observe(named("e1", "c1", "rep-a", "icu", weekTime(3), "subj-x", "subj-y"))
	e.Observe(named("e2", "c2", "rep-b", "er", weekTime(1), "subj-x"))
	e.Observe(named("e3", "c3", "rep-a", "icu", weekTime(5), "subj-x"))
	got := e.RepeatSubjects()
	if len(got) != 1 {
		t.Fatalf("matches = %+v, want one", got)
	}
	m := got[0]
	want := SubjectMatch{
		ID: subjectID("subj-x"), Reports: 3, DistinctReporters: 2, AnonymousReports: 0,
		Cases: []string{"c1", "c2", "c3"}, Departments: []string{"er", "icu"},
		First: weekTime(1), Last: weekTime(5),
	}
	if m.ID != want.ID || m.Reports != want.Reports || m.DistinctReporters != want.DistinctReporters ||
		m.AnonymousReports != want.AnonymousReports || !slices.Equal(m.Cases, want.Cases) ||
		!slices.Equal(m.Departments, want.Departments) || !m.First.Equal(want.First) || !m.Last.Equal(want.Last) {
		t.Fatalf("match = %+v, want %+v", m, want)
	}
	if strings.Contains(m.ID, "subj-x") {
		t.Errorf("match ID %q exposes the subject hash", m.ID)
	}
}

func TestRepeatSubjectsAnonymous(t *testing.T) {
	e := mustNew(t, Options{})
	e.Observe(named("e1", "c1", "", "icu", weekTime(1), "subj-x"))
	// A follow-up in the same anonymous case is the same reporter.
	e.Observe(named("e2", "c1", "", "icu", weekTime(2), "subj-x"))
	if got := e.RepeatSubjects(); len(got) != 0 {
		t.Fatalf("one anonymous case matched itself: %+v", got)
	}
	e.Observe(named("e3", "c2", "rep-a", "icu", weekTime(3), "subj-x"))
	got := e.RepeatSubjects()
	if len(got) != 1 || got[0].DistinctReporters != 2 || got[0].AnonymousReports != 2 || got[0].Reports != 3 {
		t.Fatalf("anonymous + named = %+v, want 2 reporters, 2 anonymous reports, 3 reports", got)
	}

	// Anonymous reports in different cases are distinct reporters.
	e2 := mustNew(t, Options{})
	e2.Observe(named("a1", "c1", "", "icu", weekTime(1), "subj-y"))
	e2.Observe(named("a2", "c2", "rep-b", "icu", weekTime(1), "subj-y"))
	got = e2.RepeatSubjects()
	if len(got) != 1 || got[0].AnonymousReports != 1 || got[0].DistinctReporters != 2 {
		t.Fatalf("anonymous + named = %+v, want AnonymousReports 1, DistinctReporters 2", got)
	}
}

func TestRepeatSubjectsIdempotent(t *testing.T) {
	e := mustNew(t, Options{})
	obs := []Observation{
		named("e1", "c1", "rep-a", "icu", weekTime(1), "subj-x"),
		named("e2", "c2", "rep-b", "icu", weekTime(2), "subj-x"),
	}
	for _, o := range obs {
		if !e.Observe(o) {
			t.Fatalf("%s not applied", o.EventID)
		}
	}
	before, fp := e.RepeatSubjects(), e.Fingerprint()
	for _, o := range obs {
		if e.Observe(o) {
			t.Fatalf("duplicate %s applied", o.EventID)
		}
	}
	after := e.RepeatSubjects()
	if len(after) != 1 || after[0].Reports != 2 || after[0].Reports != before[0].Reports || e.Fingerprint() != fp || e.Len() != 2 {
		t.Fatalf("re-observing changed state: before %+v, after %+v, len %d", before, after, e.Len())
	}
}

func TestRepeatSubjectsOrder(t *testing.T) {
	e := mustNew(t, Options{})
	e.Observe(named("e1", "c1", "rep-a", "icu", weekTime(1), "few", "many"))
	e.Observe(named("e2", "c2", "rep-b", "icu", weekTime(1), "few", "many"))
	e.Observe(named("e3", "c3", "rep-c", "icu", weekTime(1), "many"))
	got := e.RepeatSubjects()
	if len(got) != 2 || got[0].ID != subjectID("many") || got[1].ID != subjectID("few") {
		t.Fatalf("order = %+v, want most reporters first", got)
	}
}
