package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/devstack"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution"
	"github.com/deiops/deiops/services/resolution/adapters"
	"github.com/deiops/deiops/services/resolution/ports"
)

func resolutionOf(t *testing.T, p *process) *resolution.Service {
	t.Helper()
	s, ok := p.app.Target(resolution.Name).(*resolution.Service)
	if !ok {
		t.Fatal("no resolution target")
	}
	return s
}

// TestIntakeKeepsAcceptingWhileTemporalIsDown stops Temporal for a
// minute while reports keep arriving: every report is accepted, and once
// Temporal is back every case's escalation starts, once.
func TestIntakeKeepsAcceptingWhileTemporalIsDown(t *testing.T) {
	ns := testkit.NATS(t)
	rd := testkit.Redis(t)
	port, err := devstack.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "temporal.db")
	startTemporal := func() *devstack.TemporalServer {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ts, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{Port: port, DBFile: db})
		if err != nil {
			t.Fatalf("start temporal: %v", err)
		}
		return ts
	}
	ts := startTemporal()
	cfg, dev := testConfig(t, ns.URL(), ts.HostPort(), "default", rd.URL)
	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	officer := a.token("off1", "dei_officer")
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, slowPolicy())

	if err := ts.Stop(); err != nil {
		t.Fatalf("stop temporal: %v", err)
	}
	// Reports arrive every two seconds for a minute.
	var ids []string
	outage := time.Now()
	pace := time.NewTicker(2 * time.Second)
	defer pace.Stop()
	for ; time.Since(outage) < time.Minute; <-pace.C {
		rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("outage"))
		ids = append(ids, rc.CaseID)
	}
	t.Logf("%d reports accepted during a %s Temporal outage", len(ids), time.Since(outage).Round(time.Second))
	ts = startTemporal()
	defer func() { _ = ts.Stop() }()

	tc, err := client.Dial(client.Options{HostPort: ts.HostPort(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	testkit.Eventually(t, 4*time.Minute, "every escalation started", func() bool {
		for _, id := range ids {
			if _, err := tc.DescribeWorkflowExecution(context.Background(), ports.WorkflowID(id), ""); err != nil {
				return false
			}
		}
		return true
	})
	// Once: one run per case.
	for _, id := range ids {
		page, err := tc.ListWorkflow(context.Background(), listByID(ports.WorkflowID(id)))
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Executions) != 1 {
			t.Errorf("case %s has %d escalation runs", id, len(page.Executions))
		}
	}
}

// TestEscalationSurvivesAWorkerLoss stops the only process mid-escalation
// and starts a new one: the case escalates through its remaining levels,
// and every escalation notice is recorded and requested exactly once.
func TestEscalationSurvivesAWorkerLoss(t *testing.T) {
	ns := testkit.NATS(t)
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	rd := testkit.Redis(t)
	cfg, dev := testConfig(t, ns.URL(), ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), rd.URL)
	p1 := start(t, cfg, dev)
	a := api{t: t, base: p1.base, dev: dev}
	importHospital(t, a)
	officer := a.token("off1", "dei_officer")
	pol := fastPolicy()
	levels := pol["levels"].([]map[string]any)
	levels[1]["delay"] = map[string]any{"amount": 8, "unit": "seconds"}
	levels[2]["delay"] = map[string]any{"amount": 2, "unit": "seconds"}
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, pol)
	rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("worker loss"))

	escalations := func(p *process) []string {
		rec, err := resolutionOf(t, p).App().Case(context.Background(), officerActor(), rc.CaseID)
		if err != nil {
			t.Fatal(err)
		}
		var levels []string
		for _, e := range rec.Escalations {
			levels = append(levels, e.Level)
		}
		return levels
	}
	testkit.Eventually(t, 60*time.Second, "first level notified", func() bool { return len(escalations(p1)) == 1 })
	p1.stop()

	p2 := start(t, cfg, dev)
	testkit.Eventually(t, 90*time.Second, "remaining levels notified by the new process", func() bool {
		return slices.Equal(escalations(p2), []string{"resolvers", "dei-office", "chief"})
	})

	// Each notice was requested once, whatever was retried.
	_, js := testkit.Connect(t, ns.URL())
	spec := notify.Requested{}.EventSpec()
	cons, err := js.OrderedConsumer(context.Background(), spec.Stream(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{spec.Subject()}})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	batch, err := cons.FetchNoWait(1000)
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		env, err := events.Decode(events.Header(m.Headers()), m.Data(), m.Subject())
		if err != nil {
			t.Fatal(err)
		}
		var r notify.Requested
		if err := json.Unmarshal(env.Data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Reference == rc.CaseID {
			counts[r.NotificationID]++
		}
	}
	if len(counts) != 3 {
		t.Errorf("%d distinct notices for the case, want 3: %v", len(counts), counts)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("notice %s requested %d times", id, n)
		}
	}
}

// TestReadModelsRebuildFromJetStreamAfterARedisFlush flushes Redis while
// reports arrive, then starts a second process: its case index and
// pattern aggregates, rebuilt from JetStream alone, equal the first's.
func TestReadModelsRebuildFromJetStreamAfterARedisFlush(t *testing.T) {
	ns := testkit.NATS(t)
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	rd := testkit.Redis(t)
	cfg, dev := testConfig(t, ns.URL(), ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), rd.URL)
	p1 := start(t, cfg, dev)
	a := api{t: t, base: p1.base, dev: dev}
	importHospital(t, a)
	must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("before"))
	for i := range 20 {
		if i == 10 {
			flushDeiops(t, rd.Client)
		}
		r := anonymousReport("flush")
		if i%2 == 0 {
			r["anonymous"] = false
			must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", a.token("res2", "resident"), r)
			continue
		}
		must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", r)
	}
	s1 := resolutionOf(t, p1)
	testkit.Eventually(t, 30*time.Second, "first process saw every report", func() bool {
		return len(s1.Index().All()) == 21 && s1.Patterns().Engine.Len() == 21
	})

	// The same aggregates answer the patterns API: the attending named in
	// every report was named by 11 anonymous reporters and one named one
	// (who filed ten reports), so one match of 12 distinct reporters.
	officer := a.token("off1", "dei_officer")
	type matches struct {
		Matches []struct {
			Reports           int `json:"reports"`
			DistinctReporters int `json:"distinct_reporters"`
		} `json:"matches"`
	}
	m := must[matches](a, http.StatusOK, http.MethodGet, "/v1/patterns/repeat-subjects", officer, nil)
	if len(m.Matches) != 1 || m.Matches[0].Reports != 21 || m.Matches[0].DistinctReporters != 12 {
		t.Errorf("repeat subjects: %+v", m)
	}
	if code, _ := a.call(http.MethodGet, "/v1/patterns/repeat-subjects", a.token("lead", "department_lead"), nil); code != http.StatusForbidden {
		t.Errorf("a department lead read repeat subjects: %d", code)
	}

	cfg2 := cfg
	cfg2.HTTPAddr = "127.0.0.1:0"
	p2 := start(t, cfg2, dev)
	s2 := resolutionOf(t, p2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s2.Index().Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Patterns().CaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := s2.Patterns().Engine.Fingerprint(), s1.Patterns().Engine.Fingerprint(); got != want {
		t.Errorf("rebuilt pattern aggregates differ: %s vs %s", got, want)
	}
	if got, want := summaries(s2.Index()), summaries(s1.Index()); got != want {
		t.Errorf("rebuilt case index differs:\n%s\n%s", got, want)
	}
}

func summaries(ix *adapters.Index) string { return fmt.Sprintf("%+v", ix.All()) }

// flushDeiops deletes every key the platform keeps in Redis (idempotency,
// dedup, rate limits, guess counts), as losing Redis would.
func flushDeiops(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	n := 0
	iter := rdb.Scan(ctx, 0, "deiops:*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no platform keys in Redis to flush")
	}
	t.Logf("flushed %d Redis keys", n)
}

func officerActor() caller.Actor {
	return caller.Actor{ID: "off1", Roles: []caller.Role{caller.DEIOfficer}}
}

func listByID(id string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: "WorkflowId = '" + id + "'"}
}

// TestServesBeforeTemporalIsReachable starts a process whose Temporal
// does not answer: it serves, takes reports, and stays ready with
// Temporal reported as degraded (an outage of it must not take every
// replica out of service). When Temporal comes up, the workers join
// within seconds and the report's escalation answers (a query is answered
// by a worker, so this fails while none runs).
func TestServesBeforeTemporalIsReachable(t *testing.T) {
	ns := testkit.NATS(t)
	rd := testkit.Redis(t)
	port, err := devstack.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg, dev := testConfig(t, ns.URL(), fmt.Sprintf("127.0.0.1:%d", port), "default", rd.URL)
	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("no temporal"))
	code, body := a.call(http.MethodGet, "/readyz", "", nil)
	var rep struct {
		Status string `json:"status"`
		Checks map[string]struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || code != http.StatusOK || rep.Checks["temporal"].Status != "degraded" || rep.Checks["nats"].Status != "ok" {
		t.Errorf("/readyz without Temporal: %d %s; want 200, temporal degraded, nats ok", code, body)
	}
	// Long enough for the workers' first start attempts to have failed.
	officer := a.token("off1", "dei_officer")
	testkit.Eventually(t, 30*time.Second, "escalation reads refused with Retry-After", func() bool {
		code, _ := a.call(http.MethodGet, "/v1/cases/"+rc.CaseID+"/escalation", officer, nil)
		return code == http.StatusServiceUnavailable
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ts, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{Port: port, DBFile: filepath.Join(t.TempDir(), "temporal.db")})
	if err != nil {
		t.Fatalf("start temporal: %v", err)
	}
	defer func() { _ = ts.Stop() }()
	up := time.Now()
	testkit.Eventually(t, 60*time.Second, "the escalation answers once Temporal is up", func() bool {
		code, _ := a.call(http.MethodGet, "/v1/cases/"+rc.CaseID+"/escalation", officer, nil)
		return code == http.StatusOK
	})
	t.Logf("escalation answered %s after Temporal came up", time.Since(up).Round(time.Millisecond))
	code, body = a.call(http.MethodGet, "/readyz", "", nil)
	if code != http.StatusOK || strings.Contains(string(body), `"degraded"`) {
		t.Errorf("/readyz with Temporal back: %d %s; want every check ok", code, body)
	}
}
