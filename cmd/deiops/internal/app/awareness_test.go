package app_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/testkit"
)

// awarenessHospital: cohort 2026 of six residents under att ← chief, a
// program director, a DEI officer.
const awarenessHospital = "id,display_name,email,department,role,training_level,cohort,site,supervisor_id,active\n" +
	"chief,Amara Okafor,chief@example.org,med,attending,,,north,,true\n" +
	"att,Luis Fernandez,att@example.org,med,attending,,,north,chief,true\n" +
	"pd,Jo Smith,pd@example.org,med,program_director,,,north,,true\n" +
	"off1,Noor Haddad,off1@example.org,dei,dei_officer,,,north,,true\n" +
	"r1,Mei Chen,r1@example.org,med,resident,PGY-1,2026,north,att,true\n" +
	"r2,Ola Nordmann,r2@example.org,med,resident,PGY-1,2026,north,att,true\n" +
	"r3,Sam Rivera,r3@example.org,med,resident,PGY-1,2026,north,att,true\n" +
	"r4,Kim Park,r4@example.org,med,resident,PGY-1,2026,north,att,true\n" +
	"r5,Ana Lima,r5@example.org,med,resident,PGY-1,2026,north,att,true\n" +
	"r6,Tom Berg,r6@example.org,med,resident,PGY-1,2026,north,att,true\n" +
	"x1,Eve Adams,x1@example.org,surg,resident,PGY-2,2025,south,,true\n"

// TestAwarenessEndToEnd runs the awareness service on real servers: a
// module is assigned to a cohort from an imported directory; some people
// complete it through xAPI, one through a CSV import, one is exempted;
// the follow-up runs past the due date (its schedule in seconds). The
// reminder and overdue notices reach exactly the incomplete, the
// supervisors get a digest, the program director an escalation; the
// events are on the bus; and one trace runs from the assignment request
// into the workflow's activities. Along the way: the authorization
// matrix and statement re-attestation.
func TestAwarenessEndToEnd(t *testing.T) {
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
	seen := map[string]bool{}
	evs := map[string]int{}
	notes := map[notify.Template][]string{}
	const canary = "CANARY-3c1d-exemption-reason"
	var leaks []string
	if _, err := nc.Subscribe(">", func(m *nats.Msg) {
		if strings.Contains(string(m.Data), canary) {
			mu.Lock()
			leaks = append(leaks, m.Subject)
			mu.Unlock()
		}
		if !strings.HasPrefix(m.Subject, "dei.awareness.") && m.Subject != (notify.Requested{}).EventSpec().Subject() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := m.Header.Get("Nats-Msg-Id")
		if id == "" || seen[id] {
			return
		}
		seen[id] = true
		evs[m.Subject]++
		if strings.HasPrefix(m.Subject, "dei.") {
			return
		}
		var r notify.Requested
		if err := json.Unmarshal(m.Data, &r); err == nil && r.RequestedBy == "awareness" {
			notes[r.Template] = append(notes[r.Template], r.Recipients...)
		}
	}); err != nil {
		t.Fatal(err)
	}
	notified := func(tpl notify.Template) []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(notes[tpl])
		sort.Strings(out)
		return out
	}
	count := func(subject string) int {
		mu.Lock()
		defer mu.Unlock()
		return evs[subject]
	}

	p := start(t, cfg, dev)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process logs:\n%s", p.logs.String())
		}
	})
	a := api{t: t, base: p.base, dev: dev}
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/directory/imports", a.token("ops", "admin"), awarenessHospital)

	officer := a.token("off1", "dei_officer")
	director := a.token("pd", "program_director")
	r1 := a.token("r1", "resident")
	r5 := a.token("r5", "staff")
	sup := a.token("att", "supervisor")
	lms := a.token("lms", "integrator")

	// Catalog and assignment.
	const activity = "https://lms.example.org/activities/bias-101"
	must[map[string]any](a, http.StatusCreated, http.MethodPost, "/v1/training/modules", officer, map[string]any{
		"id": "bias-101", "title": "Bias in clinical decisions", "duration_minutes": 45, "credits": 1, "lms_activity_id": activity})
	assignment := func(due time.Time, audience map[string]any) map[string]any {
		return map[string]any{"module_id": "bias-101", "audience": audience, "due_at": due.UTC().Format(time.RFC3339Nano),
			"follow_up": map[string]any{"reminder_offsets": []string{"-5s", "1s"}, "escalate_after": "2s", "digest_every": "3s"}}
	}
	cohort := map[string]any{"cohorts": []string{"2026"}}

	// Bad input: problem+json naming the fields.
	code, body := a.call(http.MethodPost, "/v1/training/assignments", director, assignment(time.Now().Add(-time.Hour), cohort))
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"due_at"`) {
		t.Fatalf("past due date: %d %s", code, body)
	}
	code, body = a.call(http.MethodPost, "/v1/training/assignments", director, assignment(time.Now().Add(time.Hour), map[string]any{"cohorts": []string{"1999"}}))
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "resolves to nobody") {
		t.Fatalf("empty audience: %d %s", code, body)
	}

	due := time.Now().Add(15 * time.Second)
	asg := must[struct {
		ID     string `json:"id"`
		People int    `json:"people"`
	}](a, http.StatusCreated, http.MethodPost, "/v1/training/assignments", director, assignment(due, cohort))
	if asg.People != 6 {
		t.Fatalf("assigned %d people", asg.People)
	}

	// Completions: r1 by mbox and r2 by account over xAPI (r1 twice), an
	// unknown activity kept unmatched; r3 by CSV after a rejected file;
	// r4 exempted.
	stmt := func(id, actor, object string) map[string]any {
		s := map[string]any{"id": id, "verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": map[string]any{"id": object},
			"timestamp": time.Now().UTC().Format(time.RFC3339)}
		if strings.HasPrefix(actor, "mailto:") {
			s["actor"] = map[string]any{"mbox": actor}
		} else {
			s["actor"] = map[string]any{"account": map[string]any{"homePage": "https://lms.example.org", "name": actor}}
		}
		return s
	}
	x := must[struct {
		Statements []struct {
			Status    string `json:"status"`
			Duplicate bool   `json:"duplicate"`
		} `json:"statements"`
	}](a, http.StatusOK, http.MethodPost, "/v1/xapi/statements", lms, []map[string]any{
		stmt("00000000-0000-4000-8000-000000000001", "mailto:r1@example.org", activity),
		stmt("00000000-0000-4000-8000-000000000002", "r2", activity),
		stmt("00000000-0000-4000-8000-000000000003", "r5", "https://lms.example.org/activities/unknown"),
	})
	if len(x.Statements) != 3 || x.Statements[0].Status != "applied" || x.Statements[1].Status != "applied" || x.Statements[2].Status != "unmatched" {
		t.Fatalf("xapi %+v", x)
	}
	x = must[struct {
		Statements []struct {
			Status    string `json:"status"`
			Duplicate bool   `json:"duplicate"`
		} `json:"statements"`
	}](a, http.StatusOK, http.MethodPost, "/v1/xapi/statements", lms, stmt("00000000-0000-4000-8000-000000000001", "mailto:r1@example.org", activity))
	if !x.Statements[0].Duplicate {
		t.Fatalf("duplicate statement %+v", x)
	}
	code, body = a.call(http.MethodPost, "/v1/training/completions/import", lms,
		"person_id,module_id,completed_at\nr3,bias-101,2026-01-01\nnobody,bias-101,2026-01-01\nr3,bias-101,someday\n")
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "line 3: person_id") || !strings.Contains(string(body), "line 4: completed_at") {
		t.Fatalf("bad CSV: %d %s", code, body)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	imp := must[struct {
		Applied int `json:"applied"`
	}](a, http.StatusOK, http.MethodPost, "/v1/training/completions/import", lms, "person_id,module_id,completed_at\nr3,bias-101,"+today+"\n")
	if imp.Applied != 1 {
		t.Fatalf("CSV applied %d", imp.Applied)
	}
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/training/assignments/"+asg.ID+"/exemptions", officer, map[string]any{"person_id": "r4", "reason": canary})
	un := must[struct {
		Unmatched []struct {
			Reason string `json:"reason"`
		} `json:"unmatched"`
	}](a, http.StatusOK, http.MethodGet, "/v1/training/completions/unmatched", officer, nil)
	if len(un.Unmatched) != 1 || !strings.Contains(un.Unmatched[0].Reason, "unknown activity") {
		t.Fatalf("unmatched %+v", un)
	}

	// Authorization matrix.
	for _, c := range []struct {
		token, method, path string
		status              int
	}{
		{r5, http.MethodGet, "/v1/my/trainings", http.StatusOK},
		{r5, http.MethodGet, "/v1/training/assignments", http.StatusForbidden},
		{r5, http.MethodGet, "/v1/training/assignments/" + asg.ID + "/people", http.StatusForbidden},
		{r5, http.MethodGet, "/v1/reports/training/" + asg.ID, http.StatusForbidden},
		{r5, http.MethodGet, "/v1/team/trainings", http.StatusForbidden},
		{r5, http.MethodPost, "/v1/xapi/statements", http.StatusForbidden},
		{sup, http.MethodGet, "/v1/team/trainings", http.StatusOK},
		{sup, http.MethodGet, "/v1/training/assignments", http.StatusForbidden},
		{lms, http.MethodGet, "/v1/my/trainings", http.StatusForbidden},
		{lms, http.MethodGet, "/v1/training/modules", http.StatusForbidden},
		{lms, http.MethodGet, "/v1/campaigns", http.StatusForbidden},
		{lms, http.MethodGet, "/v1/team/overdue", http.StatusForbidden},
		{lms, http.MethodGet, "/v1/training/completions/unmatched", http.StatusForbidden},
		{lms, http.MethodGet, "/v1/reports/training/" + asg.ID, http.StatusForbidden},
		{officer, http.MethodGet, "/v1/reports/training/" + asg.ID + "?by=cohort", http.StatusOK},
		{director, http.MethodGet, "/v1/training/assignments/" + asg.ID + "/people", http.StatusOK},
		{"", http.MethodGet, "/v1/my/trainings", http.StatusUnauthorized},
	} {
		if code, body := a.call(c.method, c.path, c.token, nil); code != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, code, c.status, body)
		}
	}
	team := must[struct {
		Trainings []struct {
			PersonID string `json:"person_id"`
		} `json:"trainings"`
	}](a, http.StatusOK, http.MethodGet, "/v1/team/trainings", sup, nil)
	if len(team.Trainings) != 6 {
		t.Errorf("supervisor sees %d trainings", len(team.Trainings))
	}
	mine := must[struct {
		Trainings []struct {
			Status string `json:"status"`
		} `json:"trainings"`
	}](a, http.StatusOK, http.MethodGet, "/v1/my/trainings", r1, nil)
	if len(mine.Trainings) != 1 || mine.Trainings[0].Status != "completed" {
		t.Errorf("r1's trainings %+v", mine)
	}

	// Statement re-attestation over HTTP.
	st := must[struct {
		ID string `json:"id"`
	}](a, http.StatusCreated, http.MethodPost, "/v1/statements", officer, map[string]any{"title": "What is not OK", "body": "…",
		"audience": cohort, "requires_attestation": true})
	a.call(http.MethodPost, "/v1/statements/"+st.ID+"/attestations", r1, map[string]any{"version": 1})
	must[map[string]any](a, http.StatusCreated, http.MethodPost, "/v1/statements/"+st.ID+"/versions", director, map[string]any{"title": "What is not OK", "body": "… v2",
		"audience": cohort, "requires_attestation": true})
	owed := must[struct {
		Owed []struct {
			Version int `json:"version"`
		} `json:"owed"`
		Attested []struct {
			Version int `json:"version"`
		} `json:"attested"`
	}](a, http.StatusOK, http.MethodGet, "/v1/my/attestations", r1, nil)
	if len(owed.Owed) != 1 || owed.Owed[0].Version != 2 || len(owed.Attested) != 1 || owed.Attested[0].Version != 1 {
		t.Errorf("after v2: %+v", owed)
	}
	if code, _ := a.call(http.MethodPost, "/v1/statements", r1, map[string]any{"title": "x", "body": "y", "audience": cohort}); code != http.StatusForbidden {
		t.Errorf("resident publishes a statement: %d", code)
	}

	// Past the due date: reminders, overdue notices, escalation, digest.
	testkit.Eventually(t, 60*time.Second, "overdue notices, escalation and digest", func() bool {
		return len(notified(notify.TemplateTrainingOverdue)) == 2 && len(notified(notify.TemplateTrainingEscalated)) == 1 && len(notified(notify.TemplateDigest)) >= 2
	})
	if got := notified(notify.TemplateTrainingReminder); !slices.Equal(got, []string{"r5", "r6"}) {
		t.Errorf("reminders to %v", got)
	}
	if got := notified(notify.TemplateTrainingOverdue); !slices.Equal(got, []string{"r5", "r6"}) {
		t.Errorf("overdue notices to %v", got)
	}
	if got := notified(notify.TemplateTrainingEscalated); !slices.Equal(got, []string{"pd"}) {
		t.Errorf("escalated to %v", got)
	}
	if got := notified(notify.TemplateDigest); !slices.Equal(got[:2], []string{"att", "chief"}) {
		t.Errorf("digest to %v", got)
	}
	testkit.Eventually(t, 10*time.Second, "events", func() bool {
		return count("dei.awareness.training.assigned") == 1 && count("dei.awareness.training.completed") == 3 &&
			count("dei.awareness.training.exempted") == 1 && count("dei.awareness.reminder.sent") == 2 &&
			count("dei.awareness.training.overdue") == 2 && count("dei.awareness.training.escalated") == 1 &&
			count("dei.awareness.statement.version_published") == 2 && count("dei.awareness.attestation.recorded") == 1
	})
	over := must[struct {
		Overdue []struct {
			PersonID string `json:"person_id"`
		} `json:"overdue"`
	}](a, http.StatusOK, http.MethodGet, "/v1/team/overdue", sup, nil)
	if len(over.Overdue) != 2 {
		t.Errorf("supervisor's overdue list %+v", over)
	}
	code, body = a.call(http.MethodGet, "/v1/reports/training/"+asg.ID+"?by=cohort&format=csv", officer, nil)
	if code != http.StatusOK || !strings.Contains(string(body), "2026,false,6,3,1,2,0.6000") {
		t.Errorf("CSV report: %d %s", code, body)
	}

	// A campaign reaches the cohort at publication and a joiner later; the
	// joiner is also assigned the open training with their own due date.
	camp := must[struct {
		ID string `json:"id"`
	}](a, http.StatusCreated, http.MethodPost, "/v1/campaigns", officer, map[string]any{"title": "Level-setting: race in medicine", "body": "# Our goals\n...", "audience": cohort})
	pub := must[struct {
		Status  string `json:"status"`
		Reached int    `json:"reached"`
	}](a, http.StatusOK, http.MethodPost, "/v1/campaigns/"+camp.ID+"/publish", director, map[string]any{})
	if pub.Status != "published" || pub.Reached != 6 {
		t.Errorf("published %+v", pub)
	}
	type campaigns struct {
		Campaigns []struct {
			ID string `json:"id"`
		} `json:"campaigns"`
	}
	if got := must[campaigns](a, http.StatusOK, http.MethodGet, "/v1/my/campaigns", r1, nil); len(got.Campaigns) != 1 {
		t.Errorf("r1 sees %+v", got)
	}
	if got := must[campaigns](a, http.StatusOK, http.MethodGet, "/v1/my/campaigns", a.token("x1", "resident"), nil); len(got.Campaigns) != 0 {
		t.Errorf("x1 sees %+v", got)
	}
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/directory/imports", a.token("ops", "admin"),
		awarenessHospital+"r7,Lee Wong,r7@example.org,med,resident,PGY-1,2026,north,att,true\n")
	r7 := a.token("r7", "resident")
	testkit.Eventually(t, 30*time.Second, "the joiner is reached and assigned", func() bool {
		code, body := a.call(http.MethodGet, "/v1/my/trainings", r7, nil)
		var tr struct {
			Trainings []struct {
				Status string `json:"status"`
			} `json:"trainings"`
		}
		_ = json.Unmarshal(body, &tr)
		code2, body2 := a.call(http.MethodGet, "/v1/my/campaigns", r7, nil)
		var cs campaigns
		_ = json.Unmarshal(body2, &cs)
		return code == http.StatusOK && len(tr.Trainings) == 1 && code2 == http.StatusOK && len(cs.Campaigns) == 1
	})

	// The exemption reason is restricted: sealed at rest, in no message.
	mu.Lock()
	if len(leaks) > 0 {
		t.Errorf("exemption reason on %v", leaks)
	}
	mu.Unlock()
	if strings.Contains(p.logs.String(), canary) {
		t.Error("exemption reason in the logs")
	}

	// One trace from the assignment request into the workflow: of the
	// three POSTs (two refused), one trace holds the workflow's start, a
	// reminder activity and its notification.
	want := []string{"StartWorkflow:deiops.awareness.CohortFollowUp", "RunActivity:deiops.awareness.Remind", "send deiops.internal.platform.notification.requested"}
	testkit.Eventually(t, 10*time.Second, "one trace from POST /v1/training/assignments to a reminder", func() bool {
		spans := p.spans.Ended()
		for _, root := range spans {
			if root.SpanKind() != trace.SpanKindServer || !strings.Contains(root.Name(), "/v1/training/assignments") {
				continue
			}
			var names []string
			for _, s := range spans {
				if s.SpanContext().TraceID() == root.SpanContext().TraceID() {
					names = append(names, s.Name())
				}
			}
			all := true
			for _, w := range want {
				all = all && slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, w) })
			}
			if all {
				return true
			}
		}
		return false
	})
}
