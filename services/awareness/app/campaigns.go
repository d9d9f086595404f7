package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
)

// CreateCampaign stores a draft.
func (s *Service) CreateCampaign(ctx context.Context, a caller.Actor, in domain.CampaignInput) (*domain.Campaign, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	c, err := domain.NewCampaign(NewID(ctx, "cmp"), a.ID, in, s.now())
	if err != nil {
		return nil, err
	}
	return store.CreateOnce(ctx, s.o.Campaigns, Key(c.ID()), c)
}

// EditCampaign changes a draft or a scheduled campaign.
func (s *Service) EditCampaign(ctx context.Context, a caller.Actor, id string, in domain.CampaignInput) (*domain.Campaign, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out *domain.Campaign
	err := s.o.Campaigns.Update(ctx, Key(id), func(c *domain.Campaign) ([]events.Event, error) {
		out = c
		return nil, c.Edit(in, s.now())
	})
	if errors.Is(err, domain.ErrState) {
		return nil, ErrConflict
	}
	return out, notFound(err)
}

// Campaign returns a campaign: any to managers, a live one to the people it reached.
func (s *Service) Campaign(ctx context.Context, a caller.Actor, id string) (*domain.Campaign, error) {
	c, err := s.o.Campaigns.Get(ctx, Key(id))
	if err != nil {
		return nil, notFound(err)
	}
	if manages(a) {
		return c, nil
	}
	if !c.Live(s.now()) {
		return nil, ErrNotFound
	}
	if _, err := s.o.Reach.Get(ctx, Key(id, a.ID)); err != nil {
		return nil, notFound(err)
	}
	return c, nil
}

// Campaigns lists every campaign (managers).
func (s *Service) Campaigns(ctx context.Context, a caller.Actor) ([]*domain.Campaign, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out []*domain.Campaign
	err := s.o.Campaigns.Scan(ctx, ">", func(_ string, c *domain.Campaign) error { out = append(out, c); return nil })
	return out, err
}

// PublishCampaign schedules a campaign at at (zero: now); one that is due
// publishes right away, resolving its audience against the directory.
func (s *Service) PublishCampaign(ctx context.Context, a caller.Actor, id string, at time.Time) (*domain.Campaign, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	now := s.now()
	if !at.IsZero() && at.Before(now.Add(-time.Minute)) {
		return nil, unprocessable("invalid schedule", "publish_at", "must not be in the past")
	}
	c, err := s.o.Campaigns.Get(ctx, Key(id))
	if err != nil {
		return nil, notFound(err)
	}
	if c.Status() == domain.CampaignPublished {
		return nil, ErrConflict
	}
	// An audience that resolves to nobody is refused now, not at publication.
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if len(c.Audience().Resolve(d)) == 0 {
		return nil, unprocessable("the audience resolves to nobody in the directory", "audience", "no active person matches these criteria")
	}
	err = s.o.Campaigns.Update(ctx, Key(id), func(c *domain.Campaign) ([]events.Event, error) {
		return nil, c.Schedule(at, now)
	})
	if errors.Is(err, domain.ErrState) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, notFound(err)
	}
	c, err = s.o.Campaigns.Get(ctx, Key(id))
	if err != nil {
		return nil, err
	}
	if c.Due(now) {
		return s.publishNow(ctx, id)
	}
	return c, nil
}

// publishNow resolves the audience, records everyone reached (one record
// each, idempotent), then marks the campaign published with its event.
func (s *Service) publishNow(ctx context.Context, id string) (*domain.Campaign, error) {
	c, err := s.o.Campaigns.Get(ctx, Key(id))
	if err != nil {
		return nil, notFound(err)
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	members := c.Audience().Resolve(d)
	if len(members) == 0 {
		return nil, unprocessable("the audience resolves to nobody in the directory", "audience", "no active person matches these criteria")
	}
	now := s.now()
	if err := parallel(ctx, s.o.Parallel, members, func(ctx context.Context, p string) error {
		err := s.o.Reach.Create(ctx, Key(id, p), &Reach{CampaignID: id, PersonID: p, At: now})
		if errors.Is(err, store.ErrExists) {
			return nil
		}
		return err
	}); err != nil {
		return nil, err
	}
	var out *domain.Campaign
	err = s.o.Campaigns.Update(ctx, Key(id), func(c *domain.Campaign) ([]events.Event, error) {
		out = c
		if err := c.Publish(len(members), now); err != nil {
			return nil, err
		}
		return []events.Event{contract.CampaignPublished{CampaignID: id, Reached: len(members), PublishedAt: now, ExpiresAt: c.ExpiresAt()}}, nil
	})
	if errors.Is(err, domain.ErrState) {
		return out, nil // published concurrently
	}
	return out, err
}

// PublishDue publishes every scheduled campaign whose time has come.
func (s *Service) PublishDue(ctx context.Context) error {
	now := s.now()
	var due []string
	if err := s.o.Campaigns.Scan(ctx, ">", func(_ string, c *domain.Campaign) error {
		if c.Due(now) {
			due = append(due, c.ID())
		}
		return nil
	}); err != nil {
		return err
	}
	var errs []error
	for _, id := range due {
		if _, err := s.publishNow(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MyCampaigns lists the live campaigns that reached the actor.
func (s *Service) MyCampaigns(ctx context.Context, a caller.Actor) ([]*domain.Campaign, error) {
	var ids []string
	if err := s.o.Reach.Scan(ctx, "*."+Key(a.ID), func(_ string, r *Reach) error {
		ids = append(ids, r.CampaignID)
		return nil
	}); err != nil {
		return nil, err
	}
	var out []*domain.Campaign
	for _, id := range ids {
		c, err := s.o.Campaigns.Get(ctx, Key(id))
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		if c.Live(s.now()) {
			out = append(out, c)
		}
	}
	return out, nil
}

// reachJoiner reaches someone who joined a live campaign's audience after
// it was published.
func (s *Service) reachJoiner(ctx context.Context, d *directory.Directory, person string) error {
	now := s.now()
	all, err := s.campaigns.list(ctx, s.o.Campaigns)
	if err != nil {
		return err
	}
	var live []*domain.Campaign
	for _, c := range all {
		if c.Live(now) {
			live = append(live, c)
		}
	}
	for _, c := range live {
		if !c.Audience().Includes(d, person) {
			continue
		}
		err := s.o.Reach.Create(ctx, Key(c.ID(), person), &Reach{CampaignID: c.ID(), PersonID: person, At: now, Late: true})
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.o.Campaigns.Update(ctx, Key(c.ID()), func(c *domain.Campaign) ([]events.Event, error) {
			c.Reach(1)
			return nil, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// Reached lists who a campaign reached, in id order (managers).
func (s *Service) Reached(ctx context.Context, a caller.Actor, id string) ([]Reach, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	if _, err := s.o.Campaigns.Get(ctx, Key(id)); err != nil {
		return nil, notFound(err)
	}
	var out []Reach
	err := s.o.Reach.Scan(ctx, Key(id)+".*", func(_ string, r *Reach) error {
		out = append(out, *r)
		return nil
	})
	slices.SortFunc(out, func(x, y Reach) int { return strings.Compare(x.PersonID, y.PersonID) })
	return out, err
}
