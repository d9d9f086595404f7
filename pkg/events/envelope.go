package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// CloudEvents binary-mode header names (NATS protocol binding).
const (
	HeaderID             = "ce-id"
	HeaderSource         = "ce-source"
	HeaderType           = "ce-type"
	HeaderSpecVersion    = "ce-specversion"
	HeaderTime           = "ce-time"
	HeaderSubject        = "ce-subject"
	HeaderDataSchema     = "ce-dataschema"
	HeaderClassification = "ce-dataclassification"
	HeaderContentType    = "content-type"

	SpecVersion = "1.0"
	ContentJSON = "application/json"
)

// Envelope is one CloudEvent: context attributes plus JSON data.
type Envelope struct {
	ID             string
	Source         string
	Type           string
	Subject        string // the CloudEvents subject (the entity id), not the NATS subject
	Time           time.Time
	DataSchema     string
	Classification string
	Data           json.RawMessage
	// Topic is the NATS subject the event travels on (not a CloudEvents attribute).
	Topic string
}

// New wraps ev in an envelope with a fresh time-ordered id. base is the
// installation's source base (Installation; the bus holds it as Source) and
// the event's ce-source is spec.Source(base). subject is the id of the
// entity the event is about.
func New(ev Event, base, subject string, at time.Time) (Envelope, error) {
	spec := ev.EventSpec()
	data, err := json.Marshal(ev)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s: %w", spec.Type(), err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Envelope{}, fmt.Errorf("new event id: %w", err)
	}
	return Envelope{
		ID:             id.String(),
		Source:         spec.Source(base),
		Type:           spec.Type(),
		Subject:        subject,
		Time:           at.UTC(),
		DataSchema:     spec.DataSchema(),
		Classification: spec.Classification(),
		Data:           data,
		Topic:          spec.Subject(),
	}, nil
}

// Header is the transport's header map (nats.Header has this shape).
type Header = map[string][]string

// encodeNames are the headers Encode writes, in the order of its values.
var encodeNames = [...]string{HeaderID, HeaderSource, HeaderType, HeaderSpecVersion, HeaderTime,
	HeaderSubject, HeaderDataSchema, HeaderClassification, HeaderContentType}

// Encode writes the envelope in binary mode: attributes as headers, data as
// body. h must not be nil (nats.NewMsg makes one).
func (e Envelope) Encode(h Header) []byte {
	// One backing array holds every value: one allocation, not nine.
	vals := make([]string, len(encodeNames))
	vals[0], vals[1], vals[2], vals[3] = e.ID, e.Source, e.Type, SpecVersion
	vals[4] = e.Time.UTC().Format(time.RFC3339Nano)
	vals[5], vals[6], vals[7], vals[8] = e.Subject, e.DataSchema, e.Classification, ContentJSON
	for i, v := range vals {
		if v != "" {
			h[encodeNames[i]] = vals[i : i+1 : i+1]
		}
	}
	return e.Data
}

// ErrMalformed marks an envelope that can never be handled; consumers send
// such messages to the dead-letter stream.
var ErrMalformed = errors.New("malformed cloudevent")

// maxAttrLen bounds every attribute: ids end up as Nats-Msg-Id, dedup keys,
// span attributes and log fields, so one oversized header must not be able
// to inflate all of them.
const maxAttrLen = 2048

// mergeValues folds one header's values into v: every spelling of a
// name is read; differing values make the event ambiguous (which id would
// deduplication use?) rather than letting map order pick one.
func mergeValues(v string, conflict bool, vals []string) (string, bool) {
	for _, x := range vals {
		switch {
		case x == "" || x == v:
		case v == "":
			v = x
		default:
			conflict = true
		}
	}
	return v, conflict
}

// attributes reads every CloudEvents header in one pass over h (attr per
// name would scan h once per attribute on the hot consume path).
type attributes struct {
	vals     [len(attrNames)]string
	conflict [len(attrNames)]bool
}

var attrNames = [...]string{HeaderID, HeaderSource, HeaderType, HeaderSubject, HeaderDataSchema,
	HeaderClassification, HeaderSpecVersion, HeaderTime, HeaderContentType}

func readAttributes(h Header) *attributes {
	a := &attributes{}
	for key, vals := range h {
		for i, name := range attrNames {
			if len(key) == len(name) && strings.EqualFold(key, name) {
				a.vals[i], a.conflict[i] = mergeValues(a.vals[i], a.conflict[i], vals)
				break
			}
		}
	}
	return a
}

func (a *attributes) get(k string) (string, bool) {
	for i, name := range attrNames {
		if name == k {
			return a.vals[i], a.conflict[i]
		}
	}
	return "", false
}

// printable reports whether s is valid UTF-8 without control characters,
// which CloudEvents excludes from String attributes (and which would allow
// header or log injection).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Decode reads a binary-mode CloudEvent and checks every required attribute.
// The error wraps ErrMalformed and names each problem. The returned Data is
// a copy, so the caller may reuse its buffer.
func Decode(h Header, data []byte, topic string) (Envelope, error) {
	e, trimmed, err := decode(h, data, topic, true)
	if err != nil {
		return Envelope{}, err
	}
	e.Data = json.RawMessage(bytes.Clone(trimmed))
	return e, nil
}

// DecodeAttributes is Decode for a consumer that unmarshals the data into
// a typed value at once (Unmarshal rejects invalid JSON): it checks every
// attribute but does not parse the data a second time, and Data aliases
// the caller's buffer.
func DecodeAttributes(h Header, data []byte, topic string) (Envelope, error) {
	e, trimmed, err := decode(h, data, topic, false)
	if err != nil {
		return Envelope{}, err
	}
	e.Data = json.RawMessage(trimmed)
	return e, nil
}

func decode(h Header, data []byte, topic string, validateJSON bool) (Envelope, []byte, error) {
	var problems []string
	invalid := map[string]bool{} // reported already; "missing" would repeat it
	attrs := readAttributes(h)
	get := func(k string) string {
		v, conflict := attrs.get(k)
		switch {
		case conflict:
			problems = append(problems, "conflicting "+k+" values")
		case len(v) > maxAttrLen:
			problems = append(problems, fmt.Sprintf("%s longer than %d bytes", k, maxAttrLen))
		case !printable(v):
			problems = append(problems, k+" has control characters or invalid UTF-8")
		default:
			return v
		}
		invalid[k] = true
		return ""
	}
	require := func(k, v string) {
		if v == "" && !invalid[k] {
			problems = append(problems, "missing "+k)
		}
	}
	e := Envelope{
		ID:             get(HeaderID),
		Source:         get(HeaderSource),
		Type:           get(HeaderType),
		Subject:        get(HeaderSubject),
		DataSchema:     get(HeaderDataSchema),
		Classification: get(HeaderClassification),
		Topic:          topic,
	}
	specVersion, ts, ct := get(HeaderSpecVersion), get(HeaderTime), get(HeaderContentType)
	require(HeaderID, e.ID)
	require(HeaderSource, e.Source)
	require(HeaderType, e.Type)
	require(HeaderSpecVersion, specVersion)
	if specVersion != "" && specVersion != SpecVersion {
		problems = append(problems, fmt.Sprintf("unsupported ce-specversion %q", specVersion))
	}
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		switch {
		case err != nil:
			problems = append(problems, "ce-time is not RFC 3339")
		case t.UTC().Year() < 0 || t.UTC().Year() > 9999:
			// An offset can push a valid local time outside the four-digit
			// years RFC 3339 can write once converted to UTC.
			problems = append(problems, "ce-time is out of range")
		default:
			e.Time = t.UTC() // one representation for one instant, as New does
		}
	}
	if ct != "" {
		// Media types are case-insensitive and may carry parameters
		// (charset); a prefix match would also accept application/jsonx.
		mt, err := ContentJSON, error(nil)
		if ct != ContentJSON {
			mt, _, err = mime.ParseMediaType(ct)
		}
		if err != nil || mt != ContentJSON {
			problems = append(problems, fmt.Sprintf("unsupported content-type %q", ct))
		}
	}
	// JSON whitespace only: bytes.TrimSpace would also strip Unicode spaces.
	trimmed := bytes.Trim(data, " \t\r\n")
	if len(trimmed) == 0 {
		problems = append(problems, "empty data")
	} else if validateJSON && !json.Valid(trimmed) {
		problems = append(problems, "data is not valid JSON")
	}
	if len(problems) > 0 {
		return Envelope{}, nil, fmt.Errorf("%w: %s", ErrMalformed, strings.Join(problems, "; "))
	}
	return e, trimmed, nil
}

// Unmarshal decodes the envelope's data into T. Unknown fields are ignored
// so that adding an optional field stays a non-breaking change during a
// rolling upgrade; wrong types are an error.
func Unmarshal[T any](e Envelope) (T, error) {
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return v, fmt.Errorf("%w: data is not valid JSON: %v", ErrMalformed, err)
		}
		return v, fmt.Errorf("%w: data of %s: %v", ErrMalformed, e.Type, err)
	}
	return v, nil
}
