package matching

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Weights are points per unit of each compatibility factor, set per
// program. Each must be within [0, MaxWeight] and at least one positive.
//
// The compatibility score of mentee e and mentor o is
//
//	Interest     × min(|shared interests|, 5)
//	+ Experience × min(|shared experiences|, 3)
//	+ Specialty  × [same specialty]
//	+ Language   × min(|shared languages|, 2)
//	+ Availability × min(overlapping hours of weekly availability, 4)
//	+ Affinity   × min(|shared affinities|, 2)   only when e asks for affinity
//	                                             and o offers affinity mentoring
//
// Caps keep one long list from drowning the other factors; values are
// compared case-insensitively after trimming.
type Weights struct {
	Interest     int `json:"interest"`
	Experience   int `json:"experience"`
	Specialty    int `json:"specialty"`
	Language     int `json:"language"`
	Availability int `json:"availability"`
	Affinity     int `json:"affinity"`
}

// Factor caps (see Weights).
const (
	MaxSharedInterests   = 5
	MaxSharedExperiences = 3
	MaxSharedLanguages   = 2
	MaxOverlapHours      = 4
	MaxSharedAffinities  = 2
	// MaxWeight bounds every weight: larger values are "absurd" (422).
	MaxWeight = 100
)

// DefaultWeights are used when a program sets none.
var DefaultWeights = Weights{Interest: 10, Experience: 15, Specialty: 20, Language: 10, Availability: 5, Affinity: 25}

// Validate returns the names of invalid weights.
func (w Weights) Validate() []string {
	var bad []string
	check := func(name string, v int) {
		if v < 0 || v > MaxWeight {
			bad = append(bad, name)
		}
	}
	check("interest", w.Interest)
	check("experience", w.Experience)
	check("specialty", w.Specialty)
	check("language", w.Language)
	check("availability", w.Availability)
	check("affinity", w.Affinity)
	if len(bad) == 0 && w == (Weights{}) {
		bad = append(bad, "weights")
	}
	return bad
}

// Week is a weekly availability: bit h set means hour h of the week
// (0 = Monday 00:00 UTC) is free. Profiles convert local windows with their
// time zone before matching.
type Week [3]uint64

// Set marks hour h (0..167) free.
func (w *Week) Set(h int) {
	if h >= 0 && h < 168 {
		w[h/64] |= 1 << (h % 64)
	}
}

// Overlap counts hours free in both.
func (w Week) Overlap(o Week) int {
	return bits.OnesCount64(w[0]&o[0]) + bits.OnesCount64(w[1]&o[1]) + bits.OnesCount64(w[2]&o[2])
}

// Attributes are what compatibility is computed from.
type Attributes struct {
	Interests   []string
	Experiences []string
	Languages   []string
	Specialty   string
	// Affinities are restricted: they are used for scoring only and never
	// appear in a Result (an affinity factor names no value).
	Affinities   []string
	Availability Week
}

// Mentee is one person asking for a mentor.
type Mentee struct {
	ID string
	Attributes
	WantsAffinity bool
	// Avoid lists mentor IDs the mentee will not be matched with.
	Avoid []string
	// Chain is the mentee's supervisory chain (their supervisors upwards).
	Chain []string
}

// Mentor is one person offering to mentor.
type Mentor struct {
	ID string
	Attributes
	Capacity int
	// AffinityMentoring: the mentor offers affinity mentoring, so shared
	// affinities count and the program's AffinityLoadCap bounds their load
	// (the minority tax).
	AffinityMentoring bool
}

// Options configures a round.
type Options struct {
	Weights Weights
	// MinScore is the lowest score that makes a pair feasible (default 1).
	MinScore int
	// AffinityLoadCap bounds the total load of mentors who offer affinity
	// mentoring (default 2); their effective capacity is
	// min(Capacity, AffinityLoadCap).
	AffinityLoadCap int
}

func (o Options) withDefaults() Options {
	if o.Weights == (Weights{}) {
		o.Weights = DefaultWeights
	}
	if o.MinScore <= 0 {
		o.MinScore = 1
	}
	if o.AffinityLoadCap <= 0 {
		o.AffinityLoadCap = 2
	}
	return o
}

// EffectiveCapacity is the mentor's capacity after the affinity load cap.
func (o Options) EffectiveCapacity(m Mentor) int {
	o = o.withDefaults()
	if m.AffinityMentoring {
		return max(0, min(m.Capacity, o.AffinityLoadCap))
	}
	return max(0, m.Capacity)
}

// Factor is one component of a pair's score. Shared names the shared
// values, except for affinities, which are never named.
type Factor struct {
	Kind   string   `json:"kind"`
	Points int      `json:"points"`
	Shared []string `json:"shared,omitempty"`
}

// Factor kinds.
const (
	FactorInterests    = "interests"
	FactorExperiences  = "experiences"
	FactorSpecialty    = "specialty"
	FactorLanguages    = "languages"
	FactorAvailability = "availability"
	FactorAffinity     = "affinity"
)

// Pair is a proposed match with its explanation: Factors are its top
// (at most three) shared factors other than affinity. The affinity
// contribution is kept apart in AffinityPoints (part of Score) so callers
// can keep it restricted: explanations shown to coordinators and mentors
// must not reveal that two people share an affinity.
type Pair struct {
	Mentee         string
	Mentor         string
	Score          int
	AffinityPoints int
	Factors        []Factor
}

func newPair(e Mentee, o Mentor, opt Options) Pair {
	s, fs := Score(e, o, opt)
	p := Pair{Mentee: e.ID, Mentor: o.ID, Score: s}
	for _, f := range fs {
		if f.Kind == FactorAffinity {
			p.AffinityPoints += f.Points
			continue
		}
		if len(p.Factors) < 3 {
			p.Factors = append(p.Factors, f)
		}
	}
	return p
}

// Reason is why a mentee is unmatched: the binding constraint.
type Reason string

// Reasons.
const (
	ReasonNoMentors        Reason = "no_mentors"
	ReasonSupervisoryChain Reason = "supervisory_chain"
	ReasonAvoidList        Reason = "avoid_list"
	ReasonLowCompatibility Reason = "low_compatibility"
	ReasonCapacity         Reason = "capacity"
	ReasonAffinityLoadCap  Reason = "affinity_load_cap"
)

// Unmatched reports a mentee left without a mentor.
type Unmatched struct {
	Mentee string
	Reason Reason
	// Feasible is how many mentors were feasible for the mentee.
	Feasible int
}

// Result is a round's outcome.
type Result struct {
	Pairs     []Pair
	Unmatched []Unmatched
	Objective int64
}

// ErrOptions reports invalid options.
var ErrOptions = errors.New("matching: invalid options")

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Score computes one pair's compatibility and its factors (all of them,
// best first). It ignores hard constraints.
func Score(e Mentee, o Mentor, opt Options) (int, []Factor) {
	w := opt.withDefaults().Weights
	var fs []Factor
	add := func(kind string, per, n, cap int, shared []string) {
		if n = min(n, cap); n > 0 && per > 0 {
			fs = append(fs, Factor{Kind: kind, Points: per * n, Shared: shared})
		}
	}
	si := shared(e.Interests, o.Interests)
	add(FactorInterests, w.Interest, len(si), MaxSharedInterests, si)
	se := shared(e.Experiences, o.Experiences)
	add(FactorExperiences, w.Experience, len(se), MaxSharedExperiences, se)
	if e.Specialty != "" && norm(e.Specialty) == norm(o.Specialty) {
		add(FactorSpecialty, w.Specialty, 1, 1, []string{norm(e.Specialty)})
	}
	sl := shared(e.Languages, o.Languages)
	add(FactorLanguages, w.Language, len(sl), MaxSharedLanguages, sl)
	add(FactorAvailability, w.Availability, e.Availability.Overlap(o.Availability), MaxOverlapHours, nil)
	if e.WantsAffinity && o.AffinityMentoring {
		add(FactorAffinity, w.Affinity, len(shared(e.Affinities, o.Affinities)), MaxSharedAffinities, nil)
	}
	total := 0
	for _, f := range fs {
		total += f.Points
	}
	slices.SortStableFunc(fs, func(a, b Factor) int { return cmp.Compare(b.Points, a.Points) })
	return total, fs
}

func shared(a, b []string) []string {
	set := make(map[string]bool, len(b))
	for _, x := range b {
		set[norm(x)] = true
	}
	var out []string
	for _, x := range a {
		if n := norm(x); n != "" && set[n] && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// violation bits.
const (
	vChain = 1 << iota
	vAvoid
	vLow
)

// Match runs a round: the maximum-total-compatibility assignment under
// capacities and hard constraints, with explanations and the binding
// constraint of each unmatched mentee. Input order does not matter.
func Match(mentees []Mentee, mentors []Mentor, opt Options) (Result, error) {
	opt = opt.withDefaults()
	if bad := opt.Weights.Validate(); len(bad) > 0 {
		return Result{}, fmt.Errorf("%w: weights %s", ErrOptions, strings.Join(bad, ", "))
	}
	mentees = slices.Clone(mentees)
	mentors = slices.Clone(mentors)
	slices.SortFunc(mentees, func(a, b Mentee) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(mentors, func(a, b Mentor) int { return cmp.Compare(a.ID, b.ID) })
	n, m := len(mentees), len(mentors)
	sc := newScorer(mentees, mentors, opt)
	p := Problem{Rows: n, Capacity: make([]int, m), W: make([]int32, n*m)}
	for j, o := range mentors {
		p.Capacity[j] = opt.EffectiveCapacity(o)
	}
	viol := make([]uint8, n*m)
	for i := range mentees {
		for j := range mentors {
			v := sc.violations(i, j)
			s := sc.score(i, j)
			if s < opt.MinScore {
				v |= vLow
			}
			viol[i*m+j] = v
			if v != 0 || mentees[i].ID == mentors[j].ID {
				p.W[i*m+j] = Infeasible
			} else {
				p.W[i*m+j] = int32(s)
			}
		}
	}
	sol, err := Solve(p)
	if err != nil {
		return Result{}, err
	}
	res := Result{Objective: sol.Objective}
	load := make([]int, m)
	for _, j := range sol.Assign {
		if j >= 0 {
			load[j]++
		}
	}
	for i, j := range sol.Assign {
		if j >= 0 {
			res.Pairs = append(res.Pairs, newPair(mentees[i], mentors[j], opt))
			continue
		}
		res.Unmatched = append(res.Unmatched, explainUnmatched(i, mentees, mentors, p, viol, load, opt))
	}
	return res, nil
}

func explainUnmatched(i int, mentees []Mentee, mentors []Mentor, p Problem, viol []uint8, load []int, opt Options) Unmatched {
	m := len(mentors)
	u := Unmatched{Mentee: mentees[i].ID}
	var sole, any [3]int
	candidates := 0
	capped := false
	for j := range m {
		if mentors[j].ID == mentees[i].ID {
			continue
		}
		candidates++
		if p.W[i*m+j] >= 0 {
			u.Feasible++
			if mentors[j].AffinityMentoring && load[j] >= p.Capacity[j] && p.Capacity[j] < mentors[j].Capacity {
				capped = true
			}
			continue
		}
		v := viol[i*m+j]
		for b := range 3 {
			if v&(1<<b) != 0 {
				any[b]++
				if v == 1<<b {
					sole[b]++
				}
			}
		}
	}
	switch {
	case candidates == 0:
		u.Reason = ReasonNoMentors
	case u.Feasible > 0 && capped:
		u.Reason = ReasonAffinityLoadCap
	case u.Feasible > 0:
		u.Reason = ReasonCapacity
	default:
		// A hard constraint that alone excluded a compatible mentor binds
		// (the supervisory chain first, then the avoid list); otherwise no
		// mentor was compatible enough.
		reasons := [3]Reason{ReasonSupervisoryChain, ReasonAvoidList, ReasonLowCompatibility}
		best := -1
		for b := range 3 {
			if sole[b] > 0 {
				best = b
				break
			}
		}
		if best < 0 {
			best = 0
			for b := 1; b < 3; b++ {
				if any[b] > any[best] {
					best = b
				}
			}
		}
		u.Reason = reasons[best]
	}
	return u
}

// Rank lists the feasible mentors for one mentee, best first (ties by
// mentor ID), skipping the excluded ones and those whose load (by ID)
// has reached their effective capacity. Used for fallback after a decline
// or a timeout: the next best feasible mentor.
func Rank(e Mentee, mentors []Mentor, load map[string]int, exclude map[string]bool, opt Options) []Pair {
	opt = opt.withDefaults()
	var out []Pair
	for _, o := range mentors {
		if o.ID == e.ID || exclude[o.ID] || load[o.ID] >= opt.EffectiveCapacity(o) ||
			slices.Contains(e.Avoid, o.ID) || slices.Contains(e.Chain, o.ID) {
			continue
		}
		p := newPair(e, o, opt)
		if p.Score < opt.MinScore {
			continue
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Pair) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Mentor, b.Mentor))
	})
	return out
}
