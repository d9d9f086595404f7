package openapilint

import (
	"path/filepath"
	"strings"
	"testing"
)

// The published HTTP contract: every committed document is valid OpenAPI.
func TestCommittedDocumentsAreValidOpenAPI(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "openapi", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("want the documents of all, awareness, connection and resolution in docs/openapi, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			problems := LintFile(f)
			for _, p := range problems {
				t.Error(p)
			}
			if len(problems) > 0 {
				t.Errorf("%s: %d validation errors; fix the route metadata (pkg/httpapi) and run `make docs`", f, len(problems))
			}
		})
	}
}

// The lint is not vacuous: it reports an invalid document, with each problem.
func TestLintReportsInvalidDocuments(t *testing.T) {
	cases := map[string]struct {
		spec, want string
	}{
		"missing info": {
			spec: `{"openapi": "3.1.0", "paths": {}}`,
			want: "info",
		},
		"response without description": {
			spec: `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
				"paths": {"/x": {"get": {"responses": {"200": {}}}}}}`,
			want: "description",
		},
		"unresolved reference": {
			spec: `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
				"paths": {"/x": {"get": {"responses": {"401": {"description": "no",
					"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}}`,
			want: "Missing",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			problems := Lint([]byte(c.spec))
			if len(problems) == 0 {
				t.Fatal("no problem reported")
			}
			var all []string
			for _, p := range problems {
				all = append(all, p.Error())
			}
			if joined := strings.Join(all, "\n"); !strings.Contains(joined, c.want) {
				t.Errorf("problems do not mention %q:\n%s", c.want, joined)
			}
		})
	}
}

func TestLintAcceptsAValidDocument(t *testing.T) {
	spec := `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
		"servers": [{"url": "http://localhost:8080"}],
		"paths": {"/x": {"get": {"operationId": "x", "responses": {"204": {"description": "No Content"}}}}}}`
	if problems := Lint([]byte(spec)); len(problems) > 0 {
		t.Errorf("valid document reported: %v", problems)
	}
}
