package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
)

// Batch gathers the events of many writes and publishes them together,
// with many PubAcks in flight instead of one round trip each: for paths
// that write many aggregates at once (imports, waves). Writes made with a
// context from WithBatch do not publish inline; their entries keep their
// writer's lease and wait in the batch, which publishes them when it holds
// MaxEvents, when its oldest entry has used a quarter of its lease, or on
// Flush. Entries whose publication fails stay in their outboxes for the
// relay, as after a failed inline publish. Safe for concurrent writes.
type Batch struct {
	bus  *bus.Bus
	opts BatchOptions

	mu    sync.Mutex
	items []batchItem
	n     int // events in items
	err   error
}

// BatchOptions bounds a Batch.
type BatchOptions struct {
	// MaxEvents is how many events wait before the batch publishes
	// (default 1024).
	MaxEvents int
	// MaxInFlight is how many PubAcks are outstanding (default 256).
	MaxInFlight int
	// Settlers is how many outboxes are cleared at once after publishing
	// (default 16).
	Settlers int
}

type batchItem struct {
	own      []pending
	deadline time.Time // the writer's lease budget
	settle   func(ctx context.Context, ids []string) error
}

// NewBatch returns an empty batch publishing through b.
func NewBatch(b *bus.Bus, o BatchOptions) *Batch {
	if o.MaxEvents < 1 {
		o.MaxEvents = 1024
	}
	if o.MaxInFlight < 1 {
		o.MaxInFlight = 256
	}
	if o.Settlers < 1 {
		o.Settlers = 16
	}
	return &Batch{bus: b, opts: o}
}

type batchKey struct{}

// WithBatch returns ctx under which writes hand their events to bt.
func WithBatch(ctx context.Context, bt *Batch) context.Context {
	return context.WithValue(ctx, batchKey{}, bt)
}

func batchOf(ctx context.Context) *Batch {
	bt, _ := ctx.Value(batchKey{}).(*Batch)
	return bt
}

func (bt *Batch) add(ctx context.Context, it batchItem) {
	bt.mu.Lock()
	bt.items = append(bt.items, it)
	bt.n += len(it.own)
	full := bt.n >= bt.opts.MaxEvents ||
		time.Until(bt.items[0].deadline) < time.Until(it.deadline)/2 // the oldest has used half its budget
	bt.mu.Unlock()
	if full {
		if err := bt.publish(ctx); err != nil {
			bt.bus.Logger().WarnContext(ctx, "batch publish left events to the relay", "error", err)
			bt.mu.Lock()
			bt.err = errors.Join(bt.err, err)
			bt.mu.Unlock()
		}
	}
}

// Flush publishes every event the batch holds and clears their outboxes.
// It returns the first failure since the last Flush; the events that
// failed are left to the relay.
func (bt *Batch) Flush(ctx context.Context) error {
	err := bt.publish(ctx)
	bt.mu.Lock()
	defer bt.mu.Unlock()
	err, bt.err = errors.Join(bt.err, err), nil
	return err
}

func (bt *Batch) publish(ctx context.Context) error {
	bt.mu.Lock()
	items := bt.items
	bt.items, bt.n = nil, 0
	bt.mu.Unlock()
	if len(items) == 0 {
		return nil
	}
	// Every entry stays within its writer's budget: the batch stops at
	// the earliest, and entries already past theirs are the relay's.
	var deadline time.Time
	live := items[:0]
	now := time.Now()
	for _, it := range items {
		if !it.deadline.After(now) {
			continue
		}
		live = append(live, it)
		if deadline.IsZero() || it.deadline.Before(deadline) {
			deadline = it.deadline
		}
	}
	if len(live) == 0 {
		return nil
	}
	pctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	var mu sync.Mutex
	acked := map[string]bool{}
	pb := bt.bus.NewBatch(pctx, bus.BatchOptions{MaxInFlight: bt.opts.MaxInFlight, OnAck: func(env events.Envelope) {
		mu.Lock()
		acked[env.ID] = true
		mu.Unlock()
	}})
add:
	for _, it := range live {
		for _, p := range it.own {
			if err := pb.Add(p.envelope(), propagation.MapCarrier(p.Trace)); err != nil {
				break add // the batch failed; Wait says why
			}
		}
	}
	err := pb.Wait()

	// Clear what was published, a few outboxes at a time.
	sem := make(chan struct{}, bt.opts.Settlers)
	var wg sync.WaitGroup
	var serrs []error
	for _, it := range live {
		var ids []string
		for _, p := range it.own {
			if acked[p.ID] {
				ids = append(ids, p.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if serr := it.settle(ctx, ids); serr != nil {
				mu.Lock()
				serrs = append(serrs, serr)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(append([]error{err}, serrs...)...)
}
