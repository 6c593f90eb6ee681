package render

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/disclosure"
)

// The methodology appendix of the report and the number formats every
// part shares.

func methodOf(in ReportInput, gradeName map[string]string) methodView {
	sc, res := in.Scheme, in.Result
	m := methodView{MinRegions: disclosure.MinRegionsForAggregate, SchemeCode: sc.Code, SchemeVersion: strconv.Itoa(sc.Version), Description: sc.Description,
		Engine: res.EngineVersion, InputsHash: in.Run.InputsHash, ResultsHash: in.Run.ResultsHash,
		Coverage: percent(sc.CoverageThreshold)}
	switch res.Aggregation {
	case scheme.AggregationGeometric:
		m.Aggregation = "几何加权平均：各指标得分加 1 后按权重求加权几何平均再减 1，先汇总为维度得分，再汇总为综合得分；某一方面的短板难以被其他方面的长处完全弥补。"
	default:
		m.Aggregation = "算术加权平均：指标得分按权重加权平均为维度得分，维度得分按权重加权平均为综合得分；各指标贡献之和等于综合得分。"
	}
	m.Outliers = "不作异常值处理。"
	if sc.OutlierTreatment {
		m.Outliers = "对采用极差或标准分标准化、且偏度与峰度过高的指标，依次对最极端的值作缩尾处理（至多 5 个），仍不满足时改作对数变换；每一处理均有记录。"
	}
	var dimTotal float64
	for _, d := range sc.Dimensions {
		dimTotal += d.Weight
	}
	dimName := map[string]string{}
	for _, d := range sc.Dimensions {
		dimName[d.Code] = d.Name
		m.Dimensions = append(m.Dimensions, methodDimension{Code: d.Code, Name: d.Name, NameEn: d.NameEn, Weight: percent(d.Weight / dimTotal)})
	}
	inDim := map[string]float64{}
	for _, ind := range sc.Indicators {
		inDim[ind.Dimension] += ind.Weight
	}
	used := map[string]bool{}
	for _, ind := range sc.Indicators {
		mi := methodIndicator{Code: ind.Code, Name: ind.Name, Dimension: cmp.Or(dimName[ind.Dimension], "—"), Unit: ind.Unit,
			Weight: "仅供规则使用", Direction: "越大越好", Normalisation: normalisationText(ind.Normalisation),
			Missing: missingText(ind.Missing), Source: "地区填报"}
		if ind.Weight > 0 && inDim[ind.Dimension] > 0 {
			mi.Weight = percent(ind.Weight / inDim[ind.Dimension])
			used[ind.Normalisation.Method] = true
		}
		if ind.Direction == scheme.DirectionDown {
			mi.Direction = "越小越好"
		}
		if ind.Weight == 0 {
			mi.Normalisation, mi.Missing, mi.Direction = "—", "—", "—"
		}
		if ind.SurveySourced() {
			mi.Source = "第三方满意度调查"
		}
		m.Indicators = append(m.Indicators, mi)
	}
	for _, mt := range methodTexts {
		if used[mt.method] {
			m.Methods = append(m.Methods, methodText{Name: mt.name, Text: mt.text})
		}
	}
	// Bands are highest first; the lowest takes every score below the
	// others.
	for i, g := range res.Grades {
		var r string
		switch {
		case len(res.Grades) == 1:
			r = "全部得分"
		case i == 0:
			r = fmt.Sprintf("%s 分及以上", num(g.Min))
		case i == len(res.Grades)-1:
			r = fmt.Sprintf("不足 %s 分", num(res.Grades[i-1].Min))
		default:
			r = fmt.Sprintf("%s 分及以上、不足 %s 分", num(g.Min), num(res.Grades[i-1].Min))
		}
		m.Grades = append(m.Grades, methodGrade{Name: g.Name, NameEn: g.NameEn, Range: r})
	}
	for _, ru := range sc.Rules {
		m.Rules = append(m.Rules, methodRule{ID: ru.ID, When: ru.When, Effects: scheme.DescribeEffects(ru.Effects, gradeName), Basis: ru.Basis, Message: ru.Message})
	}
	if s := in.Sensitivity; s != nil {
		m.Sensitivity = sensitivitySummary(*s)
	}
	for _, w := range res.Warnings {
		// A warning about one region's data belongs to that region's page,
		// which its city official alone reads.
		if w.Region == "" {
			m.Warnings = append(m.Warnings, w.Message)
		}
	}
	return m
}

// methodTexts describe the normalisations, in the order the appendix
// lists them.
var methodTexts = []struct{ method, name, text string }{
	{scheme.MethodGoalposts, "阈值法（goalposts）", "以方案规定的下限计 0 分、上限计 100 分，线性换算，超出部分截断；越小越好的指标方向相反。"},
	{scheme.MethodMinMax, "极差法（min-max）", "以各地区实际值的最小值计 0 分、最大值计 100 分线性换算；所有地区取值相同时均计 100 分。"},
	{scheme.MethodDTF, "前沿距离法（distance to frontier）", "按与方案规定的最差值、最优值的距离线性换算为 0–100 分。"},
	{scheme.MethodZScore, "标准分法（z-score）", "按（实际值 − 均值）/ 标准差计算标准分，换算为 50 + 50·z/3 并截断在 0–100 分之间。"},
	{scheme.MethodRank, "排序法（rank）", "按在各地区中的名次换算，最好者计 100 分、最差者计 0 分，并列者取平均名次。"},
	{scheme.MethodBinary, "是否法（binary）", "“是”计 100 分，“否”计 0 分。"},
}

func normalisationText(n scheme.Normalisation) string {
	switch n.Method {
	case scheme.MethodGoalposts:
		if n.Lower != nil && n.Upper != nil {
			return fmt.Sprintf("阈值法 %s–%s", num(*n.Lower), num(*n.Upper))
		}
		return "阈值法"
	case scheme.MethodDTF:
		if n.Worst != nil && n.Best != nil {
			return fmt.Sprintf("前沿距离法（最差 %s，最优 %s）", num(*n.Worst), num(*n.Best))
		}
		return "前沿距离法"
	case scheme.MethodMinMax:
		return "极差法"
	case scheme.MethodZScore:
		return "标准分法"
	case scheme.MethodRank:
		return "排序法"
	case scheme.MethodBinary:
		return "是否法"
	}
	return cmp.Or(n.Method, "—")
}

func missingText(policy string) string {
	switch policy {
	case scheme.MissingZero:
		return "计 0 分"
	case scheme.MissingGroupMean:
		return "同类地区均值补齐"
	case scheme.MissingReweight, "":
		return "权重转给同维度指标"
	}
	return policy
}

func sensitivitySummary(s engine.SensitivityResult) *methodSensitivity {
	m := &methodSensitivity{Draws: strconv.Itoa(s.Draws), Seed: strconv.FormatUint(s.Seed, 10), Regions: len(s.Regions)}
	spread := engine.DefaultWeightSpread
	if s.Options.WeightSpread != nil {
		spread = *s.Options.WeightSpread
	}
	if spread > 0 {
		m.Perturbations = append(m.Perturbations, fmt.Sprintf("各维度和指标权重在 ±%s 范围内随机扰动", percent(spread)))
	}
	if s.Options.SwapNormalisation {
		m.Perturbations = append(m.Perturbations, "随机互换阈值法与极差法")
	}
	if s.Options.SwapAggregation {
		m.Perturbations = append(m.Perturbations, "随机互换算术与几何加权平均")
	}
	if s.Options.ToggleImputation {
		m.Perturbations = append(m.Perturbations, "随机取消缺失值补齐")
	}
	if len(s.Options.SurveyIntervals) > 0 {
		m.Perturbations = append(m.Perturbations, "满意度指数在其 95% 置信区间内随机抽样")
	}
	var width, ranked int
	for _, r := range s.Regions {
		if r.RankedDraws > 0 {
			width += r.RankP95 - r.RankP5
			ranked++
		}
		if r.Borderline && r.NominalGrade != "" {
			m.Borderline++
		}
	}
	m.MeanWidth = "—"
	if ranked > 0 {
		m.MeanWidth = strconv.FormatFloat(float64(width)/float64(ranked), 'f', 1, 64)
	}
	return m
}

// optionText is a chart option as the report's template takes it. The
// report's charts have their animation off (charts.WithAnimation), so
// that a printed page shows the finished chart.
func optionText(b []byte, err error) (string, error) {
	return string(b), err
}

func score1(n engine.Number) string {
	if !n.Valid {
		return "—"
	}
	return fmt.Sprintf("%.1f", n.Value)
}

func percent(x float64) string {
	return strconv.FormatFloat(math.Round(x*1000)/10, 'f', -1, 64) + "%"
}

func share(n, of int) string {
	if of == 0 {
		return "—"
	}
	return percent(float64(n) / float64(of))
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// dateOf is a time as a date in China Standard Time, as an official
// document states it.
func dateOf(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(time.FixedZone("CST", 8*3600)).Format("2006年1月2日")
}
