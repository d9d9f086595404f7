package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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

// Occurred is an event that carries the instant its occurrence happened
// (a submitted_at or similar data member). CloudEvents' time is "when the
// occurrence happened", so New uses that instant for ce-time and the two
// agree: they do not differ by however long the work after the occurrence
// (hashing, lookups, the store write) took.
type Occurred interface {
	Event
	EventTime() time.Time
}

// New wraps ev in an envelope with a fresh time-ordered id. base is the
// installation's source base (Installation; the bus holds it as Source) and
// the event's ce-source is spec.Source(base). subject is the id of the
// entity the event is about. at is the envelope time, unless ev is an
// Occurred with a non-zero EventTime, which is used instead.
func New(ev Event, base, subject string, at time.Time) (Envelope, error) {
	if o, ok := ev.(Occurred); ok {
		if t := o.EventTime(); !t.IsZero() {
			at = t
		}
	}
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

// Trace-context headers (W3C), read in the same pass as the attributes.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
	HeaderBaggage     = "baggage"
)

// Indexes into headerNames; the trace headers come last.
const (
	iID = iota
	iSource
	iType
	iSubject
	iDataSchema
	iClassification
	iSpecVersion
	iTime
	iContentType
	iTraceparent
	iTracestate
	iBaggage
	nHeaders
)

var headerNames = [nHeaders]string{HeaderID, HeaderSource, HeaderType, HeaderSubject, HeaderDataSchema,
	HeaderClassification, HeaderSpecVersion, HeaderTime, HeaderContentType,
	HeaderTraceparent, HeaderTracestate, HeaderBaggage}

// headers holds every header the envelope and its trace context use, read
// in one pass over the message's headers (a lookup per name would scan
// them once per name for every spelling it has to accept).
type headers struct {
	vals     [nHeaders]string
	conflict [nHeaders]bool
}

func readHeaders(h Header) (a headers) {
	for key, vals := range h {
		for i, name := range headerNames {
			if len(key) == len(name) && strings.EqualFold(key, name) {
				a.vals[i], a.conflict[i] = mergeValues(a.vals[i], a.conflict[i], vals)
				break
			}
		}
	}
	return a
}

// TraceHeaders is the trace context a message carried (traceparent,
// tracestate, baggage, whatever their spelling). It is an OpenTelemetry
// TextMapCarrier: Extract reads it without scanning the headers again.
type TraceHeaders struct{ vals [3]string }

// Get returns the value of a trace-context header.
func (t TraceHeaders) Get(key string) string {
	for i, name := range headerNames[iTraceparent:] {
		if strings.EqualFold(key, name) {
			return t.vals[i]
		}
	}
	return ""
}

// Set is not used: the carrier is read-only.
func (t TraceHeaders) Set(string, string) {}

// Keys lists the headers present.
func (t TraceHeaders) Keys() []string {
	var keys []string
	for i, name := range headerNames[iTraceparent:] {
		if t.vals[i] != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// printable reports whether s is valid UTF-8 without control characters,
// which CloudEvents excludes from String attributes (and which would allow
// header or log injection).
func printable(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	if ascii {
		return true
	}
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
	e, _, trimmed, err := decode(h, data, topic, true)
	if err != nil {
		return Envelope{}, err
	}
	e.Data = json.RawMessage(bytes.Clone(trimmed))
	return e, nil
}

// DecodeAttributes is Decode for a consumer that unmarshals the data into
// a typed value at once (Unmarshal rejects invalid JSON): it checks every
// attribute but does not parse the data a second time, and Data aliases
// the caller's buffer. It also returns the message's trace context, read
// in the same pass over the headers; it is returned even when the
// envelope is malformed, so that the failure stays in its trace.
func DecodeAttributes(h Header, data []byte, topic string) (Envelope, TraceHeaders, error) {
	e, tr, trimmed, err := decode(h, data, topic, false)
	if err != nil {
		return Envelope{}, tr, err
	}
	e.Data = json.RawMessage(trimmed)
	return e, tr, nil
}

func decode(h Header, data []byte, topic string, validateJSON bool) (Envelope, TraceHeaders, []byte, error) {
	var problems []string
	var invalid [nHeaders]bool // reported already; "missing" would repeat it
	hs := readHeaders(h)
	var tr TraceHeaders
	for i := range tr.vals {
		if !hs.conflict[iTraceparent+i] && printable(hs.vals[iTraceparent+i]) {
			tr.vals[i] = hs.vals[iTraceparent+i]
		}
	}
	get := func(i int) string {
		v, k := hs.vals[i], headerNames[i]
		switch {
		case hs.conflict[i]:
			problems = append(problems, "conflicting "+k+" values")
		case len(v) > maxAttrLen:
			problems = append(problems, fmt.Sprintf("%s longer than %d bytes", k, maxAttrLen))
		case !printable(v):
			problems = append(problems, k+" has control characters or invalid UTF-8")
		default:
			return v
		}
		invalid[i] = true
		return ""
	}
	require := func(i int, v string) {
		if v == "" && !invalid[i] {
			problems = append(problems, "missing "+headerNames[i])
		}
	}
	e := Envelope{
		ID:             get(iID),
		Source:         get(iSource),
		Type:           get(iType),
		Subject:        get(iSubject),
		DataSchema:     get(iDataSchema),
		Classification: get(iClassification),
		Topic:          topic,
	}
	specVersion, ts, ct := get(iSpecVersion), get(iTime), get(iContentType)
	require(iID, e.ID)
	require(iSource, e.Source)
	require(iType, e.Type)
	require(iSpecVersion, specVersion)
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
	if ct != "" && ct != ContentJSON {
		// Media types are case-insensitive and may carry parameters
		// (charset); a prefix match would also accept application/jsonx.
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != ContentJSON {
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
		return Envelope{}, tr, nil, fmt.Errorf("%w: %s", ErrMalformed, strings.Join(problems, "; "))
	}
	return e, tr, trimmed, nil
}

// Unmarshal decodes the envelope's data into T in a single pass over it:
// encoding/json would validate the whole payload before decoding it, and
// the payload is the largest part of a message. The decoder is
// encoding/json/v2 (the module that mirrors it until Go 1.27 ships it).
// Unknown fields are ignored so that adding an optional field stays a
// non-breaking change during a rolling upgrade; wrong types, duplicate
// names and invalid UTF-8 are errors. Names match exactly: events are
// written by encoding/json from the same struct tags.
func Unmarshal[T any](e Envelope) (T, error) {
	var v T
	if err := jsonv2.Unmarshal(e.Data, &v); err != nil {
		var semantic *jsonv2.SemanticError
		if errors.As(err, &semantic) {
			// The library's own wording changes between versions; the
			// reason integrators read in dead letters must not.
			return v, fmt.Errorf("%w: data of %s does not fit its schema at %q: %v", ErrMalformed, e.Type, string(semantic.JSONPointer), err)
		}
		var syntax *jsontext.SyntacticError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return v, fmt.Errorf("%w: data is not valid JSON: %v", ErrMalformed, err)
		}
		return v, fmt.Errorf("%w: data of %s: %v", ErrMalformed, e.Type, err)
	}
	return v, nil
}
