package patterns

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Dimension is an axis of a Table.
type Dimension string

// Dimensions.
const (
	DimDepartment Dimension = "department"
	DimCategory   Dimension = "category"
	DimRole       Dimension = "role"
	DimWeek       Dimension = "week" // labelled as ISO weeks, "2006-W01"
)

func (d Dimension) valid() bool {
	switch d {
	case DimDepartment, DimCategory, DimRole, DimWeek:
		return true
	}
	return false
}

// Query asks for a cross-tabulation of two different dimensions.
type Query struct {
	Rows, Cols Dimension
	From, To   time.Time // optional: keep ISO weeks from From's week through To's week
	Department string    // optional: keep one department
}

// Validate reports every problem with q, naming the field.
func (q Query) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		d    Dimension
	}{{"Rows", q.Rows}, {"Cols", q.Cols}} {
		if !f.d.valid() {
			errs = append(errs, fmt.Errorf("patterns: Query.%s: unknown dimension %q (want department, category, role or week)", f.name, f.d))
		}
	}
	if q.Rows.valid() && q.Rows == q.Cols {
		errs = append(errs, fmt.Errorf("patterns: Query.Cols must differ from Query.Rows (both %q)", q.Rows))
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		errs = append(errs, fmt.Errorf("patterns: Query.From (%s) is after Query.To (%s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Cell is one published number. A suppressed cell always has Count 0.
type Cell struct {
	Count      int
	Suppressed bool
}

// MarshalJSON emits {"count":N} or {"count":null,"suppressed":true}; the
// suppressed form never carries a number, whatever Count holds.
func (c Cell) MarshalJSON() ([]byte, error) {
	if c.Suppressed {
		return []byte(`{"count":null,"suppressed":true}`), nil
	}
	return json.Marshal(struct {
		Count int `json:"count"`
	}{c.Count})
}

// Table is a suppressed cross-tabulation. Rows and Cols hold the labels of
// the values present (after filtering), sorted (weeks chronologically).
// Totals are sums of the cells: for the role dimension a report counts
// once per distinct role it names, so role totals can exceed the number of
// reports; otherwise they equal report counts.
type Table struct {
	Rows      []string `json:"rows"`
	Cols      []string `json:"cols"`
	Cells     [][]Cell `json:"cells"` // Cells[row][col]
	RowTotals []Cell   `json:"row_totals"`
	ColTotals []Cell   `json:"col_totals"`
	Total     Cell     `json:"total"`
	// MinCellSize is k: a suppressed cell holds fewer than k reports, or
	// hides one that does.
	MinCellSize int `json:"min_cell_size"`
}

// coord is a position along one dimension: a code, or a week.
type coord struct {
	s string
	w week
}

func (d Dimension) coord(dept, cat, role string, w week) coord {
	switch d {
	case DimDepartment:
		return coord{s: dept}
	case DimCategory:
		return coord{s: cat}
	case DimRole:
		return coord{s: role}
	}
	return coord{w: w}
}

func (d Dimension) label(c coord) string {
	if d == DimWeek {
		return c.w.label()
	}
	return c.s
}

// Table cross-tabulates q.Rows by q.Cols with small-cell suppression at
// MinCellSize (see the package doc for the rules).
func (e *Engine) Table(q Query) (Table, error) {
	if err := q.Validate(); err != nil {
		return Table{}, err
	}
	from, to := week(math.MinInt32), week(math.MaxInt32)
	if !q.From.IsZero() {
		from = weekOf(q.From)
	}
	if !q.To.IsZero() {
		to = weekOf(q.To)
	}
	keep := func(dept string, w week) bool {
		return w >= from && w <= to && (q.Department == "" || q.Department == dept)
	}

	type pos struct{ r, c coord }
	counts := make(map[pos]int)
	add := func(dept, cat, role string, w week, n int) {
		if n > 0 && keep(dept, w) {
			counts[pos{q.Rows.coord(dept, cat, role, w), q.Cols.coord(dept, cat, role, w)}] += n
		}
	}
	e.mu.RLock()
	if q.Rows == DimRole || q.Cols == DimRole {
		for k, n := range e.roles {
			add(k.dept, k.cat, k.role, k.w, n)
		}
	} else {
		for k, s := range e.series {
			for w, n := range s.weeks {
				add(k.dept, k.cat, "", w, n)
			}
		}
	}
	e.mu.RUnlock()

	// Lay the counts out as a matrix with sorted axes.
	rowIdx, colIdx := make(map[coord]int), make(map[coord]int)
	for p := range counts {
		rowIdx[p.r], colIdx[p.c] = 0, 0
	}
	rows, cols := sortedCoords(rowIdx), sortedCoords(colIdx)
	m := make([][]int, len(rows))
	for i := range m {
		m[i] = make([]int, len(cols))
	}
	for p, n := range counts {
		m[rowIdx[p.r]][colIdx[p.c]] = n
	}
	return buildTable(q, rows, cols, m, e.opts.MinCellSize), nil
}

// sortedCoords sorts the keys of idx, then records each key's index in it.
func sortedCoords(idx map[coord]int) []coord {
	out := make([]coord, 0, len(idx))
	for c := range idx {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b coord) int {
		return cmp.Or(cmp.Compare(a.w, b.w), cmp.Compare(a.s, b.s))
	})
	for i, c := range out {
		idx[c] = i
	}
	return out
}

// buildTable suppresses m and renders it; withheld numbers never leave here.
func buildTable(q Query, rows, cols []coord, m [][]int, k int) Table {
	s := suppress(m, k)
	cell := func(n int, suppressed bool) Cell {
		if suppressed {
			return Cell{Suppressed: true}
		}
		return Cell{Count: n}
	}
	t := Table{MinCellSize: k,
		Rows:      make([]string, len(rows)),
		Cols:      make([]string, len(cols)),
		Cells:     make([][]Cell, len(rows)),
		RowTotals: make([]Cell, len(rows)),
		ColTotals: make([]Cell, len(cols)),
	}
	colSum, grand := make([]int, len(cols)), 0
	for i, r := range rows {
		t.Rows[i] = q.Rows.label(r)
		t.Cells[i] = make([]Cell, len(cols))
		rowSum := 0
		for j, n := range m[i] {
			t.Cells[i][j] = cell(n, s.cell[i][j])
			rowSum += n
			colSum[j] += n
		}
		t.RowTotals[i] = cell(rowSum, s.row[i])
		grand += rowSum
	}
	for j, c := range cols {
		t.Cols[j] = q.Cols.label(c)
		t.ColTotals[j] = cell(colSum[j], s.col[j])
	}
	t.Total = cell(grand, s.total)
	return t
}
