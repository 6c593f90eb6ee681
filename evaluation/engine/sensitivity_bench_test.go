package engine

import (
	"context"
	"testing"
)

// BenchmarkSensitivityNational runs the sensitivity analysis of the
// synthetic national input (3,000 regions × 60 indicators): 1,000 draws on
// every core (GOMAXPROCS workers). "weights" perturbs the weights only;
// "all" also swaps normalisations and the aggregation and toggles
// imputation; "survey" adds, to "all", a survey-sourced indicator whose
// value every draw takes from a confidence interval for every region (its
// column is normalised again in each draw). Run it with -benchtime 1x.
func BenchmarkSensitivityNational(b *testing.B) {
	const draws = 1000
	in := nationalInput(3000)
	p, err := Prepare(in)
	if err != nil {
		b.Fatal(err)
	}
	// A07 (scored by minmax, with outlier treatment) becomes a
	// satisfaction index from a survey, with a ±5 interval for every region
	// that has a value.
	sv := in
	sv.Scheme.Indicators = append(sv.Scheme.Indicators[:0:0], in.Scheme.Indicators...)
	intervals := map[string]map[string]Interval{}
	for j := range sv.Scheme.Indicators {
		if ind := &sv.Scheme.Indicators[j]; ind.Code == "A07" {
			ind.Source = "survey:satisfaction"
		}
	}
	for rc, vals := range in.Values {
		if v, ok := vals["A07"]; ok && !v.NotApplicable {
			intervals[rc] = map[string]Interval{"A07": {Lower: v.Number - 5, Upper: v.Number + 5}}
		}
	}
	ps, err := Prepare(sv)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    *Prepared
		opt  SensitivityOptions
	}{
		{"weights", p, SensitivityOptions{Draws: draws, Seed: 1}},
		{"all", p, SensitivityOptions{Draws: draws, Seed: 1, SwapNormalisation: true, SwapAggregation: true, ToggleImputation: true}},
		{"survey", ps, SensitivityOptions{Draws: draws, Seed: 1, SwapNormalisation: true, SwapAggregation: true, ToggleImputation: true,
			SurveyIntervals: intervals}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := c.p.Sensitivity(context.Background(), c.opt, nil)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Regions) != 3000 {
					b.Fatalf("%d regions", len(res.Regions))
				}
			}
			b.ReportMetric(float64(draws*b.N)/b.Elapsed().Seconds(), "draws/s")
		})
	}
}
