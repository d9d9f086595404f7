package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/resolution/domain"
)

// Reporter identifies a reporter coming back to their case: a named
// reporter by their signed-in id and the case id, an anonymous one by the
// case key and secret.
type Reporter struct {
	ID     string
	CaseID string
	Key    string
	Secret string
}

// reporterActor is how the audit trail names a reporter (who may be anonymous).
const reporterActor = "reporter"

// OpenAsReporter checks the reporter's credentials and returns the case.
// A wrong key and a wrong secret fail identically (same error, same work);
// so do a case that is not theirs and one that does not exist.
func (s *Service) OpenAsReporter(ctx context.Context, rp Reporter) (*Record, error) {
	if rp.ID != "" {
		r, err := s.o.Cases.Get(ctx, rp.CaseID)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, ErrNotFound
			}
			return nil, err
		}
		if r.ReporterHash == "" || r.ReporterHash != s.o.Hasher.Hash("reporter", rp.ID) {
			return nil, ErrNotFound
		}
		s.audit(ctx, r.Case.ID(), reporterActor, "reporter_read", "allowed")
		return r, nil
	}
	key, err := domain.NormalizeCaseKey(rp.Key)
	if err != nil {
		domain.DummyCheck(rp.Secret)
		return nil, ErrBadCredentials
	}
	cred, err := s.o.Credentials.Get(ctx, key)
	if errors.Is(err, ErrUnknownKey) {
		domain.DummyCheck(rp.Secret)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("case key: %w", err)
	}
	if !cred.Verifier.Check(rp.Secret) {
		s.audit(ctx, cred.CaseID, reporterActor, "reporter_read", "denied")
		return nil, ErrBadCredentials
	}
	r, err := s.o.Cases.Get(ctx, cred.CaseID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrBadCredentials // deleted by retention
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, r.Case.ID(), reporterActor, "reporter_read", "allowed")
	return r, nil
}

// ReporterMessage posts the reporter's message on their case; r is what
// OpenAsReporter returned for them.
func (s *Service) ReporterMessage(ctx context.Context, r *Record, text domain.Restricted) (*Record, int, error) {
	var id int
	var out *Record
	err := s.change(ctx, r.Case.ID(), r.Case.Report().ReporterID(), func(r *Record) ([]events.Event, error) {
		var err error
		id, err = r.Case.PostMessage(domain.SenderReporter, r.Case.Report().ReporterID(), text, s.o.Now())
		out = r
		if err != nil {
			return nil, err
		}
		return s.notifyHandlers(r, "case_attention"), nil
	})
	if err != nil {
		return nil, 0, err
	}
	s.audit(ctx, r.Case.ID(), reporterActor, "reporter_message", "allowed")
	return out, id, nil
}

// AnswerCheckin records the reporter's answer to a retaliation check-in;
// a "yes" reaches the escalation workflow, which opens a linked case. r is
// what OpenAsReporter returned for them.
func (s *Service) AnswerCheckin(ctx context.Context, r *Record, number int, retaliation bool) (*Record, error) {
	var out *Record
	err := s.change(ctx, r.Case.ID(), r.Case.Report().ReporterID(), func(r *Record) ([]events.Event, error) {
		_, err := r.Case.AnswerCheckin(r.Case.Report().ReporterID(), number, retaliation, s.o.Now())
		out = r
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, r.Case.ID(), reporterActor, "checkin_answer", "allowed")
	return out, nil
}

// notifyHandlers tells the case's assignee (or, with none, the DEI
// office's fallback channel) that the case needs attention.
func (s *Service) notifyHandlers(r *Record, template string) []events.Event {
	n := Notification{
		ID:       fmt.Sprintf("%s-%s-%d", r.Case.ID(), template, len(r.Case.Timeline())),
		Template: template, Link: s.link("/v1/cases/" + r.Case.ID()), Reference: r.Case.ID(),
	}
	if a := r.Case.Assignee(); a != "" {
		n.Recipients = []string{a}
	} else {
		n.Fallback = true
	}
	return []events.Event{s.o.NotificationEvent(n)}
}

// MyCases lists a named reporter's own cases.
func (s *Service) MyCases(a caller.Actor) []Summary {
	out := s.o.Index.ByReporter(s.o.Hasher.Hash("reporter", a.ID))
	if out == nil {
		out = []Summary{}
	}
	return out
}
