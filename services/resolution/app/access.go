package app

import (
	"context"
	"errors"
	"slices"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/services/resolution/domain"
)

// Op is something a caller does to a case; every Op is audited.
type Op string

// Operations on a case.
const (
	OpRead        Op = "read"
	OpTriage      Op = "triage"
	OpAssign      Op = "assign"
	OpAcknowledge Op = "acknowledge"
	OpStart       Op = "start"
	OpResolve     Op = "resolve"
	OpClose       Op = "close"
	OpReopen      Op = "reopen"
	OpRecuse      Op = "recuse"
	OpAddNote     Op = "add_note"
	OpReadNotes   Op = "read_notes"
	OpMessage     Op = "post_message"
	OpLegalHold   Op = "legal_hold"
	OpReadAudit   Op = "read_audit"
	OpTimeline    Op = "read_escalation_timeline"
)

// The access model. A person is "on the case" when they are a DEI officer,
// its assignee, or were sent one of its escalation notices. Nobody named in
// the report, nobody in a named person's supervisory chain, nobody who
// recused, and not the reporter may ever be on it — whatever their roles.
// Whoever is not on the case gets the same answer as for a case that does
// not exist.
func (s *Service) authorize(ctx context.Context, a caller.Actor, r *Record, op Op) error {
	err := s.check(ctx, a, r, op)
	outcome := "allowed"
	if err != nil {
		outcome = "denied"
	}
	s.audit(ctx, r.Case.ID(), a.ID, string(op), outcome)
	return err
}

func (s *Service) check(ctx context.Context, a caller.Actor, r *Record, op Op) error {
	st, err := s.standingOn(ctx, a, r)
	if err != nil {
		return err
	}
	if !st.permits(op) {
		return ErrForbidden
	}
	return nil
}

// standing is how a caller is on a case.
type standing struct{ officer, assignee, notified bool }

// standingOn returns the caller's standing, or ErrNotFound when they are
// not on the case.
func (s *Service) standingOn(ctx context.Context, a caller.Actor, r *Record) (standing, error) {
	if a.ID == "" || s.conflicted(ctx, a.ID, r) {
		return standing{}, ErrNotFound
	}
	st := standing{officer: a.Has(caller.DEIOfficer), assignee: a.ID == r.Case.Assignee(), notified: r.Notified(a.ID)}
	if !st.officer && !st.assignee && !st.notified {
		return standing{}, ErrNotFound
	}
	return st, nil
}

func (st standing) permits(op Op) bool {
	switch op {
	case OpRead, OpReadNotes, OpAddNote, OpMessage, OpTimeline:
		return true
	case OpTriage, OpAssign:
		return st.officer || st.notified
	case OpAcknowledge, OpStart, OpResolve, OpRecuse:
		return st.assignee
	case OpClose, OpReopen:
		return st.officer || st.assignee
	case OpLegalHold, OpReadAudit:
		return st.officer
	}
	return false
}

// actionOps are the ops that change a case, in the order a handler meets
// them, with the domain action each one is.
var actionOps = []struct {
	op  Op
	act domain.Action
}{
	{OpTriage, domain.ActionTriage}, {OpAssign, domain.ActionAssign}, {OpAcknowledge, domain.ActionAcknowledge},
	{OpStart, domain.ActionStart}, {OpResolve, domain.ActionResolve}, {OpClose, domain.ActionClose},
	{OpReopen, domain.ActionReopen}, {OpRecuse, domain.ActionRecuse}, {OpAddNote, domain.ActionAddNote},
	{OpMessage, domain.ActionMessage}, {OpLegalHold, domain.ActionLegalHold},
}

// Actions lists what the caller may do to the case now: what their
// standing permits and the case's state allows. A client offers exactly
// these, so it never shows a button the service would refuse.
func (s *Service) Actions(ctx context.Context, a caller.Actor, r *Record) []Op {
	st, err := s.standingOn(ctx, a, r)
	if err != nil {
		return nil
	}
	var out []Op
	for _, x := range actionOps {
		if st.permits(x.op) && r.Case.Allows(x.act, a.ID) {
			out = append(out, x.op)
		}
	}
	return out
}

// conflicted reports whether person has a conflict of interest with the
// case: named in it, in a named person's chain (at intake or now), recused,
// or its reporter.
func (s *Service) conflicted(ctx context.Context, person string, r *Record) bool {
	if slices.Contains(r.Case.Recused(), person) || person == r.Case.Report().ReporterID() {
		return true
	}
	if slices.Contains(r.ExcludedHashes, s.o.Hasher.Hash("person", person)) {
		return true
	}
	ex, err := s.Excluded(ctx, r.Case)
	if err != nil {
		// Without the directory the chain cannot be checked: refuse.
		s.o.Logger.WarnContext(ctx, "access check: directory unavailable", "case_id", r.Case.ID(), "error", err)
		return true
	}
	return slices.Contains(ex, person)
}

// excluder returns the conflict-of-interest predicate for domain methods.
func (s *Service) excluder(ctx context.Context, r *Record) func(string) bool {
	return func(id string) bool { return s.conflicted(ctx, id, r) }
}

func (s *Service) audit(ctx context.Context, caseID, actor, action, outcome string) {
	e := AuditEntry{At: s.o.Now().UTC(), Actor: actor, Action: action, Outcome: outcome}
	if err := s.o.Audit.Append(ctx, caseID, e); err != nil {
		// The trail must not silently lose entries: log loudly (ids only).
		s.o.Logger.ErrorContext(ctx, "audit append failed", "case_id", caseID, "action", action, "outcome", outcome, "error", err)
	}
}

// load reads a case and authorizes op on it.
func (s *Service) load(ctx context.Context, a caller.Actor, id string, op Op) (*Record, error) {
	r, err := s.o.Cases.Get(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if err := s.authorize(ctx, a, r, op); err != nil {
		return nil, err
	}
	return r, nil
}
