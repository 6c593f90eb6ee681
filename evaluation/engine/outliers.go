package engine

import (
	"math"
)

// Outlier treatment, after the JRC/OECD practice implemented by COINr's
// Treat(): an indicator fails when |skewness| > 2 and kurtosis > 3.5;
// a failing indicator is winsorised one point at a time, at the tail the
// current skew points to, up to 5 points; if it still fails, the
// winsorisation is undone and the values are log-transformed instead.
const (
	skewLimit      = 2.0
	kurtLimit      = 3.5
	maxWinsorised  = 5
	minForOutliers = 10
)

// treatment maps a raw value to the value that is normalised. Both
// mappings are non-decreasing, so that a better raw value never scores
// worse.
type treatment struct {
	method TreatmentMethod
	// winsorise: clamp to [lo, hi]
	lo, hi float64
	// log (COINr's log_CT_plus): with a = 1% of the range,
	// sign +1 (right skew): ln(x − base + a), base the minimum;
	// sign −1 (left skew): −ln(base + a − x), base the maximum.
	sign, base, a float64

	skew, kurt, skewAfter, kurtAfter float64
}

func (tr *treatment) apply(x float64) float64 {
	switch tr.method {
	case TreatmentWinsorise:
		return min(max(x, tr.lo), tr.hi)
	case TreatmentLog:
		if tr.sign > 0 {
			return math.Log(max(x-tr.base+tr.a, tr.a))
		}
		return -math.Log(max(tr.base+tr.a-x, tr.a))
	}
	return x
}

// invert returns the raw value that apply maps to t, and false when no raw
// value is mapped to t (beyond a winsorisation bound).
func (tr *treatment) invert(t float64) (float64, bool) {
	switch tr.method {
	case TreatmentWinsorise:
		return t, t >= tr.lo && t <= tr.hi
	case TreatmentLog:
		if tr.sign > 0 {
			return math.Exp(t) + tr.base - tr.a, true
		}
		return tr.base + tr.a - math.Exp(-t), true
	}
	return t, true
}

// skewKurt returns the sample skewness and excess kurtosis of xs as
// Excel's SKEW and KURT (and COINr's skew and kurt) compute them, with the
// bias adjustments; both are 0 when xs has fewer than 4 values or no spread.
func skewKurt(xs []float64, f func(float64) float64) (skew, kurt float64) {
	n := float64(len(xs))
	if len(xs) < 4 {
		return 0, 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += f(x)
	}
	mean := sum / n
	var m2, m3, m4 float64
	for _, x := range xs {
		d := f(x) - mean
		d2 := d * d
		m2 += d2
		m3 += d2 * d
		m4 += d2 * d2
	}
	if m2 == 0 {
		return 0, 0
	}
	s2 := m2 / (n - 1) // sample variance
	s := math.Sqrt(s2)
	skew = n / ((n - 1) * (n - 2)) * m3 / (s2 * s)
	kurt = n*(n+1)/((n-1)*(n-2)*(n-3))*m4/(s2*s2) - 3*(n-1)*(n-1)/((n-2)*(n-3))
	if !finite(skew) || !finite(kurt) {
		return 0, 0
	}
	return skew, kurt
}

// extremes returns the maxWinsorised+1 smallest values of xs in ascending
// order and the as many largest in descending order (xs has at least
// minForOutliers values, more than twice that many), in one pass.
func extremes(xs []float64) (smallest, largest [maxWinsorised + 1]float64) {
	const k = maxWinsorised + 1
	for i := range k {
		smallest[i], largest[i] = math.Inf(1), math.Inf(-1)
	}
	for _, x := range xs {
		if x < smallest[k-1] {
			i := k - 1
			for i > 0 && smallest[i-1] > x {
				smallest[i] = smallest[i-1]
				i--
			}
			smallest[i] = x
		}
		if x > largest[k-1] {
			i := k - 1
			for i > 0 && largest[i-1] < x {
				largest[i] = largest[i-1]
				i--
			}
			largest[i] = x
		}
	}
	return smallest, largest
}

func fails(skew, kurt float64) bool { return math.Abs(skew) > skewLimit && kurt > kurtLimit }

func identity(x float64) float64 { return x }

// decideTreatment returns the treatment of the observed raw values xs (at
// least minForOutliers of them), or a treatment with method TreatmentNone when
// the indicator passes as it is.
func decideTreatment(xs []float64) treatment {
	skew, kurt := skewKurt(xs, identity)
	tr := treatment{skew: skew, kurt: kurt, skewAfter: skew, kurtAfter: kurt}
	if !fails(skew, kurt) {
		return tr
	}
	smallest, largest := extremes(xs)
	low, high := 0, 0
	w := treatment{method: TreatmentWinsorise}
	s, k := skew, kurt
	for fails(s, k) && low+high < maxWinsorised {
		if s > 0 {
			high++
		} else {
			low++
		}
		w.lo, w.hi = smallest[low], largest[high]
		s, k = skewKurt(xs, w.apply)
	}
	if !fails(s, k) {
		w.skew, w.kurt, w.skewAfter, w.kurtAfter = skew, kurt, s, k
		return w
	}
	lg := treatment{method: TreatmentLog, sign: 1, base: smallest[0], a: 0.01 * (largest[0] - smallest[0])}
	if skew < 0 {
		lg.sign, lg.base = -1, largest[0]
	}
	lg.skew, lg.kurt = skew, kurt
	lg.skewAfter, lg.kurtAfter = skewKurt(xs, lg.apply)
	return lg
}
