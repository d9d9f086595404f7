package app

import (
	"context"
	"sync"
)

// versioner is a store that can say whether it changed (adapters.Repo).
type versioner interface {
	Version(ctx context.Context) (uint64, error)
}

// listCache keeps the whole of a small collection (modules, campaigns,
// assignments) between writes, so that per-person work (a directory
// change, a completion row) does not scan the bucket each time. It is
// checked against the bucket's version on every use: never stale.
type listCache[T any] struct {
	mu      sync.Mutex
	version uint64
	items   []*T
	valid   bool
}

func (c *listCache[T]) list(ctx context.Context, st Store[T]) ([]*T, error) {
	v, ok := st.(versioner)
	if !ok {
		return scanAll(ctx, st)
	}
	ver, err := v.Version(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.valid && c.version == ver {
		items := c.items
		c.mu.Unlock()
		return items, nil
	}
	c.mu.Unlock()
	items, err := scanAll(ctx, st)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.version, c.items, c.valid = ver, items, true
	c.mu.Unlock()
	return items, nil
}

func scanAll[T any](ctx context.Context, st Store[T]) ([]*T, error) {
	var out []*T
	err := st.Scan(ctx, ">", func(_ string, v *T) error { out = append(out, v); return nil })
	return out, err
}
