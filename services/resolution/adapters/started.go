package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/services/resolution/app"
)

// StartedBucket records which cases' escalation workflows run, and under
// which policy version. It is apart from the case record so that noting
// a start is one small write, not a rewrite of the sealed case.
const StartedBucket = "resolution_escalations"

type startedRecord struct {
	PolicyID      string `json:"policy_id"`
	PolicyVersion int    `json:"policy_version"`
}

// Started is the set of started escalations, followed in memory.
type Started struct {
	kv  jetstream.KeyValue
	log *slog.Logger

	mu   sync.RWMutex
	byID map[string]startedRecord

	ready chan struct{}
	done  chan struct{}
	stop  context.CancelFunc
}

// StartStarted provisions the bucket and follows it.
func StartStarted(ctx context.Context, b *bus.Bus, log *slog.Logger) (*Started, error) {
	kv, err := b.EnsureKV(ctx, bus.KVOptions{Bucket: StartedBucket, Description: "resolution: started escalation workflows and their policy versions"})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watch %s: %w", StartedBucket, err)
	}
	s := &Started{kv: kv, log: log, byID: map[string]startedRecord{}, ready: make(chan struct{}), done: make(chan struct{}), stop: cancel}
	go s.follow(wctx, w)
	return s, nil
}

func (s *Started) follow(ctx context.Context, w jetstream.KeyWatcher) {
	defer close(s.done)
	defer func() { _ = w.Stop() }()
	ready := sync.OnceFunc(func() { close(s.ready) })
	defer ready()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() == nil {
					s.log.Error("started escalations: the bucket watch ended; the view no longer follows writes")
				}
				return
			}
			if e == nil {
				ready()
				continue
			}
			s.mu.Lock()
			if e.Operation() != jetstream.KeyValuePut {
				delete(s.byID, e.Key())
			} else {
				var r startedRecord
				if err := json.Unmarshal(e.Value(), &r); err != nil {
					s.log.Error("started escalations: unreadable record", "case_id", e.Key(), "error", err)
				} else {
					s.byID[e.Key()] = r
				}
			}
			s.mu.Unlock()
		}
	}
}

// Ready waits until every start recorded before is known.
func (s *Started) Ready(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("started escalations not ready"), ctx.Err())
	}
}

// Stop ends the watch.
func (s *Started) Stop() {
	s.stop()
	<-s.done
}

// Mark implements app.Starts.
func (s *Started) Mark(ctx context.Context, caseID, policyID string, version int) error {
	data, _ := json.Marshal(startedRecord{PolicyID: policyID, PolicyVersion: version})
	if _, err := s.kv.Put(ctx, caseID, data); err != nil {
		return fmt.Errorf("note escalation of %s: %w", caseID, err)
	}
	s.mu.Lock()
	s.byID[caseID] = startedRecord{PolicyID: policyID, PolicyVersion: version}
	s.mu.Unlock()
	return nil
}

// Get implements app.Starts.
func (s *Started) Get(caseID string) (policyID string, version int, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byID[caseID]
	return r.PolicyID, r.PolicyVersion, ok
}

// Forget removes a case's mark (retention).
func (s *Started) Forget(ctx context.Context, caseID string) error {
	if err := s.kv.Purge(ctx, caseID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return err
	}
	s.mu.Lock()
	delete(s.byID, caseID)
	s.mu.Unlock()
	return nil
}

var _ app.Starts = (*Started)(nil)
