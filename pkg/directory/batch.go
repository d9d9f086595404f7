package directory

import (
	"fmt"
	"slices"
	"strings"
)

// locator turns a field of one parsed row into a RowError pointing at where
// that field came from, in the terms of the input format.
type locator interface {
	at(field string) RowError
}

// lineLoc locates a CSV row by physical line.
type lineLoc int

func (l lineLoc) at(field string) RowError { return RowError{Line: int(l), Field: field} }

// indexLoc locates a JSON array element.
type indexLoc struct {
	section string
	index   int
}

func (l indexLoc) at(field string) RowError {
	return RowError{Section: l.section, Index: l.index, Field: field}
}

func where(l locator) string {
	r := l.at("")
	r.Reason = ""
	return strings.TrimSuffix(r.String(), ": ")
}

// batch collects what a parser read, with the origin of every row, and the
// problems found so far. finish runs the checks that need the whole batch.
type batch struct {
	source   ImportSource
	people   []Person
	peopleAt []locator
	depts    []Department
	deptsAt  []locator
	problems []RowError
	// failed marks fields that already have a decoding problem (a number
	// where a string belongs), so Validate does not add "required" on top.
	failed map[rowField]bool
}

type rowField struct {
	at    locator
	field string
}

func (b *batch) fail(l locator, field, reason string) {
	r := l.at(field)
	r.Reason = reason
	b.problems = append(b.problems, r)
	if field != "" {
		if b.failed == nil {
			b.failed = map[rowField]bool{}
		}
		b.failed[rowField{l, field}] = true
	}
}

// suppress keeps Validate quiet about fields whose absence is already
// explained by another problem.
func (b *batch) suppress(l locator, fields ...string) {
	if b.failed == nil {
		b.failed = map[rowField]bool{}
	}
	for _, f := range fields {
		b.failed[rowField{l, f}] = true
	}
}

func (b *batch) addPerson(p Person, l locator) {
	b.people = append(b.people, p)
	b.peopleAt = append(b.peopleAt, l)
}

func (b *batch) addDepartment(d Department, l locator) {
	b.depts = append(b.depts, d)
	b.deptsAt = append(b.deptsAt, l)
}

// reject returns the collected problems as an *ImportError.
func (b *batch) reject() error {
	sortRows(b.problems)
	return &ImportError{Source: b.source, Rows: b.problems}
}

// finish validates every row and the batch as a whole: unique ids, known
// departments, supervisors and leads that exist, no cycles. It returns the
// batch only when there is no problem at all.
func (b *batch) finish(opts ParseOptions) ([]Person, []Department, error) {
	for i, p := range b.people {
		for _, fe := range p.Validate() {
			if !b.failed[rowField{b.peopleAt[i], fe.Field}] {
				b.fail(b.peopleAt[i], fe.Field, fe.Reason)
			}
		}
	}
	for i, d := range b.depts {
		for _, fe := range d.Validate() {
			if !b.failed[rowField{b.deptsAt[i], fe.Field}] {
				b.fail(b.deptsAt[i], fe.Field, fe.Reason)
			}
		}
	}

	// First occurrence of each id; later ones are duplicates.
	deptIdx := make(map[string]int, len(b.depts))
	for i, d := range b.depts {
		if first, dup := deptIdx[d.ID]; dup {
			b.fail(b.deptsAt[i], FieldID, fmt.Sprintf("duplicate department id %q, first at %s", d.ID, where(b.deptsAt[first])))
			continue
		}
		deptIdx[d.ID] = i
	}
	personIdx := make(map[string]int, len(b.people))
	for i, p := range b.people {
		if first, dup := personIdx[p.ID]; dup {
			b.fail(b.peopleAt[i], FieldID, fmt.Sprintf("duplicate person id %q, first at %s", p.ID, where(b.peopleAt[first])))
			continue
		}
		personIdx[p.ID] = i
	}

	personExists := func(id string) bool {
		if _, ok := personIdx[id]; ok {
			return true
		}
		if opts.ExistingPerson != nil {
			_, ok := opts.ExistingPerson(id)
			return ok
		}
		return false
	}
	deptExists := func(id string) bool {
		if _, ok := deptIdx[id]; ok {
			return true
		}
		if opts.ExistingDepartment != nil {
			_, ok := opts.ExistingDepartment(id)
			return ok
		}
		return false
	}
	checkDepts := len(b.depts) > 0 || opts.ExistingDepartment != nil

	for i, p := range b.people {
		if checkDepts && ValidID(p.Department) && !deptExists(p.Department) {
			b.fail(b.peopleAt[i], FieldDepartment, fmt.Sprintf("unknown department %q: not in this import nor in the directory", p.Department))
		}
		if p.SupervisorID != "" && p.SupervisorID != p.ID && ValidID(p.SupervisorID) && !personExists(p.SupervisorID) {
			b.fail(b.peopleAt[i], FieldSupervisorID, fmt.Sprintf("unknown person %q: not in this import nor in the directory", p.SupervisorID))
		}
	}
	for i, d := range b.depts {
		if d.ParentID != "" && d.ParentID != d.ID && ValidID(d.ParentID) && !deptExists(d.ParentID) {
			b.fail(b.deptsAt[i], FieldParentID, fmt.Sprintf("unknown department %q: not in this import nor in the directory", d.ParentID))
		}
		if d.LeadID != "" && ValidID(d.LeadID) && !personExists(d.LeadID) {
			b.fail(b.deptsAt[i], FieldLeadID, fmt.Sprintf("unknown person %q: not in this import nor in the directory", d.LeadID))
		}
	}

	// Cycles are looked for in the directory as it would be after the
	// import: batch rows replace existing people of the same id.
	b.findCycles(FieldSupervisorID, len(b.people), personIdx,
		func(i int) (string, string) { return b.people[i].ID, b.people[i].SupervisorID },
		func(id string) string {
			if opts.ExistingPerson == nil {
				return ""
			}
			p, _ := opts.ExistingPerson(id)
			return p.SupervisorID
		},
		func(i int) locator { return b.peopleAt[i] })
	b.findCycles(FieldParentID, len(b.depts), deptIdx,
		func(i int) (string, string) { return b.depts[i].ID, b.depts[i].ParentID },
		func(id string) string {
			if opts.ExistingDepartment == nil {
				return ""
			}
			d, _ := opts.ExistingDepartment(id)
			return d.ParentID
		},
		func(i int) locator { return b.deptsAt[i] })

	if len(b.problems) > 0 {
		return nil, nil, b.reject()
	}
	return b.people, b.depts, nil
}

// findCycles walks upward (supervisor or parent) from every batch row and
// reports each cycle once on every batch row that is part of it. Each id is
// settled once, so the cost is linear in batch plus visited existing rows.
func (b *batch) findCycles(field string, n int, idx map[string]int,
	row func(i int) (id, up string), existingUp func(id string) string, loc func(i int) locator) {
	upOf := func(id string) string {
		up := ""
		if i, ok := idx[id]; ok {
			_, up = row(i)
		} else {
			up = existingUp(id)
		}
		if up == id {
			return "" // self-reference is reported by Validate, not as a cycle
		}
		return up
	}
	const (
		onPath = 1
		done   = 2
	)
	state := make(map[string]uint8, n)
	var path []string
	for i := 0; i < n; i++ {
		id, _ := row(i)
		if first, ok := idx[id]; !ok || first != i || state[id] != 0 {
			continue // duplicates were reported already; settled ids need no walk
		}
		path = path[:0]
		cur := id
		for cur != "" && state[cur] == 0 {
			state[cur] = onPath
			path = append(path, cur)
			cur = upOf(cur)
		}
		if cur != "" && state[cur] == onPath {
			start := 0
			for path[start] != cur {
				start++
			}
			cycle := path[start:]
			// Start the description at the cycle's first row in the input,
			// whichever row the walk happened to enter it from.
			first := -1
			for k, member := range cycle {
				if j, ok := idx[member]; ok && (first < 0 || j < idx[cycle[first]]) {
					first = k
				}
			}
			if first < 0 {
				first = 0
			}
			desc := describeCycle(append(slices.Clone(cycle[first:]), cycle[:first]...))
			for _, member := range cycle {
				if j, ok := idx[member]; ok {
					b.fail(loc(j), field, "forms a cycle: "+desc)
				}
			}
		}
		for _, p := range path {
			state[p] = done
		}
	}
}

func describeCycle(ids []string) string {
	const shown = 8
	var b strings.Builder
	for i, id := range ids {
		if i == shown {
			fmt.Fprintf(&b, " → … (%d more)", len(ids)-shown)
			break
		}
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(id)
	}
	b.WriteString(" → ")
	b.WriteString(ids[0])
	return b.String()
}
