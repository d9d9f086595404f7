package directory_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
)

func fhirOptions(existing ...directory.Person) directory.ParseOptions {
	d, _ := directory.NewDirectory(existing, nil)
	return directory.ParseOptions{
		ExistingPerson: d.Get,
		FHIR: directory.FHIROptions{
			PractitionerIdentifierSystem: "https://hr.example.org/employee",
			OrganizationIdentifierSystem: "https://hr.example.org/dept",
		},
	}
}

func TestParseFHIRSampleBundle(t *testing.T) {
	people, depts, err := directory.ParseFHIR(openTestdata(t, "bundle.json"), fhirOptions(person("E999", "surg", "attending", "")))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	wantDepts := []directory.Department{
		{ID: "hosp", Name: "General Hospital"},
		{ID: "med", Name: "Department of Medicine", ParentID: "hosp", LeadID: "E100"},
		{ID: "org-surg", Name: "Surgery", ParentID: "hosp"}, // no identifier of the system: resource id
	}
	if !slices.Equal(depts, wantDepts) {
		t.Errorf("departments:\n%+v\nwant\n%+v", depts, wantDepts)
	}
	wantPeople := []directory.Person{
		{ID: "E100", DisplayName: "Amara Okafor", Email: "amara.okafor@example.org", Department: "med",
			Role: "attending", Site: "north", Active: true},
		{ID: "E200", DisplayName: "Mei Chen", Email: "mei.chen@example.org", Department: "med", Role: "resident",
			TrainingLevel: "PGY-1", Cohort: "2026", Site: "north", SupervisorID: "E100", Active: true},
		{ID: "p-raman", DisplayName: "Priya K. Raman", Department: "org-surg", Role: "resident",
			TrainingLevel: "PGY-3", SupervisorID: "E999", Active: true},
	}
	if !slices.Equal(people, wantPeople) {
		t.Errorf("people:\n%+v\nwant\n%+v", people, wantPeople)
	}
}

func TestParseFHIRWithoutIdentifierSystems(t *testing.T) {
	opts := fhirOptions(person("E999", "surg", "attending", ""))
	opts.FHIR = directory.FHIROptions{}
	people, depts, err := directory.ParseFHIR(openTestdata(t, "bundle.json"), opts)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if got := ids(people); !slices.Equal(got, []string{"p-okafor", "p-chen", "p-raman"}) {
		t.Errorf("person ids %v, want resource ids", got)
	}
	if people[1].SupervisorID != "p-okafor" || people[1].Department != "org-med" || depts[1].ParentID != "org-hosp" {
		t.Errorf("references not mapped to resource ids: %+v %+v", people[1], depts[1])
	}
}

func TestParseFHIRReportsEveryBadEntry(t *testing.T) {
	in := `{"resourceType": "Bundle", "type": "collection", "entry": [
	  {"resource": {"resourceType": "Organization", "id": "o1", "name": "Org", "partOf": {"reference": "Practitioner/x"}}},
	  {"resource": {"resourceType": "Practitioner", "id": "a", "name": [{"text": "A"}],
	     "telecom": [{"system": "email", "value": "not-an-email"}]}},
	  {"resource": {"resourceType": "PractitionerRole", "id": "ra", "practitioner": {"reference": "Practitioner/a"},
	     "organization": {"reference": "Organization/o1"}, "code": [{"text": "resident"}],
	     "extension": [{"url": "https://deiops.org/fhir/StructureDefinition/training-level", "valueBoolean": true}]}},
	  {"resource": {"resourceType": "Patient", "id": "pat1"}},
	  {"resource": {"resourceType": "Practitioner", "id": "b", "name": [{"given": ["B"]}]}},
	  {"resource": {"resourceType": "PractitionerRole", "id": "rx", "practitioner": {"reference": "Practitioner/missing"}}},
	  {"resource": {"resourceType": "PractitionerRole", "id": "ra2", "practitioner": {"reference": "Practitioner/a"},
	     "organization": {"reference": "Organization/o1"}, "code": [{"text": "attending"}]}},
	  {"resource": {"resourceType": "Practitioner", "id": "c", "modifierExtension": [{"url": "http://x"}]}},
	  {"resource": {"resourceType": "Practitioner", "id": "d", "name": [{"text": "D"}],
	     "extension": [{"url": "https://deiops.org/fhir/StructureDefinition/cohort", "valueString": "2026"}]}},
	  {"resource": {"resourceType": "PractitionerRole", "id": "rd", "practitioner": {"reference": "Practitioner/d"},
	     "organization": {"reference": "Organization/o1"}, "code": [{"text": "nurse"}],
	     "extension": [{"url": "https://deiops.org/fhir/StructureDefinition/supervisor", "valueReference": {"reference": "Practitioner/d"}}]}},
	  {"fullUrl": "urn:uuid:1"},
	  {"resource": {"resourceType": "Practitioner", "id": "e", "active": "yes"}}
	]}`
	people, depts, err := directory.ParseFHIR(strings.NewReader(in), directory.ParseOptions{})
	checkProblems(t, people, depts, err, []problem{
		{section: "entry", index: 0, field: "Organization.partOf", reason: "must refer to an Organization"},
		{section: "entry", index: 1, field: "Practitioner.telecom", reason: "not a valid e-mail address"},
		{section: "entry", index: 2, field: "PractitionerRole.extension(https://deiops.org/fhir/StructureDefinition/training-level)", reason: "extension needs valueString"},
		{section: "entry", index: 3, field: "resourceType", reason: "Patient is not imported"},
		{section: "entry", index: 4, reason: "no PractitionerRole in this bundle refers to this Practitioner"},
		{section: "entry", index: 5, field: "PractitionerRole.practitioner", reason: `"Practitioner/missing" is not a Practitioner in this bundle`},
		{section: "entry", index: 6, field: "PractitionerRole", reason: `practitioner "a" already has an active PractitionerRole at entry[2] PractitionerRole/ra`},
		{section: "entry", index: 7, field: "Practitioner.modifierExtension", reason: "not supported"},
		{section: "entry", index: 8, field: "Practitioner.extension(https://deiops.org/fhir/StructureDefinition/cohort)", reason: "deiops extensions belong on the PractitionerRole"},
		{section: "entry", index: 9, field: "PractitionerRole.extension(https://deiops.org/fhir/StructureDefinition/supervisor)", reason: "a person cannot supervise themselves"},
		{section: "entry", index: 10, field: "resource", reason: "entry has no resource"},
		{section: "entry", index: 11, field: "Practitioner", reason: "malformed: active must be bool"},
	})
	ie := importError(t, err)
	if r := ie.Rows[0]; r.ResourceID != "Organization/o1" || !strings.HasPrefix(r.String(), "entry[0] Organization/o1: Organization.partOf: ") {
		t.Errorf("resource id not reported: %+v / %s", r, r)
	}
}

func TestParseFHIRFileProblems(t *testing.T) {
	cases := map[string]problem{
		`{"resourceType": "Patient"}`:                   {field: "resourceType", reason: `"Patient" is not Bundle`},
		`{"resourceType": "Bundle", "entry": {}}`:       {reason: "JSON type error"},
		`{"resourceType": "Bundle", "entry": [}`:        {reason: "JSON syntax error"},
		`{"resourceType": "Bundle"} trailing`:           {reason: "unexpected data after the Bundle"},
		`{"resourceType": "Bundle", "entry": [{}, {}]}`: {section: "entry", index: 1, reason: "more than 1 entries"},
	}
	for in, want := range cases {
		people, depts, err := directory.ParseFHIR(strings.NewReader(in), directory.ParseOptions{MaxRows: 1})
		checkProblems(t, people, depts, err, []problem{want})
	}
}
