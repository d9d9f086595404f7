package ports_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/services/connection/internal/testenv"
	"github.com/deiops/deiops/services/connection/ports"
)

// matchingEnv: mentees m1, m2 (internal medicine), m3 (surgery, reports to
// boss); mentors o1 (capacity 2, affinity mentoring), o2 (capacity 1) and
// boss (surgery, m3's supervisor).
func matchingEnv(t *testing.T) *testenv.Env {
	t.Helper()
	e := testenv.New(t, person("m1", ""), person("m2", ""), person("m3", "boss"), person("o1", ""), person("o2", ""), person("boss", ""))
	m1 := profile(true, 0, "research", "teaching")
	m1.Affinities, m1.WantsAffinity = []string{secretAffinity}, true
	o1 := profile(false, 2, "research", "teaching")
	o1.Affinities, o1.AffinityMentoring = []string{secretAffinity}, true
	surgery := ports.ProfileRequest{Interests: []string{"surgery"}, Specialty: "surgery", Languages: []string{"tagalog"},
		TimeZone: "UTC", Availability: []ports.WindowBody{{Day: "sat", Start: 6, End: 8}}}
	m3, boss := surgery, surgery
	m3.SeekingMentor = true
	boss.MentorCapacity = 2
	for id, p := range map[string]ports.ProfileRequest{"m1": m1, "m2": profile(true, 0, "research"), "m3": m3,
		"o1": o1, "o2": profile(false, 1, "research"), "boss": boss} {
		e.Must(t, 200, http.MethodPut, "/v1/connection/profiles/"+id, id, staff, p, nil)
	}
	return e
}

func byMentee(r ports.RoundResponse) map[string]ports.ProposalResponse {
	out := map[string]ports.ProposalResponse{}
	for _, p := range r.Proposals {
		if p.Status == "pending" || p.Status == "draft" || p.Status == "accepted" {
			out[p.MenteeID] = p
		}
	}
	return out
}

func TestRoundsAreForCoordinatorsAndRejectAbsurdSettings(t *testing.T) {
	e := matchingEnv(t)
	for _, roles := range [][]string{staff, {"resident"}, {"supervisor"}, {"dei_officer"}, {"admin"}} {
		if rec := e.Do(t, http.MethodPost, "/v1/connection/rounds", "x", roles, ports.RoundRequest{Program: "gme"}); rec.Code != 403 {
			t.Fatalf("%v ran a round: %d", roles, rec.Code)
		}
	}
	rec := e.Do(t, http.MethodPost, "/v1/connection/rounds", "cora", coord,
		ports.RoundRequest{Program: "gme", Weights: &ports.WeightsBody{Interest: 1000, Language: -2}, MinScore: -1, AffinityLoadCap: 99, ResponseWindowHours: 100000})
	if rec.Code != 422 {
		t.Fatalf("absurd settings: %d %s", rec.Code, rec.Body.String())
	}
	got := strings.Join(problemFields(t, rec.Body.String()), ",")
	for _, f := range []string{"weights.interest", "weights.language", "min_score", "affinity_load_cap", "response_window_hours"} {
		if !strings.Contains(got, f) {
			t.Errorf("problem does not name %s: %s", f, got)
		}
	}
	if rec := e.Do(t, http.MethodPost, "/v1/connection/rounds", "cora", coord, ports.RoundRequest{Program: "gme", Weights: &ports.WeightsBody{}}); rec.Code != 422 {
		t.Fatalf("all-zero weights: %d", rec.Code)
	}
}

func TestRoundReviewPublishDeclineFallbackTimeout(t *testing.T) {
	e := matchingEnv(t)
	var round ports.RoundResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/rounds", "cora", coord, ports.RoundRequest{Program: "gme"}, &round)
	if round.Status != "draft" {
		t.Fatalf("status %s", round.Status)
	}
	pairs := byMentee(round)
	if pairs["m1"].MentorID != "o1" || pairs["m2"].MentorID == "" {
		t.Fatalf("pairs %+v", round.Proposals)
	}
	// The explanation never shows affinity; the score shown excludes it.
	if body := fmt.Sprint(round); strings.Contains(body, "affinity") || strings.Contains(body, secretAffinity) {
		t.Fatalf("round review reveals affinity: %s", body)
	}
	if p := pairs["m1"]; p.Score != 60 || len(p.Factors) == 0 || p.Factors[0].Kind != "interests" {
		t.Fatalf("m1's explanation: %+v", p)
	}
	// m3's only candidate is their supervisor: unmatched, with that reason, and the round still publishes.
	if len(round.Unmatched) != 1 || round.Unmatched[0].MenteeID != "m3" || round.Unmatched[0].Reason != "supervisory_chain" {
		t.Fatalf("unmatched %+v", round.Unmatched)
	}
	// Mentors see nothing before publication.
	var mine ports.ProposalList
	e.Must(t, 200, http.MethodGet, "/v1/connection/proposals", "o1", staff, nil, &mine)
	if len(mine.Proposals) != 0 {
		t.Fatalf("draft proposals visible: %+v", mine)
	}
	e.Must(t, 200, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/publish", "cora", coord, nil, &round)
	if rec := e.Do(t, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/publish", "cora", coord, nil); rec.Code != 409 {
		t.Fatalf("second publish: %d", rec.Code)
	}
	e.WaitEvents(t, ".round.published", 1)
	e.WaitEvents(t, ".mentorship.proposed", 2)
	e.WaitEvents(t, ".notification.requested", 2)

	pairs = byMentee(round)
	p1, p2 := pairs["m1"], pairs["m2"]
	if !p1.RespondBy.Equal(e.Clock.Now().Add(72 * time.Hour)) {
		t.Fatalf("respond by %s", p1.RespondBy)
	}
	base := "/v1/connection/rounds/" + round.ID + "/proposals/"
	// Only the addressed mentor answers.
	if rec := e.Do(t, http.MethodPost, base+p1.ID+"/accept", "o2", staff, nil); rec.Code != 403 {
		t.Fatalf("another mentor accepted: %d", rec.Code)
	}
	if rec := e.Do(t, http.MethodPost, base+p1.ID+"/accept", "cora", coord, nil); rec.Code != 403 {
		t.Fatalf("coordinator accepted for the mentor: %d", rec.Code)
	}
	e.Must(t, 200, http.MethodPost, base+p1.ID+"/accept", "o1", staff, nil, nil)
	e.Must(t, 200, http.MethodPost, base+p1.ID+"/accept", "o1", staff, nil, nil) // idempotent
	if rec := e.Do(t, http.MethodPost, base+p1.ID+"/decline", "o1", staff, nil); rec.Code != 409 {
		t.Fatalf("decline after accept: %d", rec.Code)
	}
	e.WaitEvents(t, ".mentorship.matched", 1)

	// m2's mentor declines: m2 falls back to the other feasible mentor.
	first := p2.MentorID
	e.Must(t, 200, http.MethodPost, base+p2.ID+"/decline", first, staff, nil, nil)
	e.Must(t, 200, http.MethodGet, "/v1/connection/rounds/"+round.ID, "cora", coord, nil, &round)
	fb := byMentee(round)["m2"]
	if fb.MentorID == "" || fb.MentorID == first || fb.Attempt != 2 || fb.Status != "pending" {
		t.Fatalf("fallback %+v (first mentor %s)", fb, first)
	}
	e.WaitEvents(t, ".mentorship.declined", 1)
	e.WaitEvents(t, ".mentorship.proposed", 3)

	// The fallback times out: every feasible mentor was tried, m2 is unmatched.
	e.Clock.Advance(73 * time.Hour)
	if n, err := e.App.ExpireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	e.Must(t, 200, http.MethodGet, "/v1/connection/rounds/"+round.ID, "cora", coord, nil, &round)
	var reasons []string
	for _, u := range round.Unmatched {
		reasons = append(reasons, u.MenteeID+":"+u.Reason)
	}
	if strings.Join(reasons, ",") != "m3:supervisory_chain,m2:declined_or_expired" {
		t.Fatalf("unmatched %v", reasons)
	}
	if rec := e.Do(t, http.MethodPost, base+fb.ID+"/accept", fb.MentorID, staff, nil); rec.Code != 409 {
		t.Fatalf("accepting an expired proposal: %d", rec.Code)
	}
	e.WaitEvents(t, ".mentorship.declined", 2)
	assertNoLeak(t, e, secretAffinity)
}

func TestWithdrawalEndsPendingProposalsAndLeavesTheNextRound(t *testing.T) {
	e := matchingEnv(t)
	var round ports.RoundResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/rounds", "cora", coord, ports.RoundRequest{Program: "gme"}, &round)
	e.Must(t, 200, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/publish", "cora", coord, nil, &round)
	m2 := byMentee(round)["m2"]

	// Mentor o1 withdraws: m1's pending proposal ends and m1 falls back.
	e.Must(t, 204, http.MethodPost, "/v1/connection/profiles/o1/withdraw", "o1", staff, nil, nil)
	// Mentee m2 withdraws: their pending proposal ends.
	e.Must(t, 204, http.MethodPost, "/v1/connection/profiles/m2/withdraw", "m2", staff, nil, nil)
	e.Must(t, 200, http.MethodGet, "/v1/connection/rounds/"+round.ID, "cora", coord, nil, &round)
	for _, p := range round.Proposals {
		if (p.MentorID == "o1" || p.MenteeID == "m2") && p.Status != "withdrawn" {
			t.Fatalf("proposal %+v still open after withdrawal", p)
		}
	}
	if p := byMentee(round)["m1"]; p.MentorID == "" || p.MentorID == "o1" || p.Attempt != 2 {
		if m2.MentorID != "o2" { // o2 had room only if m2 was not on it
			t.Fatalf("m1 did not fall back: %+v", round.Proposals)
		}
	}
	e.WaitEvents(t, ".mentorship.declined", 2)

	var next ports.RoundResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/rounds", "cora", coord, ports.RoundRequest{Program: "gme"}, &next)
	for _, p := range next.Proposals {
		if p.MenteeID == "m2" || p.MentorID == "o1" {
			t.Fatalf("withdrawn person in the next round: %+v", p)
		}
	}
	for _, u := range next.Unmatched {
		if u.MenteeID == "m2" {
			t.Fatal("withdrawn mentee reported unmatched in the next round")
		}
	}
	assertNoLeak(t, e, secretAffinity)
}
