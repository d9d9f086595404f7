package ports_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/services/connection/internal/testenv"
	"github.com/deiops/deiops/services/connection/ports"
)

// TestAuthorizationMatrix checks, for every platform role: only the person
// edits or withdraws their profile (whatever their roles); only
// coordinators run, review and publish rounds; only the listed roles
// schedule gatherings and create groups; only a group's leaders post
// announcements (not even admins); only a gathering's organiser reads its
// story-circle topics.
func TestAuthorizationMatrix(t *testing.T) {
	e := testenv.New(t, person("ana", ""))
	e.Must(t, 200, http.MethodPut, "/v1/connection/profiles/ana", "ana", staff, profile(true, 0, "research"), nil)
	var round ports.RoundResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/rounds", "cora", coord, ports.RoundRequest{Program: "gme"}, &round)
	var g ports.GroupResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/groups", "cora", coord,
		ports.GroupRequest{Name: "Parents in medicine", Kind: "interest", Visibility: "public", Leaders: []string{"lea"}}, &g)
	sc := schedule(t, e, "story_circle", 5)

	organisers := []string{"coordinator", "dei_officer", "program_director", "department_lead", "supervisor", "admin"}
	creators := []string{"coordinator", "dei_officer", "admin"}
	for _, r := range caller.Roles() {
		role := string(r)
		roles := []string{role}
		check := func(what string, got, want int) {
			t.Helper()
			if got != want {
				t.Errorf("%s as %s: %d, want %d", what, role, got, want)
			}
		}
		check("write another's profile", e.Do(t, http.MethodPut, "/v1/connection/profiles/ana", "x-"+role, roles, profile(true, 0)).Code, 403)
		check("withdraw another's profile", e.Do(t, http.MethodPost, "/v1/connection/profiles/ana/withdraw", "x-"+role, roles, nil).Code, 403)
		read := 403
		if role == "coordinator" || role == "admin" {
			read = 200
		}
		check("read another's profile", e.Do(t, http.MethodGet, "/v1/connection/profiles/ana", "x-"+role, roles, nil).Code, read)
		run, review := 403, 403
		if role == "coordinator" {
			run, review = 201, 200
		}
		check("run a round", e.Do(t, http.MethodPost, "/v1/connection/rounds", "x-"+role, roles, ports.RoundRequest{Program: "gme"}).Code, run)
		check("review a round", e.Do(t, http.MethodGet, "/v1/connection/rounds/"+round.ID, "x-"+role, roles, nil).Code, review)
		sched := 403
		if slices.Contains(organisers, role) {
			sched = 422 // allowed; the empty body is then invalid
		}
		check("schedule a gathering", e.Do(t, http.MethodPost, "/v1/connection/gatherings", "x-"+role, roles, ports.GatheringRequest{}).Code, sched)
		create := 403
		if slices.Contains(creators, role) {
			create = 422
		}
		check("create a group", e.Do(t, http.MethodPost, "/v1/connection/groups", "x-"+role, roles, ports.GroupRequest{}).Code, create)
		check("announce in another's group", e.Do(t, http.MethodPost, "/v1/connection/groups/"+g.ID+"/announcements", "x-"+role, roles, ports.AnnouncementRequest{Text: "hi"}).Code, 403)
		check("read another's topics", e.Do(t, http.MethodGet, "/v1/connection/gatherings/"+sc.ID+"/topics", "x-"+role, roles, nil).Code, 403)
	}
	// The owner, the leader and the organiser, with the plainest role.
	e.Must(t, 200, http.MethodPut, "/v1/connection/profiles/ana", "ana", staff, profile(true, 0, "teaching"), nil)
	e.Must(t, 201, http.MethodPost, "/v1/connection/groups/"+g.ID+"/announcements", "lea", staff, ports.AnnouncementRequest{Text: "hi"}, nil)
	e.Must(t, 200, http.MethodGet, "/v1/connection/gatherings/"+sc.ID+"/topics", "olga", organizer, nil, nil)
	// No token: 401 everywhere.
	if rec := e.Do(t, http.MethodGet, "/v1/connection/gatherings", "", nil, nil); rec.Code != 401 {
		t.Fatalf("anonymous list: %d", rec.Code)
	}
}
