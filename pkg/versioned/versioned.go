// Package versioned keeps documents that are published in numbered
// versions per scope: a department id, or a hospital-wide default scope
// that applies where a department has published nothing. Guidance and
// escalation policies of the resolution service and the awareness
// service's expectation statements are such documents.
//
// Every version stays readable: a case that started under version 3 of a
// policy can still show version 3 after version 7 is out.
//
// # Layout in the bucket
//
// Each scope has one index record (a store.Repo aggregate) listing its
// versions: {scope, versions: [{version, published_at, published_by,
// doc}]}. Each version's document is a record of its own under a unique
// key, written once before the index names it and never changed:
//
//	<scope key>                      index of the scope (events go through its outbox)
//	=d.<scope key>.<uuid>            one published document
//
// The scope key is the scope id with ':' and stray dots escaped as
// =3A and =2E (the directory's rule), so the CloudEvents subject of an
// event is the scope id itself in the usual case. No scope key starts
// with "=d", so document keys never collide with index keys.
//
// Keeping documents out of the index keeps the index small (about a
// hundred bytes a version) however large documents are, so a scope can
// hold MaxVersions versions without any record approaching the NATS
// payload limit (1 MiB in the shipped configuration).
//
// # Publishing
//
// Publish writes the document record first, then appends to the index
// with compare-and-set (store.Repo.Upsert): concurrent publishes to one
// scope get distinct consecutive versions, and the Published event of a
// version is written in the same index update (outbox), so it is
// published exactly when the version exists. A publish that dies between
// the two writes leaves an unreferenced document record behind; nothing
// reads it.
package versioned

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/store"
)

// Limits.
const (
	// DefaultMaxVersions is how many versions a scope may hold when
	// Options.MaxVersions is zero.
	DefaultMaxVersions = 1000
	// DefaultMaxDocBytes bounds one document's JSON encoding when
	// Options.MaxDocBytes is zero; it keeps every record well below the
	// 1 MiB NATS payload limit.
	DefaultMaxDocBytes = 512 << 10
	// MaxScopeLength bounds scope ids (the directory's id rule).
	MaxScopeLength = 128
	// MaxPublisherLength bounds PublishedBy (an identity provider subject).
	MaxPublisherLength = 256
)

var (
	// ErrNotFound means the scope (and, for Current, the default scope
	// too) has no such version.
	ErrNotFound = fault.New(fault.NotFound, "")
	// ErrFull means the scope holds the maximum number of versions.
	ErrFull = fault.New(fault.Conflict, "the scope holds the maximum number of versions")
	// ErrTooLarge means the document's JSON encoding exceeds MaxDocBytes.
	ErrTooLarge = fault.New(fault.TooLarge, "the document is too large to store")
	// ErrInvalidScope means the scope is not 1 to 128 letters, digits and . _ : -.
	ErrInvalidScope = fault.New(fault.Invalid, "scope must be 1 to 128 letters, digits and . _ : -")
	// ErrInvalidPublisher means PublishedBy is empty or too long.
	ErrInvalidPublisher = errors.New("versioned: publisher must be 1 to 256 bytes")
	// ErrConflict means concurrent publishers to one scope kept winning
	// the compare-and-set; the caller may retry. It is store.ErrConflict.
	ErrConflict = store.ErrConflict
)

// Version is one published version of a document.
type Version[T any] struct {
	Version     int       `json:"version"`
	Doc         T         `json:"doc"`
	PublishedAt time.Time `json:"published_at"`
	PublishedBy string    `json:"published_by"`
}

// Info is the version without its document.
func (v Version[T]) Info() VersionInfo {
	return VersionInfo{Version: v.Version, PublishedAt: v.PublishedAt, PublishedBy: v.PublishedBy}
}

// VersionInfo describes a version without its document (History).
type VersionInfo struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	PublishedBy string    `json:"published_by"`
}

// Options configures a Store.
type Options[T any] struct {
	// Bucket is the KV bucket (provisioned idempotently by New).
	Bucket      string
	Description string
	// Default is the scope Current falls back to when a scope has no
	// version, e.g. "hospital"; empty means no fallback.
	Default string
	// Published builds the event written with each version (through the
	// index record's outbox, so it is published exactly when the version
	// exists). Nil, or a nil result, publishes nothing.
	Published func(scope string, v Version[T]) events.Event
	// Now stamps PublishedAt; default the bus's clock.
	Now func() time.Time
	// MaxVersions per scope; zero means DefaultMaxVersions.
	MaxVersions int
	// MaxDocBytes bounds a document's JSON encoding; zero means
	// DefaultMaxDocBytes.
	MaxDocBytes int
}

// index is the record of one scope.
type index struct {
	Scope    string  `json:"scope"`
	Versions []entry `json:"versions"`
}

type entry struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	PublishedBy string    `json:"published_by"`
	Doc         string    `json:"doc"` // key of the document record
}

// document is the record of one published document. The version number
// is not in it: it is assigned when the index names the record.
type document[T any] struct {
	Scope string `json:"scope"`
	Doc   T      `json:"doc"`
}

// Store keeps the versions of documents of type T, per scope.
type Store[T any] struct {
	heads *store.Repo[index]
	docs  *store.Repo[document[T]]
	kv    jetstream.KeyValue
	opts  Options[T]
}

// New provisions the bucket (idempotently) and returns its store.
func New[T any](ctx context.Context, b *bus.Bus, o Options[T]) (*Store[T], error) {
	if b == nil {
		return nil, errors.New("versioned: nil bus")
	}
	if o.Bucket == "" {
		return nil, errors.New("versioned: bucket is required")
	}
	if o.Default != "" && !ValidScope(o.Default) {
		return nil, fmt.Errorf("versioned %s: default scope: %w", o.Bucket, ErrInvalidScope)
	}
	if o.Now == nil {
		o.Now = b.Now
	}
	if o.MaxVersions <= 0 {
		o.MaxVersions = DefaultMaxVersions
	}
	if o.MaxDocBytes <= 0 {
		o.MaxDocBytes = DefaultMaxDocBytes
	}
	ro := store.Options{Bucket: o.Bucket, Description: o.Description}
	heads, err := store.New[index](ctx, b, store.JSONCodec[index]{}, ro)
	if err != nil {
		return nil, err
	}
	docs, err := store.New[document[T]](ctx, b, store.JSONCodec[document[T]]{}, ro)
	if err != nil {
		return nil, err
	}
	kv, err := b.JetStream().KeyValue(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("versioned %s: %w", o.Bucket, err)
	}
	return &Store[T]{heads: heads, docs: docs, kv: kv, opts: o}, nil
}

// Bucket is the KV bucket name.
func (s *Store[T]) Bucket() string { return s.opts.Bucket }

// Default is the fallback scope ("" when none).
func (s *Store[T]) Default() string { return s.opts.Default }

// StartRelay starts the outbox relay of the index records, which
// publishes Published events a crash or a broker outage left behind.
func (s *Store[T]) StartRelay(ctx context.Context) (*bus.Running, error) {
	return s.heads.StartRelay(ctx)
}

// Publish stores doc as the next version of scope: the previous version
// plus one, or 1. Concurrent publishes to one scope get distinct
// consecutive versions. by names the publisher (a subject id).
func (s *Store[T]) Publish(ctx context.Context, scope string, doc T, by string) (Version[T], error) {
	if !ValidScope(scope) {
		return Version[T]{}, ErrInvalidScope
	}
	if by == "" || len(by) > MaxPublisherLength {
		return Version[T]{}, ErrInvalidPublisher
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return Version[T]{}, fmt.Errorf("versioned %s: encode document: %w", s.opts.Bucket, err)
	}
	if len(data) > s.opts.MaxDocBytes {
		return Version[T]{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), s.opts.MaxDocBytes)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Version[T]{}, fmt.Errorf("versioned: document id: %w", err)
	}
	docKey := "=d." + keyOf(scope) + "." + id.String()
	if err := s.docs.Create(ctx, docKey, &document[T]{Scope: scope, Doc: doc}); err != nil {
		return Version[T]{}, fmt.Errorf("versioned %s: store document: %w", s.opts.Bucket, err)
	}

	var out Version[T]
	var full bool
	err = s.heads.Upsert(ctx, keyOf(scope), func(cur *index) (*index, []events.Event, error) {
		next := index{Scope: scope}
		if cur != nil {
			if cur.Scope != scope {
				return nil, nil, fmt.Errorf("versioned %s: index %s holds scope %q", s.opts.Bucket, keyOf(scope), cur.Scope)
			}
			next = *cur
		}
		if len(next.Versions) >= s.opts.MaxVersions {
			full = true
			return nil, nil, fmt.Errorf("%w (%d); scope %s", ErrFull, s.opts.MaxVersions, scope)
		}
		at := s.opts.Now().UTC()
		n := 1
		if k := len(next.Versions); k > 0 {
			last := next.Versions[k-1]
			n = last.Version + 1
			// Versions never go back in time, even between replicas
			// whose clocks disagree a little.
			if at.Before(last.PublishedAt) {
				at = last.PublishedAt
			}
		}
		next.Versions = append(next.Versions, entry{Version: n, PublishedAt: at, PublishedBy: by, Doc: docKey})
		out = Version[T]{Version: n, Doc: doc, PublishedAt: at, PublishedBy: by}
		var evs []events.Event
		if s.opts.Published != nil {
			if ev := s.opts.Published(scope, out); ev != nil {
				evs = append(evs, ev)
			}
		}
		return &next, evs, nil
	})
	if err != nil {
		if full {
			// Nothing names the document: remove it. After other
			// failures the index may or may not have been written (a
			// timeout after the server applied it), so the document
			// stays; an unreferenced one is harmless.
			s.discard(ctx, docKey)
		}
		return Version[T]{}, err
	}
	return out, nil
}

func (s *Store[T]) discard(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.kv.Purge(ctx, key)
}

// Current returns the latest version of scope and the scope it came
// from: scope itself, or the default scope when scope has no version.
// ErrNotFound when neither has one.
func (s *Store[T]) Current(ctx context.Context, scope string) (v Version[T], fromScope string, err error) {
	if !ValidScope(scope) {
		return Version[T]{}, "", ErrInvalidScope
	}
	v, err = s.latest(ctx, scope)
	if err == nil {
		return v, scope, nil
	}
	if !errors.Is(err, ErrNotFound) || s.opts.Default == "" || scope == s.opts.Default {
		return Version[T]{}, "", err
	}
	v, err = s.latest(ctx, s.opts.Default)
	if err != nil {
		return Version[T]{}, "", err
	}
	return v, s.opts.Default, nil
}

// Get returns one version of scope (no fallback to the default scope);
// ErrNotFound when scope has no such version.
func (s *Store[T]) Get(ctx context.Context, scope string, version int) (Version[T], error) {
	if !ValidScope(scope) {
		return Version[T]{}, ErrInvalidScope
	}
	idx, err := s.index(ctx, scope)
	if err != nil {
		return Version[T]{}, err
	}
	e, ok := idx.find(version)
	if !ok {
		return Version[T]{}, ErrNotFound
	}
	return s.load(ctx, scope, e)
}

// History lists scope's versions, oldest first, without their documents;
// empty when scope has published nothing (no fallback to the default).
func (s *Store[T]) History(ctx context.Context, scope string) ([]VersionInfo, error) {
	if !ValidScope(scope) {
		return nil, ErrInvalidScope
	}
	idx, err := s.index(ctx, scope)
	if errors.Is(err, ErrNotFound) {
		return []VersionInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]VersionInfo, len(idx.Versions))
	for i, e := range idx.Versions {
		out[i] = VersionInfo{Version: e.Version, PublishedAt: e.PublishedAt, PublishedBy: e.PublishedBy}
	}
	return out, nil
}

func (s *Store[T]) latest(ctx context.Context, scope string) (Version[T], error) {
	idx, err := s.index(ctx, scope)
	if err != nil {
		return Version[T]{}, err
	}
	if len(idx.Versions) == 0 {
		return Version[T]{}, ErrNotFound
	}
	return s.load(ctx, scope, idx.Versions[len(idx.Versions)-1])
}

func (s *Store[T]) index(ctx context.Context, scope string) (*index, error) {
	idx, err := s.heads.Get(ctx, keyOf(scope))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if idx.Scope != scope {
		return nil, fmt.Errorf("versioned %s: index %s holds scope %q", s.opts.Bucket, keyOf(scope), idx.Scope)
	}
	return idx, nil
}

func (s *Store[T]) load(ctx context.Context, scope string, e entry) (Version[T], error) {
	d, err := s.docs.Get(ctx, e.Doc)
	if err != nil {
		// A missing document behind an index entry is damage, not an
		// absent version: never report it as ErrNotFound.
		return Version[T]{}, fmt.Errorf("versioned %s: document of %s version %d: %v", s.opts.Bucket, scope, e.Version, err)
	}
	if d.Scope != scope {
		return Version[T]{}, fmt.Errorf("versioned %s: document of %s version %d holds scope %q", s.opts.Bucket, scope, e.Version, d.Scope)
	}
	return Version[T]{Version: e.Version, Doc: d.Doc, PublishedAt: e.PublishedAt, PublishedBy: e.PublishedBy}, nil
}

// find returns the entry of version n. Versions are consecutive from 1,
// so it is at n-1; the scan covers a damaged index.
func (idx *index) find(n int) (entry, bool) {
	if n >= 1 && n <= len(idx.Versions) && idx.Versions[n-1].Version == n {
		return idx.Versions[n-1], true
	}
	for _, e := range idx.Versions {
		if e.Version == n {
			return e, true
		}
	}
	return entry{}, false
}

// ValidScope reports whether s is a usable scope: 1 to 128 letters,
// digits and . _ : - (the directory's id rule).
func ValidScope(s string) bool {
	if s == "" || len(s) > MaxScopeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// keyOf maps a valid scope to a KV key: ':' and dots that would not be a
// lone separator between two tokens become =3A and =2E. The mapping is
// injective because scopes never contain '='.
func keyOf(scope string) string {
	if !strings.ContainsRune(scope, ':') && !strings.HasPrefix(scope, ".") && !strings.HasSuffix(scope, ".") && !strings.Contains(scope, "..") {
		return scope
	}
	var b strings.Builder
	for i := 0; i < len(scope); i++ {
		c := scope[i]
		lone := c == '.' && i > 0 && i < len(scope)-1 && scope[i-1] != '.' && scope[i+1] != '.'
		switch {
		case c == ':':
			b.WriteString("=3A")
		case c == '.' && !lone:
			b.WriteString("=2E")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
