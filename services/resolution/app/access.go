package app

import (
	"context"
	"errors"
	"slices"

	"github.com/deiops/deiops/pkg/caller"
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
	if a.ID == "" {
		return ErrNotFound
	}
	if s.conflicted(ctx, a.ID, r) {
		return ErrNotFound
	}
	officer := a.Has(caller.DEIOfficer)
	assignee := a.ID == r.Case.Assignee()
	notified := r.Notified(a.ID)
	if !officer && !assignee && !notified {
		return ErrNotFound
	}
	allowed := false
	switch op {
	case OpRead, OpReadNotes, OpAddNote, OpMessage, OpTimeline:
		allowed = true
	case OpTriage, OpAssign:
		allowed = officer || notified
	case OpAcknowledge, OpStart, OpResolve, OpRecuse:
		allowed = assignee
	case OpClose, OpReopen:
		allowed = officer || assignee
	case OpLegalHold, OpReadAudit:
		allowed = officer
	}
	if !allowed {
		return ErrForbidden
	}
	return nil
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
