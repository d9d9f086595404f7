package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/events"
)

// AdvisoryStream captures JetStream's max-deliveries advisories durably, so
// that a message whose last delivery was never answered (a crashed worker)
// still reaches the dead-letter stream when no process was listening.
const AdvisoryStream = "DEI_ADVISORIES"

const maxDeliveriesAdvisory = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>"

// Provision creates or updates every stream the catalog needs, the
// dead-letter stream and the advisory stream. It is idempotent: running it
// on every start-up (or from a Helm hook) converges the configuration.
func (b *Bus) Provision(ctx context.Context, c *events.Catalog) error {
	for _, s := range c.Streams() {
		if err := b.ensureStream(ctx, jetstream.StreamConfig{
			Name:        s.Name,
			Description: "deiops events",
			Subjects:    s.Subjects,
			Storage:     jetstream.FileStorage,
			Replicas:    b.opts.NATS.Replicas,
			Duplicates:  b.opts.NATS.DuplicateWindow,
			MaxAge:      b.opts.NATS.MaxAge,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
		}); err != nil {
			return err
		}
	}
	if err := b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        events.DeadLetterStream,
		Description: "messages deiops consumers could not handle, with the reason",
		Subjects:    []string{events.DeadLetterPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    b.opts.NATS.Replicas,
		Duplicates:  b.opts.NATS.DuplicateWindow,
	}); err != nil {
		return err
	}
	return b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        AdvisoryStream,
		Description: "max-deliveries advisories awaiting dead-lettering",
		Subjects:    []string{maxDeliveriesAdvisory},
		Storage:     jetstream.FileStorage,
		Replicas:    b.opts.NATS.Replicas,
		MaxAge:      7 * 24 * time.Hour,
	})
}

func (b *Bus) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("provision stream %s: %w", cfg.Name, err)
	}
	return nil
}

// KVOptions describes a KV bucket holding aggregates.
type KVOptions struct {
	Bucket      string
	Description string
	// History is how many revisions of a key are kept (1 is enough for
	// compare-and-set; more helps audits).
	History uint8
	TTL     time.Duration
}

// EnsureKV creates or updates a KV bucket with the bus's replica setting.
func (b *Bus) EnsureKV(ctx context.Context, o KVOptions) (jetstream.KeyValue, error) {
	if o.History == 0 {
		o.History = 1
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      o.Bucket,
		Description: o.Description,
		History:     o.History,
		TTL:         o.TTL,
		Storage:     jetstream.FileStorage,
		Replicas:    b.opts.NATS.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("provision kv %s: %w", o.Bucket, err)
	}
	return kv, nil
}

// LogOptions describes an append-only log: a stream of small records, one
// subject per owner (a case's audit trail, say), never rewritten.
type LogOptions struct {
	Name        string
	Description string
	Subjects    []string
	// MaxPerSubject keeps each subject's newest records up to this many.
	MaxPerSubject int64
}

// EnsureLog creates or updates an append-only log stream with the bus's
// replica setting. Appends are plain publishes with a PubAck.
func (b *Bus) EnsureLog(ctx context.Context, o LogOptions) (jetstream.Stream, error) {
	st, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: o.Name, Description: o.Description, Subjects: o.Subjects,
		Storage: jetstream.FileStorage, Replicas: b.opts.NATS.Replicas,
		Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld, MaxMsgsPerSubject: o.MaxPerSubject,
	})
	if err != nil {
		return nil, fmt.Errorf("provision log %s: %w", o.Name, err)
	}
	return st, nil
}

// StreamMessages counts messages held by a stream (tests, diagnostics).
func (b *Bus) StreamMessages(ctx context.Context, stream string) (uint64, error) {
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return 0, nil
		}
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s info: %w", stream, err)
	}
	return info.State.Msgs, nil
}
