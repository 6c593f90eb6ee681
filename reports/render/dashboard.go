package render

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// RadarOption compares a region's dimension scores with the province mean
// over graded regions and with the best-ranked region.
func RadarOption(sc scheme.Scheme, res engine.Result, code string, extra ...charts.GlobalOpts) ([]byte, error) {
	rr, ok := res.Region(code)
	if !ok {
		return nil, fmt.Errorf("radar: no region %s in the run", code)
	}
	nd := len(sc.Dimensions)
	axes := make([]*opts.Indicator, nd)
	for d, dim := range sc.Dimensions {
		axes[d] = &opts.Indicator{Name: dim.Name, Max: 100}
	}
	var best *engine.RegionResult
	for i := range res.Regions {
		r := &res.Regions[i]
		if r.Rank > 0 && (best == nil || r.Rank < best.Rank) {
			best = r
		}
	}
	mean := make([]float64, nd)
	for d, m := range dimensionMeans(sc, res) {
		if m.Valid {
			mean[d] = round1(m.Value)
		}
	}
	radar := charts.NewRadar()
	radar.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "各维度得分", Subtitle: "Dimension scores"}),
		charts.WithRadarComponentOpts(opts.RadarComponent{Indicator: axes}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
	)
	radar.SetGlobalOptions(extra...)
	radar.AddSeries(rr.Name, []opts.RadarData{{Name: rr.Name, Value: dimScores(rr, nd)}})
	radar.AddSeries("全省平均", []opts.RadarData{{Name: "全省平均", Value: mean}})
	if best != nil && best.Code != rr.Code {
		radar.AddSeries("第一名："+best.Name, []opts.RadarData{{Name: best.Name, Value: dimScores(best, nd)}})
	}
	return option(radar)
}

func dimScores(r *engine.RegionResult, nd int) []float64 {
	out := make([]float64, nd)
	for d, dr := range r.Dimensions {
		if d < nd && dr.Score.Valid {
			out[d] = round1(dr.Score.Value)
		}
	}
	return out
}

// ContributionsOption shows how many points of the composite each scored
// indicator of a region contributes, largest first.
func ContributionsOption(sc scheme.Scheme, rr engine.RegionResult) ([]byte, error) {
	name := map[string]string{}
	for _, ind := range sc.Indicators {
		name[ind.Code] = ind.Code + " " + ind.Name
	}
	type item struct {
		label string
		value float64
	}
	var items []item
	for _, ir := range rr.Indicators {
		if ir.Scored && ir.Weight > 0 {
			items = append(items, item{name[ir.Code], ir.Contribution})
		}
	}
	// Ascending, so that a horizontal bar chart shows the largest on top.
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.value, b.value) })
	labels := make([]string, len(items))
	data := make([]opts.BarData, len(items))
	for i, it := range items {
		labels[i], data[i] = it.label, opts.BarData{Value: round2(it.value)}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "指标贡献（分）", Subtitle: "Points contributed to the composite"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithGridOpts(opts.Grid{Left: "30%"}),
	)
	bar.SetXAxis(labels).AddSeries("贡献", data)
	bar.XYReversal()
	return option(bar)
}

// TrendPoint is a region's result in one published cycle.
type TrendPoint struct {
	Year  int
	Score float64
	Grade string // the grade's name
}

// TrendOption is a region's composite score across cycles, each point
// labelled with its grade.
func TrendOption(points []TrendPoint) ([]byte, error) {
	years := make([]string, len(points))
	data := make([]opts.LineData, len(points))
	for i, p := range points {
		years[i] = fmt.Sprint(p.Year)
		data[i] = opts.LineData{Name: p.Grade, Value: round1(p.Score)}
	}
	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "历年综合得分", Subtitle: "Composite score by year"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithYAxisOpts(opts.YAxis{Min: 0, Max: 100}),
	)
	line.SetXAxis(years).AddSeries("综合得分", data)
	return option(line)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// Satisfaction is a region's satisfaction index with its 95% confidence
// interval, and the province mean to hold it against (nil when there is
// none).
type Satisfaction struct {
	Region           string
	Index, Low, High float64
	Province         *float64
}

// SatisfactionOption is a region's satisfaction index as a bar with its
// confidence interval as an error bar, beside the province mean.
func SatisfactionOption(s Satisfaction) ([]byte, error) {
	cats := []string{s.Region}
	bars := []opts.BarData{{Name: s.Region, Value: round1(s.Index), ItemStyle: &opts.ItemStyle{Color: gradeColours[1]}}}
	if s.Province != nil {
		cats = append(cats, "全省平均")
		bars = append(bars, opts.BarData{Name: "全省平均", Value: round1(*s.Province), ItemStyle: &opts.ItemStyle{Color: "#8c959f"}})
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "满意度指数", Subtitle: "Satisfaction index, 95% confidence interval"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Min: 0, Max: 100}),
	)
	bar.SetXAxis(cats).AddSeries("满意度指数", bars, charts.WithBarChartOpts(opts.BarChart{BarWidth: "40%"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: gradeColours[1]}))
	// A box collapsed onto the index, with whiskers to the interval's
	// bounds, draws as an error bar.
	ci := charts.NewBoxPlot()
	ci.AddSeries("95%置信区间", []opts.BoxPlotData{{Name: s.Region,
		Value: []float64{round1(s.Low), round1(s.Index), round1(s.Index), round1(s.Index), round1(s.High)}}},
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "#1f2933", BorderColor: "#1f2933", BorderWidth: 2}))
	bar.Overlap(ci)
	return option(bar)
}

// ItemMean is one questionnaire item: the region's mean and the province
// mean, nil where there is none.
type ItemMean struct {
	Label            string
	Region, Province *float64
}

// itemLabelRunes is how much of a questionnaire item the item chart's
// axis shows.
const itemLabelRunes = 16

// shorten cuts s to n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// ItemMeansOption is the mean score of each questionnaire item, the
// region's beside the province's, items in questionnaire order from the
// top.
func ItemMeansOption(region string, items []ItemMean) ([]byte, error) {
	labels := make([]string, len(items))
	own := make([]opts.BarData, len(items))
	province := make([]opts.BarData, len(items))
	value := func(x *float64) any {
		if x == nil {
			return "-"
		}
		return round1(*x)
	}
	for i, it := range items {
		// Items are whole questions: the axis shows their start, the
		// tooltip (the data's name) all of it.
		labels[i] = shorten(it.Label, itemLabelRunes)
		own[i] = opts.BarData{Name: it.Label, Value: value(it.Region)}
		province[i] = opts.BarData{Name: it.Label, Value: value(it.Province)}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: "各题项得分", Subtitle: "Item means"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "2%", Right: "6%", Bottom: "50", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Min: 0, Max: 100}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: opts.Bool(true)}),
	)
	bar.SetXAxis(labels).AddSeries(region, own, charts.WithItemStyleOpts(opts.ItemStyle{Color: gradeColours[1]}))
	// Province means withheld from the reader (too few regions) leave no
	// empty series behind.
	if slices.ContainsFunc(items, func(it ItemMean) bool { return it.Province != nil }) {
		bar.AddSeries("全省平均", province, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#8c959f"}))
	}
	bar.XYReversal()
	return option(bar)
}
