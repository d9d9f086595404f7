package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
)

// deiopsMsg is a message as deiops publishes it: binary mode, ce-* headers.
func deiopsMsg(id string) *nats.Msg {
	m := nats.NewMsg("dei.resolution.case.triaged")
	for k, v := range map[string]string{
		"ce-id": id, "ce-source": "/st-example/resolution", "ce-type": "org.deiops.resolution.case.triaged.v1",
		"ce-specversion": "1.0", "ce-time": "2026-03-14T09:26:53.589793Z", "ce-subject": "case-1",
		"ce-dataschema": "urn:deiops:schema:org.deiops.resolution.case.triaged.v1", "ce-dataclassification": "public",
		"content-type": "application/json", "Nats-Msg-Id": id,
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		m.Header.Set(k, v)
	}
	m.Data = []byte(`{"case_id":"case-1","severity":"high"}`)
	return m
}

func record(t *testing.T, m *nats.Msg) Record {
	t.Helper()
	ev, err := binding.ToEvent(context.Background(), cejs.NewMessage(m))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	return NewRecord(*ev, m.Header.Get("traceparent"))
}

func lines(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestRecordFromBinaryModeMessage(t *testing.T) {
	r := record(t, deiopsMsg("evt-1"))
	want := Record{ID: "evt-1", Type: "org.deiops.resolution.case.triaged.v1", Source: "/st-example/resolution",
		Subject: "case-1", Time: "2026-03-14T09:26:53.589793Z", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	data := string(r.Data)
	r.Data = nil
	if r.ID != want.ID || r.Type != want.Type || r.Source != want.Source || r.Subject != want.Subject || r.Time != want.Time || r.Traceparent != want.Traceparent {
		t.Fatalf("record %+v, want %+v", r, want)
	}
	if data != `{"case_id":"case-1","severity":"high"}` {
		t.Fatalf("data %s", data)
	}
}

func TestSinkDeduplicatesAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	s, err := OpenSink(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := s.Append(record(t, deiopsMsg(id))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(record(t, deiopsMsg("a"))); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second a: %v, want ErrDuplicate", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A crash in the middle of a write leaves a torn last line.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"id":"c","type":"org.de`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s, err = OpenSink(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 2 || !s.Seen("a") || !s.Seen("b") || s.Seen("c") {
		t.Fatalf("after restart: %d ids, a=%v b=%v c=%v", s.Len(), s.Seen("a"), s.Seen("b"), s.Seen("c"))
	}
	if err := s.Append(record(t, deiopsMsg("b"))); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("b redelivered after restart: %v, want ErrDuplicate", err)
	}
	if err := s.Append(record(t, deiopsMsg("c"))); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range lines(t, path) {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != "a" || ids[1] != "b" || ids[2] != "c" {
		t.Fatalf("file holds %v, want [a b c]", ids)
	}
}

func TestSinkRefusesACorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte("{\"id\":\"a\"}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenSink(path); err == nil {
		s.Close()
		t.Fatal("a corrupt line was accepted")
	}
}
