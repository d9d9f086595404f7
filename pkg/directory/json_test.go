package directory_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
)

func TestParseJSONGoodFile(t *testing.T) {
	people, depts, err := directory.ParseJSON(openTestdata(t, "import.json"), directory.ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	wantDepts := []directory.Department{
		{ID: "hosp", Name: "General Hospital"},
		{ID: "med", Name: "Department of Medicine", ParentID: "hosp", LeadID: "E100"},
		{ID: "med.cardio", Name: "Cardiology", ParentID: "med"},
		{ID: "surg", Name: "Surgery", ParentID: "hosp"},
	}
	if !slices.Equal(depts, wantDepts) {
		t.Errorf("departments %+v", depts)
	}
	if got := ids(people); !slices.Equal(got, []string{"E100", "E101", "E200", "E300"}) {
		t.Fatalf("people %v", got)
	}
	want := directory.Person{ID: "E200", DisplayName: "Mei Chen", Department: "med.cardio", Role: "resident",
		TrainingLevel: "PGY-1", Cohort: "2026", Site: "north", SupervisorID: "E101", Active: true}
	if people[2] != want {
		t.Errorf("E200 = %+v", people[2])
	}
	if !people[0].Active || people[3].Active {
		t.Errorf("active: absent → true, false → false; got %v %v", people[0].Active, people[3].Active)
	}
}

func TestParseJSONReportsEveryBadRow(t *testing.T) {
	in := `{
	  "departments": [
	    {"id": "med", "name": "Medicine", "parent_id": "hosp"},
	    {"id": "a", "name": "A", "parent_id": "b"},
	    {"id": "b", "name": "B", "parent_id": "a", "lead_id": "nobody"},
	    {"id": "med", "name": "Medicine again"},
	    "not an object"
	  ],
	  "people": [
	    {"id": "p1", "display_name": "P", "department": "med", "role": "staff"},
	    {"id": "p2", "display_name": "P", "department": "med", "role": "staff", "nickname": "x", "Email": "y"},
	    {"id": 7, "display_name": "P", "department": "med", "role": "staff", "active": "yes"},
	    {"id": "p4", "display_name": "P", "department": "dermatology", "role": "staff"}
	  ],
	  "version": 2
	}`
	people, depts, err := directory.ParseJSON(strings.NewReader(in), directory.ParseOptions{})
	checkProblems(t, people, depts, err, []problem{
		{field: "version", reason: "unknown top-level field"},
		{section: "people", index: 1, field: "Email", reason: "unknown field"},
		{section: "people", index: 1, field: "nickname", reason: "unknown field"},
		{section: "people", index: 2, field: "id", reason: "must be a string"},
		{section: "people", index: 2, field: "active", reason: "must be true or false"},
		{section: "people", index: 3, field: "department", reason: `unknown department "dermatology"`},
		{section: "departments", index: 0, field: "parent_id", reason: `unknown department "hosp"`},
		{section: "departments", index: 1, field: "parent_id", reason: "forms a cycle: a → b → a"},
		{section: "departments", index: 2, field: "lead_id", reason: `unknown person "nobody"`},
		{section: "departments", index: 2, field: "parent_id", reason: "forms a cycle: a → b → a"},
		{section: "departments", index: 3, field: "id", reason: `duplicate department id "med", first at departments[0]`},
		{section: "departments", index: 4, reason: "must be an object"},
	})
}

func TestParseJSONFileProblems(t *testing.T) {
	cases := map[string]problem{
		`[]`:                            {reason: "the document must be an object"},
		`{"people": {}}`:                {field: "people", reason: "must be an array"},
		`{"people": [{"id": "a",}]}`:    {reason: "JSON syntax error at byte"},
		`{"people": [{"id": "a"}`:       {reason: "JSON ends too early"},
		`{"people": []} {"people": []}`: {reason: "unexpected data after the top-level object"},
		`{"people": [], "people": []}`:  {field: "people", reason: "appears twice"},
		``:                              {reason: "JSON ends too early"},
	}
	for in, want := range cases {
		people, depts, err := directory.ParseJSON(strings.NewReader(in), directory.ParseOptions{})
		checkProblems(t, people, depts, err, []problem{want})
	}
	if people, depts, err := directory.ParseJSON(strings.NewReader(`{"people": null}`), directory.ParseOptions{}); err != nil || people != nil || depts != nil {
		t.Errorf("null people: %v %v %v", people, depts, err)
	}
}

func TestParseJSONRowLimit(t *testing.T) {
	in := `{"departments": [{"id": "d", "name": "D"}], "people": [
	  {"id": "a", "display_name": "A", "department": "d", "role": "r"},
	  {"id": "b", "display_name": "B", "department": "d", "role": "r"}]}`
	people, depts, err := directory.ParseJSON(strings.NewReader(in), directory.ParseOptions{MaxRows: 2})
	checkProblems(t, people, depts, err, []problem{{section: "people", index: 1, reason: "more than 2 rows in all"}})
}
