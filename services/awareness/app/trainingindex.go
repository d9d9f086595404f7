package app

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/services/awareness/domain"
)

// TrainingIndex is the read model of every training record: in due order,
// by assignment and by person. Leaders' views and an assignment's people
// answer from it in time that follows the page asked for, not the size of
// the hospital. A follower of the trainings bucket (store.Follow) keeps it
// current and rebuilds it on start; it holds nothing that is not in the
// bucket.
//
// Records are never changed in place: a write installs a new value, so
// what a query hands out stays as it was read.
type TrainingIndex struct {
	mu         sync.RWMutex
	byKey      map[string]*domain.Training
	due        *btree.BTreeG[dueItem] // records not removed
	assignment map[string]*btree.BTreeG[personItem]
	person     map[string][]*domain.Training
	budget     int // walkBudget; tests lower it to take both roads
	// reports are the completion counts of an assignment's cycle by
	// group, kept as records change once a report has asked for them.
	reports map[reportKey]*reportAgg
}

type reportKey struct {
	assignment, by string
	cycle          int
}

// reportAgg counts per group under the directory snapshot it was built
// with (a new snapshot rebuilds it: people may have moved groups).
type reportAgg struct {
	d      *directory.Directory
	groups map[string]*groupAgg
}

// groupAgg counts one group. Whether an assigned or started record is
// overdue depends on the time of the question, so those are kept by due
// date.
type groupAgg struct {
	people, completed, exempt, overdue int
	open                               map[int64]int // due (unix nanoseconds) → records still owed
}

func (a *reportAgg) add(k reportKey, t *domain.Training, sign int) {
	if t.Status() == domain.StatusRemoved || t.Cycle() != k.cycle {
		return
	}
	p, _ := a.d.Get(t.PersonID())
	g := groupOf(p, k.by)
	ga := a.groups[g]
	if ga == nil {
		ga = &groupAgg{open: map[int64]int{}}
		a.groups[g] = ga
	}
	ga.people += sign
	switch t.Status() {
	case domain.StatusCompleted:
		ga.completed += sign
	case domain.StatusExempt:
		ga.exempt += sign
	case domain.StatusOverdue:
		ga.overdue += sign
	default:
		due := t.DueAt().UnixNano()
		if ga.open[due] += sign; ga.open[due] == 0 {
			delete(ga.open, due)
		}
	}
	if ga.people == 0 {
		delete(a.groups, g)
	}
}

// report counts an assignment's cycle by group as of now, from counts
// kept as records change: a question costs the number of groups, not
// the number of people. The first question under a directory snapshot
// counts the assignment's records once.
func (x *TrainingIndex) report(assignmentID, by string, cycle int, d *directory.Directory, now time.Time) map[string]*ReportRow {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := reportKey{assignment: assignmentID, by: by, cycle: cycle}
	a := x.reports[k]
	if a == nil || a.d != d {
		for other, oa := range x.reports {
			// Counts under an earlier snapshot are stale (and would keep
			// that snapshot in memory); an earlier cycle's are not asked for.
			if oa.d != d || (other.assignment == assignmentID && other.by == by) {
				delete(x.reports, other)
			}
		}
		a = &reportAgg{d: d, groups: map[string]*groupAgg{}}
		if tr := x.assignment[assignmentID]; tr != nil {
			tr.Ascend(func(it personItem) bool { a.add(k, it.t, 1); return true })
		}
		x.reports[k] = a
	}
	cut := now.UnixNano()
	out := make(map[string]*ReportRow, len(a.groups))
	for g, ga := range a.groups {
		row := &ReportRow{Group: g, People: ga.people, Completed: ga.completed, Exempt: ga.exempt, Overdue: ga.overdue}
		for due, n := range ga.open {
			if due < cut {
				row.Overdue += n
			}
		}
		out[g] = row
	}
	return out
}

// counted applies a record's change to the kept report counts (mu held).
func (x *TrainingIndex) counted(t *domain.Training, sign int) {
	for k, a := range x.reports {
		if k.assignment == t.AssignmentID() {
			a.add(k, t, sign)
		}
	}
}

// dueItem orders records by due date, then person, then assignment.
type dueItem struct {
	due            int64 // unix nanoseconds
	person, assign string
	t              *domain.Training
}

func dueLess(a, b dueItem) bool {
	if a.due != b.due {
		return a.due < b.due
	}
	if a.person != b.person {
		return a.person < b.person
	}
	return a.assign < b.assign
}

func dueOf(t *domain.Training) dueItem {
	return dueItem{due: t.DueAt().UnixNano(), person: t.PersonID(), assign: t.AssignmentID(), t: t}
}

// personItem orders an assignment's records by person.
type personItem struct {
	person string
	t      *domain.Training
}

func personLess(a, b personItem) bool { return a.person < b.person }

// The B-trees' node size; 32 keeps a 300,000-record tree four levels deep.
const degree = 32

// NewTrainingIndex returns an empty index.
func NewTrainingIndex() *TrainingIndex {
	x := &TrainingIndex{budget: walkBudget}
	x.Load(map[string]*domain.Training{}, nil)
	return x
}

// Load replaces the index with a complete load (store.Sink); a record
// whose latest version cannot be read keeps the version the index held.
func (x *TrainingIndex) Load(vals map[string]*domain.Training, unreadable []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range unreadable {
		if old, ok := x.byKey[k]; ok {
			vals[k] = old
		}
	}
	x.byKey = make(map[string]*domain.Training, len(vals))
	x.due = btree.NewG(degree, dueLess)
	x.assignment = map[string]*btree.BTreeG[personItem]{}
	x.person = map[string][]*domain.Training{}
	x.reports = map[reportKey]*reportAgg{}
	for k, t := range vals {
		x.put(k, t)
	}
}

// Put installs a record's new value (store.Sink).
func (x *TrainingIndex) Put(key string, t *domain.Training) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.remove(key)
	x.put(key, t)
}

// Delete drops a record (store.Sink).
func (x *TrainingIndex) Delete(key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.remove(key)
}

func (x *TrainingIndex) put(key string, t *domain.Training) {
	x.byKey[key] = t
	x.counted(t, 1)
	if t.Status() != domain.StatusRemoved {
		x.due.ReplaceOrInsert(dueOf(t))
	}
	tr := x.assignment[t.AssignmentID()]
	if tr == nil {
		tr = btree.NewG(degree, personLess)
		x.assignment[t.AssignmentID()] = tr
	}
	tr.ReplaceOrInsert(personItem{person: t.PersonID(), t: t})
	x.person[t.PersonID()] = append(x.person[t.PersonID()], t)
}

func (x *TrainingIndex) remove(key string) {
	old, ok := x.byKey[key]
	if !ok {
		return
	}
	delete(x.byKey, key)
	x.counted(old, -1)
	x.due.Delete(dueOf(old))
	if tr := x.assignment[old.AssignmentID()]; tr != nil {
		tr.Delete(personItem{person: old.PersonID()})
		if tr.Len() == 0 {
			delete(x.assignment, old.AssignmentID())
		}
	}
	rest := slices.DeleteFunc(slices.Clone(x.person[old.PersonID()]), func(t *domain.Training) bool { return t == old })
	if len(rest) == 0 {
		delete(x.person, old.PersonID())
	} else {
		x.person[old.PersonID()] = rest
	}
}

// Len is the number of records.
func (x *TrainingIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byKey)
}

// personRecords lists a person's records that are not removed, by due date.
func (x *TrainingIndex) personRecords(person string) []*domain.Training {
	x.mu.RLock()
	out := slices.DeleteFunc(slices.Clone(x.person[person]), func(t *domain.Training) bool { return t.Status() == domain.StatusRemoved })
	x.mu.RUnlock()
	slices.SortFunc(out, func(a, b *domain.Training) int {
		if c := a.DueAt().Compare(b.DueAt()); c != 0 {
			return c
		}
		return cmp.Compare(a.AssignmentID(), b.AssignmentID())
	})
	return out
}

// eachOfAssignment visits an assignment's records by person.
func (x *TrainingIndex) eachOfAssignment(assignmentID string, fn func(*domain.Training)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if tr := x.assignment[assignmentID]; tr != nil {
		tr.Ascend(func(it personItem) bool { fn(it.t); return true })
	}
}

// Cursor list names.
const (
	listAssignmentPeople = "assignment-people"
	listTeam             = "team"
)

// assignmentPage is one page of an assignment's records by person, those
// keep accepts only.
func (x *TrainingIndex) assignmentPage(assignmentID, after string, limit int, keep func(*domain.Training) bool) (page.Page[*domain.Training], error) {
	var from string
	if after != "" {
		key, err := page.Decode(listAssignmentPeople+":"+assignmentID, after, 1)
		if err != nil {
			return page.Page[*domain.Training]{}, afterError(err)
		}
		from = key[0]
	}
	items := make([]*domain.Training, 0, min(limit+1, 64))
	x.mu.RLock()
	if tr := x.assignment[assignmentID]; tr != nil {
		tr.AscendGreaterOrEqual(personItem{person: from}, func(it personItem) bool {
			if after != "" && it.person == from {
				return true
			}
			if keep == nil || keep(it.t) {
				items = append(items, it.t)
			}
			return len(items) <= limit
		})
	}
	x.mu.RUnlock()
	p := page.Page[*domain.Training]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.Next = page.Encode(listAssignmentPeople+":"+assignmentID, items[limit-1].PersonID())
	}
	return p, nil
}

// walkBudget bounds how many records a team page walks in due order
// looking for the leader's people before it gathers them from the
// directory instead: a leader of thousands fills a page within a few
// steps, a leader of a handful is answered from their reports.
const walkBudget = 2_500

// teamPage is one page, in due order, of the records (not removed) of the
// active people below leader in d, those keep accepts only. Records due at
// or after until (when not zero) are not looked at.
func (x *TrainingIndex) teamPage(d *directory.Directory, leader, after string, limit int, until time.Time, keep func(*domain.Training) bool) (page.Page[*domain.Training], error) {
	var from dueItem
	if after != "" {
		key, err := page.Decode(listTeam, after, 3)
		if err != nil {
			return page.Page[*domain.Training]{}, afterError(err)
		}
		n, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil {
			return page.Page[*domain.Training]{}, afterError(page.ErrCursor)
		}
		from = dueItem{due: n, person: key[1], assign: key[2]}
	}
	if _, ok := d.Get(leader); !ok {
		return page.Page[*domain.Training]{Items: []*domain.Training{}}, nil // nobody is below someone the directory does not know
	}
	stop := int64(1<<63 - 1)
	if !until.IsZero() {
		stop = until.UnixNano()
	}
	accept := func(t *domain.Training) bool { return keep == nil || keep(t) }
	inTeam := func(person string) bool {
		p, ok := d.Get(person)
		return ok && p.Active && d.InChainOf(person, leader)
	}
	items := make([]*domain.Training, 0, min(limit+1, 64))
	x.mu.RLock()
	steps, exhausted := 0, true
	x.due.AscendGreaterOrEqual(from, func(it dueItem) bool {
		if after != "" && !dueLess(from, it) {
			return true
		}
		if it.due >= stop {
			return false
		}
		if steps++; steps > x.budget {
			exhausted = false
			return false
		}
		if inTeam(it.person) && accept(it.t) {
			items = append(items, it.t)
		}
		return len(items) <= limit
	})
	if !exhausted {
		// Few of the records walked were the leader's: start from the
		// leader's people instead.
		items = items[:0]
		var found []dueItem
		for _, p := range d.Reports(leader, true) {
			for _, t := range x.person[p.ID] {
				it := dueOf(t)
				if t.Status() != domain.StatusRemoved && (after == "" || dueLess(from, it)) && it.due < stop && accept(t) {
					found = append(found, it)
				}
			}
		}
		slices.SortFunc(found, func(a, b dueItem) int {
			if dueLess(a, b) {
				return -1
			}
			if dueLess(b, a) {
				return 1
			}
			return 0
		})
		for _, it := range found[:min(len(found), limit+1)] {
			items = append(items, it.t)
		}
	}
	x.mu.RUnlock()
	p := page.Page[*domain.Training]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		last := dueOf(items[limit-1])
		p.Next = page.Encode(listTeam, strconv.FormatInt(last.due, 10), last.person, last.assign)
	}
	return p, nil
}

func afterError(err error) error {
	return unprocessable("the cursor is not valid", "after", err.Error())
}

// TrainingPeopleQuery asks for one page of an assignment's people.
type TrainingPeopleQuery struct {
	// Status keeps only records whose status as people see it is this
	// (domain.Status values); empty keeps every record.
	Status string
	After  string // the previous page's Next
	Limit  int    // 1..page.MaxLimit; 0 means page.DefaultLimit
}

// TeamQuery asks for one page of a leader's view.
type TeamQuery struct {
	After string
	Limit int
}

func limitOf(n int) (int, error) {
	n, err := page.Size(n)
	if err != nil {
		return 0, unprocessable("the page size is out of range", "limit", err.Error())
	}
	return n, nil
}

// syncTrainings waits for the index to hold every write made before the
// call, so a caller reads what it has just written.
func (s *Service) syncTrainings(ctx context.Context) error {
	if s.o.SyncTrainings == nil {
		return nil
	}
	return s.o.SyncTrainings(ctx)
}
