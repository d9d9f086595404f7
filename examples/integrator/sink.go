package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// Record is one line of the output file: the CloudEvents attributes an
// HRIS or a data warehouse keys on, the W3C trace context and the data.
type Record struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	Subject     string          `json:"subject,omitempty"`
	Time        string          `json:"time,omitempty"`
	Traceparent string          `json:"traceparent,omitempty"`
	Data        json.RawMessage `json:"data"`
}

// NewRecord flattens an event and the traceparent header of its message.
// Data that is not JSON (deiops only publishes JSON) is kept as a string.
func NewRecord(ev cloudevents.Event, traceparent string) Record {
	r := Record{ID: ev.ID(), Type: ev.Type(), Source: ev.Source(), Subject: ev.Subject(), Traceparent: traceparent}
	if t := ev.Time(); !t.IsZero() {
		r.Time = t.UTC().Format(time.RFC3339Nano)
	}
	switch data := ev.Data(); {
	case len(data) == 0:
		r.Data = json.RawMessage("null")
	case json.Valid(data):
		r.Data = json.RawMessage(data)
	default:
		s, _ := json.Marshal(string(data))
		r.Data = s
	}
	return r
}

// Sink appends records as JSON lines to a file and remembers the id of
// every record in it. The file is the de-duplication state: Open rebuilds
// the set of ids from it, so a redelivery after a restart is recognised.
// Each line is synced to disk before Append returns; only then may the
// caller acknowledge the message.
//
// The set lives in memory and grows with the file. A real integration
// keeps the ids where it keeps the events (a unique key on the event id
// in the warehouse table) and may forget ids older than its own
// redelivery horizon.
type Sink struct {
	f    *os.File
	seen map[string]struct{}
}

// OpenSink opens (or creates) the output file and reads the ids it holds.
// A last line without its newline is a write cut short by a crash: it was
// never acknowledged, so it is cut off and the event will come again.
func OpenSink(path string) (*Sink, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	s := &Sink{f: f, seen: map[string]struct{}{}}
	content, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	good := 0 // bytes up to the end of the last complete line
	for line := 1; good < len(content); line++ {
		end := bytes.IndexByte(content[good:], '\n')
		if end < 0 {
			break // a torn last line
		}
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(content[good:good+end], &r); err != nil || r.ID == "" {
			f.Close()
			return nil, fmt.Errorf("%s line %d: not an event record (%v)", path, line, err)
		}
		s.seen[r.ID] = struct{}{}
		good += end + 1
	}
	if good < len(content) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// Seen reports whether an event with this id is already in the file.
func (s *Sink) Seen(id string) bool {
	_, ok := s.seen[id]
	return ok
}

// Len is the number of records in the file.
func (s *Sink) Len() int { return len(s.seen) }

// ErrDuplicate is returned by Append for an id the file already holds.
var ErrDuplicate = errors.New("duplicate event id")

// Append writes r as one line and syncs the file. It refuses an id the
// file already holds with ErrDuplicate.
func (s *Sink) Append(r Record) error {
	if r.ID == "" {
		return errors.New("event without an id")
	}
	if s.Seen(r.ID) {
		return ErrDuplicate
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.seen[r.ID] = struct{}{}
	return nil
}

// Close closes the file.
func (s *Sink) Close() error { return s.f.Close() }
