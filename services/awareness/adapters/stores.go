// Package adapters keeps the awareness service's aggregates in JetStream
// KV buckets (pkg/store, pkg/versioned). One record per person-assignment,
// per attestation and per campaign reach: no record grows with a cohort.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/versioned"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
)

// Bucket names.
const (
	BucketCampaigns    = "AWARENESS_CAMPAIGNS"
	BucketReach        = "AWARENESS_REACH"
	BucketStatements   = "AWARENESS_STATEMENTS"
	BucketVersions     = "AWARENESS_STATEMENT_VERSIONS"
	BucketAttestations = "AWARENESS_ATTESTATIONS"
	BucketModules      = "AWARENESS_MODULES"
	BucketAssignments  = "AWARENESS_ASSIGNMENTS"
	BucketTrainings    = "AWARENESS_TRAININGS"
	BucketIngest       = "AWARENESS_INGEST"
	BucketWaves        = "AWARENESS_WAVES"
)

// Repo is a store.Repo with a filtered scan.
type Repo[T any] struct {
	*store.Repo[T]
	codec store.Codec[T]
}

// Scan calls fn for every record whose key matches filter (NATS
// wildcards), streaming the bucket's latest values instead of one round
// trip per key.
func (r *Repo[T]) Scan(ctx context.Context, filter string, fn func(key string, v *T) error) error {
	w, err := r.KV().Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("scan %s: %w", r.Bucket(), err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("scan: watcher closed")
			}
			if e == nil {
				return nil // initial values done
			}
			state, err := store.StateOf(e.Value())
			if err != nil {
				return err
			}
			v, err := r.codec.Unmarshal(e.Key(), state)
			if err != nil {
				return fmt.Errorf("decode %s/%s: %w", r.Bucket(), e.Key(), err)
			}
			if err := fn(e.Key(), v); err != nil {
				return err
			}
		}
	}
}

func newRepo[T any](ctx context.Context, b *bus.Bus, codec store.Codec[T], bucket, desc string) (*Repo[T], error) {
	r, err := store.New[T](ctx, b, codec, store.Options{Bucket: bucket, Description: desc})
	if err != nil {
		return nil, err
	}
	return &Repo[T]{Repo: r, codec: codec}, nil
}

// Stores are all the service's buckets.
type Stores struct {
	Campaigns    *Repo[domain.Campaign]
	Reach        *Repo[app.Reach]
	Statements   *Repo[domain.Statement]
	Versions     *versioned.Store[domain.StatementDoc]
	Attestations *Repo[domain.Attestation]
	Modules      *Repo[domain.Module]
	Assignments  *Repo[domain.Assignment]
	Trainings    *Repo[domain.Training]
	Ingest       *Repo[app.Ingested]
	Waves        *Repo[app.Wave]
}

// Open provisions every bucket (idempotently).
func Open(ctx context.Context, b *bus.Bus, ring *crypto.Keyring) (*Stores, error) {
	var s Stores
	var err error
	if s.Campaigns, err = newRepo(ctx, b, store.JSONCodec[domain.Campaign]{}, BucketCampaigns, "awareness campaigns"); err != nil {
		return nil, err
	}
	if s.Reach, err = newRepo(ctx, b, store.JSONCodec[app.Reach]{}, BucketReach, "who each campaign reached"); err != nil {
		return nil, err
	}
	if s.Statements, err = newRepo(ctx, b, store.JSONCodec[domain.Statement]{}, BucketStatements, "expectation statements (index)"); err != nil {
		return nil, err
	}
	if s.Versions, err = versioned.New(ctx, b, versioned.Options[domain.StatementDoc]{Bucket: BucketVersions, Description: "expectation statement versions",
		Published: func(scope string, v versioned.Version[domain.StatementDoc]) events.Event {
			return contract.StatementVersionPublished{StatementID: scope, Version: v.Version, RequiresAttestation: v.Doc.RequiresAttestation, PublishedAt: v.PublishedAt}
		}}); err != nil {
		return nil, err
	}
	if s.Attestations, err = newRepo(ctx, b, store.JSONCodec[domain.Attestation]{}, BucketAttestations, "attestations, one per person and version"); err != nil {
		return nil, err
	}
	if s.Modules, err = newRepo(ctx, b, store.JSONCodec[domain.Module]{}, BucketModules, "training catalog"); err != nil {
		return nil, err
	}
	if s.Assignments, err = newRepo(ctx, b, store.JSONCodec[domain.Assignment]{}, BucketAssignments, "training assignments (cohorts)"); err != nil {
		return nil, err
	}
	if s.Trainings, err = newRepo[domain.Training](ctx, b, trainingCodec{ring: ring}, BucketTrainings, "training records, one per person and assignment"); err != nil {
		return nil, err
	}
	if s.Ingest, err = newRepo(ctx, b, store.JSONCodec[app.Ingested]{}, BucketIngest, "ingested completions (idempotency, unmatched xAPI statements)"); err != nil {
		return nil, err
	}
	if s.Waves, err = newRepo(ctx, b, store.JSONCodec[app.Wave]{}, BucketWaves, "follow-up waves done"); err != nil {
		return nil, err
	}
	return &s, nil
}

// Relays starts the outbox relay of every bucket that carries events.
func (s *Stores) Relays(ctx context.Context) ([]*bus.Running, error) {
	starters := []func(context.Context) (*bus.Running, error){
		s.Campaigns.StartRelay, s.Versions.StartRelay, s.Attestations.StartRelay, s.Assignments.StartRelay,
		s.Trainings.StartRelay, s.Waves.StartRelay,
	}
	var out []*bus.Running
	for _, start := range starters {
		r, err := start(ctx)
		if err != nil {
			for _, o := range out {
				_ = o.Stop(ctx)
			}
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// TrainingReadModel returns the read model of the trainings bucket and
// the follower that keeps it current (run it for as long as it is used).
func (s *Stores) TrainingReadModel(log *slog.Logger) (*app.TrainingIndex, *store.Follower[domain.Training]) {
	idx := app.NewTrainingIndex()
	return idx, store.NewFollower(s.Trainings.Repo, store.Sink[domain.Training](idx), log)
}

// trainingCodec keeps an exemption's reason sealed (it may say why a
// person cannot take a training, e.g. a leave).
type trainingCodec struct{ ring *crypto.Keyring }

func aad(id string) []byte { return []byte("deiops/awareness/training:" + id) }

func (c trainingCodec) Marshal(id string, v *domain.Training) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || v.ExemptReason() == "" || c.ring == nil {
		return data, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	sealed, err := c.ring.SealString(v.ExemptReason(), aad(id))
	if err != nil {
		return nil, err
	}
	m["exempt_reason"], _ = json.Marshal("sealed:" + sealed)
	// The history repeats the reason: keep only that there was one.
	var hist []map[string]any
	if err := json.Unmarshal(m["history"], &hist); err == nil {
		for _, h := range hist {
			if _, ok := h["reason"]; ok {
				h["reason"] = "(sealed)"
			}
		}
		m["history"], _ = json.Marshal(hist)
	}
	return json.Marshal(m)
}

func (c trainingCodec) Unmarshal(id string, data []byte) (*domain.Training, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var reason string
	if raw, ok := m["exempt_reason"]; ok && json.Unmarshal(raw, &reason) == nil && strings.HasPrefix(reason, "sealed:") && c.ring != nil {
		plain, err := c.ring.OpenString(strings.TrimPrefix(reason, "sealed:"), aad(id))
		if err != nil {
			return nil, fmt.Errorf("open exemption reason: %w", err)
		}
		m["exempt_reason"], _ = json.Marshal(plain)
		data, _ = json.Marshal(m)
	}
	var t domain.Training
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Version is the bucket's last stream sequence: it changes with every
// write, so a list read at one version is current while it holds.
func (r *Repo[T]) Version(ctx context.Context) (uint64, error) {
	st, err := r.KV().Status(ctx)
	if err != nil {
		return 0, err
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok || bs.StreamInfo() == nil {
		return 0, errors.New("bucket status without stream info")
	}
	return bs.StreamInfo().State.LastSeq, nil
}
