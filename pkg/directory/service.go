package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// ErrNotFound is returned for an id the directory does not know.
var ErrNotFound = errors.New("not found")

// ErrConflict means the directory changed between reading the snapshot and
// applying a batch. Nothing wrong with the input: importing again is safe,
// because rows already applied then count as unchanged.
var ErrConflict = errors.New("directory changed concurrently")

// Store keeps the directory. The service reads whole snapshots (the
// directory is small enough: 50,000 people is a few megabytes) and writes
// batches of changes.
type Store interface {
	// Snapshot returns the current directory. It may come from a cache kept
	// current by a watch, but it must include every batch this Store has
	// acknowledged (read your writes). The result is never modified later.
	// An error means the directory could not be read; the caller may retry.
	Snapshot(ctx context.Context) (*Directory, error)

	// Apply writes batch: departments first, then people, in order. Each
	// change is atomic with its event: the value and the event are stored
	// together (outbox) and the event is published at least once, with its
	// CloudEvent id stable across retries. A change applies only if the
	// stored value still equals Before (nil: the id must not exist yet);
	// otherwise Apply stops and returns an error wrapping ErrConflict.
	// Batch.Completed, when set, is published after every change of the
	// batch and only if all of them applied.
	//
	// A batch is not one transaction: when Apply fails (conflict, a
	// cancelled context, storage errors) the changes before the failure
	// stay applied, with their events. A context cancelled before Apply
	// starts applies nothing.
	Apply(ctx context.Context, batch Batch) error
}

// Batch is what one import changes. Only changed entities are in it.
type Batch struct {
	ImportID    string
	Departments []DepartmentChange
	People      []PersonChange
	// Completed is published last; nil for a batch that is not an import.
	Completed *ImportCompleted
}

// PersonChange is one person to write.
type PersonChange struct {
	// Before is the person as the import saw it; nil for a new person.
	Before *Person
	After  Person
	// Event is published with the change. Nil when nothing an event carries
	// changed (only the name or e-mail): a bare "updated" would still tell
	// integrators that someone's name changed, which is not theirs to know.
	Event *PersonUpdated
}

// DepartmentChange is one department to write.
type DepartmentChange struct {
	Before *Department
	After  Department
	Event  DepartmentUpdated
}

// ImportResult reports what an import did. Nothing is applied when Import
// returns an error.
type ImportResult struct {
	ImportID string
	Source   ImportSource
	Applied  bool // false when the file matched the directory exactly
	Counts   ImportCounts
}

// ImportCounts says how the rows of an import compare with the directory.
type ImportCounts struct {
	Rows                 int // people plus departments read
	PeopleCreated        int
	PeopleUpdated        int // changed, not counting deactivations
	PeopleDeactivated    int // active became false
	PeopleUnchanged      int
	DepartmentsCreated   int
	DepartmentsUpdated   int
	DepartmentsUnchanged int
}

// ServiceOptions configures a Service. The zero value works.
type ServiceOptions struct {
	Parse  ParseOptions     // limits and FHIR mapping; the Existing* lookups are set by Import
	Now    func() time.Time // clock for UpdatedAt; time.Now when nil
	NewID  func() string    // import ids; UUIDv7 when nil
	Logger *slog.Logger     // nil: discard
}

// Service imports into the directory and answers lookups.
type Service struct {
	store Store
	opts  ServiceOptions
	log   *slog.Logger
}

// NewService returns a Service over store.
func NewService(store Store, opts ServiceOptions) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, opts: opts, log: log}
}

// Directory returns the current snapshot for queries.
func (s *Service) Directory(ctx context.Context) (*Directory, error) {
	d, err := s.store.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory snapshot: %w", err)
	}
	return d, nil
}

// Person returns one person; the error wraps ErrNotFound for an unknown id.
func (s *Service) Person(ctx context.Context, id string) (Person, error) {
	d, err := s.Directory(ctx)
	if err != nil {
		return Person{}, fmt.Errorf("person %s: %w", id, err)
	}
	p, ok := d.Get(id)
	if !ok {
		return Person{}, fmt.Errorf("person %s: %w", id, ErrNotFound)
	}
	return p, nil
}

// Import parses data, validates it against the current directory and
// applies what changed. A bad file returns an error wrapping *ImportError
// and applies nothing. An unknown source wraps ErrUnknownSource; a
// concurrent change wraps ErrConflict (import again). Importing data the
// directory already holds applies and publishes nothing.
func (s *Service) Import(ctx context.Context, source ImportSource, data io.Reader) (ImportResult, error) {
	if _, err := ParseImportSource(string(source)); err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	snap, err := s.store.Snapshot(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: read directory: %w", source, err)
	}
	opts := s.opts.Parse
	opts.ExistingPerson = snap.Get
	opts.ExistingDepartment = nil
	if len(snap.depts) > 0 {
		opts.ExistingDepartment = snap.Department
	}
	people, depts, err := Parse(source, data, opts)
	if err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			// The problems go back to the uploader; the log gets the count only.
			s.log.InfoContext(ctx, "directory import rejected",
				slog.String("source", string(source)), slog.Int("problems", len(ie.Rows)))
		}
		return ImportResult{}, fmt.Errorf("import %s: %w", source, err)
	}

	importID := s.opts.NewID()
	batch, counts := Plan(snap, people, depts, s.opts.Now().UTC())
	result := ImportResult{ImportID: importID, Source: source, Counts: counts}
	if len(batch.People) == 0 && len(batch.Departments) == 0 {
		s.log.InfoContext(ctx, "directory import changed nothing",
			slog.String("import_id", importID), slog.String("source", string(source)), slog.Int("rows", counts.Rows))
		return result, nil
	}
	batch.ImportID = importID
	batch.Completed = &ImportCompleted{
		ImportID: importID, Source: string(source), Rows: counts.Rows,
		PeopleCreated: counts.PeopleCreated, PeopleUpdated: counts.PeopleUpdated,
		PeopleDeactivated: counts.PeopleDeactivated, PeopleUnchanged: counts.PeopleUnchanged,
		DepartmentsCreated: counts.DepartmentsCreated, DepartmentsUpdated: counts.DepartmentsUpdated,
		DepartmentsUnchanged: counts.DepartmentsUnchanged,
	}
	if err := s.store.Apply(ctx, batch); err != nil {
		s.log.WarnContext(ctx, "directory import failed to apply",
			slog.String("import_id", importID), slog.String("error", err.Error()))
		return ImportResult{}, fmt.Errorf("import %s %s: apply: %w", source, importID, err)
	}
	result.Applied = true
	c := &counts
	s.log.InfoContext(ctx, "directory import applied",
		slog.String("import_id", importID), slog.String("source", string(source)),
		slog.Int("people_created", c.PeopleCreated), slog.Int("people_updated", c.PeopleUpdated),
		slog.Int("people_deactivated", c.PeopleDeactivated), slog.Int("people_unchanged", c.PeopleUnchanged),
		slog.Int("departments_created", c.DepartmentsCreated), slog.Int("departments_updated", c.DepartmentsUpdated))
	return result, nil
}

// Plan compares validated rows with the snapshot and returns the changes to
// apply, stamped with at, and the counts. Identical rows are left out, so
// re-importing the same file changes nothing and publishes nothing. The
// caller sets ImportID and Completed. A preview ("what would this file
// change?") is Parse followed by Plan.
func Plan(snap *Directory, people []Person, depts []Department, at time.Time) (Batch, ImportCounts) {
	var b Batch
	var n ImportCounts
	n.Rows = len(people) + len(depts)
	for _, d := range depts {
		old, exists := snap.Department(d.ID)
		if exists && old.SameContent(d) {
			n.DepartmentsUnchanged++
			continue
		}
		d.UpdatedAt = at
		change := DepartmentChange{After: d, Event: departmentEvent(d, ChangeCreated)}
		if exists {
			change.Before = &old
			change.Event.Change = ChangeUpdated
			n.DepartmentsUpdated++
		} else {
			n.DepartmentsCreated++
		}
		b.Departments = append(b.Departments, change)
	}
	for _, p := range people {
		old, exists := snap.Get(p.ID)
		if exists && old.SameContent(p) {
			n.PeopleUnchanged++
			continue
		}
		p.UpdatedAt = at
		change := PersonChange{After: p}
		kind := ChangeCreated
		switch {
		case !exists:
			n.PeopleCreated++
		case old.Active && !p.Active:
			kind = ChangeDeactivated
			n.PeopleDeactivated++
		default:
			kind = ChangeUpdated
			n.PeopleUpdated++
		}
		if exists {
			change.Before = &old
		}
		ev := personEvent(p, kind)
		if !exists || ev != personEvent(old, kind) {
			change.Event = &ev
		}
		b.People = append(b.People, change)
	}
	return b, n
}
