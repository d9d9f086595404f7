package directory_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
)

// problem is the part of a RowError a test pins down.
type problem struct {
	line    int
	section string
	index   int
	field   string
	reason  string // the RowError reason must start with this
}

func importError(t *testing.T, err error) *directory.ImportError {
	t.Helper()
	var ie *directory.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T), want *ImportError", err, err)
	}
	return ie
}

func checkProblems(t *testing.T, people []directory.Person, depts []directory.Department, err error, want []problem) {
	t.Helper()
	if people != nil || depts != nil {
		t.Errorf("rejected import returned %d people and %d departments; want nothing", len(people), len(depts))
	}
	ie := importError(t, err)
	var got []string
	for _, r := range ie.Rows {
		got = append(got, fmt.Sprintf("%d %s[%d] %s: %s", r.Line, r.Section, r.Index, r.Field, r.Reason))
	}
	ok := len(ie.Rows) == len(want)
	for i := 0; ok && i < len(want); i++ {
		r, w := ie.Rows[i], want[i]
		ok = r.Line == w.line && r.Section == w.section && r.Index == w.index && r.Field == w.field && strings.HasPrefix(r.Reason, w.reason)
	}
	if !ok {
		var exp []string
		for _, w := range want {
			exp = append(exp, fmt.Sprintf("%d %s[%d] %s: %s…", w.line, w.section, w.index, w.field, w.reason))
		}
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(exp, "\n  "))
	}
}

func openTestdata(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseCSVGoodFile(t *testing.T) {
	people, depts, err := directory.ParseCSV(openTestdata(t, "people.csv"), directory.ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if depts != nil {
		t.Errorf("CSV returned departments: %v", depts)
	}
	if got := ids(people); !slices.Equal(got, []string{"E100", "E101", "E200", "E201", "E202", "E300", "E400"}) {
		t.Fatalf("ids %v", got)
	}
	want := directory.Person{ID: "E201", DisplayName: `Jordan "JJ" Smith`, Email: "jordan.smith@example.org", Department: "med",
		Role: "resident", TrainingLevel: "PGY-2", Cohort: "2025", Site: "south", SupervisorID: "E101", Active: true}
	if people[3] != want {
		t.Errorf("E201 = %+v, want %+v", people[3], want)
	}
	actives := map[string]bool{}
	for _, p := range people {
		actives[p.ID] = p.Active
	}
	if !actives["E200"] || !actives["E300"] || actives["E400"] {
		t.Errorf("active flags: empty → true, TRUE → true, false → false; got %v", actives)
	}
	if people[1].DisplayName != "Luis Fernández" {
		t.Errorf("UTF-8 name %q", people[1].DisplayName)
	}
}

func TestParseCSVBOMCRLFAndHeaderCase(t *testing.T) {
	in := "\ufeff\"ID\", Display_Name ,DEPARTMENT,role,Supervisor_ID\r\n" +
		"a1,Ann,med,staff,\r\n" +
		"a2,\"Bo\r\nb\",med,staff,a1\r\n" + // quoted CRLF inside a value: two physical lines
		"a3 , Cy ,med,staff,a1\r\n"
	people, _, err := directory.ParseCSV(strings.NewReader(in), directory.ParseOptions{})
	if err == nil {
		t.Fatalf("a display name with a line break must be rejected")
	}
	checkProblems(t, people, nil, err, []problem{{line: 3, field: "display_name", reason: "contains control characters"}})

	in = strings.Replace(in, "\"Bo\r\nb\"", "Bob", 1)
	people, _, err = directory.ParseCSV(strings.NewReader(in), directory.ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if got := ids(people); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Errorf("ids %v (BOM or header not handled)", got)
	}
	if people[2].DisplayName != "Cy" || people[1].SupervisorID != "a1" {
		t.Errorf("values not trimmed or mapped: %+v", people)
	}
}

func TestParseCSVReportsEveryBadRow(t *testing.T) {
	in := strings.Join([]string{
		"id,display_name,email,department,role,supervisor_id,active", // 1
		"A1,Ann,ann@example.org,med,staff,,true",                     // 2 fine
		"A1,Dup,,med,staff,,",                                        // 3 duplicate id
		"bad id!,Bad,,med,staff,,",                                   // 4 id syntax
		"B1,,not-an-email,med,staff,,maybe",                          // 5 three problems
		`C1,"Multi`,                                                  // 6 value spans lines 6-7
		`line",,med,staff,,`,                                         // 7
		"D1,Dee,,med,staff,NOPE,",                                    // 8 unknown supervisor
		"E1,Eve,,med,staff,E1,",                                      // 9 self-supervision
		"F1,Fay,,med",                                                // 10 short row
		"G1,Gus,,med,staff,H1,",                                      // 11 cycle
		"",                                                           // 12 blank line, skipped
		"H1,Hal,,med,,G1,",                                           // 13 cycle and missing role
		"I1,Ida,,med,staff,A1,",                                      // 14 fine
	}, "\n")
	people, depts, err := directory.ParseCSV(strings.NewReader(in), directory.ParseOptions{})
	checkProblems(t, people, depts, err, []problem{
		{line: 3, field: "id", reason: `duplicate person id "A1", first at line 2`},
		{line: 4, field: "id", reason: "may contain only"},
		{line: 5, field: "active", reason: `"maybe" is not true or false`},
		{line: 5, field: "display_name", reason: "required"},
		{line: 5, field: "email", reason: "not a valid e-mail address"},
		{line: 6, field: "display_name", reason: "contains control characters"},
		{line: 8, field: "supervisor_id", reason: `unknown person "NOPE"`},
		{line: 9, field: "supervisor_id", reason: "a person cannot supervise themselves"},
		{line: 10, reason: "has 4 fields, the header has 7"},
		{line: 11, field: "supervisor_id", reason: "forms a cycle: G1 → H1 → G1"},
		{line: 13, field: "role", reason: "required"},
		{line: 13, field: "supervisor_id", reason: "forms a cycle: G1 → H1 → G1"},
	})
	if msg := err.Error(); !strings.HasPrefix(msg, "csv import rejected, 12 problems: line 3: id: duplicate") || !strings.Contains(msg, "and 2 more") {
		t.Errorf("error text %q", msg)
	}
}

func TestParseCSVHeaderProblems(t *testing.T) {
	cases := []struct {
		in   string
		want []problem
	}{
		{"", []problem{{line: 1, reason: "empty file: a header row is required"}}},
		{"id,display_name,department,role,nickname,,id\n", []problem{
			{line: 1, field: "nickname", reason: "unknown column; known columns: id, display_name"},
			{line: 1, reason: "column 6 has no name"},
			{line: 1, field: "id", reason: "repeated column"},
		}},
		{"id,email\n1,a@b\n", []problem{
			{line: 1, field: "display_name", reason: "required column missing"},
			{line: 1, field: "department", reason: "required column missing"},
			{line: 1, field: "role", reason: "required column missing"},
		}},
	}
	for _, c := range cases {
		people, depts, err := directory.ParseCSV(strings.NewReader(c.in), directory.ParseOptions{})
		checkProblems(t, people, depts, err, c.want)
	}
}

func TestParseCSVSyntaxError(t *testing.T) {
	in := "id,display_name,department,role\nA1,Ann,med,staff\nA2,Bo \"x\" b,med,staff\nA3,,med,staff\n"
	people, depts, err := directory.ParseCSV(strings.NewReader(in), directory.ParseOptions{})
	// Parsing stops at the syntax error; problems before it are kept.
	checkProblems(t, people, depts, err, []problem{{line: 3, reason: "CSV syntax error at column"}})
}

func TestParseCSVLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,display_name,department,role\n")
	for i := range 5 {
		fmt.Fprintf(&b, "p%d,P,med,staff\n", i)
	}
	people, depts, err := directory.ParseCSV(strings.NewReader(b.String()), directory.ParseOptions{MaxRows: 3})
	checkProblems(t, people, depts, err, []problem{{line: 5, reason: "more than 3 data rows; split the file"}})

	if _, _, err := directory.ParseCSV(strings.NewReader(b.String()), directory.ParseOptions{MaxRows: 5}); err != nil {
		t.Errorf("exactly MaxRows rows: %v", err)
	}
	people, depts, err = directory.ParseCSV(strings.NewReader(b.String()), directory.ParseOptions{MaxBytes: 40})
	checkProblems(t, people, depts, err, []problem{{reason: "input larger than 40 bytes"}})
	if _, _, err := directory.ParseCSV(strings.NewReader(b.String()), directory.ParseOptions{MaxBytes: int64(b.Len())}); err != nil {
		t.Errorf("input of exactly MaxBytes: %v", err)
	}
}

func TestParseCSVAgainstExistingDirectory(t *testing.T) {
	existing := mustDirectory(t, []directory.Person{
		person("boss", "med", "chief", ""),
		person("mid", "med", "attending", "boss"),
	}, []directory.Department{{ID: "med", Name: "Medicine"}})
	in := "id,display_name,department,role,supervisor_id\n" +
		"new1,N,med,resident,mid\n" + // existing supervisor: fine
		"boss,Boss,med,chief,new2\n" + // boss → new2 → mid → boss: cycle through an existing person
		"new2,N2,med,resident,mid\n" +
		"new3,N3,surgery,resident,\n" // unknown department
	opts := directory.ParseOptions{ExistingPerson: existing.Get, ExistingDepartment: existing.Department}
	people, depts, err := directory.ParseCSV(strings.NewReader(in), opts)
	checkProblems(t, people, depts, err, []problem{
		{line: 3, field: "supervisor_id", reason: "forms a cycle: boss → new2 → mid → boss"},
		{line: 4, field: "supervisor_id", reason: "forms a cycle: boss → new2 → mid → boss"},
		{line: 5, field: "department", reason: `unknown department "surgery"`},
	})

	// Without department lookups department ids are free text, and without
	// person lookups a supervisor must be in the file.
	people, depts, err = directory.ParseCSV(strings.NewReader("id,display_name,department,role,supervisor_id\nx,X,anything,staff,mid\n"), directory.ParseOptions{})
	checkProblems(t, people, depts, err, []problem{{line: 2, field: "supervisor_id", reason: `unknown person "mid": not in this import nor in the directory`}})
}

func TestParseCSVReaderFailure(t *testing.T) {
	_, _, err := directory.ParseCSV(failingReader{}, directory.ParseOptions{})
	var ie *directory.ImportError
	if err == nil || errors.As(err, &ie) || !errors.Is(err, errDisk) {
		t.Errorf("reader failure: %v; want the I/O error, not an ImportError", err)
	}
}

var errDisk = errors.New("disk on fire")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errDisk }
