package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/events"
)

var at = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func sampleEnvelope(t testing.TB) events.Envelope {
	t.Helper()
	dept := "cardiology"
	env, err := events.New(caseEscalated{
		CaseID: "c-1", Level: 2, EscalatedAt: at,
		Routes:     []route{{Role: "lead", Due: at.Add(72 * time.Hour)}},
		Department: &dept,
	}, "/st-example", "c-1", at.In(time.FixedZone("CET", 3600)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return env
}

func TestNewEncodeDecodeRoundTrip(t *testing.T) {
	env := sampleEnvelope(t)
	if env.Time != at {
		t.Errorf("New kept time %v, want it in UTC: %v", env.Time, at)
	}
	if env.Topic != "dei.resolution.case.escalated" || env.Type != "org.deiops.resolution.case.escalated.v1" {
		t.Errorf("New routing = %s %s", env.Topic, env.Type)
	}
	h := events.Header{}
	data := env.Encode(h)
	for k, want := range map[string]string{
		"ce-id": env.ID, "ce-source": "/st-example/resolution", "ce-type": env.Type, "ce-specversion": "1.0",
		"ce-time": "2026-03-14T09:26:53.589793Z", "ce-subject": "c-1",
		"ce-dataschema":         "urn:deiops:schema:org.deiops.resolution.case.escalated.v1",
		"ce-dataclassification": "public", "content-type": "application/json",
	} {
		if got := h[k]; len(got) != 1 || got[0] != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	got, err := events.Decode(h, data, env.Topic)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !reflect.DeepEqual(got, env) {
		t.Fatalf("round trip changed the envelope:\n got %+v\nwant %+v", got, env)
	}
	ev, err := events.Unmarshal[caseEscalated](got)
	if err != nil || ev.CaseID != "c-1" || ev.Level != 2 || *ev.Department != "cardiology" {
		t.Fatalf("Unmarshal = %+v, %v", ev, err)
	}
}

// occurred is an event that knows when it happened.
type occurred struct {
	caseEscalated
}

func (o occurred) EventTime() time.Time { return o.EscalatedAt }

// An Occurred event's envelope time is its own instant, in UTC; a zero
// instant falls back to the time New is given.
func TestNewUsesTheOccurrenceTime(t *testing.T) {
	written := at.Add(1500 * time.Millisecond)
	happened := at.In(time.FixedZone("CET", 3600))
	env, err := events.New(occurred{caseEscalated{CaseID: "c-1", Level: 1, EscalatedAt: happened}}, "/st-example", "c-1", written)
	if err != nil {
		t.Fatal(err)
	}
	if env.Time != at {
		t.Errorf("time = %v, want the occurrence %v", env.Time, at)
	}
	env, err = events.New(occurred{caseEscalated{CaseID: "c-1", Level: 1}}, "/st-example", "c-1", written)
	if err != nil {
		t.Fatal(err)
	}
	if env.Time != written {
		t.Errorf("time = %v, want the given %v for a zero occurrence", env.Time, written)
	}
}

// validHeaders is a complete binary-mode header set.
func validHeaders() events.Header {
	return events.Header{
		"ce-id":          {"0193c4d2-7a1e-7c3e-9d41-3f0e2b6a8c11"},
		"ce-source":      {"deiops/resolution"},
		"ce-type":        {"org.deiops.resolution.case.escalated.v1"},
		"ce-specversion": {"1.0"},
		"ce-time":        {"2026-03-14T09:26:53Z"},
		"content-type":   {"application/json"},
	}
}

const validData = `{"case_id":"c-1","level":2}`

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(events.Header)
		data string
		want string
	}{
		{"missing ce-id", func(h events.Header) { delete(h, "ce-id") }, validData, "missing ce-id"},
		{"empty ce-id", func(h events.Header) { h["ce-id"] = []string{""} }, validData, "missing ce-id"},
		{"missing ce-source", func(h events.Header) { delete(h, "ce-source") }, validData, "missing ce-source"},
		{"missing ce-type", func(h events.Header) { delete(h, "ce-type") }, validData, "missing ce-type"},
		{"missing ce-specversion", func(h events.Header) { delete(h, "ce-specversion") }, validData, "missing ce-specversion"},
		{"wrong ce-specversion", func(h events.Header) { h["ce-specversion"] = []string{"0.3"} }, validData, `unsupported ce-specversion "0.3"`},
		{"ce-time not RFC 3339", func(h events.Header) { h["ce-time"] = []string{"14/03/2026 09:26"} }, validData, "ce-time is not RFC 3339"},
		{"ce-time beyond year 9999 in UTC", func(h events.Header) { h["ce-time"] = []string{"9999-12-31T23:59:59-01:00"} }, validData, "ce-time is out of range"},
		{"ce-time before year 0 in UTC", func(h events.Header) { h["ce-time"] = []string{"0000-01-01T00:00:00+01:00"} }, validData, "ce-time is out of range"},
		{"content-type not JSON", func(h events.Header) { h["content-type"] = []string{"text/plain"} }, validData, `unsupported content-type "text/plain"`},
		{"content-type with JSON prefix", func(h events.Header) { h["content-type"] = []string{"application/jsonx"} }, validData, "unsupported content-type"},
		{"structured mode", func(h events.Header) { h["content-type"] = []string{"application/cloudevents+json"} }, validData, "unsupported content-type"},
		{"conflicting ids", func(h events.Header) { h["CE-ID"] = []string{"other"} }, validData, "conflicting ce-id values"},
		{"two ids in one header", func(h events.Header) { h["ce-id"] = []string{"a", "b"} }, validData, "conflicting ce-id values"},
		{"huge ce-id", func(h events.Header) { h["ce-id"] = []string{strings.Repeat("x", 3000)} }, validData, "ce-id longer than 2048 bytes"},
		{"control character", func(h events.Header) { h["ce-subject"] = []string{"c-1\r\nX-Injected: 1"} }, validData, "ce-subject has control characters"},
		{"invalid UTF-8", func(h events.Header) { h["ce-source"] = []string{"\xff"} }, validData, "ce-source has control characters or invalid UTF-8"},
		{"empty data", func(events.Header) {}, "", "empty data"},
		{"whitespace data", func(events.Header) {}, " \n\t", "empty data"},
		{"invalid JSON", func(events.Header) {}, `{"case_id":`, "data is not valid JSON"},
		{"two JSON values", func(events.Header) {}, `{} {}`, "data is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := validHeaders()
			tc.edit(h)
			env, err := events.Decode(h, []byte(tc.data), "dei.resolution.case.escalated")
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("Decode error = %v, want ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error = %q, want it to say %q", err, tc.want)
			}
			if !reflect.DeepEqual(env, events.Envelope{}) {
				t.Errorf("Decode returned %+v with its error", env)
			}
		})
	}
}

func TestDecodeListsEveryProblem(t *testing.T) {
	_, err := events.Decode(events.Header{"ce-specversion": {"2.0"}}, []byte("nope"), "x")
	want := `malformed cloudevent: missing ce-id; missing ce-source; missing ce-type; unsupported ce-specversion "2.0"; data is not valid JSON`
	if err == nil || err.Error() != want {
		t.Fatalf("Decode error =\n %v\nwant\n %s", err, want)
	}
	// A conflict is reported once, not also as "missing".
	h := validHeaders()
	h["Ce-Id"] = []string{"other"}
	_, err = events.Decode(h, []byte(validData), "x")
	if err == nil || strings.Contains(err.Error(), "missing ce-id") {
		t.Fatalf("Decode error = %v, want only the conflict", err)
	}
}

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(events.Header)
		check func(*testing.T, events.Envelope)
	}{
		{"header names in another case", func(h events.Header) {
			h["Ce-Id"] = h["ce-id"]
			delete(h, "ce-id")
		}, func(t *testing.T, e events.Envelope) {
			if e.ID != "0193c4d2-7a1e-7c3e-9d41-3f0e2b6a8c11" {
				t.Errorf("ID = %q", e.ID)
			}
		}},
		{"same value under two spellings", func(h events.Header) { h["CE-ID"] = h["ce-id"] }, nil},
		{"no ce-time", func(h events.Header) { delete(h, "ce-time") }, func(t *testing.T, e events.Envelope) {
			if !e.Time.IsZero() {
				t.Errorf("Time = %v, want zero", e.Time)
			}
		}},
		{"ce-time with an offset is kept in UTC", func(h events.Header) { h["ce-time"] = []string{"2026-03-14T10:26:53+01:00"} },
			func(t *testing.T, e events.Envelope) {
				if want := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC); e.Time != want {
					t.Errorf("Time = %v, want %v", e.Time, want)
				}
			}},
		{"no content-type", func(h events.Header) { delete(h, "content-type") }, nil},
		{"content-type with charset, any case", func(h events.Header) { h["content-type"] = []string{"Application/JSON; charset=utf-8"} }, nil},
		{"long but bounded ce-subject", func(h events.Header) { h["ce-subject"] = []string{strings.Repeat("s", 2048)} }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := validHeaders()
			tc.edit(h)
			env, err := events.Decode(h, []byte(validData), "dei.resolution.case.escalated")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if tc.check != nil {
				tc.check(t, env)
			}
		})
	}
}

func TestDecodeCopiesAndTrimsData(t *testing.T) {
	buf := []byte("\n  " + validData + " \r\n")
	env, err := events.Decode(validHeaders(), buf, "x")
	if err != nil {
		t.Fatal(err)
	}
	if string(env.Data) != validData {
		t.Fatalf("Data = %q, want %q", env.Data, validData)
	}
	for i := range buf {
		buf[i] = 'x' // the transport reuses its buffer
	}
	if string(env.Data) != validData {
		t.Fatalf("Data changed with the caller's buffer: %q", env.Data)
	}
}

func TestUnmarshal(t *testing.T) {
	env := events.Envelope{Type: "t", Data: json.RawMessage(`{"case_id":"c-9","level":1,"added_later":true}`)}
	ev, err := events.Unmarshal[caseEscalated](env)
	if err != nil || ev.CaseID != "c-9" {
		t.Fatalf("Unmarshal with an unknown field = %+v, %v; unknown fields must be ignored", ev, err)
	}
	env.Data = json.RawMessage(`{"level":"two"}`)
	if _, err := events.Unmarshal[caseEscalated](env); !errors.Is(err, events.ErrMalformed) {
		t.Fatalf("Unmarshal with a wrong type = %v, want ErrMalformed", err)
	}
}
