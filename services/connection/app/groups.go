package app

import (
	"context"
	"fmt"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/connection/contract"
	"github.com/deiops/deiops/services/connection/domain"
)

// GroupCreators may create groups (and name their leaders).
var GroupCreators = []caller.Role{caller.Coordinator, caller.DEIOfficer, caller.Admin}

// CreateGroup creates a group whose leaders are its first members.
func (s *Service) CreateGroup(ctx context.Context, a caller.Actor, in domain.GroupInput) (*domain.Group, error) {
	if !a.Has(GroupCreators...) {
		return nil, fmt.Errorf("groups: %w", ErrForbidden)
	}
	g, err := domain.NewGroup(newID(ctx, "grp-"), in, s.now())
	if err != nil {
		return nil, err
	}
	return store.CreateOnce(ctx, s.o.Groups, g.State().ID, g)
}

// GetGroup returns a group.
func (s *Service) GetGroup(ctx context.Context, id string) (*domain.Group, error) {
	return s.o.Groups.Get(ctx, id)
}

// JoinGroup adds the actor.
func (s *Service) JoinGroup(ctx context.Context, a caller.Actor, id string) error {
	now := s.now()
	return s.o.Groups.Update(ctx, id, func(g *domain.Group) ([]events.Event, error) {
		if !g.Join(a.ID) {
			return nil, nil
		}
		return []events.Event{contract.GroupMemberJoined{GroupID: id, Members: len(g.State().Members), At: now}}, nil
	})
}

// LeaveGroup removes the actor.
func (s *Service) LeaveGroup(ctx context.Context, a caller.Actor, id string) error {
	now := s.now()
	return s.o.Groups.Update(ctx, id, func(g *domain.Group) ([]events.Event, error) {
		left, err := g.Leave(a.ID)
		if err != nil || !left {
			return nil, err
		}
		return []events.Event{contract.GroupMemberLeft{GroupID: id, Members: len(g.State().Members), At: now}}, nil
	})
}

// Announce posts a leader's announcement and notifies the members.
func (s *Service) Announce(ctx context.Context, a caller.Actor, id, text string) (domain.Announcement, error) {
	now := s.now()
	var out domain.Announcement
	annID := newID(ctx, "a-")
	err := s.o.Groups.Update(ctx, id, func(g *domain.Group) ([]events.Event, error) {
		if an, ok := g.Announcement(annID); ok { // the retry: posted and notified once
			out = an
			return nil, nil
		}
		an, err := g.Announce(annID, a.ID, text, now)
		if err != nil {
			return nil, err
		}
		out = an
		var to []string
		for _, m := range g.State().Members {
			if m != a.ID {
				to = append(to, m)
			}
		}
		return s.notification(NotifyAnnouncement, an.ID, "/connection/groups/"+id, to...), nil
	})
	return out, err
}

// Announcements are visible to members, and to everyone in public groups.
func (s *Service) Announcements(ctx context.Context, a caller.Actor, id string) ([]domain.Announcement, error) {
	g, err := s.o.Groups.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if g.State().Input.Visibility != "public" && !g.IsMember(a.ID) {
		return nil, fmt.Errorf("group %s: %w", id, ErrForbidden)
	}
	return g.State().Announcements, nil
}

// ListGroups returns every group.
func (s *Service) ListGroups(ctx context.Context) ([]*domain.Group, error) {
	var out []*domain.Group
	err := s.o.Groups.Each(ctx, func(_ string, g *domain.Group) error {
		out = append(out, g)
		return nil
	})
	return out, err
}
