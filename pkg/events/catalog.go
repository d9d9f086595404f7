package events

import (
	"fmt"
	"reflect"
	"sort"
)

// Entry is one declared event type.
type Entry struct {
	Spec
	GoType reflect.Type
}

// Catalog is the set of event types a process knows. It is built once at
// start-up from the declarations of each service (no package-level registry).
type Catalog struct {
	entries []Entry
	byType  map[string]Entry
}

// NewCatalog validates the declarations: unique types and subjects, and
// lowercase subject tokens.
func NewCatalog(evs ...Event) (*Catalog, error) {
	c := &Catalog{byType: make(map[string]Entry, len(evs))}
	subjects := make(map[string]string, len(evs))
	streams := map[string]string{} // stream name -> subject filter
	for i, ev := range evs {
		if ev == nil {
			return nil, fmt.Errorf("event declaration %d is nil", i)
		}
		spec := ev.EventSpec()
		if err := spec.Validate(); err != nil {
			return nil, err
		}
		t := reflect.TypeOf(ev)
		if t.Kind() != reflect.Struct {
			return nil, fmt.Errorf("event %s: declare it on a struct value, not %s", spec.Type(), t.Kind())
		}
		if prev, dup := c.byType[spec.Type()]; dup {
			if prev.GoType == t {
				continue
			}
			return nil, fmt.Errorf("event type %s declared twice (%s and %s)", spec.Type(), prev.GoType, t)
		}
		if other, dup := subjects[spec.Subject()]; dup {
			return nil, fmt.Errorf("subject %s used by %s and %s", spec.Subject(), other, spec.Type())
		}
		// Streams() lists one filter per stream name; two filters under one
		// name would leave one set of subjects without a stream.
		if filter, ok := streams[spec.Stream()]; ok && filter != spec.StreamSubjects() {
			return nil, fmt.Errorf("stream %s would hold both %s and %s", spec.Stream(), filter, spec.StreamSubjects())
		}
		streams[spec.Stream()] = spec.StreamSubjects()
		subjects[spec.Subject()] = spec.Type()
		e := Entry{Spec: spec, GoType: t}
		c.byType[spec.Type()] = e
		c.entries = append(c.entries, e)
	}
	sort.Slice(c.entries, func(i, j int) bool { return c.entries[i].Type() < c.entries[j].Type() })
	return c, nil
}

// Merge returns a catalog holding the entries of both.
func (c *Catalog) Merge(other *Catalog) (*Catalog, error) {
	var evs []Event
	for _, e := range append(append([]Entry{}, c.entries...), other.entries...) {
		evs = append(evs, reflect.Zero(e.GoType).Interface().(Event))
	}
	return NewCatalog(evs...)
}

// Public returns the catalog without internal events: the integrators'
// contract.
func (c *Catalog) Public() *Catalog {
	p := &Catalog{byType: map[string]Entry{}}
	for _, e := range c.entries {
		if !e.Internal {
			p.entries = append(p.entries, e)
			p.byType[e.Type()] = e
		}
	}
	return p
}

// Entries lists every event type, sorted by type.
func (c *Catalog) Entries() []Entry { return append([]Entry(nil), c.entries...) }

// Lookup finds the declaration of a CloudEvents type.
func (c *Catalog) Lookup(ceType string) (Entry, bool) {
	e, ok := c.byType[ceType]
	return e, ok
}

// Stream describes one JetStream stream the catalog needs.
type Stream struct {
	Name     string
	Subjects []string
	Internal bool
}

// Streams lists the streams that hold the catalog's events, sorted by name.
func (c *Catalog) Streams() []Stream {
	seen := map[string]bool{}
	var out []Stream
	for _, e := range c.entries {
		if seen[e.Stream()] {
			continue
		}
		seen[e.Stream()] = true
		out = append(out, Stream{Name: e.Stream(), Subjects: []string{e.StreamSubjects()}, Internal: e.Internal})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
