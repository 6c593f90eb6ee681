// The plan of a sensitivity analysis: its options checked, the survey
// intervals to draw from, and what every draw shares.

package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
)

// sensPlan is what every draw of one analysis shares; read only once built.
type sensPlan struct {
	p      *Prepared
	opt    SensitivityOptions // defaults filled in
	spread float64
	nr, ni int
	nd, ng int

	dimW0, indW0 []float64 // scheme weights
	dim          []int     // dimension of each indicator, -1 when none
	scored       []bool
	agg          [2]string // the scheme's aggregation, the other one
	threshold    float64

	swapMap  map[string]scheme.Normalisation // nil when nothing swaps
	variants [2]*sensVariant                 // scheme normalisation, swapped (nil unless swapMap)
	geometry bool                            // some draw may aggregate geometrically

	finalOf []int8 // finalOf[r*ng+b]: final grade index of region r in band b

	targets   []surveyTarget // by region, then indicator
	surveyInd []int          // indicators with targets, ascending
	rules     []scheme.CompiledRule
	ruleReads []int
	ruleRegs  []int // regions whose rules read a drawn value, ascending
}

// sensVariant holds the normalised columns of one normalisation variant,
// indicator-major like run.use and run.score.
type sensVariant struct {
	cfg   config
	use   []uint8
	score []float64
	lg    []float64 // log1p(score), when geometry
}

// surveyTarget is one survey value drawn from its interval.
type surveyTarget struct {
	r, j    int
	mid, sd float64
	lo, hi  float64 // the interval within the indicator's valid range
}

func (t *surveyTarget) draw(rng *rand.Rand) float64 {
	if t.sd <= 0 || t.lo >= t.hi {
		return min(max(t.mid, t.lo), t.hi)
	}
	for range 100 {
		if x := t.mid + t.sd*rng.NormFloat64(); x >= t.lo && x <= t.hi {
			return x
		}
	}
	return min(max(t.mid, t.lo), t.hi) // the valid range cuts off nearly all of the interval
}

// planSensitivity checks opt, fills in its defaults and computes what every
// draw shares.
func (p *Prepared) planSensitivity(opt SensitivityOptions) (*sensPlan, error) {
	var errs []fault.FieldError
	bad := func(field, code, zh, en string) { errs = append(errs, fault.Field(field, code, zh, en)) }
	switch {
	case opt.Draws < 0:
		bad("draws", "invalid_draws", "抽样次数不能为负数", "the number of draws cannot be negative")
	case opt.Draws == 0:
		opt.Draws = DefaultSensitivityDraws
	case opt.Draws > MaxSensitivityDraws:
		bad("draws", "too_many_draws", fmt.Sprintf("抽样次数不能超过 %d", MaxSensitivityDraws),
			fmt.Sprintf("the number of draws cannot exceed %d", MaxSensitivityDraws))
	}
	spread := DefaultWeightSpread
	if opt.WeightSpread != nil {
		spread = *opt.WeightSpread
	}
	if !finite(spread) || spread < 0 || spread >= 1 {
		bad("weight_spread", "invalid_spread", "权重扰动幅度必须是 [0, 1) 内的数", "the weight spread must be a number in [0, 1)")
	}
	opt.WeightSpread = &spread
	switch {
	case opt.Workers < 0:
		bad("workers", "invalid_workers", "并行数不能为负数", "the number of workers cannot be negative")
	case opt.Workers == 0:
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	s := &p.scheme
	nr, ni := p.nr, p.ni
	pl := &sensPlan{p: p, spread: spread, nr: nr, ni: ni, nd: len(s.Dimensions), ng: len(p.grades),
		threshold: s.CoverageThreshold}
	// Survey intervals, in region order then scheme order.
	regIndex := make(map[string]int, nr)
	for r, reg := range p.regions {
		regIndex[reg.Code] = r
	}
	indIndex := make(map[string]int, ni)
	for j := range s.Indicators {
		indIndex[s.Indicators[j].Code] = j
	}
	for _, rc := range sortedCodes(opt.SurveyIntervals) {
		r, ok := regIndex[rc]
		if !ok {
			bad("survey_intervals."+rc, "unknown_region", "不在评价对象中的地区："+rc, "region not assessed: "+rc)
			continue
		}
		for _, ic := range sortedCodes(opt.SurveyIntervals[rc]) {
			iv := opt.SurveyIntervals[rc][ic]
			field := "survey_intervals." + rc + "." + ic
			j, ok := indIndex[ic]
			if !ok {
				bad(field, "unknown_indicator", "未知的指标："+ic, "unknown indicator: "+ic)
				continue
			}
			ind := &s.Indicators[j]
			lo, hi := iv.Lower, iv.Upper
			if ind.Min != nil {
				lo = max(lo, *ind.Min)
			}
			if ind.Max != nil {
				hi = min(hi, *ind.Max)
			}
			switch {
			case !ind.SurveySourced():
				bad(field, "not_survey", "只有来自问卷调查的指标才能给出置信区间", "only a survey-sourced indicator can have a confidence interval")
			case ind.Integer || ind.Normalisation.Method == scheme.MethodBinary:
				bad(field, "not_continuous", "计数或是/否指标不能按置信区间抽样", "a count or yes/no indicator cannot be drawn from an interval")
			case !finite(iv.Lower) || !finite(iv.Upper) || iv.Lower > iv.Upper:
				bad(field, "invalid_interval", "置信区间必须是有限数且 lower ≤ upper", "the interval needs finite lower ≤ upper")
			case lo > hi:
				bad(field, "outside_range", "置信区间与指标的有效范围不相交", "the interval lies outside the indicator's valid range")
			case p.cells[j*nr+r].state != cellObserved:
				bad(field, "no_value", "该地区没有这一指标的调查数据", "the region has no survey value for this indicator")
			default:
				pl.targets = append(pl.targets, surveyTarget{r: r, j: j,
					mid: (iv.Lower + iv.Upper) / 2, sd: (iv.Upper - iv.Lower) / 3.92, lo: lo, hi: hi})
			}
		}
	}
	if err := fault.Invalid(errs...); err != nil {
		return nil, fmt.Errorf("sensitivity options: %w", err)
	}
	pl.opt = opt

	// The nominal configuration, and the swapped normalisations.
	cfg, err := p.resolve(Options{})
	if err != nil {
		return nil, err
	}
	pl.dimW0 = slices.Clone(cfg.dimW)
	pl.indW0 = make([]float64, ni)
	pl.dim = make([]int, ni)
	pl.scored = make([]bool, ni)
	for j := range cfg.inds {
		c := &cfg.inds[j]
		pl.indW0[j], pl.dim[j], pl.scored[j] = c.w, c.dim, c.scored
	}
	pl.agg = [2]string{cfg.agg, scheme.AggregationGeometric}
	if cfg.agg == scheme.AggregationGeometric {
		pl.agg[1] = scheme.AggregationArithmetic
	}
	pl.geometry = cfg.agg == scheme.AggregationGeometric || opt.SwapAggregation
	if opt.SwapNormalisation {
		pl.swapMap = p.swappedNormalisations(cfg)
	}
	pl.variants[0] = p.normaliseVariant(cfg, pl.geometry)
	if pl.swapMap != nil {
		cfg1, err := p.resolve(Options{Normalisation: pl.swapMap})
		if err != nil {
			return nil, err
		}
		pl.variants[1] = p.normaliseVariant(cfg1, pl.geometry)
	}

	// Final grade of every region in every band, from its fired rules.
	pl.finalOf = make([]int8, nr*pl.ng)
	for r := range nr {
		for b := range pl.ng {
			f, _ := p.applyRules(p.fired[r], b)
			pl.finalOf[r*pl.ng+b] = int8(f)
		}
	}

	if len(pl.targets) > 0 {
		for _, t := range pl.targets {
			pl.surveyInd = append(pl.surveyInd, t.j)
		}
		slices.Sort(pl.surveyInd)
		pl.surveyInd = slices.Compact(pl.surveyInd)
		if len(s.Rules) > 0 {
			rules, err := s.CompileRules()
			if err != nil {
				return nil, fmt.Errorf("evaluation scheme: %w", err)
			}
			reads := ruleReads(*s, rules)
			for _, t := range pl.targets {
				if slices.Contains(reads, t.j) && (len(pl.ruleRegs) == 0 || pl.ruleRegs[len(pl.ruleRegs)-1] != t.r) {
					pl.ruleRegs = append(pl.ruleRegs, t.r)
				}
			}
			if len(pl.ruleRegs) > 0 {
				pl.rules, pl.ruleReads = rules, reads
			}
		}
	}
	return pl, nil
}

// swappedNormalisations returns the normalisation overrides of a swapped
// draw: goalposts → minmax, minmax → goalposts at the indicator's valid
// range, or failing that its observed range; nil when nothing swaps.
func (p *Prepared) swappedNormalisations(cfg config) map[string]scheme.Normalisation {
	out := map[string]scheme.Normalisation{}
	for j := range cfg.inds {
		c := &cfg.inds[j]
		if !c.scored {
			continue
		}
		switch c.method {
		case scheme.MethodGoalposts:
			out[c.ind.Code] = scheme.Normalisation{Method: scheme.MethodMinMax}
		case scheme.MethodMinMax:
			lo, hi := math.Inf(1), math.Inf(-1)
			if c.ind.Min != nil && c.ind.Max != nil {
				lo, hi = *c.ind.Min, *c.ind.Max
			} else {
				for _, cl := range p.cells[j*p.nr : (j+1)*p.nr] {
					if cl.state == cellObserved {
						lo, hi = min(lo, cl.x), max(hi, cl.x)
					}
				}
			}
			if finite(lo) && finite(hi) && lo < hi {
				out[c.ind.Code] = scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: &lo, Upper: &hi}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// newColumnRun returns a run that can normalise columns under cfg (and do
// nothing else).
func newColumnRun(p *Prepared, cfg config) *run {
	nr, ni, nd := p.nr, p.ni, len(p.scheme.Dimensions)
	e := &run{
		p: p, cfg: cfg,
		res:       make([]RegionResult, nr),
		use:       make([]uint8, nr*ni),
		val:       make([]float64, nr*ni),
		score:     make([]float64, nr*ni),
		stats:     make([]indStats, ni),
		summaries: make([]IndicatorSummary, ni),
		dimShare:  make([]float64, nd),
		xs:        make([]float64, 0, nr),
		ys:        make([]float64, 0, nr),
		who:       make([]int, 0, nr),
		gsum:      make([]float64, p.ngroups),
		gcount:    make([]int, p.ngroups),
	}
	total := 0.0
	for _, w := range cfg.dimW {
		total += w
	}
	for d, w := range cfg.dimW {
		if total > 0 {
			e.dimShare[d] = w / total
		}
	}
	return e
}

// normaliseVariant normalises every indicator under cfg.
func (p *Prepared) normaliseVariant(cfg config, geometry bool) *sensVariant {
	e := newColumnRun(p, cfg)
	for j := range p.ni {
		e.normalise(j)
	}
	v := &sensVariant{cfg: cfg, use: e.use, score: e.score}
	if geometry {
		v.lg = make([]float64, len(v.score))
		for k, s := range v.score {
			v.lg[k] = math.Log1p(s)
		}
	}
	return v
}

// drawSpec is one draw.
type drawSpec struct {
	dimW, indW []float64
	swap       bool // swapped normalisations
	other      bool // the other aggregation
	noImp      bool
	values     []float64 // per survey target
}

// splitmix64 scrambles the draw index into the second word of the seed.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fill draws draw i into ds, from src reseeded for it.
func (pl *sensPlan) fill(i int, src *rand.PCG, rng *rand.Rand, ds *drawSpec) {
	src.Seed(pl.opt.Seed, splitmix64(uint64(i)))
	uN, uA, uI := rng.Float64(), rng.Float64(), rng.Float64()
	ds.swap = pl.variants[1] != nil && uN < 0.5
	ds.other = pl.opt.SwapAggregation && uA < 0.5
	ds.noImp = pl.opt.ToggleImputation && uI < 0.5
	for d, w := range pl.dimW0 {
		ds.dimW[d] = w * (1 + pl.spread*(2*rng.Float64()-1))
	}
	for j, w := range pl.indW0 {
		ds.indW[j] = w * (1 + pl.spread*(2*rng.Float64()-1))
	}
	for t := range pl.targets {
		ds.values[t] = pl.targets[t].draw(rng)
	}
}

func (pl *sensPlan) newDrawSpec() *drawSpec {
	return &drawSpec{dimW: make([]float64, pl.nd), indW: make([]float64, pl.ni), values: make([]float64, len(pl.targets))}
}

// options returns the Options under which Evaluate scores the draw as the
// lean path does (survey values aside: they change the input).
func (pl *sensPlan) options(ds *drawSpec) Options {
	s := &pl.p.scheme
	o := Options{NoPaths: true, NoExplanations: true, NoImputation: ds.noImp,
		DimensionWeights: map[string]float64{}, IndicatorWeights: map[string]float64{}}
	for d, w := range ds.dimW {
		o.DimensionWeights[s.Dimensions[d].Code] = w
	}
	for j, w := range ds.indW {
		if pl.dim[j] >= 0 {
			o.IndicatorWeights[s.Indicators[j].Code] = w
		}
	}
	if ds.swap {
		o.Normalisation = pl.swapMap
	}
	if ds.other {
		o.Aggregation = pl.agg[1]
	}
	return o
}
