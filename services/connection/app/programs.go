package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/connection/domain"
)

// PutProgram sets a program's standing settings (coordinators).
func (s *Service) PutProgram(ctx context.Context, a caller.Actor, p domain.Program) (*domain.Program, error) {
	if !a.Has(caller.Coordinator) {
		return nil, fmt.Errorf("programs: %w", ErrForbidden)
	}
	if s.o.Programs == nil {
		return nil, errors.New("no program store")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.Round.Program, p.UpdatedBy, p.UpdatedAt = p.ID, a.ID, s.now()
	err := s.o.Programs.Upsert(ctx, p.ID, func(*domain.Program) (*domain.Program, []events.Event, error) { return &p, nil, nil })
	return &p, err
}

// GetProgram returns a program's settings (coordinators).
func (s *Service) GetProgram(ctx context.Context, a caller.Actor, id string) (*domain.Program, error) {
	if !a.Has(caller.Coordinator) {
		return nil, fmt.Errorf("programs: %w", ErrForbidden)
	}
	if s.o.Programs == nil {
		return nil, ErrNotFound
	}
	return s.o.Programs.Get(ctx, id)
}

// CheckinEvery is the check-in cadence of the program a round belongs to
// (0 when the program sets none: the workflow default applies).
func (s *Service) CheckinEvery(ctx context.Context, roundID string) (time.Duration, error) {
	if s.o.Programs == nil {
		return 0, nil
	}
	r, err := s.o.Rounds.Get(ctx, roundID)
	if err != nil {
		return 0, err
	}
	p, err := s.o.Programs.Get(ctx, r.Settings().Program)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return p.CheckinEvery, nil
}
