package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/connection/domain"
)

// Bucket names.
const (
	ProfilesBucket   = "connection_profiles"
	RoundsBucket     = "connection_rounds"
	GatheringsBucket = "connection_gatherings"
	GroupsBucket     = "connection_groups"
	ProgramsBucket   = "connection_programs"
)

// Repo adapts a store.Repo to app.Store, mapping its errors to the domain's.
type Repo[T any] struct{ *store.Repo[T] }

func mapErr(what, id string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s %s: %w", what, id, domain.ErrNotFound)
	case errors.Is(err, store.ErrExists):
		// Still store.ErrExists too: store.CreateOnce reads it as a retry.
		return fmt.Errorf("%s %s exists: %w (%w)", what, id, domain.ErrConflict, store.ErrExists)
	}
	return err
}

// Get implements app.Store.
func (r Repo[T]) Get(ctx context.Context, id string) (*T, error) {
	v, err := r.Repo.Get(ctx, id)
	return v, mapErr(r.Bucket(), id, err)
}

// Create implements app.Store.
func (r Repo[T]) Create(ctx context.Context, id string, v *T, evs ...events.Event) error {
	return mapErr(r.Bucket(), id, r.Repo.Create(ctx, id, v, evs...))
}

// Update implements app.Store.
func (r Repo[T]) Update(ctx context.Context, id string, fn func(*T) ([]events.Event, error)) error {
	return mapErr(r.Bucket(), id, r.Repo.Update(ctx, id, fn))
}

// Stores are the service's repositories.
type Stores struct {
	Profiles   Repo[domain.Profile]
	Rounds     Repo[domain.Round]
	Gatherings Repo[domain.Gathering]
	Groups     Repo[domain.Group]
	Programs   Repo[domain.Program]
}

// NewStores provisions the buckets.
func NewStores(ctx context.Context, b *bus.Bus, keys *crypto.Keyring) (*Stores, error) {
	var s Stores
	var err error
	if s.Profiles.Repo, err = store.New[domain.Profile](ctx, b, ProfileCodec{Keys: keys},
		store.Options{Bucket: ProfilesBucket, Description: "connection profiles (affinity fields sealed)"}); err != nil {
		return nil, err
	}
	if s.Rounds.Repo, err = store.New[domain.Round](ctx, b, RoundCodec{Keys: keys},
		store.Options{Bucket: RoundsBucket, Description: "matching rounds (proposals sealed)"}); err != nil {
		return nil, err
	}
	// RSVPs contend on one record: allow many compare-and-set retries.
	if s.Gatherings.Repo, err = store.New[domain.Gathering](ctx, b, GatheringCodec{Keys: keys},
		store.Options{Bucket: GatheringsBucket, Description: "gatherings (topics sealed)", MaxRetries: 1000}); err != nil {
		return nil, err
	}
	if s.Groups.Repo, err = store.New[domain.Group](ctx, b, GroupCodec{},
		store.Options{Bucket: GroupsBucket, Description: "affinity and interest groups"}); err != nil {
		return nil, err
	}
	if s.Programs.Repo, err = store.New[domain.Program](ctx, b, store.JSONCodec[domain.Program]{},
		store.Options{Bucket: ProgramsBucket, Description: "mentoring programs' settings"}); err != nil {
		return nil, err
	}
	return &s, nil
}

// Relays starts the outbox relays of every store.
func (s *Stores) Relays(ctx context.Context) ([]*bus.Running, error) {
	var out []*bus.Running
	for _, start := range []func(context.Context) (*bus.Running, error){
		s.Profiles.StartRelay, s.Rounds.StartRelay, s.Gatherings.StartRelay, s.Groups.StartRelay,
	} {
		r, err := start(ctx)
		if err != nil {
			for _, x := range out {
				_ = x.Stop(ctx)
			}
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
