package render

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/reports/static"
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
	// Standalone makes a document that opens from a file, as file mode
	// writes it: the style sheet inlined and no scripts, so its charts are
	// not drawn. The server's reports link both from /static/.
	Standalone bool
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
	Standalone                   bool
	Style                        template.CSS // the inlined style sheet of a standalone report
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
		Standalone: in.Standalone,
	}
	if in.Standalone {
		css, err := fs.ReadFile(static.FS(), ReportStyle)
		if err != nil {
			return v, fmt.Errorf("report style sheet: %w", err)
		}
		// The style sheet is the binary's own asset, not user data.
		v.Style = template.CSS(css)
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
