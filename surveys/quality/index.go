package quality

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// z95 is the two-sided 95% normal quantile of the confidence interval.
const z95 = 1.96

// Options configure the index of one region within a survey project.
type Options struct {
	// MinSample is the number of valid respondents below which the index is
	// reported but marked insufficient; 0 never marks it.
	MinSample int `json:"min_sample"`
	// Strata, if not empty, gives the population share of each respondent
	// type, to correct a sample whose mix of types differs from the
	// population's (post-stratification). Shares need not sum to 1: they
	// are renormalised over the types present in the valid sample.
	Strata map[string]float64 `json:"strata,omitempty"`
}

// Validate returns a *fault.ValidationError naming every problem of o for
// questionnaire q (min_sample, strata.<type>), or nil. Compute does not
// refuse bad options, so callers validate them when a project is saved.
func (o Options) Validate(q questionnaire.Questionnaire) error {
	var errs []fault.FieldError
	if o.MinSample < 0 {
		errs = append(errs, fault.Field("min_sample", "out_of_range", "最小样本量不能为负数", "min_sample must not be negative"))
	}
	total := 0.0
	for _, code := range sortedKeys(o.Strata) {
		share := o.Strata[code]
		path := "strata." + code
		if !q.HasType(code) {
			errs = append(errs, fault.Field(path, "unknown_type",
				"问卷中没有受访者类型 "+code, "the questionnaire has no respondent type "+code))
		}
		if !finite(share) || share < 0 {
			errs = append(errs, fault.Field(path, "out_of_range",
				"总体占比必须是不小于0的有限数值", "population share must be a finite number of at least 0"))
			continue
		}
		total += share
	}
	if len(o.Strata) > 0 && !(total > 0) {
		errs = append(errs, fault.Field("strata", "no_share", "总体占比之和必须大于0", "population shares must sum to more than 0"))
	}
	return fault.Invalid(errs...)
}

// ItemMean is the mean score (0–100) of one item over the valid
// respondents who answered it, weighted like the index; with the item
// weights it gives the importance–performance view.
type ItemMean struct {
	Code string `json:"code"`
	// Mean is nil when no valid respondent (with a positive weight)
	// answered the item.
	Mean *float64 `json:"mean"`
	N    int      `json:"n"`
}

// Warning is something a reader of the index should know, in Chinese and
// English, with a stable code.
type Warning struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageEn string `json:"message_en"`
}

// Index is the satisfaction index of one region and how it was reached.
//
// Mean, SD, SE and the interval are nil when no valid respondent remains:
// there is no index then, and a number (0 or NaN) would be read as one. The
// interval is mean ± 1.96·SE and is deliberately not clamped to 0–100: a
// wide interval past a bound says the sample is too small, and clamping
// would hide it.
type Index struct {
	// Responses is every response of the region; Excluded those with any
	// flag. The per-screen counts overlap when a response has several flags.
	Responses       int `json:"responses"`
	Duplicates      int `json:"duplicates"`
	Speeders        int `json:"speeders"`
	StraightLiners  int `json:"straight_liners"`
	FailedAttention int `json:"failed_attention"`
	Excluded        int `json:"excluded"`
	// N is the number of valid respondents with a score.
	N      int      `json:"n"`
	Mean   *float64 `json:"mean"`
	SD     *float64 `json:"sd"`
	SE     *float64 `json:"se"`
	CILow  *float64 `json:"ci_low"`
	CIHigh *float64 `json:"ci_high"`
	// Weighted is set when post-stratification weights were applied.
	Weighted bool `json:"weighted"`
	// EffectiveN is Kish's effective sample size (Σw)²/Σw², which SE uses;
	// it equals N when unweighted.
	EffectiveN   float64 `json:"effective_n"`
	Insufficient bool    `json:"insufficient"`
	MinSample    int     `json:"min_sample"`
	// Items follow the questionnaire's order.
	Items []ItemMean `json:"items"`
	// ByType counts the valid respondents (those in N) per respondent type.
	ByType   map[string]int `json:"by_type"`
	Warnings []Warning      `json:"warnings,omitempty"`
}

// Compute screens rs — every response of one region, in upload order — and
// returns the region's index together with each response's flags (as
// Screen returns them).
//
// An item answer x on a k-point scale scores (x−1)/(k−1)×100, with x read as
// k+1−x on a reverse-coded item; answers outside 1..k count as unanswered
// (the upload reader refuses them). A respondent's score is the mean of the
// scores of the items answered, weighted by Item.Weight. The index is the
// mean respondent score over valid respondents (no flag); SD is the sample
// standard deviation (0 for one respondent), SE = SD/√n.
//
// With opts.Strata, respondent type t gets weight s_t/(n_t/n), where s_t is
// its population share renormalised over the types present among the valid
// respondents and n_t/n its sample share; the mean and SD are weighted (the
// SD with the reliability-weight correction, Σw(y−ȳ)²/(Σw − Σw²/Σw), which
// is the sample SD when all weights are equal) and SE = SD/√n_eff with
// Kish's n_eff. Types with a share but no valid respondent, and respondents
// of a type without a share, are reported in Warnings.
func Compute(q questionnaire.Questionnaire, th Thresholds, opts Options, rs []questionnaire.Response) (Index, []Flags) {
	flags := Screen(q, th, rs)
	ix := Index{Responses: len(rs), MinSample: opts.MinSample, ByType: map[string]int{}}
	for _, f := range flags {
		ix.Duplicates += count(f, FlagDuplicate)
		ix.Speeders += count(f, FlagSpeeder)
		ix.StraightLiners += count(f, FlagStraightLiner)
		ix.FailedAttention += count(f, FlagFailedAttention)
		ix.Excluded += count(f, ^Flags(0))
	}

	scales := make([]int, len(q.Items))
	for i := range q.Items {
		scales[i] = q.ItemScale(i)
	}
	var scored []int // indexes into rs of the valid respondents with a score
	var scores []float64
	unscored := 0
	for i := range rs {
		if flags[i] != 0 {
			continue
		}
		y, ok := respondentScore(q, scales, rs[i].Answers)
		if !ok {
			unscored++
			continue
		}
		scored = append(scored, i)
		scores = append(scores, y)
		ix.ByType[rs[i].RespondentType]++
	}
	ix.N = len(scored)
	ix.Insufficient = ix.N < opts.MinSample
	if unscored > 0 {
		ix.Warnings = append(ix.Warnings, Warning{"unscored",
			fmt.Sprintf("%d 份有效答卷未回答任何计分题，未计入样本", unscored),
			fmt.Sprintf("%d valid responses answered no scored item and are not in the sample", unscored)})
	}

	var weights []float64 // nil: every respondent weighs 1
	if len(opts.Strata) > 0 && ix.N > 0 {
		byType, warnings := typeWeights(opts.Strata, ix.ByType, ix.N)
		ix.Warnings = append(ix.Warnings, warnings...)
		if byType != nil {
			ix.Weighted = true
			weights = make([]float64, ix.N)
			for j, i := range scored {
				weights[j] = byType[rs[i].RespondentType]
			}
		}
	}

	if ix.N > 0 {
		mean, sd, neff := summarise(scores, weights)
		se := sd / math.Sqrt(neff)
		lo, hi := mean-z95*se, mean+z95*se
		ix.Mean, ix.SD, ix.SE, ix.CILow, ix.CIHigh = &mean, &sd, &se, &lo, &hi
		ix.EffectiveN = neff
	}
	ix.Items = itemMeans(q, scales, rs, scored, weights)
	return ix, flags
}

// count is 1 when f carries any flag of g.
func count(f, g Flags) int {
	if f&g != 0 {
		return 1
	}
	return 0
}

// itemScore maps answer x on a k-point scale to 0–100, or reports that x is
// no answer.
func itemScore(x uint8, k int, reverse bool) (float64, bool) {
	v := int(x)
	if v < 1 || v > k {
		return 0, false
	}
	if reverse {
		v = k + 1 - v
	}
	return float64(v-1) / float64(k-1) * 100, true
}

// respondentScore is the Item.Weight-weighted mean of the scores of the
// items answered, and whether any was.
func respondentScore(q questionnaire.Questionnaire, scales []int, answers []uint8) (float64, bool) {
	var sum, weight float64
	for i, it := range q.Items {
		s, ok := itemScore(answer(answers, i), scales[i], it.Reverse)
		if !ok {
			continue
		}
		sum += it.Weight * s
		weight += it.Weight
	}
	if !(weight > 0) {
		return 0, false
	}
	return sum / weight, true
}

// typeWeights returns the post-stratification weight of each respondent
// type present in the sample, or nil when no present type has a share, and
// the warnings the reader needs. Types are visited in sorted order so that
// sums, and so results, do not depend on map order.
func typeWeights(strata map[string]float64, nByType map[string]int, n int) (map[string]float64, []Warning) {
	var warnings []Warning
	present := sortedKeys(nByType)
	total := 0.0
	var unshared []string
	for _, t := range present {
		if s := strata[t]; finite(s) && s > 0 {
			total += s
		} else {
			unshared = append(unshared, t+"("+strconv.Itoa(nByType[t])+")")
		}
	}
	var absent []string
	for _, t := range sortedKeys(strata) {
		if s := strata[t]; nByType[t] == 0 && finite(s) && s > 0 {
			absent = append(absent, t)
		}
	}
	if len(absent) > 0 {
		list := strings.Join(absent, ", ")
		warnings = append(warnings, Warning{"stratum_absent",
			"以下受访者类型有总体占比但没有有效样本，其占比已按其余类型重新分配：" + list,
			"these respondent types have a population share but no valid responses; their share is spread over the other types: " + list})
	}
	if !(total > 0) {
		return nil, append(warnings, Warning{"strata_unusable",
			"样本中的受访者类型均无总体占比，指数未加权",
			"no respondent type in the sample has a population share; the index is unweighted"})
	}
	if len(unshared) > 0 {
		list := strings.Join(unshared, ", ")
		warnings = append(warnings, Warning{"stratum_unshared",
			"以下受访者类型没有总体占比，其有效答卷（括号内为份数）权重为0：" + list,
			"these respondent types have no population share, so their valid responses (count in brackets) weigh 0: " + list})
	}
	weights := make(map[string]float64, len(present))
	for _, t := range present {
		s := strata[t]
		if !finite(s) || s < 0 {
			s = 0
		}
		weights[t] = (s / total) / (float64(nByType[t]) / float64(n))
	}
	return weights, warnings
}

// summarise returns the (weighted) mean, the sample SD and the effective
// sample size of ys; weights nil means all 1. Some weight must be positive.
func summarise(ys, weights []float64) (mean, sd, neff float64) {
	w := func(i int) float64 {
		if weights == nil {
			return 1
		}
		return weights[i]
	}
	var v1, v2, sum float64
	for i, y := range ys {
		wi := w(i)
		v1 += wi
		v2 += wi * wi
		sum += wi * y
	}
	mean = sum / v1
	var ss float64
	for i, y := range ys {
		d := y - mean
		ss += w(i) * d * d
	}
	neff = v1 * v1 / v2
	if denom := v1 - v2/v1; denom > 0 && neff > 1 {
		sd = math.Sqrt(ss / denom)
	}
	return mean, sd, neff
}

// itemMeans returns the mean score of each item over the scored valid
// respondents who answered it.
func itemMeans(q questionnaire.Questionnaire, scales []int, rs []questionnaire.Response, scored []int, weights []float64) []ItemMean {
	out := make([]ItemMean, len(q.Items))
	for i, it := range q.Items {
		var sum, wsum float64
		n := 0
		for j, r := range scored {
			s, ok := itemScore(answer(rs[r].Answers, i), scales[i], it.Reverse)
			if !ok {
				continue
			}
			w := 1.0
			if weights != nil {
				w = weights[j]
			}
			n++
			sum += w * s
			wsum += w
		}
		out[i] = ItemMean{Code: it.Code, N: n}
		if wsum > 0 {
			m := sum / wsum
			out[i].Mean = &m
		}
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
