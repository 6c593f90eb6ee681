package scheme

import (
	"math"
	"strconv"
	"strings"

	"github.com/ipeval/ipeval/internal/fault"
)

// MaxMagnitude bounds every number the engine scores: a reported value and
// each bound of a scheme (min, max, goalposts, frontier) lies in
// [-MaxMagnitude, MaxMagnitude]. 10¹⁵ is about a hundred times a province's
// yearly output in yuan and far beyond any count, yet below 2⁵³, so every
// whole number up to it is exact in a float64, and sums of squares of such
// values over any number of regions stay about 10²⁷⁰ short of overflow.
// Beyond it a value cannot be scored meaningfully: it is a typo or a probe.
const MaxMagnitude = 1e15

// maxMagnitudeText is MaxMagnitude as messages state it.
const maxMagnitudeText = "1e15"

// CodeOutOfScale is the FieldError code of a number beyond MaxMagnitude.
const CodeOutOfScale = "out_of_scale"

// CheckMagnitude returns a FieldError when x is beyond ±MaxMagnitude (or
// not a number), or nil; the caller fills in where.
func CheckMagnitude(x float64) *fault.FieldError {
	if math.Abs(x) <= MaxMagnitude {
		return nil
	}
	return &fault.FieldError{Code: CodeOutOfScale,
		Message:   "数值的绝对值不能超过 " + maxMagnitudeText + "（10 的 15 次方），超出此范围无法有意义地计分",
		MessageEn: "the magnitude of a value must not exceed " + maxMagnitudeText + " (10^15); beyond it a value cannot be scored meaningfully"}
}

// CheckValue judges one reported number against the indicator: it must be
// finite, within ±MaxMagnitude, 0 or 1 for a binary indicator, whole for a
// count, and inside [Min, Max]. It returns the first problem, or nil. The FieldError carries
// the code and messages only; the caller knows the row, column or field and
// fills them in.
func (i Indicator) CheckValue(x float64) *fault.FieldError {
	fail := func(code, zh, en string) *fault.FieldError {
		return &fault.FieldError{Code: code, Message: zh, MessageEn: en}
	}
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return fail("not_finite", "数值必须是有限数（不能是 NaN 或无穷大）", "value must be a finite number (not NaN or infinity)")
	case math.Abs(x) > MaxMagnitude:
		return CheckMagnitude(x)
	case i.Normalisation.Method == MethodBinary && x != 0 && x != 1:
		return fail("not_binary", "是/否指标只能填 1（是）或 0（否）", "a yes/no indicator takes 1 (yes) or 0 (no)")
	case i.Integer && x != math.Trunc(x):
		return fail("not_integer", "该指标为计数，必须是整数", "this indicator is a count and must be a whole number")
	case i.Min != nil && x < *i.Min:
		return fail("below_min", "数值不能小于 "+num(*i.Min)+i.unitSuffix(), "value must be at least "+num(*i.Min)+i.unitSuffix())
	case i.Max != nil && x > *i.Max:
		return fail("above_max", "数值不能大于 "+num(*i.Max)+i.unitSuffix(), "value must be at most "+num(*i.Max)+i.unitSuffix())
	}
	return nil
}

// SurveySourced reports whether the indicator's values come from survey
// results rather than from the regions' own reports.
func (i Indicator) SurveySourced() bool { return strings.HasPrefix(i.Source, SourceSurveyPrefix) }

func (i Indicator) unitSuffix() string {
	if i.Unit == "" {
		return ""
	}
	return " " + i.Unit
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
