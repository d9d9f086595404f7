package app

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/store"
)

// Ingest sources.
const (
	SourceAPI     = "api"
	SourceCSV     = "csv"
	SourceXAPI    = "xapi"
	SourceWebhook = "webhook"
)

// Ingest outcomes.
const (
	IngestApplied    = "applied"    // completed at least one assigned training
	IngestUnassigned = "unassigned" // valid, but the person holds no open assignment of the module
	IngestUnmatched  = "unmatched"  // xAPI: unknown activity or actor; kept with the reason and reported
	IngestIgnored    = "ignored"    // xAPI: a verb other than completed or passed
)

// Ingested is one completion received, kept by its idempotency key. It
// holds ids only: an xAPI actor's mailbox is kept as a keyed hash.
type Ingested struct {
	Key         string    `json:"key"`
	Source      string    `json:"source"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	PersonID    string    `json:"person_id,omitempty"`
	ModuleID    string    `json:"module_id,omitempty"`
	ActivityID  string    `json:"activity_id,omitempty"`
	ActorHash   string    `json:"actor_hash,omitempty"`
	CompletedAt time.Time `json:"completed_at"`
	ReceivedAt  time.Time `json:"received_at"`
	Applied     int       `json:"applied"`
}

type completion struct {
	at              time.Time
	by, source, ref string
}

// CompletionInput is one completion from the API, a CSV row or a webhook.
type CompletionInput struct {
	PersonID    string
	ModuleID    string
	CompletedAt time.Time
	// ExternalID identifies the completion at its source (idempotency);
	// empty: person, module and completion time identify it.
	ExternalID string
}

// canIngest: managers, coordinators and integrators send completions.
func canIngest(a caller.Actor) bool {
	return manages(a) || a.Has(caller.Coordinator) || a.Has(caller.Integrator)
}

func (s *Service) validateCompletion(ctx context.Context, d *directory.Directory, in CompletionInput, prefix string) []fault.Field {
	var errs []fault.Field
	add := func(f, r string) { errs = append(errs, fault.Field{Field: prefix + f, Reason: r}) }
	if _, ok := d.Get(in.PersonID); !ok {
		add("person_id", "no person with this id in the directory")
	}
	if !directory.ValidID(in.ModuleID) {
		add("module_id", "must be a module id")
	} else if _, err := s.o.Modules.Get(ctx, Key(in.ModuleID)); err != nil {
		add("module_id", "no module with this id in the catalog")
	}
	switch {
	case in.CompletedAt.IsZero():
		add("completed_at", "is required (RFC 3339)")
	case in.CompletedAt.After(s.now().Add(5 * time.Minute)):
		add("completed_at", "must not be in the future")
	}
	if len(in.ExternalID) > 200 {
		add("external_id", "must be at most 200 characters")
	}
	return errs
}

func ingestKey(source string, in CompletionInput) string {
	if in.ExternalID != "" {
		return notify.DeriveID(source, in.ExternalID)
	}
	return notify.DeriveID(source, in.PersonID, in.ModuleID, in.CompletedAt.UTC().Format(time.RFC3339))
}

// record applies a validated completion once per idempotency key and
// returns its record (the earlier one for a duplicate).
func (s *Service) record(ctx context.Context, a caller.Actor, source string, in CompletionInput) (*Ingested, bool, error) {
	key := ingestKey(source, in)
	if prev, err := s.o.Ingest.Get(ctx, key); err == nil {
		return prev, true, nil
	} else if !isNotFound(err) {
		return nil, false, err
	}
	n, err := s.complete(ctx, in.PersonID, in.ModuleID, completion{at: in.CompletedAt.UTC(), by: a.ID, source: source, ref: in.ExternalID})
	if err != nil {
		return nil, false, err
	}
	rec := &Ingested{Key: key, Source: source, Status: IngestApplied, PersonID: in.PersonID, ModuleID: in.ModuleID,
		CompletedAt: in.CompletedAt.UTC(), ReceivedAt: s.now(), Applied: n}
	if n == 0 {
		rec.Status, rec.Reason = IngestUnassigned, "the person holds no open assignment of this module (or already completed it)"
	}
	err = s.o.Ingest.Create(ctx, key, rec)
	if errors.Is(err, store.ErrExists) {
		prev, err := s.o.Ingest.Get(ctx, key)
		return prev, true, err
	}
	return rec, false, err
}

// RecordCompletion ingests one completion from the API.
func (s *Service) RecordCompletion(ctx context.Context, a caller.Actor, in CompletionInput) (*Ingested, bool, error) {
	if !canIngest(a) {
		return nil, false, ErrForbidden
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, false, err
	}
	if errs := s.validateCompletion(ctx, d, in, ""); len(errs) > 0 {
		return nil, false, fault.InvalidFields("invalid completion", errs...)
	}
	return s.record(ctx, a, SourceAPI, in)
}

// LineError is one bad line of an import.
type LineError struct {
	Line   int
	Field  string
	Reason string
}

// ImportError lists every bad line of a file; nothing was applied.
type ImportError struct{ Lines []LineError }

func (e *ImportError) Error() string {
	return fmt.Sprintf("%d bad lines; nothing applied", len(e.Lines))
}

// Fault implements fault.Classifier: each bad line is a field "line N: f".
func (e *ImportError) Fault() *fault.Error {
	fs := make([]fault.Field, 0, len(e.Lines))
	for _, l := range e.Lines {
		f := fmt.Sprintf("line %d", l.Line)
		if l.Field != "" {
			f += ": " + l.Field
		}
		fs = append(fs, fault.Field{Field: f, Reason: l.Reason})
	}
	return fault.InvalidFields(fmt.Sprintf("%d bad lines; nothing was applied", len(e.Lines)), fs...)
}

// ImportResult counts an import's rows.
type ImportResult struct {
	Rows, Applied, Duplicates, Unassigned int
}

// MaxImportRows bounds one CSV file.
const MaxImportRows = 100000

// ImportCSV ingests a CSV file with the header person_id, module_id,
// completed_at (RFC 3339 or YYYY-MM-DD) and optionally external_id. Every
// row is checked first: one bad row and nothing is applied, every bad
// line listed.
func (s *Service) ImportCSV(ctx context.Context, a caller.Actor, r io.Reader) (ImportResult, error) {
	return s.importRows(ctx, a, r, SourceCSV)
}

func (s *Service) importRows(ctx context.Context, a caller.Actor, r io.Reader, source string) (ImportResult, error) {
	if !canIngest(a) {
		return ImportResult{}, ErrForbidden
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return ImportResult{}, &ImportError{Lines: []LineError{{Line: 1, Field: "header", Reason: "a header person_id,module_id,completed_at[,external_id] is required"}}}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var bad []LineError
	for _, need := range []string{"person_id", "module_id", "completed_at"} {
		if _, ok := col[need]; !ok {
			bad = append(bad, LineError{Line: 1, Field: need, Reason: "missing column"})
		}
	}
	if len(bad) > 0 {
		return ImportResult{}, &ImportError{Lines: bad}
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	get := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var rows []CompletionInput
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			bad = append(bad, LineError{Line: line, Field: "", Reason: "not valid CSV: " + err.Error()})
			if pe == nil || errors.Is(pe.Err, csv.ErrQuote) {
				break
			}
			continue
		}
		if len(rows) >= MaxImportRows {
			bad = append(bad, LineError{Line: line, Reason: fmt.Sprintf("a file holds at most %d rows", MaxImportRows)})
			break
		}
		in := CompletionInput{PersonID: get(rec, "person_id"), ModuleID: get(rec, "module_id"), ExternalID: get(rec, "external_id")}
		at, perr := parseTime(get(rec, "completed_at"))
		if perr != nil {
			bad = append(bad, LineError{Line: line, Field: "completed_at", Reason: "must be RFC 3339 or YYYY-MM-DD"})
		} else {
			in.CompletedAt = at
		}
		for _, fe := range s.validateCompletion(ctx, d, in, "") {
			if perr != nil && fe.Field == "completed_at" {
				continue
			}
			bad = append(bad, LineError{Line: line, Field: fe.Field, Reason: fe.Reason})
		}
		k := ingestKey(source, in)
		if first, dup := seen[k]; dup {
			bad = append(bad, LineError{Line: line, Field: "", Reason: fmt.Sprintf("repeats line %d", first)})
		}
		seen[k] = line
		rows = append(rows, in)
	}
	if len(bad) > 0 {
		return ImportResult{}, &ImportError{Lines: bad}
	}
	res := ImportResult{Rows: len(rows)}
	for _, in := range rows {
		rec, dup, err := s.record(ctx, a, source, in)
		if err != nil {
			return res, err // the rows applied so far are idempotent: resend the file
		}
		switch {
		case dup:
			res.Duplicates++
		case rec.Status == IngestApplied:
			res.Applied++
		default:
			res.Unassigned++
		}
	}
	return res, nil
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, v)
}

// XAPIStatement is the part of an xAPI statement the service reads.
type XAPIStatement struct {
	ID           string
	Verb         string // verb IRI
	ActorMbox    string // mailto:…, restricted: hashed, never stored
	ActorAccount string // account name = directory person id
	ActivityID   string
	Timestamp    time.Time
}

// XAPIResult is the outcome of one statement.
type XAPIResult struct {
	ID, Status, Reason string
	Duplicate          bool
}

var completionVerbs = map[string]bool{
	"http://adlnet.gov/expapi/verbs/completed": true,
	"http://adlnet.gov/expapi/verbs/passed":    true,
}

// Hasher hashes restricted values for storage.
type Hasher interface {
	Hash(kind, value string) string
}

// IngestXAPI ingests statements from an LMS: completed and passed
// statements complete the module mapped to their activity id; an unknown
// activity or actor is kept as unmatched with the reason; other verbs are
// kept as ignored. Idempotent by statement id.
func (s *Service) IngestXAPI(ctx context.Context, a caller.Actor, h Hasher, sts []XAPIStatement) ([]XAPIResult, error) {
	if !canIngest(a) {
		return nil, ErrForbidden
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var byEmail map[string]string
	out := make([]XAPIResult, 0, len(sts))
	for _, st := range sts {
		key := "xapi-" + Key(strings.ToLower(st.ID))
		if prev, err := s.o.Ingest.Get(ctx, key); err == nil {
			out = append(out, XAPIResult{ID: st.ID, Status: prev.Status, Reason: prev.Reason, Duplicate: true})
			continue
		}
		rec := &Ingested{Key: key, Source: SourceXAPI, ActivityID: st.ActivityID, CompletedAt: st.Timestamp.UTC(), ReceivedAt: s.now()}
		if st.ActorMbox != "" && h != nil {
			rec.ActorHash = h.Hash("xapi-mbox", strings.ToLower(st.ActorMbox))
		}
		person := st.ActorAccount
		if person == "" && st.ActorMbox != "" {
			if byEmail == nil {
				byEmail = map[string]string{}
				for _, p := range d.People() {
					if p.Email != "" && p.Active {
						byEmail[strings.ToLower(p.Email)] = p.ID
					}
				}
			}
			person = byEmail[strings.ToLower(strings.TrimPrefix(st.ActorMbox, "mailto:"))]
		}
		m, err := s.moduleByActivity(ctx, st.ActivityID)
		if err != nil {
			return out, err
		}
		switch {
		case !completionVerbs[st.Verb]:
			rec.Status, rec.Reason = IngestIgnored, "verb is neither completed nor passed"
		case m == nil:
			rec.Status, rec.Reason = IngestUnmatched, "unknown activity: no module has this LMS activity id"
		case person == "":
			rec.Status, rec.Reason = IngestUnmatched, "unknown actor: no active person with this mailbox or account"
		default:
			if _, ok := d.Get(person); !ok {
				rec.Status, rec.Reason = IngestUnmatched, "unknown actor: no active person with this mailbox or account"
				break
			}
			rec.PersonID, rec.ModuleID = person, m.ID()
			n, err := s.complete(ctx, person, m.ID(), completion{at: st.Timestamp.UTC(), by: a.ID, source: SourceXAPI, ref: st.ID})
			if err != nil {
				return out, err
			}
			rec.Applied, rec.Status = n, IngestApplied
			if n == 0 {
				rec.Status, rec.Reason = IngestUnassigned, "the person holds no open assignment of this module (or already completed it)"
			}
		}
		if err := s.o.Ingest.Create(ctx, key, rec); err != nil && !errors.Is(err, store.ErrExists) {
			return out, err
		}
		out = append(out, XAPIResult{ID: st.ID, Status: rec.Status, Reason: rec.Reason})
	}
	return out, nil
}

// Unmatched lists the xAPI statements kept as unmatched (managers).
func (s *Service) Unmatched(ctx context.Context, a caller.Actor) ([]*Ingested, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out []*Ingested
	err := s.o.Ingest.Scan(ctx, ">", func(_ string, r *Ingested) error {
		if r.Status == IngestUnmatched {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ImportWebhook is ImportCSV for the generic webhook (source webhook).
func (s *Service) ImportWebhook(ctx context.Context, a caller.Actor, r io.Reader) (ImportResult, error) {
	return s.importRows(ctx, a, r, SourceWebhook)
}
