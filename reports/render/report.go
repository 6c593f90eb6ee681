package render

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/disclosure"
)

// The business-environment report (知识产权营商环境评价报告) of a run: a
// printable HTML document in Chinese, the language of the official text,
// with English headings beside the Chinese. It is rendered from plain data
// — the scheme, the run's results and sensitivity analysis, the cycle —
// and knows nothing of databases, so that a job can render it and a test
// can read it.
//
// The document has three parts, rendered one after the other: the front
// (cover, summary, ranking table, map), one page per region, and the back
// (methodology appendix, scripts). Layout records where each part lies in
// the bytes, so that a region's edition — the front, that region's page
// and the back — is cut from the stored province report rather than
// rendered and stored again. The front holds only what every city
// official may see of other regions (scores, ranks, grades, dimension
// scores, the rule that capped a grade); indicator details stay on the
// regions' own pages.

//go:embed templates/report.html
var reportFS embed.FS

// reportTemplate is parsed once; executing it never changes it, and it is
// safe for concurrent use.
var reportTemplate = template.Must(template.New("report.html").ParseFS(reportFS, "templates/report.html"))

// ReportStyle is the report's print style sheet among the Static assets:
// a page's Content-Security-Policy refuses inline styles, so the document
// links it.
const ReportStyle = "report.css"

// ReportCycle is the assessment cycle a report belongs to.
type ReportCycle struct {
	Year int
	Name string
}

// ReportRun identifies the run a report presents.
type ReportRun struct {
	ID          string
	CreatedAt   time.Time
	PublishedAt *time.Time
	InputsHash  string
	ResultsHash string
}

// ReportInput is everything the report shows.
type ReportInput struct {
	Scheme scheme.Scheme
	Result engine.Result
	// Sensitivity is the run's sensitivity analysis; nil when it has none.
	Sensitivity *engine.SensitivityResult
	Cycle       ReportCycle
	Run         ReportRun
}

// Report is a rendered report: the whole document and where its parts lie.
type Report struct {
	HTML   []byte
	Layout Layout
}

// Layout says where the parts of a report lie in its bytes: the front is
// HTML[:Front], the back HTML[Back:], and each region's page one of
// Regions, in the order of the document (by rank).
type Layout struct {
	Front   int    `json:"front"`
	Back    int    `json:"back"`
	Regions []Span `json:"regions"`
}

// Span is one region's page in a report.
type Span struct {
	Code  string `json:"code"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Check reports whether the layout fits a document of size bytes: parts
// in order, within the document, not overlapping. A stored layout is
// checked before a region's edition is cut with it.
func (l Layout) Check(size int) error {
	at := l.Front
	if at < 0 || l.Back > size {
		return fmt.Errorf("report layout: front %d, back %d outside %d bytes", l.Front, l.Back, size)
	}
	for _, s := range l.Regions {
		if s.Start != at || s.End < s.Start {
			return fmt.Errorf("report layout: region %s at %d–%d, expected from %d", s.Code, s.Start, s.End, at)
		}
		at = s.End
	}
	if at != l.Back {
		return fmt.Errorf("report layout: regions end at %d, back starts at %d", at, l.Back)
	}
	return nil
}

// Region is the edition of a report for one region: its front, the
// region's page and its back, so that a city official reads the province
// summary and ranking and only their own region's page. ok is false when
// the report has no page for the region; a layout that does not fit the
// document is an error, not a missing page: the stored report is broken.
func (r Report) Region(code string) (doc []byte, ok bool, err error) {
	if err := r.Layout.Check(len(r.HTML)); err != nil {
		return nil, false, err
	}
	for _, s := range r.Layout.Regions {
		if s.Code == code {
			out := make([]byte, 0, r.Layout.Front+(s.End-s.Start)+len(r.HTML)-r.Layout.Back)
			out = append(out, r.HTML[:r.Layout.Front]...)
			out = append(out, r.HTML[s.Start:s.End]...)
			return append(out, r.HTML[r.Layout.Back:]...), true, nil
		}
	}
	return nil, false, nil
}

// RenderReport renders the business-environment report of a run. The
// same input gives the same bytes: nothing depends on the clock or on map
// order.
func RenderReport(in ReportInput) (Report, error) {
	v, err := newReportView(in)
	if err != nil {
		return Report{}, err
	}
	var buf bytes.Buffer
	buf.Grow(16<<10 + 8<<10*len(v.Regions))
	if err := reportTemplate.ExecuteTemplate(&buf, "front", v); err != nil {
		return Report{}, fmt.Errorf("render report front: %w", err)
	}
	rep := Report{Layout: Layout{Front: buf.Len(), Regions: make([]Span, 0, len(v.Regions))}}
	for _, rv := range v.Regions {
		start := buf.Len()
		if err := reportTemplate.ExecuteTemplate(&buf, "region", rv); err != nil {
			return Report{}, fmt.Errorf("render report page of %s: %w", rv.Code, err)
		}
		rep.Layout.Regions = append(rep.Layout.Regions, Span{Code: rv.Code, Start: start, End: buf.Len()})
	}
	rep.Layout.Back = buf.Len()
	if err := reportTemplate.ExecuteTemplate(&buf, "back", v); err != nil {
		return Report{}, fmt.Errorf("render report back: %w", err)
	}
	rep.HTML = buf.Bytes()
	return rep, nil
}

// reportView is what the front and back templates read; every field is
// plain text that html/template escapes.
type reportView struct {
	Title, CycleName, SchemeName string
	Province                     string
	RunID, Created, Published    string
	Assessed, Graded             int
	Summary                      []string
	Distribution                 []gradeCount
	Top                          []rankRow
	Capped                       []cappedRow
	DimensionNames               []string
	Rows                         []rankRow
	Map, Grades                  string // ECharts options, as JSON
	Regions                      []regionView
	Method                       methodView
}

type gradeCount struct {
	Name, Share string
	Count       int
}

// rankRow is a region in the ranking table: only what the province
// overview shows every city official.
type rankRow struct {
	Rank                     string
	Name, Kind, Score, Grade string
	Capped                   string // the band grade a rule took away
	Dimensions               []string
	Award                    string
}

type cappedRow struct {
	Name, Score, Band, Grade, Rule, Basis string
}

// regionView is one region's page.
type regionView struct {
	Code, Name, Kind      string
	Score, Rank, Grade    string
	Band                  string // the band grade, when a rule changed it
	Status                string // why a region without a grade has none
	Coverage, Award       string
	Capped                string // the cap in plain words
	Rules                 []ruleView
	Dimensions            []dimensionRow
	Strengths, Weaknesses []indicatorRow
	Compared, Few         int // indicators placed among the regions; reported ones too few regions reported to place
	Sentences, Warnings   []string
	Sensitivity           string
	Radar                 string
}

type ruleView struct {
	ID, Effects, Message, Basis string
}

type dimensionRow struct {
	Name, Weight, Score, Mean string
}

// indicatorRow is a strength or weakness of a region.
type indicatorRow struct {
	Code, Name, Value, Score, Percentile, Province string
}

// methodView is the methodology appendix.
type methodView struct {
	SchemeCode, SchemeVersion, Description string
	Engine, InputsHash, ResultsHash        string
	Aggregation, Coverage, Outliers        string
	Dimensions                             []methodDimension
	Indicators                             []methodIndicator
	Methods                                []methodText
	Grades                                 []methodGrade
	Rules                                  []methodRule
	Sensitivity                            *methodSensitivity
	Warnings                               []string
	// MinRegions is disclosure.MinRegionsForAggregate.
	MinRegions int
}

type methodDimension struct{ Code, Name, NameEn, Weight string }

type methodIndicator struct {
	Code, Name, Dimension, Unit, Weight, Direction, Normalisation, Missing, Source string
}

type methodText struct{ Name, Text string }

type methodGrade struct{ Name, NameEn, Range string }

type methodRule struct{ ID, When, Effects, Basis, Message string }

type methodSensitivity struct {
	Draws, Seed   string
	Perturbations []string
	Regions       int
	Borderline    int
	MeanWidth     string
}

func newReportView(in ReportInput) (reportView, error) {
	res, sc := in.Result, in.Scheme
	gradeName := scheme.GradeNames(res.Grades, false)
	v := reportView{
		Title:      fmt.Sprintf("%d年度知识产权营商环境评价报告", in.Cycle.Year),
		CycleName:  in.Cycle.Name,
		SchemeName: cmp.Or(sc.Name, sc.Code),
		Province:   ProvinceMap + "省",
		RunID:      in.Run.ID,
		Created:    dateOf(in.Run.CreatedAt),
		Assessed:   len(res.Regions),
	}
	if in.Run.PublishedAt != nil {
		v.Published = dateOf(*in.Run.PublishedAt)
	}
	for _, d := range sc.Dimensions {
		v.DimensionNames = append(v.DimensionNames, d.Name)
	}
	order := res.Ranked()
	count := map[string]int{}
	for _, r := range order {
		if r.Rank == 0 {
			continue
		}
		v.Graded++
		count[r.Grade]++
	}
	for _, g := range res.Grades {
		v.Distribution = append(v.Distribution, gradeCount{Name: g.Name, Count: count[g.Code], Share: share(count[g.Code], v.Graded)})
	}
	rules := map[string]scheme.Rule{}
	for _, ru := range sc.Rules {
		rules[ru.ID] = ru
	}
	for _, r := range order {
		row := rankRow{Name: r.Name, Kind: cmp.Or(r.Kind.Name(), string(r.Kind)), Score: score1(r.Score), Grade: gradeName[r.Grade], Award: "否"}
		if r.Rank > 0 {
			row.Rank = strconv.Itoa(r.Rank)
		} else {
			row.Rank, row.Grade = "—", "未评定"
		}
		if r.AwardEligible {
			row.Award = "是"
		}
		if capped(r) {
			row.Capped = gradeName[r.BandGrade]
			v.Capped = append(v.Capped, cappedRow{Name: r.Name, Score: score1(r.Score), Band: gradeName[r.BandGrade],
				Grade: gradeName[r.Grade], Rule: r.GradeRule, Basis: rules[r.GradeRule].Basis})
		}
		for d := range sc.Dimensions {
			s := "—"
			if d < len(r.Dimensions) {
				s = score1(r.Dimensions[d].Score)
			}
			row.Dimensions = append(row.Dimensions, s)
		}
		v.Rows = append(v.Rows, row)
		if r.Rank > 0 && r.Rank <= 3 {
			v.Top = append(v.Top, row)
		}
	}
	v.Summary = summary(v)
	var err error
	if v.Map, err = optionText(MapOption(res, charts.WithAnimation(false))); err != nil {
		return v, err
	}
	if v.Grades, err = optionText(GradesOption(res, charts.WithAnimation(false))); err != nil {
		return v, err
	}
	v.Regions, err = regionViews(in, order, v.Graded, gradeName)
	if err != nil {
		return v, err
	}
	v.Method = methodOf(in, gradeName)
	return v, nil
}

// summary is the opening paragraphs: how many regions, how they were
// graded, who leads and whose grade a rule changed.
func summary(v reportView) []string {
	var dist []string
	for _, d := range v.Distribution {
		dist = append(dist, fmt.Sprintf("%s %d 个", d.Name, d.Count))
	}
	out := []string{fmt.Sprintf("本次评价共涉及 %d 个地区，其中 %d 个地区评定了等次（%s）", v.Assessed, v.Graded, strings.Join(dist, "、"))}
	if n := v.Assessed - v.Graded; n > 0 {
		out[0] += fmt.Sprintf("，%d 个地区因核实数据不足未评定等次", n)
	}
	out[0] += "。"
	if len(v.Top) > 0 {
		var top []string
		for _, r := range v.Top {
			top = append(top, fmt.Sprintf("%s（%s 分，%s）", r.Name, r.Score, r.Grade))
		}
		out = append(out, "综合得分居前的地区依次为"+strings.Join(top, "、")+"。")
	}
	if len(v.Capped) > 0 {
		var names []string
		for _, c := range v.Capped {
			names = append(names, fmt.Sprintf("%s（%s→%s）", c.Name, c.Band, c.Grade))
		}
		out = append(out, fmt.Sprintf("共 %d 个地区因触发政策规则，等次与其得分所在分数段不同：%s。详见下表及各地区评价页。",
			len(v.Capped), strings.Join(names, "、")))
	} else {
		out = append(out, "本次评价没有地区因政策规则调整等次。")
	}
	return out
}

// capped reports whether a rule changed the grade of r's score band.
func capped(r engine.RegionResult) bool {
	return r.Rank > 0 && r.GradeRule != "" && r.Grade != r.BandGrade
}

func regionViews(in ReportInput, order []engine.RegionResult, graded int, gradeName map[string]string) ([]regionView, error) {
	res, sc := in.Result, in.Scheme
	pct := newPercentiles(res)
	sens := map[string]engine.RegionSensitivity{}
	draws := 0
	if in.Sensitivity != nil {
		draws = in.Sensitivity.Draws
		for _, rs := range in.Sensitivity.Regions {
			sens[rs.Code] = rs
		}
	}
	means := dimensionMeans(sc, res)
	out := make([]regionView, 0, len(order))
	for _, r := range order {
		rv := regionView{Code: r.Code, Name: r.Name, Kind: cmp.Or(r.Kind.Name(), string(r.Kind)), Score: score1(r.Score),
			Coverage: percent(r.Coverage), Award: "有"}
		if !r.AwardEligible {
			rv.Award = "无（不得参与评选表彰）"
		}
		if r.Rank > 0 {
			rv.Rank = fmt.Sprintf("第 %d 名（共 %d 个评定等次的地区）", r.Rank, graded)
			rv.Grade = gradeName[r.Grade]
		} else {
			rv.Rank, rv.Grade = "未排名", "未评定"
			rv.Status = "本地区本次未评定等次。"
			if r.Error != nil {
				rv.Status = r.Error.Message
			} else if r.Status == engine.StatusInsufficientData {
				rv.Status = fmt.Sprintf("已核实数据覆盖本地区适用权重的 %s，低于评价方案要求的 %s，得分仅供参考，不排名、不评定等次。",
					percent(r.Coverage), percent(res.CoverageThreshold))
			}
		}
		if capped(r) {
			rv.Band = gradeName[r.BandGrade]
			rv.Capped = fmt.Sprintf("按综合得分 %s 分，本地区处于“%s”分数段；因触发规则 %s，最终等次确定为“%s”。",
				rv.Score, rv.Band, r.GradeRule, rv.Grade)
		}
		for _, fr := range r.Rules {
			rv.Rules = append(rv.Rules, ruleView{ID: fr.ID, Effects: scheme.DescribeEffects(fr.Effects, gradeName), Message: fr.Message, Basis: fr.Basis})
		}
		for d, dim := range sc.Dimensions {
			row := dimensionRow{Name: dim.Name, Score: "—", Weight: "—", Mean: score1(means[d])}
			if d < len(r.Dimensions) {
				dr := r.Dimensions[d]
				row.Score = score1(dr.Score)
				if dr.Weight > 0 {
					row.Weight = percent(dr.Weight)
				}
			}
			rv.Dimensions = append(rv.Dimensions, row)
		}
		rv.Strengths, rv.Weaknesses, rv.Compared, rv.Few = pct.strengthsAndWeaknesses(sc, r, 3)
		for _, s := range r.Explanation.Sentences {
			rv.Sentences = append(rv.Sentences, s.Zh)
		}
		for _, w := range r.Warnings {
			rv.Warnings = append(rv.Warnings, w.Message)
		}
		if rs, ok := sens[r.Code]; ok {
			rv.Sensitivity = sensitivityText(rs, draws, gradeName)
		}
		radar, err := optionText(RadarOption(sc, res, r.Code, charts.WithAnimation(false)))
		if err != nil {
			return nil, err
		}
		rv.Radar = radar
		out = append(out, rv)
	}
	return out, nil
}

// dimensionMeans is the mean score of each dimension over the graded
// regions.
func dimensionMeans(sc scheme.Scheme, res engine.Result) []engine.Number {
	sum, n := make([]float64, len(sc.Dimensions)), make([]int, len(sc.Dimensions))
	for _, r := range res.Regions {
		if r.Rank == 0 {
			continue
		}
		for d, dr := range r.Dimensions {
			if d < len(sum) && dr.Score.Valid {
				sum[d] += dr.Score.Value
				n[d]++
			}
		}
	}
	out := make([]engine.Number, len(sum))
	for d := range out {
		if n[d] > 0 {
			out[d] = engine.Number{Value: sum[d] / float64(n[d]), Valid: true}
		}
	}
	return out
}

func sensitivityText(rs engine.RegionSensitivity, draws int, gradeName map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "在 %d 次扰动抽样中，", draws)
	switch {
	case rs.RankedDraws == 0:
	case rs.RankP5 == rs.RankP95:
		fmt.Fprintf(&b, "本地区 90%% 的抽样排名均为第 %d 名；", rs.MedianRank)
	default:
		fmt.Fprintf(&b, "本地区排名的中位数为第 %d 名，90%% 的抽样落在第 %d 至第 %d 名之间；", rs.MedianRank, rs.RankP5, rs.RankP95)
	}
	if rs.NominalGrade != "" {
		fmt.Fprintf(&b, "评为“%s”的概率为 %s。", gradeName[rs.NominalGrade], percent(rs.NominalProbability))
	} else {
		fmt.Fprintf(&b, "未评定等次的概率为 %s。", percent(rs.NominalProbability))
	}
	if rs.Borderline {
		b.WriteString("本地区处于等次临界状态，结果对评价方法的选择较为敏感。")
	}
	return b.String()
}

// percentiles holds, per scored indicator, the sorted normalised scores of
// the regions whose verified (or survey) value was used, and their raw
// values: a region is placed among its peers by what it reported, never
// by an imputed value.
type percentiles struct {
	scores map[string][]float64
	raws   map[string][]float64
}

// observed reports whether ir is a reported value that was scored.
func observed(ir engine.IndicatorResult) bool {
	return ir.Scored && ir.Observed && !ir.NotApplicable && ir.Score.Valid && ir.Raw.Valid
}

func newPercentiles(res engine.Result) percentiles {
	p := percentiles{scores: map[string][]float64{}, raws: map[string][]float64{}}
	for _, r := range res.Regions {
		for _, ir := range r.Indicators {
			if observed(ir) {
				p.scores[ir.Code] = append(p.scores[ir.Code], ir.Score.Value)
				p.raws[ir.Code] = append(p.raws[ir.Code], ir.Raw.Value)
			}
		}
	}
	for code := range p.scores {
		slices.Sort(p.scores[code])
		slices.Sort(p.raws[code])
	}
	return p
}

// tooFew stands where a figure is withheld because too few regions
// reported the indicator.
const tooFew = "参与比较的地区不足"

// percentile places score among the other regions that reported the
// indicator: the share of them it beats, a tie counting half, from 0 (the
// lowest) to 100 (the highest). ok is false when fewer than
// disclosure.MinRegionsForAggregate regions reported it: among two or
// three, a region's percentile is the order of the others, which its
// edition of the report would give away.
func (p percentiles) percentile(code string, score float64) (float64, bool) {
	all := p.scores[code]
	if !disclosure.Enough(len(all)) {
		return 0, false
	}
	lo, _ := slices.BinarySearch(all, score)
	hi := lo
	for hi < len(all) && all[hi] == score {
		hi++
	}
	// The region itself is one of the ties.
	ties := hi - lo - 1
	return (float64(lo) + 0.5*float64(ties)) / float64(len(all)-1) * 100, true
}

// strengthsAndWeaknesses are a region's best and worst reported
// indicators by percentile among the regions: at most k strengths, above
// the middle (percentile over 50), and k weaknesses, below it, so that a
// leader's "weakness" is never an indicator on which it beats most
// regions. Ties go to the higher (strength) or lower (weakness) score,
// then to scheme order. compared is the number of indicators placed, few
// the number of reported ones too few regions reported to place.
func (p percentiles) strengthsAndWeaknesses(sc scheme.Scheme, r engine.RegionResult, k int) (strengths, weaknesses []indicatorRow, compared, few int) {
	type placed struct {
		i          int // in r.Indicators, which is in scheme order
		pct, score float64
	}
	var all []placed
	for i, ir := range r.Indicators {
		if !observed(ir) {
			continue
		}
		if pc, ok := p.percentile(ir.Code, ir.Score.Value); ok {
			all = append(all, placed{i: i, pct: pc, score: ir.Score.Value})
		} else {
			few++
		}
	}
	row := func(x placed) indicatorRow {
		ir := r.Indicators[x.i]
		ind, _ := sc.Indicator(ir.Code)
		return indicatorRow{Code: ir.Code, Name: cmp.Or(ind.Name, ir.Code), Value: valueText(ind, ir.Raw.Value),
			Score: fmt.Sprintf("%.1f", ir.Score.Value), Percentile: fmt.Sprintf("%.0f", x.pct), Province: p.province(ind)}
	}
	slices.SortFunc(all, func(a, b placed) int {
		return cmp.Or(cmp.Compare(b.pct, a.pct), cmp.Compare(b.score, a.score), cmp.Compare(a.i, b.i))
	})
	for _, x := range all {
		if x.pct <= 50 || len(strengths) == k {
			break
		}
		strengths = append(strengths, row(x))
	}
	// The weakest first, breaking ties the other way round.
	slices.SortFunc(all, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.pct, b.pct), cmp.Compare(a.score, b.score), cmp.Compare(a.i, b.i))
	})
	for _, x := range all {
		if x.pct >= 50 || len(weaknesses) == k {
			break
		}
		weaknesses = append(weaknesses, row(x))
	}
	return strengths, weaknesses, len(all), few
}

// province is the typical value of an indicator among the regions that
// reported it: the share answering yes for a yes/no indicator, else the
// median. Over fewer than disclosure.MinRegionsForAggregate regions it is
// withheld: the median of three is another region's own value.
func (p percentiles) province(ind scheme.Indicator) string {
	raws := p.raws[ind.Code]
	if len(raws) == 0 {
		return "—"
	}
	if !disclosure.Enough(len(raws)) {
		return tooFew
	}
	if ind.Normalisation.Method == scheme.MethodBinary {
		yes := 0
		for _, x := range raws {
			if x >= 0.5 {
				yes++
			}
		}
		return "“是”占 " + share(yes, len(raws))
	}
	n := len(raws)
	med := raws[n/2]
	if n%2 == 0 {
		med = (raws[n/2-1] + raws[n/2]) / 2
	}
	return "中位数 " + valueText(ind, med)
}

// valueText is a reported value with its unit: 是/否 for a yes/no
// indicator, at most two decimals otherwise.
func valueText(ind scheme.Indicator, x float64) string {
	if ind.Normalisation.Method == scheme.MethodBinary {
		if x >= 0.5 {
			return "是"
		}
		return "否"
	}
	s := strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
	switch ind.Unit {
	case "", "是/否":
		return s
	case "%":
		return s + "%"
	}
	return s + " " + ind.Unit
}

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
