package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/idem"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
)

const day = 24 * time.Hour

func (e *env) module(id, activity string) {
	e.t.Helper()
	must(e.app.CreateModule(context.Background(), officer, id, domain.ModuleInput{Title: "Bias in clinical decisions", DurationMinutes: 45,
		Credits: 1, LMSURL: "https://lms.example.org/m/" + id, LMSActivityID: activity}))
}

func (e *env) statuses(assignment string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, tr := range must(e.app.AssignmentPeople(context.Background(), officer, assignment, app.TrainingPeopleQuery{Limit: page.MaxLimit})).Items {
		out[tr.PersonID()] = string(tr.Effective(e.clock.Now()))
	}
	return out
}

func TestAssignmentValidation(t *testing.T) {
	e := newEnv(t)
	e.hospital(2)
	e.module("bias-101", "")
	ctx := context.Background()
	var inv *fault.Error
	_, err := e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}}, DueAt: e.clock.Now().Add(-time.Hour)})
	if !asFault(err, &inv) || inv.Fields[0].Field != "due_at" || inv.Fields[0].Reason != "must be in the future" {
		t.Fatalf("past due: %v", err)
	}
	var un *fault.Error
	_, err = e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"1999"}}, DueAt: e.clock.Now().Add(day)})
	if !asFault(err, &un) || un.Fields[0].Field != "audience" {
		t.Fatalf("nobody: %v", err)
	}
	_, err = e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "nope", Audience: domain.Audience{Cohorts: []string{"2026"}}, DueAt: e.clock.Now().Add(day)})
	if !asFault(err, &un) || un.Fields[0].Field != "module_id" {
		t.Fatalf("unknown module: %v", err)
	}
	if _, err := e.app.Assign(ctx, staff("r01"), domain.AssignmentInput{}); !errors.Is(err, app.ErrForbidden) {
		t.Fatalf("staff assigns: %v", err)
	}
}

// TestFollowUpSteps runs the steps the workflow asks for against the
// store: reminders reach exactly the incomplete people, completion and
// exemption take people out, roster changes apply, the overdue wave marks
// and notifies, digests go to the supervisors' chain with counts only,
// escalation reaches the program director.
func TestFollowUpSteps(t *testing.T) {
	e := newEnv(t)
	e.hospital(6)
	e.module("bias-101", "https://lms.example.org/activities/bias-101")
	ctx := context.Background()
	as := must(e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}},
		DueAt: e.clock.Now().Add(40 * day), FollowUp: domain.FollowUp{EscalateAfter: 3 * day}}))
	if as.People() != 6 || as.Status() != domain.AssignmentActive {
		t.Fatalf("assignment %d people, %s", as.People(), as.Status())
	}
	var assigned contract.TrainingAssigned
	check(t, json.Unmarshal(e.waitEvents("dei.awareness.training.assigned", 1)[0], &assigned))
	if assigned.People != 6 || assigned.PersonID != "" || assigned.Cycle != 1 {
		t.Fatalf("assigned event %+v", assigned)
	}

	// r01 completes (twice: idempotent), r02 is exempt, r03 starts.
	rec, dup, err := e.app.RecordCompletion(ctx, integr, app.CompletionInput{PersonID: "r01", ModuleID: "bias-101", CompletedAt: e.clock.Now()})
	if err != nil || dup || rec.Applied != 1 {
		t.Fatalf("complete: %+v %v %v", rec, dup, err)
	}
	if _, dup, err := e.app.RecordCompletion(ctx, integr, app.CompletionInput{PersonID: "r01", ModuleID: "bias-101", CompletedAt: e.clock.Now()}); err != nil || !dup {
		t.Fatalf("duplicate: %v %v", dup, err)
	}
	must(e.app.Exempt(ctx, officer, as.ID(), "r02", "on parental leave until July"))
	must(e.app.StartTraining(ctx, staff("r03"), as.ID()))
	e.waitEvents("dei.awareness.training.exempted", 1)
	e.waitEvents("dei.awareness.training.completed", 1)

	// The exemption reason is sealed at rest and absent from events.
	entry, err := e.stores.Trainings.KV().Get(ctx, app.Key(as.ID(), "r02"))
	check(t, err)
	if strings.Contains(string(entry.Value()), "parental") {
		t.Fatal("exemption reason stored in clear")
	}
	if tr := must(e.app.AssignmentPeople(ctx, officer, as.ID(), app.TrainingPeopleQuery{})).Items; tr[1].ExemptReason() != "on parental leave until July" {
		t.Fatalf("reason %q", tr[1].ExemptReason())
	}

	wave := func(kind string, n int) app.Step {
		return app.Step{WaveID: as.ID() + ":1:" + kind + ":" + string(rune('0'+n)), AssignmentID: as.ID(), Cycle: 1, Kind: kind, N: n}
	}
	e.clock.add(10 * day)
	res := must(e.app.Remind(ctx, wave("reminder", 1)))
	if got := e.notified(notify.TemplateTrainingReminder); !slices.Equal(got, []string{"r03", "r04", "r05", "r06"}) || res.Notified != 4 {
		t.Fatalf("reminder 1 to %v (%d)", got, res.Notified)
	}
	e.waitEvents("dei.awareness.reminder.sent", 1)
	// A retried wave sends the same notification ids and no second event.
	must(e.app.Remind(ctx, wave("reminder", 1)))

	// r04 leaves the hospital, r10 joins the cohort.
	e.dir.leave("r04")
	e.dir.put(directory.Person{ID: "r10", Cohort: "2026", SupervisorID: "att1"})
	roster := must(e.app.SyncRoster(ctx, as.ID()))
	if roster.Joined != 1 || roster.Left != 1 || roster.Incomplete != 4 {
		t.Fatalf("roster %+v", roster)
	}
	joined := e.waitEvents("dei.awareness.training.assigned", 2)
	check(t, json.Unmarshal(joined[1], &assigned))
	if assigned.PersonID != "r10" || !assigned.DueAt.Equal(as.DueAt()) {
		t.Fatalf("joiner event %+v (cohort due %s)", assigned, as.DueAt())
	}

	e.resetNotes()
	e.clock.add(31 * day) // one day past due
	res = must(e.app.Remind(ctx, wave("overdue", 1)))
	if got := e.notified(notify.TemplateTrainingOverdue); !slices.Equal(got, []string{"r03", "r05", "r06", "r10"}) {
		t.Fatalf("overdue to %v", got)
	}
	e.waitEvents("dei.awareness.training.overdue", 4)
	if got := e.statuses(as.ID()); got["r01"] != "completed" || got["r02"] != "exempt" || got["r03"] != "overdue" || got["r04"] != "removed" {
		t.Fatalf("statuses %v", got)
	}

	// Digest: each supervisor up the chain, counts only.
	_, digests, err := e.app.Digest(ctx, wave("digest", 1))
	check(t, err)
	if len(digests) != 2 || digests[0] != (app.SupervisorDigest{SupervisorID: "att1", Overdue: 4}) || digests[1] != (app.SupervisorDigest{SupervisorID: "chief", Overdue: 4}) {
		t.Fatalf("digests %+v", digests)
	}
	if got := e.notified(notify.TemplateDigest); !slices.Equal(got, []string{"att1", "chief"}) {
		t.Fatalf("digest to %v", got)
	}
	items := must(e.app.MyReportsOverdue(ctx, caller.Actor{ID: "att1", Roles: []caller.Role{caller.Supervisor}}, app.TeamQuery{})).Items
	if len(items) != 4 || items[0].DaysOverdue != 1 {
		t.Fatalf("att1's overdue list %+v", items)
	}
	if items := must(e.app.MyReportsOverdue(ctx, caller.Actor{ID: "r05", Roles: []caller.Role{caller.Supervisor}}, app.TeamQuery{})).Items; len(items) != 0 {
		t.Fatalf("r05 sees %+v", items)
	}

	// Escalation to the department's program director.
	must(e.app.Escalate(ctx, wave("escalate", 1)))
	if got := e.notified(notify.TemplateTrainingEscalated); !slices.Equal(got, []string{"pd1"}) {
		t.Fatalf("escalated to %v", got)
	}
	var esc contract.TrainingEscalated
	check(t, json.Unmarshal(e.waitEvents("dei.awareness.training.escalated", 1)[0], &esc))
	if esc.Overdue != 4 || esc.Recipients != 1 {
		t.Fatalf("escalation event %+v", esc)
	}

	// Completing after the overdue notice takes the person out.
	must3(e.app.RecordCompletion(ctx, integr, app.CompletionInput{PersonID: "r03", ModuleID: "bias-101", CompletedAt: e.clock.Now()}))
	e.resetNotes()
	must(e.app.Remind(ctx, wave("overdue", 2)))
	if got := e.notified(notify.TemplateTrainingOverdue); slices.Contains(got, "r03") || len(got) != 3 {
		t.Fatalf("after completion: %v", got)
	}
	// The second overdue wave marked nobody new: no new overdue events.
	if n := e.count("dei.awareness.training.overdue"); n != 4 {
		t.Fatalf("%d overdue events after the second wave", n)
	}

	rep := must(e.app.TrainingReport(ctx, officer, as.ID(), app.ByCohort))
	if len(rep.Rows) != 1 || rep.Rows[0].People != 6 || rep.Rows[0].Completed != 2 || rep.Rows[0].Exempt != 1 || rep.Rows[0].Overdue != 3 {
		t.Fatalf("report %+v", rep.Rows)
	}
	if rep.Rows[0].Rate != 0.4 {
		t.Fatalf("rate %v", rep.Rows[0].Rate)
	}
	// A one-time assignment has no next cycle.
	if _, ended, err := e.app.NextCycle(ctx, as.ID(), 2, e.clock.Now()); err != nil || !ended {
		t.Fatalf("next cycle of a one-time assignment: %v %v", ended, err)
	}
}

func TestRecurrenceStartsNewCycle(t *testing.T) {
	e := newEnv(t)
	e.hospital(3)
	e.module("code-of-conduct", "")
	ctx := context.Background()
	start := e.clock.Now()
	as := must(e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "code-of-conduct", Audience: domain.Audience{Cohorts: []string{"2026"}},
		DueAt: start.Add(30 * day), Recurrence: domain.RecurAnnual}))
	for _, p := range []string{"r01", "r02"} {
		must3(e.app.RecordCompletion(ctx, integr, app.CompletionInput{PersonID: p, ModuleID: "code-of-conduct", CompletedAt: e.clock.Now()}))
	}
	must(e.app.Exempt(ctx, officer, as.ID(), "r03", "visiting"))
	e.clock.add(365 * day)
	next, ended, err := e.app.NextCycle(ctx, as.ID(), 2, start.Add(365*day))
	if err != nil || ended || next.Cycle() != 2 || !next.DueAt().Equal(start.Add(395*day)) {
		t.Fatalf("next cycle: %v %v %+v", ended, err, next)
	}
	// A retried call changes nothing.
	if again, _, _ := e.app.NextCycle(ctx, as.ID(), 2, start.Add(365*day)); again.Cycle() != 2 {
		t.Fatal("retry moved the cycle")
	}
	for p, s := range e.statuses(as.ID()) {
		if s != "assigned" {
			t.Errorf("%s is %s in cycle 2", p, s)
		}
	}
	tr := must(e.app.MyTrainings(ctx, staff("r01")))
	if len(tr) != 1 || tr[0].Cycle() != 2 || len(tr[0].History()) != 3 {
		t.Fatalf("r01 history %+v", tr[0].History())
	}
	var ev contract.TrainingAssigned
	check(t, json.Unmarshal(e.waitEvents("dei.awareness.training.assigned", 2)[1], &ev))
	if ev.Cycle != 2 || ev.People != 3 {
		t.Fatalf("cycle event %+v", ev)
	}
}

// TestOverdueNoticeSparesJoinersNotYetDue: a joiner due after the cohort
// gets reminders with the cohort but no overdue notice before their own
// due date.
func TestOverdueNoticeSparesJoinersNotYetDue(t *testing.T) {
	e := newEnv(t)
	e.hospital(2)
	e.module("bias-101", "")
	ctx := context.Background()
	as := must(e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}},
		DueAt: e.clock.Now().Add(10 * day), JoinerDays: 20}))
	e.clock.add(5 * day)
	e.dir.put(directory.Person{ID: "r50", Cohort: "2026", SupervisorID: "att1"})
	must(e.app.SyncRoster(ctx, as.ID()))
	e.clock.add(6 * day)
	res := must(e.app.Remind(ctx, app.Step{WaveID: as.ID() + ":1:overdue:1", AssignmentID: as.ID(), Cycle: 1, Kind: "overdue", N: 1}))
	if got := e.notified(notify.TemplateTrainingOverdue); !slices.Equal(got, []string{"r01", "r02"}) || res.Incomplete != 3 {
		t.Fatalf("overdue notices to %v, incomplete %d", got, res.Incomplete)
	}
	if s := e.statuses(as.ID()); s["r50"] != "assigned" {
		t.Fatalf("joiner is %s", s["r50"])
	}
	// A cancelled assignment notifies nobody any more.
	must(e.app.CancelAssignment(ctx, director, as.ID()))
	if _, err := e.app.CancelAssignment(ctx, director, as.ID()); !errors.Is(err, app.ErrConflict) {
		t.Fatalf("cancel twice: %v", err)
	}
	e.resetNotes()
	if res := must(e.app.Remind(ctx, app.Step{WaveID: as.ID() + ":1:overdue:2", AssignmentID: as.ID(), Cycle: 1, Kind: "overdue", N: 2})); res.Notified != 0 || len(e.notified(notify.TemplateTrainingOverdue)) != 0 {
		t.Fatalf("cancelled assignment notified %+v", res)
	}
}

// A create retried with the same Idempotency-Key (the request's scope)
// finds what its first attempt made: one campaign, one statement with one
// version, one assignment announced once.
func TestRetriedCreatesAreOneOfEach(t *testing.T) {
	e := newEnv(t)
	e.hospital(3)
	e.module("bias-101", "")
	retry := idem.With(context.Background(), idem.Scope{Key: "scope-1", Fingerprint: "fp"})
	in := domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}}, DueAt: e.clock.Now().Add(day)}
	first := must(e.app.Assign(retry, officer, in))
	again := must(e.app.Assign(retry, officer, in))
	if again.ID() != first.ID() {
		t.Fatalf("the retry made assignment %s, the first %s", again.ID(), first.ID())
	}
	// A later assignment's event comes after any duplicate of the first's.
	later := must(e.app.Assign(context.Background(), officer, in))
	events := e.waitEvents("dei.awareness.training.assigned", 2)
	if len(events) != 2 || !strings.Contains(string(events[1]), later.ID()) {
		t.Fatalf("%d assignment events, want the first once then the later one: %s", len(events), events)
	}
	if n := len(must(e.app.Assignments(context.Background(), officer))); n != 2 {
		t.Fatalf("%d assignments, want 2", n)
	}

	c1 := must(e.app.CreateCampaign(retry, officer, domain.CampaignInput{Title: "t", Body: "b", Audience: in.Audience}))
	c2 := must(e.app.CreateCampaign(retry, officer, domain.CampaignInput{Title: "t", Body: "b", Audience: in.Audience}))
	if c1.ID() != c2.ID() || len(must(e.app.Campaigns(context.Background(), officer))) != 1 {
		t.Fatalf("a retried campaign is two: %s %s", c1.ID(), c2.ID())
	}
	doc := domain.StatementDoc{Title: "Code", Body: "We speak up.", Audience: in.Audience}
	s1 := must(e.app.CreateStatement(retry, officer, doc))
	s2 := must(e.app.CreateStatement(retry, officer, doc))
	if s1.Statement.ID() != s2.Statement.ID() || s2.Version.Version != 1 || len(s2.History) != 1 {
		t.Fatalf("a retried statement: %s then %s at version %d (%d versions), want one statement at version 1",
			s1.Statement.ID(), s2.Statement.ID(), s2.Version.Version, len(s2.History))
	}
}
