package engine

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
)

// Defaults and limits of the sensitivity analysis.
const (
	DefaultSensitivityDraws = 1000
	DefaultWeightSpread     = 0.20
	// MaxSensitivityDraws bounds Draws: the run keeps 5 bytes per draw and
	// region (a rank and a grade), 15 MB for 1,000 draws of 3,000 regions.
	MaxSensitivityDraws = 20000
	// BorderlineProbability: a region whose nominal grade comes out in
	// fewer than this share of the draws is borderline.
	BorderlineProbability = 0.8
)

// Interval is a 95% confidence interval, Lower ≤ Upper.
type Interval struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// SensitivityOptions configure a sensitivity analysis. The zero value runs
// DefaultSensitivityDraws draws with seed 0 that perturb the weights by
// ±DefaultWeightSpread and nothing else.
type SensitivityOptions struct {
	// Draws is the number of Monte Carlo draws; 0 means
	// DefaultSensitivityDraws. At most MaxSensitivityDraws.
	Draws int `json:"draws,omitempty"`
	// Seed makes the analysis reproducible: the same seed, input and
	// options give the same result, byte for byte.
	Seed uint64 `json:"seed"`
	// WeightSpread is the relative half-width of the uniform weight
	// factors, in [0, 1): 0.2 draws every weight from ±20% of its value.
	// Nil means DefaultWeightSpread; a pointer to 0 keeps the weights.
	WeightSpread *float64 `json:"weight_spread,omitempty"`
	// SwapNormalisation, SwapAggregation and ToggleImputation each, on a
	// fair coin per draw, score the draw with the other normalisation
	// (minmax ↔ goalposts), the other aggregation, or without imputation.
	SwapNormalisation bool `json:"swap_normalisation,omitempty"`
	SwapAggregation   bool `json:"swap_aggregation,omitempty"`
	ToggleImputation  bool `json:"toggle_imputation,omitempty"`
	// SurveyIntervals holds region code → indicator code → the 95%
	// confidence interval of a survey-sourced index, from which every draw
	// takes the region's value. The indicator must be survey-sourced and
	// continuous (not binary, not a count), and the region must have a
	// value for it.
	SurveyIntervals map[string]map[string]Interval `json:"survey_intervals,omitempty"`
	// Workers is the number of goroutines scoring draws; 0 means
	// runtime.GOMAXPROCS(0). It never changes the result.
	Workers int `json:"-"`
}

// SensitivityResult is the outcome of a sensitivity analysis. Identical
// inputs, options and seed give an identical result, byte for byte once
// encoded.
type SensitivityResult struct {
	EngineVersion string `json:"engine_version"`
	SchemeCode    string `json:"scheme_code"`
	SchemeVersion int    `json:"scheme_version"`
	Draws         int    `json:"draws"`
	Seed          uint64 `json:"seed"`
	// Options are the options as applied, defaults filled in.
	Options SensitivityOptions `json:"options"`
	// Grades are the bands, highest first, in the order of every region's
	// Grades.
	Grades []scheme.Grade `json:"grades"`
	// Regions are ordered by code.
	Regions []RegionSensitivity `json:"regions"`
}

// RegionSensitivity is how one region's rank and grade vary over the draws.
type RegionSensitivity struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// NominalScore, NominalRank and NominalGrade are the region's score,
	// rank (0 when not ranked) and final grade ("" when not graded) in the
	// nominal evaluation.
	NominalScore Number `json:"nominal_score"`
	NominalRank  int    `json:"nominal_rank"`
	NominalGrade string `json:"nominal_grade,omitempty"`
	// RankedDraws is the number of draws in which the region was ranked
	// (graded); MedianRank, RankP5 and RankP95 are percentiles of its rank
	// over those draws, by the nearest-rank method (the ⌈p·n⌉-th smallest
	// of the n ranks), so each is a rank that occurred. All three are 0
	// when RankedDraws is 0. A better rank is a smaller number: RankP5 ≤
	// MedianRank ≤ RankP95.
	RankedDraws int `json:"ranked_draws"`
	MedianRank  int `json:"median_rank"`
	RankP5      int `json:"rank_p5"`
	RankP95     int `json:"rank_p95"`
	// Grades gives the share of the draws in which the region received each
	// final grade, in the order of SensitivityResult.Grades; Ungraded the
	// share in which it was not graded (insufficient data or no weight).
	// They sum to 1.
	Grades   []GradeProbability `json:"grades"`
	Ungraded float64            `json:"ungraded"`
	// NominalProbability is the share of the draws that gave the nominal
	// outcome: the nominal grade, or no grade when the region is not graded
	// nominally. Borderline is NominalProbability < BorderlineProbability.
	NominalProbability float64 `json:"nominal_probability"`
	Borderline         bool    `json:"borderline"`
}

// GradeProbability is the share of the draws that gave one grade.
type GradeProbability struct {
	Grade       string  `json:"grade"`
	Probability float64 `json:"probability"`
}

// Sensitivity runs a sensitivity analysis of the prepared input: a Monte
// Carlo over the choices an assessment makes that the data do not
// (weights, normalisation, aggregation, imputation) and over the sampling
// error of survey-sourced indices, asking how far each region's rank and
// grade depend on them. The nominal evaluation is Evaluate(Options{}).
//
// Each draw is an evaluation of the same Prepared input with:
//
//   - every dimension weight and every indicator weight multiplied by its
//     own factor drawn uniformly from [1−s, 1+s), s = WeightSpread (weights
//     stay relative, so only their proportions move; a zero weight stays 0);
//   - with SwapNormalisation, on a fair coin per draw, every goalposts
//     indicator scored by minmax instead and every minmax indicator by
//     goalposts, the goalposts being the indicator's valid range [Min, Max]
//     when both are set, otherwise the lowest and highest observed
//     (verified or survey) value of the indicator, before outlier treatment
//     (an indicator whose goalposts would coincide keeps minmax). Outlier treatment follows the method, as in Evaluate: a
//     goalposts indicator swapped to minmax is treated when the scheme asks
//     for treatment, a minmax one swapped to goalposts is not;
//   - with SwapAggregation, on a fair coin per draw, the other aggregation
//     (arithmetic ↔ geometric);
//   - with ToggleImputation, on a fair coin per draw, Options.NoImputation;
//   - for every (region, indicator) of SurveyIntervals, the survey value
//     drawn from a normal distribution centred on the middle of the 95%
//     confidence interval with standard deviation (upper − lower)/3.92,
//     truncated (by redrawing) to the interval intersected with the
//     indicator's valid range, so that every drawn value lies inside the
//     interval. Rules that read a drawn indicator are evaluated again with
//     the drawn value.
//
// Whether outliers are treated follows the scheme in every draw.
//
// Draw i uses its own random stream, a PCG seeded with Seed and
// splitmix64(i), and consumes it in a fixed order (the three coins, the
// dimension factors in scheme order, the indicator factors in scheme order,
// the survey values by region code then scheme order) whether or not the
// option that reads a number is on. So a run is reproducible bit for bit
// from its seed whatever the number of workers and their scheduling, and
// two runs with the same seed that differ in one option share the rest of
// their draws.
//
// Draws are scored by a lean path that computes exactly what Evaluate
// computes for the composite score, status, rank and grade (the tests hold
// it to that) without building a Result: the normalised scores of every
// indicator are computed once per normalisation variant, since weights,
// aggregation and imputation do not change them, and each draw only
// re-weights and re-aggregates. A survey indicator with intervals is
// normalised again in every draw (its relative statistics and outlier
// treatment move), which costs one column per such indicator per draw, and
// each worker keeps a private copy of the input's cells (24 bytes per
// region and indicator).
//
// The draws run on opt.Workers goroutines. Sensitivity fails with a
// *fault.ValidationError when opt is invalid, and with ctx.Err() when ctx
// ends first, which it notices within about one draw. progress, when not
// nil, is called with the number of draws done and the total at most about
// a hundred times, from the workers but never concurrently, with done
// increasing, the last call being (total, total).
func (p *Prepared) Sensitivity(ctx context.Context, opt SensitivityOptions, progress func(done, total int)) (SensitivityResult, error) {
	if err := ctx.Err(); err != nil {
		return SensitivityResult{}, err
	}
	pl, err := p.planSensitivity(opt)
	if err != nil {
		return SensitivityResult{}, err
	}
	nominal, err := p.Evaluate(Options{NoPaths: true, NoExplanations: true})
	if err != nil {
		return SensitivityResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return SensitivityResult{}, err
	}
	draws, nr := pl.opt.Draws, p.nr
	ranks := make([]int32, draws*nr)
	grades := make([]int8, draws*nr)
	if err := pl.run(ctx, ranks, grades, progress); err != nil {
		return SensitivityResult{}, err
	}
	res := SensitivityResult{
		EngineVersion: EngineVersion,
		SchemeCode:    p.scheme.Code,
		SchemeVersion: p.scheme.Version,
		Draws:         draws,
		Seed:          pl.opt.Seed,
		Options:       pl.opt,
		Grades:        slices.Clone(p.grades),
		Regions:       pl.summarise(nominal, ranks, grades),
	}
	res.Options.Workers = 0
	return res, nil
}

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

// column is one indicator's use and score (or log1p score) in one draw.
type column struct {
	use   []uint8
	score []float64
}

// sensWorker scores draws; nothing in it is shared.
type sensWorker struct {
	pl   *sensPlan
	src  *rand.PCG
	rng  *rand.Rand
	ds   *drawSpec
	cols []column

	// dimension-major accumulators (index d*nr+r), as in run.aggregate
	wA, wE, wO, acc []float64
	score           []float64
	status          []uint8
	order           []int32

	// survey draws: a private copy of the cells, runs to normalise the
	// drawn columns, their log1p scores and the final-grade table
	cells []cell
	prep  Prepared
	runs  [2]*run
	lg    [][]float64
	fin   []int8
}

const (
	leanOK uint8 = iota
	leanInsufficient
	leanNoWeight
)

func (pl *sensPlan) newWorker() *sensWorker {
	nr, nd := pl.nr, pl.nd
	src := rand.NewPCG(0, 0)
	w := &sensWorker{pl: pl, src: src, rng: rand.New(src), ds: pl.newDrawSpec(), cols: make([]column, pl.ni),
		wA: make([]float64, nd*nr), wE: make([]float64, nd*nr), wO: make([]float64, nd*nr), acc: make([]float64, nd*nr),
		score: make([]float64, nr), status: make([]uint8, nr), order: make([]int32, 0, nr), fin: pl.finalOf}
	if len(pl.targets) > 0 {
		w.prep = *pl.p
		w.cells = slices.Clone(pl.p.cells)
		w.prep.cells = w.cells
		for v, vr := range pl.variants {
			if vr != nil {
				w.runs[v] = newColumnRun(&w.prep, vr.cfg)
			}
		}
		if pl.geometry {
			w.lg = make([][]float64, len(pl.surveyInd))
			for k := range w.lg {
				w.lg[k] = make([]float64, nr)
			}
		}
		if len(pl.ruleRegs) > 0 {
			w.fin = slices.Clone(pl.finalOf)
		}
	}
	return w
}

// draw scores draw i into rank and grade (one slot per region).
func (w *sensWorker) draw(i int, rank []int32, grade []int8) error {
	pl, ds := w.pl, w.ds
	pl.fill(i, w.src, w.rng, ds)
	if err := w.columns(); err != nil {
		return err
	}
	w.aggregate()
	w.rank(rank, grade)
	return nil
}

// columns points w.cols at the draw's normalised columns, normalising the
// drawn survey columns again.
func (w *sensWorker) columns() error {
	pl, ds := w.pl, w.ds
	nr := pl.nr
	v := 0
	if ds.swap {
		v = 1
	}
	geometric := pl.agg[b2i(ds.other)] == scheme.AggregationGeometric
	vr := pl.variants[v]
	for j := range pl.ni {
		c := column{use: vr.use[j*nr : (j+1)*nr], score: vr.score[j*nr : (j+1)*nr]}
		if geometric {
			c.score = vr.lg[j*nr : (j+1)*nr]
		}
		w.cols[j] = c
	}
	if len(pl.targets) == 0 {
		return nil
	}
	for t, tg := range pl.targets {
		w.cells[tg.j*nr+tg.r].x = ds.values[t]
	}
	e := w.runs[v]
	for k, j := range pl.surveyInd {
		e.normalise(j)
		c := column{use: e.use[j*nr : (j+1)*nr], score: e.score[j*nr : (j+1)*nr]}
		if geometric {
			for r, s := range c.score {
				w.lg[k][r] = math.Log1p(s)
			}
			c.score = w.lg[k]
		}
		w.cols[j] = c
	}
	// normalise records warnings and treatments the draw does not read.
	e.warnings = e.warnings[:0]
	for r := range e.res {
		e.res[r].Warnings = e.res[r].Warnings[:0]
	}
	for _, r := range pl.ruleRegs {
		// A rule that fails in a draw is left out of that draw; the
		// nominal run reports the rules that fail on the data as given.
		fired, _ := w.prep.regionRules(pl.rules, pl.ruleReads, r)
		for b := range pl.ng {
			f, _ := w.prep.applyRules(fired, b)
			w.fin[r*pl.ng+b] = int8(f)
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// aggregate computes every region's composite score and status for the
// draw exactly as run.aggregate does — the same operations on the same
// numbers in the same order — without anything the draw does not read.
func (w *sensWorker) aggregate() {
	pl, ds := w.pl, w.ds
	nr := pl.nr
	noImp := ds.noImp
	clear(w.wA)
	clear(w.wE)
	clear(w.wO)
	clear(w.acc)
	// Weights scored per region and dimension: all applicable (A), with
	// a score (E), observed (O).
	for j := range pl.ni {
		if !pl.scored[j] {
			continue
		}
		d, wt := pl.dim[j], ds.indW[j]
		wA, wE, wO := w.wA[d*nr:(d+1)*nr], w.wE[d*nr:(d+1)*nr], w.wO[d*nr:(d+1)*nr]
		use := w.cols[j].use[:nr]
		for r, u := range use {
			switch u &^ useTreated {
			case useObserved:
				wO[r] += wt
				wE[r] += wt
				wA[r] += wt
			case useMean, useZero:
				if !noImp {
					wE[r] += wt
				}
				wA[r] += wt
			case useReweight:
				wA[r] += wt
			}
		}
	}
	// Dimension scores: the within-dimension weighted terms.
	for j := range pl.ni {
		if !pl.scored[j] {
			continue
		}
		d, wt := pl.dim[j], ds.indW[j]
		wE, acc := w.wE[d*nr:(d+1)*nr], w.acc[d*nr:(d+1)*nr]
		use, sc := w.cols[j].use[:nr], w.cols[j].score[:nr]
		for r, u := range use {
			switch u &^ useTreated {
			case useObserved:
			case useMean, useZero:
				if noImp {
					continue
				}
			default:
				continue
			}
			wd := wt / wE[r]
			acc[r] += wd * sc[r]
		}
	}
	geometric := pl.agg[b2i(ds.other)] == scheme.AggregationGeometric
	for r := range nr {
		if pl.p.unscorableRegion(r) {
			w.status[r], w.score[r] = leanNoWeight, 0 // never ranked, as in Evaluate
			continue
		}
		sumA, sumE := 0.0, 0.0
		for d, v := range ds.dimW {
			if w.wA[d*nr+r] > 0 {
				sumA += v
			}
			if w.wE[d*nr+r] > 0 {
				sumE += v
			}
		}
		cov := 0.0
		if sumA > 0 {
			for d, v := range ds.dimW {
				if wa := w.wA[d*nr+r]; wa > 0 {
					cov += v / sumA * (w.wO[d*nr+r] / wa)
				}
			}
			cov = min(max(cov, 0), 1)
		}
		if sumE <= 0 {
			w.status[r], w.score[r] = leanNoWeight, 0
			continue
		}
		composite, logC := 0.0, 0.0
		for d, v := range ds.dimW {
			if w.wE[d*nr+r] <= 0 {
				continue
			}
			dw := v / sumE
			if geometric {
				logC += dw * w.acc[d*nr+r]
			} else {
				composite += dw * w.acc[d*nr+r]
			}
		}
		if geometric {
			composite = math.Expm1(logC)
		}
		w.score[r] = clamp100(composite)
		w.status[r] = leanOK
		if cov < pl.threshold-1e-12 {
			w.status[r] = leanInsufficient
		}
	}
}

// rank ranks and grades the draw's graded regions as run.rank and run.grade
// do: rank 0 and grade −1 for a region not graded.
func (w *sensWorker) rank(rank []int32, grade []int8) {
	pl := w.pl
	order := w.order[:0]
	for r := range pl.nr {
		rank[r], grade[r] = 0, -1
		if w.status[r] == leanOK {
			order = append(order, int32(r))
		}
	}
	score := w.score
	// Evaluate sorts stably by score, highest first; ties keep region order.
	slices.SortFunc(order, func(a, b int32) int {
		sa, sb := score[a], score[b]
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return cmp.Compare(a, b)
	})
	for k, r := range order {
		rk := int32(k + 1)
		if k > 0 {
			prev := order[k-1]
			if score[prev]-score[r] <= bandTolerance {
				rk = rank[prev]
			}
		}
		rank[r] = rk
		b := pl.p.bandIndex(score[r])
		grade[r] = w.fin[int(r)*pl.ng+b]
	}
	w.order = order
}

// run scores every draw on opt.Workers goroutines, draw i into
// ranks[i*nr:] and grades[i*nr:].
func (pl *sensPlan) run(ctx context.Context, ranks []int32, grades []int8, progress func(done, total int)) error {
	draws, nr := pl.opt.Draws, pl.nr
	workers := max(1, min(pl.opt.Workers, draws))
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		reported   int
		firstErr   error
		wg         sync.WaitGroup
	)
	report := func(d int) {
		if progress == nil || (d != draws && d*100/draws == (d-1)*100/draws) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if d > reported {
			reported = d
			progress(d, draws)
		}
	}
	for range workers {
		wg.Go(func() {
			w := pl.newWorker()
			for inner.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= draws {
					return
				}
				if err := w.draw(i, ranks[i*nr:(i+1)*nr], grades[i*nr:(i+1)*nr]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				report(int(done.Add(1)))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

// summarise turns the draws into per-region statistics, in blocks of
// regions on opt.Workers goroutines.
func (pl *sensPlan) summarise(nominal Result, ranks []int32, grades []int8) []RegionSensitivity {
	draws, nr, ng := pl.opt.Draws, pl.nr, pl.ng
	out := make([]RegionSensitivity, nr)
	probs := make([]GradeProbability, nr*ng)
	const block = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(pl.opt.Workers, (nr+block-1)/block)) {
		wg.Go(func() {
			col := make([]int32, block*draws)
			n := make([]int, block)
			counts := make([]int, block*(ng+1)) // per region: each grade, then ungraded
			for {
				r0 := int(next.Add(block) - block)
				if r0 >= nr {
					return
				}
				r1 := min(r0+block, nr)
				// Gather the block's ranks and count its grades, a row of
				// the block at a time.
				clear(n)
				clear(counts)
				for i := range draws {
					row := i * nr
					for r, rk := range ranks[row+r0 : row+r1] {
						if rk > 0 {
							col[r*draws+n[r]] = rk
							n[r]++
						}
					}
					for r, g := range grades[row+r0 : row+r1] {
						if g < 0 {
							counts[r*(ng+1)+ng]++
						} else {
							counts[r*(ng+1)+int(g)]++
						}
					}
				}
				for r := r0; r < r1; r++ {
					k := r - r0
					rs := &out[r]
					nom := &nominal.Regions[r]
					rs.Code, rs.Name = nom.Code, nom.Name
					rs.NominalScore, rs.NominalRank, rs.NominalGrade = nom.Score, nom.Rank, nom.Grade
					ranked := col[k*draws : k*draws+n[k]]
					slices.Sort(ranked)
					rs.RankedDraws = len(ranked)
					if len(ranked) > 0 {
						rs.RankP5 = int(ranked[nearestRank(5, len(ranked))])
						rs.MedianRank = int(ranked[nearestRank(50, len(ranked))])
						rs.RankP95 = int(ranked[nearestRank(95, len(ranked))])
					}
					cnt := counts[k*(ng+1) : (k+1)*(ng+1)]
					rs.Grades = probs[r*ng : (r+1)*ng : (r+1)*ng]
					for g := range ng {
						rs.Grades[g] = GradeProbability{Grade: pl.p.grades[g].Code, Probability: float64(cnt[g]) / float64(draws)}
					}
					rs.Ungraded = float64(cnt[ng]) / float64(draws)
					rs.NominalProbability = rs.Ungraded
					if g := pl.p.gradeIndex(nom.Grade); nom.Grade != "" && g >= 0 {
						rs.NominalProbability = rs.Grades[g].Probability
					}
					rs.Borderline = rs.NominalProbability < BorderlineProbability
				}
			}
		})
	}
	wg.Wait()
	return out
}

// nearestRank returns the index in n sorted values of their pct-th
// percentile by the nearest-rank method: the ⌈pct·n/100⌉-th smallest.
func nearestRank(pct, n int) int {
	k := (pct*n + 99) / 100
	return min(max(k, 1), n) - 1
}
