package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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

// New wraps ev in an envelope with a fresh time-ordered id.
// subject is the id of the entity the event is about.
func New(ev Event, source, subject string, at time.Time) (Envelope, error) {
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
		Source:         source,
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

// Encode writes the envelope in binary mode: attributes as headers, data as body.
func (e Envelope) Encode(h Header) []byte {
	set := func(k, v string) {
		if v != "" {
			h[k] = []string{v}
		}
	}
	set(HeaderID, e.ID)
	set(HeaderSource, e.Source)
	set(HeaderType, e.Type)
	set(HeaderSpecVersion, SpecVersion)
	set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	set(HeaderSubject, e.Subject)
	set(HeaderDataSchema, e.DataSchema)
	set(HeaderClassification, e.Classification)
	set(HeaderContentType, ContentJSON)
	return e.Data
}

// ErrMalformed marks an envelope that can never be handled; consumers send
// such messages to the dead-letter stream.
var ErrMalformed = errors.New("malformed cloudevent")

func first(h Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	// nats.Header is case-sensitive; accept the canonical form too.
	for key, v := range h {
		if len(v) > 0 && strings.EqualFold(key, k) {
			return v[0]
		}
	}
	return ""
}

// Decode reads a binary-mode CloudEvent and checks every required attribute.
// The error wraps ErrMalformed and names each problem.
func Decode(h Header, data []byte, topic string) (Envelope, error) {
	e := Envelope{
		ID:             first(h, HeaderID),
		Source:         first(h, HeaderSource),
		Type:           first(h, HeaderType),
		Subject:        first(h, HeaderSubject),
		DataSchema:     first(h, HeaderDataSchema),
		Classification: first(h, HeaderClassification),
		Topic:          topic,
	}
	var problems []string
	if e.ID == "" {
		problems = append(problems, "missing ce-id")
	}
	if e.Source == "" {
		problems = append(problems, "missing ce-source")
	}
	if e.Type == "" {
		problems = append(problems, "missing ce-type")
	}
	switch v := first(h, HeaderSpecVersion); v {
	case SpecVersion:
	case "":
		problems = append(problems, "missing ce-specversion")
	default:
		problems = append(problems, fmt.Sprintf("unsupported ce-specversion %q", v))
	}
	if ts := first(h, HeaderTime); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			problems = append(problems, "ce-time is not RFC 3339")
		}
		e.Time = t
	}
	if ct := first(h, HeaderContentType); ct != "" && !strings.HasPrefix(ct, ContentJSON) {
		problems = append(problems, fmt.Sprintf("unsupported content-type %q", ct))
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		problems = append(problems, "empty data")
	} else if !json.Valid(trimmed) {
		problems = append(problems, "data is not valid JSON")
	}
	if len(problems) > 0 {
		return Envelope{}, fmt.Errorf("%w: %s", ErrMalformed, strings.Join(problems, "; "))
	}
	e.Data = json.RawMessage(trimmed)
	return e, nil
}

// Unmarshal decodes the envelope's data into T. Unknown fields are ignored
// so that adding an optional field stays a non-breaking change during a
// rolling upgrade; wrong types are an error.
func Unmarshal[T any](e Envelope) (T, error) {
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("%w: data of %s: %v", ErrMalformed, e.Type, err)
	}
	return v, nil
}
