package escalation

import (
	"time"
)

// Policy is a department's escalation policy: data, edited by DEI officers
// and stored per department with a version. A case keeps the snapshot it
// started with; a new version changes only cases opened after it.
type Policy struct {
	ID          string              `json:"id"`
	Version     int                 `json:"version"`
	Department  string              `json:"department,omitempty"` // empty: the hospital-wide default
	Calendar    BusinessCalendar    `json:"calendar"`
	Levels      []Level             `json:"levels"`
	Delegations Delegations         `json:"delegations,omitempty"`
	Checkins    RetaliationCheckins `json:"checkins,omitzero"`
}

// Level is one step of a policy. Its clock starts where the previous level
// was due (the case's opening, or its reopening, for the first level), or,
// with From = acknowledgment, at the acknowledgment; when Delay has passed
// and Condition still holds, the level's targets are notified, then again
// every RepeatEvery, at most Repeat more times, until the condition clears
// or the next level is due.
type Level struct {
	Name        string    `json:"name"` // a short code shown in notifications, e.g. "program-director"
	Targets     []Target  `json:"targets"`
	Delay       Duration  `json:"delay"`
	From        Anchor    `json:"from,omitempty"`
	Condition   Condition `json:"condition"`
	Repeat      int       `json:"repeat,omitempty"`
	RepeatEvery Duration  `json:"repeat_every,omitzero"`
}

// Condition says when a level still applies.
type Condition string

// Conditions.
const (
	IfNotAcknowledged Condition = "if_not_acknowledged"
	IfNotResolved     Condition = "if_not_resolved"
)

// Anchor says where a level's clock starts.
type Anchor string

// Anchors. FromAcknowledgment counts from the acknowledgment, or, when the
// case was not acknowledged by the time the last if_not_acknowledged level
// was due, from that time: "three months from the acknowledgment of
// receipt or, if no acknowledgment was sent, from the expiry of the
// seven-day period" (Directive 2019/1937 art. 9(1)(f)).
const (
	FromPreviousLevel  Anchor = "previous_level" // the default
	FromAcknowledgment Anchor = "acknowledgment"
)

// TargetKind says how a target names people.
type TargetKind string

// Target kinds.
const (
	TargetUser     TargetKind = "user"
	TargetRole     TargetKind = "role"
	TargetRotation TargetKind = "rotation"
)

// Target names who a level notifies: one user by id, the holders of a role
// in the case's department, or whoever of a rotation's members is on duty.
// The service turns roles and rotations into people (ResolveTargets).
type Target struct {
	Kind    TargetKind `json:"kind"`
	ID      string     `json:"id,omitempty"`      // user id, or rotation id
	Role    string     `json:"role,omitempty"`    // role name, e.g. "dei_officer"
	Members []string   `json:"members,omitempty"` // rotation members, in rotation order
}

// User, Role and Rotation build targets.
func User(id string) Target   { return Target{Kind: TargetUser, ID: id} }
func Role(name string) Target { return Target{Kind: TargetRole, Role: name} }
func Rotation(id string, members ...string) Target {
	return Target{Kind: TargetRotation, ID: id, Members: members}
}

// Delegation says that From is out of office from Start to End (dates in
// the policy's time zone, both included) and that To receives what From
// would.
type Delegation struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Start string `json:"start"` // "2026-12-21"
	End   string `json:"end"`   // "2027-01-03"
}

// Delegations are out-of-office entries; the first entry that covers a
// person on a date applies.
type Delegations []Delegation

// MaxDelegationHops bounds a chain of delegations (X to Y, Y to Z, ...).
const MaxDelegationHops = 8

// Delegate returns who receives person's notices at t: it follows the
// delegations of whoever is away on t's date (in loc), stops at a repeat
// and never hands over to someone blocked (excluded for a conflict of
// interest, or recused): the chain ends with the last person before them.
// A person nobody covers receives their own notices.
func (ds Delegations) Delegate(person string, at time.Time, loc *time.Location, blocked func(id string) bool) string {
	if loc == nil {
		loc = time.UTC
	}
	day := at.In(loc).Format(DateLayout)
	cur := person
	visited := []string{person}
	for hop := 0; hop < MaxDelegationHops; hop++ {
		to, ok := ds.cover(cur, day)
		if !ok || contains(visited, to) || blocked != nil && blocked(to) {
			break
		}
		visited = append(visited, to)
		cur = to
	}
	return cur
}

// cover returns the delegate of person on day, if one is set.
func (ds Delegations) cover(person, day string) (string, bool) {
	for _, d := range ds {
		if d.From == person && d.Start <= day && day <= d.End {
			return d.To, true
		}
	}
	return "", false
}

// RetaliationCheckins are the contacts with the reporter after closure.
type RetaliationCheckins struct {
	// Offsets count from the resolution; empty means 30, 60 and 90 days.
	Offsets []Duration `json:"offsets,omitempty"`
	// ResponseWindow keeps the case listening for a retaliation report
	// after the last check-in; zero means 14 days.
	ResponseWindow Duration `json:"response_window,omitzero"`
}

// DefaultCheckinOffsets are 30, 60 and 90 days after closure.
func DefaultCheckinOffsets() []Duration { return []Duration{Days(30), Days(60), Days(90)} }

// DefaultResponseWindow is how long a case waits for an answer to its
// last check-in.
func DefaultResponseWindow() Duration { return Days(14) }

func (c RetaliationCheckins) offsets() []Duration {
	if len(c.Offsets) == 0 {
		return DefaultCheckinOffsets()
	}
	return c.Offsets
}

func (c RetaliationCheckins) responseWindow() Duration {
	if c.ResponseWindow.IsZero() {
		return DefaultResponseWindow()
	}
	return c.ResponseWindow
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
