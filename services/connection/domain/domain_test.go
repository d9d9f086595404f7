package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/deiops/deiops/services/connection/matching"
)

func TestWeekConvertsLocalWindowsToUTCWithDST(t *testing.T) {
	in := ProfileInput{TimeZone: "America/New_York", SeekingMentor: true, Availability: []Window{{Day: "mon", Start: 9, End: 10}}}
	p, err := OptIn("ana", in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	summer := p.Week(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) // EDT, UTC-4: Monday 13:00 UTC
	winter := p.Week(time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)) // EST, UTC-5: Monday 14:00 UTC
	var want13, want14 matching.Week
	want13.Set(13)
	want14.Set(14)
	if summer != want13 || winter != want14 {
		t.Fatalf("summer %v winter %v", summer, winter)
	}
	// Sunday 22:00 in Tokyo (UTC+9) is Sunday 13:00 UTC; Monday 02:00 Tokyo wraps to Sunday 17:00 UTC.
	tokyo, _ := OptIn("kai", ProfileInput{TimeZone: "Asia/Tokyo", SeekingMentor: true,
		Availability: []Window{{Day: "mon", Start: 2, End: 3}}}, time.Now())
	var sun17 matching.Week
	sun17.Set(6*24 + 17)
	if got := tokyo.Week(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)); got != sun17 {
		t.Fatalf("tokyo %v", got)
	}
}

func TestWithdrawErasesContent(t *testing.T) {
	p, err := OptIn("ana", ProfileInput{TimeZone: "UTC", SeekingMentor: true, Interests: []string{"x"}, Affinities: []string{"y"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Withdraw(time.Now()) || p.Withdraw(time.Now()) {
		t.Fatal("withdraw not once")
	}
	if p.OptedIn() || p.IsMentee() || len(p.Input().Interests) != 0 || len(p.Input().Affinities) != 0 {
		t.Fatalf("content kept: %+v", p.State())
	}
}

func TestGatheringWaitlistPromotesInOrder(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	g, err := ScheduleGathering("g1", "olga", GatheringInput{Title: "t", Kind: "informal", Mode: "virtual",
		StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour), Capacity: 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i, who := range []string{"a", "b", "c"} {
		st, pos, changed, err := g.RSVP(who, now)
		if err != nil || !changed || (i == 0) != (st == RSVPConfirmed) || (i > 0 && pos != i) {
			t.Fatalf("%s: %s %d %v %v", who, st, pos, changed, err)
		}
	}
	if _, promoted, _ := g.CancelRSVP("b"); promoted != "" {
		t.Fatal("a waitlisted cancellation promoted someone")
	}
	if _, promoted, _ := g.CancelRSVP("a"); promoted != "c" {
		t.Fatalf("promoted %q", promoted)
	}
	if _, _, _, err := g.RSVP("d", now.Add(time.Hour)); !errors.Is(err, ErrConflict) {
		t.Fatalf("RSVP after the start: %v", err)
	}
	if to, ok := g.Cancel(now); !ok || len(to) != 1 || to[0] != "c" {
		t.Fatalf("cancel notifies %v", to)
	}
}

func TestRoundLifecycle(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	res := matching.Result{Pairs: []matching.Pair{{Mentee: "e1", Mentor: "o1", Score: 30, AffinityPoints: 10}}}
	r := NewRound("r-1", "cora", RoundSettings{Program: "gme"}, res, now)
	if _, _, err := r.Decide("r-1-p1", "o1", true, now); !errors.Is(err, ErrConflict) {
		t.Fatalf("decided a draft: %v", err)
	}
	if _, err := r.Publish(now); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(now); !errors.Is(err, ErrConflict) {
		t.Fatal("published twice")
	}
	if _, _, err := r.Decide("r-1-p1", "o2", true, now); !errors.Is(err, ErrForbidden) {
		t.Fatalf("another mentor decided: %v", err)
	}
	p, changed, err := r.Decide("r-1-p1", "o1", true, now.Add(time.Hour))
	if err != nil || !changed || p.VisibleScore() != 20 {
		t.Fatalf("%+v %v %v", p, changed, err)
	}
	if _, changed, _ := r.Checkin("r-1-p1", 1); !changed {
		t.Fatal("check-in not recorded")
	}
	if _, changed, _ := r.Checkin("r-1-p1", 1); changed {
		t.Fatal("check-in recorded twice")
	}
	if _, changed, _ := r.EndMentorship("r-1-p1", "inactivity", now); !changed {
		t.Fatal("not ended")
	}
	if _, changed, _ := r.EndMentorship("r-1-p1", "inactivity", now); changed {
		t.Fatal("ended twice")
	}
	if id, ok := RoundOfProposal("r-abc-p12"); !ok || id != "r-abc" {
		t.Fatalf("round of proposal: %q", id)
	}
}
