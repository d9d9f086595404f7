// Package app holds the awareness service's use cases and the store
// interfaces they need. Ports call it; adapters implement its stores.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/idem"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/versioned"
	"github.com/deiops/deiops/services/awareness/domain"
)

// Errors of the use cases, classified by the platform's kinds (pkg/fault).
var (
	ErrNotFound  = fault.New(fault.NotFound, "")
	ErrForbidden = fault.New(fault.Forbidden, "not allowed")
	ErrConflict  = fault.New(fault.Conflict, "not possible in the current state")
	// ErrStale means the directory snapshot does not show a change yet
	// (consumers retry).
	ErrStale = errors.New("directory snapshot does not show the change yet")
)

func unprocessable(detail, field, reason string) error {
	return fault.InvalidFields(detail, fault.Field{Field: field, Reason: reason})
}

// Managers manage awareness content: campaigns, statements, training.
var Managers = []caller.Role{caller.DEIOfficer, caller.ProgramDirector}

// manages reports whether a manages awareness content.
func manages(a caller.Actor) bool { return a.Has(Managers...) }

// Store is a keyed collection of aggregates (store.Repo plus a scan).
type Store[T any] interface {
	Get(ctx context.Context, id string) (*T, error)
	Create(ctx context.Context, id string, v *T, evs ...events.Event) error
	Update(ctx context.Context, id string, fn func(*T) ([]events.Event, error)) error
	Upsert(ctx context.Context, id string, fn func(cur *T) (*T, []events.Event, error)) error
	// Scan visits records whose key matches a NATS wildcard filter.
	Scan(ctx context.Context, filter string, fn func(key string, v *T) error) error
}

// Versions keeps statement versions.
type Versions interface {
	Publish(ctx context.Context, scope string, doc domain.StatementDoc, by string) (versioned.Version[domain.StatementDoc], error)
	Get(ctx context.Context, scope string, version int) (versioned.Version[domain.StatementDoc], error)
	History(ctx context.Context, scope string) ([]versioned.VersionInfo, error)
}

// Directory is the platform's view of people.
type Directory interface {
	Snapshot(ctx context.Context) (*directory.Directory, error)
}

// FollowUps starts an assignment's follow-up workflow.
type FollowUps interface {
	Start(ctx context.Context, a *domain.Assignment) error
}

// Reach records that a campaign reached a person.
type Reach struct {
	CampaignID string    `json:"campaign_id"`
	PersonID   string    `json:"person_id"`
	At         time.Time `json:"at"`
	Late       bool      `json:"late"` // joined the audience after publication
}

// Wave records a follow-up step done (its event is written with it).
type Wave struct {
	WaveID     string    `json:"wave_id"`
	Recipients int       `json:"recipients"`
	At         time.Time `json:"at"`
}

// Options builds a Service.
type Options struct {
	Campaigns    Store[domain.Campaign]
	Reach        Store[Reach]
	Statements   Store[domain.Statement]
	Versions     Versions
	Attestations Store[domain.Attestation]
	Modules      Store[domain.Module]
	Assignments  Store[domain.Assignment]
	Trainings    Store[domain.Training]
	// TrainingIndex is the read model of Trainings, kept current by a
	// follower of the bucket; SyncTrainings waits until it holds every
	// write made before the call.
	TrainingIndex *TrainingIndex
	SyncTrainings func(ctx context.Context) error
	Ingest        Store[Ingested]
	Waves         Store[Wave]
	Directory     Directory
	FollowUps     FollowUps
	// Notify publishes a notification request.
	Notify func(ctx context.Context, r notify.Requested) error
	// Publish publishes an event with a given id (JetStream stores an id
	// once within its duplicate window; consumers skip ids they handled).
	// Bulk steps use it instead of one outbox round per record.
	Publish     func(ctx context.Context, id, subject string, ev events.Event) error
	PublicURL   string
	MinCellSize int
	Logger      *slog.Logger
	Now         func() time.Time
	// Parallel bounds concurrent store writes of bulk operations.
	Parallel int
}

// Service runs the awareness use cases.
type Service struct {
	o Options

	modules     listCache[domain.Module]
	campaigns   listCache[domain.Campaign]
	assignments listCache[domain.Assignment]
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Parallel <= 0 {
		o.Parallel = 64
	}
	if o.MinCellSize < 2 {
		o.MinCellSize = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o}
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

func (s *Service) snapshot(ctx context.Context) (*directory.Directory, error) {
	d, err := s.o.Directory.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return d, nil
}

// NewID returns an id with a prefix for something a request creates:
// derived from the request's Idempotency-Key when it has one (a retry
// finds what its first attempt created), random otherwise.
func NewID(ctx context.Context, prefix string) string { return idem.ID(ctx, prefix+"-", 8) }

// Key joins id parts into a KV key: each part escaped so that '.' only
// separates parts (':' and '.' become =3A and =2E, '=' becomes =3D).
func Key(parts ...string) string {
	r := strings.NewReplacer("=", "=3D", ":", "=3A", ".", "=2E")
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = r.Replace(p)
	}
	return strings.Join(out, ".")
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

func isNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotFound)
}

// parallel runs fn over items with at most n at once and returns the
// first error.
func parallel[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	ch := make(chan T)
	for range min(n, max(len(items), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := fn(ctx, it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, it := range items {
		select {
		case ch <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return first
}

func (s *Service) link(path string) string { return strings.TrimRight(s.o.PublicURL, "/") + path }

// send publishes notification requests of template t to recipients in
// batches of notify.MaxRecipients; ids derive from key and the batch.
func (s *Service) send(ctx context.Context, key string, t notify.Template, link, ref string, recipients []string) error {
	if s.o.Notify == nil {
		return nil
	}
	for i := 0; i < len(recipients); i += notify.MaxRecipients {
		batch := recipients[i:min(i+notify.MaxRecipients, len(recipients))]
		r := notify.NewRequest(notify.DeriveID("awareness", key, fmt.Sprint(i/notify.MaxRecipients)), "awareness", t, link, ref, batch...)
		if err := s.o.Notify(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
