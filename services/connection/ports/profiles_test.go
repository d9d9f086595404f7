package ports_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/connection/internal/testenv"
	"github.com/deiops/deiops/services/connection/ports"
)

const secretAffinity = "zz-secret-affinity"

var (
	staff = []string{"staff"}
	coord = []string{"coordinator"}
)

func person(id, supervisor string) directory.Person {
	return directory.Person{ID: id, DisplayName: "P " + id, Department: "med", Role: "resident", SupervisorID: supervisor, Active: true}
}

func profile(seeking bool, capacity int, interests ...string) ports.ProfileRequest {
	return ports.ProfileRequest{Interests: interests, Specialty: "internal medicine", Languages: []string{"english"},
		TimeZone: "America/Chicago", SeekingMentor: seeking, MentorCapacity: capacity,
		Availability: []ports.WindowBody{{Day: "tue", Start: 17, End: 19}}}
}

func problemFields(t *testing.T, body string) []string {
	t.Helper()
	var p struct {
		Errors []httpapi.FieldError `json:"errors"`
	}
	if err := jsonUnmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func TestProfileOnlyTheOwnerWritesAndSeesRestrictedFields(t *testing.T) {
	e := testenv.New(t, person("ana", ""), person("ben", ""))
	req := profile(true, 0, "research")
	req.Affinities = []string{secretAffinity}
	req.WantsAffinity = true
	var own ports.ProfileResponse
	e.Must(t, 200, http.MethodPut, "/v1/connection/profiles/ana", "ana", staff, req, &own)
	if len(own.Affinities) != 1 || !own.WantsAffinity {
		t.Fatalf("own view lacks affinities: %+v", own)
	}
	// Another person may not write or read it.
	if rec := e.Do(t, http.MethodPut, "/v1/connection/profiles/ana", "ben", staff, req); rec.Code != 403 {
		t.Fatalf("ben wrote ana's profile: %d", rec.Code)
	}
	if rec := e.Do(t, http.MethodGet, "/v1/connection/profiles/ana", "ben", staff, nil); rec.Code != 403 {
		t.Fatalf("ben read ana's profile: %d", rec.Code)
	}
	// A coordinator reads it without the restricted fields.
	rec := e.Do(t, http.MethodGet, "/v1/connection/profiles/ana", "cora", coord, nil)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), secretAffinity) || strings.Contains(rec.Body.String(), "wants_affinity") {
		t.Fatalf("coordinator view: %d %s", rec.Code, rec.Body.String())
	}
	// At rest the affinity is sealed.
	raw, err := e.Stores.Profiles.KV().Get(context.Background(), "ana")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw.Value()), secretAffinity) {
		t.Fatal("affinity stored in clear")
	}
	// Events and logs never carry it.
	e.WaitEvents(t, ".profile.opted_in", 1)
	assertNoLeak(t, e, secretAffinity)
}

func TestProfileBadInputNamesEachField(t *testing.T) {
	e := testenv.New(t, person("ana", ""))
	req := profile(true, -1)
	req.TimeZone = "Mars/Olympus"
	req.Availability = []ports.WindowBody{{Day: "someday", Start: 20, End: 19}}
	rec := e.Do(t, http.MethodPut, "/v1/connection/profiles/ana", "ana", staff, req)
	if rec.Code != 422 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	got := strings.Join(problemFields(t, rec.Body.String()), ",")
	for _, f := range []string{"mentor_capacity", "time_zone", "availability[0].day", "availability[0].end"} {
		if !strings.Contains(got, f) {
			t.Errorf("problem does not name %s: %s", f, got)
		}
	}
	if rec := e.Do(t, http.MethodPut, "/v1/connection/profiles/ana", "ana", staff, `{"time_zone":"UTC","seeking_mentor":true,"bogus":1}`); rec.Code != 400 && rec.Code != 422 {
		t.Fatalf("unknown field accepted: %d", rec.Code)
	}
}

func TestWithdrawalErasesTheProfile(t *testing.T) {
	e := testenv.New(t, person("ana", ""))
	req := profile(true, 0, "research")
	req.Affinities = []string{secretAffinity}
	e.Must(t, 200, http.MethodPut, "/v1/connection/profiles/ana", "ana", staff, req, nil)
	if rec := e.Do(t, http.MethodPost, "/v1/connection/profiles/ana/withdraw", "ben", staff, nil); rec.Code != 403 {
		t.Fatalf("ben withdrew ana: %d", rec.Code)
	}
	e.Must(t, 204, http.MethodPost, "/v1/connection/profiles/ana/withdraw", "ana", staff, nil, nil)
	e.Must(t, 204, http.MethodPost, "/v1/connection/profiles/ana/withdraw", "ana", staff, nil, nil) // idempotent
	var own ports.ProfileResponse
	e.Must(t, 200, http.MethodGet, "/v1/connection/profiles/ana", "ana", staff, nil, &own)
	if own.OptedIn || len(own.Interests) != 0 || len(own.Affinities) != 0 {
		t.Fatalf("withdrawn profile keeps content: %+v", own)
	}
	if rec := e.Do(t, http.MethodGet, "/v1/connection/profiles/ana", "cora", coord, nil); rec.Code != 404 {
		t.Fatalf("coordinator sees a withdrawn profile: %d", rec.Code)
	}
	e.WaitEvents(t, ".profile.withdrawn", 1)
	if n := e.Count(".profile.withdrawn"); n != 1 {
		t.Fatalf("%d withdrawn events", n)
	}
}
