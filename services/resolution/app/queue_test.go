package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/deiops/deiops/workflows/escalation"
)

// summaries is a fixed read model: the queue reads nothing else.
type summaries []app.Summary

func (s summaries) All() []app.Summary              { return append([]app.Summary(nil), s...) }
func (s summaries) ByReporter(string) []app.Summary { return nil }
func (s summaries) Select(keep func(*app.Summary) bool) []*app.Summary {
	var out []*app.Summary
	for i := range s {
		if keep(&s[i]) {
			out = append(out, &s[i])
		}
	}
	return out
}

// queuePolicy acknowledges within 7 days and resolves within 30 days of it,
// on a calendar that never closes, so the expected clocks are plain dates.
func queuePolicy() escalation.Policy {
	every := []escalation.Weekday{escalation.Monday, escalation.Tuesday, escalation.Wednesday, escalation.Thursday,
		escalation.Friday, escalation.Saturday, escalation.Sunday}
	return escalation.Policy{ID: "q", Version: 1,
		Calendar: escalation.BusinessCalendar{TimeZone: "UTC", Workdays: every, Start: "00:00", End: "24:00"},
		Levels: []escalation.Level{
			{Name: "acknowledge", Targets: []escalation.Target{escalation.User("u")}, Delay: escalation.Days(7), Condition: escalation.IfNotAcknowledged},
			{Name: "resolve", Targets: []escalation.Target{escalation.User("u")}, Delay: escalation.Days(30), From: escalation.FromAcknowledgment, Condition: escalation.IfNotResolved},
		}}
}

func newQueue(t testing.TB, n int, now time.Time) *app.Service {
	t.Helper()
	hasher, err := crypto.NewHasher(make([]byte, crypto.MinHashSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	states := []domain.State{domain.StateSubmitted, domain.StateAssigned, domain.StateAcknowledged, domain.StateInProgress, domain.StateClosed}
	var all summaries
	for i := range n {
		s := app.Summary{ID: fmt.Sprintf("c%05d", i), State: states[i%len(states)], Category: []string{"racism", "harassment"}[i%2],
			Department: []string{"med", "surg", "peds"}[i%3], OpenedAt: now.Add(-time.Duration(i) * time.Hour)}
		if s.State == domain.StateAcknowledged || s.State == domain.StateInProgress {
			s.AcknowledgedAt = s.OpenedAt.Add(time.Hour)
		}
		if i%7 == 0 {
			s.Assignee = "h1"
		}
		all = append(all, s)
	}
	return app.New(app.Options{Index: all, Hasher: hasher, Now: func() time.Time { return now },
		Policy: func(context.Context, string) (escalation.Policy, error) { return queuePolicy(), nil }})
}

// urgency is what the due sort orders by: a broken deadline, else the next.
func urgency(c app.Summary) time.Time {
	if c.Overdue {
		return c.OverdueSince
	}
	if c.NextDueAt.IsZero() {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return c.NextDueAt
}

var officer = caller.Actor{ID: "off1", Roles: []caller.Role{caller.DEIOfficer}}

func TestTheQueuePagesEveryCaseOnceInOrderWithItsClock(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	svc := newQueue(t, 1000, now)
	ctx := context.Background()
	for _, sort := range []string{"", app.SortOpenedNewest, app.SortDue} {
		seen := map[string]bool{}
		var prev *app.Summary
		q := app.CaseQuery{States: []domain.State{domain.StateSubmitted, domain.StateAssigned, domain.StateAcknowledged, domain.StateInProgress}, Sort: sort, Limit: 70}
		pages := 0
		for {
			p, err := svc.Queue(ctx, officer, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if p.Total != 800 {
				t.Fatalf("sort %q: total %d, want the 800 open cases", sort, p.Total)
			}
			for i := range p.Cases {
				c := p.Cases[i]
				if seen[c.ID] {
					t.Fatalf("sort %q: %s on two pages", sort, c.ID)
				}
				seen[c.ID] = true
				if prev != nil {
					ok := map[string]bool{
						"":                   !c.OpenedAt.Before(prev.OpenedAt),
						app.SortOpenedNewest: !c.OpenedAt.After(prev.OpenedAt),
						app.SortDue:          !urgency(c).Before(urgency(*prev)),
					}[sort]
					if !ok {
						t.Fatalf("sort %q: %s (opened %s, due %s) after %s (opened %s, due %s)", sort, c.ID, c.OpenedAt, c.NextDueAt, prev.ID, prev.OpenedAt, prev.NextDueAt)
					}
				}
				prev = &c
			}
			if p.Next == "" {
				break
			}
			q.After = p.Next
		}
		if len(seen) != 800 || pages != 12 {
			t.Fatalf("sort %q: %d cases on %d pages, want 800 on 12", sort, len(seen), pages)
		}
	}

	// c00000 opened now, unacknowledged: acknowledgment due in 7 days.
	// c00195 (submitted 195 hours ago, over 8 days): acknowledgment overdue.
	// c00002 (acknowledged an hour after opening, 2 hours ago): resolution due 30 days after the acknowledgment.
	p, err := svc.Queue(ctx, officer, app.CaseQuery{Limit: app.MaxQueueLimit, Sort: app.SortOpenedNewest})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]app.Summary{}
	for _, c := range p.Cases {
		byID[c.ID] = c
	}
	check := func(id, next string, due time.Time, overdue bool, reached string) {
		t.Helper()
		c := byID[id]
		if c.NextLevel != next || !c.NextDueAt.Equal(due) || c.Overdue != overdue || c.EscalationLevel != reached {
			t.Errorf("%s: next %q due %s overdue %v reached %q; want %q %s %v %q", id, c.NextLevel, c.NextDueAt, c.Overdue, c.EscalationLevel, next, due, overdue, reached)
		}
	}
	check("c00000", "acknowledge", now.AddDate(0, 0, 7), false, "")
	check("c00002", "resolve", now.Add(-time.Hour).AddDate(0, 0, 30), false, "")
	check("c00004", "", time.Time{}, false, "") // closed: no clock
	opened := now.Add(-195 * time.Hour)
	check("c00195", "resolve", opened.AddDate(0, 0, 37), true, "acknowledge")
	if since := byID["c00195"].OverdueSince; !since.Equal(opened.AddDate(0, 0, 7)) {
		t.Errorf("c00195 overdue since %s, want the acknowledgment deadline", since)
	}

	overdue, err := svc.Queue(ctx, officer, app.CaseQuery{Overdue: true, Category: "racism", Department: "med", Limit: app.MaxQueueLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range overdue.Cases {
		if !c.Overdue || c.Category != "racism" || c.Department != "med" {
			t.Fatalf("filter let through %+v", c)
		}
	}
	if overdue.Total == 0 {
		t.Fatal("no overdue racism case in med")
	}

	// A handler sees only the cases they are on.
	mine, err := svc.Queue(ctx, caller.Actor{ID: "h1", Roles: []caller.Role{caller.Staff}}, app.CaseQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if mine.Total != 143 {
		t.Fatalf("handler h1 sees %d cases, want the 143 assigned to them", mine.Total)
	}
}

func TestABadQueueQueryNamesEachBadParameter(t *testing.T) {
	svc := newQueue(t, 3, time.Now())
	_, err := svc.Queue(context.Background(), officer, app.CaseQuery{States: []domain.State{"open"}, Sort: "name", Limit: 500, After: "!!"})
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.Invalid {
		t.Fatalf("got %v, want an invalid-fields error", err)
	}
	got := map[string]bool{}
	for _, x := range f.Fields {
		got[x.Field] = true
	}
	for _, want := range []string{"state", "sort", "limit", "after"} {
		if !got[want] {
			t.Errorf("field %s not named: %v", want, f.Fields)
		}
	}
}

// BenchmarkQueueFirstPage is the queue's first page over 10,000 open cases
// (the portal's /cases), sorted by the nearest clock.
func BenchmarkQueueFirstPage(b *testing.B) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	svc := newQueue(b, 12500, now) // 10,000 open, 2,500 closed
	ctx := context.Background()
	for _, sort := range []string{app.SortOpened, app.SortDue} {
		b.Run("sort="+sort, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Queue(ctx, officer, app.CaseQuery{Sort: sort, States: []domain.State{domain.StateSubmitted, domain.StateAssigned, domain.StateAcknowledged, domain.StateInProgress}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// starts is a fixed record of which policy version each case started with.
type starts map[string]int

func (s starts) Mark(context.Context, string, string, int) error { return nil }
func (s starts) Get(caseID string) (string, int, bool) {
	v, ok := s[caseID]
	return "med", v, ok
}

func TestClocksFollowThePolicyVersionACaseStartedWith(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	hasher, err := crypto.NewHasher(make([]byte, crypto.MinHashSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	opened := now.Add(-24 * time.Hour)
	all := summaries{
		{ID: "started-v1", State: domain.StateSubmitted, Category: "racism", Department: "med", OpenedAt: opened},
		{ID: "not-started", State: domain.StateSubmitted, Category: "racism", Department: "med", OpenedAt: opened},
	}
	// Version 1 promised the acknowledgment within 7 days; version 2, the
	// one in force now, within 2.
	v1, v2 := queuePolicy(), queuePolicy()
	v2.Version, v2.Levels[0].Delay = 2, escalation.Days(2)
	svc := app.New(app.Options{Index: all, Hasher: hasher, Now: func() time.Time { return now }, Starts: starts{"started-v1": 1},
		Policy: func(context.Context, string) (escalation.Policy, error) { return v2, nil },
		PolicyVersion: func(_ context.Context, id string, n int) (escalation.Policy, error) {
			if id != "med" || n != 1 {
				t.Errorf("asked for policy %s version %d", id, n)
			}
			return v1, nil
		}})
	page, err := svc.Queue(context.Background(), officer, app.CaseQuery{})
	if err != nil {
		t.Fatal(err)
	}
	due := map[string]time.Time{}
	for _, c := range page.Cases {
		due[c.ID] = c.NextDueAt
	}
	if !due["started-v1"].Equal(opened.AddDate(0, 0, 7)) || !due["not-started"].Equal(opened.AddDate(0, 0, 2)) {
		t.Fatalf("next deadlines %v: the started case keeps version 1 (7 days), the other takes version 2 (2 days)", due)
	}
}
