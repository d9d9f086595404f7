package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/domain"
	"github.com/deiops/deiops/services/connection/matching"
)

// pool is the opted-in people as the matcher sees them.
type pool struct {
	mentees map[string]matching.Mentee
	mentors []matching.Mentor
}

func (s *Service) pool(ctx context.Context) (*pool, error) {
	snap, err := s.o.Directory.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	now := s.now()
	p := &pool{mentees: map[string]matching.Mentee{}}
	err = s.o.Profiles.Each(ctx, func(id string, pr *domain.Profile) error {
		if pr.IsMentee() {
			var chain []string
			for _, sup := range snap.SupervisorChain(pr.PersonID()) {
				chain = append(chain, sup.ID)
			}
			p.mentees[pr.PersonID()] = pr.Mentee(chain, now)
		}
		if pr.IsMentor() {
			if person, ok := snap.Get(pr.PersonID()); !ok || person.Active {
				p.mentors = append(p.mentors, pr.Mentor(now))
			}
		}
		return nil
	})
	return p, err
}

// CreateRound runs the matcher over everyone opted in and stores the
// result as a draft for the coordinator to review.
func (s *Service) CreateRound(ctx context.Context, a caller.Actor, set domain.RoundSettings) (*domain.Round, error) {
	if !a.Has(caller.Coordinator) {
		return nil, fmt.Errorf("matching rounds: %w", ErrForbidden)
	}
	if s.o.Programs != nil && set.Program != "" {
		prog, err := s.o.Programs.Get(ctx, set.Program)
		switch {
		case err == nil:
			set = prog.Apply(set)
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	p, err := s.pool(ctx)
	if err != nil {
		return nil, err
	}
	mentees := make([]matching.Mentee, 0, len(p.mentees))
	for _, m := range p.mentees {
		mentees = append(mentees, m) // Match sorts by id: map order does not matter
	}
	res, err := matching.Match(mentees, p.mentors, set.Options())
	if err != nil {
		return nil, err
	}
	r := domain.NewRound(newID(ctx, "r-"), a.ID, set, res, s.now())
	return store.CreateOnce(ctx, s.o.Rounds, r.ID(), r)
}

// GetRound returns a round to a coordinator.
func (s *Service) GetRound(ctx context.Context, a caller.Actor, id string) (*domain.Round, error) {
	if !a.Has(caller.Coordinator) {
		return nil, fmt.Errorf("matching rounds: %w", ErrForbidden)
	}
	return s.o.Rounds.Get(ctx, id)
}

// PublishRound publishes a reviewed draft: each proposal goes to its
// mentor with the response window. Publishing twice conflicts.
func (s *Service) PublishRound(ctx context.Context, a caller.Actor, id string) (*domain.Round, error) {
	if !a.Has(caller.Coordinator) {
		return nil, fmt.Errorf("matching rounds: %w", ErrForbidden)
	}
	now := s.now()
	var out *domain.Round
	err := s.o.Rounds.Update(ctx, id, func(r *domain.Round) ([]events.Event, error) {
		props, err := r.Publish(now)
		if err != nil {
			return nil, err
		}
		out = r
		evs := []events.Event{contract.RoundPublished{RoundID: id, Program: r.Settings().Program, Proposals: len(props),
			Unmatched: len(r.Unmatched()), At: now}}
		for _, p := range props {
			evs = append(evs, s.proposed(id, p)...)
		}
		return evs, nil
	})
	return out, err
}

func (s *Service) proposed(round string, p domain.Proposal) []events.Event {
	evs := []events.Event{contract.MentorshipProposed{ProposalID: p.ID, RoundID: round, MenteeID: p.Mentee,
		MentorID: p.Mentor, Attempt: p.Attempt, RespondBy: p.RespondBy}}
	return append(evs, s.notification(NotifyProposal, p.ID, "/connection/proposals/"+p.ID, p.Mentor)...)
}

// MyProposals lists the proposals addressed to the actor as mentor.
func (s *Service) MyProposals(ctx context.Context, a caller.Actor) ([]RoundProposal, error) {
	var out []RoundProposal
	err := s.o.Rounds.Each(ctx, func(id string, r *domain.Round) error {
		if r.Status() != domain.RoundPublished {
			return nil
		}
		for _, p := range r.Proposals() {
			if p.Mentor == a.ID {
				out = append(out, RoundProposal{RoundID: id, Proposal: p})
			}
		}
		return nil
	})
	return out, err
}

// RoundProposal is a proposal with its round.
type RoundProposal struct {
	RoundID  string
	Proposal domain.Proposal
}

// Decide records a mentor's answer. A decline falls back to the mentee's
// next best feasible mentor (or reports them unmatched).
func (s *Service) Decide(ctx context.Context, a caller.Actor, roundID, proposalID string, accept bool) (domain.Proposal, error) {
	now := s.now()
	var pl *pool
	if !accept {
		var err error
		if pl, err = s.pool(ctx); err != nil {
			return domain.Proposal{}, err
		}
	}
	var out domain.Proposal
	err := s.o.Rounds.Update(ctx, roundID, func(r *domain.Round) ([]events.Event, error) {
		if r.Status() != domain.RoundPublished {
			return nil, fmt.Errorf("round %s: %w", roundID, ErrNotFound)
		}
		p, changed, err := r.Decide(proposalID, a.ID, accept, now)
		if err != nil {
			return nil, err
		}
		out = p
		if !changed {
			return nil, nil
		}
		if accept {
			evs := []events.Event{
				contract.MentorshipAccepted{ProposalID: p.ID, RoundID: roundID, At: now},
				contract.MentorshipMatched{MentorshipID: p.ID, RoundID: roundID, MenteeID: p.Mentee, MentorID: p.Mentor, At: now},
			}
			return append(evs, s.notification(NotifyMatched, p.ID, "/connection/mentorships/"+p.ID, p.Mentee, p.Mentor)...), nil
		}
		evs := []events.Event{contract.MentorshipDeclined{ProposalID: p.ID, RoundID: roundID, Reason: "declined", At: now}}
		return append(evs, s.fallback(r, pl, p.Mentee, now)...), nil
	})
	return out, err
}

// ExpireDue expires unanswered proposals past their window in every
// published round, falling back for their mentees. It returns how many
// expired.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.now()
	var due []string
	err := s.o.Rounds.Each(ctx, func(id string, r *domain.Round) error {
		for _, p := range r.Proposals() {
			if p.Status == domain.ProposalPending && !now.Before(p.RespondBy) {
				due = append(due, id)
				break
			}
		}
		return nil
	})
	if err != nil || len(due) == 0 {
		return 0, err
	}
	pl, err := s.pool(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		k := 0
		err := s.o.Rounds.Update(ctx, id, func(r *domain.Round) ([]events.Event, error) {
			var evs []events.Event
			exp := r.Expire(now)
			k = len(exp)
			for _, p := range exp {
				evs = append(evs, contract.MentorshipDeclined{ProposalID: p.ID, RoundID: id, Reason: "expired", At: now})
				evs = append(evs, s.fallback(r, pl, p.Mentee, now)...)
			}
			return evs, nil
		})
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// Fallback reasons beyond the matcher's.
const (
	ReasonAllDeclined = "declined_or_expired"
	ReasonWithdrawn   = "withdrawn"
)

// fallback proposes the mentee's next best feasible mentor in round r:
// the highest-scoring mentor with room (counting the round's open and
// accepted proposals) not yet tried for this mentee. With none, the
// mentee is reported unmatched with the binding constraint.
func (s *Service) fallback(r *domain.Round, pl *pool, mentee string, now time.Time) []events.Event {
	if r.HasOpen(mentee) {
		return nil
	}
	e, ok := pl.mentees[mentee]
	if !ok { // the mentee withdrew meanwhile
		return nil
	}
	opt := r.Settings().Options()
	tried := r.Tried(mentee)
	ranked := matching.Rank(e, pl.mentors, r.Loads(), tried, opt)
	if len(ranked) == 0 {
		reason := ReasonAllDeclined
		if len(matching.Rank(e, pl.mentors, nil, tried, opt)) > 0 {
			reason = string(matching.ReasonCapacity)
		}
		r.Fallback(mentee, nil, reason, now)
		return nil
	}
	p, _ := r.Fallback(mentee, &ranked[0], "", now)
	if r.Status() == domain.RoundDraft {
		return nil // the coordinator reviews it with the rest
	}
	return s.proposed(r.ID(), p)
}
