package directory_test

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/jsonschema"
)

func TestEventsDeclareValidCatalog(t *testing.T) {
	cat, err := events.NewCatalog(directory.Events()...)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	var types, subjects []string
	for _, e := range cat.Entries() {
		types = append(types, e.Type())
		subjects = append(subjects, e.Subject())
		if e.Internal {
			t.Errorf("%s is internal; directory events are for integrators", e.Type())
		}
	}
	wantTypes := []string{
		"org.deiops.directory.department.updated.v1",
		"org.deiops.directory.import.completed.v1",
		"org.deiops.directory.person.updated.v1",
	}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("types %v", types)
	}
	if !slices.Contains(subjects, "dei.directory.person.updated") {
		t.Errorf("subjects %v", subjects)
	}
}

func TestEventSchemasDescribeEveryFieldAndNoIdentity(t *testing.T) {
	for _, ev := range directory.Events() {
		s := jsonschema.For(reflect.TypeOf(ev))
		props, _ := s["properties"].(jsonschema.Schema)
		if len(props) == 0 {
			t.Fatalf("%T: no properties", ev)
		}
		for name, p := range props {
			if d, _ := p.(jsonschema.Schema)["description"].(string); d == "" {
				t.Errorf("%T.%s has no description", ev, name)
			}
		}
		for _, forbidden := range []string{"display_name", "name_", "email"} {
			if _, ok := props[forbidden]; ok {
				t.Errorf("%T carries %s", ev, forbidden)
			}
		}
	}
	props := jsonschema.For(reflect.TypeOf(directory.PersonUpdated{}))["properties"].(jsonschema.Schema)
	if enum := props["change"].(jsonschema.Schema)["enum"]; fmt.Sprint(enum) != "[created updated deactivated]" {
		t.Errorf("change enum %v", enum)
	}
}

// TestEventIDPatternsMatchValidation keeps the published schema patterns in
// step with the id rule the directory enforces.
func TestEventIDPatternsMatchValidation(t *testing.T) {
	props := jsonschema.For(reflect.TypeOf(directory.PersonUpdated{}))["properties"].(jsonschema.Schema)
	pattern, _ := props["person_id"].(jsonschema.Schema)["pattern"].(string)
	re := regexp.MustCompile(pattern)
	for _, id := range []string{"a", "E100", "x.y_z:1-2", strings.Repeat("a", 128), "", "a b", "a/b", strings.Repeat("a", 129), "é"} {
		if got, want := re.MatchString(id), directory.ValidID(id); got != want {
			t.Errorf("id %q: schema pattern says %v, ValidID says %v", id, got, want)
		}
	}
}
