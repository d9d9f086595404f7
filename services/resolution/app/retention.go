package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Deleter removes case data for good (retention).
type Deleter interface {
	DeleteCase(ctx context.Context, id string) error
	DeleteKey(ctx context.Context, key string) error
}

// Retention says how long a closed case of a category is kept.
type Retention func(category string) time.Duration

// Sweep deletes every closed case past its retention that is not under
// legal hold: the case record with its sealed content and its anonymous
// key. The audit trail (ids, actions, times; no content) stays, with a
// final entry saying the case was deleted. It returns the deleted ids.
func (s *Service) Sweep(ctx context.Context, now time.Time, keep Retention, del Deleter) ([]string, error) {
	var deleted []string
	var errs []error
	for _, c := range s.o.Index.All() {
		ttl := keep(c.Category)
		if ttl <= 0 || c.ClosedAt.IsZero() || c.LegalHold || now.Before(c.ClosedAt.Add(ttl)) {
			continue
		}
		// Re-read: the index may lag a legal hold or a reopening.
		r, err := s.o.Cases.Get(ctx, c.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.Case.LegalHold() || r.Case.State() != "closed" {
			continue
		}
		if r.CaseKey != "" {
			if err := del.DeleteKey(ctx, r.CaseKey); err != nil {
				errs = append(errs, fmt.Errorf("delete key of %s: %w", c.ID, err))
				continue
			}
		}
		if err := del.DeleteCase(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("delete case %s: %w", c.ID, err))
			continue
		}
		s.audit(ctx, c.ID, "system", "retention_delete", "allowed")
		deleted = append(deleted, c.ID)
	}
	return deleted, errors.Join(errs...)
}
