package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// JSON import sections.
const (
	sectionPeople      = "people"
	sectionDepartments = "departments"
)

// ParseJSON reads {"people": [...], "departments": [...]} (both optional).
// People have the keys of the CSV columns (see CSVColumns) with active as a
// JSON boolean (absent or null: active); departments have id, name,
// parent_id and lead_id. Unknown keys, at any level, reject the import and
// are named with their array index. String values are trimmed; null is the
// same as absent.
//
// The arrays are read one element at a time, so memory follows the rows
// kept, not the raw document.
func ParseJSON(r io.Reader, opts ParseOptions) ([]Person, []Department, error) {
	b := &batch{source: SourceJSON}
	dec := json.NewDecoder(limit(r, opts))
	fatal := func(err error) ([]Person, []Department, error) {
		if !b.jsonFailure(err, dec, opts) {
			return nil, nil, fmt.Errorf("parse json: %w", err)
		}
		return nil, nil, b.reject()
	}

	tok, err := dec.Token()
	if err != nil {
		return fatal(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		b.fail(indexLoc{}, "", `the document must be an object: {"people": [...], "departments": [...]}`)
		return nil, nil, b.reject()
	}
	rows := 0
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fatal(err)
		}
		key, _ := tok.(string)
		if key != sectionPeople && key != sectionDepartments {
			b.fail(indexLoc{}, key, "unknown top-level field; expected people and departments")
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fatal(err)
			}
			continue
		}
		if seen[key] {
			b.fail(indexLoc{}, key, "appears twice")
		}
		seen[key] = true
		tok, err = dec.Token()
		if err != nil {
			return fatal(err)
		}
		if tok == nil {
			continue // "people": null is an empty list
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			b.fail(indexLoc{}, key, "must be an array")
			return nil, nil, b.reject()
		}
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fatal(err)
			}
			rows++
			if rows > opts.maxRows() {
				b.fail(indexLoc{key, i}, "", fmt.Sprintf("more than %d rows in all; split the file", opts.maxRows()))
				return nil, nil, b.reject()
			}
			if key == sectionPeople {
				b.jsonPerson(raw, indexLoc{key, i})
			} else {
				b.jsonDepartment(raw, indexLoc{key, i})
			}
		}
		if _, err := dec.Token(); err != nil { // closing ]
			return fatal(err)
		}
	}
	if _, err := dec.Token(); err != nil { // closing }
		return fatal(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return fatal(err)
		}
		b.fail(indexLoc{}, "", "unexpected data after the top-level object")
		return nil, nil, b.reject()
	}
	return b.finish(opts)
}

// jsonFailure records a syntax or size problem of the input and reports
// whether it did; false means the reader itself failed (an I/O error).
func (b *batch) jsonFailure(err error, dec *json.Decoder, opts ParseOptions) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errTooLarge):
		b.fail(indexLoc{}, "", fmt.Sprintf("input larger than %d bytes; split the file", opts.maxBytes()))
	case errors.As(err, &se):
		b.fail(indexLoc{}, "", fmt.Sprintf("JSON syntax error at byte %d: %v", se.Offset, err))
	case errors.As(err, &te):
		b.fail(indexLoc{}, "", fmt.Sprintf("JSON type error at byte %d: %v", te.Offset, err))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		b.fail(indexLoc{}, "", fmt.Sprintf("JSON ends too early, after byte %d", dec.InputOffset()))
	default:
		return false
	}
	return true
}

// jsonObject decodes one array element into its keys, reporting a
// non-object and every key that is not allowed.
func (b *batch) jsonObject(raw json.RawMessage, l locator, allowed func(string) bool) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		b.fail(l, "", "must be an object")
		return nil, false
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !allowed(k) {
			b.fail(l, k, "unknown field")
		}
	}
	return obj, true
}

// jsonText reads an optional string value; null and absent are "".
func (b *batch) jsonText(obj map[string]json.RawMessage, key string, l locator) string {
	raw, ok := obj[key]
	if !ok || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		b.fail(l, key, "must be a string")
		return ""
	}
	return strings.TrimSpace(s)
}

func (b *batch) jsonPerson(raw json.RawMessage, l indexLoc) {
	obj, ok := b.jsonObject(raw, l, func(k string) bool {
		_, known := csvColumnNamed(k)
		return known
	})
	if !ok {
		return
	}
	p := Person{
		ID:            b.jsonText(obj, FieldID, l),
		DisplayName:   b.jsonText(obj, FieldDisplayName, l),
		Email:         b.jsonText(obj, FieldEmail, l),
		Department:    b.jsonText(obj, FieldDepartment, l),
		Role:          b.jsonText(obj, FieldRole, l),
		TrainingLevel: b.jsonText(obj, FieldTrainingLevel, l),
		Cohort:        b.jsonText(obj, FieldCohort, l),
		Site:          b.jsonText(obj, FieldSite, l),
		SupervisorID:  b.jsonText(obj, FieldSupervisorID, l),
		Active:        true,
	}
	if raw, ok := obj[FieldActive]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p.Active); err != nil {
			b.fail(l, FieldActive, "must be true or false")
			p.Active = true
		}
	}
	b.addPerson(p, l)
}

func (b *batch) jsonDepartment(raw json.RawMessage, l indexLoc) {
	obj, ok := b.jsonObject(raw, l, func(k string) bool {
		return k == FieldID || k == FieldName || k == FieldParentID || k == FieldLeadID
	})
	if !ok {
		return
	}
	b.addDepartment(Department{
		ID:       b.jsonText(obj, FieldID, l),
		Name:     b.jsonText(obj, FieldName, l),
		ParentID: b.jsonText(obj, FieldParentID, l),
		LeadID:   b.jsonText(obj, FieldLeadID, l),
	}, l)
}
