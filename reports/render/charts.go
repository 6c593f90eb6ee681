package render

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// gradeColours are the colours of the default bands, best first; a band
// beyond them is grey.
var gradeColours = []string{"#1a7f37", "#2f81f7", "#d29922", "#cf222e"}

// colourOf is the colour of grade code g among bands (best first).
func colourOf(bands []string, g string) string {
	for i, b := range bands {
		if b == g && i < len(gradeColours) {
			return gradeColours[i]
		}
	}
	return "#8c959f"
}

// option encodes a go-echarts chart as its ECharts option. The JSON is
// HTML-escaped (a region named "</script>" stays data), because pages
// carry it in a data block that the page's own script hands to ECharts:
// no inline script runs, as the pages' Content-Security-Policy requires.
func option(c interface {
	Validate()
	JSON() map[string]interface{}
}) ([]byte, error) {
	c.Validate()
	b, err := json.Marshal(c.JSON())
	if err != nil {
		return nil, fmt.Errorf("encode chart: %w", err)
	}
	return b, nil
}

// RankingOption is the ranking bar chart of a run: graded regions by
// composite score, best first, each bar in its final grade's colour and a
// capped region's bar marked with the grade it would have had.
func RankingOption(res engine.Result) ([]byte, error) {
	bands := gradeCodes(res)
	names := scheme.GradeNames(res.Grades, false)
	var regions []string
	var data []opts.BarData
	for _, r := range ranked(res) {
		label := names[r.Grade]
		if r.BandGrade != r.Grade {
			label = fmt.Sprintf("%s（封顶，原为%s）", names[r.Grade], names[r.BandGrade])
		}
		regions = append(regions, r.Name)
		data = append(data, opts.BarData{Name: label, Value: round1(r.Score.Value),
			ItemStyle: &opts.ItemStyle{Color: colourOf(bands, r.Grade)}})
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "综合得分排名", Subtitle: "Composite score ranking"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithYAxisOpts(opts.YAxis{Min: 0, Max: 100}),
	)
	bar.SetXAxis(regions).AddSeries("综合得分", data)
	return option(bar)
}

// ranked lists the graded regions of res by rank, best first.
func ranked(res engine.Result) []engine.RegionResult {
	out := res.Ranked()
	if i := slices.IndexFunc(out, func(r engine.RegionResult) bool { return r.Rank == 0 }); i >= 0 {
		out = out[:i]
	}
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// ProvinceMap names the map of the province the default regions lie in,
// as the vendored map file registers it.
const ProvinceMap = "山西"

// mapArea is a region on the map: its score as value, its area in its
// final grade's colour.
type mapArea struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	ItemStyle struct {
		AreaColor string `json:"areaColor"`
	} `json:"itemStyle"`
}

// MapOption is the map of the province with each graded region in its
// final grade's colour and its score in the tooltip. Regions are matched
// to the map by name (太原市); those the map does not draw (zones, parks)
// are simply absent from it, and the ranking shows them. Extra options
// (such as charts.WithAnimation) apply after the map's own.
func MapOption(res engine.Result, extra ...charts.GlobalOpts) ([]byte, error) {
	bands := gradeCodes(res)
	var areas []mapArea
	for _, r := range ranked(res) {
		a := mapArea{Name: r.Name, Value: round1(r.Score.Value)}
		a.ItemStyle.AreaColor = colourOf(bands, r.Grade)
		areas = append(areas, a)
	}
	m := charts.NewMap()
	m.RegisterMapType(ProvinceMap)
	m.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "各地区考核等次", Subtitle: "Grades by region"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Formatter: "{b}：{c}"}),
	)
	m.SetGlobalOptions(extra...)
	m.MultiSeries = append(m.MultiSeries, charts.SingleSeries{Name: "综合得分", Type: types.ChartMap,
		MapType: ProvinceMap, Data: areas})
	return option(m)
}

// GradesOption is the distribution of final grades over the graded
// regions, as a pie in the grades' colours. Extra options apply after the
// pie's own.
func GradesOption(res engine.Result, extra ...charts.GlobalOpts) ([]byte, error) {
	bands := gradeCodes(res)
	count := map[string]int{}
	for _, r := range ranked(res) {
		count[r.Grade]++
	}
	var data []opts.PieData
	for _, g := range res.Grades {
		data = append(data, opts.PieData{Name: g.Name, Value: count[g.Code],
			ItemStyle: &opts.ItemStyle{Color: colourOf(bands, g.Code)}})
	}
	pie := charts.NewPie()
	pie.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "等次分布", Subtitle: "Grade distribution"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
	)
	pie.SetGlobalOptions(extra...)
	pie.AddSeries("地区数", data)
	return option(pie)
}

// gradeCodes are the grade codes of res, best first.
func gradeCodes(res engine.Result) []string {
	out := make([]string, len(res.Grades))
	for i, g := range res.Grades {
		out[i] = g.Code
	}
	return out
}

// HeatmapOption is the regions × dimensions heat map of a run: every
// graded region's dimension scores, regions in rank order from the top,
// dimensions in scheme order. A dimension a region could not be scored in
// is an empty cell.
func HeatmapOption(sc scheme.Scheme, res engine.Result) ([]byte, error) {
	dims := make([]string, len(sc.Dimensions))
	col := make(map[string]int, len(sc.Dimensions))
	for i, d := range sc.Dimensions {
		dims[i], col[d.Code] = d.Name, i
	}
	rs := ranked(res)
	names := make([]string, len(rs))
	cells := []opts.HeatMapData{}
	for y, r := range rs {
		names[y] = r.Name
		for _, dr := range r.Dimensions {
			if x, ok := col[dr.Code]; ok && dr.Score.Valid {
				cells = append(cells, opts.HeatMapData{Value: [3]any{x, y, round1(dr.Score.Value)}})
			}
		}
	}
	hm := charts.NewHeatMap()
	hm.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "各地区分维度得分", Subtitle: "Dimension scores by region"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithGridOpts(opts.Grid{Left: "20%", Right: "4%", Top: "60", Bottom: "70"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: dims, SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: names, Inverse: opts.Bool(true),
			SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
		charts.WithVisualMapOpts(opts.VisualMap{Min: 0, Max: 100, Calculable: opts.Bool(true), Orient: "horizontal",
			Left: "center", Bottom: "0", InRange: &opts.VisualMapInRange{Color: []string{"#cf222e", "#f2cc60", "#1a7f37"}}}),
	)
	hm.AddSeries("维度得分", cells, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true)}))
	return option(hm)
}

// SensitivityOption shows how firmly each region holds its rank: over the
// draws of the run's sensitivity analysis, a box from the 5th to the 95th
// percentile of its rank with a line at the median, and a dot at its
// nominal rank. Rank 1 is at the top; regions never ranked in any draw
// are left out.
func SensitivityOption(sens engine.SensitivityResult) ([]byte, error) {
	rs := make([]engine.RegionSensitivity, 0, len(sens.Regions))
	for _, r := range sens.Regions {
		if r.RankedDraws > 0 {
			rs = append(rs, r)
		}
	}
	// Nominally ranked regions first, best first; then by median rank.
	slices.SortStableFunc(rs, func(a, b engine.RegionSensitivity) int {
		if (a.NominalRank == 0) != (b.NominalRank == 0) {
			return cmp.Compare(b.NominalRank, a.NominalRank) // the unranked (0) last
		}
		return cmp.Or(cmp.Compare(a.NominalRank, b.NominalRank), cmp.Compare(a.MedianRank, b.MedianRank))
	})
	names := make([]string, len(rs))
	boxes := make([]opts.BoxPlotData, len(rs))
	nominal := make([]opts.ScatterData, len(rs))
	worst := 1
	for i, r := range rs {
		names[i] = r.Name
		boxes[i] = opts.BoxPlotData{Name: r.Name, Value: []int{r.RankP5, r.RankP5, r.MedianRank, r.RankP95, r.RankP95}}
		nominal[i] = opts.ScatterData{Name: r.Name, Value: "-"}
		if r.NominalRank > 0 {
			nominal[i].Value = r.NominalRank
		}
		worst = max(worst, r.RankP95, r.NominalRank)
	}
	box := charts.NewBoxPlot()
	box.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "排名稳定性（5%–95%区间与中位数）", Subtitle: "Rank intervals: 5th–95th percentile and median"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "8%", Right: "4%", Top: "80", Bottom: "90"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", AxisLabel: &opts.AxisLabel{Rotate: 30}}),
		// Half a rank of room at either end, so that a region that holds
		// the first or last rank does not sit on the frame; only whole
		// ranks are labelled.
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "名次", NameLocation: "start", Inverse: opts.Bool(true),
			Min: 0.5, Max: float64(worst) + 0.5, MinInterval: 1,
			AxisLabel: &opts.AxisLabel{ShowMinLabel: opts.Bool(false), ShowMaxLabel: opts.Bool(false)}}),
	)
	box.SetXAxis(names).AddSeries("排名区间", boxes,
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "#dbe9fb", BorderColor: "#2f81f7"}))
	dots := charts.NewScatter()
	dots.AddSeries("名义排名", nominal, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#b3261e"}))
	box.Overlap(dots)
	return option(box)
}

// ScoreChange is a region's composite score in two runs.
type ScoreChange struct {
	Name     string
	From, To float64
}

// ScoreChangesOption is the change of each region's composite score from
// one run to another, as bars: gains green, losses red.
func ScoreChangesOption(changes []ScoreChange) ([]byte, error) {
	names := make([]string, len(changes))
	data := make([]opts.BarData, len(changes))
	for i, c := range changes {
		d := round1(c.To - c.From)
		colour := gradeColours[0]
		if d < 0 {
			colour = gradeColours[3]
		}
		names[i] = c.Name
		data[i] = opts.BarData{Name: c.Name, Value: d, ItemStyle: &opts.ItemStyle{Color: colour}}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "综合得分变化", Subtitle: "Change of the composite score"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", AxisLabel: &opts.AxisLabel{Rotate: 30}}),
		charts.WithGridOpts(opts.Grid{Bottom: "90"}),
	)
	bar.SetXAxis(names).AddSeries("变化", data)
	return option(bar)
}
