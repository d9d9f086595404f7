package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/deiops/deiops/workflows/escalation"
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
		domain.DummyCheck(s.o.Hasher, rp.Secret)
		return nil, ErrBadCredentials
	}
	cred, err := s.o.Credentials.Get(ctx, key)
	if errors.Is(err, ErrUnknownKey) {
		domain.DummyCheck(s.o.Hasher, rp.Secret)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("case key: %w", err)
	}
	ok, err := s.checkSecret(ctx, key, cred, rp.Secret)
	if err != nil {
		return nil, err
	}
	if !ok {
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

// checkSecret checks an anonymous reporter's secret. An earlier build's
// scrypt verifier waits for one of a bounded number of slots (each check
// takes 32 MiB) and is replaced by an HMAC verifier once it matched.
func (s *Service) checkSecret(ctx context.Context, key string, cred Credential, secret string) (bool, error) {
	if !cred.Verifier.Legacy() {
		return cred.Verifier.Check(s.o.Hasher, key, secret), nil
	}
	select {
	case s.slowChecks <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	ok := cred.Verifier.Check(s.o.Hasher, key, secret)
	<-s.slowChecks
	if ok {
		cred.Verifier = domain.NewVerifier(s.o.Hasher, key, secret)
		if err := s.o.Credentials.Replace(ctx, key, cred); err != nil {
			s.o.Logger.WarnContext(ctx, "case key verifier not upgraded; checked the old way next time", "case_id", cred.CaseID, "error", err)
		}
	}
	return ok, nil
}

// ReporterMessage posts the reporter's message on their case; r is what
// OpenAsReporter returned for them.
func (s *Service) ReporterMessage(ctx context.Context, r *Record, text domain.Restricted, once Once) (*Record, int, error) {
	var id int
	var out *Record
	err := s.change(ctx, r.Case.ID(), r.Case.Report().ReporterID(), func(r *Record) ([]events.Event, error) {
		out = r
		prev, found, err := r.applied(once)
		if found {
			id = prev
			return nil, errors.Join(errApplied, err)
		}
		id, err = r.Case.PostMessage(domain.SenderReporter, r.Case.Report().ReporterID(), text, s.o.Now())
		if err != nil {
			return nil, err
		}
		r.remember(once, id)
		return s.notifyHandlers(r, "case_attention"), nil
	})
	if err = settled(err); err != nil {
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

// MyCases lists a named reporter's own cases as they see them: no
// handler, no escalation level, and the deadline their department's policy
// promises them next.
func (s *Service) MyCases(ctx context.Context, a caller.Actor) []ReporterSummary {
	mine := s.o.Index.ByReporter(s.o.Hasher.Hash("reporter", a.ID))
	schedule, now := s.schedules(ctx), s.o.Now()
	out := make([]ReporterSummary, 0, len(mine))
	for _, c := range mine {
		rs := ReporterSummary{ID: c.ID, State: c.State, Category: c.Category, Department: c.Department,
			OpenedAt: c.OpenedAt, AcknowledgedAt: c.AcknowledgedAt}
		if sc, ok := schedule(c.ID, c.Department); ok {
			rs.Promise = promise(sc.PromiseAt(c.roundStart(), c.AcknowledgedAt, c.State.Resolved(), now))
		}
		out = append(out, rs)
	}
	return out
}

// ReporterSummary is one of a named reporter's cases in their list.
type ReporterSummary struct {
	ID             string       `json:"id"`
	State          domain.State `json:"state"`
	Category       string       `json:"category"`
	Department     string       `json:"department"`
	OpenedAt       time.Time    `json:"opened_at"`
	AcknowledgedAt time.Time    `json:"acknowledged_at,omitzero"`
	// Promise is what the department's policy promises the reporter next
	// (absent once the case is resolved or the policy promises nothing).
	Promise *escalation.Promise `json:"promise,omitempty"`
}

// Promise is the deadline the case's department promises its reporter
// next (nil when none), as of now.
func (s *Service) Promise(ctx context.Context, c *domain.Case) *escalation.Promise {
	sc, ok := s.schedules(ctx)(c.ID(), c.Report().DepartmentID())
	if !ok {
		return nil
	}
	return promise(sc.PromiseAt(c.RoundStart(), c.AcknowledgedAt(), c.State().Resolved(), s.o.Now()))
}

func promise(p escalation.Promise, ok bool) *escalation.Promise {
	if !ok {
		return nil
	}
	return &p
}
