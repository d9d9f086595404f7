package awareness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/pkg/testkit/temporalkit"
	"github.com/deiops/deiops/services/awareness"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
	"github.com/deiops/deiops/services/awareness/ports"
	"github.com/deiops/deiops/workflows/followup"
)

// staticDir is a directory snapshot that tests replace.
type staticDir struct {
	mu sync.Mutex
	d  *directory.Directory
}

func (s *staticDir) Snapshot(context.Context) (*directory.Directory, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d, nil
}

func (s *staticDir) set(t testing.TB, people []directory.Person) {
	d, err := directory.NewDirectory(people, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.d = d
	s.mu.Unlock()
}

// cohortOf is a directory with a program director, a supervisor chain
// and n residents of cohort 2026.
func cohortOf(n int) []directory.Person {
	ps := []directory.Person{
		{ID: "chief", DisplayName: "C", Department: "med", Role: "attending", Active: true},
		{ID: "att1", DisplayName: "A", Department: "med", Role: "attending", SupervisorID: "chief", Active: true},
		{ID: "pd1", DisplayName: "P", Department: "med", Role: "program_director", Active: true},
	}
	for i := 1; i <= n; i++ {
		ps = append(ps, directory.Person{ID: fmt.Sprintf("r%05d", i), DisplayName: "R", Department: "med", Role: "resident", Cohort: "2026", SupervisorID: "att1", Active: true})
	}
	return ps
}

// fastPolicy runs a cycle in seconds: reminders 3s and 1.5s before the
// due date, the overdue notice 0.5s after, escalation 1s after, one digest
// 2s after.
func fastPolicy(*domain.Assignment) followup.Policy {
	return followup.Policy{Offsets: []time.Duration{-3 * time.Second, -1500 * time.Millisecond, 500 * time.Millisecond},
		EscalateAfter: time.Second, DigestEvery: 2 * time.Second, MaxDigests: 1}
}

type world struct {
	publish  func(ctx context.Context, id, subject string, ev events.Event) error
	svc      *awareness.Service
	dir      *staticDir
	temporal client.Client

	mu    sync.Mutex
	notes []notify.Requested
	evs   map[string]int
}

func (w *world) notified(t notify.Template) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, n := range w.notes {
		if n.Template == t {
			out = append(out, n.Recipients...)
		}
	}
	sort.Strings(out)
	return out
}

func (w *world) events(subject string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.evs[subject]
}

func start(t *testing.T, people []directory.Person) *world {
	t.Helper()
	return startWith(t, temporalkit.Temporal(t), people)
}

func startWith(t testing.TB, ts *temporaltest.TestServer, people []directory.Person) *world {
	t.Helper()
	ns := testkit.NATS(t)
	ctx := context.Background()
	b, err := bus.Connect(ctx, bus.Options{Source: "deiops/awareness", NATS: config.NATS{
		URL: ns.URL(), Replicas: 1, DuplicateWindow: 2 * time.Minute, PublishAttempts: 10, AckWait: 5 * time.Second, MaxDeliver: 5,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	cat, err := events.NewCatalog(append(contract.Events(), notify.Events()...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx, cat); err != nil {
		t.Fatal(err)
	}
	ring, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := crypto.NewHasher(make([]byte, 32))
	w := &world{dir: &staticDir{}, temporal: ts.GetDefaultClient(), evs: map[string]int{}}
	w.publish = func(ctx context.Context, id, subject string, ev events.Event) error {
		env, err := events.New(ev, b.Source(), subject, b.Now())
		if err != nil {
			return err
		}
		env.ID = id
		return b.PublishEnvelope(ctx, env, nil)
	}
	w.dir.set(t, people)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub := func(subj string, fn func(*nats.Msg)) {
		if _, err := nc.Subscribe(subj, fn); err != nil {
			t.Fatal(err)
		}
	}
	sub(notify.Requested{}.EventSpec().Subject(), func(m *nats.Msg) {
		var r notify.Requested
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Error(err)
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		// JetStream de-duplicates by id; a core subscriber sees retries.
		if !slices.ContainsFunc(w.notes, func(o notify.Requested) bool { return o.NotificationID == r.NotificationID }) {
			w.notes = append(w.notes, r)
		}
	})
	seen := map[string]bool{}
	sub("dei.awareness.>", func(m *nats.Msg) {
		w.mu.Lock()
		defer w.mu.Unlock()
		// The inline publish and the outbox relay may both send an event;
		// JetStream stores it once (same id), a core subscriber sees both.
		if id := m.Header.Get("Nats-Msg-Id"); id != "" {
			if seen[id] {
				return
			}
			seen[id] = true
		}
		w.evs[m.Subject]++
	})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{}
	cfg.Privacy.MinCellSize = 5
	cfg.HTTP.PublicURL = "https://deiops.example.org"
	d := platform.Deps{Config: cfg, Logger: b.Logger(), Bus: b, Temporal: w.temporal, Keyring: ring, Hasher: h, Directory: w.dir}
	w.svc, err = awareness.NewWithOptions(d, awareness.Options{Policy: fastPolicy, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.svc.Stop(context.Background()) })
	ts.NewWorker(d.TaskQueue(awareness.Name), w.svc.Register)
	return w
}

func (w *world) assign(t testing.TB, due time.Duration) *domain.Assignment {
	t.Helper()
	ctx := context.Background()
	officer := caller.Actor{ID: "off1", Roles: []caller.Role{caller.DEIOfficer}}
	if _, err := w.svc.App().CreateModule(ctx, officer, "bias-101", domain.ModuleInput{Title: "Bias"}); err != nil && err != app.ErrConflict {
		t.Fatal(err)
	}
	as, err := w.svc.App().Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}},
		DueAt: time.Now().Add(due)})
	if err != nil {
		t.Fatal(err)
	}
	if !as.WorkflowStarted() {
		t.Fatal("follow-up not started")
	}
	return as
}

func history(t testing.TB, c client.Client, id string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// TestCohortFollowUpOnRealServers assigns a cohort, completes one person,
// exempts another, and lets the real workflow run past the due date:
// reminders reach exactly the incomplete, the overdue notice, the
// escalation and the digest follow. Its history is what the workflows
// module replays:
//
//	DEIOPS_RECORD_HISTORIES=1 go test -run TestCohortFollowUpOnRealServers .
func TestCohortFollowUpOnRealServers(t *testing.T) {
	w := start(t, cohortOf(4))
	ctx := context.Background()
	as := w.assign(t, 8*time.Second)
	integr := caller.Actor{ID: "lms", Roles: []caller.Role{caller.Integrator}}
	if _, _, err := w.svc.App().RecordCompletion(ctx, integr, app.CompletionInput{PersonID: "r00001", ModuleID: "bias-101", CompletedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.App().Exempt(ctx, caller.Actor{ID: "off1", Roles: []caller.Role{caller.DEIOfficer}}, as.ID(), "r00002", "leave"); err != nil {
		t.Fatal(err)
	}
	run := w.temporal.GetWorkflow(ctx, ports.WorkflowID(as.ID()), "")
	var res followup.Result
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := run.Get(wctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Incomplete != 2 {
		t.Errorf("result %+v", res)
	}
	if got := w.notified(notify.TemplateTrainingReminder); !slices.Equal(got, []string{"r00003", "r00003", "r00004", "r00004"}) {
		t.Errorf("reminders to %v", got)
	}
	if got := w.notified(notify.TemplateTrainingOverdue); !slices.Equal(got, []string{"r00003", "r00004"}) {
		t.Errorf("overdue notices to %v", got)
	}
	if got := w.notified(notify.TemplateTrainingEscalated); !slices.Equal(got, []string{"pd1"}) {
		t.Errorf("escalated to %v", got)
	}
	if got := w.notified(notify.TemplateDigest); !slices.Equal(got, []string{"att1", "chief"}) {
		t.Errorf("digest to %v", got)
	}
	testkit.Eventuallyf(t, 10*time.Second, func() bool {
		return w.events("dei.awareness.reminder.sent") == 3 && w.events("dei.awareness.training.overdue") == 2 &&
			w.events("dei.awareness.training.escalated") == 1 && w.events("dei.awareness.training.assigned") == 1
	}, "events %v", w.evs)
	h := history(t, w.temporal, ports.WorkflowID(as.ID()))
	t.Logf("history: %d events", len(h.Events))
	if os.Getenv("DEIOPS_RECORD_HISTORIES") != "" {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "workflows", "followup", "testdata", "cohort.history.json")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}

// TestHistoryIndependentOfCohortSize: the same schedule over 3 and 300
// people schedules the same activities, and its history stays small.
func TestHistoryIndependentOfCohortSize(t *testing.T) {
	sizes := map[int]int{}
	for _, n := range []int{3, 300} {
		w := start(t, cohortOf(n))
		as := w.assign(t, 8*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := w.temporal.GetWorkflow(ctx, ports.WorkflowID(as.ID()), "").Get(ctx, nil); err != nil {
			cancel()
			t.Fatal(err)
		}
		cancel()
		// Count activities: workflow tasks and timers batch differently
		// with the wall clock, whatever the cohort.
		h := history(t, w.temporal, ports.WorkflowID(as.ID()))
		for _, ev := range h.Events {
			if ev.GetActivityTaskScheduledEventAttributes() != nil {
				sizes[n]++
			}
		}
		if len(h.Events) > 120 {
			t.Errorf("cohort %d: %d history events", n, len(h.Events))
		}
		t.Logf("cohort %d: %d history events, %d activities", n, len(h.Events), sizes[n])
		if got := len(w.notified(notify.TemplateTrainingOverdue)); got != n {
			t.Errorf("cohort %d: %d overdue notices", n, got)
		}
	}
	if sizes[3] != sizes[300] {
		t.Errorf("activities by cohort size: %v", sizes)
	}
}
