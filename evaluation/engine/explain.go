package engine

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// Languages of Explanation.Text.
const (
	LangZh = "zh"
	LangEn = "en"
)

// Topics of explanation sentences.
const (
	TopicScore      = "score"
	TopicDimensions = "dimensions"
	TopicIndicators = "indicators"
	TopicData       = "data"
	TopicGrade      = "grade"
	TopicRule       = "rule"
	TopicAward      = "award"
	TopicPath       = "path"
)

// Sentence is one statement of an explanation, in Chinese and English.
type Sentence struct {
	Topic string `json:"topic"`
	Zh    string `json:"zh"`
	En    string `json:"en"`
}

// Explanation says, for people, why a region has its score, its grade and
// any cap: one sentence per point, Chinese first. Numbers are shown to one
// decimal; the result itself keeps full precision.
type Explanation struct {
	Sentences []Sentence `json:"sentences"`
}

// Text renders the explanation in lang (LangZh, the default, or LangEn),
// one sentence per line.
func (x Explanation) Text(lang string) string {
	var b strings.Builder
	for i, s := range x.Sentences {
		if i > 0 {
			b.WriteByte('\n')
		}
		if lang == LangEn {
			b.WriteString(s.En)
		} else {
			b.WriteString(s.Zh)
		}
	}
	return b.String()
}

// f1 formats a score to one decimal.
func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// fv formats a value in its unit: at most two decimals, no trailing zeros.
func fv(x float64) string { return string(appendValue(nil, x)) }

func appendValue(b []byte, x float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, x, 'f', 2, 64)
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	if b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if string(b[start:]) == "-0" {
		b = append(b[:start], '0')
	}
	return b
}

// text builds one sentence in both languages at once, so that a sentence
// costs two allocations however many pieces it has.
type text struct {
	zh, en []byte
	out    []Sentence
}

// Z and E append to the Chinese and the English text; B to both.
func (t *text) Z(parts ...string) *text {
	for _, p := range parts {
		t.zh = append(t.zh, p...)
	}
	return t
}

func (t *text) E(parts ...string) *text {
	for _, p := range parts {
		t.en = append(t.en, p...)
	}
	return t
}

func (t *text) B(s string) *text {
	t.zh = append(t.zh, s...)
	t.en = append(t.en, s...)
	return t
}

// N1 appends a score to one decimal to both; V a value; P a share as a
// percentage; I an integer.
func (t *text) N1(x float64) *text {
	t.zh = strconv.AppendFloat(t.zh, x, 'f', 1, 64)
	t.en = strconv.AppendFloat(t.en, x, 'f', 1, 64)
	return t
}

func (t *text) V(x float64) *text {
	t.zh = appendValue(t.zh, x)
	t.en = appendValue(t.en, x)
	return t
}

func (t *text) P(x float64) *text { return t.N1(100 * x).B("%") }

func (t *text) I(n int) *text {
	t.zh = strconv.AppendInt(t.zh, int64(n), 10)
	t.en = strconv.AppendInt(t.en, int64(n), 10)
	return t
}

// emit ends the sentence.
func (t *text) emit(topic string) {
	t.out = append(t.out, Sentence{Topic: topic, Zh: string(t.zh), En: string(t.en)})
	t.zh, t.en = t.zh[:0], t.en[:0]
}

// explain writes region r's explanation; graded is the number of graded
// regions.
func (e *run) explain(t *text, r, graded int) {
	p := e.p
	rr := &e.res[r]
	t.out = make([]Sentence, 0, 10)
	aggZh, aggEn := "加权算术平均", "weighted arithmetic mean"
	if e.cfg.agg == scheme.AggregationGeometric {
		aggZh, aggEn = "加权几何平均", "weighted geometric mean"
	}
	switch rr.Status {
	case StatusNoWeight, StatusUnscorable:
		t.Z("未计算得分：", rr.Error.Message, "。").E("No score: ", rr.Error.MessageEn, ".").emit(TopicScore)
	case StatusInsufficientData:
		t.Z("已核实数据仅覆盖适用权重的 ").E("Verified data cover only ").P(rr.Coverage).
			Z("，低于方案要求的 ").E(" of the applicable weight, below the scheme's ").P(p.scheme.CoverageThreshold).
			Z("，因此不评定等次、不参与排名；按现有数据计算的得分 ").E(", so the region is neither graded nor ranked; the score of ").N1(rr.Score.Value).
			Z("（", aggZh, "）仅供参考。").E(" (", aggEn, ") computed from the data at hand is for information only.").emit(TopicScore)
	default:
		t.Z("综合得分 ").E("Composite score ").N1(rr.Score.Value).
			Z("（满分 100，", aggZh, "），在 ").E(" out of 100 (", aggEn, "), rank ")
		t.zh = strconv.AppendInt(t.zh, int64(graded), 10)
		t.en = strconv.AppendInt(t.en, int64(rr.Rank), 10)
		t.Z(" 个参评地区中排名第 ").E(" of ")
		t.zh = strconv.AppendInt(t.zh, int64(rr.Rank), 10)
		t.en = strconv.AppendInt(t.en, int64(graded), 10)
		t.Z("；已核实数据覆盖适用权重的 ").E(" graded regions; verified data cover ").P(rr.Coverage).
			Z("。").E(" of the applicable weight.").emit(TopicScore)
	}
	if rr.Status != StatusNoWeight && rr.Status != StatusUnscorable {
		e.explainDimensions(t, rr)
		e.explainLosses(t, rr)
	}
	e.explainData(t, r)
	e.explainGrade(t, r)
	if rr.Path != nil {
		e.explainPath(t, rr)
	}
	rr.Explanation = Explanation{Sentences: t.out}
	t.out = nil
}

func (e *run) explainDimensions(t *text, rr *RegionResult) {
	t.Z("各维度得分：").E("Dimension scores: ")
	n := 0
	for d, dr := range rr.Dimensions {
		dim := &e.p.scheme.Dimensions[d]
		if !dr.Score.Valid && e.cfg.dimW[d] <= 0 {
			continue
		}
		if n > 0 {
			t.Z("，").E("; ")
		}
		n++
		t.Z(dim.Name, " ").E(dim.NameEn, " ")
		if !dr.Score.Valid {
			t.Z("无可计分数据（权重已分给其他维度）").E("nothing to score (weight shared by the other dimensions)")
			continue
		}
		t.N1(dr.Score.Value).Z("（权重 ").E(" (weight ").P(dr.Weight).Z("）").E(")")
	}
	t.Z("。").E(".").emit(TopicDimensions)
}

// explainLosses names the (up to three) indicators that cost the most
// points: weight × 100 minus contribution.
func (e *run) explainLosses(t *text, rr *RegionResult) {
	type loss struct {
		j    int
		lost float64
	}
	var top [3]loss
	n := 0
	for j := range rr.Indicators {
		ir := &rr.Indicators[j]
		lost := 100*ir.Weight - ir.Contribution
		if ir.Weight == 0 || lost < 0.05 {
			continue
		}
		// keep the three largest, ties in scheme order
		k := n
		for k > 0 && top[k-1].lost < lost {
			if k < len(top) {
				top[k] = top[k-1]
			}
			k--
		}
		if k < len(top) {
			top[k] = loss{j, lost}
			n = min(n+1, len(top))
		}
	}
	if n == 0 {
		t.Z("所有计分指标均取得满分。").E("Every scored indicator has full marks.").emit(TopicIndicators)
		return
	}
	t.Z("失分最多的指标：").E("Largest losses: ")
	for i, l := range top[:n] {
		ind := &e.p.scheme.Indicators[l.j]
		if i > 0 {
			t.Z("；").E("; ")
		}
		t.B(ind.Code).Z(" ", ind.Name, "（得分 ").E(" ", ind.NameEn, " (score ").N1(rr.Indicators[l.j].Score.Value).
			Z("，失 ").E(", ").N1(l.lost).Z(" 分）").E(" points lost)")
	}
	t.Z("。").E(".").emit(TopicIndicators)
}

func statusZh(st ValueStatus) string {
	switch st {
	case StatusDraft:
		return "草稿"
	case StatusSubmitted:
		return "已提交待审核"
	case StatusRejected:
		return "已退回"
	}
	return "未标明状态"
}

func (e *run) explainData(t *text, r int) {
	rr := &e.res[r]
	n := 0
	for j := range rr.Indicators {
		ir := &rr.Indicators[j]
		if !ir.Scored || !ir.Missing {
			continue
		}
		if n == 0 {
			t.Z("缺少已核实数据的指标：").E("Indicators without verified data: ")
		} else {
			t.Z("；").E("; ")
		}
		n++
		t.B(ir.Code)
		if e.p.cells[j*e.p.nr+r].state == cellUnverified {
			t.Z(" 填报值未核实（", statusZh(ir.Unverified), "），").E(" value not verified (", cmp.Or(string(ir.Unverified), "no status"), "), ")
		} else {
			t.Z(" 未填报，").E(" not reported, ")
		}
		switch ir.Imputation {
		case ImputationZero:
			t.Z("按 0 分计").E("scored 0")
		case ImputationGroupMean:
			t.Z("按同组地区均值 ").E("imputed with the group mean ").V(ir.Value.Value).Z(" 补齐")
		default:
			t.Z("不计分，权重由同维度其他指标分担").E("not scored, its weight shared by the dimension's other indicators")
		}
	}
	if n > 0 {
		t.Z("。").E(".").emit(TopicData)
	}
	n = 0
	for j := range rr.Indicators {
		ir := &rr.Indicators[j]
		if !ir.Scored || !ir.NotApplicable {
			continue
		}
		if n == 0 {
			t.Z("不适用的指标：").E("Not applicable: ")
		} else {
			t.Z("、").E(", ")
		}
		n++
		t.B(ir.Code)
	}
	if n > 0 {
		t.Z("，其权重已由同维度其他指标分担。").E("; their weight is shared by the other indicators of their dimension.").emit(TopicData)
	}
	n = 0
	for j := range rr.Indicators {
		ir := &rr.Indicators[j]
		if !ir.Treated {
			continue
		}
		if n == 0 {
			t.Z("经异常值处理的指标：").E("Outlier treatment applied to: ")
		} else {
			t.Z("、").E(", ")
		}
		n++
		t.B(ir.Code)
		if ir.Treatment == TreatmentLog {
			t.Z("（对数变换）").E(" (log transform)")
		} else {
			t.Z("（缩尾处理）").E(" (winsorised)")
		}
	}
	if n > 0 {
		t.Z("。").E(".").emit(TopicData)
	}
}

func (e *run) explainGrade(t *text, r int) {
	p := e.p
	rr := &e.res[r]
	if b := e.band[r]; b >= 0 {
		g := &p.grades[b]
		t.Z("按等次标准，得分 ").E("By the grade bands, the score ").N1(rr.Score.Value).
			Z(" 属于“", g.Name, "”（").E(" is in band ", g.NameEn, " (")
		switch {
		case b == 0:
			t.B("≥ ").V(g.Min)
		case b == len(p.grades)-1:
			t.B("< ").V(p.grades[b-1].Min)
		default:
			t.V(g.Min).Z(" 至 ").E(" to below ").V(p.grades[b-1].Min).Z(" 以下")
		}
		t.Z("）。").E(").").emit(TopicGrade)
	}
	for _, fr := range rr.Rules {
		t.Z("规则 ", fr.ID, " 触发（").E("Rule ", fr.ID, " fired")
		if fr.Basis != "" {
			t.Z("依据", fr.Basis, "，")
		}
		if b := cmp.Or(fr.BasisEn, fr.Basis); b != "" {
			t.E(" under ", b)
		}
		t.Z("读取 ").E(" (read ")
		appendRead(t, fr.Read)
		t.Z("）：", fr.Message, "后果：").E("): ", ruleMessageEn(fr), " Consequence: ")
		n := 0
		for _, ef := range fr.Effects {
			if n > 0 {
				t.Z("，").E(", ")
			}
			n++
			switch ef.Type {
			case scheme.EffectCapGrade, scheme.EffectSetGrade:
				gi := p.gradeIndex(ef.Grade)
				if gi < 0 {
					continue
				}
				g := &p.grades[gi]
				if ef.Type == scheme.EffectSetGrade {
					t.Z("等次定为“", g.Name, "”").E("grade set to ", g.NameEn)
				} else {
					t.Z("等次至多为“", g.Name, "”").E("grade at most ", g.NameEn)
				}
			case scheme.EffectAwardIneligible:
				t.Z("不得参与评选表彰").E("not eligible for awards")
			case scheme.EffectFlag:
				t.Z("提示审核").E("flagged for review")
			}
		}
		t.Z("。").E(".").emit(TopicRule)
	}
	if f := e.final[r]; f >= 0 {
		g := &p.grades[f]
		t.Z("最终等次：", g.Name, "。").E("Final grade: ", g.NameEn, ".")
		switch {
		case rr.GradeRule != "" && f > e.band[r]:
			b := &p.grades[e.band[r]]
			t.Z("得分本可评为“", b.Name, "”，因规则 ", rr.GradeRule, " 降为“", g.Name, "”。").
				E(" The score would earn ", b.NameEn, ", but rule ", rr.GradeRule, " lowers it to ", g.NameEn, ".")
		case rr.GradeRule != "":
			t.Z("（由规则 ", rr.GradeRule, " 确定）").E(" (set by rule ", rr.GradeRule, ")")
		}
		t.emit(TopicGrade)
	}
	if !rr.AwardEligible {
		t.Z("该地区不得参与先进集体和先进个人评选表彰。").E("The region may not take part in the advanced-collective and advanced-individual awards.").emit(TopicAward)
	}
}

// appendRead renders what a rule read, keys in order.
func appendRead(t *text, read map[string]any) {
	keys := make([]string, 0, len(read))
	for k := range read {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			t.Z("，").E(", ")
		}
		t.B(k).B(" = ")
		switch v := read[k].(type) {
		case nil:
			t.Z("缺失").E("missing")
		case float64:
			t.V(v)
		case string:
			if v == "not_applicable" {
				t.Z("不适用").E(v)
			} else {
				t.B(v)
			}
		}
	}
}

func (e *run) explainPath(t *text, rr *RegionResult) {
	p := e.p
	path := rr.Path
	g := &p.grades[p.gradeIndex(path.Target)]
	for _, b := range path.Blocked {
		t.Z(terminate(b.Statement, "。")).E(capitalise(terminate(b.StatementEn, "."))).emit(TopicPath)
	}
	if len(path.Steps) == 0 {
		return
	}
	// The three possible steps that need the smallest rise in score.
	var best [3]*PathStep
	n := 0
	for i := range path.Steps {
		s := &path.Steps[i]
		if !s.Possible {
			continue
		}
		rise := s.Score.Value - s.ScoreNow
		k := n
		for k > 0 && best[k-1].Score.Value-best[k-1].ScoreNow > rise {
			if k < len(best) {
				best[k] = best[k-1]
			}
			k--
		}
		if k < len(best) {
			best[k] = s
			n = min(n+1, len(best))
		}
	}
	t.Z("距“", g.Name, "”（≥ ")
	t.zh = appendValue(t.zh, g.Min)
	t.Z("）还差 ")
	t.zh = strconv.AppendFloat(t.zh, path.Gap, 'f', 1, 64)
	t.Z(" 分")
	t.en = strconv.AppendFloat(t.en, path.Gap, 'f', 1, 64)
	t.E(" points short of ", g.NameEn, " (≥ ")
	t.en = appendValue(t.en, g.Min)
	t.E(")")
	if n == 0 {
		t.Z("，任何单项指标单独提高都无法达到，需要多项同时改进。").E("; no single indicator can close the gap alone, several must improve.").emit(TopicPath)
		return
	}
	t.Z("。单项改进即可达到的途径，例如：").E(". Any one of these alone would reach it, for example: ")
	for i, s := range best[:n] {
		j := p.indicatorIndex(s.Indicator)
		ind := &p.scheme.Indicators[j]
		if i > 0 {
			t.Z("；").E("; ")
		}
		t.B(ind.Code).Z(" ", ind.Name, " 达到 ").E(" ", ind.NameEn, " reaching ")
		if s.Exceed {
			if e.cfg.inds[j].dir > 0 {
				t.Z("超过 ").E("more than ")
			} else {
				t.Z("低于 ").E("less than ")
			}
		}
		t.V(s.Target.Value).B(" ").B(ind.Unit)
		if s.Change.Valid && s.Change.Value != 0 && !math.IsNaN(s.Change.Value) {
			t.Z("（").E(" (")
			if s.Change.Value > 0 {
				t.B("+")
			}
			t.V(s.Change.Value).Z("）").E(")")
		}
	}
	t.Z("。").E(".").emit(TopicPath)
}

// capitalise upper-cases an ASCII first letter, to start a sentence.
func capitalise(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// terminate ends s with mark unless it already ends with a full stop.
func terminate(s, mark string) string {
	if strings.HasSuffix(s, "。") || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "！") {
		return s
	}
	return s + mark
}

func (p *Prepared) indicatorIndex(code string) int {
	for j := range p.scheme.Indicators {
		if p.scheme.Indicators[j].Code == code {
			return j
		}
	}
	return 0
}
