package domain_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/awareness/domain"
)

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestIncludesAgreesWithTheDirectory: checking one person gives the same
// answer as resolving the whole audience, for random audiences.
func TestIncludesAgreesWithTheDirectory(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	depts := []directory.Department{{ID: "med", Name: "Medicine"}, {ID: "card", Name: "Cardiology", ParentID: "med"}, {ID: "surg", Name: "Surgery"}}
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	var people []directory.Person
	for i := range 300 {
		people = append(people, directory.Person{ID: fmt.Sprintf("p%03d", i), DisplayName: "P", Department: pick("med", "card", "surg"),
			Role: pick("resident", "Attending", "nurse"), TrainingLevel: pick("", "PGY-1", "pgy-2"), Cohort: pick("", "2025", "2026"),
			Site: pick("north", "south"), Active: rng.IntN(10) > 0})
	}
	d, err := directory.NewDirectory(people, depts)
	if err != nil {
		t.Fatal(err)
	}
	sub := func(vals ...string) []string {
		var out []string
		for _, v := range vals {
			if rng.IntN(3) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	for range 200 {
		a := domain.Audience{Departments: sub("med", "card", "surg"), IncludeSubdepartments: rng.IntN(2) == 0, Roles: sub("resident", " attending", "NURSE"),
			TrainingLevels: sub("PGY-1", "PGY-2"), Cohorts: sub("2025", "2026"), Sites: sub("north", "south"), People: sub("p001", "p002", "p150")}
		members := a.Resolve(d)
		for _, p := range people {
			if got, want := a.Includes(d, p.ID), slices.Contains(members, p.ID); got != want {
				t.Fatalf("audience %+v, person %+v: includes %v, directory %v", a, p, got, want)
			}
		}
	}
}

func TestAssignmentValidation(t *testing.T) {
	_, err := domain.NewAssignment("a1", "off1", domain.AssignmentInput{ModuleID: "m1", DueAt: now.Add(-time.Hour), Recurrence: "weekly",
		FollowUp: domain.FollowUp{ReminderOffsets: []time.Duration{time.Millisecond}, EscalateTo: []string{"bad id"}}}, now)
	var v *fault.Error
	if !asFault(err, &v) {
		t.Fatal(err)
	}
	var fields []string
	for _, f := range v.Fields {
		fields = append(fields, f.Field)
	}
	want := []string{"audience", "due_at", "recurrence", "follow_up.reminder_offsets[0]", "follow_up.escalate_to[0]"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
}

func TestTrainingTransitions(t *testing.T) {
	a, err := domain.NewAssignment("a1", "off1", domain.AssignmentInput{ModuleID: "m1", Audience: domain.Audience{Cohorts: []string{"2026"}},
		DueAt: now.Add(30 * domain.Day), Recurrence: domain.RecurAnnual}, now)
	if err != nil {
		t.Fatal(err)
	}
	a.Activate(1)
	tr := domain.NewTraining(a, "p1", a.DueAt(), "assignment", now)
	if tr.Effective(now.Add(31*domain.Day)) != domain.StatusOverdue || tr.Status() != domain.StatusAssigned {
		t.Fatal("not overdue past due")
	}
	if tr.MarkOverdue(now, "w1") {
		t.Fatal("marked overdue before due")
	}
	if !tr.Start(now) || !tr.MarkOverdue(now.Add(31*domain.Day), "w1") || tr.OverdueRef() != "w1" || tr.MarkOverdue(now.Add(32*domain.Day), "w2") {
		t.Fatal("start / overdue")
	}
	if !tr.Complete(now.Add(32*domain.Day), "lms", "xapi", "s1", now.Add(32*domain.Day)) || tr.Complete(now, "lms", "xapi", "s1", now) {
		t.Fatal("complete twice")
	}
	if _, err := tr.Exempt("x", "off1", now); !errors.Is(err, domain.ErrState) {
		t.Fatalf("exempt after completion: %v", err)
	}
	if a.JoinerDue(now.Add(20*domain.Day)) != now.Add(50*domain.Day) || a.JoinerDue(now) != a.DueAt() {
		t.Fatal("joiner due")
	}
	if !a.NextCycle(2, now.Add(365*domain.Day)) || a.DueAt() != now.Add(395*domain.Day) || a.NextCycle(2, now) {
		t.Fatal("next cycle")
	}
	if !tr.NewCycle(2, a.DueAt(), now.Add(365*domain.Day)) || tr.Status() != domain.StatusAssigned || tr.Cycle() != 2 {
		t.Fatal("new cycle")
	}
	if !tr.Remove(now) || tr.NewCycle(3, a.DueAt(), now) || !tr.Rejoin(2, a.DueAt(), now) {
		t.Fatal("leaver and rejoin")
	}
	statuses := []domain.Status{}
	for _, c := range tr.History() {
		statuses = append(statuses, c.Status)
	}
	want := []domain.Status{"assigned", "in_progress", "overdue", "completed", "assigned", "removed", "assigned"}
	if !slices.Equal(statuses, want) {
		t.Fatalf("history %v", statuses)
	}
}

func TestStatementAttestation(t *testing.T) {
	s, err := domain.NewStatement("s1", "off1", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attest(1, "p1", true, now); !errors.Is(err, domain.ErrState) {
		t.Fatal("attested an unpublished statement")
	}
	s.Published(1, domain.StatementDoc{Title: "t", Body: "b", RequiresAttestation: true}, now)
	if _, err := s.Attest(1, "p1", false, now); !errors.Is(err, domain.ErrNotInAudience) {
		t.Fatal("attested outside the audience")
	}
	if s.Published(1, domain.StatementDoc{}, now) {
		t.Fatal("republished version 1")
	}
	s.Published(2, domain.StatementDoc{Title: "t", Body: "b2"}, now)
	if s.RequiresAttestation() {
		t.Fatal("v2 does not ask for attestation")
	}
	if _, err := s.Attest(1, "p1", true, now); !errors.Is(err, domain.ErrState) {
		t.Fatal("attested an old version")
	}
}

func TestCampaignLifecycle(t *testing.T) {
	in := domain.CampaignInput{Title: "t", Body: "b", Audience: domain.Audience{Roles: []string{"resident"}}, ExpiresAt: now.Add(domain.Day)}
	c, err := domain.NewCampaign("c1", "off1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Schedule(now.Add(2*domain.Day), now); err == nil {
		t.Fatal("scheduled after expiry")
	}
	if err := c.Schedule(time.Time{}, now); err != nil || !c.Due(now) {
		t.Fatalf("schedule now: %v", err)
	}
	if err := c.Publish(3, now); err != nil || c.Publish(3, now) == nil || c.Edit(in, now) == nil {
		t.Fatal("publish once, then frozen")
	}
	if !c.Live(now) || c.Live(now.Add(domain.Day)) {
		t.Fatal("live until expiry")
	}
}

// asFault reports whether err is classified, setting *f.
func asFault(err error, f **fault.Error) bool {
	var ok bool
	*f, ok = fault.As(err)
	return ok
}
