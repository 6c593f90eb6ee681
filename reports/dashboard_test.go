package reports

import (
	"encoding/json"
	"testing"

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// TestDashboardOptions checks the region dashboard's charts: the radar
// against the province mean and the best region, contributions largest
// on top, the trend by year.
func TestDashboardOptions(t *testing.T) {
	num := func(x float64) evaluation.Number { return evaluation.Number{Value: x, Valid: true} }
	dims := func(a, b float64) []evaluation.DimensionResult {
		return []evaluation.DimensionResult{{Code: "A", Score: num(a)}, {Code: "B", Score: num(b)}}
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

	rr := evaluation.RegionResult{Indicators: []evaluation.IndicatorResult{
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
