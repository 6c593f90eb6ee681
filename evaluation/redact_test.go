package evaluation

import (
	"slices"
	"testing"

	"github.com/ipeval/ipeval/evaluation/engine"
)

// TestDropOthers: what a city official receives of the province-wide parts
// of a run names no other region: no raw value that outlier treatment
// changed, no warning about another region.
func TestDropOthers(t *testing.T) {
	points := []engine.TreatedPoint{{Region: "140100", Raw: 9, Treated: 8}, {Region: "140200", Raw: 99, Treated: 20}}
	res := engine.Result{
		Indicators: []engine.IndicatorSummary{
			{Code: "A1", Min: engine.Number{Value: 1, Valid: true}, Treatment: &engine.Treatment{Method: engine.TreatmentLog, Points: points}},
			{Code: "A2"},
		},
		Warnings: []engine.Warning{
			{Code: "outliers_too_few", Indicator: "A1"},
			{Code: "group_mean_unavailable", Region: "140200", Indicator: "A2"},
			{Code: "group_mean_unavailable", Region: "140100", Indicator: "A2"},
		},
	}
	dropOthers(&res, func(code string) bool { return code == "140100" })

	if got := res.Indicators[0].Treatment.Points; len(got) != 1 || got[0].Region != "140100" {
		t.Errorf("treated points %+v, want 140100's alone", got)
	}
	if !res.Indicators[0].Min.Valid || res.Indicators[0].Treatment.Method != engine.TreatmentLog {
		t.Errorf("province statistics lost: %+v", res.Indicators[0])
	}
	var codes []string
	for _, w := range res.Warnings {
		codes = append(codes, w.Code+":"+w.Region)
	}
	if want := []string{"outliers_too_few:", "group_mean_unavailable:140100"}; !slices.Equal(codes, want) {
		t.Errorf("warnings %v, want %v", codes, want)
	}
	if points[1].Region != "140200" {
		t.Error("dropOthers changed the caller's slice of points")
	}
}
