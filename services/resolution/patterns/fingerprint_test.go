package patterns

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func fingerprintData() []Observation {
	r := rand.New(rand.NewPCG(11, 3))
	var obs []Observation
	for i := range 500 {
		o := report(fmt.Sprint("ev-", i), deptName(r.IntN(5)), testCategories[r.IntN(4)], weekTime(r.IntN(20)).Add(time.Duration(r.IntN(168))*time.Hour))
		o.CaseID = fmt.Sprint("case-", r.IntN(300))
		o.Roles = testRoles[:r.IntN(3)]
		if r.IntN(3) > 0 {
			o.Reporter = fmt.Sprint("rep-", r.IntN(40))
		}
		for range r.IntN(3) {
			o.Subjects = append(o.Subjects, fmt.Sprint("subj-", r.IntN(30)))
		}
		obs = append(obs, o)
	}
	return obs
}

func TestFingerprintOrderAndDuplicateIndependent(t *testing.T) {
	obs := fingerprintData()
	a := mustNew(t, Options{})
	for _, o := range obs {
		a.Observe(o)
	}

	r := rand.New(rand.NewPCG(12, 4))
	replay := append([]Observation(nil), obs...)
	for range 200 { // redeliveries
		replay = append(replay, obs[r.IntN(len(obs))])
	}
	r.Shuffle(len(replay), func(i, j int) { replay[i], replay[j] = replay[j], replay[i] })
	b := mustNew(t, Options{})
	applied := 0
	for _, o := range replay {
		if b.Observe(o) {
			applied++
		}
	}
	if applied != len(obs) || b.Len() != len(obs) || a.Len() != len(obs) {
		t.Fatalf("applied %d, Len %d/%d, want %d", applied, a.Len(), b.Len(), len(obs))
	}
	if fa, fb := a.Fingerprint(), b.Fingerprint(); fa != fb {
		t.Fatalf("fingerprints differ after shuffled replay: %s vs %s", fa, fb)
	}
	if a.Fingerprint() != a.Fingerprint() {
		t.Fatal("fingerprint not stable")
	}
}

func TestFingerprintDetectsDifferences(t *testing.T) {
	obs := fingerprintData()
	build := func(mod func(*Observation)) string {
		e := mustNew(t, Options{})
		for i, o := range obs {
			if i == 250 && mod != nil {
				o.Roles = append([]string(nil), o.Roles...)
				o.Subjects = append([]string(nil), o.Subjects...)
				mod(&o)
			}
			e.Observe(o)
		}
		return e.Fingerprint()
	}
	base := build(nil)
	mods := map[string]func(*Observation){
		"department": func(o *Observation) { o.Department = "elsewhere" },
		"category":   func(o *Observation) { o.Category = "elsewhere" },
		"week":       func(o *Observation) { o.At = o.At.AddDate(0, 0, 7) },
		"role":       func(o *Observation) { o.Roles = append(o.Roles, "chaplain") },
		"subject":    func(o *Observation) { o.Subjects = append(o.Subjects, "subj-new") },
		"reporter":   func(o *Observation) { o.Reporter = "rep-new"; o.Subjects = append(o.Subjects, "subj-1") },
		"case":       func(o *Observation) { o.CaseID = "case-new"; o.Subjects = append(o.Subjects, "subj-1") },
		"time":       func(o *Observation) { o.At = o.At.Add(time.Second); o.Subjects = append(o.Subjects, "subj-1") },
	}
	seen := map[string]string{base: "base"}
	for name, mod := range mods {
		fp := build(mod)
		if prev, dup := seen[fp]; dup {
			t.Errorf("changing %s gives the same fingerprint as %s", name, prev)
		}
		seen[fp] = name
	}
	// EventIDs are only a dedup key, not aggregate state.
	if renamed := build(func(o *Observation) { o.EventID = "ev-renamed" }); renamed != base {
		t.Error("renaming an event changed the fingerprint")
	}
	e := mustNew(t, Options{})
	for _, o := range obs {
		e.Observe(o)
	}
	extra := obs[0]
	extra.EventID = "ev-extra"
	e.Observe(extra)
	if e.Fingerprint() == base {
		t.Error("one more event did not change the fingerprint")
	}
	if empty := mustNew(t, Options{}).Fingerprint(); len(empty) != 64 {
		t.Errorf("fingerprint %q is not sha256 hex", empty)
	}
}

// TestConcurrentUse runs writers and readers together under the race
// detector and checks the result equals a sequential build.
func TestConcurrentUse(t *testing.T) {
	obs := fingerprintData()
	seq := mustNew(t, Options{})
	for _, o := range obs {
		seq.Observe(o)
	}
	e := mustNew(t, Options{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(obs); i += 2 { // every event seen by two writers
				e.Observe(obs[i])
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			e.Detect(weekTime(19))
			e.RepeatSubjects()
			e.Fingerprint()
			e.Len()
			if _, err := e.Table(Query{Rows: DimRole, Cols: DimWeek}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if e.Len() != len(obs) || e.Fingerprint() != seq.Fingerprint() {
		t.Fatalf("concurrent build differs: len %d, want %d", e.Len(), len(obs))
	}
}
