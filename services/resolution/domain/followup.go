package domain

import (
	"fmt"
	"time"
)

// Sender says which side of a case wrote a message.
type Sender string

// Senders.
const (
	SenderReporter Sender = "reporter"
	SenderHandler  Sender = "handler"
)

// Message limits.
const (
	MaxMessageRunes = 10000
	// MaxMessages bounds one case's conversation so a record stays small
	// enough for one KV value; a longer exchange belongs in a meeting.
	MaxMessages = 500
)

// Message is one entry of the two-way conversation between the reporter
// and the handlers. By is the handler's id; it is empty for the reporter,
// who may be anonymous, and it is never shown to the reporter.
type Message struct {
	ID   int
	From Sender
	By   string
	At   time.Time
	Text Restricted
}

// Checkin is one retaliation check-in with the reporter after closure.
type Checkin struct {
	Round       int
	Number      int
	Of          int
	DueAt       time.Time
	RequestedAt time.Time
	AnsweredAt  time.Time
	Retaliation bool
}

// Answered reports whether the reporter answered the check-in.
func (k Checkin) Answered() bool { return !k.AnsweredAt.IsZero() }

// Actions of the follow-up.
const (
	ActionMessage       Action = "message"
	ActionCheckin       Action = "checkin"
	ActionCheckinAnswer Action = "checkin_answer"
	ActionHandlerLeft   Action = "handler_left"
	ActionLinkedCase    Action = "linked_case"
)

// SystemActor is the actor of changes the platform makes on its own (a
// check-in falling due, a handler leaving the hospital).
const SystemActor = "system"

// Messages returns the conversation.
func (c *Case) Messages() []Message { return append([]Message(nil), c.messages...) }

// Checkins returns the retaliation check-ins requested so far.
func (c *Case) Checkins() []Checkin { return append([]Checkin(nil), c.checkins...) }

// LinkedFrom is the case this one was opened from (retaliation), or "".
func (c *Case) LinkedFrom() string { return c.linkedFrom }

// PostMessage adds a message to the conversation, in any state: a reporter
// may write after closure, which is how retaliation often surfaces. A
// reporter's by must be the named reporter (or empty when anonymous); a
// handler's by is their id.
func (c *Case) PostMessage(from Sender, by string, text Restricted, at time.Time) (int, error) {
	switch from {
	case SenderReporter:
		if by != c.report.reporterID {
			return 0, fmt.Errorf("message on case %s: %w", c.id, ErrNotReporter)
		}
	case SenderHandler:
		if !validCode(by) {
			return 0, invalidArg("message on case %s: handler id", c.id)
		}
	default:
		return 0, invalidArg("message on case %s: sender %q", c.id, from)
	}
	if text.IsZero() || text.RuneLen() > MaxMessageRunes {
		return 0, invalidArg("message on case %s: must be 1..%d characters", c.id, MaxMessageRunes)
	}
	if len(c.messages) >= MaxMessages {
		return 0, invalidArg("message on case %s: the conversation has reached %d messages", c.id, MaxMessages)
	}
	at = at.UTC()
	id := len(c.messages) + 1
	c.messages = append(c.messages, Message{ID: id, From: from, By: by, At: at, Text: text})
	c.record(at, by, ActionMessage, MessagePosted{CaseID: c.id, MessageID: id, From: from, At: at})
	return id, nil
}

// RequestCheckin records that a retaliation check-in was sent. It is
// idempotent by (round, number) because the activity calling it may run
// more than once; added is false for a repeat.
func (c *Case) RequestCheckin(round, number, of int, dueAt, at time.Time) (added bool, err error) {
	if round < 1 || number < 1 || of < number {
		return false, invalidArg("check-in on case %s: round %d number %d of %d", c.id, round, number, of)
	}
	for _, k := range c.checkins {
		if k.Round == round && k.Number == number {
			return false, nil
		}
	}
	at = at.UTC()
	c.checkins = append(c.checkins, Checkin{Round: round, Number: number, Of: of, DueAt: dueAt.UTC(), RequestedAt: at})
	c.record(at, SystemActor, ActionCheckin, CheckinRequested{CaseID: c.id, Round: round, Number: number, Of: of, DueAt: dueAt.UTC(), At: at})
	return true, nil
}

// AnswerCheckin records the reporter's answer to the latest unanswered
// check-in numbered number.
func (c *Case) AnswerCheckin(by string, number int, retaliation bool, at time.Time) (Checkin, error) {
	if by != c.report.reporterID {
		return Checkin{}, fmt.Errorf("check-in answer on case %s: %w", c.id, ErrNotReporter)
	}
	for i := len(c.checkins) - 1; i >= 0; i-- {
		k := &c.checkins[i]
		if k.Number != number {
			continue
		}
		if k.Answered() {
			return Checkin{}, fmt.Errorf("case %s check-in %d: %w", c.id, number, ErrAlreadyAnswered)
		}
		at = at.UTC()
		k.AnsweredAt, k.Retaliation = at, retaliation
		c.record(at, by, ActionCheckinAnswer, CheckinAnswered{CaseID: c.id, Round: k.Round, Number: number, Retaliation: retaliation, At: at})
		return *k, nil
	}
	return Checkin{}, fmt.Errorf("case %s check-in %d: %w", c.id, number, ErrNoSuchCheckin)
}

// HandlerLeft clears the assignee when they left the hospital (or lost
// the resolver role), so the case can be reassigned. Unlike Recuse it does
// not bar them from the case for good. It is a no-op when who is not the
// assignee, so replays of directory events are harmless.
func (c *Case) HandlerLeft(who string, at time.Time) bool {
	if who == "" || c.assignee != who {
		return false
	}
	if c.state == StateAssigned {
		c.state = StateTriaged
	}
	at = at.UTC()
	c.assignee = ""
	c.record(at, SystemActor, ActionHandlerLeft, HandlerLeft{CaseID: c.id, HandlerID: who, At: at})
	return true
}

// NewLinkedCase opens a retaliation case linked to parent: same reporter,
// department and named people (so the same conflict-of-interest rules
// apply), category retaliation. The narrative says only that retaliation
// was reported at a check-in; the reporter adds detail through messages.
func NewLinkedCase(id string, parent *Case, at time.Time) (*Case, error) {
	if parent == nil {
		return nil, invalidArg("linked case %s: nil parent", id)
	}
	p := parent.report
	r := &Report{
		category: CategoryRetaliation, narrative: Restrict("Retaliation reported at a follow-up check-in of case " + parent.id + "."),
		occurredAt: at.UTC(), departmentID: p.departmentID, site: p.site,
		involved: append([]Party(nil), p.involved...), desiredOutcome: OutcomeFormalResolution,
		anonymous: p.anonymous, reporterID: p.reporterID,
	}
	c, err := NewCase(id, r, at)
	if err != nil {
		return nil, err
	}
	c.linkedFrom = parent.id
	c.timeline = append(c.timeline, TimelineEntry{At: at.UTC(), By: SystemActor, Action: ActionLinkedCase})
	return c, nil
}
