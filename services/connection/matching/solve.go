package matching

import (
	"errors"
	"fmt"
	"math"
)

// Problem is a weighted b-matching instance: Rows mentees, len(Capacity)
// mentors, and a dense row-major weight matrix W (Rows × len(Capacity)).
// A negative weight marks an infeasible pair. Each row is matched at most
// once and column j at most Capacity[j] times; the objective is the sum of
// the weights of the matched pairs.
type Problem struct {
	Rows     int
	Capacity []int
	W        []int32
}

// Infeasible is the weight of a pair that may not be matched.
const Infeasible int32 = -1

// Solution assigns each row a column, or -1 when the row is unmatched.
type Solution struct {
	Assign    []int
	Objective int64
}

// ErrInvalid reports a malformed problem.
var ErrInvalid = errors.New("matching: invalid problem")

func (p Problem) validate() error {
	m := len(p.Capacity)
	if p.Rows < 0 || len(p.W) != p.Rows*m {
		return fmt.Errorf("%w: %d rows × %d columns need %d weights, have %d", ErrInvalid, p.Rows, m, p.Rows*m, len(p.W))
	}
	for j, c := range p.Capacity {
		if c < 0 {
			return fmt.Errorf("%w: column %d has capacity %d", ErrInvalid, j, c)
		}
	}
	return nil
}

// Solve returns a maximum-weight b-matching. It is exact.
//
// Method: minimum-cost flow by successive shortest paths (the Hungarian
// method with Dijkstra on reduced costs), with the mentors' capacity
// copies compressed into one column each. Every row also has a private
// "unmatched" option of cost 0 (column U, unbounded), so each row is
// always assigned and the weights of matched pairs enter as costs -w.
// Rows are added one at a time; adding row r runs Dijkstra over the
// columns from r, where leaving a full column means moving one of its
// rows elsewhere (reduced cost 0 along assigned edges), and stops at the
// first column with spare capacity (or U). The duals u (rows) and v
// (columns) keep every reduced cost c(i,j)-u_i-v_j non-negative and the
// assigned ones zero; v_j = 0 while column j has spare capacity and
// v_j <= 0 once it is full, which together are the optimality conditions
// of the b-matching LP (integral, so the optimum is exact).
//
// Cost per added row is O(visited columns × columns); in the worst case
// O(rows × rows × columns) overall, in practice close to O(rows × columns)
// because most searches end within a few columns.
func Solve(p Problem) (Solution, error) {
	if err := p.validate(); err != nil {
		return Solution{}, err
	}
	n, m := p.Rows, len(p.Capacity)
	U := m
	const inf = int64(math.MaxInt64 / 4)
	var (
		u       = make([]int64, n)
		v       = make([]int64, m+1)
		colOf   = make([]int32, n)
		load    = make([]int, m)
		members = make([][]int32, m)
		dist    = make([]int64, m+1)
		via     = make([]int32, m+1)
		open    = make([]int32, 0, m+1) // columns not yet visited in this search
		seen    = make([]int32, 0, m+1) // visited full columns, in order
	)
	hasRoom := func(j int) bool { return j == U || load[j] < p.Capacity[j] }
	for j := range m {
		members[j] = make([]int32, 0, min(p.Capacity[j], 16))
	}
	for r := range n {
		row := p.W[r*m : (r+1)*m]
		// Start: dist[j] = c(r,j) - v_j, shifted so the minimum is 0.
		ur := int64(0) // c(r,U) - v_U
		for j, w := range row {
			if w >= 0 {
				if d := -int64(w) - v[j]; d < ur {
					ur = d
				}
			}
		}
		u[r] = ur
		open = open[:0]
		for j, w := range row {
			if w >= 0 {
				dist[j] = -int64(w) - v[j] - ur
			} else {
				dist[j] = inf
			}
			via[j] = int32(r)
			open = append(open, int32(j))
		}
		dist[U] = -ur
		via[U] = int32(r)
		open = append(open, int32(U))
		seen = seen[:0]
		t := -1
		floor := int64(0)
		for {
			// The open column nearest to r; among equals, one with room
			// (it ends the search). Distances popped never decrease, so a
			// column with room at the last popped distance cannot be beaten.
			bi, best, bfree := -1, inf+1, false
			for i, j := range open {
				d := dist[j]
				if d > best || (d == best && (bfree || !hasRoom(int(j)))) {
					continue
				}
				bi, best, bfree = i, d, hasRoom(int(j))
				if bfree && d <= floor {
					break
				}
			}
			floor = best
			j := int(open[bi])
			open[bi] = open[len(open)-1]
			open = open[:len(open)-1]
			if j == U || load[j] < p.Capacity[j] {
				t = j
				break
			}
			seen = append(seen, int32(j))
			dj := dist[j]
			for _, k := range members[j] {
				base := dj - u[k]
				krow := p.W[int(k)*m : (int(k)+1)*m]
				for _, c := range open {
					var nd int64
					if int(c) == U {
						nd = base
					} else if w := krow[c]; w >= 0 {
						nd = base - int64(w) - v[c]
					} else {
						continue
					}
					if nd < dist[c] {
						dist[c] = nd
						via[c] = k
					}
				}
			}
		}
		D := dist[t]
		u[r] += D
		for _, j := range seen {
			delta := D - dist[j]
			v[j] -= delta
			for _, k := range members[j] {
				u[k] += delta
			}
		}
		// Augment along the path back to r.
		c := int32(t)
		for {
			k := via[c]
			prev := int32(-1)
			if int(k) != r {
				prev = colOf[k]
				removeMember(&members[prev], k)
			}
			colOf[k] = c
			if int(c) != U {
				members[c] = append(members[c], k)
			}
			if prev < 0 {
				break
			}
			c = prev
		}
		if t != U {
			load[t]++
		}
	}
	sol := Solution{Assign: make([]int, n)}
	for i := range n {
		c := int(colOf[i])
		if c == U {
			sol.Assign[i] = -1
			continue
		}
		sol.Assign[i] = c
		sol.Objective += int64(p.W[i*m+c])
	}
	return sol, nil
}

func removeMember(s *[]int32, k int32) {
	l := *s
	for i, x := range l {
		if x == k {
			l[i] = l[len(l)-1]
			*s = l[:len(l)-1]
			return
		}
	}
}

// Greedy is the baseline the benchmarks compare against: pairs in descending
// weight order, each taken when its row is free and its column has room.
// It is not optimal; it exists for tests and benchmarks.
func Greedy(p Problem) (Solution, error) {
	if err := p.validate(); err != nil {
		return Solution{}, err
	}
	n, m := p.Rows, len(p.Capacity)
	// Counting sort by weight keeps the baseline O(pairs + max weight).
	maxW := int32(0)
	for _, w := range p.W {
		maxW = max(maxW, w)
	}
	count := make([]int, int(maxW)+2)
	for _, w := range p.W {
		if w >= 0 {
			count[int(maxW-w)+1]++
		}
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	order := make([]int32, count[len(count)-1])
	for idx, w := range p.W {
		if w >= 0 {
			b := int(maxW - w)
			order[count[b]] = int32(idx)
			count[b]++
		}
	}
	sol := Solution{Assign: make([]int, n)}
	for i := range sol.Assign {
		sol.Assign[i] = -1
	}
	load := make([]int, m)
	for _, idx := range order {
		i, j := int(idx)/m, int(idx)%m
		if sol.Assign[i] >= 0 || load[j] >= p.Capacity[j] {
			continue
		}
		sol.Assign[i] = j
		load[j]++
		sol.Objective += int64(p.W[idx])
	}
	return sol, nil
}
