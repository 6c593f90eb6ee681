package scheme

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
)

// Patterns for codes. Indicator codes are expression identifiers because
// rules name them directly (F1 <= 0); the other codes only need to be safe
// in paths, file names and URLs.
var (
	codePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	identPattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
	ruleIDPattern = codePattern
	surveyPattern = regexp.MustCompile(`^survey:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// maxScore is the top of the score scale; a band cannot start above it.
const maxScore = 100

// problems collects the FieldErrors of one validation.
type problems []fault.FieldError

func (p *problems) add(path, code, zh, en string) {
	*p = append(*p, fault.Field(path, code, zh, en))
}

// Validate checks the scheme as a whole and returns a *fault.ValidationError
// listing every problem, each with its path (indicators[3].normalisation.upper,
// rules[R1].when), a stable code and a message in Chinese and English; or nil.
// It checks the scheme as given: Parse applies defaults first, Validate does
// not, so a Scheme built in code must spell every field out.
func (s Scheme) Validate() error {
	var p problems
	s.checkHeader(&p)
	dims := s.checkDimensions(&p)
	s.checkIndicators(&p, dims)
	grades := s.checkGrades(&p)
	s.checkRules(&p, grades)
	s.checkText(&p)
	return fault.Invalid(p...)
}

func (s Scheme) checkHeader(p *problems) {
	checkCode(p, "code", s.Code, codePattern)
	if s.Version < 1 {
		p.add("version", "invalid_version", "版本号必须是正整数", "version must be a positive integer")
	}
	checkNames(p, "", s.Name, s.NameEn)
	if !finite(s.CoverageThreshold) || s.CoverageThreshold <= 0 || s.CoverageThreshold > 1 {
		p.add("coverage_threshold", "out_of_range", "覆盖率阈值必须大于0且不大于1", "coverage threshold must be greater than 0 and at most 1")
	}
	if s.Aggregation != AggregationArithmetic && s.Aggregation != AggregationGeometric {
		p.add("aggregation", "unknown_aggregation",
			fmt.Sprintf("未知的汇总方法 %q（应为 arithmetic 或 geometric）", s.Aggregation),
			fmt.Sprintf("unknown aggregation %q (want arithmetic or geometric)", s.Aggregation))
	}
}

// checkDimensions returns the index of every dimension by code.
func (s Scheme) checkDimensions(p *problems) map[string]int {
	dims := make(map[string]int, len(s.Dimensions))
	total := 0.0
	for i, d := range s.Dimensions {
		path := fmt.Sprintf("dimensions[%d]", i)
		if checkCode(p, path+".code", d.Code, codePattern) {
			if _, dup := dims[d.Code]; dup {
				p.add(path+".code", "duplicate_code", "维度代码重复："+d.Code, "duplicate dimension code: "+d.Code)
			} else {
				dims[d.Code] = i
			}
		}
		checkNames(p, path+".", d.Name, d.NameEn)
		if checkWeight(p, path+".weight", d.Weight) {
			total += d.Weight
		}
	}
	switch {
	case !finite(total):
		p.add("dimensions", "not_finite", "维度权重之和过大", "dimension weights sum to infinity")
	case total <= 0:
		p.add("dimensions", "no_weight", "维度权重之和必须大于0，否则无法计算得分", "dimension weights must sum to more than 0, or no score can be computed")
	}
	return dims
}

func (s Scheme) checkIndicators(p *problems, dims map[string]int) {
	seen := make(map[string]bool, len(s.Indicators))
	weightOf := make(map[string]float64, len(dims))
	for i, ind := range s.Indicators {
		path := fmt.Sprintf("indicators[%d]", i)
		if checkCode(p, path+".code", ind.Code, identPattern) {
			switch {
			case reservedName(ind.Code):
				p.add(path+".code", "reserved_name", "指标代码与规则表达式的保留名称冲突："+ind.Code, "indicator code is a reserved name in rule expressions: "+ind.Code)
			case seen[ind.Code]:
				p.add(path+".code", "duplicate_code", "指标代码重复："+ind.Code, "duplicate indicator code: "+ind.Code)
			}
			seen[ind.Code] = true
		}
		checkNames(p, path+".", ind.Name, ind.NameEn)
		weightOK := checkWeight(p, path+".weight", ind.Weight)
		switch _, known := dims[ind.Dimension]; {
		case ind.Dimension == "" && ind.Weight != 0:
			p.add(path+".dimension", "missing_dimension", "有权重的指标必须属于一个维度", "an indicator with a weight must belong to a dimension")
		case ind.Dimension != "" && !known:
			p.add(path+".dimension", "unknown_dimension", "未知的维度："+ind.Dimension, "unknown dimension: "+ind.Dimension)
		case ind.Dimension != "" && weightOK:
			weightOf[ind.Dimension] += ind.Weight
		}
		if ind.Direction != DirectionUp && ind.Direction != DirectionDown {
			p.add(path+".direction", "unknown_direction", fmt.Sprintf("未知的方向 %q（应为 + 或 -）", ind.Direction), fmt.Sprintf("unknown direction %q (want + or -)", ind.Direction))
		}
		checkNormalisation(p, path+".normalisation", ind)
		checkKinds(p, path+".applies_to", ind.AppliesTo)
		switch ind.Missing {
		case MissingZero, MissingReweight, MissingGroupMean:
		default:
			p.add(path+".missing", "unknown_missing_policy",
				fmt.Sprintf("未知的缺失值处理方式 %q（应为 zero、reweight 或 group_mean）", ind.Missing),
				fmt.Sprintf("unknown missing-data policy %q (want zero, reweight or group_mean)", ind.Missing))
		}
		if ind.Source != SourceReported && !surveyPattern.MatchString(ind.Source) {
			p.add(path+".source", "invalid_source",
				fmt.Sprintf("数据来源 %q 无效（应为 reported 或 survey:<问卷代码>）", ind.Source),
				fmt.Sprintf("invalid source %q (want reported or survey:<questionnaire code>)", ind.Source))
		}
		checkRange(p, path, ind)
	}
	for i, d := range s.Dimensions {
		if finite(d.Weight) && d.Weight > 0 && weightOf[d.Code] <= 0 {
			p.add(fmt.Sprintf("dimensions[%d]", i), "no_weighted_indicators",
				"维度有权重但其指标权重之和为0，无法计算该维度得分",
				"the dimension has a weight but its indicators' weights sum to 0, so it cannot be scored")
		}
	}
}

func checkNormalisation(p *problems, path string, ind Indicator) {
	n := ind.Normalisation
	bound := func(name string, v *float64) bool {
		if v == nil {
			p.add(path+"."+name, "missing_bound", n.Method+" 方法必须设置 "+name, n.Method+" requires "+name)
			return false
		}
		return checkBound(p, path+"."+name, *v)
	}
	unused := func(name string, v *float64) {
		if v != nil {
			p.add(path+"."+name, "unexpected_bound",
				fmt.Sprintf("%s 方法不使用 %s", displayMethod(n.Method), name),
				fmt.Sprintf("%s is not used by method %s", name, displayMethod(n.Method)))
		}
	}
	switch n.Method {
	case MethodGoalposts:
		if bound("lower", n.Lower) && bound("upper", n.Upper) && *n.Lower >= *n.Upper {
			p.add(path+".upper", "bounds_reversed", "必须大于下限（lower）", "must be greater than lower")
		}
		unused("worst", n.Worst)
		unused("best", n.Best)
		return
	case MethodDTF:
		if bound("worst", n.Worst) && bound("best", n.Best) && *n.Worst == *n.Best {
			p.add(path+".best", "bounds_equal", "不能等于最差值（worst）", "must differ from worst")
		}
		unused("lower", n.Lower)
		unused("upper", n.Upper)
		return
	case MethodMinMax, MethodZScore, MethodRank, MethodBinary:
	case "":
		if ind.Weight != 0 {
			p.add(path+".method", "required", "有权重的指标必须指定标准化方法", "an indicator with a weight needs a normalisation method")
		}
	default:
		p.add(path+".method", "unknown_method",
			fmt.Sprintf("未知的标准化方法 %q（应为 minmax、goalposts、dtf、zscore、rank 或 binary）", n.Method),
			fmt.Sprintf("unknown normalisation method %q (want minmax, goalposts, dtf, zscore, rank or binary)", n.Method))
	}
	for _, b := range []struct {
		name string
		v    *float64
	}{{"lower", n.Lower}, {"upper", n.Upper}, {"worst", n.Worst}, {"best", n.Best}} {
		unused(b.name, b.v)
	}
}

func displayMethod(m string) string {
	if m == "" {
		return "(none)"
	}
	return m
}

func checkKinds(p *problems, path string, kinds []kind.Kind) {
	seen := make(map[kind.Kind]bool, len(kinds))
	for j, k := range kinds {
		kp := fmt.Sprintf("%s[%d]", path, j)
		switch {
		case !knownKind(string(k)):
			p.add(kp, "unknown_kind", fmt.Sprintf("未知的地区类型 %q", k), fmt.Sprintf("unknown region kind %q", k))
		case seen[k]:
			p.add(kp, "duplicate_kind", fmt.Sprintf("地区类型重复 %q", k), fmt.Sprintf("duplicate region kind %q", k))
		}
		seen[k] = true
	}
}

// knownKind reports whether k is a region kind of package regions, which
// names every kind it knows.
func knownKind(k string) bool { return kind.Kind(k).Name() != "" }

func checkRange(p *problems, path string, ind Indicator) {
	minOK := ind.Min == nil || checkBound(p, path+".min", *ind.Min)
	maxOK := ind.Max == nil || checkBound(p, path+".max", *ind.Max)
	if minOK && maxOK && ind.Min != nil && ind.Max != nil && *ind.Min > *ind.Max {
		p.add(path+".max", "range_reversed", "不能小于最小值（min）", "must not be less than min")
	}
	if ind.Normalisation.Method == MethodBinary {
		if ind.Min != nil && *ind.Min != 0 {
			p.add(path+".min", "binary_range", "二值指标的取值范围必须是 [0,1]", "a binary indicator's range must be [0,1]")
		}
		if ind.Max != nil && *ind.Max != 1 {
			p.add(path+".max", "binary_range", "二值指标的取值范围必须是 [0,1]", "a binary indicator's range must be [0,1]")
		}
	}
}

// checkGrades returns the set of grade codes.
func (s Scheme) checkGrades(p *problems) map[string]bool {
	codes := make(map[string]bool, len(s.Grades))
	if len(s.Grades) == 0 {
		p.add("grades", "no_grades", "至少需要一个等次", "at least one grade band is required")
		return codes
	}
	mins := make(map[float64]string, len(s.Grades))
	floor := false
	for i, g := range s.Grades {
		path := fmt.Sprintf("grades[%d]", i)
		if checkCode(p, path+".code", g.Code, codePattern) {
			if codes[g.Code] {
				p.add(path+".code", "duplicate_code", "等次代码重复："+g.Code, "duplicate grade code: "+g.Code)
			}
			codes[g.Code] = true
		}
		checkNames(p, path+".", g.Name, g.NameEn)
		switch other, dup := mins[g.Min]; {
		case !finite(g.Min):
			p.add(path+".min", "not_finite", "必须是有限数值", "must be a finite number")
		case g.Min > maxScore:
			p.add(path+".min", "out_of_range", "得分满分为100，下限不能超过100", "scores are out of 100, so a band cannot start above 100")
		case dup:
			p.add(path+".min", "duplicate_min", "与等次 "+other+" 的下限相同", "same lower bound as grade "+other)
		default:
			mins[g.Min] = g.Code
			floor = floor || g.Min <= 0
		}
	}
	if !floor {
		p.add("grades", "no_floor", "必须有一个下限为0（或更低）的等次，使每个得分都有等次", "a band starting at 0 (or below) is required so that every score gets a grade")
	}
	return codes
}

func (s Scheme) checkRules(p *problems, grades map[string]bool) {
	env := newRuleEnv(s)
	seen := make(map[string]bool, len(s.Rules))
	for i, r := range s.Rules {
		path := rulePath(i, r.ID)
		switch {
		case strings.TrimSpace(r.ID) == "":
			p.add(path+".id", "required", "规则编号不能为空", "rule id is required")
		case !ruleIDPattern.MatchString(r.ID):
			p.add(path+".id", "invalid_code", "规则编号只能包含字母、数字、下划线、点或连字符（最多64位）", "rule id may hold only letters, digits, _, . or - (at most 64)")
		case seen[r.ID]:
			p.add(path+".id", "duplicate_code", "规则编号重复："+r.ID, "duplicate rule id: "+r.ID)
		}
		seen[r.ID] = true
		if strings.TrimSpace(r.Message) == "" {
			p.add(path+".message", "required", "规则必须有提示信息（说明触发后的后果）", "a rule needs a message explaining its consequence")
		}
		if strings.TrimSpace(r.When) == "" {
			p.add(path+".when", "required", "规则条件不能为空", "rule condition is required")
		} else if _, fe := env.compile(r.When); fe != nil {
			p.add(path+".when", fe.Code, fe.Message, fe.MessageEn)
		}
		if len(r.Effects) == 0 {
			p.add(path+".effects", "no_effects", "规则至少需要一个效果", "a rule needs at least one effect")
		}
		for j, e := range r.Effects {
			ep := fmt.Sprintf("%s.effects[%d]", path, j)
			switch e.Type {
			case EffectCapGrade, EffectSetGrade:
				switch {
				case e.Grade == "":
					p.add(ep+".grade", "required", e.Type+" 必须指定等次", e.Type+" needs a grade")
				case !grades[e.Grade]:
					p.add(ep+".grade", "unknown_grade", "未知的等次："+e.Grade, "unknown grade: "+e.Grade)
				}
			case EffectAwardIneligible, EffectFlag:
				if e.Grade != "" {
					p.add(ep+".grade", "unexpected_grade", e.Type+" 不使用等次", e.Type+" takes no grade")
				}
			default:
				p.add(ep+".type", "unknown_effect",
					fmt.Sprintf("未知的效果类型 %q（应为 cap_grade、set_grade、award_ineligible 或 flag）", e.Type),
					fmt.Sprintf("unknown effect type %q (want cap_grade, set_grade, award_ineligible or flag)", e.Type))
			}
		}
	}
}

// checkCode reports an empty or malformed code and returns whether it is
// well formed.
func checkCode(p *problems, path, code string, pattern *regexp.Regexp) bool {
	switch {
	case strings.TrimSpace(code) == "":
		p.add(path, "required", "代码不能为空", "code is required")
		return false
	case !pattern.MatchString(code):
		if pattern == identPattern {
			p.add(path, "invalid_code", "指标代码须以字母开头，只含字母、数字或下划线（最多32位）："+code,
				"indicator code must start with a letter and hold only letters, digits or _ (at most 32): "+code)
		} else {
			p.add(path, "invalid_code", "代码只能包含字母、数字、下划线、点或连字符（最多64位）："+code,
				"code may hold only letters, digits, _, . or - (at most 64): "+code)
		}
		return false
	}
	return true
}

// checkNames requires both names: text shown to people is Chinese first,
// with English available (DESIGN.md section 7).
func checkNames(p *problems, prefix, zh, en string) {
	if strings.TrimSpace(zh) == "" {
		p.add(prefix+"name", "required", "中文名称不能为空", "name (Chinese) is required")
	}
	if strings.TrimSpace(en) == "" {
		p.add(prefix+"name_en", "required", "英文名称不能为空", "name_en (English) is required")
	}
}

// checkBound reports a bound of an indicator that is not finite or beyond
// ±MaxMagnitude, which values may never pass either (a max of 1e308 would
// otherwise promise values the engine cannot score), and returns whether
// it is usable.
func checkBound(p *problems, path string, v float64) bool {
	if !finite(v) {
		p.add(path, "not_finite", "必须是有限数值", "must be a finite number")
		return false
	}
	if fe := CheckMagnitude(v); fe != nil {
		p.add(path, fe.Code, fe.Message, fe.MessageEn)
		return false
	}
	return true
}

// checkWeight reports a weight that is negative, not finite or beyond
// MaxMagnitude and returns whether it may be summed.
func checkWeight(p *problems, path string, w float64) bool {
	switch {
	case !finite(w):
		p.add(path, "not_finite", "权重必须是有限数值", "weight must be a finite number")
		return false
	case w < 0:
		p.add(path, "negative_weight", "权重不能为负数", "weight must not be negative")
		return false
	case w > MaxMagnitude:
		// Weights are relative; the bound keeps their sums finite even
		// when the sensitivity analysis scales them up.
		fe := CheckMagnitude(w)
		p.add(path, fe.Code, fe.Message, fe.MessageEn)
		return false
	}
	return true
}
