// Package quality screens one region's survey responses for low-quality
// answers and computes the region's satisfaction index (DESIGN.md section
// 5): duplicates, speeders, straight-liners and failed attention checks are
// flagged, kept and excluded; the index is the mean respondent score over
// the rest, with its standard error and 95% confidence interval, optionally
// post-stratified by respondent type.
//
// The package is pure — no database, files or clock — so that the ingestion
// job, the evaluation engine and tests compute the same numbers from the
// same responses.
package quality

import (
	"math"
	"slices"
	"strings"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// Thresholds configure the quality screens. They are part of a survey
// project so that a contractor knows in advance what will be excluded.
type Thresholds struct {
	// MinSeconds is the completion-time floor: nobody reads and answers the
	// questionnaire faster.
	MinSeconds float64 `json:"min_seconds"`
	// MedianFraction flags a response faster than this fraction of the
	// region's median completion time, which adapts the floor to the
	// questionnaire's length; 0 disables the test.
	MedianFraction float64 `json:"median_fraction"`
	// StraightLineItems is the least number of items a grid (an item Group)
	// must have before identical answers on all of them count as
	// straight-lining: on a short grid a uniform opinion is plausible.
	StraightLineItems int `json:"straight_line_items"`
}

// DefaultThresholds returns the screens of DESIGN.md section 5: faster than
// 30 seconds or a third of the region's median time, and the same answer on
// every item of a grid of eight or more.
func DefaultThresholds() Thresholds {
	return Thresholds{MinSeconds: 30, MedianFraction: 1.0 / 3, StraightLineItems: 8}
}

// maxMinSeconds bounds the completion-time floor: one day.
const maxMinSeconds = 86400

// Validate returns a *fault.ValidationError naming every threshold out of
// range by its JSON field name, or nil.
func (t Thresholds) Validate() error {
	var errs []fault.FieldError
	// A floor above a day would flag every response: a typing slip, not a
	// screen.
	if !finite(t.MinSeconds) || t.MinSeconds < 0 || t.MinSeconds > maxMinSeconds {
		errs = append(errs, fault.Field("min_seconds", "out_of_range",
			"最短作答时间必须在0至86400秒之间", "min_seconds must be between 0 and 86400"))
	}
	if !finite(t.MedianFraction) || t.MedianFraction < 0 || t.MedianFraction >= 1 {
		errs = append(errs, fault.Field("median_fraction", "out_of_range",
			"中位数比例必须不小于0且小于1", "median_fraction must be at least 0 and less than 1"))
	}
	if t.StraightLineItems < 2 {
		errs = append(errs, fault.Field("straight_line_items", "out_of_range",
			"直线作答判定的最少题数必须不小于2", "straight_line_items must be at least 2"))
	}
	return fault.Invalid(errs...)
}

// Flags records why a response is excluded; a response may carry several.
// The zero value is a valid response.
type Flags uint8

// The quality screens.
const (
	// FlagDuplicate: the respondent id or contact hash of an earlier
	// response of the region; the first response is kept.
	FlagDuplicate Flags = 1 << iota
	// FlagSpeeder: completed faster than the floor or than a fraction of
	// the region's median time.
	FlagSpeeder
	// FlagStraightLiner: the same answer on every item of a long grid.
	FlagStraightLiner
	// FlagFailedAttention: a wrong (or no) answer to the attention check.
	FlagFailedAttention
)

// Has reports whether f carries every flag of g.
func (f Flags) Has(g Flags) bool { return f&g == g }

// Codes returns the codes of the flags f carries ("duplicate", "speeder",
// "straight_liner", "failed_attention", in that order), for reports and
// API responses; an empty, non-nil slice for a valid response, so that it
// encodes as [] rather than null.
func (f Flags) Codes() []string {
	codes := [...]string{"duplicate", "speeder", "straight_liner", "failed_attention"} // bit order
	out := []string{}
	for i, code := range codes {
		if f&(1<<i) != 0 {
			out = append(out, code)
		}
	}
	return out
}

// String returns the codes joined by "|", or "valid".
func (f Flags) String() string {
	if f == 0 {
		return "valid"
	}
	return strings.Join(f.Codes(), "|")
}

// Screen returns the flags of each response of rs, which are all the
// responses of one region in upload order (order decides which of two
// duplicates is kept).
//
//   - Duplicate: a response whose non-empty RespondentID or non-empty
//     ContactHash (surrounding space ignored) appeared on any earlier
//     response, so that a chain of shared ids and contacts keeps only its
//     first response.
//   - Speeder: a known completion time (Seconds finite and ≥ 0) below
//     th.MinSeconds, or below th.MedianFraction × the median of the known
//     completion times of all of rs. Unknown times are never flagged.
//   - Straight-liner: for some Group of q (items with an empty Group are on
//     no grid) with at least th.StraightLineItems items, every item of the
//     group is answered and all raw answers are equal.
//   - Failed attention: q has an attention check and the answer differs
//     from its Expect (no answer is a wrong answer).
func Screen(q questionnaire.Questionnaire, th Thresholds, rs []questionnaire.Response) []Flags {
	flags := make([]Flags, len(rs))
	floor := speedFloor(th, rs)
	grids := grids(q, th.StraightLineItems)
	ids := make(map[string]struct{})
	contacts := make(map[string]struct{})
	for i := range rs {
		r := &rs[i]
		id, contact := strings.TrimSpace(r.RespondentID), strings.TrimSpace(r.ContactHash)
		// Both keys are recorded, even for a duplicate, so that a chain of
		// shared ids and contacts keeps only its first response.
		dupID, dupContact := seen(ids, id), seen(contacts, contact)
		if dupID || dupContact {
			flags[i] |= FlagDuplicate
		}
		if known(r.Seconds) && r.Seconds < floor {
			flags[i] |= FlagSpeeder
		}
		for _, g := range grids {
			if straightLined(r.Answers, g) {
				flags[i] |= FlagStraightLiner
				break
			}
		}
		if q.Attention != nil && int(r.Attention) != q.Attention.Expect {
			flags[i] |= FlagFailedAttention
		}
	}
	return flags
}

// seen reports whether key is non-empty and already in set, and adds it.
func seen(set map[string]struct{}, key string) bool {
	if key == "" {
		return false
	}
	if _, ok := set[key]; ok {
		return true
	}
	set[key] = struct{}{}
	return false
}

// known reports whether a completion time was recorded; the file reader
// stores a negative number when it was not.
func known(seconds float64) bool { return seconds >= 0 && !math.IsInf(seconds, 1) }

// speedFloor returns the completion time below which a response is a
// speeder: the larger of the fixed floor and the fraction of the median.
func speedFloor(th Thresholds, rs []questionnaire.Response) float64 {
	floor := th.MinSeconds
	if !(th.MedianFraction > 0) {
		return floor
	}
	times := make([]float64, 0, len(rs))
	for _, r := range rs {
		if known(r.Seconds) {
			times = append(times, r.Seconds)
		}
	}
	if len(times) == 0 {
		return floor
	}
	slices.Sort(times)
	median := times[len(times)/2]
	if len(times)%2 == 0 {
		median = (times[len(times)/2-1] + median) / 2
	}
	return max(floor, th.MedianFraction*median)
}

// grids returns the item indexes of every group long enough to judge
// straight-lining, in order of first appearance.
func grids(q questionnaire.Questionnaire, minItems int) [][]int {
	var order []string
	byGroup := map[string][]int{}
	for i, it := range q.Items {
		if it.Group == "" {
			continue
		}
		if _, ok := byGroup[it.Group]; !ok {
			order = append(order, it.Group)
		}
		byGroup[it.Group] = append(byGroup[it.Group], i)
	}
	var out [][]int
	for _, g := range order {
		if items := byGroup[g]; len(items) >= minItems && len(items) > 1 {
			out = append(out, items)
		}
	}
	return out
}

// straightLined reports whether every item of grid is answered, all alike.
func straightLined(answers []uint8, grid []int) bool {
	first := answer(answers, grid[0])
	if first == 0 {
		return false
	}
	for _, i := range grid[1:] {
		if answer(answers, i) != first {
			return false
		}
	}
	return true
}

// answer returns the raw answer to item i, 0 when there is none (also when
// a short answer sheet does not reach item i).
func answer(answers []uint8, i int) uint8 {
	if i < len(answers) {
		return answers[i]
	}
	return 0
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
