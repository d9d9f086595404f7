package patterns

import "math"

// poissonUpperTail returns P(X ≥ k) for X ~ Poisson(mean).
//
// For k ≥ 1 this equals the regularized lower incomplete gamma function
// P(k, mean), which is evaluated in log space so that neither factorials
// nor powers are ever formed: it stays finite and accurate for counts in
// the millions, and underflows gracefully to 0 for absurdly small tails.
func poissonUpperTail(k int, mean float64) float64 {
	switch {
	case k <= 0:
		return 1
	case math.IsNaN(mean):
		return math.NaN()
	case mean <= 0:
		return 0 // X is always 0
	case math.IsInf(mean, 1):
		return 1
	}
	return regGammaP(float64(k), mean)
}

// regGammaP is the regularized lower incomplete gamma P(a, x), a > 0, x > 0.
// Below x = a+1 the power series converges fast and yields P directly (the
// small upper tails that matter here keep full relative precision); above
// it the continued fraction for Q = 1-P converges fast instead.
func regGammaP(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	// log of x^a e^-x / Γ(a), the common prefactor of both expansions.
	logPre := a*math.Log(x) - x - lg
	// Both expansions need O(√a) terms near x ≈ a; allow ample headroom.
	maxIter := 200 + int(50*math.Sqrt(a))
	if x < a+1 {
		return math.Min(1, gammaSeries(a, x, maxIter)*math.Exp(logPre))
	}
	return math.Max(0, 1-gammaContinuedFraction(a, x, maxIter)*math.Exp(logPre))
}

const gammaEps = 1e-15

// gammaSeries sums Σ x^n / (a(a+1)…(a+n)), so P(a,x) = sum·x^a e^-x / Γ(a).
func gammaSeries(a, x float64, maxIter int) float64 {
	term := 1 / a
	sum := term
	for n := 1; n <= maxIter; n++ {
		term *= x / (a + float64(n))
		sum += term
		if term < sum*gammaEps {
			break
		}
	}
	return sum
}

// gammaContinuedFraction evaluates the continued fraction for Q(a,x)
// (without the prefactor) by the modified Lentz method.
func gammaContinuedFraction(a, x float64, maxIter int) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i <= maxIter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		h *= delta
		if math.Abs(delta-1) < gammaEps {
			break
		}
	}
	return h
}
