package platform

import (
	"context"
	"errors"
	"sync"

	"github.com/deiops/deiops/pkg/bus"
)

// Background is a target's background work: loops that run until Stop
// and consumers (outbox relays) that drain on Stop. A target embeds one
// and calls Stop from its own Stop. The zero value is ready.
type Background struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	ctx     context.Context
	wg      sync.WaitGroup
	running []*bus.Running
}

// Go runs fn in a goroutine until Stop. fn's context keeps parent's values
// but not its cancellation: a target's loops end with the target, not
// with the request that started it.
func (b *Background) Go(parent context.Context, fn func(ctx context.Context)) {
	b.mu.Lock()
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(parent))
	}
	ctx := b.ctx
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		fn(ctx)
	}()
}

// Track adds running consumers to stop with the rest.
func (b *Background) Track(rs ...*bus.Running) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running = append(b.running, rs...)
}

// Stop ends the loops, waits for them, then drains the consumers.
func (b *Background) Stop(ctx context.Context) error {
	b.mu.Lock()
	cancel, running := b.cancel, b.running
	b.cancel, b.ctx, b.running = nil, nil, nil
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	b.wg.Wait()
	var errs []error
	for _, r := range running {
		errs = append(errs, r.Stop(ctx))
	}
	return errors.Join(errs...)
}
