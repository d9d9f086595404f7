package patterns

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// testStart is a Monday (ISO 2025-W02); week i of test data starts 7·i days later.
var testStart = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

func weekTime(i int) time.Time { return testStart.AddDate(0, 0, 7*i) }

var testCategories = []string{
	"racism", "microaggression", "discrimination", "harassment",
	"exclusion", "bias-in-care", "slur", "other",
}

var testRoles = []string{"attending", "resident", "nurse", "patient", "visitor"}

func deptName(i int) string { return fmt.Sprintf("dept-%02d", i) }

func mustNew(t testing.TB, o Options) *Engine {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// poissonDraw samples Poisson(mean) by Knuth's product method; the means
// used in tests are small enough for it to be exact and quick.
func poissonDraw(r *rand.Rand, mean float64) int {
	limit, p, n := math.Exp(-mean), 1.0, 0
	for {
		p *= r.Float64()
		if p <= limit {
			return n
		}
		n++
	}
}

// report builds an observation with the fields most tests need.
func report(id, dept, cat string, at time.Time) Observation {
	return Observation{EventID: id, CaseID: "case-" + id, Department: dept, Category: cat, At: at}
}

// synth generates the deterministic benchmark stream: reports spread
// evenly over 30 departments × 8 categories × 52 weeks, each naming two
// roles; every fifth names a subject from a pool of 20,000, half of those
// anonymously. Strings come from precomputed pools so generating a report
// costs little next to observing it.
type synth struct {
	depts, subjects, reporters []string
}

func newSynth() *synth {
	s := &synth{}
	for d := range 30 {
		s.depts = append(s.depts, deptName(d))
	}
	for i := range 20_000 {
		s.subjects = append(s.subjects, "subj-hash-"+strconv.Itoa(i))
	}
	for i := range 50_000 {
		s.reporters = append(s.reporters, "rep-hash-"+strconv.Itoa(i))
	}
	return s
}

// obs returns the i-th report of the stream.
func (s *synth) obs(i int) Observation {
	cell := i % (30 * 8 * 52)
	d, c, w := cell%30, (cell/30)%8, cell/(30*8)
	id := strconv.Itoa(i)
	o := Observation{
		EventID:    id,
		CaseID:     id,
		Department: s.depts[d],
		Category:   testCategories[c],
		Roles:      []string{testRoles[i%len(testRoles)], testRoles[(i/7)%len(testRoles)]},
		At:         weekTime(w).Add(time.Duration(i%(7*24)) * time.Hour),
	}
	if i%5 == 0 {
		o.Subjects = []string{s.subjects[(i/5)%len(s.subjects)]}
		if i%10 != 0 {
			o.Reporter = s.reporters[i%len(s.reporters)]
		}
	}
	return o
}
