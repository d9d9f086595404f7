package escalationrec_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/deiops/deiops/pkg/testkit/temporalkit"
	"github.com/deiops/deiops/workflows/escalation"
)

const taskQueue = "escalation-history"

// service is an in-memory resolution service. Each activity reports what
// it did on the case's channel, so the test acts when the workflow has
// reached a step instead of sleeping.
type service struct {
	mu     sync.Mutex
	events map[string]chan string
}

func (s *service) report(caseID, event string) {
	s.mu.Lock()
	ch := s.events[caseID]
	s.mu.Unlock()
	ch <- event
}

func (s *service) ResolveTargets(_ context.Context, in escalation.ResolveTargetsInput) (escalation.ResolveTargetsResult, error) {
	roles := map[string][]string{
		escalation.RoleDEIOfficer:     {"dei-1"},
		escalation.RoleDepartmentLead: {"chair-1", "chair-2"},
	}
	var out escalation.ResolveTargetsResult
	for _, t := range in.Targets {
		switch t.Kind {
		case escalation.TargetUser:
			out.People = append(out.People, t.ID)
		case escalation.TargetRole:
			out.People = append(out.People, roles[t.Role]...)
		case escalation.TargetRotation:
			out.People = append(out.People, t.Members[0])
		}
	}
	return out, nil
}

func (s *service) NotifyEscalation(_ context.Context, in escalation.NotifyEscalationInput) error {
	s.report(in.CaseID, fmt.Sprintf("notice r%d %s#%d %v", in.Round, in.Level, in.Attempt, in.Recipients))
	return nil
}

func (s *service) RequestCheckin(_ context.Context, in escalation.RequestCheckinInput) error {
	s.report(in.CaseID, fmt.Sprintf("checkin r%d %d/%d", in.Round, in.Number, in.Of))
	return nil
}

func (s *service) OpenLinkedCase(_ context.Context, in escalation.OpenLinkedCaseInput) (escalation.OpenLinkedCaseResult, error) {
	s.report(in.CaseID, "linked")
	return escalation.OpenLinkedCaseResult{CaseID: in.CaseID + "-retaliation"}, nil
}

// policy has clocks in seconds so a real server runs a case in moments.
func policy(levels ...escalation.Level) escalation.Policy {
	return escalation.Policy{
		ID: "recording", Version: 1, Department: "surgery",
		Calendar: escalation.BusinessCalendar{TimeZone: "America/New_York", Workdays: escalation.MondayToFriday(), Start: "09:00", End: "17:00"},
		Levels:   levels,
		Delegations: escalation.Delegations{
			{From: "pd-1", To: "pd-2", Start: "2000-01-01", End: "2099-12-31"},
		},
		Checkins: escalation.RetaliationCheckins{
			Offsets:        []escalation.Duration{escalation.Seconds(1), escalation.Seconds(4)},
			ResponseWindow: escalation.Seconds(2),
		},
	}
}

// scenario drives one case: act sends signals when the case reaches the
// steps it waits for; check looks at the result.
type scenario struct {
	name  string
	input escalation.Input
	act   func(ctx context.Context, c *caseDriver)
	check func(t *testing.T, r escalation.Result)
}

type caseDriver struct {
	t      *testing.T
	client client.Client
	id     string
	events chan string
}

// waitFor blocks until the case reports event.
func (d *caseDriver) waitFor(ctx context.Context, event string) {
	d.t.Helper()
	for {
		select {
		case got := <-d.events:
			d.t.Logf("%s: %s", d.id, got)
			if got == event {
				return
			}
		case <-ctx.Done():
			d.t.Fatalf("%s: waiting for %q: %v", d.id, event, ctx.Err())
		}
	}
}

func (d *caseDriver) signal(ctx context.Context, name string, v any) {
	d.t.Helper()
	if err := d.client.SignalWorkflow(ctx, d.id, "", name, v); err != nil {
		d.t.Fatalf("%s: signal %s: %v", d.id, name, err)
	}
}

// drain reports events until the channel is quiet, so activities never
// block on a full channel once the test stops waiting.
func (d *caseDriver) drain(ctx context.Context) {
	go func() {
		for {
			select {
			case <-d.events:
			case <-ctx.Done():
				return
			}
		}
	}()
}

func scenarios() []scenario {
	ack := escalation.Level{Name: "acknowledge", Targets: []escalation.Target{escalation.User("pd-1")}, Delay: escalation.Seconds(30), Condition: escalation.IfNotAcknowledged}
	return []scenario{
		{
			name:  "acknowledged-in-time",
			input: escalation.Input{CaseID: "case-fast", Department: "surgery", Excluded: []string{"res-7"}, Policy: policy(ack, escalation.Level{Name: "resolve", Targets: []escalation.Target{escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.Seconds(60), From: escalation.FromAcknowledgment, Condition: escalation.IfNotResolved})},
			act: func(ctx context.Context, d *caseDriver) {
				d.signal(ctx, escalation.SignalAssign, escalation.Assign{To: "h-1", By: "dei-1"})
				d.signal(ctx, escalation.SignalAcknowledge, escalation.Acknowledge{By: "h-1"})
				d.signal(ctx, escalation.SignalResolve, escalation.Resolve{By: "h-1", Outcome: "resolved_informally"})
				d.drain(ctx)
			},
			check: func(t *testing.T, r escalation.Result) {
				if r.Ending != escalation.EndingFollowedUp || r.CheckinsDone != 2 || r.Rounds != 1 {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "escalated",
			input: escalation.Input{CaseID: "case-escalated", Department: "surgery", Excluded: []string{"res-7", "chair-1"}, Policy: policy(
				escalation.Level{Name: "first", Targets: []escalation.Target{escalation.User("pd-1"), escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.Seconds(1), Condition: escalation.IfNotAcknowledged, Repeat: 1, RepeatEvery: escalation.Seconds(1)},
				escalation.Level{Name: "second", Targets: []escalation.Target{escalation.Role(escalation.RoleDepartmentLead)}, Delay: escalation.Seconds(2), Condition: escalation.IfNotAcknowledged},
				escalation.Level{Name: "third", Targets: []escalation.Target{escalation.User("pd-1"), escalation.Rotation("dei-rota", "dei-1", "dei-2")}, Delay: escalation.Seconds(3), From: escalation.FromAcknowledgment, Condition: escalation.IfNotResolved},
			)},
			act: func(ctx context.Context, d *caseDriver) {
				d.waitFor(ctx, "notice r1 first#2 [pd-2 dei-1]")
				d.signal(ctx, escalation.SignalRecuse, escalation.Recuse{By: "pd-2"})
				d.waitFor(ctx, "notice r1 second#1 [chair-2]")
				d.signal(ctx, escalation.SignalAcknowledge, escalation.Acknowledge{By: "chair-1"}) // conflicted: rejected
				d.signal(ctx, escalation.SignalAcknowledge, escalation.Acknowledge{By: "dei-1"})
				d.waitFor(ctx, "notice r1 third#1 [pd-1 dei-1]") // pd-2 recused: pd-1 keeps their notices
				d.signal(ctx, escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "substantiated"})
				d.waitFor(ctx, "checkin r1 1/2")
				d.signal(ctx, escalation.SignalRetaliationReported, escalation.RetaliationReport{Checkin: 1})
				d.waitFor(ctx, "linked")
				d.drain(ctx)
			},
			check: func(t *testing.T, r escalation.Result) {
				if r.Ending != escalation.EndingRetaliationReported || r.LinkedCaseID != "case-escalated-retaliation" {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name:  "reopened",
			input: escalation.Input{CaseID: "case-reopened", Department: "surgery", Policy: policy(ack, escalation.Level{Name: "resolution", Targets: []escalation.Target{escalation.Role(escalation.RoleDEIOfficer)}, Delay: escalation.Seconds(2), From: escalation.FromAcknowledgment, Condition: escalation.IfNotResolved})},
			act: func(ctx context.Context, d *caseDriver) {
				d.signal(ctx, escalation.SignalAcknowledge, escalation.Acknowledge{By: "h-1"})
				d.signal(ctx, escalation.SignalResolve, escalation.Resolve{By: "h-1", Outcome: "resolved"})
				d.waitFor(ctx, "checkin r1 1/2")
				d.signal(ctx, escalation.SignalReopen, escalation.Reopen{By: "dei-1"})
				d.waitFor(ctx, "notice r2 resolution#1 [dei-1]")
				d.signal(ctx, escalation.SignalResolve, escalation.Resolve{By: "dei-1", Outcome: "substantiated"})
				d.drain(ctx)
			},
			check: func(t *testing.T, r escalation.Result) {
				if r.Ending != escalation.EndingFollowedUp || r.Rounds != 2 || r.CheckinsDone != 2 {
					t.Errorf("result %+v", r)
				}
			},
		},
	}
}

// TestRecordEscalationHistories runs cases on a real Temporal server and
// refreshes the histories the workflows module replays:
//
//	DEIOPS_RECORD_HISTORIES=1 go test -run TestRecordEscalationHistories ./escalationrec/
//
// Without the variable it runs the same cases and checks they complete,
// so the recording path stays tested.
func TestRecordEscalationHistories(t *testing.T) {
	svc := &service{events: map[string]chan string{}}
	for _, sc := range scenarios() {
		svc.events[sc.input.CaseID] = make(chan string, 64)
	}
	ts := temporalkit.Temporal(t)
	ts.NewWorker(taskQueue, func(r worker.Registry) { escalation.Register(r, svc) })
	c := ts.GetDefaultClient()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			id := "escalation-history-" + sc.name
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, escalation.WorkflowName, sc.input)
			if err != nil {
				t.Fatal(err)
			}
			svc.mu.Lock()
			events := svc.events[sc.input.CaseID]
			svc.mu.Unlock()
			sc.act(ctx, &caseDriver{t: t, client: c, id: id, events: events})
			var res escalation.Result
			if err := run.Get(ctx, &res); err != nil {
				t.Fatal(err)
			}
			sc.check(t, res)
			h := history(ctx, t, c, run)
			if os.Getenv("DEIOPS_RECORD_HISTORIES") == "" {
				return
			}
			b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "workflows", "escalation", "testdata", sc.name+".history.json")
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d events)", path, len(h.Events))
		})
	}
}

func history(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	if n := len(h.Events); n < 20 {
		t.Fatalf("history has %d events", n)
	}
	return h
}
