package ports_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	historypb "go.temporal.io/api/history/v1"

	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/pkg/testkit/temporalkit"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/internal/testenv"
	"github.com/deiops/deiops/services/connection/ports"
	"github.com/deiops/deiops/workflows/mentorship"
)

// timing runs a mentorship in seconds on a real server.
var timing = mentorship.Input{FirstMeetingNudge: time.Second, FitCheckAfter: time.Second, FitRecheckAfter: 2 * time.Second,
	CheckinEvery: 2 * time.Second, InactivityLimit: 5 * time.Second, InactivityWarning: 2 * time.Second, FeedbackWindow: 2 * time.Second}

// TestMentorshipWorkflowsOnARealServer runs two mentorships on a real
// Temporal server with the service's activities and HTTP signals: one
// ends as "not a fit" and re-matches the mentee, one ends for inactivity
// after its check-ins and warning. With DEIOPS_RECORD_HISTORIES=1 it also
// refreshes the histories workflows/mentorship replays:
//
//	DEIOPS_RECORD_HISTORIES=1 go test -run TestMentorshipWorkflowsOnARealServer ./ports/
func TestMentorshipWorkflowsOnARealServer(t *testing.T) {
	e := matchingEnv(t)
	ts := temporalkit.Temporal(t)
	c := ts.GetDefaultClient()
	ms := &ports.Mentorships{Temporal: c, TaskQueue: "connection-test", App: e.App, Bus: e.Bus, Timing: timing}
	e.HTTP.Mentorships = ms
	ts.NewWorker("connection-test", func(r worker.Registry) { mentorship.Register(r, ms) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var round ports.RoundResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/rounds", "cora", coord, ports.RoundRequest{Program: "gme"}, &round)
	e.Must(t, 200, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/publish", "cora", coord, nil, &round)
	pairs := byMentee(round)
	start := func(p ports.ProposalResponse) client.WorkflowRun {
		t.Helper()
		e.Must(t, 200, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/proposals/"+p.ID+"/accept", p.MentorID, staff, nil, nil)
		ev := contract.MentorshipMatched{MentorshipID: p.ID, RoundID: round.ID, MenteeID: p.MenteeID, MentorID: p.MentorID, At: time.Now()}
		if err := ms.Start(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if err := ms.Start(ctx, ev); err != nil { // a redelivered event is fine
			t.Fatal(err)
		}
		return c.GetWorkflow(ctx, mentorship.WorkflowID(p.ID), "")
	}
	fitP, idleP := pairs["m1"], pairs["m2"]
	fitRun, idleRun := start(fitP), start(idleP)

	// Not a fit: first meeting, wait for the fit check, answer, both give feedback.
	path := "/v1/connection/mentorships/" + fitP.ID
	if rec := e.Do(t, http.MethodPost, path+"/met", "m2", staff, nil); rec.Code != 404 {
		t.Fatalf("an outsider signalled: %d", rec.Code)
	}
	e.Must(t, 204, http.MethodPost, path+"/met", "m1", staff, nil, nil)
	waitNotice(t, e, fitP.ID+"-fit_check-1")
	if rec := e.Do(t, http.MethodPost, path+"/fit", "m1", staff, ports.FitRequest{Answer: "meh"}); rec.Code != 422 {
		t.Fatalf("bad fit answer: %d", rec.Code)
	}
	e.Must(t, 204, http.MethodPost, path+"/fit", "m1", staff, ports.FitRequest{Answer: "not_a_fit"}, nil)
	waitNotice(t, e, fitP.ID+"-feedback_request-1")
	if rec := e.Do(t, http.MethodPost, path+"/feedback", "m1", staff, ports.FeedbackRequest{Rating: 9}); rec.Code != 422 {
		t.Fatalf("rating 9: %d", rec.Code)
	}
	e.Must(t, 204, http.MethodPost, path+"/feedback", "m1", staff, ports.FeedbackRequest{Rating: 2}, nil)
	e.Must(t, 204, http.MethodPost, path+"/feedback", "o1", staff, ports.FeedbackRequest{Rating: 3}, nil)
	var res mentorship.Result
	if err := fitRun.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Reason != mentorship.EndNotAFit || len(res.Feedback) != 2 {
		t.Fatalf("not-a-fit result %+v", res)
	}
	var ms1 ports.MentorshipResponse
	e.Must(t, 200, http.MethodGet, path, "m1", staff, nil, &ms1)
	if ms1.Status != "ended" || ms1.EndReason != "not_a_fit" {
		t.Fatalf("mentorship %+v", ms1)
	}
	// Re-matched: m1 has a new proposal (not o1) or is reported unmatched with the reason.
	e.Must(t, 200, http.MethodGet, "/v1/connection/rounds/"+round.ID, "cora", coord, nil, &round)
	rematched := false
	for _, p := range round.Proposals {
		if p.MenteeID == "m1" && p.Attempt == 2 && p.MentorID != "o1" {
			rematched = true
		}
	}
	for _, u := range round.Unmatched {
		if u.MenteeID == "m1" {
			rematched = true
		}
	}
	if !rematched {
		t.Fatalf("m1 not re-matched: %+v %+v", round.Proposals, round.Unmatched)
	}

	// Inactive: nothing happens; check-ins, a warning, then the end.
	if err := idleRun.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Reason != mentorship.EndInactivity || res.Checkins < 2 {
		t.Fatalf("inactive result %+v", res)
	}
	waitNotice(t, e, idleP.ID+"-inactivity_warning-1")
	e.WaitEvents(t, ".mentorship.checkin_due", 2)
	e.WaitEvents(t, ".mentorship.ended", 2)
	assertNoLeak(t, e, secretAffinity)

	if os.Getenv("DEIOPS_RECORD_HISTORIES") == "" {
		return
	}
	for name, id := range map[string]string{"not-a-fit": fitP.ID, "inactive": idleP.ID} {
		h := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, mentorship.WorkflowID(id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, ev)
		}
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join("..", "..", "..", "workflows", "mentorship", "testdata", name+".history.json")
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s (%d events)", out, len(h.Events))
	}
}

// waitNotice waits for the notification request with that id.
func waitNotice(t *testing.T, e *testenv.Env, id string) {
	t.Helper()
	testkit.Eventuallyf(t, 30*time.Second, func() bool {
		for _, m := range e.Events() {
			if m.Header.Get("Nats-Msg-Id") == id {
				return true
			}
		}
		return false
	}, "notification %s", id)
}
