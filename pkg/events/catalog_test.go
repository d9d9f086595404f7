package events_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/events"
)

// Sample declarations: a v1 and its v2 published side by side, another
// service's event, and an internal event.

type route struct {
	Role string    `json:"role" desc:"Role the case is routed to." enum:"resolver,lead,officer"`
	Due  time.Time `json:"due" desc:"When the role must act."`
}

type caseEscalated struct {
	CaseID      string    `json:"case_id" desc:"Id of the case." format:"uuid"`
	Level       int       `json:"level" desc:"Escalation level reached." minimum:"1"`
	EscalatedAt time.Time `json:"escalated_at"`
	Routes      []route   `json:"routes"`
	Department  *string   `json:"department,omitempty" desc:"Department id, when the case has one."`
}

func (caseEscalated) EventSpec() events.Spec {
	return events.Spec{Service: "resolution", Entity: "case", Action: "escalated", Version: 1,
		Summary: "A case moved one level up its escalation policy."}
}

type caseEscalatedV2 struct {
	CaseID string `json:"case_id"`
	Level  string `json:"level" enum:"department,institution,external"`
}

func (caseEscalatedV2) EventSpec() events.Spec {
	return events.Spec{Service: "resolution", Entity: "case", Action: "escalated", Version: 2,
		Summary: "A case moved up its escalation policy (named levels)."}
}

type trainingCompleted struct {
	AssignmentID string            `json:"assignment_id"`
	PersonID     string            `json:"person_id" desc:"Directory id of the person | not a name."`
	CompletedAt  time.Time         `json:"completed_at"`
	Scores       map[string]int    `json:"scores,omitempty"`
	Labels       map[string]string `json:"labels"`
}

func (trainingCompleted) EventSpec() events.Spec {
	return events.Spec{Service: "awareness", Entity: "training", Action: "completed", Version: 1,
		Summary: "A person completed an assigned training."}
}

type caseRouted struct {
	CaseID     string `json:"case_id"`
	ResolverID string `json:"resolver_id"`
}

func (caseRouted) EventSpec() events.Spec {
	return events.Spec{Service: "resolution", Entity: "case", Action: "routed", Version: 1, Internal: true,
		Summary: "A case was routed to a resolver."}
}

func sampleEvents() []events.Event {
	return []events.Event{caseEscalated{}, caseEscalatedV2{}, trainingCompleted{}, caseRouted{}}
}

func testCatalog(t testing.TB) *events.Catalog {
	t.Helper()
	c, err := events.NewCatalog(sampleEvents()...)
	if err != nil {
		t.Fatalf("NewCatalog: %v", err)
	}
	return c
}

func testInfo() events.Info {
	return events.Info{Title: "deiops events", Version: "1.0.0", Host: "nats.example.org:4222"}
}

func TestCatalogEntriesSortedAndLookup(t *testing.T) {
	c := testCatalog(t)
	var types []string
	for _, e := range c.Entries() {
		types = append(types, e.Type())
	}
	want := []string{
		"org.deiops.awareness.training.completed.v1",
		"org.deiops.resolution.case.escalated.v1",
		"org.deiops.resolution.case.escalated.v2",
		"org.deiops.resolution.case.routed.v1",
	}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("entries = %v, want %v", types, want)
	}
	e, ok := c.Lookup("org.deiops.resolution.case.escalated.v2")
	if !ok || e.GoType != reflect.TypeFor[caseEscalatedV2]() {
		t.Fatalf("Lookup v2 = %v, %v", e, ok)
	}
	if _, ok := c.Lookup("org.deiops.nothing.v1"); ok {
		t.Fatal("Lookup of an unknown type succeeded")
	}
}

func TestCatalogPublic(t *testing.T) {
	p := testCatalog(t).Public()
	if len(p.Entries()) != 3 {
		t.Fatalf("public entries = %d, want 3", len(p.Entries()))
	}
	for _, e := range p.Entries() {
		if e.Internal {
			t.Errorf("public catalog holds internal %s", e.Type())
		}
	}
	if _, ok := p.Lookup("org.deiops.resolution.case.routed.v1"); ok {
		t.Error("public catalog looks up an internal type")
	}
}

func TestCatalogStreams(t *testing.T) {
	got := testCatalog(t).Streams()
	want := []events.Stream{
		{Name: "DEI_AWARENESS", Subjects: []string{"dei.awareness.>"}},
		{Name: "DEI_RESOLUTION", Subjects: []string{"dei.resolution.>"}},
		{Name: "DEI_RESOLUTION_INTERNAL", Subjects: []string{"deiops.internal.resolution.>"}, Internal: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Streams() = %+v, want %+v", got, want)
	}
}

func TestCatalogMerge(t *testing.T) {
	a, err := events.NewCatalog(caseEscalated{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := events.NewCatalog(trainingCompleted{}, caseEscalated{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Merge(b)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if len(m.Entries()) != 2 {
		t.Fatalf("merged entries = %d, want 2", len(m.Entries()))
	}
}

type clashingSubject struct{}

func (clashingSubject) EventSpec() events.Spec {
	// The type of caseEscalated, declared again on another struct.
	return events.Spec{Service: "resolution", Entity: "case", Action: "escalated", Version: 1, Summary: "x"}
}

type badName struct{}

func (badName) EventSpec() events.Spec {
	return events.Spec{Service: "Resolution", Entity: "case", Action: "escalated", Version: 1, Summary: "x"}
}

type pointerDeclared struct{}

func (*pointerDeclared) EventSpec() events.Spec {
	return events.Spec{Service: "resolution", Entity: "case", Action: "pointed", Version: 1, Summary: "x"}
}

func TestNewCatalogRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		evs  []events.Event
		want string
	}{
		"same type, other struct": {[]events.Event{caseEscalated{}, clashingSubject{}}, "declared twice"},
		"invalid spec":            {[]events.Event{badName{}}, `service "Resolution"`},
		"pointer declaration":     {[]events.Event{&pointerDeclared{}}, "struct value"},
		"nil declaration":         {[]events.Event{nil}, "nil"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := events.NewCatalog(tc.evs...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewCatalog error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestNewCatalogSameStructTwice(t *testing.T) {
	c, err := events.NewCatalog(caseEscalated{}, caseEscalated{})
	if err != nil {
		t.Fatalf("NewCatalog: %v", err)
	}
	if len(c.Entries()) != 1 {
		t.Fatalf("entries = %d, want 1", len(c.Entries()))
	}
}
