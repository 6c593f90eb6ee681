package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/ipeval/ipeval/evaluation"
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
func RankingOption(res evaluation.Result) ([]byte, error) {
	bands := gradeCodes(res)
	names := map[string]string{}
	for _, g := range res.Grades {
		names[g.Code] = g.Name
	}
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
func ranked(res evaluation.Result) []evaluation.RegionResult {
	out := make([]evaluation.RegionResult, 0, len(res.Regions))
	for _, r := range res.Regions {
		if r.Rank > 0 {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b evaluation.RegionResult) int { return a.Rank - b.Rank })
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
// are simply absent from it, and the ranking shows them.
func MapOption(res evaluation.Result) ([]byte, error) {
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
	m.MultiSeries = append(m.MultiSeries, charts.SingleSeries{Name: "综合得分", Type: types.ChartMap,
		MapType: ProvinceMap, Data: areas})
	return option(m)
}

// GradesOption is the distribution of final grades over the graded
// regions, as a pie in the grades' colours.
func GradesOption(res evaluation.Result) ([]byte, error) {
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
	pie.AddSeries("地区数", data)
	return option(pie)
}

// gradeCodes are the grade codes of res, best first.
func gradeCodes(res evaluation.Result) []string {
	out := make([]string, len(res.Grades))
	for i, g := range res.Grades {
		out[i] = g.Code
	}
	return out
}
