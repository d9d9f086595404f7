package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/workflows/mentorship"
)

// affinityCanary is planted as a self-identified affinity: it must never
// leave the profile owner's own view.
const affinityCanary = "CANARY-affinity-5d1c"

type connProposal struct {
	ID       string `json:"id"`
	MenteeID string `json:"mentee_id"`
	MentorID string `json:"mentor_id"`
	Status   string `json:"status"`
}

type connRound struct {
	ID        string         `json:"id"`
	Status    string         `json:"status"`
	Proposals []connProposal `json:"proposals"`
	Unmatched []struct {
		MenteeID string `json:"mentee_id"`
		Reason   string `json:"reason"`
	} `json:"unmatched"`
}

// TestConnectionEndToEnd runs the whole process on real NATS, Temporal and
// Redis: opt-in profiles with a restricted affinity, a matching round that
// respects supervisory chains, publication, a mentor's acceptance starting
// the mentorship workflow (through the bus consumer), a signal to it, and a
// gathering filled by concurrent RSVPs. The affinity never appears on the
// bus, in logs, in spans or in anyone else's response.
func TestConnectionEndToEnd(t *testing.T) {
	ns := testkit.NATS(t)
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	rd := testkit.Redis(t)
	cfg, dev := testConfig(t, ns.URL(), ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), rd.URL)

	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var leaks, subjects []string
	sub, err := nc.Subscribe(">", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		raw := m.Subject + string(m.Data)
		for k, v := range m.Header {
			raw += k + strings.Join(v, ",")
		}
		if strings.Contains(raw, affinityCanary) {
			leaks = append(leaks, m.Subject)
		}
		subjects = append(subjects, m.Subject)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	seen := func(subject string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range subjects {
			if s == subject {
				return true
			}
		}
		return false
	}

	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)

	// res1 reports to att, who reports to chief; res2 reports to chief.
	profile := func(seeking bool, capacity int, extra map[string]any) map[string]any {
		b := map[string]any{"interests": []string{"research", "quality"}, "specialty": "internal medicine", "languages": []string{"english"},
			"time_zone": "America/New_York", "availability": []map[string]any{{"day": "wed", "start": 12, "end": 14}},
			"seeking_mentor": seeking, "mentor_capacity": capacity}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	put := func(id, role string, body map[string]any) {
		must[map[string]any](a, http.StatusOK, http.MethodPut, "/v1/connection/profiles/"+id, a.token(id, role), body)
	}
	put("res1", "resident", profile(true, 0, map[string]any{"affinities": []string{affinityCanary}, "wants_affinity": true}))
	put("res2", "resident", profile(true, 0, nil))
	put("att", "staff", profile(false, 3, nil))
	put("chief", "staff", profile(false, 3, nil))
	put("lead", "department_lead", profile(false, 2, map[string]any{"affinities": []string{affinityCanary}, "affinity_mentoring": true}))
	if code, _ := a.call(http.MethodPut, "/v1/connection/profiles/res1", a.token("res2", "resident"), profile(true, 0, nil)); code != http.StatusForbidden {
		t.Fatalf("res2 wrote res1's profile: %d", code)
	}

	coord := a.token("cora", "coordinator")
	if code, _ := a.call(http.MethodPost, "/v1/connection/rounds", a.token("res1", "resident"), map[string]any{"program": "gme"}); code != http.StatusForbidden {
		t.Fatalf("a resident ran a round: %d", code)
	}
	round := must[connRound](a, http.StatusCreated, http.MethodPost, "/v1/connection/rounds", coord, map[string]any{"program": "gme"})
	mentorOf := map[string]string{}
	for _, pr := range round.Proposals {
		mentorOf[pr.MenteeID] = pr.MentorID
	}
	// Nobody is matched inside their supervisory chain; res1 asked for affinity and lead offers it.
	if m := mentorOf["res1"]; m != "lead" {
		t.Fatalf("res1 matched with %q (proposals %+v)", m, round.Proposals)
	}
	if m := mentorOf["res2"]; m == "" || m == "chief" {
		t.Fatalf("res2 matched with %q", m)
	}
	round = must[connRound](a, http.StatusOK, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/publish", coord, nil)
	var res1 connProposal
	for _, pr := range round.Proposals {
		if pr.MenteeID == "res1" {
			res1 = pr
		}
	}
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/proposals/"+res1.ID+"/accept", a.token("lead", "department_lead"), nil)

	// The matched event starts the lifecycle workflow; participants signal it.
	c := ts.GetDefaultClient()
	testkit.Eventually(t, 60*time.Second, "mentorship workflow started", func() bool {
		_, err := c.DescribeWorkflowExecution(context.Background(), mentorship.WorkflowID(res1.ID), "")
		return err == nil
	})
	must[map[string]any](a, http.StatusNoContent, http.MethodPost, "/v1/connection/mentorships/"+res1.ID+"/met", a.token("res1", "resident"), nil)
	if code, _ := a.call(http.MethodPost, "/v1/connection/mentorships/"+res1.ID+"/met", a.token("res2", "resident"), nil); code != http.StatusNotFound {
		t.Fatalf("an outsider signalled the mentorship: %d", code)
	}
	// Payloads are encrypted by the process's data converter; the signal's
	// name is not, so the history shows it arrived.
	// (A signal that arrives during a workflow task is buffered until the
	// task completes, so wait for it.)
	testkit.Eventually(t, 30*time.Second, "the met signal in the workflow's history", func() bool {
		it := c.GetWorkflowHistory(context.Background(), mentorship.WorkflowID(res1.ID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false
			}
			if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == mentorship.SignalMet {
				return true
			}
		}
		return false
	})

	// Restricted fields: only in the owner's view.
	if _, body := a.call(http.MethodGet, "/v1/connection/profiles/res1", coord, nil); strings.Contains(string(body), affinityCanary) {
		t.Fatal("coordinator saw the affinity")
	}
	if _, body := a.call(http.MethodGet, "/v1/connection/proposals", a.token("lead", "department_lead"), nil); strings.Contains(string(body), "affinity") {
		t.Fatalf("mentor's proposals mention affinity: %s", body)
	}
	if _, body := a.call(http.MethodGet, "/v1/connection/profiles/res1", a.token("res1", "resident"), nil); !strings.Contains(string(body), affinityCanary) {
		t.Fatal("the owner does not see their own affinity")
	}

	// A gathering with 5 places, 20 concurrent RSVPs.
	startsAt := time.Now().Add(48 * time.Hour).UTC()
	g := must[struct {
		ID string `json:"id"`
	}](a, http.StatusCreated, http.MethodPost, "/v1/connection/gatherings", a.token("off1", "dei_officer"), map[string]any{
		"title": "Story circle", "kind": "story_circle", "mode": "virtual", "starts_at": startsAt, "ends_at": startsAt.Add(time.Hour), "capacity": 5})
	var wg sync.WaitGroup
	counts := map[string]int{}
	var cmu sync.Mutex
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := must[struct {
				Status string `json:"status"`
			}](a, http.StatusOK, http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/rsvp", a.token(fmt.Sprintf("guest%d", i), "staff"), nil)
			cmu.Lock()
			counts[r.Status]++
			cmu.Unlock()
		}()
	}
	wg.Wait()
	if counts["confirmed"] != 5 || counts["waitlisted"] != 15 {
		t.Fatalf("RSVPs %v", counts)
	}
	// A retried POST with the same Idempotency-Key is answered once.
	tok := a.token("res2", "resident")
	c1, b1 := a.call(http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/topics", tok, map[string]any{"text": "speaking up", "anonymous": true}, "Idempotency-Key", "topic-1")
	c2, b2 := a.call(http.MethodPost, "/v1/connection/gatherings/"+g.ID+"/topics", tok, map[string]any{"text": "speaking up", "anonymous": true}, "Idempotency-Key", "topic-1")
	if c1 != http.StatusCreated || c2 != c1 || string(b1) != string(b2) {
		t.Fatalf("idempotent topic: %d %s / %d %s", c1, b1, c2, b2)
	}
	topics := must[struct {
		Topics []map[string]any `json:"topics"`
	}](a, http.StatusOK, http.MethodGet, "/v1/connection/gatherings/"+g.ID+"/topics", a.token("off1", "dei_officer"), nil)
	if len(topics.Topics) != 1 || topics.Topics[0]["submitter"] != nil {
		t.Fatalf("topics %+v", topics.Topics)
	}

	// Withdrawing consent ends the running mentorship (consumer → signal → workflow → ended event).
	must[map[string]any](a, http.StatusNoContent, http.MethodPost, "/v1/connection/profiles/res1/withdraw", a.token("res1", "resident"), nil)
	testkit.Eventually(t, 60*time.Second, "mentorship ended after withdrawal", func() bool {
		var m struct {
			Status    string `json:"status"`
			EndReason string `json:"end_reason"`
		}
		code, body := a.call(http.MethodGet, "/v1/connection/mentorships/"+res1.ID, a.token("lead", "department_lead"), nil)
		return code == http.StatusOK && json.Unmarshal(body, &m) == nil && m.Status == "ended" && m.EndReason == "withdrawn"
	})

	testkit.Eventually(t, 30*time.Second, "connection events on the bus", func() bool {
		return seen("dei.connection.round.published") && seen("dei.connection.mentorship.matched") && seen("dei.connection.rsvp.recorded") &&
			seen("dei.connection.profile.withdrawn") && seen("dei.connection.mentorship.ended")
	})
	mu.Lock()
	defer mu.Unlock()
	if len(leaks) > 0 {
		t.Fatalf("affinity on the bus: %v", leaks)
	}
	if strings.Contains(p.logs.String(), affinityCanary) {
		t.Fatal("affinity in the logs")
	}
	for _, s := range p.spans.Ended() {
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), affinityCanary) {
				t.Fatalf("affinity in span %s", s.Name())
			}
		}
	}
}
