package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// How a cell was used in one run.
const (
	useNone     uint8 = iota // indicator not scored
	useObserved              // scored from a verified value
	useMean                  // scored from the group mean
	useZero                  // scored 0 for a missing value
	useReweight              // missing; weight shared by the rest of the dimension
	useNA                    // not applicable; weight shared
)

// zscoreSpan is the z-score that maps to 0 and 100 in the 0–100 rescale of
// zscore normalisation: score = clamp(50 + 50·z/3, 0, 100).
const zscoreSpan = 3.0

// indStats holds what normalising one indicator needs, computed from the
// observed values of the run. Values are oriented (y = dir·t, t the treated
// value) so that more is always better.
type indStats struct {
	method string
	dir    float64
	n      int // observed values
	// smallest two and largest two oriented values (with multiplicity)
	min1, min2, max1, max2 float64
	mean, ss               float64 // of the oriented values; ss = Σ(y−mean)²
	sorted                 []float64
	yL, yU                 float64 // goalposts and dtf: yL scores 0, yU scores 100
	tr                     treatment
}

// score normalises the oriented value y. self says whether y is one of the
// observed values the statistics were computed from (rank normalisation
// compares a value with the others). z is the oriented z-score (zscore only).
func (st *indStats) score(y float64, self bool) (s, z float64) {
	switch st.method {
	case scheme.MethodGoalposts, scheme.MethodDTF, scheme.MethodBinary:
		return clamp100((y - st.yL) / (st.yU - st.yL) * 100), 0
	case scheme.MethodMinMax:
		if st.max1 == st.min1 {
			return 100, 0 // all equal: everyone scores 100 (documented convention)
		}
		return clamp100((y - st.min1) / (st.max1 - st.min1) * 100), 0
	case scheme.MethodZScore:
		z = st.z(y)
		return zScore(z), z
	case scheme.MethodRank:
		less, eq := st.count(y)
		m := st.n
		if self {
			eq--
			m--
		}
		if m <= 0 {
			return 100, 0
		}
		return clamp100((float64(less) + 0.5*float64(eq)) / float64(m) * 100), 0
	}
	return 0, 0
}

// z returns the oriented z-score of y against the observed values, using
// the sample standard deviation; 0 when fewer than two values or all equal.
func (st *indStats) z(y float64) float64 {
	if st.n < 2 || st.max1 == st.min1 {
		return 0
	}
	sd := math.Sqrt(st.ss / float64(st.n-1))
	if sd == 0 {
		return 0
	}
	return (y - st.mean) / sd
}

func zScore(z float64) float64 { return clamp100(50 + 50*z/zscoreSpan) }

// count returns how many observed values are below y and equal to y.
func (st *indStats) count(y float64) (less, eq int) {
	less, _ = slices.BinarySearch(st.sorted, y)
	hi := less
	for hi < len(st.sorted) && st.sorted[hi] == y {
		hi++
	}
	return less, hi - less
}

func clamp100(x float64) float64 {
	switch {
	case x > 100:
		return 100
	case x > 0:
		return x
	}
	return 0 // also NaN
}

// useTreated marks, in run.use, a value that outlier treatment changed.
const useTreated uint8 = 0x80

// normalise scores indicator j for every region of the run, into the
// indicator's columns of run.use, run.val and run.score.
func (e *run) normalise(j int) {
	p, c := e.p, &e.cfg.inds[j]
	nr := p.nr
	col := j * nr
	cells := p.cells[col : col+nr]
	use, val, sc := e.use[col:col+nr], e.val[col:col+nr], e.score[col:col+nr]
	sum := &e.summaries[j]
	*sum = IndicatorSummary{Code: c.ind.Code, Dimension: c.ind.Dimension, Scored: c.scored, Direction: c.ind.Direction, Weight: c.w}
	xs, who := e.xs[:0], e.who[:0]
	for r := range cells {
		switch cells[r].state {
		case cellObserved:
			xs = append(xs, cells[r].x)
			who = append(who, r)
		case cellNAKind, cellNAMark:
			use[r] = useNA
			sum.NotApplicable++
		}
	}
	e.xs, e.who = xs, who
	if !c.scored {
		return
	}
	sum.Method = c.method
	sum.DimensionWeight = e.dimShare[c.dim]
	sum.Observed = len(xs)
	st := &e.stats[j]
	*st = indStats{method: c.method, dir: c.dir}
	if c.method == scheme.MethodMinMax || c.method == scheme.MethodZScore {
		e.treat(j, st, xs, who, sum)
	}
	// Oriented treated values and their statistics.
	ys := e.ys[:0]
	for _, x := range xs {
		ys = append(ys, c.dir*st.tr.apply(x))
	}
	e.ys = ys
	st.describe(ys)
	if !st.finite() {
		// The values overflow together (their range, mean or spread):
		// none of them can be normalised.
		for _, r := range who {
			e.markUnscorable(r, c.ind.Code)
		}
	}
	switch c.method {
	case scheme.MethodRank:
		st.sorted = slices.Clone(ys)
		slices.Sort(st.sorted)
	case scheme.MethodGoalposts:
		st.yL, st.yU = *c.norm.Lower, *c.norm.Upper
		if c.dir < 0 {
			st.yL, st.yU = -*c.norm.Upper, -*c.norm.Lower
		}
	case scheme.MethodDTF:
		st.yL, st.yU = c.dir**c.norm.Worst, c.dir**c.norm.Best
	case scheme.MethodBinary:
		// Goalposts at 0 and 1: yes scores 100, no 0, and an imputed
		// group mean (a share of yes) its share of 100.
		st.yL, st.yU = 0, 1
		if c.dir < 0 {
			st.yL, st.yU = -1, 0
		}
	}
	if st.n > 0 {
		lo, hi := st.min1, st.max1
		if c.dir < 0 {
			lo, hi = -st.max1, -st.min1
		}
		sum.Min, sum.Max, sum.Mean = num(lo), num(hi), num(c.dir*st.mean)
		if st.n > 1 {
			sum.SD = num(math.Sqrt(st.ss / float64(st.n-1)))
		}
	}
	for k, r := range who {
		t := c.dir * ys[k]
		val[r] = t
		sc[r], _ = st.score(ys[k], true)
		use[r] = useObserved
		if t != xs[k] {
			use[r] |= useTreated
		}
	}
	// Group means of the raw observed values, for group_mean imputation.
	if c.policy == scheme.MissingGroupMean {
		clear(e.gsum)
		clear(e.gcount)
		for k, r := range who {
			g := p.group[r]
			e.gsum[g] += xs[k]
			e.gcount[g]++
		}
	}
	for r := range cells {
		if s := cells[r].state; s != cellAbsent && s != cellUnverified {
			continue
		}
		switch c.policy {
		case scheme.MissingZero:
			use[r], sc[r] = useZero, 0
			sum.Imputed++
			continue
		case scheme.MissingGroupMean:
			if g := p.group[r]; e.gcount[g] > 0 {
				x := e.gsum[g] / float64(e.gcount[g])
				t := st.tr.apply(x)
				val[r] = t
				sc[r], _ = st.score(c.dir*t, false)
				use[r] = useMean
				if t != x {
					use[r] |= useTreated
				}
				sum.Imputed++
				continue
			}
			reg := p.regions[r]
			e.regionWarn(r, Warning{Code: "group_mean_unavailable", Region: reg.Code, Indicator: c.ind.Code,
				Message:   fmt.Sprintf("%s 缺少数据，且同组地区均无已核实数据可供均值补齐，改为由同维度其他指标分担其权重", c.ind.Code),
				MessageEn: fmt.Sprintf("%s is missing and no region of the same group has a verified value to impute from; its weight is shared by the dimension's other indicators instead", c.ind.Code)})
		}
		use[r] = useReweight
		sum.Reweighted++
	}
}

// fill writes region r's indicator results from the run's columns.
func (e *run) fill(r int) {
	p := e.p
	nr := p.nr
	inds := e.res[r].Indicators
	for j := range inds {
		c := &e.cfg.inds[j]
		k := j*nr + r
		cl := p.cells[k]
		ir := &inds[j]
		ir.Code, ir.Scored = c.ind.Code, c.scored
		switch cl.state {
		case cellObserved:
			ir.Observed, ir.Raw = true, num(cl.x)
		case cellNAKind, cellNAMark:
			ir.NotApplicable = true
		default:
			ir.Missing, ir.Unverified = true, statusOf(cl.status)
		}
		if !c.scored {
			continue
		}
		u := e.use[k]
		switch u &^ useTreated {
		case useObserved:
			ir.Value, ir.Score = num(e.val[k]), num(e.score[k])
		case useMean:
			ir.Imputed, ir.Imputation = true, ImputationGroupMean
			ir.Value, ir.Score = num(e.val[k]), num(e.score[k])
		case useZero:
			ir.Imputed, ir.Imputation, ir.Score = true, ImputationZero, num(0)
		case useReweight:
			ir.Imputation = ImputationReweight
		}
		if u&useTreated != 0 {
			ir.Treated, ir.Treatment = true, e.stats[j].tr.method
		}
		if c.method == scheme.MethodZScore && ir.Value.Valid {
			ir.Z = num(c.dir * e.stats[j].z(c.dir*e.val[k]))
		}
	}
}

// describe computes the order statistics, mean and sum of squares of ys.
func (st *indStats) describe(ys []float64) {
	st.n = len(ys)
	if st.n == 0 {
		return
	}
	inf := math.Inf(1)
	st.min1, st.min2, st.max1, st.max2 = inf, inf, -inf, -inf
	total := 0.0
	for _, y := range ys {
		total += y
		if y < st.min1 {
			st.min1, st.min2 = y, st.min1
		} else if y < st.min2 {
			st.min2 = y
		}
		if y > st.max1 {
			st.max1, st.max2 = y, st.max1
		} else if y > st.max2 {
			st.max2 = y
		}
	}
	if st.n == 1 {
		st.min2, st.max2 = st.min1, st.max1
	}
	st.mean = total / float64(st.n)
	ss := 0.0
	for _, y := range ys {
		d := y - st.mean
		ss += d * d
	}
	st.ss = ss
}

// treat decides and records the outlier treatment of indicator j.
func (e *run) treat(j int, st *indStats, xs []float64, who []int, sum *IndicatorSummary) {
	if !e.cfg.outliers {
		return
	}
	code := e.cfg.inds[j].ind.Code
	if len(xs) < minForOutliers {
		e.warn(Warning{Code: "outliers_too_few", Indicator: code,
			Message: fmt.Sprintf("指标 %s 只有 %d 个地区有已核实数据（少于 %d 个），无法可靠判断异常值，未做异常值处理；建议改用目标值法（goalposts）标准化",
				code, len(xs), minForOutliers),
			MessageEn: fmt.Sprintf("indicator %s has verified values for only %d regions (fewer than %d), too few to judge outliers, so it was not treated; consider goalposts normalisation",
				code, len(xs), minForOutliers)})
		return
	}
	st.tr = decideTreatment(xs)
	if st.tr.method == TreatmentNone {
		return
	}
	rec := &Treatment{Method: st.tr.method, Skewness: st.tr.skew, Kurtosis: st.tr.kurt,
		SkewnessAfter: st.tr.skewAfter, KurtosisAfter: st.tr.kurtAfter}
	for k, r := range who {
		t := st.tr.apply(xs[k])
		if t == xs[k] {
			continue
		}
		rec.Points = append(rec.Points, TreatedPoint{Region: e.p.regions[r].Code, Raw: xs[k], Treated: t})
	}
	sum.Treatment = rec
}
