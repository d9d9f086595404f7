package ports_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/idem"
	"github.com/deiops/deiops/services/connection/domain"
	"github.com/deiops/deiops/services/connection/internal/testenv"
	"github.com/deiops/deiops/services/connection/ports"
)

func TestGroupsLeadersAnnounceAndPrivateListsStayPrivate(t *testing.T) {
	e := testenv.New(t)
	req := ports.GroupRequest{Name: "First-gen physicians", Kind: "affinity", Visibility: "private", Leaders: []string{"lea"}}
	if rec := e.Do(t, http.MethodPost, "/v1/connection/groups", "sam", staff, req); rec.Code != 403 {
		t.Fatalf("staff created a group: %d", rec.Code)
	}
	rec := e.Do(t, http.MethodPost, "/v1/connection/groups", "cora", coord, ports.GroupRequest{Kind: "club", Visibility: "secret"})
	if rec.Code != 422 {
		t.Fatalf("bad group: %d", rec.Code)
	}
	if got := strings.Join(problemFields(t, rec.Body.String()), ","); got != "name,kind,visibility,leaders" {
		t.Fatalf("fields %s", got)
	}
	var g ports.GroupResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/groups", "cora", coord, req, &g)
	path := "/v1/connection/groups/" + g.ID
	e.Must(t, 204, http.MethodPost, path+"/join", "ann", staff, nil, nil)
	e.Must(t, 204, http.MethodPost, path+"/join", "ann", staff, nil, nil) // idempotent

	var all ports.GroupList
	e.Must(t, 200, http.MethodGet, "/v1/connection/groups", "out", staff, nil, &all)
	if len(all.Groups) != 1 || all.Groups[0].Members != nil {
		t.Fatalf("group list for an outsider: %+v", all)
	}
	var view ports.GroupResponse
	e.Must(t, 200, http.MethodGet, path, "out", staff, nil, &view)
	if view.Members != nil || view.MemberCount != 2 {
		t.Fatalf("outsider sees private members: %+v", view)
	}
	e.Must(t, 200, http.MethodGet, path, "ann", staff, nil, &view)
	if len(view.Members) != 2 || !view.Member {
		t.Fatalf("member view: %+v", view)
	}
	// Leaders announce; members do not.
	if rec := e.Do(t, http.MethodPost, path+"/announcements", "ann", staff, ports.AnnouncementRequest{Text: "hi"}); rec.Code != 403 {
		t.Fatalf("member announced: %d", rec.Code)
	}
	e.Must(t, 201, http.MethodPost, path+"/announcements", "lea", staff, ports.AnnouncementRequest{Text: "Potluck Friday"}, nil)
	if rec := e.Do(t, http.MethodGet, path+"/announcements", "out", staff, nil); rec.Code != 403 {
		t.Fatalf("outsider read a private group's announcements: %d", rec.Code)
	}
	var list ports.AnnouncementList
	e.Must(t, 200, http.MethodGet, path+"/announcements", "ann", staff, nil, &list)
	if len(list.Announcements) != 1 {
		t.Fatalf("announcements %+v", list)
	}
	if rec := e.Do(t, http.MethodPost, path+"/leave", "lea", staff, nil); rec.Code != 409 {
		t.Fatalf("last leader left: %d", rec.Code)
	}
	e.Must(t, 204, http.MethodPost, path+"/leave", "ann", staff, nil, nil)
	e.WaitEvents(t, ".group.member_joined", 1)
	e.WaitEvents(t, ".group.member_left", 1)
	if e.Count(".group.member_joined") != 1 {
		t.Fatal("repeated join published twice")
	}
	for _, m := range e.Events() {
		if strings.Contains(m.Subject, ".group.") && strings.Contains(string(m.Data), "ann") {
			t.Fatalf("group event names a member: %s", m.Data)
		}
	}
	assertNoLeak(t, e, "Potluck")
}

// A group and an announcement created again with the same Idempotency-Key
// (the request's scope) are the ones the first attempt made.
func TestRetriedGroupAndAnnouncementAreOneEach(t *testing.T) {
	e := testenv.New(t)
	retry := idem.With(context.Background(), idem.Scope{Key: "scope-1", Fingerprint: "fp"})
	cora := caller.New("cora", string(caller.Coordinator))
	in := domain.GroupInput{Name: "First-gen physicians", Kind: "affinity", Visibility: "public", Leaders: []string{"lea"}}
	g1, err := e.App.CreateGroup(retry, cora, in)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := e.App.CreateGroup(retry, cora, in)
	if err != nil || g2.State().ID != g1.State().ID {
		t.Fatalf("the retry made group %v (%v), the first %s", g2, err, g1.State().ID)
	}
	lea := caller.New("lea", string(caller.Staff))
	id := g1.State().ID
	a1, err := e.App.Announce(retry, lea, id, "We meet on Friday")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := e.App.Announce(retry, lea, id, "We meet on Friday")
	if err != nil || a2.ID != a1.ID {
		t.Fatalf("the retried announcement is %+v (%v), the first %+v", a2, err, a1)
	}
	all, err := e.App.Announcements(context.Background(), lea, id)
	if err != nil || len(all) != 1 {
		t.Fatalf("%d announcements (%v), want 1", len(all), err)
	}
}
