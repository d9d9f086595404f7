// Package store keeps aggregates in JetStream KV buckets and emits their
// events without loss.
//
// A change and its events are written together: the KV record holds the
// aggregate's state and an outbox of events not yet confirmed published,
// in one compare-and-set write. After the write the events are published
// (Nats-Msg-Id = event id) and removed from the outbox. If the process dies
// between the two steps, the relay — a durable consumer of the bucket's own
// change stream — finds the record with a non-empty outbox and publishes
// it. JetStream's duplicate window and consumers' dedup by event id absorb
// the rare double publish.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
)

var (
	// ErrNotFound means no aggregate has that id.
	ErrNotFound = errors.New("not found")
	// ErrExists means Create found an aggregate with that id.
	ErrExists = errors.New("already exists")
	// ErrConflict means concurrent writers kept winning past every retry:
	// the request was right, the moment was not, so the client is told to
	// retry (503 with Retry-After), never that the server failed.
	ErrConflict = fault.Retry("the record is being changed by others; retry", time.Second, nil)
)

// Codec maps an aggregate to the JSON record kept in the bucket and back.
// It is where restricted fields are encrypted: records are stored as the
// codec returns them.
type Codec[T any] interface {
	Marshal(id string, v *T) ([]byte, error)
	Unmarshal(id string, data []byte) (*T, error)
}

// JSONCodec stores T as plain JSON (for aggregates without restricted fields).
type JSONCodec[T any] struct{}

func (JSONCodec[T]) Marshal(_ string, v *T) ([]byte, error) { return json.Marshal(v) }
func (JSONCodec[T]) Unmarshal(_ string, data []byte) (*T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// pending is one outbox entry: a fully prepared envelope plus the trace
// context of the request that caused it.
type pending struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	Source         string            `json:"source"`
	Subject        string            `json:"subject"`
	Time           time.Time         `json:"time"`
	DataSchema     string            `json:"dataschema"`
	Classification string            `json:"classification"`
	Topic          string            `json:"topic"`
	Data           json.RawMessage   `json:"data"`
	Trace          map[string]string `json:"trace,omitempty"`
}

func (p pending) envelope() events.Envelope {
	return events.Envelope{ID: p.ID, Source: p.Source, Type: p.Type, Subject: p.Subject, Time: p.Time,
		DataSchema: p.DataSchema, Classification: p.Classification, Data: p.Data, Topic: p.Topic}
}

// outboxKey is how a record's JSON names a non-empty outbox.
var outboxKey = []byte(`"outbox":`)

type record struct {
	State  json.RawMessage `json:"state"`
	Outbox []pending       `json:"outbox,omitempty"`
}

// StateOf returns the aggregate state held in a raw record of a bucket
// (as a KV watch delivers it), without its outbox. Adapters that follow a
// bucket's changes use it instead of knowing the record layout.
func StateOf(data []byte) (json.RawMessage, error) {
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if len(rec.State) == 0 {
		return nil, errors.New("decode record: no state")
	}
	return rec.State, nil
}

// Options configures a repository.
type Options struct {
	Bucket      string
	Description string
	History     uint8
	// DeferPublish leaves publishing to the relay alone (no inline publish
	// after the write). Used to prove the relay closes the crash window.
	DeferPublish bool
	// MaxRetries bounds compare-and-set retries under contention; between
	// retries writers back off for a short random time so they stop
	// colliding (default 64 retries, at most about 1.5 s in all).
	MaxRetries int
}

// Repo is a repository of aggregates of type T in one KV bucket.
type Repo[T any] struct {
	kv    jetstream.KeyValue
	bus   *bus.Bus
	codec Codec[T]
	opts  Options
}

// New provisions the bucket (idempotently) and returns its repository.
func New[T any](ctx context.Context, b *bus.Bus, codec Codec[T], o Options) (*Repo[T], error) {
	if o.MaxRetries <= 0 {
		o.MaxRetries = 64
	}
	kv, err := b.EnsureKV(ctx, bus.KVOptions{Bucket: o.Bucket, Description: o.Description, History: o.History})
	if err != nil {
		return nil, err
	}
	return &Repo[T]{kv: kv, bus: b, codec: codec, opts: o}, nil
}

// Bucket is the KV bucket name.
func (r *Repo[T]) Bucket() string { return r.opts.Bucket }

func (r *Repo[T]) load(ctx context.Context, id string) (*T, record, uint64, error) {
	e, err := r.kv.Get(ctx, id)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, record{}, 0, ErrNotFound
		}
		return nil, record{}, 0, unavailable(fmt.Errorf("load %s/%s: %w", r.opts.Bucket, id, err))
	}
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, record{}, 0, fmt.Errorf("decode %s/%s: %w", r.opts.Bucket, id, err)
	}
	v, err := r.codec.Unmarshal(id, rec.State)
	if err != nil {
		return nil, record{}, 0, fmt.Errorf("decode %s/%s state: %w", r.opts.Bucket, id, err)
	}
	return v, rec, e.Revision(), nil
}

// Get loads one aggregate.
func (r *Repo[T]) Get(ctx context.Context, id string) (*T, error) {
	v, _, _, err := r.load(ctx, id)
	return v, err
}

// Create stores a new aggregate and its events; ErrExists if id is taken.
func (r *Repo[T]) Create(ctx context.Context, id string, v *T, evs ...events.Event) error {
	data, rec, err := r.encode(ctx, id, v, nil, evs)
	if err != nil {
		return err
	}
	rev, err := r.kv.Create(ctx, id, data)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return ErrExists
		}
		return unavailable(fmt.Errorf("create %s/%s: %w", r.opts.Bucket, id, err))
	}
	r.afterWrite(ctx, id, rev, rec)
	return nil
}

// Update loads the aggregate, lets fn change it and return the events the
// change causes, and writes both with compare-and-set on the revision it
// loaded, retrying fn on conflict. fn may run more than once and must not
// have side effects outside the aggregate. An error from fn aborts the
// update unchanged.
func (r *Repo[T]) Update(ctx context.Context, id string, fn func(*T) ([]events.Event, error)) error {
	return r.change(ctx, id, false, func(v *T, exists bool) (*T, []events.Event, error) {
		evs, err := fn(v)
		return v, evs, err
	})
}

// Upsert is Update that also creates: fn receives nil when id is new and
// returns the aggregate to store.
func (r *Repo[T]) Upsert(ctx context.Context, id string, fn func(cur *T) (*T, []events.Event, error)) error {
	return r.change(ctx, id, true, func(v *T, exists bool) (*T, []events.Event, error) {
		if !exists {
			v = nil
		}
		return fn(v)
	})
}

func (r *Repo[T]) change(ctx context.Context, id string, create bool, fn func(*T, bool) (*T, []events.Event, error)) error {
	for attempt := 0; attempt < r.opts.MaxRetries; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return fmt.Errorf("update %s/%s: %w", r.opts.Bucket, id, err)
			}
		}
		cur, rec, rev, err := r.load(ctx, id)
		exists := err == nil
		if err != nil && (!errors.Is(err, ErrNotFound) || !create) {
			return err
		}
		next, evs, err := fn(cur, exists)
		if err != nil {
			return err
		}
		if next == nil {
			return nil // nothing to store
		}
		if exists && len(evs) == 0 && r.unchanged(id, next, rec) {
			return nil
		}
		data, written, err := r.encode(ctx, id, next, rec.Outbox, evs)
		if err != nil {
			return err
		}
		var newRev uint64
		if exists {
			newRev, err = r.kv.Update(ctx, id, data, rev)
		} else {
			newRev, err = r.kv.Create(ctx, id, data)
		}
		if err != nil {
			if isConflict(err) {
				continue
			}
			return unavailable(fmt.Errorf("write %s/%s: %w", r.opts.Bucket, id, err))
		}
		r.afterWrite(ctx, id, newRev, written)
		return nil
	}
	return fmt.Errorf("update %s/%s: %w", r.opts.Bucket, id, ErrConflict)
}

// unavailable classifies a failed store operation: the broker did not
// answer in time or refused for now, so the client may retry (503). A
// cancelled context (the client left) stays what it is.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fault.Retry("the store is not available right now; retry", 0, err)
}

// backoff waits a random time that grows with attempt (full jitter, capped
// at 25 ms): contending writers spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	limit := min(time.Millisecond<<min(attempt, 5), 25*time.Millisecond)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(limit)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *Repo[T]) unchanged(id string, next *T, rec record) bool {
	data, err := r.codec.Marshal(id, next)
	return err == nil && string(data) == string(rec.State)
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

func (r *Repo[T]) encode(ctx context.Context, id string, v *T, outbox []pending, evs []events.Event) ([]byte, record, error) {
	state, err := r.codec.Marshal(id, v)
	if err != nil {
		return nil, record{}, fmt.Errorf("encode %s/%s: %w", r.opts.Bucket, id, err)
	}
	rec := record{State: state, Outbox: append([]pending(nil), outbox...)}
	carrier := r.bus.TraceCarrier(ctx)
	for _, ev := range evs {
		env, err := events.New(ev, r.bus.Source(), id, r.bus.Now())
		if err != nil {
			return nil, record{}, err
		}
		rec.Outbox = append(rec.Outbox, pending{ID: env.ID, Type: env.Type, Source: env.Source, Subject: env.Subject,
			Time: env.Time, DataSchema: env.DataSchema, Classification: env.Classification, Topic: env.Topic,
			Data: env.Data, Trace: carrier})
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, record{}, fmt.Errorf("encode %s/%s record: %w", r.opts.Bucket, id, err)
	}
	return data, rec, nil
}

// afterWrite publishes the outbox right away. Failure is not the caller's
// problem: the change is durable and the relay will finish the job.
// It works from the record just written, so the common path reads nothing
// back.
func (r *Repo[T]) afterWrite(ctx context.Context, id string, rev uint64, rec record) {
	if len(rec.Outbox) == 0 || r.opts.DeferPublish {
		return
	}
	if err := r.publish(ctx, id, rev, rec); err != nil {
		r.bus.Logger().WarnContext(ctx, "outbox publish deferred to relay", "bucket", r.opts.Bucket, "error", err)
	}
}

// Flush publishes every pending event of id and removes them from the outbox.
func (r *Repo[T]) Flush(ctx context.Context, id string) error {
	e, err := r.kv.Get(ctx, id)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return fmt.Errorf("load %s/%s: %w", r.opts.Bucket, id, err)
	}
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return fmt.Errorf("decode %s/%s: %w", r.opts.Bucket, id, err)
	}
	if len(rec.Outbox) == 0 {
		return nil
	}
	return r.publish(ctx, id, e.Revision(), rec)
}

// publish sends the outbox of rec (revision rev of id), in order, and
// removes what was sent.
func (r *Repo[T]) publish(ctx context.Context, id string, rev uint64, rec record) error {
	published := make(map[string]bool, len(rec.Outbox))
	for _, p := range rec.Outbox {
		if err := r.bus.PublishEnvelope(ctx, p.envelope(), propagation.MapCarrier(p.Trace)); err != nil {
			return err
		}
		published[p.ID] = true
	}
	return r.clear(ctx, id, rev, rec, published)
}

// clear removes published entries, re-reading on conflict: a concurrent
// writer may have added new ones that must stay.
func (r *Repo[T]) clear(ctx context.Context, id string, rev uint64, rec record, published map[string]bool) error {
	for attempt := 0; attempt < r.opts.MaxRetries; attempt++ {
		keep := rec.Outbox[:0:0]
		for _, p := range rec.Outbox {
			if !published[p.ID] {
				keep = append(keep, p)
			}
		}
		if len(keep) == len(rec.Outbox) {
			return nil
		}
		rec.Outbox = keep
		data, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode %s/%s: %w", r.opts.Bucket, id, err)
		}
		if _, err := r.kv.Update(ctx, id, data, rev); err == nil {
			return nil
		} else if !isConflict(err) {
			return fmt.Errorf("clear outbox %s/%s: %w", r.opts.Bucket, id, err)
		}
		e, err := r.kv.Get(ctx, id)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return nil
			}
			return fmt.Errorf("reload %s/%s: %w", r.opts.Bucket, id, err)
		}
		rec = record{}
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return fmt.Errorf("decode %s/%s: %w", r.opts.Bucket, id, err)
		}
		rev = e.Revision()
	}
	return fmt.Errorf("clear outbox %s/%s: %w", r.opts.Bucket, id, ErrConflict)
}

// StartRelay runs the durable consumer of the bucket's change stream that
// publishes any outbox left behind (a crash, a broker outage during the
// inline publish). It starts from the latest value of every key the first
// time, then follows new writes; its position survives restarts.
func (r *Repo[T]) StartRelay(ctx context.Context) (*bus.Running, error) {
	prefix := "$KV." + r.opts.Bucket + "."
	return r.bus.StartRaw(ctx, "KV_"+r.opts.Bucket, jetstream.ConsumerConfig{
		Durable:       "outbox-relay",
		Description:   "publishes events left in " + r.opts.Bucket + " outboxes",
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
		FilterSubject: prefix + ">",
	}, func(ctx context.Context, m jetstream.Msg) error {
		if op := m.Headers().Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			return nil
		}
		// Most revisions carry no outbox (the inline publish cleared it):
		// skip them without decoding. The outbox is omitted when empty,
		// so its key's absence is proof; its presence is checked below.
		if !bytes.Contains(m.Data(), outboxKey) {
			return nil
		}
		var rec record
		if err := json.Unmarshal(m.Data(), &rec); err != nil || len(rec.Outbox) == 0 {
			return nil // nothing pending in this revision
		}
		return r.Flush(ctx, strings.TrimPrefix(m.Subject(), prefix))
	})
}

// Each calls fn for every aggregate (rebuilding read models, exports).
func (r *Repo[T]) Each(ctx context.Context, fn func(id string, v *T) error) error {
	lister, err := r.kv.ListKeys(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil
		}
		return fmt.Errorf("list %s: %w", r.opts.Bucket, err)
	}
	defer lister.Stop()
	for key := range lister.Keys() {
		v, err := r.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(key, v); err != nil {
			return err
		}
	}
	return nil
}

// Purge deletes an aggregate for good: the purge marker rolls up every
// earlier revision of the key, so its values leave the bucket's stream
// (retention and secure deletion). Pending outbox events are dropped with
// it; callers flush first when they matter.
func (r *Repo[T]) Purge(ctx context.Context, id string) error {
	if err := r.kv.Purge(ctx, id); err != nil {
		return fmt.Errorf("purge %s/%s: %w", r.opts.Bucket, id, err)
	}
	return nil
}

// KV is the bucket, for read models that watch it (decode values with
// StateOf and the codec).
func (r *Repo[T]) KV() jetstream.KeyValue { return r.kv }
