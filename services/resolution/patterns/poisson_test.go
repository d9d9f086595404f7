package patterns

import (
	"math"
	"testing"
)

// directTail sums the pmf from k upwards in log space: slow but obviously
// right for the small means it is used with.
func directTail(k int, mean float64) float64 {
	sum := 0.0
	for i := k; i < k+4000; i++ {
		lg, _ := math.Lgamma(float64(i) + 1)
		sum += math.Exp(float64(i)*math.Log(mean) - mean - lg)
	}
	return sum
}

func closeRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestPoissonUpperTailKnownValues(t *testing.T) {
	cases := []struct {
		k    int
		mean float64
		want float64
	}{
		{10, 2, 4.649807501726388e-05},
		{5, 1, 0.00365984682734371},
		{20, 10, 0.0034543419758568308},
		{1, 0.5, 1 - math.Exp(-0.5)},
		{50, 30, 0.0005188914625480391},
		{3, 4.0 / 26 * 0.5, 7.161625897425777e-05}, // zero-baseline floor, defaults
	}
	for _, c := range cases {
		if got := poissonUpperTail(c.k, c.mean); !closeRel(got, c.want, 1e-9) {
			t.Errorf("P(X≥%d | %g) = %.12g, want %.12g", c.k, c.mean, got, c.want)
		}
	}
}

func TestPoissonUpperTailMatchesDirectSum(t *testing.T) {
	for _, mean := range []float64{0.01, 0.3, 1, 2.5, 7, 19.9, 40} {
		for k := 1; k <= 90; k++ {
			want := directTail(k, mean)
			if want < 1e-300 {
				continue
			}
			if got := poissonUpperTail(k, mean); !closeRel(got, want, 1e-9) {
				t.Errorf("P(X≥%d | %g) = %.15g, direct sum %.15g", k, mean, got, want)
			}
		}
	}
}

func TestPoissonUpperTailEdges(t *testing.T) {
	for _, mean := range []float64{0, 1e-9, 3, 1e6} {
		if got := poissonUpperTail(0, mean); got != 1 {
			t.Errorf("P(X≥0 | %g) = %g, want 1", mean, got)
		}
	}
	if got := poissonUpperTail(1, 0); got != 0 {
		t.Errorf("P(X≥1 | 0) = %g, want 0", got)
	}
	// Large counts: no overflow, no NaN, and normal-approximation sanity.
	big := []struct {
		k      int
		mean   float64
		lo, hi float64
	}{
		{1_000_000, 1_000_000, 0.49, 0.51},
		{1_005_000, 1_000_000, 1e-7, 1e-6}, // ≈ 5σ above the mean
		{995_000, 1_000_000, 0.999999, 1},  // ≈ 5σ below
		{1_000_000, 1, 0, 1e-300},          // underflows to 0, gracefully
		{1_000_000, 2_000_000, 0.999999, 1},
		{2_000_000, 1_000_000, 0, 1e-300},
	}
	for _, c := range big {
		got := poissonUpperTail(c.k, c.mean)
		if math.IsNaN(got) || math.IsInf(got, 0) || got < c.lo || got > c.hi {
			t.Errorf("P(X≥%d | %g) = %g, want in [%g, %g]", c.k, c.mean, got, c.lo, c.hi)
		}
	}
	// Monotone in k around a large mean.
	prev := 1.0
	for k := 999_000; k <= 1_004_000; k += 250 {
		got := poissonUpperTail(k, 1_000_000)
		if got > prev {
			t.Fatalf("tail not monotone at k=%d: %g > %g", k, got, prev)
		}
		prev = got
	}
}
