// Package engine is the pure scoring engine: it turns a scheme, regions and
// indicator values into scores, grades, capped grades and their
// explanations. It imports no database, HTTP or queue package, so that the
// same code scores in a worker, from files and in tests; package evaluation
// above it stores the runs that freeze its inputs.
//
// # Using the engine
//
// Evaluate(in, opt) scores an Input. Prepare(in) checks and lays out the
// input and runs the scheme's rules once; Prepared.Evaluate(opt) may then
// be called many times, concurrently, with Options that perturb weights,
// swap normalisations or the aggregation, switch outlier treatment or
// imputation — what a sensitivity analysis needs — and NoPaths and
// NoExplanations to skip what it does not read. Results are deterministic:
// regions come back ordered by code, and identical inputs encode to
// identical JSON.
//
// # Data
//
// A value counts only when verified (StatusVerified). A draft, submitted
// or rejected value, or one without a status, is treated as missing (and
// the result says which status it had). Survey-sourced indicators
// (source "survey:…") count whenever given: their values come from
// accepted survey batches, not from the review workflow. A verified
// not-applicable mark, or an indicator whose AppliesTo excludes the region's
// kind, makes the indicator not applicable: it is never imputed and its
// weight goes to the other indicators of its dimension. An unverified
// not-applicable mark is missing.
//
// Rules see the data the same way: a verified (or survey) number, not
// applicable, or missing. They never see imputed values.
//
// # Normalisation (every score is 0–100, higher is better)
//
//   - goalposts: clamp((x−Lower)/(Upper−Lower), 0, 1)·100; for direction
//     "-", clamp((Upper−x)/(Upper−Lower), 0, 1)·100.
//   - dtf (distance to frontier): clamp((Worst−x)/(Worst−Best), 0, 1)·100.
//     Worst and Best carry the orientation; Direction is not used.
//   - minmax: (x−min)/(max−min)·100 over the regions' observed values
//     (reversed for "-"). When all observed values are equal every region
//     scores 100: nobody is behind anybody.
//   - zscore: z = (x−mean)/sd with the sample standard deviation (n−1), over
//     the observed values; z is reported as is and rescaled as
//     clamp(50 + 50·z/3, 0, 100) (sign reversed for "-"), so the mean
//     scores 50 and three standard deviations reach 0 or 100. With fewer
//     than two values or no spread, z = 0 (score 50).
//   - rank: (n−r)/(n−1)·100 where r is the region's rank among the n
//     observed values (1 best) with ties given their average rank; that is
//     (worse + ½·tied)/(others)·100. A single region scores 100.
//   - binary: 1 (yes) scores 100 and 0 scores 0 (reversed for "-"):
//     goalposts at 0 and 1, so that an imputed group mean (a share of yes)
//     scores its share of 100.
//
// The statistics of the relative methods (minmax, zscore, rank) are
// computed from observed values only; imputed values are normalised
// against them and never move other regions' scores.
//
// # Missing data
//
// Per the indicator's policy: zero scores the indicator 0 (the score, not
// the raw value, so that it is the worst for either direction); reweight
// drops it and the region's other indicators in that dimension share its
// weight; group_mean imputes the mean of the raw observed values of the
// region's peer group (Region.Group when set, otherwise the kind) and
// scores it; when no peer has a value it falls back to reweight, with a
// warning. Every imputed or reweighted point is flagged. Options
// NoImputation turns every policy into reweight.
//
// Coverage is the share of the region's applicable weight (the weights of
// the indicators that apply, normalised as below) whose indicators have a
// verified value; imputed values do not count. Below the scheme's
// coverage threshold the region is insufficient_data: its score is
// reported for information, but it gets no rank and no grade.
//
// # Weights and aggregation
//
// Indicator weights are relative within their dimension among the
// indicators scored for the region (observed or imputed); dimension
// weights are relative among the dimensions with anything scored. So a
// not-applicable or reweighted indicator's weight goes to its dimension's
// other indicators, and a dimension with nothing left gives its weight to
// the other dimensions. When nothing is left at all the region has status
// no_weight and a per-region error: no score, rank or grade (never NaN).
//
// No number that is not finite ever leaves the engine. A value beyond
// ±scheme.MaxMagnitude (10¹⁵), which no entry path accepts but a file or
// an older database may hold, and any number that overflows while a region
// is scored, make that region unscorable: status unscorable, a per-region
// error naming the indicator, no score, rank or grade; the run and the
// other regions are scored as usual. A rule that cannot be evaluated for a
// region (it exceeds its budget, scheme.RuleMemoryBudget) does the same,
// naming the rule.
//
// Arithmetic aggregation is the weighted mean, indicator → dimension →
// composite. Geometric aggregation is the weighted geometric mean of
// (score + 1), minus 1, at both levels: a score of 0 is allowed and still
// weighs heavily (a zero of weight w multiplies composite+1 by (1/101)^w
// relative to a perfect score), the scale stays exactly [0, 100] (all
// zeros give 0, all hundreds 100), and no arbitrary floor is needed.
//
// Contributions sum to the composite. Arithmetic: weight × score.
// Geometric: weight × 100, less the indicator's share of the composite's
// shortfall from 100, shared in proportion to weight × (ln 101 − ln(score
// + 1)); this reduces to weight × score for the arithmetic mean and may be
// negative when one very low score costs more than its weight's worth.
//
// # Outliers
//
// When the scheme (or Options) asks for it, each minmax and zscore
// indicator with at least 10 observed values whose skewness exceeds 2 in
// absolute value and whose (excess) kurtosis exceeds 3.5 — Excel's SKEW and
// KURT, as COINr computes them — is winsorised one point at a time at the
// tail the skew points to, up to 5 points; if it still fails, the
// winsorisation is undone and the values are log-transformed instead
// (COINr's log_CT_plus: ln(x − min + a) for right skew, −ln(max + a − x)
// for left skew, a = 1% of the range). Every changed point is recorded.
// With fewer than 10 values the indicator is left alone and a warning
// recommends goalposts. Goalposts, dtf, rank and binary need no treatment.
//
// # Grades and rules
//
// The band is the highest whose lower bound the score reaches; a score
// within 1e-9 below a bound counts as reaching it, so that floating-point
// rounding of a score exactly on the bound cannot cost a grade (ranks use
// the same tolerance for ties, which share a rank: 1, 2, 2, 4). Then rules:
// most restrictive wins — a set_grade (veto) outranks every cap_grade,
// which outranks the band; among several of one kind the lowest grade
// wins. award_ineligible is independent of the grade, and applies to a
// region even when it is not graded. Every fired rule is recorded with its
// basis and the values it read.
//
// # Path to the next grade
//
// For every graded region below the top grade, the grade just above its
// final grade is sought. Each step is the smallest change of one indicator
// alone, in its own unit, that lifts the composite into that band, holding
// everything else — the region's other values, the other regions' values
// and the run's outlier treatment — as it is; it is marked impossible when
// the indicator already scores its maximum, when even its maximum would
// not suffice, or when the value needed lies outside the indicator's valid
// range. Counts are rounded to whole numbers. A rule that would keep the
// grade below the target whatever the score is stated plainly.
package engine
