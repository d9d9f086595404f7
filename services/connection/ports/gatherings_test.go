package ports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/services/connection/app"
	"github.com/deiops/deiops/services/connection/internal/testenv"
	"github.com/deiops/deiops/services/connection/ports"
)

var organizer = []string{"dei_officer"}

func schedule(t *testing.T, e *testenv.Env, kind string, capacity int) ports.GatheringResponse {
	t.Helper()
	start := e.Clock.Now().Add(72 * time.Hour)
	var g ports.GatheringResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/gatherings", "olga", organizer, ports.GatheringRequest{
		Title: "Lunch and learn", Kind: kind, Mode: "in_person", Location: "Room 4", StartsAt: start, EndsAt: start.Add(time.Hour), Capacity: capacity}, &g)
	return g
}

func TestGatheringBadInputAndRoles(t *testing.T) {
	e := testenv.New(t)
	past := e.Clock.Now().Add(-time.Hour)
	rec := e.Do(t, http.MethodPost, "/v1/connection/gatherings", "olga", organizer, ports.GatheringRequest{
		Title: "", Kind: "party", Mode: "hologram", StartsAt: past, EndsAt: past.Add(-time.Minute), Capacity: -1})
	if rec.Code != 422 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	got := strings.Join(problemFields(t, rec.Body.String()), ",")
	for _, f := range []string{"title", "kind", "mode", "starts_at", "ends_at", "capacity"} {
		if !strings.Contains(got, f) {
			t.Errorf("problem does not name %s: %s", f, got)
		}
	}
	if rec := e.Do(t, http.MethodPost, "/v1/connection/gatherings", "sam", staff, ports.GatheringRequest{}); rec.Code != 403 {
		t.Fatalf("staff scheduled: %d", rec.Code)
	}
}

// Two hundred people RSVP at once for fifty places, through two service
// instances (as two replicas would: the in-process lock does not span
// them, only compare-and-set does). Exactly fifty are confirmed and 150
// waitlisted, positions 1..150 in the order the waitlist keeps.
func TestConcurrentRSVPsNeverOverbook(t *testing.T) {
	e := testenv.New(t)
	g := schedule(t, e, "informal", 50)
	replica := app.New(app.Options{Profiles: e.Stores.Profiles, Rounds: e.Stores.Rounds, Gatherings: e.Stores.Gatherings,
		Groups: e.Stores.Groups, Now: e.Clock.Now})

	type result struct {
		who    string
		status string
		pos    int
	}
	results := make([]result, 200)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := fmt.Sprintf("p%03d", i)
			<-start
			if i%2 == 0 {
				rec := e.Do(t, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/rsvp", who, staff, nil)
				var r ports.RSVPResponse
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
					t.Errorf("%s: %d %s", who, rec.Code, rec.Body.String())
					return
				}
				results[i] = result{who, r.Status, r.Position}
				return
			}
			st, pos, err := replica.RSVP(context.Background(), caller.Actor{ID: who}, g.ID)
			if err != nil {
				t.Errorf("%s: %v", who, err)
			}
			results[i] = result{who, st, pos}
		}()
	}
	close(start)
	wg.Wait()

	var view ports.GatheringResponse
	e.Must(t, 200, http.MethodGet, "/v1/connection/gatherings/"+g.ID, "olga", organizer, nil, &view)
	if view.Confirmed != 50 || view.Waitlisted != 150 || len(view.Attendees) != 50 || len(view.Waitlist) != 150 {
		t.Fatalf("confirmed %d, waitlisted %d", view.Confirmed, view.Waitlisted)
	}
	confirmed := 0
	for _, r := range results {
		switch r.status {
		case "confirmed":
			confirmed++
			if !slices.Contains(view.Attendees, r.who) {
				t.Fatalf("%s told confirmed but not attending", r.who)
			}
		case "waitlisted":
			if view.Waitlist[r.pos-1] != r.who {
				t.Fatalf("%s told position %d, waitlist has %s there", r.who, r.pos, view.Waitlist[r.pos-1])
			}
		default:
			t.Fatalf("%s: status %q", r.who, r.status)
		}
	}
	if confirmed != 50 {
		t.Fatalf("%d told confirmed", confirmed)
	}
	e.WaitEvents(t, ".rsvp.recorded", 200)

	// A repeated RSVP changes nothing.
	var again ports.RSVPResponse
	e.Must(t, 200, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/rsvp", view.Waitlist[0], staff, nil, &again)
	if again.Status != "waitlisted" || again.Position != 1 {
		t.Fatalf("repeat RSVP: %+v", again)
	}

	// One cancellation, sent five times at once, promotes the first waitlisted person once.
	leaving, first := view.Attendees[7], view.Waitlist[0]
	var cw sync.WaitGroup
	for range 5 {
		cw.Add(1)
		go func() {
			defer cw.Done()
			if rec := e.Do(t, http.MethodDelete, "/v1/connection/gatherings/"+g.ID+"/rsvp", leaving, staff, nil); rec.Code != 204 {
				t.Errorf("cancel: %d", rec.Code)
			}
		}()
	}
	cw.Wait()
	e.Must(t, 200, http.MethodGet, "/v1/connection/gatherings/"+g.ID, "olga", organizer, nil, &view)
	if view.Confirmed != 50 || view.Waitlisted != 149 || view.Attendees[49] != first || slices.Contains(view.Attendees, leaving) {
		t.Fatalf("after cancellation: confirmed %d waitlisted %d last %s", view.Confirmed, view.Waitlisted, view.Attendees[49])
	}
	var mine ports.GatheringResponse
	e.Must(t, 200, http.MethodGet, "/v1/connection/gatherings/"+g.ID, first, staff, nil, &mine)
	if mine.MyRSVP != "confirmed" || mine.Attendees != nil {
		t.Fatalf("promoted person's view: %+v", mine)
	}
	e.WaitEvents(t, ".waitlist.promoted", 1)
	e.WaitEvents(t, ".notification.requested", 1)
	if n := e.Count(".waitlist.promoted"); n != 1 {
		t.Fatalf("%d promotions", n)
	}
}

func TestCancellationNotifiesAndRemindersGoOutOnce(t *testing.T) {
	e := testenv.New(t)
	g := schedule(t, e, "formal", 1)
	e.Must(t, 200, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/rsvp", "a", staff, nil, nil)
	e.Must(t, 200, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/rsvp", "b", staff, nil, nil)

	ctx := context.Background()
	if n, _ := e.App.SendReminders(ctx); n != 0 {
		t.Fatalf("reminder 3 days ahead: %d", n)
	}
	e.Clock.Advance(49 * time.Hour)
	if n, err := e.App.SendReminders(ctx); n != 1 || err != nil {
		t.Fatalf("reminders %d, %v", n, err)
	}
	if n, _ := e.App.SendReminders(ctx); n != 0 {
		t.Fatalf("second reminder: %d", n)
	}
	if rec := e.Do(t, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/cancel", "sam", staff, nil); rec.Code != 403 {
		t.Fatalf("a non-organiser cancelled: %d", rec.Code)
	}
	e.Must(t, 204, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/cancel", "olga", organizer, nil, nil)
	e.Must(t, 204, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/cancel", "olga", organizer, nil, nil)
	if rec := e.Do(t, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/rsvp", "c", staff, nil); rec.Code != 409 {
		t.Fatalf("RSVP to a cancelled gathering: %d", rec.Code)
	}
	e.WaitEvents(t, ".gathering.cancelled", 1)
	e.WaitEvents(t, ".notification.requested", 2) // reminder + cancellation
	var found bool
	for _, m := range e.Events() {
		if strings.HasSuffix(m.Subject, ".notification.requested") && strings.Contains(string(m.Data), `"recipients":["a","b"]`) {
			found = true
		}
		if strings.Contains(string(m.Data), "Lunch and learn") || strings.Contains(string(m.Data), "Room 4") {
			t.Fatalf("event carries free text: %s", m.Data)
		}
	}
	if !found || e.Count(".gathering.cancelled") != 1 {
		t.Fatal("cancellation did not notify the attendee and the waitlisted person once")
	}
}

func TestStoryCircleTopicsCanBeAnonymous(t *testing.T) {
	e := testenv.New(t)
	g := schedule(t, e, "story_circle", 12)
	e.Must(t, 201, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/topics", "ria", staff,
		ports.TopicRequest{Text: "When a patient refused my care", Anonymous: true}, nil)
	e.Must(t, 201, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/topics", "sol", staff,
		ports.TopicRequest{Text: "Finding mentors as an IMG"}, nil)
	if rec := e.Do(t, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/topics", "sol", staff, ports.TopicRequest{}); rec.Code != 422 {
		t.Fatalf("empty topic: %d", rec.Code)
	}
	if rec := e.Do(t, http.MethodGet, "/v1/connection/gatherings/"+g.ID+"/topics", "ria", staff, nil); rec.Code != 403 {
		t.Fatalf("a participant listed topics: %d", rec.Code)
	}
	var list ports.TopicList
	e.Must(t, 200, http.MethodGet, "/v1/connection/gatherings/"+g.ID+"/topics", "olga", organizer, nil, &list)
	if len(list.Topics) != 2 || list.Topics[0].Submitter != "" || list.Topics[1].Submitter != "sol" {
		t.Fatalf("topics %+v", list.Topics)
	}
	raw, err := e.Stores.Gatherings.KV().Get(context.Background(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw.Value()); strings.Contains(s, "patient") || strings.Contains(s, `"ria"`) {
		t.Fatal("topic or anonymous submitter stored in clear")
	}
	other := schedule(t, e, "formal", 5)
	if rec := e.Do(t, http.MethodPost, "/v1/connection/gatherings/"+other.ID+"/topics", "sol", staff, ports.TopicRequest{Text: "x"}); rec.Code != 409 {
		t.Fatalf("topic for a non-story-circle: %d", rec.Code)
	}
	assertNoLeak(t, e, "patient refused")
}
