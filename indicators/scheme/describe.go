package scheme

import (
	"cmp"
	"strconv"
	"strings"
)

// Words is a phrase in Chinese and in English, for pages that show a
// scheme to people who judge it by its words rather than its fields.
type Words struct {
	Zh, En string
}

// In returns the phrase in lang ("en" or Chinese otherwise).
func (w Words) In(lang string) string {
	if lang == "en" && w.En != "" {
		return w.En
	}
	return w.Zh
}

// Num writes a number of a scheme as its author would: no exponent for
// ordinary magnitudes and no trailing zeros.
func Num(x float64) string { return strconv.FormatFloat(x, 'g', 12, 64) }

// ScoringRule says in words how the indicator's raw value becomes its 0–100
// score: the normalisation, its bounds and the direction, as the engine
// applies them (package evaluation/engine). withOutliers is the scheme's
// OutlierTreatment, which changes the relative methods.
func ScoringRule(ind Indicator, withOutliers bool) Words {
	n := ind.Normalisation
	down := ind.Direction == DirectionDown
	bound := func(p *float64) string {
		if p == nil {
			return "?"
		}
		return Num(*p)
	}
	var w Words
	switch n.Method {
	case "":
		return Words{"不计分，仅供规则判断", "not scored; read by the rules only"}
	case MethodBinary:
		w = Words{"是（1）得100分，否（0）得0分", "yes (1) scores 100, no (0) scores 0"}
		if down {
			w = Words{"否（0）得100分，是（1）得0分", "no (0) scores 100, yes (1) scores 0"}
		}
	case MethodGoalposts:
		lo, hi := bound(n.Lower), bound(n.Upper)
		w = Words{"在固定区间 " + lo + "～" + hi + " 内线性折算：" + lo + " 及以下得0分，" + hi + " 及以上得100分",
			"linear between fixed bounds " + lo + " and " + hi + ": " + lo + " or less scores 0, " + hi + " or more scores 100"}
		if down {
			w = Words{"在固定区间 " + lo + "～" + hi + " 内线性折算（越低越好）：" + hi + " 及以上得0分，" + lo + " 及以下得100分",
				"linear between fixed bounds " + lo + " and " + hi + " (lower is better): " + hi + " or more scores 0, " + lo + " or less scores 100"}
		}
	case MethodDTF:
		worst, best := bound(n.Worst), bound(n.Best)
		w = Words{"距前沿距离：最差值 " + worst + " 得0分，前沿值 " + best + " 得100分，其间线性折算",
			"distance to frontier: the worst value " + worst + " scores 0, the frontier " + best + " scores 100, linear between"}
	case MethodMinMax:
		w = Words{"各地区间极差标准化：最高者得100分，最低者得0分", "min-max across regions: the highest scores 100, the lowest 0"}
		if down {
			w = Words{"各地区间极差标准化（越低越好）：最低者得100分，最高者得0分", "min-max across regions (lower is better): the lowest scores 100, the highest 0"}
		}
	case MethodZScore:
		w = Words{"各地区间Z分数标准化后折算为0～100分", "z-score across regions, rescaled to 0–100"}
		if down {
			w = Words{"各地区间Z分数标准化（越低越好）后折算为0～100分", "z-score across regions (lower is better), rescaled to 0–100"}
		}
	case MethodRank:
		w = Words{"按各地区排名折算：第一名得100分", "by rank among regions: the first scores 100"}
		if down {
			w = Words{"按各地区排名折算（越低越好）：最低者得100分", "by rank among regions (lower is better): the lowest scores 100"}
		}
	default:
		return Words{n.Method, n.Method}
	}
	if withOutliers && (n.Method == MethodMinMax || n.Method == MethodZScore) {
		w.Zh += "；极端值先行缩尾处理"
		w.En += "; extreme values are winsorised first"
	}
	return w
}

// MissingRule says in words what the engine does with a missing value.
func MissingRule(policy string) Words {
	switch policy {
	case MissingZero:
		return Words{"缺失按0分计", "a missing value scores 0"}
	case MissingReweight:
		return Words{"缺失时权重分配给同维度其他指标", "a missing value's weight goes to the dimension's other indicators"}
	case MissingGroupMean:
		return Words{"缺失时取同类地区平均值", "a missing value takes the mean of regions of the same kind"}
	}
	return Words{policy, policy}
}

// SourceWords names where an indicator's value comes from.
func SourceWords(source string) Words {
	if source == SourceReported || source == "" {
		return Words{"地区填报", "reported by the region"}
	}
	if q, ok := strings.CutPrefix(source, SourceSurveyPrefix); ok {
		return Words{"满意度调查（问卷 " + q + "）", "satisfaction survey (questionnaire " + q + ")"}
	}
	return Words{source, source}
}

// RangeWords says which values are valid: the bounds and whether only
// whole numbers are; empty when anything goes.
func RangeWords(ind Indicator) Words {
	var w Words
	switch {
	case ind.Min != nil && ind.Max != nil:
		w = Words{Num(*ind.Min) + "～" + Num(*ind.Max), Num(*ind.Min) + " to " + Num(*ind.Max)}
	case ind.Min != nil:
		w = Words{"不小于 " + Num(*ind.Min), "at least " + Num(*ind.Min)}
	case ind.Max != nil:
		w = Words{"不大于 " + Num(*ind.Max), "at most " + Num(*ind.Max)}
	}
	if ind.Integer {
		w.Zh = strings.TrimPrefix(w.Zh+"，整数", "，")
		w.En = strings.TrimPrefix(w.En+", whole numbers", ", ")
	}
	return w
}

// EffectWords says in words what a rule's effects do, naming grades by
// their names in the scheme's grades.
func EffectWords(effects []Effect, grades []Grade) Words {
	zh := DescribeEffects(effects, GradeNames(grades, false))
	names := GradeNames(grades, true)
	en := make([]string, 0, len(effects))
	for _, e := range effects {
		en = append(en, effectWords(e, cmp.Or(names[e.Grade], e.Grade)).En)
	}
	return Words{zh, strings.Join(en, "; ")}
}
