package app

import (
	"context"
	"fmt"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/domain"
)

// Mentorship returns an accepted (or ended) proposal to one of its two
// participants; anyone else gets ErrNotFound.
func (s *Service) Mentorship(ctx context.Context, a caller.Actor, id string) (domain.Proposal, error) {
	round, ok := domain.RoundOfProposal(id)
	if !ok {
		return domain.Proposal{}, fmt.Errorf("mentorship %s: %w", id, ErrNotFound)
	}
	r, err := s.o.Rounds.Get(ctx, round)
	if err != nil {
		return domain.Proposal{}, err
	}
	p, err := r.Proposal(id)
	if err != nil {
		return domain.Proposal{}, err
	}
	if (p.Status != domain.ProposalAccepted && p.Status != domain.ProposalEnded) || (a.ID != p.Mentee && a.ID != p.Mentor) {
		return domain.Proposal{}, fmt.Errorf("mentorship %s: %w", id, ErrNotFound)
	}
	return p, nil
}

// MentorshipCheckin publishes check-in number of a mentorship, once.
func (s *Service) MentorshipCheckin(ctx context.Context, id string, number int, at time.Time) error {
	round, ok := domain.RoundOfProposal(id)
	if !ok {
		return fmt.Errorf("mentorship %s: %w", id, ErrNotFound)
	}
	return s.o.Rounds.Update(ctx, round, func(r *domain.Round) ([]events.Event, error) {
		p, changed, err := r.Checkin(id, number)
		if err != nil || !changed {
			return nil, err
		}
		evs := []events.Event{contract.MentorshipCheckinDue{MentorshipID: id, Number: number, At: at.UTC()}}
		return append(evs, s.notification("checkin_due", fmt.Sprintf("%s-c%d", id, number), "/connection/mentorships/"+id, p.Mentee, p.Mentor)...), nil
	})
}

// MentorshipEnded records the end of a mentorship, once. When the pair
// was not a fit the mentee is re-matched with their next best feasible
// mentor in the same round (the mentor counts as tried).
func (s *Service) MentorshipEnded(ctx context.Context, id, reason string, at time.Time) error {
	round, ok := domain.RoundOfProposal(id)
	if !ok {
		return fmt.Errorf("mentorship %s: %w", id, ErrNotFound)
	}
	var pl *pool
	if reason == "not_a_fit" {
		var err error
		if pl, err = s.pool(ctx); err != nil {
			return err
		}
	}
	now := s.now()
	return s.o.Rounds.Update(ctx, round, func(r *domain.Round) ([]events.Event, error) {
		p, changed, err := r.EndMentorship(id, reason, at.UTC())
		if err != nil || !changed {
			return nil, err
		}
		evs := []events.Event{contract.MentorshipEnded{MentorshipID: id, Reason: reason, At: at.UTC()}}
		if pl != nil {
			evs = append(evs, s.fallback(r, pl, p.Mentee, now)...)
		}
		return evs, nil
	})
}

// ActiveMentorships lists the ids of the person's running mentorships
// (accepted proposals not yet ended), as mentee or mentor.
func (s *Service) ActiveMentorships(ctx context.Context, person string) ([]string, error) {
	var out []string
	err := s.o.Rounds.Each(ctx, func(_ string, r *domain.Round) error {
		for _, p := range r.Proposals() {
			if p.Status == domain.ProposalAccepted && (p.Mentee == person || p.Mentor == person) {
				out = append(out, p.ID)
			}
		}
		return nil
	})
	return out, err
}

// RecordFeedback stores a participant's rating of their ended mentorship.
func (s *Service) RecordFeedback(ctx context.Context, a caller.Actor, id string, rating int) error {
	round, ok := domain.RoundOfProposal(id)
	if !ok {
		return fmt.Errorf("mentorship %s: %w", id, ErrNotFound)
	}
	return s.o.Rounds.Update(ctx, round, func(r *domain.Round) ([]events.Event, error) {
		_, err := r.RecordFeedback(id, a.ID, rating)
		return nil, err
	})
}
