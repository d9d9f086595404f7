package directory

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Directory is an immutable snapshot of everyone and every department, with
// indexes for the queries the services run. Build it with NewDirectory; it is
// safe for concurrent use and never changes, so a store hands out a new one
// after each applied change.
//
// Results are ordered by id so that the same question always gets the same
// answer, whatever order the data was loaded in.
type Directory struct {
	people []Person // ascending by ID; positions below index into it
	pos    map[string]int32

	// super[i] is the position of i's supervisor, or -1 when i has none or
	// the supervisor is not in the directory.
	super []int32
	// loops[i] is true when walking up from i reaches a supervisor cycle.
	// Imports reject cycles, but a snapshot must still answer safely if a
	// store ever holds one, so only those rare walks pay for a visited set.
	loops []bool
	// Direct reports in CSR form: reports of i are
	// reportList[reportStart[i]:reportStart[i+1]], ascending.
	reportStart []int32
	reportList  []int32

	// Audience indexes; department ids match exactly, the free-text fields
	// folded (see fold).
	byDept, byRole, byLevel, byCohort, bySite attrIndex

	depts    []Department // ascending by ID
	deptPos  map[string]int32
	children map[string][]string // department id -> child ids, ascending
}

// NewDirectory builds a snapshot. Each person and department must be valid
// and ids unique; dangling supervisor or parent references and cycles are
// tolerated (queries stop at them) because a snapshot that refuses to load
// would take every service down over one bad record.
func NewDirectory(people []Person, departments []Department) (*Directory, error) {
	var problems []error
	for _, p := range people {
		for _, fe := range p.Validate() {
			problems = append(problems, fmt.Errorf("person %q: %w", p.ID, fe))
		}
	}
	for _, dep := range departments {
		for _, fe := range dep.Validate() {
			problems = append(problems, fmt.Errorf("department %q: %w", dep.ID, fe))
		}
	}

	d := &Directory{
		people:   slices.Clone(people),
		depts:    slices.Clone(departments),
		children: map[string][]string{},
	}
	slices.SortFunc(d.people, func(a, b Person) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(d.depts, func(a, b Department) int { return strings.Compare(a.ID, b.ID) })
	for i := 1; i < len(d.people); i++ {
		if d.people[i].ID == d.people[i-1].ID {
			problems = append(problems, fmt.Errorf("person %q: duplicate id", d.people[i].ID))
		}
	}
	for i := 1; i < len(d.depts); i++ {
		if d.depts[i].ID == d.depts[i-1].ID {
			problems = append(problems, fmt.Errorf("department %q: duplicate id", d.depts[i].ID))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("build directory: %w", errors.Join(problems...))
	}

	n := len(d.people)
	d.pos = make(map[string]int32, n)
	for i, p := range d.people {
		d.pos[p.ID] = int32(i)
	}
	d.super = make([]int32, n)
	counts := make([]int32, n+1)
	for _, ix := range []*attrIndex{&d.byDept, &d.byRole, &d.byLevel, &d.byCohort, &d.bySite} {
		ix.init(n)
	}
	for i, p := range d.people {
		d.super[i] = -1
		if s, ok := d.pos[p.SupervisorID]; ok && p.SupervisorID != "" {
			d.super[i] = s
			counts[s+1]++
		}
		d.byDept.add(int32(i), p.Department, p.Active)
		d.byRole.add(int32(i), fold(p.Role), p.Active)
		d.byLevel.add(int32(i), fold(p.TrainingLevel), p.Active)
		d.byCohort.add(int32(i), fold(p.Cohort), p.Active)
		d.bySite.add(int32(i), fold(p.Site), p.Active)
	}
	// Positions are visited in ascending order, so every report list and
	// index list is already sorted.
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	d.reportStart = counts
	d.reportList = make([]int32, counts[n])
	next := slices.Clone(counts[:n])
	for i, s := range d.super {
		if s >= 0 {
			d.reportList[next[s]] = int32(i)
			next[s]++
		}
	}
	d.loops = findLoops(d.super)

	d.deptPos = make(map[string]int32, len(d.depts))
	for i, dep := range d.depts {
		d.deptPos[dep.ID] = int32(i)
	}
	for _, dep := range d.depts {
		if dep.ParentID != "" {
			d.children[dep.ParentID] = append(d.children[dep.ParentID], dep.ID)
		}
	}
	return d, nil
}

// attrIndex indexes one attribute. Values are interned to small codes so
// that checking a candidate against a criterion is a slice lookup, not a
// string hash.
type attrIndex struct {
	codes map[string]int32 // value key -> code
	lists [][]int32        // code -> ascending positions of active people
	of    []int32          // position -> code; -1 for an empty value
}

func (ix *attrIndex) init(n int) {
	ix.codes = map[string]int32{}
	ix.of = make([]int32, n)
}

func (ix *attrIndex) add(i int32, key string, active bool) {
	ix.of[i] = -1
	if key == "" {
		return
	}
	c, ok := ix.codes[key]
	if !ok {
		c = int32(len(ix.lists))
		ix.codes[key] = c
		ix.lists = append(ix.lists, nil)
	}
	ix.of[i] = c
	if active {
		ix.lists[c] = append(ix.lists[c], i)
	}
}

// findLoops marks every node whose upward walk enters a cycle. Each node is
// settled once, so the cost is linear in the number of people.
func findLoops(up []int32) []bool {
	const (
		unseen = iota
		onPath
		safe
		looping
	)
	state := make([]uint8, len(up))
	var path []int32
	for start := range up {
		path = path[:0]
		cur := int32(start)
		for cur >= 0 && state[cur] == unseen {
			state[cur] = onPath
			path = append(path, cur)
			cur = up[cur]
		}
		verdict := uint8(safe)
		if cur >= 0 && (state[cur] == onPath || state[cur] == looping) {
			verdict = looping
		}
		for _, p := range path {
			state[p] = verdict
		}
	}
	loops := make([]bool, len(up))
	for i, s := range state {
		loops[i] = s == looping
	}
	return loops
}

// fold is the matching key of free-text attributes (role, training level,
// cohort, site): HR exports disagree on case and stray spaces.
func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Len is the number of people, active or not.
func (d *Directory) Len() int { return len(d.people) }

// Get returns the person with id.
func (d *Directory) Get(id string) (Person, bool) {
	i, ok := d.pos[id]
	if !ok {
		return Person{}, false
	}
	return d.people[i], true
}

// People returns everyone, active or not, ordered by id.
func (d *Directory) People() []Person { return slices.Clone(d.people) }

// Department returns the department with id.
func (d *Directory) Department(id string) (Department, bool) {
	i, ok := d.deptPos[id]
	if !ok {
		return Department{}, false
	}
	return d.depts[i], true
}

// Departments returns every department ordered by id.
func (d *Directory) Departments() []Department { return slices.Clone(d.depts) }

// Subdepartments returns the ids of the departments under id (children only,
// or the whole subtree when transitive), ordered by id, without id itself.
func (d *Directory) Subdepartments(id string, transitive bool) []string {
	if !transitive {
		return slices.Clone(d.children[id])
	}
	seen := map[string]bool{id: true}
	var out []string
	queue := []string{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range d.children[cur] {
			if !seen[c] { // a parent cycle must not loop forever
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// SupervisorChain returns id's supervisor, their supervisor and so on
// upward, nearest first, without id itself. It includes inactive people:
// the chain is used to rule out conflicts of interest, where leaving someone
// out is the unsafe mistake. It stops at a supervisor missing from the
// directory and at a repeat, so it always ends.
func (d *Directory) SupervisorChain(id string) []Person {
	var out []Person
	d.walkUp(id, func(i int32) bool {
		out = append(out, d.people[i])
		return true
	})
	return out
}

// InChainOf reports whether otherID is somewhere in personID's supervisory
// chain (a direct or indirect supervisor). A person is not in their own
// chain: callers that must also exclude the person compare ids themselves.
func (d *Directory) InChainOf(personID, otherID string) bool {
	target, ok := d.pos[otherID]
	if !ok {
		return false
	}
	found := false
	d.walkUp(personID, func(i int32) bool {
		found = i == target
		return !found
	})
	return found
}

// WithSupervisors returns ids together with everyone in their supervisory
// chains, deduplicated and ordered by id: the people who must not handle a
// case that names ids. Unknown ids are kept (an id named in a report is
// excluded even when the directory does not know it).
func (d *Directory) WithSupervisors(ids ...string) []string {
	set := make(map[string]struct{}, len(ids)*4)
	for _, id := range ids {
		set[id] = struct{}{}
		d.walkUp(id, func(i int32) bool {
			set[d.people[i].ID] = struct{}{}
			return true
		})
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// walkUp calls visit for each supervisor above id, nearest first, until
// visit returns false, the chain ends, or it would repeat.
func (d *Directory) walkUp(id string, visit func(int32) bool) {
	start, ok := d.pos[id]
	if !ok {
		return
	}
	var seen map[int32]bool
	if d.loops[start] {
		seen = map[int32]bool{start: true}
	}
	for cur := d.super[start]; cur >= 0; cur = d.super[cur] {
		if seen != nil {
			if seen[cur] {
				return
			}
			seen[cur] = true
		}
		if !visit(cur) {
			return
		}
	}
}

// Reports returns the active people supervisorID supervises: direct reports
// only, or everyone below them when transitive. Ordered by id. Inactive
// people are left out of the result but the walk passes through them, so
// the reports of someone who left are still found until they are reassigned.
func (d *Directory) Reports(supervisorID string, transitive bool) []Person {
	start, ok := d.pos[supervisorID]
	if !ok {
		return nil
	}
	direct := func(i int32) []int32 { return d.reportList[d.reportStart[i]:d.reportStart[i+1]] }
	var found []int32
	if !transitive {
		found = direct(start)
	} else {
		seen := newBitset(len(d.people))
		seen.set(start)
		// found doubles as the BFS queue.
		found = append(found, direct(start)...)
		for _, r := range found {
			seen.set(r)
		}
		for next := 0; next < len(found); next++ {
			for _, r := range direct(found[next]) {
				if !seen.has(r) {
					seen.set(r)
					found = append(found, r)
				}
			}
		}
		found = seen.clear(start).positions(found[:0])
	}
	out := make([]Person, 0, len(found))
	for _, i := range found {
		if d.people[i].Active {
			out = append(out, d.people[i])
		}
	}
	return out
}

// bitset over person positions; scanning it yields positions in order,
// which is cheaper than sorting when a result covers much of the directory.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int32)          { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) has(i int32) bool     { return b[i/64]&(1<<(uint(i)%64)) != 0 }
func (b bitset) clear(i int32) bitset { b[i/64] &^= 1 << (uint(i) % 64); return b }

// positions appends the set positions in ascending order to dst.
func (b bitset) positions(dst []int32) []int32 {
	for w, word := range b {
		for word != 0 {
			dst = append(dst, int32(w*64+bits.TrailingZeros64(word)))
			word &= word - 1
		}
	}
	return dst
}
