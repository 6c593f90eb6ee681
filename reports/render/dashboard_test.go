package render

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// TestDashboardOptions checks the region dashboard's charts: the radar
// against the province mean and the best region, contributions largest
// on top, the trend by year.
func TestDashboardOptions(t *testing.T) {
	num := func(x float64) engine.Number { return engine.Number{Value: x, Valid: true} }
	dims := func(a, b float64) []engine.DimensionResult {
		return []engine.DimensionResult{{Code: "A", Score: num(a)}, {Code: "B", Score: num(b)}}
	}
	res := result()
	res.Regions[0].Dimensions = dims(100, 90) // 太原市, rank 1
	res.Regions[1].Dimensions = dims(60, 80)  // 大同市, rank 2
	res.Regions[2].Dimensions = dims(0, 0)    // not graded: not in the mean
	sc := scheme.Scheme{Dimensions: []scheme.Dimension{{Code: "A", Name: "甲"}, {Code: "B", Name: "乙"}},
		Indicators: []scheme.Indicator{{Code: "X", Name: "某指标"}, {Code: "Y", Name: "另一指标"}}}

	b, err := RadarOption(sc, res, "140200")
	if err != nil {
		t.Fatal(err)
	}
	var radar struct {
		Series []struct {
			Name string
			Data []struct{ Value []float64 }
		}
	}
	if err := json.Unmarshal(b, &radar); err != nil {
		t.Fatal(err)
	}
	if len(radar.Series) != 3 || radar.Series[1].Data[0].Value[0] != 80 || radar.Series[1].Data[0].Value[1] != 85 ||
		radar.Series[2].Data[0].Value[0] != 100 {
		t.Fatalf("radar %s, want Datong, the mean (80, 85) and Taiyuan", b)
	}

	rr := engine.RegionResult{Indicators: []engine.IndicatorResult{
		{Code: "X", Scored: true, Weight: 0.5, Contribution: 10}, {Code: "Y", Scored: true, Weight: 0.5, Contribution: 30.456}}}
	b, err = ContributionsOption(sc, rr)
	if err != nil {
		t.Fatal(err)
	}
	var bars struct {
		YAxis  []struct{ Data []string } `json:"yAxis"`
		Series []struct {
			Data []struct{ Value float64 }
		}
	}
	if err := json.Unmarshal(b, &bars); err != nil {
		t.Fatal(err)
	}
	if len(bars.YAxis) != 1 || bars.YAxis[0].Data[1] != "Y 另一指标" || bars.Series[0].Data[1].Value != 30.46 {
		t.Fatalf("contributions %s, want Y last (on top) with 30.46", b)
	}

	b, err = TrendOption([]TrendPoint{{Year: 2024, Score: 91.04, Grade: "优秀"}, {Year: 2025, Score: 88, Grade: "良好"}})
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		XAxis []struct{ Data []string } `json:"xAxis"`
	}
	if err := json.Unmarshal(b, &line); err != nil || len(line.XAxis) != 1 || line.XAxis[0].Data[0] != "2024" {
		t.Fatalf("trend %s (%v)", b, err)
	}
}

// TestSatisfactionOption draws the index beside the province mean, both
// to one decimal, with the interval as an error bar on the region's bar;
// without a province mean the region stands alone.
func TestSatisfactionOption(t *testing.T) {
	province := 71.25
	b, err := SatisfactionOption(Satisfaction{Region: `太原"<script>`, Index: 77.777, Low: 75.061, High: 80.494, Province: &province})
	var opt struct {
		XAxis  []struct{ Data []string } `json:"xAxis"`
		Series []struct {
			Type string
			Data []struct{ Value any }
		}
	}
	decodeChart(t, b, err, &opt)
	if !slices.Equal(opt.XAxis[0].Data, []string{`太原"<script>`, "全省平均"}) || len(opt.Series) != 2 ||
		opt.Series[0].Type != "bar" || opt.Series[1].Type != "boxplot" {
		t.Fatalf("satisfaction chart %s", b)
	}
	if v := []any{opt.Series[0].Data[0].Value, opt.Series[0].Data[1].Value}; v[0] != 77.8 || v[1] != 71.3 {
		t.Errorf("bars %v, want 77.8 and 71.3", v)
	}
	if got := fmt.Sprint(opt.Series[1].Data[0].Value); got != "[75.1 77.8 77.8 77.8 80.5]" || len(opt.Series[1].Data) != 1 {
		t.Errorf("error bar %v, want from 75.1 to 80.5 through 77.8 on the region alone", opt.Series[1].Data)
	}

	b, err = SatisfactionOption(Satisfaction{Region: "大同市", Index: 60, Low: 50, High: 70})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &opt); err != nil || !slices.Equal(opt.XAxis[0].Data, []string{"大同市"}) {
		t.Fatalf("without a province mean: %s", b)
	}
}

// TestItemMeansOption lists the items in order from the top, the region's
// means beside the province's, a missing mean as a gap, and a long item
// shortened on the axis but whole in the data.
func TestItemMeansOption(t *testing.T) {
	a, b2, c := 91.666, 50.0, 70.04
	long := "总体而言，您对本地区的知识产权公共服务是否满意？"
	b, err := ItemMeansOption(`太原"<script>`, []ItemMean{{Label: "便利程度", Region: &a, Province: &c}, {Label: long, Region: nil, Province: &b2}})
	var opt struct {
		YAxis []struct {
			Data    []string
			Inverse bool
		} `json:"yAxis"`
		Series []struct {
			Name string
			Data []struct {
				Name  string
				Value any
			}
		}
	}
	decodeChart(t, b, err, &opt)
	short := string([]rune(long)[:itemLabelRunes-1]) + "…"
	if !opt.YAxis[0].Inverse || !slices.Equal(opt.YAxis[0].Data, []string{"便利程度", short}) {
		t.Fatalf("items %+v, want them in order from the top, the long one shortened", opt.YAxis)
	}
	if len(opt.Series) != 2 || opt.Series[0].Name != `太原"<script>` || opt.Series[1].Name != "全省平均" {
		t.Fatalf("series %s", b)
	}
	got := fmt.Sprint([]any{opt.Series[0].Data[0].Value, opt.Series[0].Data[1].Value, opt.Series[1].Data[0].Value, opt.Series[1].Data[1].Value})
	if got != "[91.7 - 70 50]" || opt.Series[0].Data[1].Name != long {
		t.Errorf("means %s (item %q), want 91.7, a gap, 70 and 50, the item named in full", got, opt.Series[0].Data[1].Name)
	}
}
