package render

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/disclosure"
	"github.com/ipeval/ipeval/regions/kind"
	"github.com/ipeval/ipeval/reports/static"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// reportRegions are the five regions of the small run: four prefecture
// cities and the demonstration zone, which the map does not draw.
var reportRegions = []engine.Region{
	{Code: "140100", Name: "太原市", Kind: kind.PrefectureCity},
	{Code: "140200", Name: "大同市", Kind: kind.PrefectureCity},
	{Code: "140300", Name: "阳泉市", Kind: kind.PrefectureCity},
	{Code: "140400", Name: "长治市", Kind: kind.PrefectureCity},
	{Code: "149900", Name: "山西转型综合改革示范区", Kind: kind.ReformZone},
}

// smallRun scores the five regions with the default scheme and the
// engine, with a sensitivity analysis: 太原市 is the strongest but
// allocated no funding (rule R1 caps its 优秀 at 良好), 长治市 reported too
// little to be graded, the others are spread out. names renames regions
// by code, for the escaping tests.
func smallRun(tb testing.TB, names map[string]string) ReportInput {
	tb.Helper()
	sc := scheme.Default()
	in := engine.Input{Scheme: sc, Values: map[string]map[string]engine.Value{}}
	strengths := map[string]float64{"140100": 0.97, "140200": 0.55, "140300": 0.75, "140400": 0.6, "149900": 0.85}
	for i, r := range reportRegions {
		if n, ok := names[r.Code]; ok {
			r.Name = n
		}
		in.Regions = append(in.Regions, r)
		vals := map[string]engine.Value{}
		for j, ind := range sc.Indicators {
			if r.Code == "140400" && j > 4 {
				break // too little data to be graded
			}
			// Each region has its own profile: strong on some
			// indicators, weak on others.
			base := strengths[r.Code]
			s := math.Min(1, math.Max(0, base+math.Min(0.25, 1.05-base)*math.Sin(float64(3*i+7*j))))
			x := valueFor(ind, s)
			if ind.Code == "F1" && r.Code == "140100" {
				x = 0
			}
			st := engine.StatusVerified
			if ind.SurveySourced() {
				st = ""
			}
			vals[ind.Code] = engine.Value{Number: x, Status: st}
		}
		in.Values[r.Code] = vals
	}
	res, sens := score(tb, in, engine.SensitivityOptions{Seed: 42, Draws: 200})
	published := time.Date(2026, 3, 31, 2, 0, 0, 0, time.UTC)
	return ReportInput{Scheme: sc, Result: res, Sensitivity: &sens,
		Cycle: ReportCycle{Year: 2025, Name: "2025年度知识产权公共服务考核评估"},
		Run: ReportRun{ID: "0195f0a0-0000-7000-8000-000000000001", CreatedAt: published.Add(-48 * time.Hour), PublishedAt: &published,
			InputsHash: strings.Repeat("ab", 32), ResultsHash: strings.Repeat("cd", 32)}}
}

// valueFor is a value of ind for a region of strength s in [0, 1].
func valueFor(ind scheme.Indicator, s float64) float64 {
	n := ind.Normalisation
	var x float64
	switch {
	case n.Method == scheme.MethodBinary:
		if s > 0.5 {
			return 1
		}
		return 0
	case ind.Code == "F1":
		return 50 + 400*s
	case n.Lower != nil && n.Upper != nil:
		x = *n.Lower + (*n.Upper-*n.Lower)*s
	default:
		x = 1 + 30*s
	}
	if ind.Integer {
		x = math.Round(x)
	}
	if ind.Max != nil {
		x = math.Min(x, *ind.Max)
	}
	return math.Round(x*100) / 100
}

func mustRender(tb testing.TB, in ReportInput) Report {
	tb.Helper()
	rep, err := RenderReport(in)
	if err != nil {
		tb.Fatal(err)
	}
	if err := rep.Layout.Check(len(rep.HTML)); err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestReportGolden renders the five-region run and compares it with the
// golden document (go test ./reports -run TestReportGolden -update
// rewrites it); the same input renders the same bytes.
func TestReportGolden(t *testing.T) {
	in := smallRun(t, nil)
	rep := mustRender(t, in)
	if again := mustRender(t, smallRun(t, nil)); !bytes.Equal(rep.HTML, again.HTML) {
		t.Fatal("the same run rendered twice gives different bytes")
	}
	golden := filepath.Join("testdata", "report5.html")
	if *update {
		if err := os.WriteFile(golden, rep.HTML, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(rep.HTML, want) {
		t.Errorf("the report differs from %s; if the change is intended, run with -update and review the diff", golden)
	}

	// What the run says, where the reader looks for it.
	res := in.Result
	ty, _ := res.Region("140100")
	cz, _ := res.Region("140400")
	if ty.Rank != 1 || ty.BandGrade != "excellent" || ty.Grade != "good" || cz.Rank != 0 {
		t.Fatalf("the small run is not what the test expects: 太原市 rank %d %s→%s, 长治市 rank %d", ty.Rank, ty.BandGrade, ty.Grade, cz.Rank)
	}
	html := string(rep.HTML)
	for _, want := range []string{
		"2025年度知识产权营商环境评价报告",
		"本次评价共涉及 5 个地区，其中 4 个地区评定了等次",
		"1 个地区因核实数据不足未评定等次",
		`<td>太原市</td><td class="n">` + fmt.Sprintf("%.1f", ty.Score.Value) + `</td><td>优秀</td><td>良好</td><td>R1</td>`,
		"按综合得分 " + fmt.Sprintf("%.1f", ty.Score.Value) + " 分，本地区处于“优秀”分数段；因触发规则 R1，最终等次确定为“良好”。",
		"政策依据：",
		`id="chart-map" data-option="{`,
		"阈值法（goalposts）",
		"（九）敏感性分析",
		"进行 200 次蒙特卡罗抽样",
		`<link rel="stylesheet" href="/static/report.css">`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if n := strings.Count(html, `<section class="page region"`); n != 5 || len(rep.Layout.Regions) != 5 {
		t.Errorf("%d region pages, %d in the layout; want 5", n, len(rep.Layout.Regions))
	}
	// Region pages by rank, ungraded last.
	if first, last := rep.Layout.Regions[0].Code, rep.Layout.Regions[4].Code; first != "140100" || last != "140400" {
		t.Errorf("region pages run from %s to %s, want 太原市 first and 长治市 last", first, last)
	}
}

// TestReportRegionEdition cuts a region's edition from the report: the
// front, that region's page alone, the back.
func TestReportRegionEdition(t *testing.T) {
	rep := mustRender(t, smallRun(t, nil))
	doc, ok, err := rep.Region("140200")
	if !ok || err != nil {
		t.Fatalf("no edition for 140200: %v", err)
	}
	s := string(doc)
	if !strings.HasPrefix(s, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(s), "</html>") {
		t.Fatal("the edition is not a whole document")
	}
	if !strings.Contains(s, `id="region-140200"`) || strings.Count(s, `<section class="page region"`) != 1 {
		t.Error("the edition does not hold exactly its region's page")
	}
	for _, other := range []string{"140100", "140300", "140400", "149900"} {
		if strings.Contains(s, `id="region-`+other+`"`) {
			t.Errorf("the edition of 140200 holds the page of %s", other)
		}
	}
	// The ranking and the appendix are there.
	if !strings.Contains(s, "二、排名与等次") || !strings.Contains(s, "附录 评价方法") || !strings.Contains(s, "<td>太原市</td>") {
		t.Error("the edition lacks the ranking or the appendix")
	}
	if _, ok, err := rep.Region("999999"); ok || err != nil {
		t.Errorf("an edition for a region not in the run: %v, %v", ok, err)
	}
	broken := rep
	broken.Layout.Back++
	if _, ok, err := broken.Region("140200"); ok || err == nil {
		t.Errorf("a layout that does not fit the document: ok %v, error %v; want an error", ok, err)
	}
}

// TestStrengthsAndWeaknesses picks a region's best and worst reported
// indicators by percentile among the regions, not by raw score: a score
// of 40 that beats everyone is a strength, a score of 90 that trails
// everyone a weakness. Among fewer than disclosure.MinRegionsForAggregate
// regions nothing is placed and no province figure is shown: a
// percentile among four is the others' order, the median of three one of
// their values.
func TestStrengthsAndWeaknesses(t *testing.T) {
	if disclosure.MinRegionsForAggregate != 5 {
		t.Fatalf("the table below is written for a threshold of 5, not %d", disclosure.MinRegionsForAggregate)
	}
	sc := scheme.Scheme{Indicators: []scheme.Indicator{
		{Code: "P", Name: "甲", Unit: "个"}, {Code: "Q", Name: "乙", Unit: "%"}, {Code: "R", Name: "丙", Unit: "亿元"},
		{Code: "S", Name: "丁", Unit: "个"}, {Code: "T", Name: "戊", Unit: "是/否", Normalisation: scheme.Normalisation{Method: scheme.MethodBinary}},
	}}
	ir := func(code string, score, raw float64) engine.IndicatorResult {
		return engine.IndicatorResult{Code: code, Scored: true, Observed: true, Weight: 0.2,
			Score: engine.Number{Value: score, Valid: true}, Raw: engine.Number{Value: raw, Valid: true}}
	}
	// Scores of the indicators P, Q, R, S, T for regions a (under test), b, c, d, f.
	table := map[string][5]float64{
		"a": {40, 90, 50, 70, 100},
		"b": {10, 95, 60, 70, 0},
		"c": {20, 99, 40, 70, 0},
		"d": {30, 97, 55, 70, 100},
		"f": {0, 100, 65, 70, 100},
	}
	result := func(codes ...string) engine.Result {
		var res engine.Result
		for _, code := range codes {
			r := engine.RegionResult{Code: code}
			for j, ind := range sc.Indicators {
				r.Indicators = append(r.Indicators, ir(ind.Code, table[code][j], table[code][j]/10))
			}
			res.Regions = append(res.Regions, r)
		}
		// An imputed value is never a strength, and is not among the peers.
		imputed := ir("Q", 100, 10)
		imputed.Observed, imputed.Imputed = false, true
		res.Regions = append(res.Regions, engine.RegionResult{Code: "e", Indicators: []engine.IndicatorResult{imputed}})
		return res
	}
	got := func(rows []indicatorRow) string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Code+"@"+r.Percentile)
		}
		return strings.Join(out, ",")
	}

	t.Run("four regions report", func(t *testing.T) {
		res := result("a", "b", "c", "d")
		p := newPercentiles(res)
		for i, r := range res.Regions[:4] {
			if s, w, n, few := p.strengthsAndWeaknesses(sc, r, 3); len(s) != 0 || len(w) != 0 || n != 0 || few != 5 {
				t.Errorf("region %d: strengths %s, weaknesses %s, %d compared, %d too few; want none placed, 5 too few", i, got(s), got(w), n, few)
			}
		}
		for _, ind := range sc.Indicators {
			if got := p.province(ind); got != tooFew {
				t.Errorf("%s: province figure %q over 4 regions, want %q", ind.Code, got, tooFew)
			}
		}
	})

	t.Run("five regions report", func(t *testing.T) {
		res := result("a", "b", "c", "d", "f")
		p := newPercentiles(res)
		s, w, n, few := p.strengthsAndWeaknesses(sc, res.Regions[0], 2)
		if n != 5 || few != 0 {
			t.Errorf("%d indicators compared, %d too few; want 5 and 0", n, few)
		}
		// P beats all four others (100); T ties d and f and beats b, c
		// (75); S ties all (50); R beats c only (25); Q trails all (0).
		if g := got(s); g != "P@100,T@75" {
			t.Errorf("strengths %s, want P@100,T@75", g)
		}
		if g := got(w); g != "Q@0,R@25" {
			t.Errorf("weaknesses %s, want Q@0,R@25", g)
		}
		if len(s) != 2 || len(w) != 2 {
			t.FailNow()
		}
		if s[0].Value != "4 个" || s[1].Value != "是" || w[0].Value != "9%" || w[1].Value != "5 亿元" {
			t.Errorf("values with units: %q %q %q %q", s[0].Value, s[1].Value, w[0].Value, w[1].Value)
		}
		if s[0].Province != "中位数 2 个" || s[1].Province != "“是”占 60%" {
			t.Errorf("province figures %q, %q", s[0].Province, s[1].Province)
		}
		// Only above the middle is a strength, only below it a weakness:
		// d's lowest, Q, R and S, sit at 50, so d has no weakness; c beats
		// most others only on Q, and ties only b on T (12.5, printed to
		// the even 12). Equal percentiles go to the better score.
		if s, w, _, _ := p.strengthsAndWeaknesses(sc, res.Regions[3], 3); got(s) != "T@75,P@75" || len(w) != 0 {
			t.Errorf("d: strengths %s, weaknesses %s; want no weakness", got(s), got(w))
		}
		if s, w, _, _ := p.strengthsAndWeaknesses(sc, res.Regions[2], 3); got(s) != "Q@75" || got(w) != "R@0,T@12" {
			t.Errorf("c: strengths %s, weaknesses %s", got(s), got(w))
		}
	})
}

// TestReportFewRegions renders a run in which fewer than
// disclosure.MinRegionsForAggregate regions reported anything: no region
// page places an indicator or shows a province median or share, and each
// says why.
func TestReportFewRegions(t *testing.T) {
	in := smallRun(t, nil)
	in.Result.Regions = in.Result.Regions[:disclosure.MinRegionsForAggregate-1]
	html := string(mustRender(t, in).HTML)
	if n := strings.Count(html, "参与比较的地区不足，不列优势指标"); n != len(in.Result.Regions) {
		t.Errorf("%d region pages say too few regions compare, want %d", n, len(in.Result.Regions))
	}
	for _, leak := range []string{"中位数 ", "“是”占", `<th class="n">百分位</th>`} {
		if strings.Contains(html, leak) {
			t.Errorf("the report of %d regions shows %q", len(in.Result.Regions), leak)
		}
	}
}

// TestReportEscapes renders hostile region names and rule texts as text:
// no markup of theirs reaches the document, nor the chart data.
func TestReportEscapes(t *testing.T) {
	hostile := `太原市"><script>alert('x')</script>`
	in := smallRun(t, map[string]string{"140100": hostile, "140200": `大同市' onmouseover='alert(1)`})
	in.Scheme.Rules[0].Message = `<script>alert("rule")</script>未安排资金`
	in.Scheme.Rules[0].Basis = `四（三）<img src=x onerror=alert(1)>`
	in.Cycle.Name = `<b>2025</b>`
	// The fired rule carries the message as the run recorded it.
	for i := range in.Result.Regions {
		for j := range in.Result.Regions[i].Rules {
			in.Result.Regions[i].Rules[j].Message = in.Scheme.Rules[0].Message
			in.Result.Regions[i].Rules[j].Basis = in.Scheme.Rules[0].Basis
		}
	}
	html := string(mustRender(t, in).HTML)
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>2025", `"><script`, `' onmouseover='`} {
		if strings.Contains(html, bad) {
			t.Errorf("the report carries %q unescaped", bad)
		}
	}
	if n, src := strings.Count(html, "<script"), strings.Count(html, "<script src="); n != src || n != 3 {
		t.Errorf("%d script tags, %d of them external; want the three chart scripts only", n, src)
	}
	if !strings.Contains(html, "太原市&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") {
		t.Error("the hostile name is not shown as text")
	}
	if !strings.Contains(html, "&lt;script&gt;alert(&#34;rule&#34;)&lt;/script&gt;未安排资金") {
		t.Error("the hostile rule message is not shown as text")
	}
}

// TestReportOffline checks that the report and its style sheet name no
// other host: every src and href is a path on the server itself.
func TestReportOffline(t *testing.T) {
	html := mustRender(t, smallRun(t, nil)).HTML
	css, err := fs.ReadFile(static.FS(), ReportStyle)
	if err != nil {
		t.Fatal(err)
	}
	outside := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(`)
	if m := outside.Find(css); m != nil {
		t.Errorf("report.css refers to %q", m)
	}
	refs := regexp.MustCompile(`(?i)\b(src|href)\s*=\s*"([^"]*)"`).FindAllSubmatch(html, -1)
	if len(refs) != 4 {
		t.Errorf("%d references, want the style sheet and three scripts", len(refs))
	}
	for _, m := range refs {
		if ref := string(m[2]); !strings.HasPrefix(ref, "/static/") || strings.HasPrefix(ref, "//") {
			t.Errorf("%s=%q is not a path on this server", m[1], ref)
		}
	}
	if m := regexp.MustCompile(`(?i)https?://`).Find(html); m != nil {
		t.Errorf("the report names a URL: %q", m)
	}
}

// TestReportPrintStyles checks the A4 print rules the document relies on.
func TestReportPrintStyles(t *testing.T) {
	css, err := fs.ReadFile(static.FS(), ReportStyle)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"@page { size: A4;", ".map-page, .region, .appendix, .ranking-page { break-before: page; }",
		"tr, .facts, .chart", "break-inside: avoid", "thead { display: table-header-group; }"} {
		if !strings.Contains(string(css), want) {
			t.Errorf("report.css lacks %q", want)
		}
	}
}

// TestReportWithoutSensitivity renders a run without an analysis, and one
// whose regions all lack data, without failing.
func TestReportWithoutSensitivity(t *testing.T) {
	in := smallRun(t, nil)
	in.Sensitivity = nil
	in.Run.PublishedAt = nil
	html := string(mustRender(t, in).HTML)
	if strings.Contains(html, "敏感性分析") || strings.Contains(html, "结果稳健性") {
		t.Error("a run without an analysis reports one")
	}
	if !strings.Contains(html, "未发布（草稿）") {
		t.Error("an unpublished run is not marked as a draft")
	}
	empty := ReportInput{Scheme: scheme.Default(), Cycle: ReportCycle{Year: 2025}}
	if _, err := RenderReport(empty); err != nil {
		t.Fatalf("an empty run: %v", err)
	}
}

// score evaluates in as a run does, with its sensitivity analysis.
func score(tb testing.TB, in engine.Input, so engine.SensitivityOptions) (engine.Result, engine.SensitivityResult) {
	tb.Helper()
	prep, err := engine.Prepare(in)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := prep.Evaluate(engine.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	sens, err := prep.Sensitivity(context.Background(), so, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return res, sens
}
