package app

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/deiops/deiops/workflows/escalation"
)

// Queue sorts.
const (
	SortOpened       = "opened"  // oldest first (the default): the longest wait leads
	SortOpenedNewest = "-opened" // newest first
	SortDue          = "due"     // the longest overdue first, then the nearest clock, then no clock
)

// Queue limits (the platform's page sizes).
const (
	DefaultQueueLimit = page.DefaultLimit
	MaxQueueLimit     = page.MaxLimit
)

// CaseQuery selects one page of the cases a caller is on.
type CaseQuery struct {
	// States keeps cases in one of these states; empty keeps every state.
	States     []domain.State
	Category   string
	Department string
	// Overdue keeps cases whose policy clock has run out.
	Overdue bool
	Sort    string
	Limit   int
	// After is the cursor of the previous page's Next.
	After string
}

// CasePage is one page of the queue. Total counts every case the query
// selects, across pages.
type CasePage struct {
	Cases []Summary `json:"cases"`
	Total int       `json:"total"`
	Next  string    `json:"next,omitempty"`
}

// Validate names each bad parameter.
func (q CaseQuery) Validate() []fault.Field {
	var bad []fault.Field
	for _, s := range q.States {
		if !s.Known() {
			bad = append(bad, fault.Field{Field: "state", Reason: fmt.Sprintf("%q is not a case state", s)})
		}
	}
	switch q.Sort {
	case "", SortOpened, SortOpenedNewest, SortDue:
	default:
		bad = append(bad, fault.Field{Field: "sort", Reason: "must be opened, -opened or due"})
	}
	if _, err := page.Size(q.Limit); err != nil {
		bad = append(bad, fault.Field{Field: "limit", Reason: err.Error()})
	}
	if _, _, err := decodeCursor(q.After); err != nil {
		bad = append(bad, fault.Field{Field: "after", Reason: "is not a cursor this service issued"})
	}
	return bad
}

// Queue returns one page of the cases the caller is on, each with where it
// stands against its department's escalation policy now. The clocks come
// from the policy and the case (escalation.Schedule.DeadlineAt), not from
// each case's workflow, so a page over 10,000 cases costs no call.
func (s *Service) Queue(ctx context.Context, a caller.Actor, q CaseQuery) (CasePage, error) {
	if bad := q.Validate(); len(bad) > 0 {
		return CasePage{}, fault.InvalidFields("invalid case query", bad...)
	}
	q.Limit, _ = page.Size(q.Limit) // validated above
	now := s.o.Now()
	schedule := s.schedules(ctx)
	clock := func(c *Summary) (escalation.Deadline, bool) {
		sc, ok := schedule(c.ID, c.Department)
		if !ok {
			return escalation.Deadline{}, false
		}
		return sc.DeadlineAt(c.roundStart(), c.AcknowledgedAt, c.State.Resolved(), now), true
	}
	shared := s.visible(a, func(c *Summary) bool {
		return (len(q.States) == 0 || slices.Contains(q.States, c.State)) &&
			(q.Category == "" || c.Category == q.Category) && (q.Department == "" || c.Department == q.Department)
	})
	// Each candidate is a pointer to the index's summary and its sort key:
	// 32 bytes, not a copy of the summary; only the page's cases are copied
	// (and their clocks computed again, which costs less than keeping them).
	type candidate struct {
		c   *Summary
		key time.Time
	}
	picked := make([]candidate, 0, len(shared))
	for _, c := range shared {
		d, _ := clock(c)
		if q.Overdue && !d.Overdue {
			continue
		}
		picked = append(picked, candidate{c, sortKey(q.Sort, c, d)})
	}
	desc := q.Sort == SortOpenedNewest
	compare := func(x candidate, at time.Time, id string) int {
		n := x.key.Compare(at)
		if n == 0 {
			n = strings.Compare(x.c.ID, id)
		}
		if desc {
			return -n
		}
		return n
	}
	slices.SortFunc(picked, func(x, y candidate) int { return compare(x, y.key, y.c.ID) })
	out := CasePage{Total: len(picked), Cases: []Summary{}}
	start := 0
	if at, id, _ := decodeCursor(q.After); id != "" {
		// The first case after the cursor's (which belongs to the previous page).
		start, _ = slices.BinarySearchFunc(picked, 0, func(x candidate, _ int) int {
			if n := compare(x, at, id); n > 0 {
				return 1
			}
			return -1
		})
	}
	end := min(start+q.Limit, len(picked))
	for _, x := range picked[start:end] {
		c := *x.c
		if d, ok := clock(x.c); ok {
			c.EscalationLevel, c.NextLevel, c.NextDueAt, c.Overdue, c.OverdueSince = d.Reached, d.Next, d.NextDue, d.Overdue, d.OverdueSince
		}
		out.Cases = append(out.Cases, c)
	}
	if end < len(picked) {
		last := picked[end-1]
		out.Next = encodeCursor(last.key, last.c.ID)
	}
	return out, nil
}

// noClock sorts cases without a running clock after every other.
var noClock = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// sortKey is a case's place in the queue: for "due", the first broken
// deadline, else the next one, else last; otherwise its opening.
func sortKey(sort string, c *Summary, d escalation.Deadline) time.Time {
	if sort != SortDue {
		return c.OpenedAt
	}
	switch {
	case d.Overdue:
		return d.OverdueSince
	case d.NextDue.IsZero():
		return noClock
	}
	return d.NextDue
}

// schedules returns, per case, the escalation schedule its clocks follow:
// the policy version its workflow started with (cases keep theirs,
// whatever is published later), or, before the start, its department's
// current policy, which the start will take. Each policy is read once per
// call of schedules. A policy that cannot be read leaves its cases without
// a clock rather than failing the page.
func (s *Service) schedules(ctx context.Context) func(caseID, department string) (escalation.Schedule, bool) {
	type key struct {
		id      string // policy id, or "" for a department's current policy
		scope   string // policy version, or department
		version int
	}
	type schedule struct {
		s  escalation.Schedule
		ok bool
	}
	seen := map[key]schedule{}
	read := func(k key) (escalation.Schedule, bool) {
		sc, ok := seen[k]
		if ok {
			return sc.s, sc.ok
		}
		var p escalation.Policy
		var err error
		if k.id != "" {
			p, err = s.o.PolicyVersion(ctx, k.id, k.version)
		} else {
			p, err = s.o.Policy(ctx, k.scope)
		}
		if err == nil {
			sc.s, err = p.Schedule()
		}
		if err != nil {
			s.o.Logger.WarnContext(ctx, "escalation policy unavailable; its cases show no clock", "policy_id", k.id, "version", k.version,
				"department", k.scope, "error", err)
		}
		sc.ok = err == nil
		seen[k] = sc
		return sc.s, sc.ok
	}
	return func(caseID, department string) (escalation.Schedule, bool) {
		if s.o.Starts != nil && s.o.PolicyVersion != nil {
			if id, version, ok := s.o.Starts.Get(caseID); ok && id != "" {
				return read(key{id: id, version: version})
			}
		}
		if s.o.Policy == nil {
			return escalation.Schedule{}, false
		}
		return read(key{scope: department})
	}
}

// A cursor is the sort key and id of the last case of a page: the next
// page starts after it however the queue changed in between.
func encodeCursor(at time.Time, id string) string {
	return page.Encode("cases", strconv.FormatInt(at.UnixNano(), 10), id)
}

func decodeCursor(s string) (time.Time, string, error) {
	key, err := page.Decode("cases", s, 2)
	if err != nil || key == nil {
		return time.Time{}, "", err
	}
	n, err := strconv.ParseInt(key[0], 10, 64)
	if err != nil || key[1] == "" {
		return time.Time{}, "", page.ErrCursor
	}
	return time.Unix(0, n).UTC(), key[1], nil
}
