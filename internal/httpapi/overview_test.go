package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/surveys"
)

// TestOverviewPage shows the province overview to the people who may see
// it: a city official only once the cycle's run is published, and then
// the whole ranking and the regions' dimension scores; admins also the
// rank intervals of the sensitivity analysis and a way to compare runs.
// The charts travel as data, never as inline script, and hostile region
// names stay data.
func TestOverviewPage(t *testing.T) {
	f := newFixture(t)
	unpublished := f.scoringCycle()
	f.scoredRunOf(unpublished.ID, false)
	resp, _ := f.do(f.as("city", request("GET", "/cycles/"+unpublished.ID+"/overview", nil)))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a city official opens an unpublished overview: %d", resp.StatusCode)
	}
	if page := string(f.call("admin", "GET", "/cycles/"+unpublished.ID+"/overview", nil, http.StatusOK)); !strings.Contains(page, "未发布") {
		t.Fatalf("the admin's overview of an unpublished run does not say so")
	}

	g := f.gradedCycle()
	path := "/cycles/" + g.cycle.ID + "/overview"
	res := f.runResult(g.last)
	city := string(f.call("city", "GET", path, nil, http.StatusOK))
	admin := string(f.call("admin", "GET", path, nil, http.StatusOK))
	t.Run("city official", func(t *testing.T) {
		for _, want := range []string{`id="chart-map" data-option="{`, `id="chart-ranking" data-option="{`, `id="chart-heatmap" data-option="{`,
			`/static/vendor/echarts.min.js`, "太原市", "大同市&#34;&lt;/script&gt;&lt;script&gt;alert(&#39;region&#39;)&lt;/script&gt;"} {
			if !strings.Contains(city, want) {
				t.Errorf("the overview lacks %q", want)
			}
		}
		for _, unwanted := range []string{`id="chart-sensitivity"`, "/diff"} {
			if strings.Contains(city, unwanted) {
				t.Errorf("a city official's overview has %q", unwanted)
			}
		}
		wantNoScript(t, city)
		wantHeatmap(t, city, res)
	})
	t.Run("admin", func(t *testing.T) {
		wantNoScript(t, admin)
		wantHeatmap(t, admin, res)
		if !strings.Contains(admin, `href="/cycles/`+g.cycle.ID+`/diff?to=`+g.last+`"`) {
			t.Errorf("the admin's overview has no link to compare its run")
		}
		sens := decode[engine.SensitivityResult](t, f.call("admin", "GET", "/api/v1/runs/"+g.last+"/sensitivity", nil, http.StatusOK))
		var opt struct {
			XAxis  []struct{ Data []string } `json:"xAxis"`
			Series []struct {
				Type string
				Data []struct{ Value any }
			}
		}
		chartOption(t, admin, "chart-sensitivity", &opt)
		// The graded regions, by nominal rank: 太原市 first.
		if len(opt.XAxis) != 1 || !slices.Equal(opt.XAxis[0].Data, []string{"太原市", scriptRegion}) {
			t.Fatalf("regions of the rank intervals %+v", opt.XAxis)
		}
		if len(opt.Series) != 2 || opt.Series[0].Type != "boxplot" || opt.Series[1].Type != "scatter" {
			t.Fatalf("series %+v, want the intervals and the nominal ranks", opt.Series)
		}
		for i, code := range []string{"140100", "140200"} {
			i2 := slices.IndexFunc(sens.Regions, func(r engine.RegionSensitivity) bool { return r.Code == code })
			r := sens.Regions[i2]
			want := fmt.Sprint([]float64{float64(r.RankP5), float64(r.RankP5), float64(r.MedianRank), float64(r.RankP95), float64(r.RankP95)})
			if got := fmt.Sprint(opt.Series[0].Data[i].Value); got != want || r.RankedDraws == 0 {
				t.Errorf("interval of %s: %s, want %s from %d draws", code, got, want, r.RankedDraws)
			}
			if got := opt.Series[1].Data[i].Value; got != float64(r.NominalRank) {
				t.Errorf("nominal rank of %s: %v, want %d", code, got, r.NominalRank)
			}
		}
	})
	t.Run("language switch keeps the run", func(t *testing.T) {
		page := string(f.call("admin", "GET", path+"?run="+g.first, nil, http.StatusOK))
		if want := `href="` + path + `?lang=en&amp;run=` + g.first + `"`; !strings.Contains(page, want) {
			t.Errorf("the language switch is not %s", want)
		}
		en := string(f.call("admin", "GET", path+"?run="+g.first+"&lang=en", nil, http.StatusOK))
		if want := `href="` + path + `?lang=zh&amp;run=` + g.first + `"`; !strings.Contains(en, want) || !strings.Contains(en, "Province overview") {
			t.Errorf("the English page's switch is not %s", want)
		}
	})
}

// wantNoScript checks that a page runs no inline script and lets no
// hostile text out as markup.
func wantNoScript(t *testing.T, page string) {
	t.Helper()
	if strings.Count(page, "<script") != strings.Count(page, "<script src=") {
		t.Errorf("the page has an inline script")
	}
	if strings.Contains(page, "alert(") && regexp.MustCompile(`<script>alert|"</script>`).MatchString(page) {
		t.Errorf("hostile text is markup on the page")
	}
}

// wantHeatmap checks the heat map of an overview against the run's
// results: graded regions in rank order, the scheme's dimensions, and each
// region's dimension scores to one decimal.
func wantHeatmap(t *testing.T, page string, res engine.Result) {
	t.Helper()
	var opt struct {
		XAxis  []struct{ Data []string } `json:"xAxis"`
		YAxis  []struct{ Data []string } `json:"yAxis"`
		Series []struct {
			Type string
			Data []struct{ Value [3]float64 }
		}
	}
	chartOption(t, page, "chart-heatmap", &opt)
	if len(opt.XAxis) != 1 || !slices.Equal(opt.XAxis[0].Data, []string{"体系建设", "资源供给", "利用效能", "服务质量"}) {
		t.Fatalf("dimensions %+v", opt.XAxis)
	}
	var ranked []engine.RegionResult
	for _, r := range res.Regions {
		if r.Rank > 0 {
			ranked = append(ranked, r)
		}
	}
	slices.SortFunc(ranked, func(a, b engine.RegionResult) int { return a.Rank - b.Rank })
	if len(ranked) != 2 || len(opt.YAxis) != 1 || !slices.Equal(opt.YAxis[0].Data, []string{ranked[0].Name, ranked[1].Name}) {
		t.Fatalf("regions %+v, want %d graded ones in rank order", opt.YAxis, len(ranked))
	}
	got := map[[2]int]float64{}
	for _, c := range opt.Series[0].Data {
		got[[2]int{int(c.Value[0]), int(c.Value[1])}] = c.Value[2]
	}
	cells := 0
	for y, r := range ranked {
		for x, d := range r.Dimensions {
			if !d.Score.Valid {
				continue
			}
			cells++
			if want := math.Round(d.Score.Value*10) / 10; got[[2]int{x, y}] != want {
				t.Errorf("%s, dimension %s: %v, want %v", r.Code, d.Code, got[[2]int{x, y}], want)
			}
		}
	}
	if opt.Series[0].Type != "heatmap" || len(opt.Series[0].Data) != cells || cells != 8 {
		t.Errorf("%d cells, want %d: every dimension of both graded regions", len(opt.Series[0].Data), cells)
	}
}

// chartOption decodes the ECharts option of the page's chart id into v.
func chartOption(t *testing.T, page, id string, v any) {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `" data-option="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no chart %s", id)
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), v); err != nil {
		t.Fatalf("chart %s: %v", id, err)
	}
}

// runResult is a run's results as an admin reads them.
func (f *fixture) runResult(id string) engine.Result {
	f.t.Helper()
	return decode[struct{ Results engine.Result }](f.t, f.call("admin", "GET", "/api/v1/runs/"+id, nil, http.StatusOK)).Results
}

// TestRegionPage shows a region's dashboard to its own city official and
// to admins, and refuses another region's: its satisfaction index with
// the interval and item means against the province's, and the state of
// each of its values, hostile text escaped.
func TestRegionPage(t *testing.T) {
	f := newFixture(t)
	cy := f.surveyedCycle()
	page := string(f.call("city", "GET", "/cycles/"+cy.ID+"/regions/140100", nil, http.StatusOK))
	for _, want := range []string{`id="chart-radar" data-option="{`, `id="chart-contributions" data-option="{`, `id="chart-trend" data-option="{`, "评价说明"} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	resp, _ := f.do(f.as("city", request("GET", "/cycles/"+cy.ID+"/regions/140200", nil)))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a city official opens another region's dashboard: %d", resp.StatusCode)
	}
	f.call("admin", "GET", "/cycles/"+cy.ID+"/regions/140200", nil, http.StatusOK)
	resp, _ = f.do(f.as("admin", request("GET", "/cycles/"+cy.ID+"/regions/999999", nil)))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a region not in the run: %d", resp.StatusCode)
	}

	g := f.gradedCycle()
	path := "/cycles/" + g.cycle.ID + "/regions/"
	idx := decode[struct{ Items []surveys.RegionIndex }](t, f.call("admin", "GET", "/api/v1/cycles/"+g.cycle.ID+"/survey-indices", nil, http.StatusOK)).Items
	index := map[string]surveys.RegionIndex{}
	for _, ri := range idx {
		index[ri.RegionCode] = ri
	}
	own, other := index["140100"], index["140200"]
	if own.Mean == nil || other.Mean == nil || *own.Mean == *other.Mean {
		t.Fatalf("survey indices %+v, want two that differ", idx)
	}
	r1 := func(x float64) float64 { return math.Round(x*10) / 10 }
	city := string(f.call("city", "GET", path+"140100", nil, http.StatusOK))
	wantNoScript(t, city)

	// Two regions reported: the province mean would give the other's index
	// away to a city official (2×mean − own), so only admins see it.
	t.Run("satisfaction against the province", func(t *testing.T) {
		type satChart struct {
			XAxis  []struct{ Data []string } `json:"xAxis"`
			Series []struct {
				Type string
				Data []struct{ Value any }
			}
		}
		type itemChart struct {
			YAxis  []struct{ Data []string } `json:"yAxis"`
			Series []struct {
				Name string
				Data []struct{ Value any }
			}
		}
		admin := string(f.call("admin", "GET", path+"140100", nil, http.StatusOK))
		province := (*own.Mean + *other.Mean) / 2
		for _, c := range []struct {
			who, page string
			shown     bool
		}{{"city", city, false}, {"admin", admin, true}} {
			t.Run(c.who, func(t *testing.T) {
				var sat satChart
				chartOption(t, c.page, "chart-satisfaction", &sat)
				cats := []string{"太原市"}
				if c.shown {
					cats = append(cats, "全省平均")
				}
				if len(sat.Series) != 2 || sat.Series[0].Type != "bar" || sat.Series[1].Type != "boxplot" ||
					!slices.Equal(sat.XAxis[0].Data, cats) || len(sat.Series[0].Data) != len(cats) {
					t.Fatalf("satisfaction chart %+v, want bars %v", sat, cats)
				}
				if got := sat.Series[0].Data[0].Value; got != r1(*own.Mean) {
					t.Errorf("bar %v, want the index %v", got, r1(*own.Mean))
				}
				if c.shown && sat.Series[0].Data[1].Value != r1(province) {
					t.Errorf("province bar %v, want %v", sat.Series[0].Data[1].Value, r1(province))
				}
				m := r1(*own.Mean)
				if want := fmt.Sprint([]any{r1(*own.CILow), m, m, m, r1(*own.CIHigh)}); fmt.Sprint(sat.Series[1].Data[0].Value) != want {
					t.Errorf("error bar %v, want %s", sat.Series[1].Data[0].Value, want)
				}
				for _, want := range []string{fmt.Sprintf("%.1f", *own.Mean), fmt.Sprintf("[%.1f, %.1f]", *own.CILow, *own.CIHigh)} {
					if !strings.Contains(c.page, want) {
						t.Errorf("the dashboard does not show %s", want)
					}
				}
				if shows := strings.Contains(c.page, fmt.Sprintf("<dd>%.1f</dd>", province)); shows != c.shown {
					t.Errorf("the dashboard shows the province mean %.1f: %v, want %v", province, shows, c.shown)
				}
				if withheld := strings.Contains(c.page, "参与比较的地区不足"); withheld == c.shown {
					t.Errorf("the dashboard says too few regions compare: %v, want %v", withheld, !c.shown)
				}

				var items itemChart
				chartOption(t, c.page, "chart-items", &items)
				series := 1
				if c.shown {
					series = 2
				}
				if len(items.Series) != series || items.Series[0].Name != "太原市" || len(items.YAxis[0].Data) != len(own.Items) {
					t.Fatalf("item chart %+v, want %d series over %d items", items, series, len(own.Items))
				}
				for i, im := range own.Items {
					mine, theirs := *im.Mean, *other.Items[i].Mean
					if items.Series[0].Data[i].Value != r1(mine) {
						t.Errorf("item %s: %v, want %v", im.Code, items.Series[0].Data[i].Value, r1(mine))
					}
					if c.shown && items.Series[1].Data[i].Value != r1((mine+theirs)/2) {
						t.Errorf("item %s: province %v, want %v", im.Code, items.Series[1].Data[i].Value, r1((mine+theirs)/2))
					}
				}
			})
		}
	})

	t.Run("values and completeness", func(t *testing.T) {
		row := func(code string) string {
			m := regexp.MustCompile(`<tr data-code="` + code + `">(.*?)</tr>`).FindStringSubmatch(city)
			if m == nil {
				t.Fatalf("no row of %s", code)
			}
			return m[1]
		}
		for code, wants := range map[string][]string{
			"A2": {"<td>9</td>", "<td>个</td>", "地区填报", "已审核"},
			"D1": {"满意度调查", "已审核", fmt.Sprintf("<td>%.2f [%.2f, %.2f]</td>", *own.Mean, *own.CILow, *own.CIHigh)},
			"F1": {"<td>0</td>", "已审核", "预算&#34;&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;"},
		} {
			got := row(code)
			for _, want := range wants {
				if !strings.Contains(got, want) {
					t.Errorf("row %s = %s, lacks %s", code, got, want)
				}
			}
		}
		for _, want := range []string{"已审核 18 项，共 18 项适用指标", `href="/cycles/` + g.cycle.ID + `/collect?region=140100"`,
			"未安排资金&#34;&lt;/script&gt;&lt;script&gt;alert(&#39;rule&#39;)&lt;/script&gt;"} {
			if !strings.Contains(city, want) {
				t.Errorf("the dashboard lacks %s", want)
			}
		}
	})

	t.Run("hostile region name", func(t *testing.T) {
		page := string(f.call("admin", "GET", path+"140200", nil, http.StatusOK))
		wantNoScript(t, page)
		var sat struct {
			XAxis []struct{ Data []string } `json:"xAxis"`
		}
		chartOption(t, page, "chart-satisfaction", &sat)
		var items struct{ Series []struct{ Name string } }
		chartOption(t, page, "chart-items", &items)
		if sat.XAxis[0].Data[0] != scriptRegion || items.Series[0].Name != scriptRegion {
			t.Errorf("the charts name the region %q and %q, want it as data", sat.XAxis[0].Data[0], items.Series[0].Name)
		}
	})

	t.Run("English, keeping the run", func(t *testing.T) {
		page := string(f.call("city", "GET", path+"140100?run="+g.last+"&lang=en", nil, http.StatusOK))
		for _, want := range []string{"Satisfaction survey", "18 of 18 applicable indicators verified", `?lang=zh&amp;run=` + g.last} {
			if !strings.Contains(page, want) {
				t.Errorf("the English dashboard lacks %q", want)
			}
		}
	})

	t.Run("no survey", func(t *testing.T) {
		page := string(f.call("admin", "GET", path+"149900", nil, http.StatusOK))
		if strings.Contains(page, `id="chart-satisfaction"`) || !strings.Contains(page, "尚无本地区已验收的满意度调查结果") {
			t.Errorf("a region without a survey: the page does not say so")
		}
	})
}

// TestDiffPage compares two runs of a cycle for an admin: the region whose
// result changed and the input that did, both ways; city officials are
// refused, and a run of another cycle is not found.
func TestDiffPage(t *testing.T) {
	f := newFixture(t)
	g := f.gradedCycle()
	path := "/cycles/" + g.cycle.ID + "/diff"
	first, last := f.runResult(g.first), f.runResult(g.last)
	scoreOf := func(res engine.Result, code string) float64 {
		r, _ := res.Region(code)
		return r.Score.Value
	}
	change := math.Round((scoreOf(last, "140200")-scoreOf(first, "140200"))*10) / 10
	if change <= 0 {
		t.Fatalf("140200's score changed by %v, want a rise", change)
	}
	for _, tc := range []struct {
		name, query string
		from, to    string
		change      float64
	}{
		{"the published run against the one before", "", "4（已审核）", "9（已审核）", change},
		{"the other way round", "?from=" + g.last + "&to=" + g.first, "9（已审核）", "4（已审核）", -change},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := string(f.call("admin", "GET", path+tc.query, nil, http.StatusOK))
			wantNoScript(t, page)
			if !strings.Contains(page, `<tr data-code="140200">`) || strings.Contains(page, `<tr data-code="140100">`) {
				t.Errorf("changed regions: want 140200 alone")
			}
			inputs := regexp.MustCompile(`(?s)<table class="diff-inputs">.*?</table>`).FindString(page)
			if strings.Count(inputs, "<tr>") != 2 || !strings.Contains(inputs, "A2 信息公共服务网点数") ||
				!strings.Contains(inputs, "<td>"+tc.from+"</td><td>"+tc.to+"</td>") ||
				!strings.Contains(inputs, "大同市&#34;&lt;/script&gt;") {
				t.Errorf("changed inputs %s, want 140200's A2 from %s to %s", inputs, tc.from, tc.to)
			}
			var opt struct {
				XAxis  []struct{ Data []string } `json:"xAxis"`
				Series []struct{ Data []struct{ Value float64 } }
			}
			chartOption(t, page, "chart-diff", &opt)
			if !slices.Equal(opt.XAxis[0].Data, []string{scriptRegion}) || opt.Series[0].Data[0].Value != tc.change {
				t.Errorf("score changes %+v, want %s by %v", opt, scriptRegion, tc.change)
			}
		})
	}
	t.Run("refused and not found", func(t *testing.T) {
		resp, _ := f.do(f.as("city", request("GET", path, nil)))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a city official compares runs: %d", resp.StatusCode)
		}
		elsewhere := f.scoredRun(false)
		for _, q := range []string{"?from=" + elsewhere, "?to=" + elsewhere, "?to=no-such-run"} {
			resp, body := f.do(f.as("admin", request("GET", path+q, nil)))
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "本考核周期没有评价运行") {
				t.Errorf("%s: %d, want 404 naming the run", q, resp.StatusCode)
			}
		}
	})
	t.Run("a single run", func(t *testing.T) {
		page := string(f.call("admin", "GET", "/cycles/"+f.surveyedCycle().ID+"/diff", nil, http.StatusOK))
		if !strings.Contains(page, "只有一次评价运行") {
			t.Errorf("a cycle with one run: the page does not say there is nothing to compare")
		}
	})
}

// TestBrowserOverview opens the province overview and the region
// dashboard in Chromium as a city official, and the overview and a
// comparison of runs as an admin: every chart draws (its canvas has
// pixels), hostile names run no script, the page logs no error and asks
// nothing of any other host.
func TestBrowserOverview(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	g := f.gradedCycle()
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	city := browsertest.NewTab(t, browser, base)
	overview := "/cycles/" + g.cycle.ID + "/overview"
	city.Navigate(overview)
	if resp := city.SignIn("city", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("overview after sign-in: status %d", resp.Status)
	}
	city.WantLocation(overview)
	wantPainted(t, city, "overview.png", "map", "ranking", "grades", "heatmap")

	// The region's own dashboard draws its charts; another region's is refused.
	city.Navigate("/cycles/" + g.cycle.ID + "/regions/140100")
	wantPainted(t, city, "region.png", "radar", "contributions", "trend", "satisfaction", "items")
	if resp := city.Navigate("/cycles/" + g.cycle.ID + "/regions/140200"); resp.Status != http.StatusForbidden {
		t.Errorf("another region's dashboard in the browser: status %d, want 403", resp.Status)
	}

	admin := browsertest.NewTab(t, browser, base)
	admin.Navigate(overview)
	if resp := admin.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("overview after sign-in: status %d", resp.Status)
	}
	wantPainted(t, admin, "overview-admin.png", "map", "ranking", "grades", "heatmap", "sensitivity")
	admin.Navigate("/cycles/" + g.cycle.ID + "/diff")
	wantPainted(t, admin, "diff.png", "diff")
}

// wantPainted checks that the page has exactly the named charts
// (chart-NAME), in order, each drawn, and saves a screenshot.
func wantPainted(t *testing.T, tb *browsertest.Tab, shot string, names ...string) {
	t.Helper()
	counts := tb.PaintedCharts()
	ids, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-option]')).map(function (el) { return el.id; })`))
	if err != nil {
		t.Fatal(err)
	}
	tb.Screenshot(shot)
	want := make([]string, len(names))
	for i, n := range names {
		want[i] = "chart-" + n
	}
	if !slices.Equal(ids, want) || slices.Contains(counts, 0) {
		t.Errorf("%s: charts %v with painted pixels %v, want %v all drawn", shot, ids, counts, want)
	}
}

// Hostile text in the graded cycle: a region name, a value's note and a
// rule's message that would run if a page let them out of their place.
const (
	scriptRegion = `大同市"</script><script>alert('region')</script>`
	hostileNote  = `预算"<script>alert('note')</script>`
	hostileRule  = `未安排资金"</script><script>alert('rule')</script>`
)

// graded is a published cycle in which two regions are graded, with two
// runs: the first scored before 140200's A2 rose from 4 to 9, the second
// (published) after.
type graded struct {
	cycle       cycles.Cycle
	first, last string // run ids
}

// gradedCycle makes the graded cycle, once per fixture: 140100 (太原市)
// strong but with no funding (F1 = 0, so rule R1 caps it, under a rule
// message that is hostile), 140200 renamed to scriptRegion and weaker;
// every reported value verified, and a survey of both accepted, with
// samples of 3 and 2 so that their indices differ. 149900 reports nothing
// and is not graded.
func (f *fixture) gradedCycle() graded {
	f.t.Helper()
	if f.graded != nil {
		return *f.graded
	}
	ctx := context.Background()
	f.call("admin", "PUT", "/api/v1/regions/140200", map[string]any{"name": scriptRegion, "kind": "prefecture_city", "parent_code": "140000"}, http.StatusOK)
	sc := scheme.Default()
	for i := range sc.Rules {
		if sc.Rules[i].ID == "R1" {
			sc.Rules[i].Message = hostileRule
		}
	}
	cy := f.collectingCycleOf(sc)
	base := "/api/v1/cycles/" + cy.ID
	strong := map[string]float64{"A1": 1, "A2": 9, "A3": 7, "A4": 1, "A5": 9, "B1": 450, "B2": 18, "B3": 9, "B4": 9,
		"C1": 9, "C2": 5, "C3": 60, "C4": 98, "C5": 97, "D2": 98, "D3": 30, "F1": 0}
	var items []map[string]any
	for _, r := range []string{"140100", "140200"} {
		for code, x := range strong {
			switch {
			case r == "140200" && code == "A2":
				x = 4
			case r == "140200" && code == "F1":
				x = 200
			case r == "140200" && x > 1:
				x = math.Round(x * 0.6)
			}
			item := map[string]any{"region_code": r, "indicator_code": code, "number": x}
			if r == "140100" && code == "F1" {
				item["note"] = hostileNote
			}
			items = append(items, item)
		}
	}
	f.call("admin", "POST", base+"/values", map[string]any{"items": items}, http.StatusOK)
	for _, r := range []string{"140100", "140200"} {
		resp, b := f.do(f.as("admin", upload("POST", base+"/evidence", map[string]string{"region_code": r, "indicator_code": "F1"}, "file", "预算.pdf", f.uniquePDF())))
		if resp.StatusCode != http.StatusCreated {
			f.t.Fatalf("evidence of %s: %d %s", r, resp.StatusCode, b)
		}
		f.verifyAll(cy.ID, r)
	}
	project := f.surveyProject(cy.ID, f.org)
	rows := append(goodRows("140100", "a", 3), goodRows("140200", "b", 2)...)
	if b := f.surveyBatch("admin", project, "答卷.csv", surveyFile(rows...), nil); b.Status != surveys.BatchValid {
		f.t.Fatalf("survey batch is %s: %+v", b.Status, b.Problems)
	}
	f.call("admin", "POST", "/api/v1/survey-projects/"+project+"/submit", nil, http.StatusOK)
	f.call("admin", "POST", "/api/v1/survey-projects/"+project+"/accept", nil, http.StatusOK)

	g := graded{}
	if _, err := f.cycles.Transition(ctx, cy.ID, cycles.Scoring); err != nil {
		f.t.Fatal(err)
	}
	g.first = f.scoredRunOf(cy.ID, false)
	if _, err := f.cycles.Transition(ctx, cy.ID, cycles.Collecting); err != nil {
		f.t.Fatal(err)
	}
	a2 := f.storedValue(cy.ID, "140200", "A2")
	f.call("admin", "POST", base+"/values", map[string]any{"items": []map[string]any{
		{"region_code": "140200", "indicator_code": "A2", "number": 9, "version": a2.Version}}}, http.StatusOK)
	f.verifyAll(cy.ID, "140200")
	if _, err := f.cycles.Transition(ctx, cy.ID, cycles.Scoring); err != nil {
		f.t.Fatal(err)
	}
	// The first run's job stays queued in the fixture, so a second
	// request would answer with it: the second run is made in process.
	last, err := f.runs.RunNow(ctx, f.principal("admin"), cy.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.runs.Publish(ctx, f.principal("admin"), last.ID); err != nil {
		f.t.Fatal(err)
	}
	g.last = last.ID
	if g.cycle, err = f.cycles.Get(ctx, cy.ID); err != nil {
		f.t.Fatal(err)
	}
	f.graded = &g
	return g
}

// verifyAll submits a region's draft values, as an admin may, and
// verifies every submitted one.
func (f *fixture) verifyAll(cycleID, region string) {
	f.t.Helper()
	base := "/api/v1/cycles/" + cycleID
	f.call("admin", "POST", base+"/values/submit", map[string]any{"region_code": region}, http.StatusOK)
	list := decode[struct{ Items []indicators.Value }](f.t, f.call("admin", "GET", base+"/values?region="+region, nil, http.StatusOK))
	for _, v := range list.Items {
		if v.Status == indicators.StatusSubmitted {
			f.call("admin", "POST", base+"/values/"+v.ID+"/review", map[string]any{"verify": true, "version": v.Version}, http.StatusOK)
		}
	}
}

// storedValue is a region's value of an indicator, as an admin reads it.
func (f *fixture) storedValue(cycleID, region, code string) indicators.Value {
	f.t.Helper()
	list := decode[struct{ Items []indicators.Value }](f.t, f.call("admin", "GET", "/api/v1/cycles/"+cycleID+"/values?region="+region, nil, http.StatusOK))
	for _, v := range list.Items {
		if v.IndicatorCode == code {
			return v
		}
	}
	f.t.Fatalf("no value of %s for %s", code, region)
	return indicators.Value{}
}
