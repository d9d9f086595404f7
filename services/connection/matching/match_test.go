package matching

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var (
	interests   = []string{"research", "teaching", "global health", "quality", "informatics", "wellness", "advocacy", "surgery skills"}
	experiences = []string{"first-generation", "international medical graduate", "parent", "veteran", "career changer"}
	languages   = []string{"english", "spanish", "arabic", "tagalog"}
	specialties = []string{"internal medicine", "surgery", "pediatrics"}
	affinities  = []string{"affinity-a", "affinity-b", "affinity-c"}
)

func pick(r *rand.Rand, from []string, k int) []string {
	out := slices.Clone(from)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(k, len(out))]
}

func randomAttrs(r *rand.Rand) Attributes {
	a := Attributes{
		Interests:   pick(r, interests, r.IntN(4)),
		Experiences: pick(r, experiences, r.IntN(3)),
		Languages:   pick(r, languages, 1+r.IntN(2)),
		Specialty:   specialties[r.IntN(len(specialties))],
		Affinities:  pick(r, affinities, r.IntN(2)),
	}
	for range r.IntN(6) {
		a.Availability.Set(r.IntN(24))
	}
	return a
}

func randomRound(r *rand.Rand, n, m int) ([]Mentee, []Mentor) {
	var mentors []Mentor
	for j := range m {
		mentors = append(mentors, Mentor{ID: fmt.Sprintf("o%d", j), Attributes: randomAttrs(r), Capacity: r.IntN(4), AffinityMentoring: r.IntN(3) == 0})
	}
	var mentees []Mentee
	for i := range n {
		e := Mentee{ID: fmt.Sprintf("e%d", i), Attributes: randomAttrs(r), WantsAffinity: r.IntN(2) == 0}
		for _, o := range mentors {
			switch r.IntN(8) {
			case 0:
				e.Avoid = append(e.Avoid, o.ID)
			case 1:
				e.Chain = append(e.Chain, o.ID)
			}
		}
		mentees = append(mentees, e)
	}
	return mentees, mentors
}

// exhaustiveRound solves a round by brute force straight from Score and
// the constraints, without the scorer or the solver.
func exhaustiveRound(mentees []Mentee, mentors []Mentor, opt Options) int64 {
	load := make([]int, len(mentors))
	var best int64
	var rec func(i int, acc int64)
	rec = func(i int, acc int64) {
		if i == len(mentees) {
			best = max(best, acc)
			return
		}
		rec(i+1, acc)
		e := mentees[i]
		for j, o := range mentors {
			if load[j] >= opt.EffectiveCapacity(o) || slices.Contains(e.Avoid, o.ID) || slices.Contains(e.Chain, o.ID) {
				continue
			}
			s, _ := Score(e, o, opt)
			if s < opt.withDefaults().MinScore {
				continue
			}
			load[j]++
			rec(i+1, acc+int64(s))
			load[j]--
		}
	}
	rec(0, 0)
	return best
}

func checkRound(t *testing.T, mentees []Mentee, mentors []Mentor, opt Options, res Result) {
	t.Helper()
	byE := map[string]Mentee{}
	for _, e := range mentees {
		byE[e.ID] = e
	}
	byO := map[string]Mentor{}
	for _, o := range mentors {
		byO[o.ID] = o
	}
	load := map[string]int{}
	seen := map[string]bool{}
	var obj int64
	for _, p := range res.Pairs {
		e, o := byE[p.Mentee], byO[p.Mentor]
		if seen[e.ID] {
			t.Fatalf("%s matched twice", e.ID)
		}
		seen[e.ID] = true
		if slices.Contains(e.Avoid, o.ID) || slices.Contains(e.Chain, o.ID) || e.ID == o.ID {
			t.Fatalf("pair %s–%s violates avoid/chain/self", e.ID, o.ID)
		}
		load[o.ID]++
		if load[o.ID] > opt.EffectiveCapacity(o) {
			t.Fatalf("mentor %s over capacity", o.ID)
		}
		s, _ := Score(e, o, opt)
		if s != p.Score || s < opt.withDefaults().MinScore {
			t.Fatalf("pair %s–%s score %d, Score says %d", e.ID, o.ID, p.Score, s)
		}
		sum := 0
		for _, f := range p.Factors {
			sum += f.Points
		}
		for _, f := range p.Factors {
			if f.Kind == FactorAffinity {
				t.Fatalf("pair %s–%s explanation shows the affinity factor", e.ID, o.ID)
			}
		}
		if sum+p.AffinityPoints > p.Score || len(p.Factors) > 3 || (len(p.Factors) == 0 && p.AffinityPoints == 0) {
			t.Fatalf("pair %s–%s explanation %+v vs score %d", e.ID, o.ID, p.Factors, p.Score)
		}
		obj += int64(s)
	}
	if obj != res.Objective {
		t.Fatalf("objective %d, pairs sum to %d", res.Objective, obj)
	}
	if len(res.Pairs)+len(res.Unmatched) != len(mentees) {
		t.Fatalf("%d pairs + %d unmatched != %d mentees", len(res.Pairs), len(res.Unmatched), len(mentees))
	}
	for _, u := range res.Unmatched {
		if seen[u.Mentee] || u.Reason == "" {
			t.Fatalf("bad unmatched %+v", u)
		}
	}
	// Affinities never leave the matcher.
	dump := fmt.Sprintf("%+v", res)
	for _, a := range affinities {
		if strings.Contains(dump, a) {
			t.Fatalf("result names affinity %q", a)
		}
	}
}

func TestMatchIsOptimalOn200RandomRounds(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 4))
	opt := Options{}
	for k := range 200 {
		mentees, mentors := randomRound(r, 1+r.IntN(6), 1+r.IntN(4))
		res, err := Match(mentees, mentors, opt)
		if err != nil {
			t.Fatal(err)
		}
		checkRound(t, mentees, mentors, opt, res)
		if want := exhaustiveRound(mentees, mentors, opt); res.Objective != want {
			t.Fatalf("round %d: objective %d, exhaustive %d", k, res.Objective, want)
		}
	}
}

func TestMatchConstraintsHoldOnLargerRounds(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 20 {
		mentees, mentors := randomRound(r, 60, 15)
		opt := Options{MinScore: 1 + r.IntN(30), AffinityLoadCap: 1 + r.IntN(2)}
		res, err := Match(mentees, mentors, opt)
		if err != nil {
			t.Fatal(err)
		}
		checkRound(t, mentees, mentors, opt, res)
	}
}

func TestMatchFindsOptimumWhereGreedyFails(t *testing.T) {
	// Ana's best mentor is Dr A (two interests + specialty = 40), but Dr A
	// is also Ben's only compatible mentor. Greedy gives Ana Dr A and leaves
	// Ben unmatched (40); the optimum sends Ana to Dr B (20) and Ben to
	// Dr A (30): 50.
	a := Mentor{ID: "dr-a", Capacity: 1, Attributes: Attributes{Interests: []string{"research", "teaching", "quality"}, Specialty: "surgery"}}
	b := Mentor{ID: "dr-b", Capacity: 1, Attributes: Attributes{Interests: []string{"research", "teaching"}, Specialty: "pediatrics"}}
	ana := Mentee{ID: "ana", Attributes: Attributes{Interests: []string{"research", "teaching"}, Specialty: "surgery"}}
	ben := Mentee{ID: "ben", Attributes: Attributes{Interests: []string{"quality"}, Specialty: "surgery"}}
	opt := Options{Weights: Weights{Interest: 10, Specialty: 20}}
	mentees, mentors := []Mentee{ana, ben}, []Mentor{a, b}
	p := Problem{Rows: 2, Capacity: []int{1, 1}, W: make([]int32, 4)}
	for i, e := range mentees {
		for j, o := range mentors {
			s, _ := Score(e, o, opt)
			p.W[i*2+j] = int32(s)
			if s == 0 {
				p.W[i*2+j] = Infeasible
			}
		}
	}
	if g, _ := Greedy(p); g.Objective != 40 {
		t.Fatalf("greedy = %d, want 40 (the case must defeat greedy)", g.Objective)
	}
	res, err := Match(mentees, mentors, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Objective != 50 || len(res.Pairs) != 2 || res.Pairs[0].Mentor != "dr-b" || res.Pairs[1].Mentor != "dr-a" {
		t.Fatalf("result %+v, want ana→dr-b, ben→dr-a, 50", res)
	}
}

func TestMatchReportsBindingConstraint(t *testing.T) {
	attrs := Attributes{Interests: []string{"research"}}
	mentors := []Mentor{
		{ID: "boss", Capacity: 2, Attributes: attrs},
		{ID: "avoided", Capacity: 2, Attributes: attrs},
		{ID: "busy", Capacity: 1, Attributes: attrs},
		{ID: "ally", Capacity: 5, AffinityMentoring: true, Attributes: attrs},
	}
	mentees := []Mentee{
		{ID: "a-chain", Attributes: attrs, Chain: []string{"boss", "avoided", "busy", "ally"}},
		{ID: "b-avoid", Attributes: attrs, Avoid: []string{"boss", "avoided", "busy", "ally"}},
		{ID: "c-low", Attributes: Attributes{Interests: []string{"surgery"}}},
	}
	res, err := Match(mentees, mentors, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Reason{"a-chain": ReasonSupervisoryChain, "b-avoid": ReasonAvoidList, "c-low": ReasonLowCompatibility}
	for _, u := range res.Unmatched {
		if want[u.Mentee] != u.Reason {
			t.Errorf("%s: reason %s, want %s", u.Mentee, u.Reason, want[u.Mentee])
		}
		delete(want, u.Mentee)
	}
	if len(want) != 0 {
		t.Fatalf("not reported: %v", want)
	}

	// Capacity and the affinity load cap.
	only := []Mentor{{ID: "ally", Capacity: 5, AffinityMentoring: true, Attributes: attrs}}
	var many []Mentee
	for i := range 3 {
		many = append(many, Mentee{ID: fmt.Sprint("m", i), Attributes: attrs})
	}
	res, _ = Match(many, only, Options{AffinityLoadCap: 2})
	if len(res.Pairs) != 2 || len(res.Unmatched) != 1 || res.Unmatched[0].Reason != ReasonAffinityLoadCap {
		t.Fatalf("affinity cap: %+v", res)
	}
	only[0].AffinityMentoring = false
	only[0].Capacity = 1
	res, _ = Match(many, only, Options{})
	if len(res.Unmatched) != 2 || res.Unmatched[0].Reason != ReasonCapacity {
		t.Fatalf("capacity: %+v", res)
	}
	res, _ = Match(many, nil, Options{})
	if len(res.Unmatched) != 3 || res.Unmatched[0].Reason != ReasonNoMentors {
		t.Fatalf("no mentors: %+v", res)
	}
}

func TestAffinityCountsOnlyWhenAskedAndOffered(t *testing.T) {
	e := Mentee{ID: "e", Attributes: Attributes{Affinities: []string{"affinity-a"}}}
	o := Mentor{ID: "o", Capacity: 1, Attributes: Attributes{Affinities: []string{"affinity-a"}}}
	for _, c := range []struct {
		wants, offers bool
		want          int
	}{{false, false, 0}, {true, false, 0}, {false, true, 0}, {true, true, DefaultWeights.Affinity}} {
		e.WantsAffinity, o.AffinityMentoring = c.wants, c.offers
		if s, fs := Score(e, o, Options{}); s != c.want {
			t.Fatalf("wants=%v offers=%v: score %d, want %d", c.wants, c.offers, s, c.want)
		} else {
			for _, f := range fs {
				if len(f.Shared) > 0 && f.Kind == FactorAffinity {
					t.Fatal("affinity factor names values")
				}
			}
		}
	}
}

func TestScorerAgreesWithScore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	mentees, mentors := randomRound(r, 40, 20)
	opt := Options{}.withDefaults()
	sc := newScorer(mentees, mentors, opt)
	for i, e := range mentees {
		for j, o := range mentors {
			if want, _ := Score(e, o, opt); sc.score(i, j) != want {
				t.Fatalf("%s–%s: fast %d, Score %d", e.ID, o.ID, sc.score(i, j), want)
			}
		}
	}
}

func TestWeightsValidate(t *testing.T) {
	if bad := (Weights{Interest: -1, Affinity: 101}).Validate(); !slices.Equal(bad, []string{"interest", "affinity"}) {
		t.Fatalf("bad = %v", bad)
	}
	if bad := (Weights{}).Validate(); len(bad) != 1 {
		t.Fatalf("all-zero weights accepted: %v", bad)
	}
	if bad := DefaultWeights.Validate(); len(bad) != 0 {
		t.Fatalf("defaults invalid: %v", bad)
	}
	if _, err := Match(nil, nil, Options{Weights: Weights{Interest: 1000}}); err == nil {
		t.Fatal("absurd weights accepted")
	}
}

func TestRankSkipsExcludedAndFull(t *testing.T) {
	attrs := Attributes{Interests: []string{"research", "teaching"}}
	e := Mentee{ID: "e", Attributes: attrs, Avoid: []string{"x"}}
	mentors := []Mentor{
		{ID: "x", Capacity: 1, Attributes: attrs},
		{ID: "y", Capacity: 1, Attributes: attrs},
		{ID: "z", Capacity: 1, Attributes: Attributes{Interests: []string{"research"}}},
		{ID: "w", Capacity: 1, Attributes: attrs},
	}
	got := Rank(e, mentors, map[string]int{"w": 1}, map[string]bool{}, Options{})
	if len(got) != 2 || got[0].Mentor != "y" || got[1].Mentor != "z" {
		t.Fatalf("rank = %+v", got)
	}
}
