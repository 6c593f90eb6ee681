package engine

import (
	"context"
	"slices"

	"github.com/ipeval/ipeval/indicators/scheme"
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
