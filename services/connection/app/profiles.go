package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/domain"
)

// PutProfile opts the actor in, or updates their profile. Only the person
// may write their own profile.
func (s *Service) PutProfile(ctx context.Context, a caller.Actor, person string, in domain.ProfileInput) (*domain.Profile, error) {
	if a.ID != person {
		return nil, fmt.Errorf("profile of %s: %w", person, ErrForbidden)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	var out *domain.Profile
	err := s.o.Profiles.Upsert(ctx, person, func(cur *domain.Profile) (*domain.Profile, []events.Event, error) {
		if cur == nil {
			p, err := domain.OptIn(person, in, now)
			if err != nil {
				return nil, nil, err
			}
			cur = p
		} else if err := cur.Update(in, now); err != nil {
			return nil, nil, err
		}
		out = cur
		return cur, []events.Event{contract.ProfileOptedIn{PersonID: person, SeekingMentor: cur.IsMentee(),
			Mentor: cur.IsMentor(), At: now}}, nil
	})
	return out, err
}

// GetProfile returns a profile. The person sees all of it (full true);
// coordinators see it without the restricted parts (full false); nobody
// else may read it.
func (s *Service) GetProfile(ctx context.Context, a caller.Actor, person string) (*domain.Profile, bool, error) {
	self := a.ID == person
	if !self && !a.Has(caller.Coordinator, caller.Admin) {
		return nil, false, fmt.Errorf("profile of %s: %w", person, ErrForbidden)
	}
	p, err := s.o.Profiles.Get(ctx, person)
	if err != nil {
		return nil, false, err
	}
	if !self && !p.OptedIn() {
		return nil, false, fmt.Errorf("profile of %s: %w", person, ErrNotFound)
	}
	return p, self, nil
}

// WithdrawProfile ends the person's consent: the profile content is
// erased, the person leaves every draft and published round, their
// pending proposals end (as mentor, their mentees fall back to the next
// best mentor). Withdrawing twice is harmless.
func (s *Service) WithdrawProfile(ctx context.Context, a caller.Actor, person string) error {
	if a.ID != person {
		return fmt.Errorf("profile of %s: %w", person, ErrForbidden)
	}
	now := s.now()
	err := s.o.Profiles.Update(ctx, person, func(p *domain.Profile) ([]events.Event, error) {
		if !p.Withdraw(now) {
			return nil, nil
		}
		return []events.Event{contract.ProfileWithdrawn{PersonID: person, At: now}}, nil
	})
	if err != nil {
		return err
	}
	var ids []string
	err = s.o.Rounds.Each(ctx, func(id string, r *domain.Round) error {
		for _, p := range r.Proposals() {
			if p.Mentee == person || p.Mentor == person {
				ids = append(ids, id)
				break
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	pool, err := s.pool(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.o.Rounds.Update(ctx, id, func(r *domain.Round) ([]events.Event, error) {
			var evs []events.Event
			for _, p := range r.RemovePerson(person, now) {
				if p.Status == domain.ProposalWithdrawn && r.Status() == domain.RoundPublished {
					evs = append(evs, contract.MentorshipDeclined{ProposalID: p.ID, RoundID: r.ID(), Reason: "withdrawn", At: now})
				}
				if p.Mentor == person && p.Mentee != person {
					evs = append(evs, s.fallback(r, pool, p.Mentee, now)...)
				}
			}
			return evs, nil
		}))
	}
	return errors.Join(errs...)
}
