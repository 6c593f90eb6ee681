package engine

import (
	"maps"
	"math"
	"slices"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// bandTolerance: a score within this distance below a band's lower bound is
// in the band, so that binary rounding of a score that is exactly on the
// bound (90 computed as 89.99999999999999) cannot cost a grade. Ranks use
// the same tolerance for ties.
const bandTolerance = 1e-9

// run is the working state of one Evaluate call; nothing in it is shared.
type run struct {
	p   *Prepared
	cfg config

	res  []RegionResult
	inds []IndicatorResult // region-major, subsliced into res
	dims []DimensionResult // region-major, subsliced into res
	// indicator-major columns (index j*nr+r): how each cell was used, the
	// value normalised and its score
	use       []uint8
	val       []float64
	score     []float64
	stats     []indStats
	summaries []IndicatorSummary
	warnings  []Warning
	dimShare  []float64 // dimension weights divided by their sum (scheme level)
	// bad lists, per region, the indicators whose numbers overflowed in
	// this run (nil until one does)
	bad [][]string

	// per region, for the path to the next grade
	comp    []float64 // composite before clamping
	logComp []float64 // geometric: Σ W·ln(s+1)
	band    []int     // band grade index, -1 when not graded
	final   []int     // final grade index, -1 when not graded

	// scratch
	xs, ys     []float64
	who        []int
	gsum       []float64
	gcount     []int
	wA, wE, wO []float64
	dimAcc     []float64
}

// Evaluate scores the prepared input with opt. It fails only when opt is
// invalid; problems of single regions (no weight left, too little verified
// data) are reported in their results.
func (p *Prepared) Evaluate(opt Options) (Result, error) {
	cfg, err := p.resolve(opt)
	if err != nil {
		return Result{}, err
	}
	// The column run holds what normalising needs; scoring, grading and
	// the rules add the rest.
	e := newColumnRun(p, cfg)
	nr, ni, nd := p.nr, p.ni, len(p.scheme.Dimensions)
	e.inds = make([]IndicatorResult, nr*ni)
	e.dims = make([]DimensionResult, nr*nd)
	e.comp, e.logComp = make([]float64, nr), make([]float64, nr)
	e.band, e.final = make([]int, nr), make([]int, nr)
	e.wA, e.wE, e.wO = make([]float64, nd), make([]float64, nd), make([]float64, nd)
	e.dimAcc = make([]float64, nd)
	for r, reg := range p.regions {
		rr := &e.res[r]
		rr.Code, rr.Name, rr.Kind, rr.Group = reg.Code, reg.Name, reg.Kind, reg.Group
		rr.Indicators = e.inds[r*ni : (r+1)*ni : (r+1)*ni]
		rr.Dimensions = e.dims[r*nd : (r+1)*nd : (r+1)*nd]
		rr.Rules = []FiredRule{}
		rr.Warnings = []Warning{}
	}
	for j := range ni {
		e.normalise(j)
	}
	for r := range nr {
		e.fill(r)
		e.aggregate(r)
		e.checkRegion(r)
	}
	for j := range e.summaries {
		checkSummary(&e.summaries[j])
	}
	e.rank()
	for r := range nr {
		e.grade(r)
	}
	if !opt.NoPaths {
		e.paths()
		for r := range e.res {
			checkPath(e.res[r].Path)
		}
	}
	if !opt.NoExplanations {
		graded := 0
		for r := range nr {
			if e.res[r].Status == StatusOK {
				graded++
			}
		}
		e.eachRegion(func(t *text, r int) { e.explain(t, r, graded) })
	}
	res := Result{
		EngineVersion:     EngineVersion,
		SchemeCode:        p.scheme.Code,
		SchemeVersion:     p.scheme.Version,
		Aggregation:       cfg.agg,
		CoverageThreshold: p.scheme.CoverageThreshold,
		Grades:            slices.Clone(p.grades),
		Indicators:        e.summaries,
		Regions:           e.res,
		Warnings:          e.warnings,
	}
	if res.Warnings == nil {
		res.Warnings = []Warning{}
	}
	return res, nil
}

func (e *run) warn(w Warning) { e.warnings = append(e.warnings, w) }

func (e *run) regionWarn(r int, w Warning) { e.res[r].Warnings = append(e.res[r].Warnings, w) }

// aggregate computes the weights, dimension scores, composite and
// contributions of region r, and its status.
//
// Weights: an indicator's weight is relative within its dimension, among
// the indicators scored for the region (observed or imputed); a dimension's
// weight is relative among the dimensions with anything scored. So the
// weight of a not-applicable or reweighted indicator goes to the other
// indicators of its dimension, and the weight of a dimension with nothing
// left goes to the other dimensions.
func (e *run) aggregate(r int) {
	p, cfg := e.p, &e.cfg
	ni, nr := p.ni, p.nr
	rr := &e.res[r]
	inds := rr.Indicators
	clear(e.wA)
	clear(e.wE)
	clear(e.wO)
	for j := range ni {
		c := &cfg.inds[j]
		if !c.scored {
			continue
		}
		switch e.use[j*nr+r] &^ useTreated {
		case useObserved:
			e.wO[c.dim] += c.w
			e.wE[c.dim] += c.w
			e.wA[c.dim] += c.w
		case useMean, useZero:
			e.wE[c.dim] += c.w
			e.wA[c.dim] += c.w
		case useReweight:
			e.wA[c.dim] += c.w
		}
	}
	sumA, sumE := 0.0, 0.0
	for d, v := range cfg.dimW {
		if e.wA[d] > 0 {
			sumA += v
		}
		if e.wE[d] > 0 {
			sumE += v
		}
	}
	for d := range rr.Dimensions {
		rr.Dimensions[d].Code = p.scheme.Dimensions[d].Code
	}
	if sumA > 0 {
		cov := 0.0
		for d, v := range cfg.dimW {
			if e.wA[d] > 0 {
				cov += v / sumA * (e.wO[d] / e.wA[d])
			}
		}
		rr.Coverage = min(max(cov, 0), 1)
	}
	if sumE <= 0 {
		rr.Status = StatusNoWeight
		e.band[r], e.final[r] = -1, -1
		if sumA <= 0 {
			rr.Error = &Problem{Code: "no_weight",
				Message:   "方案中没有任何对该地区适用且有权重的指标，无法计算得分",
				MessageEn: "no weighted indicator of the scheme applies to this region, so no score can be computed"}
		} else {
			rr.Error = &Problem{Code: "no_weight",
				Message:   "该地区所有适用指标均缺少可用数据，权重全部为零，无法计算得分",
				MessageEn: "none of the indicators that apply to this region has a usable value, so every weight is zero and no score can be computed"}
		}
		return
	}
	geometric := cfg.agg == scheme.AggregationGeometric
	composite, logC := 0.0, 0.0
	for d := range rr.Dimensions {
		if e.wE[d] > 0 {
			rr.Dimensions[d].Weight = cfg.dimW[d] / sumE
		}
	}
	// Dimension scores: accumulate the within-dimension weighted terms.
	dimAcc := e.dimAcc
	clear(dimAcc)
	for j := range ni {
		c := &cfg.inds[j]
		if u := e.use[j*nr+r] &^ useTreated; !c.scored || (u != useObserved && u != useMean && u != useZero) {
			continue
		}
		wd := c.w / e.wE[c.dim]
		s := inds[j].Score.Value
		inds[j].Weight = rr.Dimensions[c.dim].Weight * wd
		if geometric {
			dimAcc[c.dim] += wd * math.Log1p(s)
		} else {
			dimAcc[c.dim] += wd * s
		}
	}
	for d := range rr.Dimensions {
		dr := &rr.Dimensions[d]
		if e.wE[d] <= 0 {
			continue
		}
		if geometric {
			dr.Score = num(clamp100(math.Expm1(dimAcc[d])))
			logC += dr.Weight * dimAcc[d]
		} else {
			dr.Score = num(clamp100(dimAcc[d]))
			composite += dr.Weight * dimAcc[d]
		}
	}
	if geometric {
		composite = math.Expm1(logC)
		e.logComp[r] = logC
	}
	e.comp[r] = composite
	rr.Score = num(clamp100(composite))
	e.contributions(r, geometric, logC)
	rr.Status = StatusOK
	if rr.Coverage < p.scheme.CoverageThreshold-1e-12 {
		rr.Status = StatusInsufficientData
	}
}

// contributions splits the composite among the indicators so that they sum
// to it. Arithmetic: weight × score. Geometric: each indicator gets its
// weight's share of 100 less its share of the composite's shortfall from
// 100, the shortfall being shared in proportion to W·(ln 101 − ln(s+1)),
// the indicator's part of ln(101) − ln(C+1). That is exact (the parts sum
// to the composite), reduces to weight × score for the arithmetic mean, and
// can be negative when one very low score drags the composite down by more
// than its weight's worth.
func (e *run) contributions(r int, geometric bool, logC float64) {
	rr := &e.res[r]
	inds := rr.Indicators
	score := rr.Score.Value
	shortfall := 100 - score
	logTotal := math.Log(101) - logC
	for j := range inds {
		ir := &inds[j]
		if ir.Weight == 0 {
			continue
		}
		s := ir.Score.Value
		if !geometric {
			ir.Contribution = ir.Weight * s
		} else {
			share := 0.0
			if logTotal > 0 {
				share = ir.Weight * (math.Log(101) - math.Log1p(s)) / logTotal
			}
			ir.Contribution = 100*ir.Weight - shortfall*share
		}
		rr.Dimensions[e.cfg.inds[j].dim].Contribution += ir.Contribution
	}
}

// rank orders the graded regions by score; scores within bandTolerance of
// the previous one share its rank.
func (e *run) rank() {
	order := make([]int, 0, len(e.res))
	for r := range e.res {
		if e.res[r].Status == StatusOK {
			order = append(order, r)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		sa, sb := e.res[a].Score.Value, e.res[b].Score.Value
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	for k, r := range order {
		rank := k + 1
		if k > 0 {
			prev := order[k-1]
			if e.res[prev].Score.Value-e.res[r].Score.Value <= bandTolerance {
				rank = e.res[prev].Rank
			}
		}
		e.res[r].Rank = rank
	}
}

// bandIndex returns the index in p.grades of the band of score.
func (p *Prepared) bandIndex(score float64) int {
	for i, g := range p.grades {
		if score >= g.Min-bandTolerance {
			return i
		}
	}
	return len(p.grades) - 1
}

// applyRules returns the final grade index for band index b and the rule
// that decided it ("" when the band stands). Most restrictive wins:
// set_grade (a veto) outranks cap_grade, which outranks the band; among
// several rules of one kind the lowest grade wins, the first such rule in
// scheme order being recorded.
func (p *Prepared) applyRules(fired []FiredRule, b int) (int, string) {
	set, setBy, capAt, capBy := -1, "", -1, ""
	for _, fr := range fired {
		for _, ef := range fr.Effects {
			g := p.gradeIndex(ef.Grade)
			if g < 0 {
				continue
			}
			switch ef.Type {
			case scheme.EffectSetGrade:
				if g > set {
					set, setBy = g, fr.ID
				}
			case scheme.EffectCapGrade:
				if g > capAt {
					capAt, capBy = g, fr.ID
				}
			}
		}
	}
	switch {
	case set >= 0:
		if set == b {
			return b, ""
		}
		return set, setBy
	case capAt > b:
		return capAt, capBy
	}
	return b, ""
}

func (p *Prepared) gradeIndex(code string) int {
	for i, g := range p.grades {
		if g.Code == code {
			return i
		}
	}
	return -1
}

// grade sets the band and final grade, the fired rules and award
// eligibility of region r. Rules are recorded for every region; their
// grade effects apply only to a graded region. Award eligibility follows
// the rules alone.
func (e *run) grade(r int) {
	p := e.p
	rr := &e.res[r]
	rr.AwardEligible = true
	for _, fr := range p.fired[r] {
		fr.Read = maps.Clone(fr.Read)
		checkRead(fr.Read)
		rr.Rules = append(rr.Rules, fr)
		for _, ef := range fr.Effects {
			if ef.Type == scheme.EffectAwardIneligible {
				rr.AwardEligible = false
			}
		}
	}
	if rr.Status != StatusOK {
		e.band[r], e.final[r] = -1, -1
		return
	}
	b := p.bandIndex(rr.Score.Value)
	f, by := p.applyRules(rr.Rules, b)
	e.band[r], e.final[r] = b, f
	rr.BandGrade, rr.Grade, rr.GradeRule = p.grades[b].Code, p.grades[f].Code, by
}
