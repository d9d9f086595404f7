package patterns

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"time"
)

// Detection kinds.
const (
	KindThreshold = "threshold"
	KindRise      = "rise"
)

// Detection is one department × category whose recent reports look
// systemic. It carries counts only, never identities.
type Detection struct {
	// ID is deterministic: a digest of kind, department, category and
	// window-start week, so re-running Detect names the same finding alike.
	ID          string
	Kind        string // KindThreshold or KindRise
	Department  string
	Category    string
	WindowStart time.Time // Monday 00:00 UTC of the first window week
	WindowEnd   time.Time // Monday 00:00 UTC after the last window week (exclusive)
	Count       int       // reports in the window
	// Expected and PValue are the baseline test (see the package doc).
	// When the series lacks MinBaselineWeeks of history they are 0 and 1:
	// no test was possible, which only a threshold detection can show.
	Expected float64
	PValue   float64
}

// Detect evaluates every department × category over the Window weeks
// ending with the ISO week containing now. It reads the weekly aggregates
// only, so its cost grows with departments × categories × weeks examined,
// not with the number of reports. Results are sorted by department,
// category, then kind.
func (e *Engine) Detect(now time.Time) []Detection {
	o := e.opts
	last := weekOf(now)
	first := last - week(o.Window) + 1 // first window week
	baseEnd := first - 1               // last baseline week
	winStart, winEnd, startLabel := first.start(), (last + 1).start(), first.label()

	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []Detection
	for k, s := range e.series {
		count := 0
		for w := first; w <= last; w++ {
			count += s.weeks[w]
		}
		if count == 0 {
			continue
		}
		expected, p := 0.0, 1.0
		baseStart := max(baseEnd-week(o.BaselineWeeks)+1, s.first)
		tested := baseEnd-baseStart+1 >= week(o.MinBaselineWeeks)
		if tested {
			h := float64(baseEnd - baseStart + 1)
			base := 0
			for w := baseStart; w <= baseEnd; w++ {
				base += s.weeks[w]
			}
			// Half a report over the baseline stands in for none at all.
			rate := max(float64(base), 0.5) / h
			expected = rate * float64(o.Window)
			p = poissonUpperTail(count, expected)
		}
		d := Detection{
			Department: k.dept, Category: k.cat,
			WindowStart: winStart, WindowEnd: winEnd,
			Count: count, Expected: expected, PValue: p,
		}
		if count >= o.Threshold {
			out = append(out, d.as(KindThreshold, startLabel))
		}
		if tested && count >= o.MinRiseCount && p < o.Alpha {
			out = append(out, d.as(KindRise, startLabel))
		}
	}
	slices.SortFunc(out, func(a, b Detection) int {
		return cmp.Or(cmp.Compare(a.Department, b.Department),
			cmp.Compare(a.Category, b.Category),
			cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// as returns d as a detection of kind, with its deterministic ID: a
// digest of kind, department, category and the window's first ISO week.
func (d Detection) as(kind, startLabel string) Detection {
	d.Kind = kind
	var buf []byte
	for _, s := range []string{kind, d.Department, d.Category, startLabel} {
		// Length prefixes keep ("a|b","c") and ("a","b|c") apart.
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	sum := sha256.Sum256(buf)
	d.ID = kind + "-" + hex.EncodeToString(sum[:12])
	return d
}
