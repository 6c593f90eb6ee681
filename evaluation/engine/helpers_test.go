package engine

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions/kind"
)

func ptr(x float64) *float64 { return &x }

// verified is a verified value.
func verified(x float64) Value { return Value{Number: x, Status: StatusVerified} }

// standardGrades are the default bands: 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, 不合格.
func standardGrades() []scheme.Grade {
	return []scheme.Grade{
		{Code: "excellent", Name: "优秀", NameEn: "Excellent", Min: 90},
		{Code: "good", Name: "良好", NameEn: "Good", Min: 80},
		{Code: "pass", Name: "合格", NameEn: "Pass", Min: 60},
		{Code: "fail", Name: "不合格", NameEn: "Fail", Min: 0},
	}
}

// newScheme returns a valid scheme shell with the standard grades.
func newScheme(dims []scheme.Dimension, inds []scheme.Indicator) scheme.Scheme {
	for i := range dims {
		if dims[i].Name == "" {
			dims[i].Name, dims[i].NameEn = "维度"+dims[i].Code, "Dimension "+dims[i].Code
		}
	}
	for i := range inds {
		ind := &inds[i]
		if ind.Name == "" {
			ind.Name, ind.NameEn = "指标"+ind.Code, "Indicator "+ind.Code
		}
		if ind.Direction == "" {
			ind.Direction = scheme.DirectionUp
		}
		if ind.Missing == "" {
			ind.Missing = scheme.MissingReweight
		}
		if ind.Source == "" {
			ind.Source = scheme.SourceReported
		}
		if ind.Unit == "" {
			ind.Unit = "个"
		}
	}
	return scheme.Scheme{
		Code: "test", Version: 1, Name: "测试方案", NameEn: "Test scheme",
		CoverageThreshold: scheme.DefaultCoverageThreshold, Aggregation: scheme.AggregationArithmetic,
		Dimensions: dims, Indicators: inds, Grades: standardGrades(),
	}
}

// region returns a prefecture city with code.
func region(code string) Region {
	return Region{Code: code, Name: "地区" + code, Kind: kind.PrefectureCity}
}

func mustEvaluate(tb testing.TB, in Input, opt Options) Result {
	tb.Helper()
	res, err := Evaluate(in, opt)
	if err != nil {
		tb.Fatalf("Evaluate: %v", err)
	}
	// encoding/json refuses NaN and ±Inf, so this proves there are none.
	if _, err := json.Marshal(res); err != nil {
		tb.Fatalf("result does not encode (NaN or Inf?): %v", err)
	}
	return res
}

func mustRegion(tb testing.TB, res Result, code string) *RegionResult {
	tb.Helper()
	rr, ok := res.Region(code)
	if !ok {
		tb.Fatalf("no result for region %s", code)
	}
	return rr
}

func mustIndicator(tb testing.TB, rr *RegionResult, code string) *IndicatorResult {
	tb.Helper()
	for i := range rr.Indicators {
		if rr.Indicators[i].Code == code {
			return &rr.Indicators[i]
		}
	}
	tb.Fatalf("region %s: no indicator %s", rr.Code, code)
	return nil
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }

func assertNear(tb testing.TB, what string, got, want float64) {
	tb.Helper()
	if !near(got, want) {
		tb.Errorf("%s = %.15g, want %.15g", what, got, want)
	}
}

func assertContributions(tb testing.TB, rr *RegionResult) {
	tb.Helper()
	if !rr.Score.Valid {
		return
	}
	sum, wsum := 0.0, 0.0
	for _, ir := range rr.Indicators {
		sum += ir.Contribution
		wsum += ir.Weight
	}
	if math.Abs(sum-rr.Score.Value) > 1e-9 {
		tb.Errorf("region %s: contributions sum to %.15g, composite is %.15g", rr.Code, sum, rr.Score.Value)
	}
	if math.Abs(wsum-1) > 1e-9 {
		tb.Errorf("region %s: weights sum to %.15g, want 1", rr.Code, wsum)
	}
	dsum := 0.0
	for _, d := range rr.Dimensions {
		dsum += d.Contribution
	}
	if math.Abs(dsum-rr.Score.Value) > 1e-9 {
		tb.Errorf("region %s: dimension contributions sum to %.15g, composite is %.15g", rr.Code, dsum, rr.Score.Value)
	}
}

func posInf() float64 { return math.Inf(1) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
