package directoryhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/directoryhttp"
	"github.com/deiops/deiops/pkg/directory/directorytest"
	"github.com/deiops/deiops/pkg/httpapi"
)

const header = "id,display_name,email,department,role,training_level,cohort,site,supervisor_id,active\n"

const roster = header +
	"chief,Amara Okafor,amara@example.org,med,attending,,,north,,true\n" +
	"att,Luis Fernandez,luis@example.org,med,attending,,,north,chief,true\n" +
	"res1,Mei Chen,mei@example.org,med,resident,PGY-1,2026,north,att,true\n"

type env struct {
	store   *directorytest.MemoryStore
	handler http.Handler
}

func newEnv(t *testing.T, store directory.Store) *env {
	t.Helper()
	mem, err := directorytest.NewMemoryStore(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		store = mem
	}
	r := httpapi.NewRouter(httpapi.RouterOptions{})
	directoryhttp.Routes(r, directory.NewService(store, directory.ServiceOptions{}))
	return &env{store: mem, handler: r}
}

// do sends a request as a caller holding roles; authentication itself is
// the composition root's route middleware, not part of these routes.
func (e *env) do(t *testing.T, method, path, contentType string, body io.Reader, roles ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req = req.WithContext(auth.WithPrincipal(req.Context(), &auth.Principal{Subject: "user-1", Roles: roles}))
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

func problem(t *testing.T, rec *httptest.ResponseRecorder, status int) httpapi.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Errorf("content type %q, want %s", ct, httpapi.ProblemContentType)
	}
	return decode[httpapi.Problem](t, rec, status)
}

func TestImportCSVThenReadPeople(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.do(t, http.MethodPost, "/v1/directory/imports", "text/csv; charset=utf-8", strings.NewReader(roster), "dei_officer")
	res := decode[directoryhttp.ImportResponse](t, rec, http.StatusOK)
	if !res.Applied || res.Source != "csv" || res.ImportID == "" || res.Counts.Rows != 3 || res.Counts.PeopleCreated != 3 {
		t.Fatalf("import response %+v", res)
	}

	// Supervisors see names but no e-mail addresses.
	rec = e.do(t, http.MethodGet, "/v1/directory/people/res1", "", nil, "supervisor")
	p := decode[directoryhttp.Person](t, rec, http.StatusOK)
	want := directoryhttp.Person{ID: "res1", DisplayName: "Mei Chen", Department: "med", Role: "resident",
		TrainingLevel: "PGY-1", Cohort: "2026", Site: "north", SupervisorID: "att", Active: true}
	if p != want {
		t.Errorf("person %+v, want %+v", p, want)
	}
	if strings.Contains(rec.Body.String(), "email") {
		t.Errorf("e-mail field shown to a supervisor: %s", rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on a restricted response", cc)
	}
	rec = e.do(t, http.MethodGet, "/v1/directory/people/res1", "", nil, "admin")
	if p := decode[directoryhttp.Person](t, rec, http.StatusOK); p.Email != "mei@example.org" {
		t.Errorf("admin sees e-mail %q", p.Email)
	}

	rec = e.do(t, http.MethodGet, "/v1/directory/people/res1/chain", "", nil, "program_director")
	chain := decode[directoryhttp.SupervisorChain](t, rec, http.StatusOK)
	if chain.PersonID != "res1" || !slices.Equal(chain.SupervisorIDs, []string{"att", "chief"}) {
		t.Errorf("chain %+v", chain)
	}
	rec = e.do(t, http.MethodGet, "/v1/directory/people/chief/chain", "", nil, "program_director")
	if got := rec.Body.String(); !strings.Contains(got, `"supervisor_ids":[]`) {
		t.Errorf("top of the chain: %s, want an empty list", got)
	}

	// The same file again changes nothing.
	rec = e.do(t, http.MethodPost, "/v1/directory/imports", "text/csv", strings.NewReader(roster), "admin")
	if res := decode[directoryhttp.ImportResponse](t, rec, http.StatusOK); res.Applied || res.Counts.PeopleUnchanged != 3 {
		t.Errorf("re-import %+v", res)
	}
}

func TestImportRejectsEveryBadLineAndAppliesNothing(t *testing.T) {
	e := newEnv(t, nil)
	csv := header +
		"chief,Amara Okafor,amara@example.org,med,attending,,,north,,true\n" +
		"res1,Mei Chen,not-an-address,med,resident,PGY-1,2026,north,chief,true\n" +
		"res2,,sam@example.org,med,resident,PGY-2,2025,south,nobody,maybe\n"
	rec := e.do(t, http.MethodPost, "/v1/directory/imports", "text/csv", strings.NewReader(csv), "admin")
	p := problem(t, rec, http.StatusUnprocessableEntity)
	var fields []string
	for _, fe := range p.Errors {
		if fe.Reason == "" {
			t.Errorf("problem %q without a reason", fe.Field)
		}
		fields = append(fields, fe.Field)
	}
	want := []string{"line 3: email", "line 4: display_name", "line 4: active", "line 4: supervisor_id"}
	if !sameSet(fields, want) {
		t.Errorf("problems at %q, want %q", fields, want)
	}
	if !strings.Contains(p.Detail, "nothing was applied") {
		t.Errorf("detail %q", p.Detail)
	}
	if d, err := e.store.Snapshot(t.Context()); err != nil || d.Len() != 0 {
		t.Errorf("rejected import stored people: %v", err)
	}
	if evs, _ := e.store.PublishedEvents(t.Context()); len(evs) != 0 {
		t.Errorf("rejected import published %d events", len(evs))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestImportUnsupportedContentType(t *testing.T) {
	e := newEnv(t, nil)
	for _, ct := range []string{"", "text/plain", "application/xml", "text/csv; charset=latin1", "not a media type"} {
		rec := e.do(t, http.MethodPost, "/v1/directory/imports", ct, strings.NewReader(roster), "admin")
		problem(t, rec, http.StatusUnsupportedMediaType)
	}
	if d, _ := e.store.Snapshot(t.Context()); d.Len() != 0 {
		t.Errorf("an unsupported upload was applied")
	}
}

func TestImportJSONAndFHIR(t *testing.T) {
	for _, tc := range []struct{ file, contentType, source string }{
		{"import.json", "application/json", "json"},
		{"bundle.json", "application/fhir+json", "fhir"},
	} {
		t.Run(tc.source, func(t *testing.T) {
			e := newEnv(t, nil)
			// The bundle names a supervisor who must already be known.
			rec := e.do(t, http.MethodPost, "/v1/directory/imports", "text/csv", strings.NewReader(header+"E999,Boss,,surg,chief,,,,,\n"), "admin")
			decode[directoryhttp.ImportResponse](t, rec, http.StatusOK)
			f, err := os.Open("../testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rec = e.do(t, http.MethodPost, "/v1/directory/imports", tc.contentType, f, "admin")
			res := decode[directoryhttp.ImportResponse](t, rec, http.StatusOK)
			if res.Source != tc.source || !res.Applied || res.Counts.PeopleCreated == 0 {
				t.Errorf("import response %+v", res)
			}
		})
	}
}

func TestImportBodyLimit(t *testing.T) {
	e := newEnv(t, nil)
	limited := httpapi.LimitBody(64)(e.handler)
	// No declared length, as with a chunked upload: the limit cuts the
	// body while the parser reads it.
	req := httptest.NewRequest(http.MethodPost, "/v1/directory/imports", io.MultiReader(strings.NewReader(roster)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "text/csv")
	req = req.WithContext(auth.WithPrincipal(req.Context(), &auth.Principal{Subject: "user-1", Roles: []string{"admin"}}))
	rec := httptest.NewRecorder()
	limited.ServeHTTP(rec, req)
	problem(t, rec, http.StatusRequestEntityTooLarge)
	if d, _ := e.store.Snapshot(t.Context()); d.Len() != 0 {
		t.Errorf("a cut-off upload was applied")
	}
}

// conflicting is a store whose every Apply loses a race.
type conflicting struct{ directory.Store }

func (conflicting) Apply(context.Context, directory.Batch) error {
	return errors.Join(errors.New("person res1 changed"), directory.ErrConflict)
}

func TestImportConflictIs409(t *testing.T) {
	mem, err := directorytest.NewMemoryStore(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, conflicting{mem})
	rec := e.do(t, http.MethodPost, "/v1/directory/imports", "text/csv", strings.NewReader(roster), "admin")
	problem(t, rec, http.StatusConflict)
}

func TestUnknownPersonIs404(t *testing.T) {
	e := newEnv(t, nil)
	e.do(t, http.MethodPost, "/v1/directory/imports", "text/csv", strings.NewReader(roster), "admin")
	for _, path := range []string{
		"/v1/directory/people/nobody",
		"/v1/directory/people/nobody/chain",
		"/v1/directory/people/not%20an%20id",
	} {
		p := problem(t, e.do(t, http.MethodGet, path, "", nil, "admin"), http.StatusNotFound)
		if p.Detail != "" {
			t.Errorf("%s: 404 detail %q says more than nothing", path, p.Detail)
		}
	}
}

func TestRoutesDeclareRoles(t *testing.T) {
	r := httpapi.NewRouter(httpapi.RouterOptions{})
	directoryhttp.Routes(r, nil)
	want := map[string][]string{
		"importDirectory":             {"admin", "dei_officer"},
		"getDirectoryPerson":          {"admin", "dei_officer", "program_director", "supervisor"},
		"getDirectorySupervisorChain": {"admin", "dei_officer", "program_director", "supervisor"},
	}
	for _, op := range r.Operations() {
		if !sameSet(caller.Names(op.Roles...), want[op.ID]) || op.Public {
			t.Errorf("%s: roles %v (public %v), want %v", op.ID, op.Roles, op.Public, want[op.ID])
		}
		delete(want, op.ID)
	}
	if len(want) != 0 {
		t.Errorf("routes not registered: %v", want)
	}
}
