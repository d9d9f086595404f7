package matching

import (
	"math/rand/v2"
	"testing"
)

// exhaustive tries every assignment (each row: unmatched or any feasible
// column) and returns the best objective.
func exhaustive(p Problem) int64 {
	n, m := p.Rows, len(p.Capacity)
	load := make([]int, m)
	var best int64
	var rec func(i int, acc int64)
	rec = func(i int, acc int64) {
		if i == n {
			best = max(best, acc)
			return
		}
		rec(i+1, acc)
		for j := range m {
			w := p.W[i*m+j]
			if w < 0 || load[j] >= p.Capacity[j] {
				continue
			}
			load[j]++
			rec(i+1, acc+int64(w))
			load[j]--
		}
	}
	rec(0, 0)
	return best
}

// bellmanFord is an independent exact solver: min-cost flow on the
// expanded network (source → rows → columns → sink) with Bellman-Ford
// shortest paths, augmenting while the cheapest path has negative cost.
func bellmanFord(p Problem) int64 {
	n, m := p.Rows, len(p.Capacity)
	type edge struct {
		to, rev, cap int
		cost         int64
	}
	N := n + m + 2
	s, t := n+m, n+m+1
	g := make([][]edge, N)
	add := func(a, b, c int, cost int64) {
		g[a] = append(g[a], edge{b, len(g[b]), c, cost})
		g[b] = append(g[b], edge{a, len(g[a]) - 1, 0, -cost})
	}
	for i := range n {
		add(s, i, 1, 0)
		for j := range m {
			if w := p.W[i*m+j]; w >= 0 {
				add(i, n+j, 1, -int64(w))
			}
		}
	}
	for j := range m {
		add(n+j, t, p.Capacity[j], 0)
	}
	var total int64
	for {
		const inf = int64(1) << 60
		d := make([]int64, N)
		pv, pe := make([]int, N), make([]int, N)
		for i := range d {
			d[i] = inf
		}
		d[s] = 0
		for range N {
			changed := false
			for a := range N {
				if d[a] == inf {
					continue
				}
				for ei, e := range g[a] {
					if e.cap > 0 && d[a]+e.cost < d[e.to] {
						d[e.to] = d[a] + e.cost
						pv[e.to], pe[e.to] = a, ei
						changed = true
					}
				}
			}
			if !changed {
				break
			}
		}
		if d[t] >= 0 {
			return total
		}
		for x := t; x != s; x = pv[x] {
			e := &g[pv[x]][pe[x]]
			e.cap--
			g[x][e.rev].cap++
		}
		total -= d[t]
	}
}

func randomProblem(r *rand.Rand, n, m, maxCap int, density float64) Problem {
	p := Problem{Rows: n, Capacity: make([]int, m), W: make([]int32, n*m)}
	for j := range m {
		p.Capacity[j] = r.IntN(maxCap + 1)
	}
	for i := range p.W {
		if r.Float64() < density {
			p.W[i] = int32(r.IntN(20))
		} else {
			p.W[i] = Infeasible
		}
	}
	return p
}

// checkFeasible asserts a solution respects every constraint.
func checkFeasible(t *testing.T, p Problem, s Solution) {
	t.Helper()
	m := len(p.Capacity)
	load := make([]int, m)
	var obj int64
	for i, j := range s.Assign {
		if j < 0 {
			continue
		}
		if w := p.W[i*m+j]; w < 0 {
			t.Fatalf("row %d assigned to infeasible column %d", i, j)
		} else {
			obj += int64(w)
		}
		load[j]++
		if load[j] > p.Capacity[j] {
			t.Fatalf("column %d over capacity %d", j, p.Capacity[j])
		}
	}
	if obj != s.Objective {
		t.Fatalf("objective %d, pairs sum to %d", s.Objective, obj)
	}
}

func TestSolveMatchesExhaustiveOn200RandomInstances(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2026))
	for k := range 200 {
		n, m := 1+r.IntN(7), 1+r.IntN(4)
		p := randomProblem(r, n, m, 3, 0.3+0.7*r.Float64())
		got, err := Solve(p)
		if err != nil {
			t.Fatal(err)
		}
		checkFeasible(t, p, got)
		if want := exhaustive(p); got.Objective != want {
			t.Fatalf("instance %d (%d×%d caps %v): objective %d, exhaustive %d", k, n, m, p.Capacity, got.Objective, want)
		}
		g, _ := Greedy(p)
		checkFeasible(t, p, g)
		if g.Objective > got.Objective {
			t.Fatalf("instance %d: greedy %d beats exact %d", k, g.Objective, got.Objective)
		}
	}
}

func TestSolveMatchesIndependentFlowSolverOnMediumInstances(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for k := range 40 {
		n, m := 10+r.IntN(30), 2+r.IntN(10)
		p := randomProblem(r, n, m, 6, 0.2+0.8*r.Float64())
		got, err := Solve(p)
		if err != nil {
			t.Fatal(err)
		}
		checkFeasible(t, p, got)
		if want := bellmanFord(p); got.Objective != want {
			t.Fatalf("instance %d: objective %d, flow solver %d", k, got.Objective, want)
		}
	}
}

func TestSolveBeatsGreedyWhereGreedyFails(t *testing.T) {
	// Mentors A and B, one place each. Greedy takes x–A (10) first and is
	// left with y–B (1): 11. The optimum is x–B + y–A = 18.
	p := Problem{Rows: 2, Capacity: []int{1, 1}, W: []int32{
		10, 9,
		9, 1,
	}}
	g, _ := Greedy(p)
	if g.Objective != 11 {
		t.Fatalf("greedy = %d, want 11", g.Objective)
	}
	s, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Objective != 18 || s.Assign[0] != 1 || s.Assign[1] != 0 {
		t.Fatalf("solve = %+v, want x→B, y→A, 18", s)
	}
}

func TestSolveEdgeCases(t *testing.T) {
	for name, p := range map[string]Problem{
		"empty":          {},
		"no columns":     {Rows: 3},
		"zero capacity":  {Rows: 2, Capacity: []int{0}, W: []int32{5, 5}},
		"all infeasible": {Rows: 2, Capacity: []int{2}, W: []int32{-1, -1}},
	} {
		s, err := Solve(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkFeasible(t, p, s)
		if s.Objective != 0 {
			t.Fatalf("%s: objective %d", name, s.Objective)
		}
	}
	if _, err := Solve(Problem{Rows: 1, Capacity: []int{-1}, W: []int32{1}}); err == nil {
		t.Fatal("negative capacity accepted")
	}
	if _, err := Solve(Problem{Rows: 2, Capacity: []int{1}, W: []int32{1}}); err == nil {
		t.Fatal("short matrix accepted")
	}
}
