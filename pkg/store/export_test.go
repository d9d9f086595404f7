package store

import (
	"context"

	"github.com/deiops/deiops/pkg/bus"
)

// StartRelayAs runs the relay under another durable name, so that a test
// can make two relays see the same revisions and race for them.
func StartRelayAs[T any](ctx context.Context, r *Repo[T], durable string) (*bus.Running, error) {
	return r.startRelay(ctx, durable)
}
