package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/domain"
)

// Bucket names.
const (
	CasesBucket = "resolution_cases"
	KeysBucket  = "resolution_case_keys"
	AuditBucket = "resolution_audit"
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
		Bucket: KeysBucket, Description: "anonymous case keys (scrypt verifiers)",
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

// MaxAuditEntries bounds one case's trail in one record; older entries
// stay in the bucket's history-free stream only as long as the record, so
// the cap is generous.
const MaxAuditEntries = 20000

type auditLog struct {
	Entries []app.AuditEntry `json:"entries"`
}

// Audit is the KV audit trail, one record per case.
type Audit struct {
	repo *store.Repo[auditLog]
}

// NewAudit provisions the bucket and returns the store.
func NewAudit(ctx context.Context, b *bus.Bus) (*Audit, error) {
	repo, err := store.New[auditLog](ctx, b, store.JSONCodec[auditLog]{}, store.Options{
		Bucket: AuditBucket, Description: "resolution case audit trail (who, when, action; never content)",
	})
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	return &Audit{repo: repo}, nil
}

// Append implements app.Audit.
func (a *Audit) Append(ctx context.Context, caseID string, e app.AuditEntry) error {
	return a.repo.Upsert(ctx, caseID, func(cur *auditLog) (*auditLog, []events.Event, error) {
		if cur == nil {
			cur = &auditLog{}
		}
		cur.Entries = append(cur.Entries, e)
		if n := len(cur.Entries); n > MaxAuditEntries {
			cur.Entries = cur.Entries[n-MaxAuditEntries:]
		}
		return cur, nil, nil
	})
}

// List implements app.Audit.
func (a *Audit) List(ctx context.Context, caseID string) ([]app.AuditEntry, error) {
	l, err := a.repo.Get(ctx, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return l.Entries, nil
}
