package directory_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/directory"
)

func person(id, dept, role, supervisor string) directory.Person {
	return directory.Person{ID: id, DisplayName: "Name " + id, Department: dept, Role: role, SupervisorID: supervisor, Active: true}
}

func mustDirectory(t testing.TB, people []directory.Person, depts []directory.Department) *directory.Directory {
	t.Helper()
	d, err := directory.NewDirectory(people, depts)
	if err != nil {
		t.Fatalf("new directory: %v", err)
	}
	return d
}

func ids(people []directory.Person) []string {
	out := make([]string, len(people))
	for i, p := range people {
		out[i] = p.ID
	}
	return out
}

func TestPersonValidate(t *testing.T) {
	valid := directory.Person{ID: "a.b_c:d-1", DisplayName: "Zoë Ä", Email: "z@example.org", Department: "med", Role: "resident", Active: true}
	if errs := valid.Validate(); errs != nil {
		t.Fatalf("valid person: %v", errs)
	}
	bad := directory.Person{
		ID: "has space", DisplayName: "", Email: "Zoe <z@example.org>", Department: strings.Repeat("d", 129),
		Role: " resident", TrainingLevel: "PGY\n1", Cohort: strings.Repeat("9", 65), Site: "ok", SupervisorID: "x/y",
	}
	want := []string{
		"id: may contain only letters A-Z a-z, digits and . _ : -",
		"display_name: required",
		"email: not a valid e-mail address (expected name@example.org)",
		"department: longer than 128 characters",
		"role: has leading or trailing spaces",
		"training_level: contains control characters",
		"cohort: longer than 64 characters",
		"supervisor_id: may contain only letters A-Z a-z, digits and . _ : -",
	}
	var got []string
	for _, fe := range bad.Validate() {
		got = append(got, fe.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	self := person("p1", "med", "staff", "p1")
	if errs := self.Validate(); len(errs) != 1 || errs[0].Field != directory.FieldSupervisorID {
		t.Errorf("self-supervision: %v", errs)
	}
	for _, email := range []string{"a@b", "first.last+tag@sub.example.org"} {
		p := valid
		p.Email = email
		if errs := p.Validate(); errs != nil {
			t.Errorf("email %q rejected: %v", email, errs)
		}
	}
	for _, email := range []string{"no-at", "@example.org", "a@", "a b@example.org", "a@example.org (comment)"} {
		p := valid
		p.Email = email
		if errs := p.Validate(); len(errs) != 1 || errs[0].Field != directory.FieldEmail {
			t.Errorf("email %q: %v, want one email problem", email, errs)
		}
	}
}

func TestDepartmentValidate(t *testing.T) {
	d := directory.Department{ID: "med", Name: "", ParentID: "med", LeadID: "bad id"}
	var got []string
	for _, fe := range d.Validate() {
		got = append(got, fe.Field)
	}
	if want := []string{"name", "parent_id", "lead_id"}; !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
}

func TestNewDirectoryRejectsInvalidAndDuplicates(t *testing.T) {
	_, err := directory.NewDirectory([]directory.Person{person("a", "d", "r", ""), person("a", "d", "r", ""), {ID: "b"}}, nil)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{`person "a": duplicate id`, `person "b": display_name: required`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// org chart used by the chain tests:
//
//	ceo
//	└── chief
//	    ├── att1 ── res1, res2 (inactive) ── res3
//	    └── att2
func orgChart(t *testing.T) *directory.Directory {
	res2 := person("res2", "med", "resident", "att1")
	res2.Active = false
	return mustDirectory(t, []directory.Person{
		person("res3", "med", "student", "res2"),
		person("res1", "med", "resident", "att1"),
		res2,
		person("att2", "med", "attending", "chief"),
		person("att1", "med", "attending", "chief"),
		person("chief", "med", "chief", "ceo"),
		person("ceo", "admin", "exec", ""),
		person("lonely", "med", "staff", "gone"), // supervisor not in the directory
	}, nil)
}

func TestSupervisorChain(t *testing.T) {
	d := orgChart(t)
	cases := map[string][]string{
		"res3":    {"res2", "att1", "chief", "ceo"}, // inactive res2 stays in the chain
		"res1":    {"att1", "chief", "ceo"},
		"ceo":     nil,
		"lonely":  nil,
		"unknown": nil,
	}
	for id, want := range cases {
		if got := ids(d.SupervisorChain(id)); !slices.Equal(got, want) {
			t.Errorf("chain of %s = %v, want %v", id, got, want)
		}
	}
}

func TestSupervisorChainSurvivesCycles(t *testing.T) {
	// Imports reject cycles, but a snapshot must answer even if one is stored.
	d := mustDirectory(t, []directory.Person{
		person("a", "d", "r", "b"),
		person("b", "d", "r", "c"),
		person("c", "d", "r", "a"),
		person("x", "d", "r", "a"),
	}, nil)
	if got := ids(d.SupervisorChain("a")); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("chain of a = %v, want [b c]", got)
	}
	if got := ids(d.SupervisorChain("x")); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("chain of x = %v, want [a b c]", got)
	}
	if !d.InChainOf("a", "c") || d.InChainOf("a", "x") || d.InChainOf("a", "a") {
		t.Errorf("InChainOf wrong on a cycle")
	}
	if got := ids(d.Reports("a", true)); !slices.Equal(got, []string{"b", "c", "x"}) {
		t.Errorf("reports of a = %v, want [b c x]", got)
	}
}

func TestInChainOf(t *testing.T) {
	d := orgChart(t)
	cases := []struct {
		person, other string
		want          bool
	}{
		{"res1", "att1", true},
		{"res1", "ceo", true},
		{"res3", "res2", true},
		{"res1", "att2", false}, // peer's supervisor
		{"att1", "res1", false}, // direction matters
		{"res1", "res1", false}, // not in own chain
		{"res1", "nobody", false},
		{"nobody", "ceo", false},
	}
	for _, c := range cases {
		if got := d.InChainOf(c.person, c.other); got != c.want {
			t.Errorf("InChainOf(%s, %s) = %v, want %v", c.person, c.other, got, c.want)
		}
	}
}

func TestWithSupervisors(t *testing.T) {
	d := orgChart(t)
	got := d.WithSupervisors("res1", "att2", "stranger")
	want := []string{"att1", "att2", "ceo", "chief", "res1", "stranger"}
	if !slices.Equal(got, want) {
		t.Errorf("WithSupervisors = %v, want %v", got, want)
	}
}

func TestReports(t *testing.T) {
	d := orgChart(t)
	cases := []struct {
		id         string
		transitive bool
		want       []string
	}{
		{"chief", false, []string{"att1", "att2"}},
		{"att1", false, []string{"res1"}},        // res2 inactive
		{"att1", true, []string{"res1", "res3"}}, // walks through inactive res2
		{"ceo", true, []string{"att1", "att2", "chief", "res1", "res3"}},
		{"res1", true, nil},
		{"nobody", true, nil},
	}
	for _, c := range cases {
		if got := ids(d.Reports(c.id, c.transitive)); !slices.Equal(got, c.want) {
			t.Errorf("Reports(%s, %v) = %v, want %v", c.id, c.transitive, got, c.want)
		}
	}
}

func TestDepartments(t *testing.T) {
	d := mustDirectory(t, nil, []directory.Department{
		{ID: "surg", Name: "Surgery", ParentID: "hosp"},
		{ID: "hosp", Name: "Hospital"},
		{ID: "med.cardio", Name: "Cardiology", ParentID: "med"},
		{ID: "med", Name: "Medicine", ParentID: "hosp"},
	})
	if got := d.Subdepartments("hosp", false); !slices.Equal(got, []string{"med", "surg"}) {
		t.Errorf("children of hosp = %v", got)
	}
	if got := d.Subdepartments("hosp", true); !slices.Equal(got, []string{"med", "med.cardio", "surg"}) {
		t.Errorf("subtree of hosp = %v", got)
	}
	if dep, ok := d.Department("med"); !ok || dep.Name != "Medicine" {
		t.Errorf("Department(med) = %+v, %v", dep, ok)
	}
	var got []string
	for _, dep := range d.Departments() {
		got = append(got, dep.ID)
	}
	if !slices.Equal(got, []string{"hosp", "med", "med.cardio", "surg"}) {
		t.Errorf("Departments order %v", got)
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	people := []directory.Person{person("a", "d", "r", "")}
	d := mustDirectory(t, people, nil)
	people[0].Role = "changed"
	all := d.People()
	all[0].Role = "changed too"
	if p, _ := d.Get("a"); p.Role != "r" {
		t.Errorf("directory changed through its input or output: role %q", p.Role)
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	p := person("a", "med", "resident", "b")
	p.Email, p.TrainingLevel, p.Cohort, p.Site = "a@example.org", "PGY-1", "2026", "north"
	p.UpdatedAt = time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	data, err := json.Marshal(directory.NewPersonRecord(p))
	if err != nil {
		t.Fatal(err)
	}
	var rec directory.PersonRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	back, err := rec.Person()
	if err != nil || !back.Equal(p) {
		t.Errorf("round trip %+v, %v; want %+v", back, err, p)
	}
	rec.V = 99
	if _, err := rec.Person(); err == nil {
		t.Errorf("unknown record version accepted")
	}
	rec.V, rec.ID = directory.RecordVersion, "bad id"
	if _, err := rec.Person(); err == nil || !strings.Contains(err.Error(), "id: may contain only") {
		t.Errorf("invalid record: %v", err)
	}

	dep := directory.Department{ID: "med", Name: "Medicine", ParentID: "hosp", LeadID: "a", UpdatedAt: p.UpdatedAt}
	data, err = json.Marshal(directory.NewDepartmentRecord(dep))
	if err != nil {
		t.Fatal(err)
	}
	var drec directory.DepartmentRecord
	if err := json.Unmarshal(data, &drec); err != nil {
		t.Fatal(err)
	}
	if got, err := drec.Department(); err != nil || !got.Equal(dep) {
		t.Errorf("department round trip %+v, %v", got, err)
	}
}
