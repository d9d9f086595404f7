package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/resolution/domain"
)

// Case returns the full case for a handler (restricted content included).
func (s *Service) Case(ctx context.Context, a caller.Actor, id string) (*Record, error) {
	return s.load(ctx, a, id, OpRead)
}

// Notes returns the internal notes of a case.
func (s *Service) Notes(ctx context.Context, a caller.Actor, id string) ([]domain.Note, error) {
	r, err := s.load(ctx, a, id, OpReadNotes)
	if err != nil {
		return nil, err
	}
	return r.Case.Notes(), nil
}

// Authorize checks op for a caller without changing the case (routes that
// read elsewhere, like the escalation timeline, use it).
func (s *Service) Authorize(ctx context.Context, a caller.Actor, id string, op Op) error {
	_, err := s.load(ctx, a, id, op)
	return err
}

// Action is one handler action on a case.
type Action struct {
	Op       Op
	Category domain.Category
	Severity domain.Severity
	Route    string
	Assignee string // assign: "" means by routing rules
	Outcome  string
	Reason   string
	Text     domain.Restricted
	Hold     bool
	// Once makes a note or message one entry however often it is retried.
	Once Once
}

// Candidates picks assignees for a case when none is named: the people the
// escalation policy's first level targets, which the workflow resolved
// and notified. Wired by the service from the policy and directory.
type Candidates func(ctx context.Context, r *Record) ([]string, error)

// Act applies a handler action. The write carries the events; the
// escalation workflow hears about acknowledge/assign/resolve/reopen/recuse
// through them, so a Temporal outage delays the signal, never the action.
func (s *Service) Act(ctx context.Context, a caller.Actor, id string, act Action, pick Candidates) (*Record, int, error) {
	r, err := s.load(ctx, a, id, act.Op)
	if err != nil {
		return nil, 0, err
	}
	if act.Op == OpAssign && act.Assignee == "" {
		if act.Assignee, err = s.route(ctx, r, pick); err != nil {
			return nil, 0, err
		}
	}
	var ref int
	var out *Record
	err = s.change(ctx, id, a.ID, func(r *Record) ([]events.Event, error) {
		now := s.o.Now()
		c := r.Case
		if act.Op == OpAddNote || act.Op == OpMessage {
			prev, found, err := r.applied(act.Once)
			if found {
				ref, out = prev, r
				return nil, errors.Join(errApplied, err)
			}
		}
		var err error
		switch act.Op {
		case OpTriage:
			err = c.Triage(a.ID, act.Category, act.Severity, act.Route, now)
		case OpAssign:
			err = c.Assign(a.ID, act.Assignee, s.excluder(ctx, r), now)
		case OpAcknowledge:
			err = c.Acknowledge(a.ID, now)
		case OpStart:
			err = c.Start(a.ID, now)
		case OpResolve:
			err = c.Resolve(a.ID, act.Outcome, now)
		case OpClose:
			err = c.Close(a.ID, now)
		case OpReopen:
			err = c.Reopen(a.ID, act.Reason, now)
		case OpRecuse:
			err = c.Recuse(a.ID, now)
		case OpAddNote:
			err = c.AddNote(a.ID, act.Text, now)
			ref = len(c.Notes())
		case OpMessage:
			ref, err = c.PostMessage(domain.SenderHandler, a.ID, act.Text, now)
		case OpLegalHold:
			err = c.SetLegalHold(a.ID, act.Hold, now)
		default:
			err = fault.New(fault.Invalid, "unknown action "+string(act.Op))
		}
		if err != nil {
			return nil, err
		}
		out = r
		if act.Op == OpAddNote || act.Op == OpMessage {
			r.remember(act.Once, ref)
		}
		var extra []events.Event
		if act.Op == OpAssign {
			extra = append(extra, s.o.NotificationEvent(Notification{
				ID: fmt.Sprintf("%s-assign-%d", id, len(c.Timeline())), Recipients: []string{act.Assignee},
				Template: "case_assigned", Link: s.link("/v1/cases/" + id), Reference: id,
			}))
		}
		return extra, nil
	})
	if err = settled(err); err != nil {
		return nil, 0, err
	}
	return out, ref, nil
}

// errApplied aborts a write whose request was already applied: its first
// result is the answer.
var errApplied = errors.New("request already applied")

// settled turns "already applied" into success; a reused key stays an error.
func settled(err error) error {
	if !errors.Is(err, errApplied) {
		return err
	}
	var f *fault.Error
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// route chooses an assignee by the routing rules: the first candidate
// (in policy order) with no conflict of interest.
func (s *Service) route(ctx context.Context, r *Record, pick Candidates) (string, error) {
	if pick == nil {
		return "", fault.InvalidFields("no assignee named", fault.Field{Field: "assignee_id", Reason: "is required: no routing rules are configured"})
	}
	people, err := pick(ctx, r)
	if err != nil {
		return "", fmt.Errorf("routing: %w", err)
	}
	for _, p := range people {
		if !s.conflicted(ctx, p, r) {
			return p, nil
		}
	}
	return "", fmt.Errorf("routing found no eligible handler: %w", domain.ErrConflictOfInterest)
}

// AuditTrail returns a case's audit trail (DEI officers).
func (s *Service) AuditTrail(ctx context.Context, a caller.Actor, id string) ([]AuditEntry, error) {
	if _, err := s.load(ctx, a, id, OpReadAudit); err != nil {
		return nil, err
	}
	return s.o.Audit.List(ctx, id)
}

// List returns the summaries of the cases the actor is on, oldest first.
func (s *Service) List(ctx context.Context, a caller.Actor) []Summary {
	shared := s.visible(a, nil)
	out := make([]Summary, len(shared))
	for i, c := range shared {
		out[i] = *c
	}
	slices.SortFunc(out, func(x, y Summary) int { return cmp.Or(x.OpenedAt.Compare(y.OpenedAt), strings.Compare(x.ID, y.ID)) })
	return out
}

// visible returns the summaries of the cases the actor is on that keep
// (nil: all) accepts, in no particular order; they are the index's own
// (read them, never write them).
func (s *Service) visible(a caller.Actor, keep func(*Summary) bool) []*Summary {
	officer := a.Has(caller.DEIOfficer)
	me, mine := s.o.Hasher.Hash("person", a.ID), s.o.Hasher.Hash("reporter", a.ID)
	return s.o.Index.Select(func(c *Summary) bool {
		if slices.Contains(c.ExcludedHashes, me) || c.ReporterHash != "" && c.ReporterHash == mine {
			return false
		}
		return (officer || c.Assignee == a.ID || slices.Contains(c.Notified, a.ID)) && (keep == nil || keep(c))
	})
}

// IsClientError reports whether err is the caller's fault (validation,
// state, conflict, permission) rather than the service's: retrying the
// same request cannot succeed.
func IsClientError(err error) bool {
	switch fault.KindOf(err) {
	case fault.Invalid, fault.Conflict, fault.Forbidden:
		return true
	}
	return false
}

// Assignee is someone a case may be assigned to.
type Assignee struct {
	ID string `json:"id"`
	// Name is their directory name (restricted: shown only to people on
	// the case who may assign it).
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// Assignees lists who the caller may assign the case to: the routing
// candidates, in policy order, without anyone barred by a conflict of
// interest, anyone who recused and the current assignee — so a client
// offers only assignments the case accepts.
func (s *Service) Assignees(ctx context.Context, a caller.Actor, id string, pick Candidates) ([]Assignee, error) {
	r, err := s.load(ctx, a, id, OpAssign)
	if err != nil {
		return nil, err
	}
	out := []Assignee{}
	if pick == nil {
		return out, nil
	}
	people, err := pick(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	dir, err := s.o.Directory.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("assignees: directory: %w", err)
	}
	for _, p := range people {
		if p == r.Case.Assignee() || slices.ContainsFunc(out, func(x Assignee) bool { return x.ID == p }) || s.conflicted(ctx, p, r) {
			continue
		}
		x := Assignee{ID: p}
		if person, ok := dir.Get(p); ok {
			x.Name, x.Role = person.DisplayName, person.Role
		}
		out = append(out, x)
	}
	return out, nil
}
