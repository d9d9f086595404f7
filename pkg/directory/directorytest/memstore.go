// Package directorytest holds test doubles for the directory: an in-memory
// Store and the contract suite every Store implementation must pass.
package directorytest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
)

// MemoryStore is a directory.Store in memory, for tests of code that uses
// the directory. Apply checks every Before first and then applies the whole
// batch, which is stricter than the Store contract requires.
type MemoryStore struct {
	mu        sync.Mutex
	people    map[string]directory.Person
	depts     map[string]directory.Department
	published []events.Event
	snap      *directory.Directory // nil when stale
}

// NewMemoryStore returns a store holding people and departments, which must
// form a valid directory. Seeding publishes no events.
func NewMemoryStore(people []directory.Person, depts []directory.Department) (*MemoryStore, error) {
	snap, err := directory.NewDirectory(people, depts)
	if err != nil {
		return nil, fmt.Errorf("seed memory store: %w", err)
	}
	m := &MemoryStore{
		people: make(map[string]directory.Person, len(people)),
		depts:  make(map[string]directory.Department, len(depts)),
		snap:   snap,
	}
	for _, p := range people {
		m.people[p.ID] = p
	}
	for _, d := range depts {
		m.depts[d.ID] = d
	}
	return m, nil
}

// Snapshot returns the current directory, rebuilt only after a change.
func (m *MemoryStore) Snapshot(ctx context.Context) (*directory.Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory store snapshot: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snap != nil {
		return m.snap, nil
	}
	people := make([]directory.Person, 0, len(m.people))
	for _, p := range m.people {
		people = append(people, p)
	}
	depts := make([]directory.Department, 0, len(m.depts))
	for _, d := range m.depts {
		depts = append(depts, d)
	}
	snap, err := directory.NewDirectory(people, depts)
	if err != nil {
		return nil, fmt.Errorf("memory store snapshot: %w", err)
	}
	m.snap = snap
	return snap, nil
}

// Apply applies the whole batch or, on a conflict, nothing.
func (m *MemoryStore) Apply(ctx context.Context, b directory.Batch) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory store apply %s: %w", b.ImportID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var conflicts []string
	for _, c := range b.Departments {
		cur, ok := m.depts[c.After.ID]
		if ok != (c.Before != nil) || ok && !cur.Equal(*c.Before) {
			conflicts = append(conflicts, "department "+c.After.ID)
		}
	}
	for _, c := range b.People {
		cur, ok := m.people[c.After.ID]
		if ok != (c.Before != nil) || ok && !cur.Equal(*c.Before) {
			conflicts = append(conflicts, "person "+c.After.ID)
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("memory store apply %s: %w: %s", b.ImportID, directory.ErrConflict, strings.Join(conflicts, ", "))
	}
	for _, c := range b.Departments {
		m.depts[c.After.ID] = c.After
		m.published = append(m.published, c.Event)
	}
	for _, c := range b.People {
		m.people[c.After.ID] = c.After
		if c.Event != nil {
			m.published = append(m.published, *c.Event)
		}
	}
	if b.Completed != nil {
		m.published = append(m.published, *b.Completed)
	}
	m.snap = nil
	return nil
}

// PublishedEvents returns every event published so far, in order.
func (m *MemoryStore) PublishedEvents(context.Context) ([]events.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.published), nil
}
