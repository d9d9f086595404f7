package directory

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ImportSource names an import format.
type ImportSource string

// The import formats; README.md describes each.
const (
	SourceCSV  ImportSource = "csv"
	SourceJSON ImportSource = "json"
	SourceFHIR ImportSource = "fhir"
)

// ErrUnknownSource is returned for an ImportSource that is not one of the
// Source constants.
var ErrUnknownSource = errors.New("unknown import source")

// ParseImportSource maps "csv", "json" or "fhir" (any case) to its source.
func ParseImportSource(s string) (ImportSource, error) {
	switch src := ImportSource(strings.ToLower(strings.TrimSpace(s))); src {
	case SourceCSV, SourceJSON, SourceFHIR:
		return src, nil
	}
	return "", fmt.Errorf("%w %q: use csv, json or fhir", ErrUnknownSource, s)
}

// Defaults of ParseOptions.
const (
	DefaultMaxRows  = 200_000
	DefaultMaxBytes = 64 << 20
)

// ParseOptions configures a parser and says what the batch is checked
// against. The zero value parses against an empty directory.
type ParseOptions struct {
	// ExistingPerson finds people already in the directory, so a row may
	// name a supervisor who is not in the file and a cycle through existing
	// people is still found. Directory.Get fits. Nil: the directory is empty.
	ExistingPerson func(id string) (Person, bool)
	// ExistingDepartment finds departments already in the directory. When
	// set, or when the batch itself defines departments, every person's
	// department must exist in the batch or here. Leave it nil while the
	// directory has no departments at all, so that department ids stay free
	// text until someone imports the department list.
	ExistingDepartment func(id string) (Department, bool)
	// MaxRows caps the data rows (CSV lines, JSON array elements, FHIR
	// entries). Zero means DefaultMaxRows.
	MaxRows int
	// MaxBytes caps the input size. Zero means DefaultMaxBytes.
	MaxBytes int64
	// FHIR configures the FHIR bundle mapping.
	FHIR FHIROptions
}

// FHIROptions configures how FHIR identifiers become deiops ids.
type FHIROptions struct {
	// PractitionerIdentifierSystem, when set, makes the value of the
	// Practitioner.identifier with this system the person id (e.g. the HR
	// employee number system); a Practitioner without one falls back to its
	// resource id.
	PractitionerIdentifierSystem string
	// OrganizationIdentifierSystem does the same for Organization ids.
	OrganizationIdentifierSystem string
}

func (o ParseOptions) maxRows() int {
	if o.MaxRows > 0 {
		return o.MaxRows
	}
	return DefaultMaxRows
}

func (o ParseOptions) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

// Parse reads data in the given format. It returns everything or an error;
// see ParseCSV, ParseJSON and ParseFHIR.
func Parse(source ImportSource, data io.Reader, opts ParseOptions) ([]Person, []Department, error) {
	switch source {
	case SourceCSV:
		return ParseCSV(data, opts)
	case SourceJSON:
		return ParseJSON(data, opts)
	case SourceFHIR:
		return ParseFHIR(data, opts)
	}
	return nil, nil, fmt.Errorf("parse: %w %q", ErrUnknownSource, source)
}

// RowError is one problem with one row of an import.
//
// Where the row is depends on the format: CSV sets Line (the physical line,
// the header being line 1); JSON sets Section ("people" or "departments")
// and Index (0-based array index); FHIR sets Section "entry", Index and
// ResourceID ("Practitioner/123"). Problems with the file as a whole (a bad
// header, broken syntax, too many rows) leave what does not apply empty.
type RowError struct {
	Line       int
	Section    string
	Index      int
	ResourceID string
	Field      string // column, JSON key or FHIR element; empty for a whole row
	Reason     string
}

func (e RowError) String() string {
	var b strings.Builder
	switch {
	case e.Line > 0:
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
	case e.Section != "":
		b.WriteString(e.Section)
		b.WriteString("[")
		b.WriteString(strconv.Itoa(e.Index))
		b.WriteString("]")
		if e.ResourceID != "" {
			b.WriteString(" ")
			b.WriteString(e.ResourceID)
		}
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// ImportError rejects a whole import and lists every problem found, ordered
// by line (CSV), then section (file-level problems, then people, then
// departments) and index; problems of one row keep field order. Nothing of a
// rejected import is applied.
type ImportError struct {
	Source ImportSource
	Rows   []RowError
}

// errorListed caps how many problems the error string spells out; Rows
// always has all of them.
const errorListed = 10

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s import rejected, %d problem", e.Source, len(e.Rows))
	if len(e.Rows) != 1 {
		b.WriteString("s")
	}
	for i, r := range e.Rows {
		if i == errorListed {
			fmt.Fprintf(&b, "; and %d more", len(e.Rows)-errorListed)
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}

// sortRows orders problems by where they are in the input; problems of the
// same row keep the order they were found in (field order).
func sortRows(rows []RowError) {
	sectionRank := func(s string) int {
		switch s {
		case "":
			return 0
		case "departments":
			return 2
		default:
			return 1
		}
	}
	slices.SortStableFunc(rows, func(a, b RowError) int {
		if c := a.Line - b.Line; c != 0 {
			return c
		}
		if c := sectionRank(a.Section) - sectionRank(b.Section); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
}

// limitedReader fails with a clear error instead of silently truncating the
// input at the byte cap (io.LimitReader would make a cut-off file look like
// a syntax error).
type limitedReader struct {
	r    io.Reader
	left int64
	max  int64
}

var errTooLarge = errors.New("input too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Allow reading exactly max bytes; only more data is an error.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", errTooLarge, l.max)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func limit(r io.Reader, opts ParseOptions) *limitedReader {
	m := opts.maxBytes()
	return &limitedReader{r: r, left: m, max: m}
}
