package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/events"
)

// headerBlock writes h in the NATS header wire layout ("key: value" lines),
// the form the fuzzer mutates: it can then invent keys, change their case,
// repeat them and put anything in the values.
func headerBlock(h events.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

func parseHeaderBlock(s string) events.Header {
	h := events.Header{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		h[k] = append(h[k], strings.TrimPrefix(v, " "))
	}
	return h
}

func FuzzDecode(f *testing.F) {
	env := sampleEnvelope(f)
	h := events.Header{}
	data := env.Encode(h)
	h["traceparent"] = []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	f.Add(headerBlock(h), data)

	without := func(k string) string {
		c := validHeaders()
		delete(c, k)
		return headerBlock(c)
	}
	with := func(k, v string) string {
		c := validHeaders()
		c[k] = []string{v}
		return headerBlock(c)
	}
	f.Add(without("ce-id"), []byte(validData))
	f.Add(without("ce-specversion"), []byte(validData))
	f.Add(with("ce-specversion", "0.3"), []byte(validData))
	f.Add(headerBlock(validHeaders()), []byte(`{"case_id":`))
	f.Add(headerBlock(validHeaders()), []byte{})
	f.Add(headerBlock(validHeaders()), []byte("  \r\n"))
	f.Add(with("ce-id", strings.Repeat("a", 64<<10)), []byte(validData))
	f.Add(with("ce-subject", strings.Repeat("é", 5000)), []byte(validData))
	f.Add(with("ce-time", "2026-03-14T10:26:53.123456789+01:00"), []byte(validData))
	f.Add(with("ce-time", "9999-12-31T23:59:59-23:59"), []byte(validData))
	f.Add(with("content-type", "Application/JSON; charset=utf-8"), []byte(`"just a string"`))
	f.Add(headerBlock(validHeaders())+"CE-ID: other\n", []byte(validData))
	f.Add("", []byte("null"))

	f.Fuzz(func(t *testing.T, block string, data []byte) {
		h := parseHeaderBlock(block)
		env, err := events.Decode(h, data, "dei.fuzz.subject")
		if err != nil {
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("Decode error does not wrap ErrMalformed: %v", err)
			}
			if !reflect.DeepEqual(env, events.Envelope{}) {
				t.Fatalf("Decode returned an envelope with its error: %+v", env)
			}
			return
		}
		if env.ID == "" || env.Source == "" || env.Type == "" {
			t.Fatalf("Decode accepted an envelope without id, source or type: %+v", env)
		}
		if !json.Valid(env.Data) {
			t.Fatalf("Decode accepted invalid JSON data %q", env.Data)
		}
		h2 := events.Header{}
		data2 := env.Encode(h2)
		again, err := events.Decode(h2, data2, env.Topic)
		if err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v\nenvelope %+v\nheaders %q", err, env, h2)
		}
		if !again.Time.Equal(env.Time) {
			t.Fatalf("time changed in the round trip: %v -> %v", env.Time, again.Time)
		}
		if !reflect.DeepEqual(again, env) {
			t.Fatalf("round trip changed the envelope:\n got %+v\nwant %+v", again, env)
		}
	})
}
