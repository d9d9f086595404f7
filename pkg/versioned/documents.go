package versioned

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
)

// BuiltinSource is the source of a built-in document: nothing was
// published for the scope nor for the default scope.
const BuiltinSource = "builtin"

// DocumentsOptions describes one kind of versioned document kept per
// scope (a department) with a fallback: the scope's own latest version,
// else the default scope's, else a built-in document.
type DocumentsOptions[T any] struct {
	Bucket, Description string
	// Default is the hospital-wide scope, e.g. "hospital".
	Default string
	// Builtin is the document when nothing was published; nil means
	// Current answers ErrNotFound then.
	Builtin func() T
	// MaxScopeLength bounds scope ids; Reserved scopes cannot be used.
	MaxScopeLength int
	Reserved       []string
	// Prepare sets what the server decides in a document before it is
	// validated and stored (ids, the scope); nil keeps it as sent.
	Prepare func(scope string, doc T) T
	// Stamp sets a stored version's identity from where it is stored, on
	// every read (scope is the scope it came from); nil reads it as kept.
	Stamp func(scope string, v Version[T]) Version[T]
	// Validate lists every problem of a document for scope.
	Validate func(scope string, doc T) []fault.Field
	// Published builds the event written with each version.
	Published func(scope string, v Version[T]) events.Event
	// Now stamps versions; default the bus's clock.
	Now         func() time.Time
	MaxDocBytes int
}

// Documents is a versioned document per scope with its fallback, and
// the outbox relay of its Published events. NewDocuments needs no
// infrastructure (routes and documents can be built from it); Start
// provisions the bucket.
type Documents[T any] struct {
	bus  *bus.Bus
	opts DocumentsOptions[T]

	mu    sync.RWMutex
	store *Store[T]
	relay *bus.Running
}

// NewDocuments returns the documents over b (nil when only routes are
// built).
func NewDocuments[T any](b *bus.Bus, o DocumentsOptions[T]) *Documents[T] {
	if o.MaxScopeLength <= 0 {
		o.MaxScopeLength = MaxScopeLength
	}
	return &Documents[T]{bus: b, opts: o}
}

// Start provisions the bucket and starts the outbox relay; idempotent.
func (d *Documents[T]) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.store != nil {
		return nil
	}
	if d.bus == nil {
		return errors.New("versioned documents: no bus")
	}
	st, err := New(ctx, d.bus, Options[T]{Bucket: d.opts.Bucket, Description: d.opts.Description, Default: d.opts.Default,
		Now: d.opts.Now, Published: d.opts.Published, MaxDocBytes: d.opts.MaxDocBytes})
	if err != nil {
		return fmt.Errorf("%s store: %w", d.opts.Bucket, err)
	}
	relay, err := st.StartRelay(ctx)
	if err != nil {
		return fmt.Errorf("%s outbox relay: %w", d.opts.Bucket, err)
	}
	d.store, d.relay = st, relay
	return nil
}

// Stop stops the outbox relay.
func (d *Documents[T]) Stop(ctx context.Context) error {
	d.mu.Lock()
	relay := d.relay
	d.relay = nil
	d.mu.Unlock()
	if relay == nil {
		return nil
	}
	return relay.Stop(ctx)
}

func (d *Documents[T]) versions() (*Store[T], error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.store == nil {
		return nil, fault.Retry("the service is starting; retry shortly", 0, nil)
	}
	return d.store, nil
}

// MaxScopeLength is the longest scope id.
func (d *Documents[T]) MaxScopeLength() int { return d.opts.MaxScopeLength }

// Reserved lists the scope ids that name no scope.
func (d *Documents[T]) Reserved() []string { return slices.Clone(d.opts.Reserved) }

// ValidScope reports whether id can name a scope: short enough, of the
// scope characters, and not reserved.
func (d *Documents[T]) ValidScope(id string) bool {
	return len(id) <= d.opts.MaxScopeLength && ValidScope(id) && !slices.Contains(d.opts.Reserved, id)
}

// Current is the document in force for a scope.
type Current[T any] struct {
	Scope string
	// Source is whose document it is: Scope itself, the default scope,
	// or BuiltinSource (Version.Version is then 0).
	Source  string
	Version Version[T]
}

// Current returns the scope's latest document, else the default scope's,
// else the built-in one as version 0.
func (d *Documents[T]) Current(ctx context.Context, scope string) (Current[T], error) {
	if !d.ValidScope(scope) {
		return Current[T]{}, ErrInvalidScope
	}
	st, err := d.versions()
	if err != nil {
		return Current[T]{}, err
	}
	v, from, err := st.Current(ctx, scope)
	switch {
	case errors.Is(err, ErrNotFound) && d.opts.Builtin != nil:
		return Current[T]{Scope: scope, Source: BuiltinSource, Version: Version[T]{Doc: d.opts.Builtin()}}, nil
	case err != nil:
		return Current[T]{}, err
	}
	return Current[T]{Scope: scope, Source: from, Version: d.stamp(from, v)}, nil
}

// Check prepares and validates doc as Publish would and returns it as it
// would be stored, without storing it: what an editor previews.
func (d *Documents[T]) Check(scope string, doc T) (T, error) {
	if !d.ValidScope(scope) {
		return doc, ErrInvalidScope
	}
	if d.opts.Prepare != nil {
		doc = d.opts.Prepare(scope, doc)
	}
	if d.opts.Validate != nil {
		if errs := d.opts.Validate(scope, doc); len(errs) > 0 {
			return doc, fault.InvalidFields("the document has invalid fields", errs...)
		}
	}
	return doc, nil
}

// Stamped returns v as the scope's reads show it (a kind may stamp its
// documents with their scope and version).
func (d *Documents[T]) Stamped(scope string, v Version[T]) Version[T] { return d.stamp(scope, v) }

func (d *Documents[T]) stamp(scope string, v Version[T]) Version[T] {
	if d.opts.Stamp == nil {
		return v
	}
	return d.opts.Stamp(scope, v)
}

// Publish prepares and validates doc and stores it as the scope's next
// version; every problem is one Invalid error.
func (d *Documents[T]) Publish(ctx context.Context, scope string, doc T, by string) (Version[T], error) {
	doc, err := d.Check(scope, doc)
	if err != nil {
		return Version[T]{}, err
	}
	st, err := d.versions()
	if err != nil {
		return Version[T]{}, err
	}
	v, err := st.Publish(ctx, scope, doc, by)
	if err != nil {
		return Version[T]{}, err
	}
	return d.stamp(scope, v), nil
}

// Version returns one version of the scope's own document.
func (d *Documents[T]) Version(ctx context.Context, scope string, n int) (Version[T], error) {
	if !d.ValidScope(scope) {
		return Version[T]{}, ErrInvalidScope
	}
	st, err := d.versions()
	if err != nil {
		return Version[T]{}, err
	}
	v, err := st.Get(ctx, scope, n)
	if err != nil {
		return Version[T]{}, err
	}
	return d.stamp(scope, v), nil
}

// History lists the scope's own versions, oldest first.
func (d *Documents[T]) History(ctx context.Context, scope string) ([]VersionInfo, error) {
	if !d.ValidScope(scope) {
		return nil, ErrInvalidScope
	}
	st, err := d.versions()
	if err != nil {
		return nil, err
	}
	return st.History(ctx, scope)
}
