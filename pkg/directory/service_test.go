package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/directorytest"
	"github.com/deiops/deiops/pkg/events"
)

type serviceEnv struct {
	store *directorytest.MemoryStore
	svc   *directory.Service
	now   time.Time
	ids   int
}

func newServiceEnv(t *testing.T) *serviceEnv {
	t.Helper()
	store, err := directorytest.NewMemoryStore(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := &serviceEnv{store: store, now: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)}
	env.svc = directory.NewService(store, directory.ServiceOptions{
		Now: func() time.Time { return env.now },
		NewID: func() string {
			env.ids++
			return fmt.Sprintf("imp-%d", env.ids)
		},
	})
	return env
}

func (e *serviceEnv) importCSV(t *testing.T, csv string) (directory.ImportResult, error) {
	t.Helper()
	return e.svc.Import(t.Context(), directory.SourceCSV, strings.NewReader(csv))
}

func (e *serviceEnv) published(t *testing.T) []events.Event {
	t.Helper()
	evs, err := e.store.PublishedEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

const header = "id,display_name,email,department,role,training_level,cohort,site,supervisor_id,active\n"

const roster = header +
	"chief,Amara Okafor,amara@example.org,med,attending,,,north,,true\n" +
	"res1,Mei Chen,mei@example.org,med,resident,PGY-1,2026,north,chief,true\n" +
	"res2,Sam Taylor,sam@example.org,med,resident,PGY-2,2025,south,chief,true\n"

func TestServiceImportCreatesAndPublishes(t *testing.T) {
	env := newServiceEnv(t)
	res, err := env.importCSV(t, roster)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	want := directory.ImportCompleted{ImportID: "imp-1", Source: "csv", Rows: 3, PeopleCreated: 3}
	if !res.Applied || res.ImportID != "imp-1" || res.Source != directory.SourceCSV ||
		res.Counts != (directory.ImportCounts{Rows: 3, PeopleCreated: 3}) {
		t.Errorf("result %+v", res)
	}
	p, err := env.svc.Person(t.Context(), "res1")
	if err != nil {
		t.Fatalf("person: %v", err)
	}
	if !p.UpdatedAt.Equal(env.now) || p.SupervisorID != "chief" || p.DisplayName != "Mei Chen" {
		t.Errorf("stored %+v", p)
	}
	evs := env.published(t)
	if len(evs) != 4 {
		t.Fatalf("published %d events, want 3 PersonUpdated and ImportCompleted: %+v", len(evs), evs)
	}
	created := directory.PersonUpdated{PersonID: "res1", Department: "med", Role: "resident", TrainingLevel: "PGY-1",
		Cohort: "2026", Site: "north", SupervisorID: "chief", Active: true, Change: directory.ChangeCreated}
	if evs[1] != created {
		t.Errorf("event %+v, want %+v", evs[1], created)
	}
	if evs[3] != want {
		t.Errorf("last event %+v, want %+v", evs[3], want)
	}
	// Events carry ids only: no names, no e-mail addresses.
	for _, ev := range evs {
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"Mei", "Chen", "Okafor", "@example.org", "display_name", "email"} {
			if strings.Contains(string(data), secret) {
				t.Errorf("event %s contains %q", data, secret)
			}
		}
	}
}

func TestServiceReimportIsSilent(t *testing.T) {
	env := newServiceEnv(t)
	if _, err := env.importCSV(t, roster); err != nil {
		t.Fatal(err)
	}
	before := len(env.published(t))
	env.now = env.now.Add(time.Hour)
	// Same data, different row order, spacing and case of the header.
	reordered := strings.ToUpper(header[:2]) + header[2:] +
		"res2 , Sam Taylor,sam@example.org,med,resident,PGY-2,2025,south,chief,yes\n" +
		"chief,Amara Okafor,amara@example.org,med,attending,,,north,,\n" +
		"res1,Mei Chen,mei@example.org,med,resident,PGY-1,2026,north,chief,1\n"
	res, err := env.importCSV(t, reordered)
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	if res.Applied || res.Counts.PeopleUnchanged != 3 || res.Counts.PeopleCreated+res.Counts.PeopleUpdated != 0 {
		t.Errorf("re-import result %+v, want nothing applied and 3 unchanged", res)
	}
	if n := len(env.published(t)) - before; n != 0 {
		t.Errorf("re-import published %d events, want none", n)
	}
	if p, _ := env.svc.Person(t.Context(), "res1"); !p.UpdatedAt.Equal(env.now.Add(-time.Hour)) {
		t.Errorf("unchanged person got a new UpdatedAt %v", p.UpdatedAt)
	}
}

func TestServiceImportEmitsPerChangedPersonOnly(t *testing.T) {
	env := newServiceEnv(t)
	if _, err := env.importCSV(t, roster); err != nil {
		t.Fatal(err)
	}
	before := len(env.published(t))
	next := header +
		"chief,Amara Okafor,amara@example.org,med,attending,,,north,,true\n" + // unchanged
		"res1,Mei Chen-Li,mei.li@example.org,med,resident,PGY-1,2026,north,chief,true\n" + // name and e-mail only
		"res2,Sam Taylor,sam@example.org,med,resident,PGY-3,2025,south,chief,false\n" + // deactivated (and level)
		"res3,Noor Haddad,,med,resident,PGY-1,2026,north,res2,true\n" // created under an existing person
	res, err := env.importCSV(t, next)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	counts := directory.ImportCounts{Rows: 4, PeopleCreated: 1, PeopleUpdated: 1, PeopleDeactivated: 1, PeopleUnchanged: 1}
	if res.Counts != counts {
		t.Errorf("counts %+v, want %+v", res.Counts, counts)
	}
	want := directory.ImportCompleted{ImportID: "imp-2", Source: "csv", Rows: 4,
		PeopleCreated: 1, PeopleUpdated: 1, PeopleDeactivated: 1, PeopleUnchanged: 1}
	got := env.published(t)[before:]
	wantEvents := []events.Event{
		directory.PersonUpdated{PersonID: "res2", Department: "med", Role: "resident", TrainingLevel: "PGY-3", Cohort: "2025",
			Site: "south", SupervisorID: "chief", Active: false, Change: directory.ChangeDeactivated},
		directory.PersonUpdated{PersonID: "res3", Department: "med", Role: "resident", TrainingLevel: "PGY-1", Cohort: "2026",
			Site: "north", SupervisorID: "res2", Active: true, Change: directory.ChangeCreated},
		want,
	}
	if fmt.Sprint(got) != fmt.Sprint(wantEvents) {
		t.Errorf("events:\n%+v\nwant (the name-only change publishes nothing):\n%+v", got, wantEvents)
	}
	if p, _ := env.svc.Person(t.Context(), "res1"); p.DisplayName != "Mei Chen-Li" {
		t.Errorf("name change not applied: %+v", p)
	}

	// Reactivation is an update.
	before = len(env.published(t))
	if _, err := env.importCSV(t, header+"res2,Sam Taylor,sam@example.org,med,resident,PGY-3,2025,south,chief,true\n"); err != nil {
		t.Fatal(err)
	}
	if ev := env.published(t)[before].(directory.PersonUpdated); ev.Change != directory.ChangeUpdated || !ev.Active {
		t.Errorf("reactivation event %+v", ev)
	}
}

func TestServiceRejectsBadFileAndAppliesNothing(t *testing.T) {
	env := newServiceEnv(t)
	if _, err := env.importCSV(t, roster); err != nil {
		t.Fatal(err)
	}
	before := len(env.published(t))
	bad := header +
		"res1,Mei Chen,mei@example.org,med,resident,PGY-2,2026,north,chief,true\n" + // valid alone
		"chief,Amara Okafor,amara@example.org,med,attending,,,north,res1,true\n" // with res1: a cycle of two rows
	_, err := env.importCSV(t, bad)
	ie := importError(t, err)
	if len(ie.Rows) != 2 || ie.Rows[0].Line != 2 || ie.Rows[1].Line != 3 || ie.Rows[1].Reason != "forms a cycle: res1 → chief → res1" {
		t.Errorf("problems %+v", ie.Rows)
	}
	if p, _ := env.svc.Person(t.Context(), "res1"); p.TrainingLevel != "PGY-1" {
		t.Errorf("good row of a rejected file was applied: %+v", p)
	}
	if len(env.published(t)) != before {
		t.Errorf("rejected import published events")
	}
}

func TestServiceChecksDepartmentsOnceKnown(t *testing.T) {
	env := newServiceEnv(t)
	// Before any department is imported, department ids are free text.
	if _, err := env.importCSV(t, roster); err != nil {
		t.Fatal(err)
	}
	depts := `{"departments": [{"id": "med", "name": "Medicine"}, {"id": "surg", "name": "Surgery"}],
	  "people": [{"id": "surgeon", "display_name": "S", "department": "surg", "role": "attending", "supervisor_id": "chief"}]}`
	res, err := env.svc.Import(t.Context(), directory.SourceJSON, strings.NewReader(depts))
	if err != nil {
		t.Fatalf("json import: %v", err)
	}
	if res.Counts.DepartmentsCreated != 2 || res.Counts.PeopleCreated != 1 {
		t.Errorf("counts %+v", res.Counts)
	}
	_, err = env.importCSV(t, header+"x,X,,dermatology,staff,,,,,\n")
	if ie := importError(t, err); len(ie.Rows) != 1 || ie.Rows[0].Field != "department" {
		t.Errorf("unknown department after departments exist: %+v", ie.Rows)
	}
	// A department change publishes DepartmentUpdated.
	before := len(env.published(t))
	if _, err := env.svc.Import(t.Context(), directory.SourceJSON, strings.NewReader(`{"departments": [{"id": "surg", "name": "Surgery", "lead_id": "surgeon"}]}`)); err != nil {
		t.Fatal(err)
	}
	want := directory.DepartmentUpdated{DepartmentID: "surg", Name: "Surgery", LeadID: "surgeon", Change: directory.ChangeUpdated}
	if got := env.published(t)[before]; got != want {
		t.Errorf("event %+v, want %+v", got, want)
	}
}

func TestServiceImportFHIR(t *testing.T) {
	env := newServiceEnv(t)
	if _, err := env.importCSV(t, header+"E999,Boss,,surg,chief,,,,,\n"); err != nil {
		t.Fatal(err)
	}
	res, err := env.svc.Import(t.Context(), directory.SourceFHIR, openTestdata(t, "bundle.json"))
	if err != nil {
		t.Fatalf("fhir import: %v", err)
	}
	if res.Counts.PeopleCreated != 3 || res.Counts.DepartmentsCreated != 3 {
		t.Errorf("counts %+v", res.Counts)
	}
	d, err := env.svc.Directory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !d.InChainOf("p-raman", "E999") {
		t.Errorf("supervisor from an existing person not linked")
	}
}

func TestServiceErrors(t *testing.T) {
	env := newServiceEnv(t)
	if _, err := env.svc.Import(t.Context(), "xlsx", strings.NewReader("")); !errors.Is(err, directory.ErrUnknownSource) {
		t.Errorf("unknown source: %v", err)
	}
	if _, err := env.svc.Person(t.Context(), "nobody"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("unknown person: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := env.svc.Import(ctx, directory.SourceCSV, strings.NewReader(roster)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled import: %v", err)
	}
}

// staleStore hands out a snapshot from before a concurrent change, as if
// another import applied between Snapshot and Apply.
type staleStore struct {
	*directorytest.MemoryStore
	stale *directory.Directory
}

func (s staleStore) Snapshot(context.Context) (*directory.Directory, error) { return s.stale, nil }

func TestServiceImportConflict(t *testing.T) {
	env := newServiceEnv(t)
	stale, _ := env.store.Snapshot(t.Context())
	if _, err := env.importCSV(t, roster); err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(staleStore{env.store, stale}, directory.ServiceOptions{})
	_, err := svc.Import(t.Context(), directory.SourceCSV, strings.NewReader(roster))
	if !errors.Is(err, directory.ErrConflict) {
		t.Fatalf("import over a stale snapshot: %v, want ErrConflict", err)
	}
	// Importing again against the current directory is safe and silent.
	res, err := env.importCSV(t, roster)
	if err != nil || res.Applied {
		t.Errorf("retry: %+v, %v", res, err)
	}
}

func TestPlanStampsOnlyChanges(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := person("a", "med", "staff", "")
	old.UpdatedAt = at.Add(-time.Hour)
	snap := mustDirectory(t, []directory.Person{old}, []directory.Department{{ID: "med", Name: "Medicine"}})
	changed := old
	changed.Role = "nurse"
	b, n := directory.Plan(snap, []directory.Person{changed, person("b", "med", "staff", "a")},
		[]directory.Department{{ID: "med", Name: "Medicine"}}, at)
	if len(b.Departments) != 0 || len(b.People) != 2 {
		t.Fatalf("plan %+v", b)
	}
	if b.People[0].Before == nil || !b.People[0].Before.Equal(old) || !b.People[0].After.UpdatedAt.Equal(at) {
		t.Errorf("update change %+v", b.People[0])
	}
	if b.People[1].Before != nil || b.People[1].Event.Change != directory.ChangeCreated {
		t.Errorf("create change %+v", b.People[1])
	}
	if n != (directory.ImportCounts{Rows: 3, PeopleCreated: 1, PeopleUpdated: 1, DepartmentsUnchanged: 1}) || b.Completed != nil {
		t.Errorf("counts %+v, completed %+v", n, b.Completed)
	}
}
