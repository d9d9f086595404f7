package directory_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
)

// FuzzParseCSV: any input either parses into people that form a valid
// directory, or is rejected with an *ImportError that has at least one
// located problem. It never panics.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(roster))
	f.Add([]byte("\ufeffid,display_name,department,role\r\na,A,d,r\r\n"))
	f.Add([]byte("id,display_name,department,role,supervisor_id\na,A,d,r,b\nb,B,d,r,a\n"))
	f.Add([]byte("id,display_name,department,role\n\"a\nb\",x,\"\"\"\",r\n"))
	f.Add([]byte("id,display_name,department,role,active\na,A,d,r,maybe\n"))
	f.Add([]byte(""))
	f.Add([]byte("id,id,,x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := directory.ParseOptions{MaxRows: 50, MaxBytes: 1 << 16}
		people, depts, err := directory.ParseCSV(strings.NewReader(string(data)), opts)
		if err != nil {
			var ie *directory.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("error is not an ImportError: %v", err)
			}
			if len(ie.Rows) == 0 || people != nil || depts != nil {
				t.Fatalf("rejection without problems or with data: %v, %d people", err, len(people))
			}
			for _, r := range ie.Rows {
				if r.Reason == "" || r.Line < 0 {
					t.Fatalf("problem without reason or line: %+v", r)
				}
			}
			return
		}
		if len(people) > opts.MaxRows {
			t.Fatalf("%d people over the row limit", len(people))
		}
		d, err := directory.NewDirectory(people, nil)
		if err != nil {
			t.Fatalf("accepted people do not form a directory: %v", err)
		}
		for _, p := range people {
			if p.SupervisorID == "" {
				continue
			}
			if _, ok := d.Get(p.SupervisorID); !ok {
				t.Fatalf("%s: accepted unknown supervisor %q", p.ID, p.SupervisorID)
			}
			if d.InChainOf(p.SupervisorID, p.ID) {
				t.Fatalf("%s: accepted a supervisor cycle", p.ID)
			}
		}
	})
}

// FuzzParseJSON and FuzzParseFHIR hold the parsers to the same promise.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"departments": [{"id": "d", "name": "D", "parent_id": "e"}], "people": [{"id": "a", "display_name": "A", "department": "d", "role": "r", "active": false}]}`))
	f.Add([]byte(`{"people": [{"id": 1}, [], null, {"x": {}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParsed(t, directory.ParseJSON, data)
	})
}

func FuzzParseFHIR(f *testing.F) {
	f.Add([]byte(`{"resourceType": "Bundle", "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Practitioner", "id": "p", "name": [{"text": "P"}]}},
	  {"resource": {"resourceType": "PractitionerRole", "practitioner": {"reference": "urn:uuid:1"}, "organization": {"reference": "Organization/o"}, "code": [{"text": "r"}],
	   "extension": [{"url": "https://deiops.org/fhir/StructureDefinition/supervisor", "valueReference": {"reference": "Practitioner/p"}}]}},
	  {"resource": {"resourceType": "Organization", "id": "o", "name": "O", "partOf": {"reference": "Organization/o/_history/1"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParsed(t, directory.ParseFHIR, data)
	})
}

func checkParsed(t *testing.T, parse func(io.Reader, directory.ParseOptions) ([]directory.Person, []directory.Department, error), data []byte) {
	people, depts, err := parse(bytes.NewReader(data), directory.ParseOptions{MaxRows: 50, MaxBytes: 1 << 16})
	if err != nil {
		var ie *directory.ImportError
		if !errors.As(err, &ie) || len(ie.Rows) == 0 || people != nil || depts != nil {
			t.Fatalf("bad rejection: %v", err)
		}
		return
	}
	if _, err := directory.NewDirectory(people, depts); err != nil {
		t.Fatalf("accepted rows do not form a directory: %v", err)
	}
}
