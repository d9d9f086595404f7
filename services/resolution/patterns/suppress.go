package patterns

// suppression says which cells and totals of a count matrix are withheld.
type suppression struct {
	cell  [][]bool
	row   []bool // row totals
	col   []bool // column totals
	total bool   // grand total
}

// suppress applies primary and complementary suppression to counts with
// minimum cell size k; totals are the sums of counts.
//
// Primary: every cell and total with 0 < count < k. Complementary, until
// stable: a line (row, column, or the row-total / column-total margins
// against the grand total) whose total is published must not have exactly
// one suppressed member, or that member would equal the total minus the
// published rest. The smallest non-zero published member is suppressed
// too (least information lost; zeros are skipped because an empty cell is
// often known to be empty, e.g. a role a department does not have, so
// hiding it protects nothing); if there is none, the line's total is
// suppressed instead. Flags only ever turn on,
// so the loop ends.
func suppress(counts [][]int, k int) suppression {
	nr := len(counts)
	nc := 0
	if nr > 0 {
		nc = len(counts[0])
	}
	rowSum, colSum, grand := make([]int, nr), make([]int, nc), 0
	for i, row := range counts {
		for j, v := range row {
			rowSum[i] += v
			colSum[j] += v
			grand += v
		}
	}
	small := func(v int) bool { return v > 0 && v < k }

	s := suppression{cell: make([][]bool, nr), row: make([]bool, nr), col: make([]bool, nc), total: small(grand)}
	for i, row := range counts {
		s.cell[i] = make([]bool, nc)
		for j, v := range row {
			s.cell[i][j] = small(v)
		}
		s.row[i] = small(rowSum[i])
	}
	for j := range colSum {
		s.col[j] = small(colSum[j])
	}

	// Views of every line as (values, flags, total flag).
	type line struct {
		vals  []int
		supp  []*bool
		total *bool
	}
	var lines []line
	for i := range nr {
		l := line{vals: counts[i], total: &s.row[i]}
		for j := range nc {
			l.supp = append(l.supp, &s.cell[i][j])
		}
		lines = append(lines, l)
	}
	for j := range nc {
		l := line{total: &s.col[j]}
		for i := range nr {
			l.vals = append(l.vals, counts[i][j])
			l.supp = append(l.supp, &s.cell[i][j])
		}
		lines = append(lines, l)
	}
	rowMargin := line{vals: rowSum, total: &s.total}
	for i := range nr {
		rowMargin.supp = append(rowMargin.supp, &s.row[i])
	}
	colMargin := line{vals: colSum, total: &s.total}
	for j := range nc {
		colMargin.supp = append(colMargin.supp, &s.col[j])
	}
	lines = append(lines, rowMargin, colMargin)

	for changed := true; changed; {
		changed = false
		for _, l := range lines {
			if protectLine(l.vals, l.supp, l.total) {
				changed = true
			}
		}
	}
	return s
}

// protectLine fixes one line with a published total and exactly one
// suppressed member; it reports whether it changed anything.
func protectLine(vals []int, supp []*bool, total *bool) bool {
	if *total {
		return false
	}
	n, best := 0, -1
	for i, sp := range supp {
		if *sp {
			n++
			continue
		}
		if vals[i] > 0 && (best < 0 || vals[i] < vals[best]) {
			best = i
		}
	}
	if n != 1 {
		return false
	}
	if best >= 0 {
		*supp[best] = true
	} else {
		*total = true
	}
	return true
}
