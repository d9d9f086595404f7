package store

// Exactly-once publication of the outbox.
//
// Every entry has one owner at a time, recorded in the record itself: the
// entry's lease. The write that adds an entry leases it to its writer
// until now+Lease, in the same compare-and-set write as the change, so
// there is no moment when an entry exists without an owner.
//
//   - The writer publishes only the entries it added, and only until half
//     of the lease has passed (a deadline on its monotonic clock taken
//     before the write), then removes them from the outbox. It never
//     publishes entries carried over from earlier writes: those have
//     owners of their own.
//   - The relay follows the bucket's change stream. For an entry whose
//     lease has not ended it does nothing but look again later; once the
//     lease has ended it first claims the entry — a compare-and-set write
//     that leases it to itself — and publishes only after that write
//     succeeded, under the same half-lease deadline. Two relays that race
//     for an entry make two compare-and-set writes on the same revision:
//     one fails, sees the winner's lease and leaves the entry alone.
//
// Crash points. Before the write succeeds: nothing was written, nothing
// is published. Between the write and the publish: the lease ends, the
// relay claims and publishes — once. Between the publish and the removal
// (a crash, or the broker gone before the removal lands): the event is
// published and its entry stays until its lease ends, when the relay
// publishes it again; that second copy has the same id, so JetStream's
// duplicate window (far longer than the lease) and consumers' dedup by id
// absorb it. That is the remaining double, and it takes a failure in a
// window of one round trip. A writer or relay that is merely slow stops
// at half its lease, so the next owner starts at least half a lease
// later: that margin covers clock skew between processes and in-flight
// messages (not a publish buffered by the client through a reconnect
// longer than that margin, which the duplicate window then absorbs).
//
// Write amplification. An event costs the change's write plus one
// removal write. Where a key is written often from one process, the next
// write of the key removes the entries this process published already
// (settled) in its own write, and the publisher's removal then has
// nothing left to do: under contention the removal rides on a write that
// had to happen anyway instead of competing with it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
)

// pending is one outbox entry: a fully prepared envelope, the trace
// context of the request that caused it, and its lease.
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
	// Lease is when the entry's owner — the writer that added it, or the
	// relay that claimed it — stops publishing it; after it the relay may
	// claim it. Zero (entries written before leases existed) is unowned.
	Lease time.Time `json:"lease,omitzero"`
}

func newPending(env events.Envelope, carrier map[string]string, lease time.Time) pending {
	return pending{ID: env.ID, Type: env.Type, Source: env.Source, Subject: env.Subject, Time: env.Time,
		DataSchema: env.DataSchema, Classification: env.Classification, Topic: env.Topic, Data: env.Data,
		Trace: carrier, Lease: lease}
}

func (p pending) envelope() events.Envelope {
	return events.Envelope{ID: p.ID, Source: p.Source, Type: p.Type, Subject: p.Subject, Time: p.Time,
		DataSchema: p.DataSchema, Classification: p.Classification, Data: p.Data, Topic: p.Topic}
}

// outboxKey is how a record's JSON names a non-empty outbox.
var outboxKey = []byte(`"outbox":`)

// budget is when an owner that started at start stops publishing.
func (r *Repo[T]) budget(start time.Time) time.Time { return start.Add(r.opts.Lease / 2) }

// withoutSettled returns outbox without the entries this process has
// published already, and their ids.
func (r *Repo[T]) withoutSettled(id string, outbox []pending) ([]pending, []string) {
	keep := append([]pending(nil), outbox...)
	r.mu.Lock()
	defer r.mu.Unlock()
	done := r.settled[id]
	if len(done) == 0 {
		return keep, nil
	}
	var dropped []string
	keep = keep[:0]
	for _, p := range outbox {
		if _, ok := done[p.ID]; ok {
			dropped = append(dropped, p.ID)
			continue
		}
		keep = append(keep, p)
	}
	return keep, dropped
}

// forget removes ids from the settled entries of id: a write removed them.
func (r *Repo[T]) forget(id string, ids []string) {
	if len(ids) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range ids {
		delete(r.settled[id], x)
	}
	if len(r.settled[id]) == 0 {
		delete(r.settled, id)
	}
}

func (r *Repo[T]) remember(id string, ids []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.settled[id]
	if m == nil {
		m = make(map[string]struct{}, len(ids))
		r.settled[id] = m
	}
	for _, x := range ids {
		m[x] = struct{}{}
	}
}

// stillSettled reports whether every one of ids still awaits removal.
func (r *Repo[T]) stillSettled(id string, ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range ids {
		if _, ok := r.settled[id][x]; !ok {
			return false
		}
	}
	return true
}

// afterWrite publishes the entries the write added, or hands them to the
// context's batch. Failure is not the caller's problem: the change is
// durable and the relay takes over when the lease ends.
func (r *Repo[T]) afterWrite(ctx context.Context, id string, rev uint64, w written) {
	if len(w.own) == 0 || r.opts.DeferPublish {
		return
	}
	if bt := batchOf(ctx); bt != nil {
		bt.add(ctx, batchItem{own: w.own, deadline: r.budget(w.start), settle: func(ctx context.Context, ids []string) error {
			return r.settle(ctx, id, rev, w.rec, ids)
		}})
		return
	}
	if err := r.publishOwned(ctx, id, rev, w.rec, w.own, r.budget(w.start)); err != nil {
		r.bus.Logger().WarnContext(ctx, "outbox publish left to the relay", "bucket", r.opts.Bucket, "error", err)
	}
}

// publishOwned publishes own (entries of rec, revision rev of id, leased
// to the caller), in order, until deadline, then removes what was sent.
// The request that caused the write may end meanwhile: the change is
// committed, so its events go out all the same.
func (r *Repo[T]) publishOwned(ctx context.Context, id string, rev uint64, rec record, own []pending, deadline time.Time) error {
	pctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	var done []string
	var err error
	for _, p := range own {
		if err = r.bus.PublishEnvelope(pctx, p.envelope(), propagation.MapCarrier(p.Trace)); err != nil {
			break
		}
		done = append(done, p.ID)
	}
	if len(done) > 0 {
		if serr := r.settle(ctx, id, rev, rec, done); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return err
}

// settle removes published entries (ids) from the outbox of id, whose
// revision rev held rec. On a conflict it re-reads: a concurrent writer
// may have added entries that must stay, or — in this process — removed
// these already (withoutSettled).
func (r *Repo[T]) settle(ctx context.Context, id string, rev uint64, rec record, ids []string) error {
	r.remember(id, ids)
	defer r.forget(id, ids)
	ctx = context.WithoutCancel(ctx)
	gone := make(map[string]bool, len(ids))
	for _, x := range ids {
		gone[x] = true
	}
	for attempt := 0; attempt < r.opts.MaxRetries; attempt++ {
		if !r.stillSettled(id, ids) {
			return nil // a write of this process removed them
		}
		keep := rec.Outbox[:0:0]
		for _, p := range rec.Outbox {
			if !gone[p.ID] {
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
		if err := conflictBackoff(ctx, attempt); err != nil {
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

// Flush publishes the pending events of id that no owner publishes any
// more (their lease has ended) and removes them from the outbox. Events
// still leased to their writer are left to it.
func (r *Repo[T]) Flush(ctx context.Context, id string) error {
	_, err := r.takeOver(ctx, id, nil, nil)
	return err
}

// relayFlush is how often the relay publishes what it claimed.
const relayFlush = 50 * time.Millisecond

// relayRecheck is the longest the relay waits before looking at a record
// whose entries are leased: in the common case the writer removed them a
// moment after the relay first looked.
const relayRecheck = time.Second

// delivered is a revision of a key as the relay received it from the
// bucket's change stream: its sequence and its record.
type delivered struct {
	rev  uint64
	data []byte
}

// takeOver claims and publishes the entries of id whose lease has ended.
// With at set it acts only while at is the latest revision: a later one
// carries whatever is still pending and reaches the relay on its own.
// wait, when not zero, is when to look again (an entry is still leased).
// With bt set the claimed entries are handed to the batch instead of
// published one by one: the claim is itself a new revision, which the
// relay sees and, should this process die before the batch goes out,
// takes over again when the claim's lease ends.
func (r *Repo[T]) takeOver(ctx context.Context, id string, at *delivered, bt *Batch) (wait time.Duration, err error) {
	for attempt := 0; attempt < r.opts.MaxRetries; attempt++ {
		data, rev, err := r.latest(ctx, id, at)
		if err != nil || data == nil {
			return 0, err
		}
		var rec record
		if err := json.Unmarshal(data, &rec); err != nil {
			return 0, fmt.Errorf("decode %s/%s: %w", r.opts.Bucket, id, err)
		}
		start, now := time.Now(), r.bus.Now()
		var claimed []int
		var next time.Time
		for i, p := range rec.Outbox {
			if !p.Lease.After(now) {
				claimed = append(claimed, i)
			} else if next.IsZero() || p.Lease.Before(next) {
				next = p.Lease
			}
		}
		if len(claimed) == 0 {
			if next.IsZero() {
				return 0, nil
			}
			return min(next.Sub(now), relayRecheck), nil
		}
		lease := now.Add(r.opts.Lease)
		own := make([]pending, 0, len(claimed))
		for _, i := range claimed {
			rec.Outbox[i].Lease = lease
			own = append(own, rec.Outbox[i])
		}
		if data, err = json.Marshal(rec); err != nil {
			return 0, fmt.Errorf("encode %s/%s: %w", r.opts.Bucket, id, err)
		}
		// The claim: only the relay whose write lands publishes.
		claimRev, err := r.kv.Update(ctx, id, data, rev)
		if err != nil {
			if !isConflict(err) {
				return 0, fmt.Errorf("claim outbox %s/%s: %w", r.opts.Bucket, id, err)
			}
			if at != nil {
				return 0, nil // superseded (or deleted) while we looked
			}
			continue
		}
		r.bus.Logger().InfoContext(ctx, "relay publishes an outbox its writer left", "bucket", r.opts.Bucket, "events", len(own))
		if bt != nil {
			bt.add(ctx, batchItem{own: own, deadline: r.budget(start), settle: func(ctx context.Context, ids []string) error {
				return r.settle(ctx, id, claimRev, rec, ids)
			}})
			return 0, nil
		}
		if err := r.publishOwned(ctx, id, claimRev, rec, own, r.budget(start)); err != nil {
			// Leased to us now: whoever looks next waits for our lease.
			r.bus.Logger().WarnContext(ctx, "relay publish failed; retried when its lease ends", "bucket", r.opts.Bucket, "error", err)
		}
		return 0, nil
	}
	return 0, fmt.Errorf("take over outbox %s/%s: %w", r.opts.Bucket, id, ErrConflict)
}

// latest is the record of id to take over and its revision: the newest,
// or at, or nothing (data nil) when at is not the newest any more or the
// key is gone.
//
// Any replica of a replicated bucket answers reads, one that has not
// applied at yet included, so a read older than at, or one that does not
// find the key, says nothing about at: at is taken as it is, and the
// compare-and-set of the claim finds out whether it is still the newest.
// Taking such a read for the truth would drop at and, when no later write
// of the key comes, leave its outbox unpublished for good.
func (r *Repo[T]) latest(ctx context.Context, id string, at *delivered) ([]byte, uint64, error) {
	e, err := r.kv.Get(ctx, id)
	switch {
	case err == nil && (at == nil || e.Revision() == at.rev):
		return e.Value(), e.Revision(), nil
	case err == nil && e.Revision() > at.rev:
		return nil, 0, nil
	case at != nil && (err == nil || errors.Is(err, jetstream.ErrKeyNotFound)):
		return at.data, at.rev, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, 0, nil // deleted or purged: its outbox went with it
	default:
		return nil, 0, fmt.Errorf("load %s/%s: %w", r.opts.Bucket, id, err)
	}
}

// StartRelay runs the durable consumer of the bucket's change stream that
// publishes what writers left in outboxes (a crash, a broker outage
// during the inline publish) once their leases end. It starts from the
// latest value of every key the first time, then follows new writes; its
// position survives restarts. Processes running it share the work.
func (r *Repo[T]) StartRelay(ctx context.Context) (*bus.Running, error) {
	return r.startRelay(ctx, "outbox-relay")
}

func (r *Repo[T]) startRelay(ctx context.Context, durable string) (*bus.Running, error) {
	prefix := "$KV." + r.opts.Bucket + "."
	// What the relay claims goes out in batches: after a crash it may
	// find thousands of outboxes at once.
	bt := NewBatch(r.bus, BatchOptions{})
	run, err := r.bus.StartRaw(ctx, "KV_"+r.opts.Bucket, jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "publishes events left in " + r.opts.Bucket + " outboxes",
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
		FilterSubject: prefix + ">",
		// Revisions whose entries are still leased wait here (about a
		// second each): a burst of writes must not stall the relay.
		MaxAckPending: 65536,
	}, func(ctx context.Context, m jetstream.Msg) error {
		if op := m.Headers().Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			return nil
		}
		// Most revisions carry no outbox (the writer removed it): skip
		// them without decoding. The outbox is omitted when empty, so its
		// key's absence is proof.
		if !bytes.Contains(m.Data(), outboxKey) {
			return nil
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("relay %s: %w", r.opts.Bucket, err)
		}
		at := &delivered{rev: meta.Sequence.Stream, data: m.Data()}
		wait, err := r.takeOver(ctx, strings.TrimPrefix(m.Subject(), prefix), at, bt)
		if err != nil {
			return err
		}
		if wait > 0 {
			return bus.RetryAfter(wait)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A claimed batch goes out within relayFlush, well inside its budget.
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		t := time.NewTicker(relayFlush)
		defer t.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-t.C:
				if err := bt.Flush(fctx); err != nil {
					r.bus.Logger().WarnContext(fctx, "relay batch failed; retried when its leases end", "bucket", r.opts.Bucket, "error", err)
				}
			}
		}
	}()
	run.AfterStop(func(ctx context.Context) {
		stop()
		<-flushed
		if err := bt.Flush(ctx); err != nil {
			r.bus.Logger().WarnContext(ctx, "relay batch failed; retried when its leases end", "bucket", r.opts.Bucket, "error", err)
		}
	})
	return run, nil
}
