package store

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
)

// StartRelayAs runs the relay under another durable name, so that a test
// can make two relays see the same revisions and race for them.
func StartRelayAs[T any](ctx context.Context, r *Repo[T], durable string) (*bus.Running, error) {
	return r.startRelay(ctx, durable)
}

// WrapKV puts wrap around the repository's bucket handle before it is
// used, so that a test can stand for a replica whose reads lag behind.
func WrapKV[T any](r *Repo[T], wrap func(jetstream.KeyValue) jetstream.KeyValue) {
	r.kv = wrap(r.kv)
}
