package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket names.
const (
	CasesBucket = "resolution_cases"
	KeysBucket  = "resolution_case_keys"
)

// Cases is the KV case store.
type Cases struct {
	repo *store.Repo[app.Record]
}

// NewCases provisions the bucket and returns the store.
func NewCases(ctx context.Context, b *bus.Bus, keys *crypto.Keyring) (*Cases, error) {
	repo, err := store.New[app.Record](ctx, b, CaseCodec{Keys: keys}, store.Options{
		Bucket: CasesBucket, Description: "resolution cases (restricted fields sealed)",
	})
	if err != nil {
		return nil, fmt.Errorf("case store: %w", err)
	}
	return &Cases{repo: repo}, nil
}

// Repo exposes the underlying repository (relay, iteration).
func (c *Cases) Repo() *store.Repo[app.Record] { return c.repo }

// Create implements app.Cases.
func (c *Cases) Create(ctx context.Context, r *app.Record, evs ...events.Event) error {
	err := c.repo.Create(ctx, r.Case.ID(), r, evs...)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("create case %s: %w", r.Case.ID(), app.ErrExists)
	}
	return err
}

// Get implements app.Cases.
func (c *Cases) Get(ctx context.Context, id string) (*app.Record, error) {
	r, err := c.repo.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("case %s: %w", id, app.ErrNotFound)
	}
	return r, err
}

// Update implements app.Cases.
func (c *Cases) Update(ctx context.Context, id string, fn func(*app.Record) ([]events.Event, error)) error {
	err := c.repo.Update(ctx, id, fn)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("case %s: %w", id, app.ErrNotFound)
	}
	return err
}

// DeleteCase removes a case for good (retention): the key is purged,
// which rolls up every earlier revision of it in the bucket's stream, so
// the sealed content leaves the store rather than being marked deleted.
func (c *Cases) DeleteCase(ctx context.Context, id string) error {
	return c.repo.Purge(ctx, id)
}

// credentialRecord is the stored form of an anonymous key entry.
type credentialRecord struct {
	CaseID   string          `json:"case_id"`
	Verifier domain.Verifier `json:"verifier"`
}

// Credentials is the KV store of anonymous case keys.
type Credentials struct {
	repo *store.Repo[credentialRecord]
}

// NewCredentials provisions the bucket and returns the store.
func NewCredentials(ctx context.Context, b *bus.Bus) (*Credentials, error) {
	repo, err := store.New[credentialRecord](ctx, b, store.JSONCodec[credentialRecord]{}, store.Options{
		Bucket: KeysBucket, Description: "anonymous case keys (keyed-hash verifiers)",
	})
	if err != nil {
		return nil, fmt.Errorf("case key store: %w", err)
	}
	return &Credentials{repo: repo}, nil
}

// Create implements app.Credentials.
func (s *Credentials) Create(ctx context.Context, key string, c app.Credential) error {
	err := s.repo.Create(ctx, key, &credentialRecord{CaseID: c.CaseID, Verifier: c.Verifier})
	if errors.Is(err, store.ErrExists) {
		return app.ErrKeyTaken
	}
	return err
}

// Get implements app.Credentials.
func (s *Credentials) Get(ctx context.Context, key string) (app.Credential, error) {
	r, err := s.repo.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return app.Credential{}, app.ErrUnknownKey
	}
	if err != nil {
		return app.Credential{}, err
	}
	return app.Credential{CaseID: r.CaseID, Verifier: r.Verifier}, nil
}

// Replace implements app.Credentials.
func (s *Credentials) Replace(ctx context.Context, key string, c app.Credential) error {
	return s.repo.Update(ctx, key, func(r *credentialRecord) ([]events.Event, error) {
		r.CaseID, r.Verifier = c.CaseID, c.Verifier
		return nil, nil
	})
}

// Delete removes a key (retention).
func (s *Credentials) Delete(ctx context.Context, key string) error { return s.repo.Purge(ctx, key) }

// Deleter combines the two stores for retention.
type Deleter struct {
	Cases   *Cases
	Keys    *Credentials
	Started *Started
}

// DeleteCase implements app.Deleter.
func (d Deleter) DeleteCase(ctx context.Context, id string) error {
	if err := d.Cases.DeleteCase(ctx, id); err != nil {
		return err
	}
	return d.Started.Forget(ctx, id)
}

// DeleteKey implements app.Deleter.
func (d Deleter) DeleteKey(ctx context.Context, key string) error { return d.Keys.Delete(ctx, key) }

// MaxAuditEntries bounds one case's trail: the stream keeps the newest
// entries of each case up to this many.
const MaxAuditEntries = 20000

// AuditStream holds every case's trail, one message per entry on the
// subject AuditSubjectPrefix.<case id>. Appending is one publish whatever
// the trail's length — no record is rewritten, so concurrent readers and
// writers of one case never contend — and entries outlive a deleted case
// (ids and actions only).
const (
	AuditStream        = "RESOLUTION_AUDIT"
	AuditSubjectPrefix = "deiops.audit.resolution"
)

// Audit is the case audit trail on a JetStream stream.
type Audit struct {
	js     jetstream.JetStream
	stream jetstream.Stream
}

// NewAudit provisions the stream and returns the store.
func NewAudit(ctx context.Context, b *bus.Bus) (*Audit, error) {
	st, err := b.EnsureLog(ctx, bus.LogOptions{
		Name: AuditStream, Description: "resolution case audit trail (who, when, action; never content)",
		Subjects: []string{AuditSubjectPrefix + ".>"}, MaxPerSubject: MaxAuditEntries,
	})
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	return &Audit{js: b.JetStream(), stream: st}, nil
}

func auditSubject(caseID string) string { return AuditSubjectPrefix + "." + caseID }

// Append implements app.Audit.
func (a *Audit) Append(ctx context.Context, caseID string, e app.AuditEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	if _, err := a.js.Publish(ctx, auditSubject(caseID), data); err != nil {
		return fmt.Errorf("append audit entry of %s: %w", caseID, err)
	}
	return nil
}

// List implements app.Audit: the case's entries, oldest first.
func (a *Audit) List(ctx context.Context, caseID string) ([]app.AuditEntry, error) {
	subject := auditSubject(caseID)
	info, err := a.stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, fmt.Errorf("audit trail of %s: %w", caseID, err)
	}
	want := info.State.Subjects[subject]
	if want == 0 {
		return nil, nil
	}
	c, err := a.js.OrderedConsumer(ctx, AuditStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, fmt.Errorf("audit trail of %s: %w", caseID, err)
	}
	out := make([]app.AuditEntry, 0, want)
	for uint64(len(out)) < want {
		batch, err := c.Fetch(int(min(want-uint64(len(out)), 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("audit trail of %s: %w", caseID, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var e app.AuditEntry
			if err := json.Unmarshal(m.Data(), &e); err != nil {
				return nil, fmt.Errorf("audit trail of %s: entry: %w", caseID, err)
			}
			out = append(out, e)
			if meta, err := m.Metadata(); err == nil && meta.NumPending == 0 {
				return out, nil // entries older than the count were trimmed meanwhile
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("audit trail of %s: %w", caseID, err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}
