package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
)

func TestCSVImportIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	e.hospital(3)
	e.module("bias-101", "")
	ctx := context.Background()
	as := must(e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}}, DueAt: e.clock.Now().Add(30 * day)}))
	bad := "person_id,module_id,completed_at\n" +
		"r01,bias-101,2026-03-01\n" +
		"ghost,bias-101,2026-03-01\n" +
		"r02,bias-101,yesterday\n" +
		"r03,nope,2026-03-01T10:00:00Z\n" +
		"r01,bias-101,2026-03-01\n" +
		"r03,bias-101,2099-01-01\n"
	_, err := e.app.ImportCSV(ctx, integr, strings.NewReader(bad))
	var ie *app.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("bad file: %v", err)
	}
	var got []string
	for _, l := range ie.Lines {
		got = append(got, strings.TrimSpace(l.Field+" "+itoa(l.Line)))
	}
	want := []string{"person_id 3", "completed_at 4", "module_id 5", "6", "completed_at 7"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("bad lines %v, want %v", got, want)
	}
	if s := e.statuses(as.ID()); s["r01"] != "assigned" {
		t.Fatalf("a bad file applied r01: %v", s)
	}
	if _, err := e.app.ImportCSV(ctx, integr, strings.NewReader("who,what\nr01,x\n")); !errors.As(err, &ie) || len(ie.Lines) != 3 {
		t.Fatalf("bad header: %v", err)
	}
	good := "person_id,module_id,completed_at,external_id\nr01,bias-101,2026-03-01,lms-1\nr02,bias-101,2026-03-01T08:00:00Z,lms-2\n"
	res := must(e.app.ImportCSV(ctx, integr, strings.NewReader(good)))
	if res.Rows != 2 || res.Applied != 2 {
		t.Fatalf("good file %+v", res)
	}
	res = must(e.app.ImportCSV(ctx, integr, strings.NewReader(good)))
	if res.Duplicates != 2 || res.Applied != 0 {
		t.Fatalf("resent file %+v", res)
	}
	if s := e.statuses(as.ID()); s["r01"] != "completed" || s["r02"] != "completed" || s["r03"] != "assigned" {
		t.Fatalf("statuses %v", s)
	}
	if n := e.count("dei.awareness.training.completed"); n > 2 {
		t.Fatalf("%d completion events", n)
	}
	if _, err := e.app.ImportCSV(ctx, staff("r01"), strings.NewReader(good)); !errors.Is(err, app.ErrForbidden) {
		t.Fatalf("staff imports: %v", err)
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestXAPIStatements(t *testing.T) {
	e := newEnv(t)
	e.hospital(3)
	const activity = "https://lms.example.org/activities/bias-101"
	e.module("bias-101", activity)
	ctx := context.Background()
	as := must(e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}}, DueAt: e.clock.Now().Add(30 * day)}))
	completed, passed := "http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/passed"
	at := e.clock.Now()
	sts := []app.XAPIStatement{
		{ID: "6f0c0a5e-0000-4000-8000-000000000001", Verb: completed, ActorMbox: "mailto:R01@example.org", ActivityID: activity, Timestamp: at},
		{ID: "6f0c0a5e-0000-4000-8000-000000000002", Verb: passed, ActorAccount: "r02", ActivityID: activity, Timestamp: at},
		{ID: "6f0c0a5e-0000-4000-8000-000000000003", Verb: completed, ActorAccount: "r03", ActivityID: "https://lms.example.org/activities/other", Timestamp: at},
		{ID: "6f0c0a5e-0000-4000-8000-000000000004", Verb: completed, ActorMbox: "mailto:stranger@example.org", ActivityID: activity, Timestamp: at},
		{ID: "6f0c0a5e-0000-4000-8000-000000000005", Verb: "http://adlnet.gov/expapi/verbs/attempted", ActorAccount: "r03", ActivityID: activity, Timestamp: at},
		{ID: "6f0c0a5e-0000-4000-8000-000000000001", Verb: completed, ActorMbox: "mailto:r01@example.org", ActivityID: activity, Timestamp: at},
	}
	res := must(e.app.IngestXAPI(ctx, integr, e.hasher, sts))
	want := []string{"applied", "applied", "unmatched", "unmatched", "ignored", "applied"}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("statement %d: %s (%s), want %s", i+1, r.Status, r.Reason, want[i])
		}
	}
	if !res[5].Duplicate || res[0].Duplicate {
		t.Errorf("duplicates: %+v", res)
	}
	if s := e.statuses(as.ID()); s["r01"] != "completed" || s["r02"] != "completed" || s["r03"] != "assigned" {
		t.Fatalf("statuses %v", s)
	}
	un := must(e.app.Unmatched(ctx, officer))
	if len(un) != 2 {
		t.Fatalf("unmatched %+v", un)
	}
	reasons := un[0].Reason + "|" + un[1].Reason
	if !strings.Contains(reasons, "unknown activity") || !strings.Contains(reasons, "unknown actor") {
		t.Fatalf("reasons %s", reasons)
	}
	// The mailbox is kept as a hash only.
	entry, err := e.stores.Ingest.KV().Get(ctx, "xapi-"+app.Key("6f0c0a5e-0000-4000-8000-000000000004"))
	check(t, err)
	if strings.Contains(string(entry.Value()), "stranger") {
		t.Fatal("mailbox stored in clear")
	}
	if _, err := e.app.Unmatched(ctx, integr); !errors.Is(err, app.ErrForbidden) {
		t.Fatalf("integrator reads unmatched: %v", err)
	}
}
