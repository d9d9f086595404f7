package directory

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSVColumns lists the columns ParseCSV knows, in their usual order. The
// header may order them freely; id, display_name, department and role are
// required.
const CSVColumns = "id, display_name, email, department, role, training_level, cohort, site, supervisor_id, active"

type csvColumn int

const (
	colID csvColumn = iota
	colDisplayName
	colEmail
	colDepartment
	colRole
	colTrainingLevel
	colCohort
	colSite
	colSupervisorID
	colActive
	numColumns
)

func csvColumnNamed(name string) (csvColumn, bool) {
	switch name {
	case FieldID:
		return colID, true
	case FieldDisplayName:
		return colDisplayName, true
	case FieldEmail:
		return colEmail, true
	case FieldDepartment:
		return colDepartment, true
	case FieldRole:
		return colRole, true
	case FieldTrainingLevel:
		return colTrainingLevel, true
	case FieldCohort:
		return colCohort, true
	case FieldSite:
		return colSite, true
	case FieldSupervisorID:
		return colSupervisorID, true
	case FieldActive:
		return colActive, true
	}
	return 0, false
}

func csvRequired(c csvColumn) (string, bool) {
	switch c {
	case colID:
		return FieldID, true
	case colDisplayName:
		return FieldDisplayName, true
	case colDepartment:
		return FieldDepartment, true
	case colRole:
		return FieldRole, true
	}
	return "", false
}

// ParseCSV reads people from CSV with a header row (see CSVColumns).
// Header names ignore case and surrounding spaces; unknown, empty or
// repeated column names reject the file. Values are trimmed. active accepts
// true/false, yes/no, y/n, 1/0 and active/inactive; empty means active.
// A UTF-8 byte order mark and CRLF line ends are accepted.
//
// Problems carry the physical line number, the header being line 1 (a
// quoted value spanning lines counts every line). CSV holds no departments,
// so the second result is always empty.
func ParseCSV(r io.Reader, opts ParseOptions) ([]Person, []Department, error) {
	b := &batch{source: SourceCSV}
	lr := limit(r, opts)
	br := bufio.NewReader(lr)
	// Spreadsheet exports start with a BOM; left in, it would become part of
	// the first column name.
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		if _, err := br.Discard(3); err != nil {
			return nil, nil, fmt.Errorf("parse csv: skip byte order mark: %w", err)
		}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // a short row is a row problem, not the end of parsing
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		b.fail(lineLoc(1), "", "empty file: a header row is required ("+CSVColumns+")")
		return nil, nil, b.reject()
	}
	if err != nil {
		return nil, nil, b.readFailure(err, opts)
	}
	cols := make([]csvColumn, len(header))
	var seen [numColumns]bool
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		c, ok := csvColumnNamed(name)
		switch {
		case name == "":
			b.fail(lineLoc(1), "", fmt.Sprintf("column %d has no name", i+1))
		case !ok:
			b.fail(lineLoc(1), name, "unknown column; known columns: "+CSVColumns)
		case seen[c]:
			b.fail(lineLoc(1), name, "repeated column")
		default:
			seen[c] = true
			cols[i] = c
		}
	}
	for c := csvColumn(0); c < numColumns; c++ {
		if name, req := csvRequired(c); req && !seen[c] {
			b.fail(lineLoc(1), name, "required column missing")
		}
	}
	if len(b.problems) > 0 {
		return nil, nil, b.reject()
	}

	maxRows := opts.maxRows()
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, b.readFailure(err, opts)
		}
		line, _ := cr.FieldPos(0)
		rows++
		if rows > maxRows {
			b.fail(lineLoc(line), "", fmt.Sprintf("more than %d data rows; split the file", maxRows))
			return nil, nil, b.reject()
		}
		if len(rec) != len(cols) {
			b.fail(lineLoc(line), "", fmt.Sprintf("has %d fields, the header has %d", len(rec), len(cols)))
			continue
		}
		p := Person{Active: true}
		for i, raw := range rec {
			v := strings.TrimSpace(raw)
			switch cols[i] {
			case colID:
				p.ID = v
			case colDisplayName:
				p.DisplayName = v
			case colEmail:
				p.Email = v
			case colDepartment:
				p.Department = v
			case colRole:
				p.Role = v
			case colTrainingLevel:
				p.TrainingLevel = v
			case colCohort:
				p.Cohort = v
			case colSite:
				p.Site = v
			case colSupervisorID:
				p.SupervisorID = v
			case colActive:
				active, ok := parseActive(v)
				if !ok {
					b.fail(lineLoc(line), FieldActive, fmt.Sprintf("%q is not true or false", clip(v)))
				}
				p.Active = active
			}
		}
		b.addPerson(p, lineLoc(line))
	}
	return b.finish(opts)
}

// readFailure turns a read error into the parse result: syntax errors and
// the size cap reject the import (with the problems found so far); anything
// else is an I/O failure of the reader itself.
func (b *batch) readFailure(err error, opts ParseOptions) error {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, errTooLarge):
		b.fail(lineLoc(0), "", fmt.Sprintf("input larger than %d bytes; split the file", opts.maxBytes()))
		return b.reject()
	case errors.As(err, &pe):
		// After a syntax error encoding/csv cannot tell where the next row
		// starts, so parsing stops here.
		b.fail(lineLoc(pe.Line), "", fmt.Sprintf("CSV syntax error at column %d: %v", pe.Column, pe.Err))
		return b.reject()
	}
	return fmt.Errorf("parse csv: %w", err)
}

func parseActive(v string) (active, ok bool) {
	switch strings.ToLower(v) {
	case "", "true", "yes", "y", "1", "active":
		return true, true
	case "false", "no", "n", "0", "inactive":
		return false, true
	}
	return true, false
}
