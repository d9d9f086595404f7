package patterns

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkTable asserts the suppression guarantees of tab against the true
// counts: (1) nothing published is in (0, k); (2) a row or column whose
// total is published has 0 or ≥ 2 suppressed cells; (3) likewise the
// grand total over row totals and over column totals; (4) every published
// number is the true count and every suppressed one reads 0.
func checkTable(t *testing.T, name string, tab Table, truth [][]int, k int) {
	t.Helper()
	nr, nc := len(truth), 0
	if nr > 0 {
		nc = len(truth[0])
	}
	if len(tab.Cells) != nr || len(tab.RowTotals) != nr || len(tab.ColTotals) != nc || len(tab.Rows) != nr || len(tab.Cols) != nc {
		t.Fatalf("%s: table shape does not match %d×%d", name, nr, nc)
	}
	check := func(what string, c Cell, want int) {
		t.Helper()
		switch {
		case c.Suppressed && c.Count != 0:
			t.Errorf("%s: %s suppressed but carries count %d", name, what, c.Count)
		case !c.Suppressed && c.Count != want:
			t.Errorf("%s: %s published %d, true count %d", name, what, c.Count, want)
		case !c.Suppressed && c.Count > 0 && c.Count < k:
			t.Errorf("%s: %s published small count %d (k=%d)", name, what, c.Count, k)
		}
	}
	lineOK := func(what string, total Cell, members []Cell) {
		t.Helper()
		if total.Suppressed {
			return
		}
		n := 0
		for _, c := range members {
			if c.Suppressed {
				n++
			}
		}
		if n == 1 {
			t.Errorf("%s: %s has a published total and exactly one suppressed member", name, what)
		}
	}
	colSum, grand := make([]int, nc), 0
	for i := range nr {
		rowSum := 0
		for j := range nc {
			check(fmt.Sprintf("cell[%d][%d]", i, j), tab.Cells[i][j], truth[i][j])
			rowSum += truth[i][j]
			colSum[j] += truth[i][j]
		}
		grand += rowSum
		check(fmt.Sprintf("row total %d", i), tab.RowTotals[i], rowSum)
		lineOK(fmt.Sprintf("row %d", i), tab.RowTotals[i], tab.Cells[i])
	}
	for j := range nc {
		check(fmt.Sprintf("col total %d", j), tab.ColTotals[j], colSum[j])
		col := make([]Cell, nr)
		for i := range nr {
			col[i] = tab.Cells[i][j]
		}
		lineOK(fmt.Sprintf("column %d", j), tab.ColTotals[j], col)
	}
	check("grand total", tab.Total, grand)
	lineOK("row-total margin", tab.Total, tab.RowTotals)
	lineOK("column-total margin", tab.Total, tab.ColTotals)
}

func TestSuppressionProperties(t *testing.T) {
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 99))
		k := []int{2, 3, 5, 10}[r.IntN(4)]
		nr, nc := 1+r.IntN(6), 1+r.IntN(6)
		m := make([][]int, nr)
		rows, cols := make([]coord, nr), make([]coord, nc)
		for i := range m {
			rows[i] = coord{s: fmt.Sprint("r", i)}
			m[i] = make([]int, nc)
			for j := range m[i] {
				switch p := r.Float64(); {
				case p < 0.3: // zero
				case p < 0.7:
					m[i][j] = 1 + r.IntN(k-1)
				default:
					m[i][j] = k + r.IntN(3*k)
				}
			}
		}
		for j := range cols {
			cols[j] = coord{s: fmt.Sprint("c", j)}
		}
		tab := buildTable(Query{Rows: DimDepartment, Cols: DimCategory}, rows, cols, m, k)
		checkTable(t, fmt.Sprintf("seed %d (k=%d, %d×%d)", seed, k, nr, nc), tab, m, k)
		if t.Failed() {
			t.Fatalf("counts: %v", m)
		}
	}
}

func TestSuppressionKnownTable(t *testing.T) {
	// One small cell in a row of large ones: its smallest neighbour goes too,
	// and the columns then need partners of their own.
	m := [][]int{
		{3, 20, 30},
		{40, 50, 60},
	}
	s := suppress(m, 5)
	want := [][]bool{{true, true, false}, {true, true, false}}
	for i := range want {
		if !slices.Equal(s.cell[i], want[i]) {
			t.Fatalf("suppressed cells = %v, want %v", s.cell, want)
		}
	}
	if slices.Contains(s.row, true) || slices.Contains(s.col, true) || s.total {
		t.Fatalf("totals suppressed needlessly: %+v", s)
	}
	// A lone small cell with only zeros beside it: the total must go.
	s = suppress([][]int{{3, 0}, {0, 0}}, 5)
	if !s.cell[0][0] || !s.row[0] || !s.col[0] || !s.total {
		t.Fatalf("lone small cell leaks through a total: %+v", s)
	}
}

// TestTableFromEngine checks every dimension pair against counts computed
// independently from the observations.
func TestTableFromEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	e := mustNew(t, Options{})
	depts := []string{"icu", "er", "peds", "onc"}
	var obs []Observation
	for i := range 400 {
		o := report(fmt.Sprint(i), depts[r.IntN(len(depts))], testCategories[r.IntN(3)], weekTime(r.IntN(6)).Add(time.Duration(r.IntN(168))*time.Hour))
		for range r.IntN(3) {
			o.Roles = append(o.Roles, testRoles[r.IntN(len(testRoles))])
		}
		obs = append(obs, o)
		e.Observe(o)
	}
	value := func(d Dimension, o Observation, role string) string {
		switch d {
		case DimDepartment:
			return o.Department
		case DimCategory:
			return o.Category
		case DimRole:
			return role
		}
		return weekOf(o.At).label()
	}
	dims := []Dimension{DimDepartment, DimCategory, DimRole, DimWeek}
	for _, q := range []Query{{}, {Department: "er"}, {From: weekTime(2), To: weekTime(3).Add(time.Hour)}} {
		for _, rd := range dims {
			for _, cd := range dims {
				if rd == cd {
					continue
				}
				q.Rows, q.Cols = rd, cd
				tab, err := e.Table(q)
				if err != nil {
					t.Fatalf("Table(%+v): %v", q, err)
				}
				truth := make([][]int, len(tab.Rows))
				for i := range truth {
					truth[i] = make([]int, len(tab.Cols))
				}
				n := 0
				for _, o := range obs {
					w := weekOf(o.At)
					if q.Department != "" && o.Department != q.Department ||
						!q.From.IsZero() && w < weekOf(q.From) || !q.To.IsZero() && w > weekOf(q.To) {
						continue
					}
					roles := []string{""}
					if rd == DimRole || cd == DimRole {
						if roles = distinct(o.Roles); len(roles) == 0 {
							roles = []string{Unknown}
						}
					}
					for _, role := range roles {
						i, j := slices.Index(tab.Rows, value(rd, o, role)), slices.Index(tab.Cols, value(cd, o, role))
						if i < 0 || j < 0 {
							t.Fatalf("%s×%s: label missing for %+v", rd, cd, o)
						}
						truth[i][j]++
						n++
					}
				}
				checkTable(t, fmt.Sprintf("%s×%s %+v", rd, cd, q), tab, truth, 5)
				if (rd == DimRole || cd == DimRole) && q.Department == "" && q.From.IsZero() && n <= len(obs) {
					t.Errorf("role table sums %d, want more than the %d reports (multi-role reports)", n, len(obs))
				}
			}
		}
	}
	if tab, _ := e.Table(Query{Rows: DimWeek, Cols: DimDepartment}); !slices.IsSorted(tab.Rows) || tab.Rows[0] != "2025-W02" {
		t.Errorf("week rows = %v, want chronological from 2025-W02", tab.Rows)
	}
}

func TestTableQueryErrorsNameFields(t *testing.T) {
	e := mustNew(t, Options{})
	cases := []struct {
		q    Query
		want []string
	}{
		{Query{Rows: "ward", Cols: DimRole}, []string{"Query.Rows"}},
		{Query{Rows: DimRole, Cols: ""}, []string{"Query.Cols"}},
		{Query{Rows: DimWeek, Cols: DimWeek}, []string{"Query.Cols", "Query.Rows"}},
		{Query{Rows: DimWeek, Cols: DimRole, From: weekTime(3), To: weekTime(1)}, []string{"Query.From", "Query.To"}},
		{Query{Rows: "x", Cols: "y", From: weekTime(3), To: weekTime(1)}, []string{"Query.Rows", "Query.Cols", "Query.From"}},
	}
	for _, c := range cases {
		_, err := e.Table(c.q)
		if err == nil {
			t.Errorf("Table(%+v) accepted an invalid query", c.q)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Table(%+v) error %q does not name %s", c.q, err, w)
			}
		}
	}
}

func TestCellJSON(t *testing.T) {
	for _, c := range []struct {
		cell Cell
		want string
	}{
		{Cell{Count: 12}, `{"count":12}`},
		{Cell{Count: 0}, `{"count":0}`},
		{Cell{Suppressed: true}, `{"count":null,"suppressed":true}`},
		// Defence in depth: even a mis-built cell does not leak its count.
		{Cell{Count: 3, Suppressed: true}, `{"count":null,"suppressed":true}`},
	} {
		b, err := json.Marshal(c.cell)
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", c.cell, b, err, c.want)
		}
		if b, _ := json.Marshal(&c.cell); string(b) != c.want {
			t.Errorf("Marshal(&%+v) = %s; want %s", c.cell, b, c.want)
		}
	}
}

// TestTableJSONHidesSuppressedCounts observes distinctive small counts
// and checks that no number in the JSON equals any of them.
func TestTableJSONHidesSuppressedCounts(t *testing.T) {
	e := mustNew(t, Options{})
	counts := map[[2]string]int{
		{"icu", "racism"}: 3, {"icu", "slur"}: 61, {"icu", "other"}: 73,
		{"er", "racism"}: 89, {"er", "slur"}: 4, {"er", "other"}: 97,
	}
	id := 0
	for k, n := range counts {
		for range n {
			id++
			e.Observe(report(fmt.Sprint(id), k[0], k[1], weekTime(0)))
		}
	}
	tab, err := e.Table(Query{Rows: DimDepartment, Cols: DimCategory})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var numbers []float64
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case float64:
			numbers = append(numbers, v)
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	// 3 and 4 are suppressed as small; 61 and 89 as their complements.
	hidden := 0
	for i := range tab.Cells {
		for j, c := range tab.Cells[i] {
			if !c.Suppressed {
				continue
			}
			hidden++
			n := float64(counts[[2]string{tab.Rows[i], tab.Cols[j]}])
			if slices.Contains(numbers, n) {
				t.Errorf("suppressed count %v of %s×%s appears in %s", n, tab.Rows[i], tab.Cols[j], b)
			}
		}
	}
	if hidden < 4 || !strings.Contains(string(b), `{"count":null,"suppressed":true}`) {
		t.Fatalf("expected at least 4 suppressed cells, got %d: %s", hidden, b)
	}
}
