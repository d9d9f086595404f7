package directory_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
)

// hospital builds n people in a supervisor tree with fan-out 6 (depth about
// 6 at 50,000), 200 departments, and the attribute mix of a teaching
// hospital. 5% are inactive.
func hospital(tb testing.TB, n int) *directory.Directory {
	tb.Helper()
	roles := []string{"staff", "nurse", "nurse", "resident", "resident", "attending", "fellow", "student"}
	levels := []string{"", "PGY-1", "PGY-2", "PGY-3", "PGY-4", "PGY-5"}
	sites := []string{"north", "south", "east", "west", "downtown"}
	people := make([]directory.Person, n)
	for i := range people {
		p := directory.Person{
			ID: fmt.Sprintf("E%06d", i), DisplayName: "Person", Department: fmt.Sprintf("dept-%03d", i%200),
			Role: roles[i%len(roles)], Site: sites[(i/7)%len(sites)], Active: i%20 != 0,
		}
		if p.Role == "resident" || p.Role == "fellow" {
			p.TrainingLevel = levels[1+(i/3)%5]
			p.Cohort = fmt.Sprint(2022 + (i/11)%5)
		}
		if i > 0 {
			p.SupervisorID = fmt.Sprintf("E%06d", (i-1)/6)
		}
		people[i] = p
	}
	return mustDirectory(tb, people, nil)
}

func BenchmarkNewDirectory50k(b *testing.B) {
	d := hospital(b, 50_000)
	people := d.People()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := directory.NewDirectory(people, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMembers50k(b *testing.B) {
	d := hospital(b, 50_000)
	cases := []struct {
		name string
		a    directory.Audience
	}{
		{"department", directory.Audience{Departments: []string{"dept-007"}}},
		{"PGY1-residents-north", directory.Audience{Roles: []string{"resident"}, TrainingLevels: []string{"PGY-1"}, Sites: []string{"north"}}},
		{"all-nurses-and-residents", directory.Audience{Roles: []string{"nurse", "resident"}}}, // about 40% of everyone
		{"cohort-in-10-departments", directory.Audience{Cohorts: []string{"2026"}, Departments: strings.Split("dept-000,dept-001,dept-002,dept-003,dept-004,dept-005,dept-006,dept-007,dept-008,dept-009", ",")}},
		{"explicit-100", directory.Audience{People: func() []string {
			var ids []string
			for i := range 100 {
				ids = append(ids, fmt.Sprintf("E%06d", i*499))
			}
			return ids
		}()}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(d.Members(c.a))
			}
			b.ReportMetric(float64(n), "members")
		})
		b.Run(c.name+"/ids", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.MemberIDs(c.a)
			}
		})
	}
}

func BenchmarkSupervisorChain50k(b *testing.B) {
	d := hospital(b, 50_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.SupervisorChain(fmt.Sprintf("E%06d", 40_000+i%10_000))
		i++
	}
}

func BenchmarkInChainOf50k(b *testing.B) {
	d := hospital(b, 50_000)
	b.ReportAllocs()
	for b.Loop() {
		d.InChainOf("E049999", "E000000")
	}
}

func BenchmarkReportsTransitive50k(b *testing.B) {
	d := hospital(b, 50_000)
	b.ReportAllocs()
	for b.Loop() {
		d.Reports("E000001", true) // about a sixth of the hospital
	}
}

func BenchmarkParseCSV50k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("id,display_name,email,department,role,training_level,cohort,site,supervisor_id,active\n")
	for _, p := range hospital(b, 50_000).People() {
		fmt.Fprintf(&sb, "%s,%s,%s@example.org,%s,%s,%s,%s,%s,%s,%v\n", p.ID, p.DisplayName, p.ID, p.Department,
			p.Role, p.TrainingLevel, p.Cohort, p.Site, p.SupervisorID, p.Active)
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := directory.ParseCSV(strings.NewReader(data), directory.ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
