package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/fault"
)

func TestMessagesBothWays(t *testing.T) {
	c := newTestCase(t)
	reporter := c.Report().ReporterID()
	if _, err := c.PostMessage(SenderReporter, "someone-else", Restrict("hi"), testNow()); !errors.Is(err, ErrNotReporter) {
		t.Fatalf("a stranger wrote as the reporter: %v", err)
	}
	if _, err := c.PostMessage(SenderHandler, "h-1", Restrict(""), testNow()); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("empty message: %v", err)
	}
	id1, err := c.PostMessage(SenderHandler, "h-1", Restrict("question"), testNow())
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.PostMessage(SenderReporter, reporter, Restrict("answer"), testNow())
	if err != nil {
		t.Fatal(err)
	}
	if id1 != 1 || id2 != 2 || len(c.Messages()) != 2 {
		t.Fatalf("ids %d %d, messages %d", id1, id2, len(c.Messages()))
	}
	// Messages are on the reporter's timeline, without who wrote them.
	n := 0
	for _, e := range c.ReporterTimeline() {
		if e.Action == ActionMessage {
			n++
		}
	}
	if n != 2 {
		t.Errorf("reporter timeline shows %d messages", n)
	}
}

func TestCheckinsAreIdempotentAndAnsweredOnce(t *testing.T) {
	c := newTestCase(t)
	due := testNow().Add(30 * 24 * time.Hour)
	for range 2 {
		if _, err := c.RequestCheckin(1, 1, 3, due, testNow()); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.Checkins()) != 1 {
		t.Fatalf("%d check-ins after a repeated request", len(c.Checkins()))
	}
	c.PullEvents()
	if _, err := c.AnswerCheckin("intruder", 1, true, testNow()); !errors.Is(err, ErrNotReporter) {
		t.Fatalf("stranger answered: %v", err)
	}
	if _, err := c.AnswerCheckin(c.Report().ReporterID(), 2, true, testNow()); !errors.Is(err, ErrNoSuchCheckin) {
		t.Fatalf("unknown check-in: %v", err)
	}
	k, err := c.AnswerCheckin(c.Report().ReporterID(), 1, true, testNow())
	if err != nil || !k.Retaliation || !k.Answered() {
		t.Fatalf("answer: %+v %v", k, err)
	}
	if _, err := c.AnswerCheckin(c.Report().ReporterID(), 1, false, testNow()); !errors.Is(err, ErrAlreadyAnswered) {
		t.Fatalf("second answer: %v", err)
	}
	evs := c.PullEvents()
	if len(evs) != 1 || !evs[0].(CheckinAnswered).Retaliation {
		t.Fatalf("events %v", evs)
	}
}

func TestHandlerLeftFreesTheCaseWithoutBarringThem(t *testing.T) {
	c := newTestCase(t)
	for _, s := range forward()[:2] { // triaged, assigned to h-1
		if err := s.run(c); err != nil {
			t.Fatal(err)
		}
	}
	if c.HandlerLeft("someone-else", testNow()) {
		t.Fatal("a non-assignee left the case")
	}
	if !c.HandlerLeft("h-1", testNow()) || c.Assignee() != "" || c.State() != StateTriaged {
		t.Fatalf("after leaving: assignee %q state %s", c.Assignee(), c.State())
	}
	if err := c.Assign("off-1", "h-1", noOne, testNow()); err != nil {
		t.Fatalf("a returning handler cannot be assigned again: %v", err)
	}
}

func TestLinkedCaseKeepsReporterAndNamedPeople(t *testing.T) {
	parent := newTestCase(t)
	c, err := NewLinkedCase("case-2", parent, testNow())
	if err != nil {
		t.Fatal(err)
	}
	if c.LinkedFrom() != parent.ID() || c.Category() != CategoryRetaliation ||
		c.Report().ReporterID() != parent.Report().ReporterID() || len(c.Report().Involved()) != len(parent.Report().Involved()) {
		t.Fatalf("linked case %v", c)
	}
	snap, err := UnmarshalCase(c.Snapshot())
	if err != nil || snap.LinkedFrom() != parent.ID() {
		t.Fatalf("snapshot round trip: %v", err)
	}
}
