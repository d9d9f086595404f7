package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
)

// Every path and size publishes to a stream of its own, so the event types
// differ by path and size; the payload has one string field and encodes to
// exactly the size.
type (
	pathMarker interface{ path() string }
	sizeMarker interface{ size() (string, int) }

	platformP  struct{}
	batchP     struct{}
	watermillP struct{}
	sdkP       struct{}
	wireP      struct{}
	rawP       struct{}
	s256       struct{}
	s4K        struct{}
)

func (platformP) path() string   { return "platform" }
func (batchP) path() string      { return "batch" }
func (watermillP) path() string  { return "watermill" }
func (sdkP) path() string        { return "sdk" }
func (wireP) path() string       { return "wire" }
func (rawP) path() string        { return "raw" }
func (s256) size() (string, int) { return "256B", 256 }
func (s4K) size() (string, int)  { return "4KiB", 4096 }

type payload[P pathMarker, S sizeMarker] struct {
	Pad string `json:"pad"`
}

func (payload[P, S]) EventSpec() events.Spec {
	var p P
	var s S
	name, _ := s.size()
	return events.Spec{Service: "bench" + p.path() + strings.ToLower(name), Entity: "load", Action: "measured",
		Version: 1, Summary: "benchmark payload"}
}

// kind is one path at one size, with what each path needs of its type.
type kind struct {
	path, size string
	bytes      int
	spec       events.Spec
	sample     events.Event // the payload, Pad filled to the size
	data       []byte       // sample encoded
	// decode unmarshals a payload into a new typed value and checks it.
	decode func(data []byte) error
	// register adds a typed handler for the kind's type to c.
	register func(c *bus.Consumer, handled func())
}

func newKind[P pathMarker, S sizeMarker]() kind {
	var p P
	var s S
	name, n := s.size()
	ev := payload[P, S]{Pad: strings.Repeat("x", n-len(`{"pad":""}`))}
	data, err := json.Marshal(ev)
	if err != nil || len(data) != n {
		panic("benchmark payload has the wrong size")
	}
	want := len(ev.Pad)
	return kind{
		path: p.path(), size: name, bytes: n, spec: ev.EventSpec(), sample: ev, data: data,
		decode: func(data []byte) error {
			var v payload[P, S]
			if err := json.Unmarshal(data, &v); err != nil {
				return err
			}
			return checkPad(len(v.Pad), want)
		},
		register: func(c *bus.Consumer, handled func()) {
			bus.On(c, func(_ context.Context, _ events.Envelope, v payload[P, S]) error {
				if err := checkPad(len(v.Pad), want); err != nil {
					return bus.Permanent(err)
				}
				handled()
				return nil
			})
		},
	}
}

func kinds() []kind {
	return []kind{
		newKind[platformP, s256](), newKind[platformP, s4K](),
		newKind[batchP, s256](), newKind[batchP, s4K](),
		newKind[watermillP, s256](), newKind[watermillP, s4K](),
		newKind[sdkP, s256](), newKind[sdkP, s4K](),
		newKind[wireP, s256](), newKind[wireP, s4K](),
		newKind[rawP, s256](), newKind[rawP, s4K](),
	}
}
