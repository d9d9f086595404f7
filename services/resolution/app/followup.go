package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/resolution/contract"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/deiops/deiops/workflows/escalation"
)

// These use cases run on behalf of the escalation workflow (its
// activities). Each is idempotent by the key the workflow passes, because
// Temporal runs an activity at least once.

// RecordEscalation records an escalation notice and publishes, in the same
// write, the escalated event and the notification request (to the
// recipients, or to the fallback channel when nobody is eligible).
func (s *Service) RecordEscalation(ctx context.Context, in escalation.NotifyEscalationInput) error {
	return s.change(ctx, in.CaseID, domain.SystemActor, func(r *Record) ([]events.Event, error) {
		if slices.ContainsFunc(r.Escalations, func(e Escalation) bool { return e.NotificationID == in.NotificationID }) {
			return nil, nil
		}
		// The workflow filtered conflicts of interest; filter again with
		// the current directory so a chain that changed since is honoured.
		var to []string
		for _, p := range in.Recipients {
			if !s.conflicted(ctx, p, r) {
				to = append(to, p)
			}
		}
		r.Escalations = append(r.Escalations, Escalation{NotificationID: in.NotificationID, Round: in.Round,
			Level: in.Level, Attempt: in.Attempt, Recipients: to, At: s.o.Now().UTC()})
		return []events.Event{
			contract.CaseEscalated{CaseID: in.CaseID, Department: in.Department, PolicyID: in.PolicyID, PolicyVersion: in.PolicyVersion,
				Round: in.Round, Level: in.Level, Attempt: in.Attempt, Recipients: len(to), DueAt: in.DueAt},
			s.o.NotificationEvent(Notification{ID: in.NotificationID, Recipients: to, Fallback: len(to) == 0,
				Template: "case_attention", Link: s.link("/v1/cases/" + in.CaseID), Reference: in.CaseID}),
		}, nil
	})
}

// RecordCheckin records a retaliation check-in and, for a named reporter,
// asks for a notification. The notice links to the reporter's own page and
// names no case, so the notification stream does not tie a person to a case.
func (s *Service) RecordCheckin(ctx context.Context, in escalation.RequestCheckinInput) error {
	return s.change(ctx, in.CaseID, domain.SystemActor, func(r *Record) ([]events.Event, error) {
		added, err := r.Case.RequestCheckin(in.Round, in.Number, in.Of, in.DueAt, s.o.Now())
		if err != nil || !added {
			return nil, err
		}
		if id := r.Case.Report().ReporterID(); id != "" {
			return []events.Event{s.o.NotificationEvent(Notification{ID: in.RequestID, Recipients: []string{id},
				Template: "checkin_due", Link: s.link("/v1/my/cases")})}, nil
		}
		return nil, nil
	})
}

// LinkedCaseID is the id of the retaliation case a request opens; derived
// from the request id so a retried activity finds the case it opened.
func LinkedCaseID(requestID string) string {
	sum := sha256.Sum256([]byte("deiops/resolution/linked-case:" + requestID))
	return "c-" + idEncoding.EncodeToString(sum[:10])
}

// OpenLinked opens the retaliation case linked to a closed case. Its
// escalation starts from its report-submitted event like any other case.
func (s *Service) OpenLinked(ctx context.Context, in escalation.OpenLinkedCaseInput) (string, error) {
	parent, err := s.o.Cases.Get(ctx, in.CaseID)
	if err != nil {
		return "", err
	}
	id := LinkedCaseID(in.RequestID)
	c, err := domain.NewLinkedCase(id, parent.Case, s.o.Now())
	if err != nil {
		return "", err
	}
	rec := &Record{Case: c, ReporterHash: parent.ReporterHash, ExcludedHashes: parent.ExcludedHashes, CaseKey: ""}
	err = s.create(ctx, rec, domain.SystemActor)
	if err != nil && !errors.Is(err, ErrExists) {
		return "", fmt.Errorf("open linked case: %w", err)
	}
	return id, nil
}

// MarkStarted records that a case's escalation runs, with the policy it keeps.
func (s *Service) MarkStarted(ctx context.Context, caseID string, p escalation.Policy) error {
	return s.o.Starts.Mark(ctx, caseID, p.ID, p.Version)
}

// Started reports whether a case's escalation is known to run, and under
// which policy version.
func (s *Service) Started(caseID string) (policyID string, version int, ok bool) {
	return s.o.Starts.Get(caseID)
}

// HandlerLeft clears person from every case they were assigned and tells
// the DEI office each case needs a new handler.
func (s *Service) HandlerLeft(ctx context.Context, person string) error {
	var errs []error
	for _, c := range s.o.Index.All() {
		if c.Assignee != person {
			continue
		}
		err := s.change(ctx, c.ID, domain.SystemActor, func(r *Record) ([]events.Event, error) {
			if !r.Case.HandlerLeft(person, s.o.Now()) {
				return nil, nil
			}
			return s.notifyHandlers(r, "case_attention"), nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("case %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Pending lists cases opened more than grace ago whose escalation is not
// known to run (younger ones are still with their report event).
func (s *Service) Pending(grace time.Duration) []string {
	var ids []string
	cutoff := s.o.Now().Add(-grace)
	for _, c := range s.o.Index.All() {
		if _, _, ok := s.o.Starts.Get(c.ID); !ok && c.OpenedAt.Before(cutoff) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}
