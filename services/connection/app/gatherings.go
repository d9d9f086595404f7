package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/domain"
)

// Organizers may schedule gatherings.
var Organizers = []caller.Role{caller.Coordinator, caller.DEIOfficer, caller.ProgramDirector, caller.DepartmentLead, caller.Supervisor, caller.Admin}

// ScheduleGathering creates a gathering organised by the actor.
func (s *Service) ScheduleGathering(ctx context.Context, a caller.Actor, in domain.GatheringInput) (*domain.Gathering, error) {
	if !a.Has(Organizers...) {
		return nil, fmt.Errorf("gatherings: %w", ErrForbidden)
	}
	now := s.now()
	g, err := domain.ScheduleGathering(newID(ctx, "g-"), a.ID, in, now)
	if err != nil {
		return nil, err
	}
	ev := contract.GatheringScheduled{GatheringID: g.ID(), Kind: in.Kind, Mode: in.Mode, Capacity: in.Capacity, StartsAt: in.StartsAt}
	return store.CreateOnce(ctx, s.o.Gatherings, g.ID(), g, ev)
}

// GetGathering returns a gathering (anyone signed in).
func (s *Service) GetGathering(ctx context.Context, id string) (*domain.Gathering, error) {
	return s.o.Gatherings.Get(ctx, id)
}

// ListGatherings returns every gathering.
func (s *Service) ListGatherings(ctx context.Context) ([]*domain.Gathering, error) {
	var out []*domain.Gathering
	err := s.o.Gatherings.Each(ctx, func(_ string, g *domain.Gathering) error {
		out = append(out, g)
		return nil
	})
	return out, err
}

func (s *Service) lock(id string) func() {
	m, _ := s.locks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// RSVP confirms the actor or waitlists them. Each RSVP is one
// compare-and-set write of the gathering, so places are never over-booked
// however many replicas take RSVPs at once; within one process RSVPs to
// the same gathering also queue on a lock, so they do not burn retries.
func (s *Service) RSVP(ctx context.Context, a caller.Actor, id string) (string, int, error) {
	defer s.lock(id)()
	now := s.now()
	var status string
	var pos int
	err := s.o.Gatherings.Update(ctx, id, func(g *domain.Gathering) ([]events.Event, error) {
		st, p, changed, err := g.RSVP(a.ID, now)
		if err != nil {
			return nil, err
		}
		status, pos = st, p
		if !changed {
			return nil, nil
		}
		return []events.Event{contract.RSVPRecorded{GatheringID: id, PersonID: a.ID, Status: st, Position: p, At: now}}, nil
	})
	return status, pos, err
}

// CancelRSVP removes the actor; a freed place promotes the first
// waitlisted person, once, and notifies them.
func (s *Service) CancelRSVP(ctx context.Context, a caller.Actor, id string) (promoted string, err error) {
	defer s.lock(id)()
	now := s.now()
	err = s.o.Gatherings.Update(ctx, id, func(g *domain.Gathering) ([]events.Event, error) {
		was, pr, err := g.CancelRSVP(a.ID)
		if err != nil {
			return nil, err
		}
		promoted = pr
		if was == domain.RSVPNone {
			return nil, nil
		}
		evs := []events.Event{contract.RSVPRecorded{GatheringID: id, PersonID: a.ID, Status: domain.RSVPCancelled, At: now}}
		if pr != "" {
			evs = append(evs, contract.WaitlistPromoted{GatheringID: id, PersonID: pr, At: now})
			evs = append(evs, s.notification(NotifyWaitlist, id, "/connection/gatherings/"+id, pr)...)
		}
		return evs, nil
	})
	return promoted, err
}

// CancelGathering cancels a gathering (its organiser, a coordinator or an
// admin) and notifies everyone confirmed or waitlisted.
func (s *Service) CancelGathering(ctx context.Context, a caller.Actor, id string) error {
	defer s.lock(id)()
	now := s.now()
	return s.o.Gatherings.Update(ctx, id, func(g *domain.Gathering) ([]events.Event, error) {
		if g.Organizer() != a.ID && !a.Has(caller.Coordinator, caller.Admin) {
			return nil, fmt.Errorf("gathering %s: %w", id, ErrForbidden)
		}
		notify, changed := g.Cancel(now)
		if !changed {
			return nil, nil
		}
		evs := []events.Event{contract.GatheringCancelled{GatheringID: id, At: now}}
		return append(evs, s.notification(NotifyGatheringCancel, id, "/connection/gatherings/"+id, notify...)...), nil
	})
}

// SuggestTopic adds a story-circle topic; anonymous suggestions keep no
// trace of the submitter.
func (s *Service) SuggestTopic(ctx context.Context, a caller.Actor, id, text string, anonymous bool) (domain.Topic, error) {
	defer s.lock(id)()
	now := s.now()
	var t domain.Topic
	err := s.o.Gatherings.Update(ctx, id, func(g *domain.Gathering) ([]events.Event, error) {
		var err error
		t, err = g.SuggestTopic(newID(ctx, "t-"), text, a.ID, anonymous, now)
		return nil, err
	})
	return t, err
}

// Topics lists a story circle's suggestions to its organiser (the
// facilitator).
func (s *Service) Topics(ctx context.Context, a caller.Actor, id string) ([]domain.Topic, error) {
	g, err := s.o.Gatherings.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if g.Organizer() != a.ID {
		return nil, fmt.Errorf("gathering %s topics: %w", id, ErrForbidden)
	}
	return g.State().Topics, nil
}

// SendReminders sends each gathering's reminder once, when within the
// reminder lead of its start. It returns how many went out.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	now := s.now()
	var due []string
	err := s.o.Gatherings.Each(ctx, func(id string, g *domain.Gathering) error {
		st := g.State()
		if !st.Cancelled && !st.Reminded && !now.Before(st.Input.StartsAt.Add(-s.o.ReminderLead)) && now.Before(st.Input.StartsAt) {
			due = append(due, id)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		sent := false
		err := s.o.Gatherings.Update(ctx, id, func(g *domain.Gathering) ([]events.Event, error) {
			to, ok := g.DueReminder(now, s.o.ReminderLead)
			sent = ok
			if !ok {
				return nil, nil
			}
			return s.notification(NotifyGatheringRemind, id, "/connection/gatherings/"+id, to...), nil
		})
		if err != nil {
			return n, err
		}
		if sent {
			n++
		}
	}
	return n, nil
}
