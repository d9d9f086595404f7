package directory_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
)

func audienceDirectory(t *testing.T) *directory.Directory {
	mk := func(id, dept, role, level, cohort, site string, active bool) directory.Person {
		return directory.Person{ID: id, DisplayName: id, Department: dept, Role: role, TrainingLevel: level, Cohort: cohort, Site: site, Active: active}
	}
	return mustDirectory(t, []directory.Person{
		mk("p06", "surg", "resident", "PGY-2", "2025", "south", true),
		mk("p01", "med", "resident", "PGY-1", "2026", "north", true),
		mk("p02", "med", "Resident", "pgy-2", "2025", "north", true),
		mk("p03", "med.cardio", "resident", "PGY-1", "2026", "south", true),
		mk("p04", "med", "attending", "", "", "north", true),
		mk("p05", "med", "resident", "PGY-1", "2026", "north", false),
		mk("p07", "surg", "nurse", "", "", "south", true),
	}, []directory.Department{
		{ID: "med", Name: "Medicine"},
		{ID: "med.cardio", Name: "Cardiology", ParentID: "med"},
		{ID: "surg", Name: "Surgery"},
	})
}

func TestMembers(t *testing.T) {
	d := audienceDirectory(t)
	cases := []struct {
		name string
		a    directory.Audience
		want []string
	}{
		{"empty audience matches nobody", directory.Audience{}, nil},
		{"one department, inactive excluded", directory.Audience{Departments: []string{"med"}}, []string{"p01", "p02", "p04"}},
		{"OR within a field", directory.Audience{Departments: []string{"med", "surg"}}, []string{"p01", "p02", "p04", "p06", "p07"}},
		{"AND across fields", directory.Audience{Departments: []string{"med"}, Roles: []string{"resident"}}, []string{"p01", "p02"}},
		{"free text ignores case and spaces", directory.Audience{TrainingLevels: []string{" PGY-2 "}}, []string{"p02", "p06"}},
		{"three fields", directory.Audience{Roles: []string{"RESIDENT"}, Cohorts: []string{"2026"}, Sites: []string{"north", "south"}}, []string{"p01", "p03"}},
		{"subdepartments", directory.Audience{Departments: []string{"med"}, IncludeSubdepartments: true, TrainingLevels: []string{"PGY-1"}}, []string{"p01", "p03"}},
		{"department ids are exact", directory.Audience{Departments: []string{"MED"}}, nil},
		{"explicit people added to the match", directory.Audience{Roles: []string{"nurse"}, People: []string{"p04", "p07"}}, []string{"p04", "p07"}},
		{"explicit people alone", directory.Audience{People: []string{"p06", "p01", "p01"}}, []string{"p01", "p06"}},
		{"explicit inactive or unknown dropped", directory.Audience{People: []string{"p05", "ghost"}}, []string{}},
		{"no value matches", directory.Audience{Sites: []string{"west"}}, []string{}},
		{"a field with no match empties the AND", directory.Audience{Departments: []string{"med"}, Sites: []string{"west"}}, []string{}},
		{"repeated values", directory.Audience{Roles: []string{"nurse", "Nurse", "nurse"}}, []string{"p07"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ids(d.Members(c.a))
			if len(got) != 0 || len(c.want) != 0 {
				if !slices.Equal(got, c.want) {
					t.Errorf("Members = %v, want %v", got, c.want)
				}
			}
		})
	}
}

// TestMembersMatchesBruteForce checks the indexed evaluation against the
// definition on random data.
func TestMembersMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	var people []directory.Person
	for i := range 2000 {
		people = append(people, directory.Person{
			ID: fmt.Sprintf("p%05d", i), DisplayName: "x", Department: pick("a", "b", "c", "d"),
			Role: pick("resident", "Resident", "nurse", "attending"), TrainingLevel: pick("", "PGY-1", "PGY-2"),
			Cohort: pick("", "2025", "2026"), Site: pick("north", "south", "east"), Active: rng.IntN(10) > 0,
		})
	}
	d := mustDirectory(t, people, nil)
	subset := func(vals ...string) []string {
		var out []string
		for _, v := range vals {
			if rng.IntN(3) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	in := func(v string, set []string, fold bool) bool {
		if len(set) == 0 {
			return true
		}
		for _, s := range set {
			if v == s || fold && strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(s)) {
				return true
			}
		}
		return false
	}
	for range 500 {
		a := directory.Audience{
			Departments: subset("a", "b", "c", "zz"), Roles: subset("resident", "NURSE", "attending"),
			TrainingLevels: subset("PGY-1", "pgy-2"), Cohorts: subset("2025", "2026"), Sites: subset("north", "south"),
			People: subset("p00001", "p00002", "p01999", "nobody"),
		}
		criteria := len(a.Departments)+len(a.Roles)+len(a.TrainingLevels)+len(a.Cohorts)+len(a.Sites) > 0
		var want []string
		for _, p := range people {
			match := criteria && in(p.Department, a.Departments, false) && in(p.Role, a.Roles, true) &&
				in(p.TrainingLevel, a.TrainingLevels, true) && in(p.Cohort, a.Cohorts, true) && in(p.Site, a.Sites, true)
			if p.Active && (match || slices.Contains(a.People, p.ID)) {
				want = append(want, p.ID)
			}
		}
		got := ids(d.Members(a))
		if gotIDs := d.MemberIDs(a); !slices.Equal(gotIDs, got) {
			t.Fatalf("MemberIDs %v differs from Members %v", gotIDs, got)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("audience %+v:\ngot  %d %v\nwant %d", a, len(got), got[:min(len(got), 10)], len(want))
		}
	}
}
