package engine

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// paths computes the path to the next grade of every graded region below
// the top grade.
//
// The next grade is the one just above the final grade. Each step changes
// one indicator alone, holding everything else as it is: the region's other
// values and weights, the other regions' values, and the run's outlier
// treatment. For a relative normalisation (minmax, zscore, rank) the step
// is computed against the other regions' observed values, as if the region
// reported (and had verified) the target value. The composite is linear in
// an indicator's score (arithmetic) or in ln(score+1) (geometric), so the
// score needed is exact; it is turned into a value by inverting the
// normalisation. Counts (Integer indicators) are rounded to the next whole
// number in the better direction.
func (e *run) paths() {
	// One allocation for all paths and one for all steps; each region's
	// share is fixed first so that regions can then be filled in parallel.
	pathAt := make([]int, len(e.res))
	stepAt := make([]int, len(e.res)+1)
	npaths := 0
	for r := range e.res {
		rr := &e.res[r]
		pathAt[r] = -1
		stepAt[r+1] = stepAt[r]
		if rr.Status != StatusOK || e.final[r] <= 0 {
			continue
		}
		pathAt[r] = npaths
		npaths++
		if rr.Score.Value < e.p.grades[e.final[r]-1].Min-bandTolerance {
			for j := range rr.Indicators {
				if rr.Indicators[j].Weight > 0 {
					stepAt[r+1]++
				}
			}
		}
	}
	paths := make([]Path, npaths)
	steps := make([]PathStep, stepAt[len(e.res)])
	e.eachRegion(func(_ *text, r int) {
		if pathAt[r] < 0 {
			return
		}
		rr := &e.res[r]
		target := e.final[r] - 1
		g := e.p.grades[target]
		path := &paths[pathAt[r]]
		*path = Path{Target: g.Code, Threshold: g.Min, Gap: g.Min - rr.Score.Value, Steps: []PathStep{}, Blocked: e.blocks(r, target)}
		if rr.Score.Value < g.Min-bandTolerance {
			own := steps[stepAt[r]:stepAt[r]:stepAt[r+1]]
			for j := range rr.Indicators {
				if rr.Indicators[j].Weight > 0 {
					own = append(own, e.step(r, j, g.Min))
				}
			}
			path.Steps = own
		}
		rr.Path = path
	})
}

// eachRegion calls f for every region, spread over GOMAXPROCS goroutines:
// paths and explanations of one region read the whole run but write only
// that region's result, so regions are independent. Each goroutine gets its
// own text buffer, the only scratch space f may use.
func (e *run) eachRegion(f func(t *text, r int)) {
	n := len(e.res)
	workers := min(runtime.GOMAXPROCS(0), n/64+1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var t text
			for {
				r := int(next.Add(1)) - 1
				if r >= n {
					return
				}
				f(&t, r)
			}
		})
	}
	wg.Wait()
}

// blocks returns the fired rules that would keep region r below grade
// index target even with a score in that band.
func (e *run) blocks(r, target int) []Block {
	p := e.p
	rr := &e.res[r]
	out := []Block{}
	if f, _ := p.applyRules(rr.Rules, target); f <= target {
		return out
	}
	want := p.grades[target]
	reached := rr.Score.Value >= want.Min-bandTolerance
	for _, fr := range rr.Rules {
		for _, ef := range fr.Effects {
			gi := p.gradeIndex(ef.Grade)
			if gi <= target || (ef.Type != scheme.EffectCapGrade && ef.Type != scheme.EffectSetGrade) {
				continue
			}
			g := p.grades[gi]
			verbZh, verbEn := "限定为", "caps it at"
			verbEn2 := "would be capped at"
			if ef.Type == scheme.EffectSetGrade {
				verbZh, verbEn, verbEn2 = "定为", "sets it to", "would be set to"
			}
			b := Block{Rule: fr.ID, Grade: g.Code}
			if reached {
				b.Statement = fmt.Sprintf("得分 %s 本可评为%s，但规则 %s 将等次%s%s：%s", f1(rr.Score.Value), want.Name, fr.ID, verbZh, g.Name, fr.Message)
				b.StatementEn = fmt.Sprintf("score %s would be %s, but rule %s %s %s: %s", f1(rr.Score.Value), want.NameEn, fr.ID, verbEn, g.NameEn, ruleMessageEn(fr))
			} else {
				b.Statement = fmt.Sprintf("即使得分达到 %s，规则 %s 仍将等次%s%s：%s", fv(want.Min), fr.ID, verbZh, g.Name, fr.Message)
				b.StatementEn = fmt.Sprintf("even a score of %s %s %s by rule %s: %s", fv(want.Min), verbEn2, g.NameEn, fr.ID, ruleMessageEn(fr))
			}
			out = append(out, b)
		}
	}
	return out
}

func ruleMessageEn(fr FiredRule) string {
	if fr.MessageEn != "" {
		return fr.MessageEn
	}
	return fr.Message
}

// step is the smallest change of indicator j alone that lifts region r's
// composite to threshold.
func (e *run) step(r, j int, threshold float64) PathStep {
	c := &e.cfg.inds[j]
	st := &e.stats[j]
	ir := &e.res[r].Indicators[j]
	use := e.use[j*e.p.nr+r] &^ useTreated
	s0 := ir.Score.Value
	ps := PathStep{Indicator: ir.Code, ScoreNow: s0, FromImputed: ir.Imputed}
	switch {
	case ir.Observed:
		ps.From = ir.Raw
	case use == useMean:
		if x, ok := st.tr.invert(ir.Value.Value); ok {
			ps.From = num(x)
		}
	}
	// The score the indicator needs.
	var need float64
	if e.cfg.agg == scheme.AggregationGeometric {
		need = math.Expm1(math.Log1p(s0) + (math.Log1p(threshold)-e.logComp[r])/ir.Weight)
	} else {
		need = s0 + (threshold-e.comp[r])/ir.Weight
	}
	if !finite(need) {
		need = math.Inf(1)
	}
	ps.Score = num(need)
	impossible := func(reason Reason) PathStep {
		ps.Reason = reason
		if !finite(need) || need > 1e6 {
			ps.Score = Number{}
		}
		return ps
	}
	self := use == useObserved
	y0 := c.dir * ir.Value.Value
	o := st.others(y0, self)
	smax, attained := o.maxScore()
	if s0 >= smax-bandTolerance {
		return impossible(ReasonAtCeiling)
	}
	if need > smax+bandTolerance || (!attained && need >= smax) {
		return impossible(ReasonNotEnough)
	}
	need = min(need, 100)
	y, exceed, ok := o.invert(need)
	if !ok {
		return impossible(ReasonNotEnough)
	}
	x, ok := st.tr.invert(c.dir * y)
	if !ok || !finite(x) {
		return impossible(ReasonNotEnough)
	}
	if c.ind.Integer {
		x, exceed = roundBetter(x, c.dir, exceed), false
	}
	if (c.ind.Min != nil && x < *c.ind.Min) || (c.ind.Max != nil && x > *c.ind.Max) {
		ps.Target = num(x)
		return impossible(ReasonOutOfRange)
	}
	ps.Possible = true
	ps.Target, ps.Exceed = num(x), exceed
	if ps.From.Valid {
		ps.Change = num(x - ps.From.Value)
	}
	return ps
}

// roundBetter rounds x to a whole number in the better direction dir: the
// smallest whole number at least x (or, when exceed, beyond x).
func roundBetter(x, dir float64, exceed bool) float64 {
	eps := 1e-9 * max(1, math.Abs(x))
	if dir > 0 {
		if exceed {
			return math.Floor(x+eps) + 1
		}
		return math.Ceil(x - eps)
	}
	if exceed {
		return math.Ceil(x-eps) - 1
	}
	return math.Floor(x + eps)
}

// ownScore is the score of one region's oriented value y as a function of
// y, with the other regions' observed values fixed.
type ownScore struct {
	st *indStats
	// minmax: the others' range; rank: the others' count and which sorted
	// value is the region's own; zscore: the others' count, mean and sum of
	// squared deviations.
	lo, hi   float64
	m        int
	self     bool
	y0       float64
	mean, ss float64
	capY     float64 // best oriented value outlier treatment allows
	capped   bool
}

// others returns the own-score function of a region whose current
// oriented value is y0 (one of the observed values when self).
func (st *indStats) others(y0 float64, self bool) ownScore {
	o := ownScore{st: st, self: self, y0: y0, m: st.n, lo: st.min1, hi: st.max1, mean: st.mean, ss: st.ss}
	if self {
		o.m = st.n - 1
		if y0 == st.min1 {
			o.lo = st.min2
		}
		if y0 == st.max1 {
			o.hi = st.max2
		}
		if o.m > 0 {
			n := float64(st.n)
			d := y0 - st.mean
			o.mean = (n*st.mean - y0) / float64(o.m)
			o.ss = max(st.ss-d*d*n/float64(o.m), 0)
		}
	}
	if st.tr.method == TreatmentWinsorise {
		o.capped = true
		o.capY = st.tr.hi
		if st.dir < 0 {
			o.capY = -st.tr.lo
		}
	}
	return o
}

// zOf is the oriented z-score of y with the others fixed (sample sd).
func (o ownScore) zOf(y float64) float64 {
	if o.m < 1 {
		return 0
	}
	k := float64(o.m)
	n := k + 1
	d := y - o.mean
	ss := o.ss + k*d*d/n
	if ss <= 0 {
		return 0
	}
	return k * d / n / math.Sqrt(ss/k)
}

// maxScore returns the highest score the region can reach on the
// indicator, and whether it is reached by some value (a z-score only
// approaches its bound).
func (o ownScore) maxScore() (float64, bool) {
	switch o.st.method {
	case scheme.MethodMinMax, scheme.MethodRank:
		return 100, true
	case scheme.MethodZScore:
		if o.m < 1 {
			return 50, true
		}
		if o.capped {
			return zScore(o.zOf(o.capY)), true
		}
		k := float64(o.m)
		zsup := k / math.Sqrt(k+1)
		if o.ss <= 0 || zsup > zscoreSpan {
			return zScore(zsup), true
		}
		return zScore(zsup), false
	}
	return 100, true
}

// invert returns the smallest oriented value scoring at least s (0 < s ≤
// 100), and whether the value must be exceeded rather than reached.
func (o ownScore) invert(s float64) (y float64, exceed, ok bool) {
	st := o.st
	switch st.method {
	case scheme.MethodGoalposts, scheme.MethodDTF:
		return st.yL + s/100*(st.yU-st.yL), false, true
	case scheme.MethodBinary:
		return st.yU, false, true
	case scheme.MethodMinMax:
		if o.m < 1 {
			return o.y0, false, true
		}
		if o.hi == o.lo {
			return o.lo, false, true
		}
		return o.lo + s/100*(o.hi-o.lo), false, true
	case scheme.MethodZScore:
		z := (s - 50) * zscoreSpan / 50
		if s >= 100 {
			z = zscoreSpan
		}
		k := float64(o.m)
		n := k + 1
		if o.ss <= 0 {
			if z <= 0 {
				return o.mean, false, true
			}
			return o.mean, true, z <= k/math.Sqrt(n)
		}
		den := k * (k*k - z*z*n)
		if den <= 0 {
			return 0, false, false
		}
		d := math.Sqrt(z * z * o.ss * n * n / den)
		if z < 0 {
			d = -d
		}
		y = o.mean + d
		if o.capped && y > o.capY {
			return 0, false, false
		}
		return y, false, true
	case scheme.MethodRank:
		return o.invertRank(s)
	}
	return 0, false, false
}

// invertRank finds the smallest oriented value whose rank score among the
// others is at least s: tying with some other region's value, or beating it.
func (o ownScore) invertRank(s float64) (float64, bool, bool) {
	if o.m < 1 {
		return o.y0, false, true // alone, any value ranks first
	}
	sorted := o.st.sorted
	need := s/100*float64(o.m) - bandTolerance
	counts := func(v float64) (less, eq float64) {
		l, q := o.st.count(v)
		if o.self {
			if o.y0 < v {
				l--
			} else if o.y0 == v {
				q--
			}
		}
		return float64(l), float64(q)
	}
	lo, hi := 0, len(sorted)
	for lo < hi { // smallest i whose value, beaten, gives enough
		mid := int(uint(lo+hi) >> 1)
		l, q := counts(sorted[mid])
		if l+q >= need {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(sorted) {
		return 0, false, false
	}
	v := sorted[lo]
	l, q := counts(v)
	return v, l+0.5*q < need, true
}
