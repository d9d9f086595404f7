package directory

import (
	"slices"
)

// Audience selects people, e.g. everyone a training is assigned to.
//
// Within one field the values are alternatives (OR); across the non-empty
// fields all must hold (AND). People lists ids that are always included on
// top of the match. Departments and People are ids and match exactly; Roles,
// TrainingLevels, Cohorts and Sites ignore case and surrounding spaces.
// Inactive people are never members, not even when listed in People.
//
// An Audience with no criteria and no People matches nobody, so a form left
// empty never assigns a training to the whole hospital.
type Audience struct {
	Departments []string
	// IncludeSubdepartments widens Departments to every department below
	// them in the department tree.
	IncludeSubdepartments bool
	Roles                 []string
	TrainingLevels        []string
	Cohorts               []string
	Sites                 []string
	People                []string
}

// IsEmpty reports whether a matches nobody by construction.
func (a Audience) IsEmpty() bool {
	return len(a.Departments) == 0 && len(a.Roles) == 0 && len(a.TrainingLevels) == 0 &&
		len(a.Cohorts) == 0 && len(a.Sites) == 0 && len(a.People) == 0
}

// criterion is one non-empty Audience field against its index.
type criterion struct {
	ix    *attrIndex
	want  []bool  // by value code
	codes []int32 // distinct wanted codes present in the directory
	size  int     // candidates this field alone would yield
}

func newCriterion(ix *attrIndex, values []string, norm func(string) string) criterion {
	c := criterion{ix: ix, want: make([]bool, len(ix.lists))}
	for _, v := range values {
		code, ok := ix.codes[norm(v)]
		if !ok || c.want[code] {
			continue
		}
		c.want[code] = true
		c.codes = append(c.codes, code)
		c.size += len(ix.lists[code])
	}
	return c
}

func (c criterion) matches(i int32) bool {
	code := c.ix.of[i]
	return code >= 0 && c.want[code]
}

// Members returns the active people a selects, ordered by id.
func (d *Directory) Members(a Audience) []Person {
	picked := d.members(a)
	out := make([]Person, len(picked))
	for j, i := range picked {
		out[j] = d.people[i]
	}
	return out
}

// MemberIDs is Members returning ids only: for an audience of thousands it
// copies a tenth of the memory.
func (d *Directory) MemberIDs(a Audience) []string {
	picked := d.members(a)
	out := make([]string, len(picked))
	for j, i := range picked {
		out[j] = d.people[i].ID
	}
	return out
}

// members returns the positions a selects, ascending. It starts from the
// field with the fewest candidates and checks the other fields on each
// candidate, so the cost follows the smallest matching group, not the size
// of the hospital.
func (d *Directory) members(a Audience) []int32 {
	var crits []criterion
	exact := func(s string) string { return s }
	if len(a.Departments) > 0 {
		depts := a.Departments
		if a.IncludeSubdepartments {
			depts = slices.Clone(depts)
			for _, id := range a.Departments {
				depts = append(depts, d.Subdepartments(id, true)...)
			}
		}
		crits = append(crits, newCriterion(&d.byDept, depts, exact))
	}
	for _, f := range []struct {
		ix     *attrIndex
		values []string
	}{{&d.byRole, a.Roles}, {&d.byLevel, a.TrainingLevels}, {&d.byCohort, a.Cohorts}, {&d.bySite, a.Sites}} {
		if len(f.values) > 0 {
			crits = append(crits, newCriterion(f.ix, f.values, fold))
		}
	}

	var picked []int32
	sorted := true
	if len(crits) > 0 {
		smallest := 0
		for i, c := range crits {
			if c.size < crits[smallest].size {
				smallest = i
			}
		}
		base := crits[smallest]
		picked = make([]int32, 0, base.size)
		// A person has one value per field, so the lists of different
		// values are disjoint and concatenating them has no duplicates.
		for _, code := range base.codes {
			for _, i := range base.ix.lists[code] {
				if matchesAll(i, crits, smallest) {
					picked = append(picked, i)
				}
			}
		}
		sorted = len(base.codes) <= 1
	}
	for _, id := range a.People {
		if i, ok := d.pos[id]; ok && d.people[i].Active {
			picked = append(picked, i)
			sorted = false
		}
	}
	if !sorted {
		if len(picked) > len(d.people)/64 {
			set := newBitset(len(d.people))
			for _, i := range picked {
				set.set(i)
			}
			picked = set.positions(picked[:0])
		} else {
			slices.Sort(picked)
			picked = slices.Compact(picked)
		}
	}
	return picked
}

func matchesAll(i int32, crits []criterion, skip int) bool {
	for j, c := range crits {
		if j != skip && !c.matches(i) {
			return false
		}
	}
	return true
}
