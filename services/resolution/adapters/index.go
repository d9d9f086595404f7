package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/resolution/app"
)

// Index is the in-memory read model of case summaries. It follows the case
// bucket with a KV watch (which replays every current value first), so it
// is rebuilt from JetStream on every start and needs no other storage.
type Index struct {
	log *slog.Logger
	mu  sync.RWMutex
	// byID holds each case's summary; a stored summary is never changed,
	// only replaced, so Select can hand out pointers to it.
	byID map[string]*app.Summary

	ready chan struct{}
	done  chan struct{}
	stop  context.CancelFunc
}

// StartIndex starts following kv; Ready tells when the replay is done.
func StartIndex(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) (*Index, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := kv.WatchAll(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watch %s: %w", kv.Bucket(), err)
	}
	ix := &Index{log: log, byID: map[string]*app.Summary{}, ready: make(chan struct{}), done: make(chan struct{}), stop: cancel}
	go ix.follow(ctx, w)
	return ix, nil
}

func (ix *Index) follow(ctx context.Context, w jetstream.KeyWatcher) {
	defer close(ix.done)
	defer func() { _ = w.Stop() }()
	readyOnce := sync.OnceFunc(func() { close(ix.ready) })
	defer readyOnce()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() == nil {
					ix.log.Error("case index: the bucket watch ended; the view no longer follows writes")
				}
				return
			}
			if e == nil { // end of the initial replay
				readyOnce()
				continue
			}
			ix.apply(e)
		}
	}
}

func (ix *Index) apply(e jetstream.KeyValueEntry) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(ix.byID, e.Key())
		return
	}
	state, err := store.StateOf(e.Value())
	if err == nil {
		var s app.Summary
		if s, err = summaryOf(state); err == nil {
			ix.byID[e.Key()] = &s
			return
		}
	}
	ix.log.Error("case index: unreadable record", "case_id", e.Key(), "revision", e.Revision(), "error", err)
}

// Ready waits until the index holds every case stored when it started.
func (ix *Index) Ready(ctx context.Context) error {
	select {
	case <-ix.ready:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("case index not ready"), ctx.Err())
	}
}

// Stop ends the watch.
func (ix *Index) Stop() {
	ix.stop()
	<-ix.done
}

// Get returns one summary.
func (ix *Index) Get(id string) (app.Summary, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s, ok := ix.byID[id]
	if !ok {
		return app.Summary{}, false
	}
	return *s, true
}

// All implements app.Index, oldest first.
func (ix *Index) All() []app.Summary {
	ix.mu.RLock()
	out := make([]app.Summary, 0, len(ix.byID))
	for _, s := range ix.byID {
		out = append(out, *s)
	}
	ix.mu.RUnlock()
	sortSummaries(out)
	return out
}

// Select implements app.Index.
func (ix *Index) Select(keep func(*app.Summary) bool) []*app.Summary {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]*app.Summary, 0, len(ix.byID))
	for _, s := range ix.byID {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// ByReporter implements app.Index.
func (ix *Index) ByReporter(hash string) []app.Summary {
	if hash == "" {
		return nil
	}
	ix.mu.RLock()
	var out []app.Summary
	for _, s := range ix.byID {
		if s.ReporterHash == hash {
			out = append(out, *s)
		}
	}
	ix.mu.RUnlock()
	sortSummaries(out)
	return out
}

func sortSummaries(s []app.Summary) {
	slices.SortFunc(s, func(a, b app.Summary) int {
		if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
}
