package app

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/services/awareness/domain"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// world is random data: a supervisor forest (some people inactive), a few
// assignments, and records in every status with colliding due dates.
type world struct {
	d       *directory.Directory
	people  []string
	assigns []*domain.Assignment
	recs    map[string]*domain.Training // key → record
}

func newWorld(t testing.TB, rng *rand.Rand, n int) *world {
	t.Helper()
	w := &world{recs: map[string]*domain.Training{}}
	var ps []directory.Person
	for i := range n {
		p := directory.Person{ID: fmt.Sprintf("p%04d", i), DisplayName: "P", Department: fmt.Sprintf("d%d", rng.IntN(4)),
			Role: []string{"staff", "resident", "nurse"}[rng.IntN(3)], Active: rng.IntN(10) > 0}
		if i > 0 && rng.IntN(8) > 0 {
			// Supervisors come earlier, so the forest has no loops.
			p.SupervisorID = fmt.Sprintf("p%04d", rng.IntN(i))
		}
		ps = append(ps, p)
		w.people = append(w.people, p.ID)
	}
	d, err := directory.NewDirectory(ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.d = d
	for i := range 3 {
		as, err := domain.NewAssignment(fmt.Sprintf("as%d", i), "officer", domain.AssignmentInput{
			ModuleID: "m", Audience: domain.Audience{Departments: []string{"med"}}, DueAt: t0.Add(time.Hour),
		}, t0)
		if err != nil {
			t.Fatal(err)
		}
		w.assigns = append(w.assigns, as)
	}
	return w
}

// record draws a record for a random person and assignment.
func (w *world) record(rng *rand.Rand) (string, *domain.Training) {
	as := w.assigns[rng.IntN(len(w.assigns))]
	person := w.people[rng.IntN(len(w.people))]
	// Few distinct due dates, so ties are the rule.
	tr := domain.NewTraining(as, person, t0.Add(time.Duration(rng.IntN(12))*24*time.Hour), "test", t0)
	switch rng.IntN(6) {
	case 0:
		tr.Complete(t0, "lms", "lms", "ref", t0)
	case 1:
		_, _ = tr.Exempt("leave", "officer", t0)
	case 2:
		tr.Remove(t0)
	case 3:
		tr.Start(t0)
	}
	return Key(as.ID(), person), tr
}

func (w *world) teamScan(leader string, now time.Time, overdue bool) []*domain.Training {
	var out []*domain.Training
	for _, p := range w.d.Reports(leader, true) {
		for _, tr := range w.recs {
			if tr.PersonID() != p.ID || tr.Status() == domain.StatusRemoved {
				continue
			}
			if overdue && tr.Effective(now) != domain.StatusOverdue {
				continue
			}
			out = append(out, tr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return dueLess(dueOf(out[i]), dueOf(out[j])) })
	return out
}

// reportScan is the report as it was computed before the index: one
// pass over the assignment's records.
func (w *world) reportScan(as *domain.Assignment, by string, now time.Time) map[string]*ReportRow {
	groups := map[string]*ReportRow{}
	for _, t := range w.assignmentScan(as.ID()) {
		if t.Status() == domain.StatusRemoved || t.Cycle() != as.Cycle() {
			continue
		}
		p, _ := w.d.Get(t.PersonID())
		g := groupOf(p, by)
		row := groups[g]
		if row == nil {
			row = &ReportRow{Group: g}
			groups[g] = row
		}
		row.People++
		switch t.Effective(now) {
		case domain.StatusCompleted:
			row.Completed++
		case domain.StatusExempt:
			row.Exempt++
		case domain.StatusOverdue:
			row.Overdue++
		}
	}
	return groups
}

func rows(m map[string]*ReportRow) []ReportRow {
	var out []ReportRow
	for _, r := range m {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

func (w *world) assignmentScan(asg string) []*domain.Training {
	var out []*domain.Training
	for _, tr := range w.recs {
		if tr.AssignmentID() == asg {
			out = append(out, tr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PersonID() < out[j].PersonID() })
	return out
}

// walk follows every page of a list.
func walk(t testing.TB, next func(after string) (page.Page[*domain.Training], error)) []*domain.Training {
	t.Helper()
	var out []*domain.Training
	after := ""
	for range 100_000 {
		p, err := next(after)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		after = p.Next
	}
	t.Fatal("the pages never ended")
	return nil
}

// TestTrainingIndexAnswersAsTheScansItReplaces compares every leader's
// view, overdue list and assignment list, walked page by page at several
// page sizes and through both of the team page's strategies, with the
// per-person scans the index replaces, on random data.
func TestTrainingIndexAnswersAsTheScansItReplaces(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		w := newWorld(t, rng, 40+rng.IntN(200))
		x := NewTrainingIndex()
		var err error
		// Load part, then change live: puts over earlier records and deletes.
		initial := map[string]*domain.Training{}
		for range 300 {
			k, tr := w.record(rng)
			initial[k], w.recs[k] = tr, tr
		}
		x.Load(initial, nil)
		now := t0.Add(6 * 24 * time.Hour)
		// Ask for reports before the live changes, so the kept counts are
		// what the changes update.
		for _, as := range w.assigns {
			for _, by := range []string{ByDepartment, ByRole} {
				x.report(as.ID(), by, as.Cycle(), w.d, now)
			}
		}
		for range 300 {
			if rng.IntN(4) == 0 && len(w.recs) > 0 {
				keys := slices.Sorted(func(yield func(string) bool) {
					for k := range w.recs {
						if !yield(k) {
							return
						}
					}
				})
				k := keys[rng.IntN(len(keys))]
				x.Delete(k)
				delete(w.recs, k)
				continue
			}
			k, tr := w.record(rng)
			x.Put(k, tr)
			w.recs[k] = tr
		}
		if x.Len() != len(w.recs) {
			t.Fatalf("seed %d: index holds %d records, want %d", seed, x.Len(), len(w.recs))
		}
		for _, as := range w.assigns {
			for _, by := range []string{ByDepartment, ByRole} {
				for _, at := range []time.Time{now, t0.Add(30 * 24 * time.Hour)} {
					if got, want := x.report(as.ID(), by, as.Cycle(), w.d, at), w.reportScan(as, by, at); !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d, %s by %s at %v: report %v, the scan %v", seed, as.ID(), by, at, rows(got), rows(want))
					}
				}
			}
		}
		// People move departments: the kept counts follow the new snapshot.
		moved := w.d.People()
		for i := range moved {
			if rng.IntN(3) == 0 {
				moved[i].Department = "d9"
			}
		}
		before := w.d
		if w.d, err = directory.NewDirectory(moved, nil); err != nil {
			t.Fatal(err)
		}
		for _, as := range w.assigns {
			if got, want := x.report(as.ID(), ByDepartment, as.Cycle(), w.d, now), w.reportScan(as, ByDepartment, now); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d, %s after people moved: report %v, the scan %v", seed, as.ID(), rows(got), rows(want))
			}
		}
		w.d = before
		overdue := func(tr *domain.Training) bool { return tr.Effective(now) == domain.StatusOverdue }
		for _, budget := range []int{3, walkBudget} {
			x.budget = budget
			for _, leader := range append(w.people[:10:10], "nobody") {
				for _, limit := range []int{1, 7, page.MaxLimit} {
					got := walk(t, func(after string) (page.Page[*domain.Training], error) {
						return x.teamPage(w.d, leader, after, limit, time.Time{}, nil)
					})
					if want := w.teamScan(leader, now, false); !slices.Equal(got, want) {
						t.Fatalf("seed %d, budget %d, leader %s, limit %d: team view %d records, the scan %d", seed, budget, leader, limit, len(got), len(want))
					}
					got = walk(t, func(after string) (page.Page[*domain.Training], error) {
						return x.teamPage(w.d, leader, after, limit, now, overdue)
					})
					if want := w.teamScan(leader, now, true); !slices.Equal(got, want) {
						t.Fatalf("seed %d, budget %d, leader %s, limit %d: overdue %d records, the scan %d", seed, budget, leader, limit, len(got), len(want))
					}
				}
			}
		}
		for _, as := range w.assigns {
			for _, limit := range []int{1, 9, page.MaxLimit} {
				got := walk(t, func(after string) (page.Page[*domain.Training], error) {
					return x.assignmentPage(as.ID(), after, limit, nil)
				})
				if want := w.assignmentScan(as.ID()); !slices.Equal(got, want) {
					t.Fatalf("seed %d, %s, limit %d: %d records, the scan %d", seed, as.ID(), limit, len(got), len(want))
				}
			}
		}
		for _, p := range w.people[:20] {
			var want []*domain.Training
			for _, tr := range w.recs {
				if tr.PersonID() == p && tr.Status() != domain.StatusRemoved {
					want = append(want, tr)
				}
			}
			got := x.personRecords(p)
			if len(got) != len(want) {
				t.Fatalf("seed %d, %s: %d records, want %d", seed, p, len(got), len(want))
			}
			if !slices.IsSortedFunc(got, func(a, b *domain.Training) int { return a.DueAt().Compare(b.DueAt()) }) {
				t.Fatalf("seed %d, %s: not in due order", seed, p)
			}
		}
	}
}

// TestWalkingPagesWhileRecordsComeAndGo: a walk over every page while
// records are added and removed between pages yields each record that
// stayed for the whole walk exactly once, and nothing twice.
func TestWalkingPagesWhileRecordsComeAndGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	w := newWorld(t, rng, 300)
	x := NewTrainingIndex()
	for range 2000 {
		k, tr := w.record(rng)
		x.Put(k, tr)
		w.recs[k] = tr
	}
	stayed := map[*domain.Training]bool{}
	for _, tr := range w.recs {
		stayed[tr] = true
	}
	lists := map[string]func(after string) (page.Page[*domain.Training], error){
		"team": func(after string) (page.Page[*domain.Training], error) {
			return x.teamPage(w.d, "p0000", after, 13, time.Time{}, nil)
		},
		"assignment": func(after string) (page.Page[*domain.Training], error) {
			return x.assignmentPage("as0", after, 13, nil)
		},
	}
	for name, list := range lists {
		seen := map[*domain.Training]int{}
		churn := func() {
			for range 5 {
				k, tr := w.record(rng)
				if old, ok := w.recs[k]; ok {
					delete(stayed, old)
				}
				if rng.IntN(3) == 0 {
					x.Delete(k)
					delete(w.recs, k)
					continue
				}
				x.Put(k, tr)
				w.recs[k] = tr
			}
		}
		walk(t, func(after string) (page.Page[*domain.Training], error) {
			p, err := list(after)
			for _, tr := range p.Items {
				seen[tr]++
			}
			churn()
			return p, err
		})
		want := 0
		for tr := range stayed {
			inList := tr.AssignmentID() == "as0"
			if name == "team" {
				p, _ := w.d.Get(tr.PersonID())
				inList = tr.Status() != domain.StatusRemoved && p.Active && w.d.InChainOf(tr.PersonID(), "p0000")
			}
			if !inList {
				continue
			}
			want++
			if seen[tr] != 1 {
				t.Errorf("%s: a record there for the whole walk was seen %d times", name, seen[tr])
			}
		}
		for tr, n := range seen {
			if n > 1 {
				t.Errorf("%s: %s/%s seen %d times", name, tr.AssignmentID(), tr.PersonID(), n)
			}
		}
		if want == 0 {
			t.Fatalf("%s: the walk had nothing to find", name)
		}
	}
}

func TestMalformedCursorsAreRefused(t *testing.T) {
	x := NewTrainingIndex()
	d, _ := directory.NewDirectory(nil, nil)
	if _, err := x.teamPage(d, "a", "bogus", 10, time.Time{}, nil); err == nil {
		t.Error("a bogus team cursor was accepted")
	}
	if _, err := x.teamPage(d, "a", page.Encode(listAssignmentPeople+":as0", "p1"), 10, time.Time{}, nil); err == nil {
		t.Error("an assignment cursor was accepted by the team view")
	}
	if _, err := x.assignmentPage("as1", page.Encode(listAssignmentPeople+":as0", "p1"), 10, nil); err == nil {
		t.Error("another assignment's cursor was accepted")
	}
}

// TestReportCountsKeepOnlyTheCurrentSnapshot: counts kept under an earlier
// directory snapshot are dropped when a report is asked under a newer one,
// so the index never holds more than the current snapshot.
func TestReportCountsKeepOnlyTheCurrentSnapshot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	w := newWorld(t, rng, 50)
	x := NewTrainingIndex()
	for range 100 {
		k, tr := w.record(rng)
		x.Put(k, tr)
	}
	x.report("as0", ByDepartment, 1, w.d, t0)
	later, err := directory.NewDirectory(w.d.People(), nil)
	if err != nil {
		t.Fatal(err)
	}
	x.report("as1", ByDepartment, 1, later, t0)
	for k, a := range x.reports {
		if a.d != later {
			t.Errorf("counts for %+v kept under an earlier snapshot", k)
		}
	}
	if len(x.reports) != 1 {
		t.Errorf("%d kept counts, want 1", len(x.reports))
	}
}
