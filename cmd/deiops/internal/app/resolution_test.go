package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution/ports"
	"github.com/deiops/deiops/workflows/escalation"
)

// canary is planted in every restricted field of one report.
const canary = "CANARY-7f3e9b1c-racism-report"

// fastPolicy escalates in seconds so the whole lifecycle runs in a test:
// resolvers, then the DEI office, then (if not resolved) the chief —
// whom the report's named person's chain excludes.
func fastPolicy() map[string]any {
	sec := func(n int) map[string]any { return map[string]any{"amount": n, "unit": "seconds"} }
	return map[string]any{
		"calendar": map[string]any{"time_zone": "UTC", "workdays": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "start": "00:00", "end": "24:00"},
		"levels": []map[string]any{
			{"name": "resolvers", "targets": []map[string]any{{"kind": "role", "role": "resolver"}}, "delay": sec(1), "condition": "if_not_acknowledged"},
			{"name": "dei-office", "targets": []map[string]any{{"kind": "role", "role": "dei_officer"}}, "delay": sec(1), "condition": "if_not_acknowledged"},
			{"name": "chief", "targets": []map[string]any{{"kind": "user", "id": "chief"}}, "delay": sec(1), "condition": "if_not_resolved"},
		},
		"checkins": map[string]any{"offsets": []map[string]any{sec(2), sec(4)}, "response_window": sec(60)},
	}
}

func anonymousReport(text string) map[string]any {
	return map[string]any{
		"category": "racism", "narrative": "What happened: " + text, "occurred_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"department": "med", "site": "north", "desired_outcome": "formal_resolution", "anonymous": true,
		"involved":  []map[string]any{{"role": "attending", "person_id": "att", "name": "Dr " + text}},
		"witnesses": []string{"witness " + text},
	}
}

type receipt struct {
	CaseID  string `json:"case_id"`
	CaseKey string `json:"case_key"`
	Secret  string `json:"secret"`
}

type reporterView struct {
	Status   string `json:"status"`
	Timeline []struct {
		Action string `json:"action"`
	} `json:"timeline"`
	Messages []struct {
		From string `json:"from"`
		Text string `json:"text"`
	} `json:"messages"`
	Checkins []struct {
		Number   int  `json:"number"`
		Answered bool `json:"answered"`
	} `json:"checkins"`
}

func (v reporterView) saw(action string) bool {
	return slices.ContainsFunc(v.Timeline, func(s struct {
		Action string `json:"action"`
	}) bool {
		return s.Action == action
	})
}

// TestAnonymousReportLifecycle runs one anonymous report on real servers
// through escalation (including a conflict of interest at level 3),
// triage, assignment, acknowledgment, two-way messages, resolution,
// closure and retaliation check-ins that open a linked case — the
// reporter sees each step — and then proves that the canary planted in
// every restricted field appears in no NATS message, no raw Temporal
// history, no log line, no span and no Redis key or value.
func TestAnonymousReportLifecycle(t *testing.T) {
	ns := testkit.NATS(t)
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	rd := testkit.Redis(t)
	cfg, dev := testConfig(t, ns.URL(), ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), rd.URL)

	// Every message on every subject, from before the process starts.
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var natsMu sync.Mutex
	var leaks []string
	seen := 0
	sub, err := nc.Subscribe(">", func(m *nats.Msg) {
		natsMu.Lock()
		defer natsMu.Unlock()
		seen++
		raw := m.Subject + string(m.Data)
		for k, v := range m.Header {
			raw += k + strings.Join(v, ",")
		}
		if strings.Contains(raw, canary) {
			leaks = append(leaks, m.Subject)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	// A person whose name and e-mail address carry the canary: the
	// directory is restricted too.
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/directory/imports", a.token("ops", "admin"),
		hospital+"named,Dr "+canary+","+canary+"@example.org,med,staff,,,north,,true\n")
	if got := must[map[string]any](a, http.StatusOK, http.MethodGet, "/v1/directory/people/named", a.token("ops", "admin"), nil); !strings.Contains(fmt.Sprint(got), canary) {
		t.Fatalf("positive control: the directory does not answer the person's name: %v", got)
	}
	officer := a.token("off1", "dei_officer")
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, fastPolicy())

	// Intake: anonymous, shown once.
	rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport(canary))
	if rc.CaseKey == "" || rc.Secret == "" {
		t.Fatalf("anonymous receipt without credentials: %+v", rc)
	}
	creds := []string{ports.HeaderCaseKey, rc.CaseKey, ports.HeaderCaseSecret, rc.Secret}
	view := func() reporterView {
		return must[reporterView](a, http.StatusOK, http.MethodGet, "/v1/anonymous/case", "", nil, creds...)
	}
	if v := view(); v.Status != "submitted" || !v.saw("submit") {
		t.Fatalf("reporter view after intake: %+v", v)
	}
	// Wrong secret and unknown key answer alike.
	c1, b1 := a.call(http.MethodGet, "/v1/anonymous/case", "", nil, ports.HeaderCaseKey, rc.CaseKey, ports.HeaderCaseSecret, "wrong")
	c2, b2 := a.call(http.MethodGet, "/v1/anonymous/case", "", nil, ports.HeaderCaseKey, "ZZZZ-ZZZZ-ZZZZ", ports.HeaderCaseSecret, rc.Secret)
	if c1 != http.StatusUnauthorized || c2 != http.StatusUnauthorized || stripInstance(b1) != stripInstance(b2) {
		t.Fatalf("wrong secret %d %s vs wrong key %d %s", c1, b1, c2, b2)
	}

	// Escalation: resolvers, then the DEI office, then the chief, who is
	// in the named attending's chain: that level finds nobody eligible.
	hres := a.token("hres", "resolver")
	testkit.Eventually(t, 60*time.Second, "resolvers notified and on the case", func() bool {
		code, _ := a.call(http.MethodGet, "/v1/cases/"+rc.CaseID, hres, nil)
		return code == http.StatusOK
	})
	type escalationView struct {
		Timeline []escalation.Step `json:"timeline"`
	}
	testkit.Eventually(t, 60*time.Second, "level chief unrouted", func() bool {
		v := must[escalationView](a, http.StatusOK, http.MethodGet, "/v1/cases/"+rc.CaseID+"/escalation", officer, nil)
		return slices.ContainsFunc(v.Timeline, func(s escalation.Step) bool {
			return s.Level == "chief" && s.Status == escalation.StepUnrouted
		})
	})
	// The named attending and their chief never see the case, whatever their roles.
	for _, who := range []string{"att", "chief"} {
		if code, body := a.call(http.MethodGet, "/v1/cases/"+rc.CaseID, a.token(who, "dei_officer", "resolver"), nil); code != http.StatusNotFound {
			t.Fatalf("%s read the case: %d %s", who, code, body)
		}
	}

	// Triage and assignment; assigning a conflicted person is refused.
	base := "/v1/cases/" + rc.CaseID
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/triage", officer, map[string]any{"category": "racism", "severity": "high", "route": "med-resolution"})
	if code, body := a.call(http.MethodPost, base+"/assign", officer, map[string]any{"assignee_id": "chief"}); code != http.StatusUnprocessableEntity {
		t.Fatalf("assigning the chief: %d %s", code, body)
	}
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/assign", officer, map[string]any{"assignee_id": "hres"})
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/acknowledge", hres, nil)
	if v := view(); !v.saw("acknowledge") {
		t.Fatalf("reporter does not see the acknowledgment: %+v", v)
	}

	// Two-way messages and an internal note, all carrying the canary.
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/messages", hres, map[string]any{"text": "Handler asks: " + canary})
	must[map[string]any](a, http.StatusCreated, http.MethodPost, "/v1/anonymous/case/messages", "", map[string]any{"text": "Reporter answers: " + canary}, creds...)
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/notes", hres, map[string]any{"text": "Internal: " + canary})
	// Positive control: the people on the case do read the content.
	type caseView struct {
		Narrative string `json:"narrative"`
		Messages  []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	if cv := must[caseView](a, http.StatusOK, http.MethodGet, base, hres, nil); !strings.Contains(cv.Narrative, canary) || len(cv.Messages) != 2 {
		t.Fatalf("handler's view lacks the content: %+v", cv)
	}
	v := view()
	if len(v.Messages) != 2 || v.Messages[0].From != "handler" || v.Messages[1].From != "reporter" {
		t.Fatalf("reporter's conversation: %+v", v.Messages)
	}
	if v.saw("add_note") {
		t.Fatal("reporter sees an internal note")
	}

	// Resolution, closure, and the 409 for acting on a closed case.
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/start", hres, nil)
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/resolve", hres, map[string]any{"outcome": "substantiated"})
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/close", officer, nil)
	if code, body := a.call(http.MethodPost, base+"/resolve", hres, map[string]any{"outcome": "substantiated"}); code != http.StatusConflict || !strings.Contains(string(body), "closed") {
		t.Fatalf("resolving a closed case: %d %s", code, body)
	}

	// Retaliation check-ins: the first answered no, the second yes, which
	// opens a linked retaliation case.
	testkit.Eventually(t, 60*time.Second, "first check-in", func() bool { return len(view().Checkins) >= 1 })
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/anonymous/case/checkins/1", "", map[string]any{"retaliation": false}, creds...)
	testkit.Eventually(t, 60*time.Second, "second check-in", func() bool { return len(view().Checkins) >= 2 })
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/anonymous/case/checkins/2", "", map[string]any{"retaliation": true}, creds...)
	type list struct {
		Cases []struct {
			ID         string `json:"id"`
			LinkedFrom string `json:"linked_from"`
		} `json:"cases"`
	}
	testkit.Eventually(t, 60*time.Second, "linked retaliation case", func() bool {
		l := must[list](a, http.StatusOK, http.MethodGet, "/v1/cases", officer, nil)
		return slices.ContainsFunc(l.Cases, func(c struct {
			ID         string `json:"id"`
			LinkedFrom string `json:"linked_from"`
		}) bool {
			return c.LinkedFrom == rc.CaseID
		})
	})

	// The audit trail names who read and did what, and the denials.
	type trail struct {
		Entries []struct {
			Actor, Action, Outcome string
		} `json:"entries"`
	}
	tr := must[trail](a, http.StatusOK, http.MethodGet, base+"/audit", officer, nil)
	want := map[string]bool{"hres read allowed": false, "att read denied": false, "chief read denied": false, "reporter reporter_read allowed": false}
	for _, e := range tr.Entries {
		k := e.Actor + " " + e.Action + " " + e.Outcome
		if _, ok := want[k]; ok {
			want[k] = true
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("audit trail lacks %q", k)
		}
	}

	// The intake's trace reaches the workflow and its first notification.
	var root trace.SpanContext
	for _, s := range p.spans.Ended() {
		if s.SpanKind() == trace.SpanKindServer && strings.Contains(s.Name(), "/v1/reports") {
			root = s.SpanContext()
		}
	}
	for _, name := range []string{"send dei.resolution.report.submitted", "StartWorkflow:" + escalation.WorkflowName, "RunActivity:" + escalation.NotifyEscalationActivity} {
		found := false
		for _, s := range p.spans.Ended() {
			if strings.Contains(s.Name(), name) && s.SpanContext().TraceID() == root.TraceID() {
				found = true
			}
		}
		if !found {
			t.Errorf("no span %q in the intake's trace %s", name, root.TraceID())
		}
	}

	p.stop()
	checkNoCanary(t, canaryPlaces{
		nats:     func() (int, []string) { natsMu.Lock(); defer natsMu.Unlock(); return seen, leaks },
		logs:     p.logs.String(),
		spans:    p.spans,
		redisURL: rd.URL,
		temporal: ts.GetFrontendHostPort(), namespace: ts.GetDefaultNamespace(),
		kv:      kvValue(t, ns.URL(), "resolution_cases", rc.CaseID),
		natsURL: ns.URL(),
	})
}

func stripInstance(b []byte) string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "instance")
	out, _ := json.Marshal(m)
	return string(out)
}
