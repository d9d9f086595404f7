package httpapi

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/caller"
)

// committedDoc is the document of sampleRouter, committed the way services
// commit docs/openapi/<target>.json. Regenerate with UPDATE_OPENAPI=1.
const committedDoc = "testdata/openapi.json"

func sampleDocument(rt *Router) map[string]any {
	return rt.OpenAPI("deiops sample", "1.0.0", "http://localhost:8080")
}

func TestCommittedDocumentMatches(t *testing.T) {
	doc := sampleDocument(sampleRouter(RouterOptions{}))
	if os.Getenv("UPDATE_OPENAPI") == "1" {
		b, err := MarshalDocument(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(committedDoc, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(committedDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDocument(doc, committed); err != nil {
		t.Fatal(err)
	}
	// The committed bytes are exactly what MarshalDocument writes, so
	// regenerating does not churn the file.
	b, _ := MarshalDocument(doc)
	if string(b) != string(committed) {
		t.Error("committed document is not in canonical form")
	}
}

func TestCheckDocumentDetectsDrift(t *testing.T) {
	committed, err := os.ReadFile(committedDoc)
	if err != nil {
		t.Fatal(err)
	}
	ok := func(http.ResponseWriter, *http.Request) {}
	tests := []struct {
		name        string
		change      func(rt *Router) *Router
		wantMissing []string
		wantExtra   []string
		wantChanged []string
	}{
		{
			name: "route registered but not committed",
			change: func(rt *Router) *Router {
				rt.HandleFunc(Operation{Method: "DELETE", Path: "/v1/cases/{id}", ID: "deleteCase", Roles: []caller.Role{caller.Admin}}, ok)
				return rt
			},
			wantMissing: []string{"DELETE /v1/cases/{id} (deleteCase)"},
		},
		{
			name: "committed route no longer served",
			change: func(*Router) *Router {
				rt := NewRouter(RouterOptions{})
				rt.HandleFunc(Operation{Method: "GET", Path: "/v1/trainings", ID: "listTrainings", Summary: "List trainings",
					Tags: []string{"awareness"}, Responses: map[int]any{200: []note{}}, Public: true}, ok)
				return rt
			},
			wantExtra: []string{"POST /v1/cases/{id}/notes (addNote)"},
		},
		{
			name: "route changed",
			change: func(*Router) *Router {
				rt := NewRouter(RouterOptions{})
				rt.HandleFunc(Operation{Method: "POST", Path: "/v1/cases/{id}/notes", ID: "addNote", Summary: "Add a note to a case",
					Tags: []string{"cases"}, Request: createNote{}, Responses: map[int]any{201: note{}, 404: nil},
					Roles: []caller.Role{caller.Resolver, caller.Admin}, Restricted: true}, ok)
				rt.HandleFunc(Operation{Method: "GET", Path: "/v1/trainings", ID: "listTrainings", Summary: "List trainings",
					Tags: []string{"awareness"}, Responses: map[int]any{200: []note{}}, Public: true}, ok)
				return rt
			},
			wantChanged: []string{"POST /v1/cases/{id}/notes (addNote)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := tc.change(sampleRouter(RouterOptions{}))
			err := CheckDocument(sampleDocument(rt), committed)
			var diff *DocumentDiff
			if !errors.As(err, &diff) {
				t.Fatalf("want a *DocumentDiff, got %v", err)
			}
			if strings.Join(diff.Missing, "|") != strings.Join(tc.wantMissing, "|") ||
				strings.Join(diff.Extra, "|") != strings.Join(tc.wantExtra, "|") ||
				strings.Join(diff.Changed, "|") != strings.Join(tc.wantChanged, "|") || len(diff.Other) != 0 {
				t.Errorf("diff = %+v", diff)
			}
			for _, op := range append(append(tc.wantMissing, tc.wantExtra...), tc.wantChanged...) {
				if !strings.Contains(err.Error(), op) {
					t.Errorf("message does not name %s:\n%s", op, err)
				}
			}
		})
	}
}

func TestCheckDocumentReportsOtherDifferences(t *testing.T) {
	committed, err := os.ReadFile(committedDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := sampleRouter(RouterOptions{}).OpenAPI("deiops sample", "2.0.0", "http://localhost:8080")
	var diff *DocumentDiff
	if err := CheckDocument(doc, committed); !errors.As(err, &diff) || strings.Join(diff.Other, ",") != "info" {
		t.Fatalf("want info reported, got %v", err)
	}
	if err := CheckDocument(doc, []byte("{not json")); err == nil || errors.As(err, &diff) {
		t.Fatalf("want a parse error, got %v", err)
	}
}
