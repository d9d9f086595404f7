package matching

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// skipIfIterationCount skips the round benchmarks under a fixed large
// iteration count (make bench uses -benchtime=20000x, which would take
// hours at ~0.5 s per round); run them with the default benchtime or e.g.
// -benchtime=5x.
func skipIfIterationCount(b *testing.B) {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return
	}
	if v, ok := strings.CutSuffix(f.Value.String(), "x"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 20 {
			b.Skipf("round benchmarks take ~1 s per iteration; run with -benchtime<=20x (got %sx)", v)
		}
	}
}

// benchRound is the benchmark instance: mentors with capacity 5 and 20
// attributes per person (8 interests of 80, 3 experiences of 12, 2
// languages of 15, a specialty of 30, 6 free hours in a 60-hour band).
func benchRound(n, m int) ([]Mentee, []Mentor) {
	r := rand.New(rand.NewPCG(uint64(n), uint64(m)))
	vocab := func(prefix string, k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
		return out
	}
	in, ex, la, sp := vocab("interest", 80), vocab("experience", 12), vocab("language", 15), vocab("specialty", 30)
	attrs := func() Attributes {
		a := Attributes{Interests: pick(r, in, 8), Experiences: pick(r, ex, 3), Languages: pick(r, la, 2), Specialty: sp[r.IntN(len(sp))]}
		for range 6 {
			a.Availability.Set(90 + r.IntN(60))
		}
		return a
	}
	mentors := make([]Mentor, m)
	for j := range mentors {
		mentors[j] = Mentor{ID: fmt.Sprintf("mentor-%05d", j), Capacity: 5, Attributes: attrs()}
	}
	mentees := make([]Mentee, n)
	for i := range mentees {
		mentees[i] = Mentee{ID: fmt.Sprintf("mentee-%05d", i), Attributes: attrs()}
	}
	return mentees, mentors
}

func problemOf(mentees []Mentee, mentors []Mentor, opt Options) Problem {
	opt = opt.withDefaults()
	sc := newScorer(mentees, mentors, opt)
	p := Problem{Rows: len(mentees), Capacity: make([]int, len(mentors)), W: make([]int32, len(mentees)*len(mentors))}
	for j, o := range mentors {
		p.Capacity[j] = opt.EffectiveCapacity(o)
	}
	for i := range mentees {
		for j := range mentors {
			s := sc.score(i, j)
			if s < opt.MinScore {
				s = int(Infeasible)
			}
			p.W[i*len(mentors)+j] = int32(s)
		}
	}
	return p
}

// BenchmarkRound5000x1000 is the whole round (scoring, solving,
// explanations) on 5,000 mentees × 1,000 mentors; target ≤ 2 s, ≤ 512 MB
// (B/op is everything allocated, an upper bound on the peak).
func BenchmarkRound5000x1000(b *testing.B) {
	skipIfIterationCount(b)
	mentees, mentors := benchRound(5000, 1000)
	b.ReportAllocs()
	var res Result
	for b.Loop() {
		var err error
		if res, err = Match(mentees, mentors, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Objective), "objective")
	b.ReportMetric(float64(len(res.Pairs)), "matched")
}

// BenchmarkSolveVsGreedy5000x1000 times the exact solver and the greedy
// baseline on the same scored instance and reports both objectives and the
// exact solver's gain over greedy.
func BenchmarkSolveVsGreedy5000x1000(b *testing.B) {
	skipIfIterationCount(b)
	mentees, mentors := benchRound(5000, 1000)
	p := problemOf(mentees, mentors, Options{})
	exact, err := Solve(p)
	if err != nil {
		b.Fatal(err)
	}
	greedy, _ := Greedy(p)
	gain := func(b *testing.B) {
		b.ReportMetric(float64(exact.Objective), "exact-objective")
		b.ReportMetric(float64(greedy.Objective), "greedy-objective")
		b.ReportMetric(100*float64(exact.Objective-greedy.Objective)/float64(greedy.Objective), "gain-%")
	}
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Solve(p)
		}
		gain(b)
	})
	b.Run("greedy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Greedy(p)
		}
		gain(b)
	})
}

// BenchmarkRoundScaling runs whole rounds for 1k/2k/5k/10k mentees against
// 1,000 mentors of capacity 5 (10k mentees exceed the 5,000 places).
func BenchmarkRoundScaling(b *testing.B) {
	skipIfIterationCount(b)
	for _, n := range []int{1000, 2000, 5000, 10000} {
		mentees, mentors := benchRound(n, 1000)
		b.Run(fmt.Sprintf("mentees=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var res Result
			for b.Loop() {
				res, _ = Match(mentees, mentors, Options{})
			}
			b.ReportMetric(float64(len(res.Pairs)), "matched")
		})
	}
}

// BenchmarkSolveDistinctWeights5000x1000 is a harder instance for the
// solver than profile scores: dense, nearly all-distinct random weights
// (0..99,999), so ties do not shorten the searches.
func BenchmarkSolveDistinctWeights5000x1000(b *testing.B) {
	skipIfIterationCount(b)
	r := rand.New(rand.NewPCG(5, 1000))
	p := Problem{Rows: 5000, Capacity: make([]int, 1000), W: make([]int32, 5000*1000)}
	for j := range p.Capacity {
		p.Capacity[j] = 5
	}
	for i := range p.W {
		p.W[i] = int32(r.IntN(100_000))
	}
	greedy, _ := Greedy(p)
	b.ReportAllocs()
	var exact Solution
	for b.Loop() {
		exact, _ = Solve(p)
	}
	b.ReportMetric(100*float64(exact.Objective-greedy.Objective)/float64(greedy.Objective), "gain-over-greedy-%")
}
