package engine

import (
	"fmt"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// outlierInput scores one minmax indicator over the given values, one
// region each (codes r00, r01, …), with outlier treatment on.
func outlierInput(xs []float64, method string) Input {
	s := newScheme([]scheme.Dimension{{Code: "X", Weight: 1}}, []scheme.Indicator{
		{Code: "I1", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: method}},
	})
	if method == scheme.MethodGoalposts {
		s.Indicators[0].Normalisation = scheme.Normalisation{Method: method, Lower: ptr(0), Upper: ptr(100)}
	}
	s.OutlierTreatment = true
	in := Input{Scheme: s, Values: map[string]map[string]Value{}}
	for i, x := range xs {
		code := fmt.Sprintf("r%02d", i)
		in.Regions = append(in.Regions, region(code))
		in.Values[code] = map[string]Value{"I1": verified(x)}
	}
	return in
}

func TestOutliersWinsorised(t *testing.T) {
	// 1…10, 30, 100: skewness 3.06, kurtosis 9.74. Winsorising one point
	// (100 → 30) brings them to 1.71 and 1.82.
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100}
	res := mustEvaluate(t, outlierInput(xs, scheme.MethodMinMax), Options{})
	tr := res.Indicators[0].Treatment
	if tr == nil || tr.Method != TreatmentWinsorise {
		t.Fatalf("treatment = %+v, want winsorise", tr)
	}
	assertNear(t, "skewness", tr.Skewness, 3.063241034239498)
	assertNear(t, "kurtosis", tr.Kurtosis, 9.74139083456914)
	assertNear(t, "skewness after", tr.SkewnessAfter, 1.7120380600890501)
	assertNear(t, "kurtosis after", tr.KurtosisAfter, 1.8157805377242031)
	if len(tr.Points) != 1 || tr.Points[0] != (TreatedPoint{Region: "r11", Raw: 100, Treated: 30}) {
		t.Errorf("points = %+v, want r11 100 → 30", tr.Points)
	}
	top := mustIndicator(t, mustRegion(t, res, "r11"), "I1")
	if !top.Treated || top.Treatment != TreatmentWinsorise || top.Raw.Value != 100 || top.Value.Value != 30 || top.Score.Value != 100 {
		t.Errorf("r11 = %+v", top)
	}
	// Without treatment 10 would score (10−1)/99·100 = 9.09; now (10−1)/29·100.
	assertNear(t, "r09 score", mustIndicator(t, mustRegion(t, res, "r09"), "I1").Score.Value, 31.03448275862069)
	for _, rr := range res.Regions {
		if ir := mustIndicator(t, &rr, "I1"); ir.Treated != (rr.Code == "r11") {
			t.Errorf("%s treated = %v", rr.Code, ir.Treated)
		}
	}
	// The scheme switch, and the option that overrides it.
	in := outlierInput(xs, scheme.MethodMinMax)
	if res := mustEvaluate(t, in, Options{Outliers: SwitchOff}); res.Indicators[0].Treatment != nil {
		t.Error("Outliers off: still treated")
	}
	in.Scheme.OutlierTreatment = false
	if res := mustEvaluate(t, in, Options{}); res.Indicators[0].Treatment != nil {
		t.Error("scheme without outlier treatment: still treated")
	}
	if res := mustEvaluate(t, in, Options{Outliers: SwitchOn}); res.Indicators[0].Treatment == nil {
		t.Error("Outliers on: not treated")
	}
}

func TestOutliersLogTransformedWhenWinsorisingFails(t *testing.T) {
	// Sixty 1s and 8, 16, …, 16384: five winsorised points still leave
	// skewness 2.86 and kurtosis 6.59, so the values are log-transformed
	// instead: ln(x − 1 + a), a = 1% of the range = 163.83.
	var xs []float64
	for range 60 {
		xs = append(xs, 1)
	}
	for i := 3; i < 15; i++ {
		xs = append(xs, float64(int(1)<<i))
	}
	res := mustEvaluate(t, outlierInput(xs, scheme.MethodMinMax), Options{})
	tr := res.Indicators[0].Treatment
	if tr == nil || tr.Method != TreatmentLog {
		t.Fatalf("treatment = %+v, want log", tr)
	}
	assertNear(t, "skewness after", tr.SkewnessAfter, 3.6280033673337133)
	assertNear(t, "kurtosis after", tr.KurtosisAfter, 12.975457372733999)
	if len(tr.Points) != len(xs) {
		t.Errorf("%d points recorded, want all %d (a log transform changes every value)", len(tr.Points), len(xs))
	}
	top := mustIndicator(t, mustRegion(t, res, "r71"), "I1")
	if !top.Treated || top.Treatment != TreatmentLog || top.Raw.Value != 16384 {
		t.Errorf("r71 = %+v", top)
	}
	assertNear(t, "r71 value", top.Value.Value, 9.713949821673431)
	// 8 on the log scale: (ln(7+a) − ln a)/(ln(16383+a) − ln a)·100
	assertNear(t, "r60 score", mustIndicator(t, mustRegion(t, res, "r60"), "I1").Score.Value, 0.9065766532881534)
}

func TestOutliersNeedTenRegions(t *testing.T) {
	xs := []float64{1, 1, 1, 1, 1, 1, 1, 1, 100} // nine regions
	res := mustEvaluate(t, outlierInput(xs, scheme.MethodZScore), Options{})
	if res.Indicators[0].Treatment != nil {
		t.Error("treated with fewer than 10 regions")
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Code != "outliers_too_few" || res.Warnings[0].Indicator != "I1" {
		t.Fatalf("warnings = %+v, want outliers_too_few for I1", res.Warnings)
	}
	if w := res.Warnings[0]; !contains(w.MessageEn, "goalposts") || !contains(w.Message, "目标值法") {
		t.Errorf("warning does not recommend goalposts: %+v", w)
	}
}

func TestOutliersLeaveAbsoluteNormalisationsAlone(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100}
	for _, method := range []string{scheme.MethodGoalposts, scheme.MethodRank} {
		res := mustEvaluate(t, outlierInput(xs, method), Options{})
		if res.Indicators[0].Treatment != nil || len(res.Warnings) != 0 {
			t.Errorf("%s: treatment %+v warnings %+v; only minmax and zscore are treated", method, res.Indicators[0].Treatment, res.Warnings)
		}
	}
}
