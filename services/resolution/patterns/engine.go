package patterns

import (
	"strings"
	"sync"
	"time"
)

// Observation is one report as the pattern engine sees it: codes and keyed
// hashes only.
type Observation struct {
	EventID    string    // dedup key: Observe is idempotent by EventID
	CaseID     string    // case the report belongs to
	Department string    // department code; "" counts as "unknown"
	Category   string    // racism, microaggression, ...; "" counts as "unknown"
	Roles      []string  // roles of involved parties; none counts once as "unknown"
	At         time.Time // when it occurred; bucketed by ISO week (UTC)
	Reporter   string    // keyed hash of the reporter; "" = anonymous (the case counts as the reporter)
	Subjects   []string  // keyed hashes of people named in the report
}

// Unknown is the code used for a missing department, category or role.
const Unknown = "unknown"

// seriesKey names one department × category report-count series.
type seriesKey struct{ dept, cat string }

// series holds report counts per week for one department × category.
type series struct {
	first week         // earliest week observed: the baseline starts no earlier
	weeks map[week]int // report counts by week
}

// roleKey names one involvement cell.
type roleKey struct {
	dept, cat, role string
	w               week
}

// reporterKey identifies a reporter: a reporter hash, or for an anonymous
// report the case (or, failing that, the event) standing in for one. The
// flag keeps the two namespaces apart.
type reporterKey struct {
	anonymous bool
	id        string
}

// subject accumulates the reports that name one subject hash.
type subject struct {
	reports     int
	anonymous   int
	reporters   map[reporterKey]struct{}
	cases       map[string]struct{}
	departments map[string]struct{}
	first, last time.Time
}

// Engine folds observations into aggregates. It is safe for concurrent use.
type Engine struct {
	opts Options

	mu       sync.RWMutex
	seen     map[string]struct{} // applied EventIDs
	series   map[seriesKey]*series
	roles    map[roleKey]int
	subjects map[string]*subject
	// repeats indexes subjects named by ≥ 2 distinct reporters, so
	// RepeatSubjects need not scan every subject ever named.
	repeats map[string]*subject
}

// New returns an empty engine; zero Options fields take their defaults.
func New(opts Options) (*Engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Engine{
		opts:     opts.withDefaults(),
		seen:     make(map[string]struct{}),
		series:   make(map[seriesKey]*series),
		roles:    make(map[roleKey]int),
		subjects: make(map[string]*subject),
		repeats:  make(map[string]*subject),
	}, nil
}

// Options returns the effective options (defaults applied).
func (e *Engine) Options() Options { return e.opts }

// Observe folds o into the aggregates and reports whether it was applied.
// It is idempotent by EventID: a duplicate changes nothing and returns
// false. An observation with an empty EventID (cannot be deduplicated) or
// a zero At (cannot be bucketed) is not applied either. The cost is
// O(len(Roles)+len(Subjects)), independent of how many reports came before.
func (e *Engine) Observe(o Observation) (applied bool) {
	if o.EventID == "" || o.At.IsZero() {
		return false
	}
	dept, cat := orUnknown(o.Department), orUnknown(o.Category)
	w := weekOf(o.At)
	at := o.At.UTC() // also strips the monotonic reading
	roles := distinct(o.Roles)
	if len(roles) == 0 {
		roles = []string{Unknown}
	}
	subjects := distinct(o.Subjects)
	rk := reporterKey{id: o.Reporter}
	if o.Reporter == "" {
		rk = reporterKey{anonymous: true, id: o.CaseID}
		if o.CaseID == "" {
			rk.id = "event:" + o.EventID
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.seen[o.EventID]; dup {
		return false
	}
	// Clone so a key never pins a larger buffer the caller decoded it from.
	e.seen[strings.Clone(o.EventID)] = struct{}{}

	sk := seriesKey{dept, cat}
	s := e.series[sk]
	if s == nil {
		s = &series{first: w, weeks: make(map[week]int)}
		e.series[sk] = s
	} else if w < s.first {
		s.first = w
	}
	s.weeks[w]++

	for _, r := range roles {
		e.roles[roleKey{dept, cat, r, w}]++
	}
	for _, h := range subjects {
		e.noteSubject(h, o, rk, dept, at)
	}
	return true
}

// noteSubject records that the report o (reporter rk) named subject hash h.
func (e *Engine) noteSubject(h string, o Observation, rk reporterKey, dept string, at time.Time) {
	sub := e.subjects[h]
	if sub == nil {
		sub = &subject{
			reporters:   make(map[reporterKey]struct{}, 1),
			cases:       make(map[string]struct{}, 1),
			departments: make(map[string]struct{}, 1),
			first:       at,
			last:        at,
		}
		e.subjects[h] = sub
	}
	sub.reports++
	if rk.anonymous {
		sub.anonymous++
	}
	sub.reporters[rk] = struct{}{}
	if o.CaseID != "" {
		sub.cases[o.CaseID] = struct{}{}
	}
	sub.departments[dept] = struct{}{}
	if at.Before(sub.first) {
		sub.first = at
	}
	if at.After(sub.last) {
		sub.last = at
	}
	if len(sub.reporters) >= 2 {
		e.repeats[h] = sub
	}
}

// Len returns the number of observations applied.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.seen)
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// distinct returns the non-empty values of xs, each once, in first-seen
// order. Lists here are a handful of codes, so a quadratic scan beats
// allocating a set; long lists fall back to one to stay linear.
func distinct(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := make([]string, 0, len(xs))
	if len(xs) <= 8 {
	next:
		for _, x := range xs {
			if x == "" {
				continue
			}
			for _, y := range out {
				if x == y {
					continue next
				}
			}
			out = append(out, x)
		}
		return out
	}
	set := make(map[string]struct{}, len(xs))
	for _, x := range xs {
		if _, dup := set[x]; x == "" || dup {
			continue
		}
		set[x] = struct{}{}
		out = append(out, x)
	}
	return out
}
