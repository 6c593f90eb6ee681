package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
)

func goalposts100() scheme.Normalisation {
	return scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: ptr(0), Upper: ptr(100)}
}

// threeIndicatorScheme: X = {I1, I2}, Y = {I3}, equal weights, goalposts
// 0–100 so that a value is its own score; I2 has the given missing policy.
func threeIndicatorScheme(policy string) scheme.Scheme {
	return newScheme(
		[]scheme.Dimension{{Code: "X", Weight: 1}, {Code: "Y", Weight: 1}},
		[]scheme.Indicator{
			{Code: "I1", Dimension: "X", Weight: 1, Normalisation: goalposts100()},
			{Code: "I2", Dimension: "X", Weight: 1, Normalisation: goalposts100(), Missing: policy},
			{Code: "I3", Dimension: "Y", Weight: 1, Normalisation: goalposts100()},
		})
}

func TestMissingPolicies(t *testing.T) {
	// Region a lacks I2. Its peers (prefecture cities) b and c report 40 and
	// 60; the reform zone d reports 100 and does not count.
	values := map[string]map[string]Value{
		"a": {"I1": verified(80), "I3": verified(70)},
		"b": {"I1": verified(50), "I2": verified(40), "I3": verified(50)},
		"c": {"I1": verified(50), "I2": verified(60), "I3": verified(50)},
		"d": {"I1": verified(50), "I2": verified(100), "I3": verified(50)},
	}
	regions := []Region{region("a"), region("b"), region("c"), {Code: "d", Kind: kind.ReformZone}}
	tests := []struct {
		policy     string
		imputed    bool
		score      Number
		value      Number
		weightI1   float64
		weightI2   float64
		composite  float64
		imputation Imputation
	}{
		// 0.5·(80+0)/2 + 0.5·70
		{scheme.MissingZero, true, num(0), Number{}, 0.25, 0.25, 55, ImputationZero},
		// 0.5·80 + 0.5·70: I1 takes the whole of X
		{scheme.MissingReweight, false, Number{}, Number{}, 0.5, 0, 75, ImputationReweight},
		// 0.5·(80+50)/2 + 0.5·70
		{scheme.MissingGroupMean, true, num(50), num(50), 0.25, 0.25, 67.5, ImputationGroupMean},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			in := Input{Scheme: threeIndicatorScheme(tt.policy), Regions: regions, Values: values}
			res := mustEvaluate(t, in, Options{})
			rr := mustRegion(t, res, "a")
			ir := mustIndicator(t, rr, "I2")
			if !ir.Missing || ir.Observed || ir.Imputed != tt.imputed || ir.Imputation != tt.imputation {
				t.Errorf("flags missing=%v observed=%v imputed=%v imputation=%q; want true false %v %q",
					ir.Missing, ir.Observed, ir.Imputed, ir.Imputation, tt.imputed, tt.imputation)
			}
			if ir.Score != tt.score || ir.Value != tt.value || ir.Raw.Valid {
				t.Errorf("score %+v value %+v raw %+v; want %+v %+v null", ir.Score, ir.Value, ir.Raw, tt.score, tt.value)
			}
			assertNear(t, "weight I1", mustIndicator(t, rr, "I1").Weight, tt.weightI1)
			assertNear(t, "weight I2", ir.Weight, tt.weightI2)
			assertNear(t, "composite", rr.Score.Value, tt.composite)
			assertContributions(t, rr)
			// Imputed or not, only I1 and I3 are verified: coverage 0.75.
			assertNear(t, "coverage", rr.Coverage, 0.75)
			if rr.Status != StatusOK {
				t.Errorf("status %s, want ok", rr.Status)
			}
			if tt.imputed {
				var sum IndicatorSummary
				for _, s := range res.Indicators {
					if s.Code == "I2" {
						sum = s
					}
				}
				if sum.Imputed != 1 || sum.Observed != 3 {
					t.Errorf("summary imputed %d observed %d, want 1 and 3", sum.Imputed, sum.Observed)
				}
			}
		})
	}
}

func TestNoImputationOptionReweights(t *testing.T) {
	in := Input{Scheme: threeIndicatorScheme(scheme.MissingZero), Regions: []Region{region("a")},
		Values: map[string]map[string]Value{"a": {"I1": verified(80), "I3": verified(70)}}}
	rr := mustRegion(t, mustEvaluate(t, in, Options{NoImputation: true}), "a")
	if ir := mustIndicator(t, rr, "I2"); ir.Imputed || ir.Imputation != ImputationReweight {
		t.Errorf("I2 imputed=%v imputation=%q; NoImputation must reweight", ir.Imputed, ir.Imputation)
	}
	assertNear(t, "composite", rr.Score.Value, 75)
}

func TestGroupMean(t *testing.T) {
	s := threeIndicatorScheme(scheme.MissingGroupMean)
	t.Run("group overrides kind", func(t *testing.T) {
		in := Input{Scheme: s,
			Regions: []Region{{Code: "a", Kind: kind.County, Group: "140100"}, {Code: "b", Kind: kind.County, Group: "140100"},
				{Code: "c", Kind: kind.County, Group: "140200"}},
			Values: map[string]map[string]Value{
				"a": {"I1": verified(10), "I3": verified(10)},
				"b": {"I1": verified(10), "I2": verified(30), "I3": verified(10)},
				"c": {"I1": verified(10), "I2": verified(90), "I3": verified(10)},
			}}
		ir := mustIndicator(t, mustRegion(t, mustEvaluate(t, in, Options{}), "a"), "I2")
		if !ir.Imputed || ir.Value.Value != 30 {
			t.Errorf("imputed %v value %v; want the mean of group 140100, 30", ir.Imputed, ir.Value)
		}
	})
	t.Run("no peer has a value", func(t *testing.T) {
		in := Input{Scheme: s, Regions: []Region{region("a"), {Code: "z", Kind: kind.ReformZone}},
			Values: map[string]map[string]Value{
				"a": {"I1": verified(80), "I3": verified(70)},
				"z": {"I1": verified(10), "I2": verified(90), "I3": verified(10)},
			}}
		rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
		ir := mustIndicator(t, rr, "I2")
		if ir.Imputed || ir.Imputation != ImputationReweight {
			t.Errorf("imputed %v imputation %q; with no peer value it falls back to reweight", ir.Imputed, ir.Imputation)
		}
		if len(rr.Warnings) != 1 || rr.Warnings[0].Code != "group_mean_unavailable" || rr.Warnings[0].Indicator != "I2" {
			t.Errorf("warnings = %+v, want group_mean_unavailable for I2", rr.Warnings)
		}
		assertNear(t, "composite", rr.Score.Value, 75)
	})
}

func TestUnverifiedValuesAreMissing(t *testing.T) {
	in := Input{Scheme: threeIndicatorScheme(scheme.MissingZero), Regions: []Region{region("a")},
		Values: map[string]map[string]Value{"a": {
			"I1": verified(80),
			"I2": {Number: 100, Status: StatusSubmitted},
			"I3": verified(70),
		}}}
	rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
	ir := mustIndicator(t, rr, "I2")
	if ir.Observed || !ir.Missing || ir.Unverified != StatusSubmitted || ir.Score.Value != 0 {
		t.Errorf("I2 %+v; a submitted value is missing (imputed as zero here)", ir)
	}
	if !strings.Contains(rr.Explanation.Text(LangZh), "I2 填报值未核实（已提交待审核），按 0 分计") {
		t.Errorf("explanation does not say why I2 was ignored:\n%s", rr.Explanation.Text(LangZh))
	}
}

func TestSurveyValuesCountWithoutReview(t *testing.T) {
	s := threeIndicatorScheme(scheme.MissingZero)
	s.Indicators[1].Source = "survey:satisfaction"
	in := Input{Scheme: s, Regions: []Region{region("a")},
		Values: map[string]map[string]Value{"a": {"I1": verified(80), "I2": {Number: 60}, "I3": verified(70)}}}
	rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
	if ir := mustIndicator(t, rr, "I2"); !ir.Observed || ir.Score.Value != 60 {
		t.Errorf("survey-sourced I2: %+v; a given survey index counts", ir)
	}
	assertNear(t, "coverage", rr.Coverage, 1)
}

func TestNotApplicableRedistributes(t *testing.T) {
	s := threeIndicatorScheme(scheme.MissingZero)
	s.Indicators[1].AppliesTo = []kind.Kind{kind.PilotPark}
	tests := []struct {
		name   string
		scheme scheme.Scheme
		i2     Value
	}{
		{"by kind", s, verified(0)}, // the value is ignored: I2 does not apply to cities
		{"verified mark", threeIndicatorScheme(scheme.MissingZero), Value{NotApplicable: true, Status: StatusVerified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Scheme: tt.scheme, Regions: []Region{region("a")},
				Values: map[string]map[string]Value{"a": {"I1": verified(80), "I2": tt.i2, "I3": verified(70)}}}
			rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
			ir := mustIndicator(t, rr, "I2")
			if !ir.NotApplicable || ir.Imputed || ir.Missing || ir.Weight != 0 || ir.Score.Valid {
				t.Errorf("I2 %+v; not applicable is never imputed and carries no weight", ir)
			}
			assertNear(t, "weight I1", mustIndicator(t, rr, "I1").Weight, 0.5)
			assertNear(t, "composite", rr.Score.Value, 75)
			assertNear(t, "coverage", rr.Coverage, 1) // not applicable is not owed
		})
	}
	t.Run("unverified mark is missing", func(t *testing.T) {
		in := Input{Scheme: threeIndicatorScheme(scheme.MissingZero), Regions: []Region{region("a")},
			Values: map[string]map[string]Value{"a": {"I1": verified(80), "I2": {NotApplicable: true, Status: StatusDraft}, "I3": verified(70)}}}
		ir := mustIndicator(t, mustRegion(t, mustEvaluate(t, in, Options{}), "a"), "I2")
		if ir.NotApplicable || !ir.Imputed || ir.Unverified != StatusDraft {
			t.Errorf("I2 %+v; an unreviewed not-applicable claim is missing", ir)
		}
	})
}

func TestWholeDimensionMissingMovesItsWeight(t *testing.T) {
	in := Input{Scheme: threeIndicatorScheme(scheme.MissingReweight), Regions: []Region{region("a")},
		Values: map[string]map[string]Value{"a": {"I1": verified(80), "I2": verified(60)}}}
	in.Scheme.CoverageThreshold = 0.5
	rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
	if rr.Dimensions[1].Score.Valid || rr.Dimensions[1].Weight != 0 || rr.Dimensions[0].Weight != 1 {
		t.Errorf("dimensions %+v; Y has nothing left, so X takes its weight", rr.Dimensions)
	}
	assertNear(t, "composite", rr.Score.Value, 70)
	assertNear(t, "coverage", rr.Coverage, 0.5)
	assertContributions(t, rr)
}

func TestInsufficientData(t *testing.T) {
	// Four equal indicators in one dimension; threshold 0.65.
	s := newScheme([]scheme.Dimension{{Code: "X", Weight: 1}}, []scheme.Indicator{
		{Code: "I1", Dimension: "X", Weight: 1, Normalisation: goalposts100(), Missing: scheme.MissingZero},
		{Code: "I2", Dimension: "X", Weight: 1, Normalisation: goalposts100(), Missing: scheme.MissingZero},
		{Code: "I3", Dimension: "X", Weight: 1, Normalisation: goalposts100()},
		{Code: "I4", Dimension: "X", Weight: 1, Normalisation: goalposts100(), AppliesTo: []kind.Kind{kind.PrefectureCity}},
	})
	in := Input{Scheme: s, Regions: []Region{region("full"), region("half"), {Code: "zone", Kind: kind.ReformZone}},
		Values: map[string]map[string]Value{
			"full": {"I1": verified(90), "I2": verified(90), "I3": verified(90), "I4": verified(90)},
			"half": {"I3": verified(100), "I4": verified(100)}, // 2 of 4 verified
			"zone": {"I1": verified(100), "I2": verified(100)}, // I4 n/a: 2 of 3 verified
		}}
	res := mustEvaluate(t, in, Options{})
	half := mustRegion(t, res, "half")
	assertNear(t, "half coverage", half.Coverage, 0.5)
	if half.Status != StatusInsufficientData || half.Grade != "" || half.BandGrade != "" || half.Rank != 0 || half.Path != nil {
		t.Errorf("half: status %s grade %q rank %d path %v; want insufficient_data, no grade, no rank", half.Status, half.Grade, half.Rank, half.Path)
	}
	if !half.Score.Valid {
		t.Error("half: the score is still reported, for information")
	}
	assertNear(t, "half score", half.Score.Value, 50) // (0+0+100+100)/4
	if !strings.Contains(half.Explanation.Text(LangZh), "低于方案要求的 65.0%") {
		t.Errorf("explanation:\n%s", half.Explanation.Text(LangZh))
	}
	zone := mustRegion(t, res, "zone")
	assertNear(t, "zone coverage", zone.Coverage, 2.0/3)
	// I3 is missing and reweighted, I4 does not apply: (100+100)/2.
	if zone.Status != StatusOK || zone.Grade != "excellent" || zone.Rank != 1 {
		t.Errorf("zone: status %s grade %s rank %d; want ok, excellent, rank 1", zone.Status, zone.Grade, zone.Rank)
	}
	if full := mustRegion(t, res, "full"); full.Rank != 2 || full.Grade != "excellent" {
		t.Errorf("full: rank %d grade %s", full.Rank, full.Grade)
	}
}

func TestNoWeightIsAPerRegionError(t *testing.T) {
	s := threeIndicatorScheme(scheme.MissingReweight)
	for i := range s.Indicators {
		s.Indicators[i].AppliesTo = []kind.Kind{kind.PrefectureCity}
	}
	in := Input{Scheme: s, Regions: []Region{region("a"), {Code: "county", Kind: kind.County}, region("empty")},
		Values: map[string]map[string]Value{"a": {"I1": verified(80), "I2": verified(60), "I3": verified(70)}}}
	res := mustEvaluate(t, in, Options{})
	for _, code := range []string{"county", "empty"} {
		rr := mustRegion(t, res, code)
		if rr.Status != StatusNoWeight || rr.Error == nil || rr.Error.Code != "no_weight" || rr.Score.Valid || rr.Grade != "" || rr.Rank != 0 {
			t.Errorf("%s: status %s error %+v score %+v grade %q; want a no_weight error and nothing else", code, rr.Status, rr.Error, rr.Score, rr.Grade)
		}
		for _, ir := range rr.Indicators {
			if ir.Weight != 0 || ir.Contribution != 0 {
				t.Errorf("%s %s: weight %v contribution %v", code, ir.Code, ir.Weight, ir.Contribution)
			}
		}
	}
	if rr := mustRegion(t, res, "a"); rr.Status != StatusOK || rr.Rank != 1 {
		t.Errorf("a: status %s rank %d; the other regions are unaffected", rr.Status, rr.Rank)
	}
	if msg := mustRegion(t, res, "county").Error.MessageEn; !strings.Contains(msg, "no weighted indicator of the scheme applies") {
		t.Errorf("county error %q", msg)
	}
	t.Run("all weights overridden to zero", func(t *testing.T) {
		res := mustEvaluate(t, in, Options{DimensionWeights: map[string]float64{"X": 0, "Y": 0}})
		for _, rr := range res.Regions {
			if rr.Status != StatusNoWeight {
				t.Errorf("%s: status %s, want no_weight", rr.Code, rr.Status)
			}
		}
	})
}

func TestMinMaxAllEqualScores100(t *testing.T) {
	s := newScheme([]scheme.Dimension{{Code: "X", Weight: 1}}, []scheme.Indicator{
		{Code: "I1", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodMinMax}},
		{Code: "I2", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodZScore}},
		{Code: "I3", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodRank}},
	})
	in := Input{Scheme: s, Values: map[string]map[string]Value{}}
	for _, c := range []string{"a", "b", "c"} {
		in.Regions = append(in.Regions, region(c))
		in.Values[c] = map[string]Value{"I1": verified(7), "I2": verified(7), "I3": verified(7)}
	}
	res := mustEvaluate(t, in, Options{})
	for _, rr := range res.Regions {
		// minmax: 100 by convention; zscore: z = 0 → 50; rank: all tied → 50.
		want := map[string]float64{"I1": 100, "I2": 50, "I3": 50}
		for _, ir := range rr.Indicators {
			if ir.Score.Value != want[ir.Code] {
				t.Errorf("%s %s score %v, want %v", rr.Code, ir.Code, ir.Score.Value, want[ir.Code])
			}
		}
		if rr.Rank != 1 {
			t.Errorf("%s rank %d, want 1 (all tied)", rr.Code, rr.Rank)
		}
	}
	t.Run("single region", func(t *testing.T) {
		in := Input{Scheme: s, Regions: []Region{region("a")}, Values: map[string]map[string]Value{"a": {"I1": verified(3), "I2": verified(3), "I3": verified(3)}}}
		rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
		assertNear(t, "composite", rr.Score.Value, (100+50+100)/3.0)
	})
}

func TestGeometricWithAZeroScore(t *testing.T) {
	in := Input{Scheme: threeIndicatorScheme(scheme.MissingZero), Regions: []Region{region("a")},
		Values: map[string]map[string]Value{"a": {"I1": verified(100), "I2": verified(0), "I3": verified(100)}}}
	in.Scheme.Aggregation = scheme.AggregationGeometric
	rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
	// X = √(101·1) − 1 = 9.04988, composite = √(10.04988·101) − 1 = 30.85965
	assertNear(t, "X", rr.Dimensions[0].Score.Value, 9.049875621120892)
	assertNear(t, "composite", rr.Score.Value, 30.859652191026974)
	assertContributions(t, rr)
	// The zero pulls the composite down by more than its weight's worth.
	if c := mustIndicator(t, rr, "I2").Contribution; c >= 0 {
		t.Errorf("I2 contribution %v, want negative", c)
	}
	arith := mustRegion(t, mustEvaluate(t, in, Options{Aggregation: scheme.AggregationArithmetic}), "a")
	assertNear(t, "arithmetic composite", arith.Score.Value, 75)
}

func TestBadInput(t *testing.T) {
	s := threeIndicatorScheme(scheme.MissingZero)
	tests := []struct {
		name  string
		in    Input
		field string
	}{
		{"unknown region", Input{Scheme: s, Regions: []Region{region("a")}, Values: map[string]map[string]Value{"b": {"I1": verified(1)}}}, "values[b]"},
		{"unknown indicator", Input{Scheme: s, Regions: []Region{region("a")}, Values: map[string]map[string]Value{"a": {"Q": verified(1)}}}, "values[a][Q]"},
		{"not finite", Input{Scheme: s, Regions: []Region{region("a")}, Values: map[string]map[string]Value{"a": {"I1": verified(posInf())}}}, "values[a][I1]"},
		{"duplicate region", Input{Scheme: s, Regions: []Region{region("a"), region("a")}}, "regions[a]"},
		{"unknown kind", Input{Scheme: s, Regions: []Region{{Code: "a", Kind: "city"}}}, "regions[a].kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(tt.in, Options{})
			var ve *fault.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, fault.ErrBadRequest) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if ve.Errors[0].Field != tt.field {
				t.Errorf("field %q, want %q", ve.Errors[0].Field, tt.field)
			}
		})
	}
	t.Run("invalid scheme", func(t *testing.T) {
		bad := s
		bad.Grades = nil
		if _, err := Evaluate(Input{Scheme: bad}, Options{}); !errors.Is(err, fault.ErrBadRequest) {
			t.Errorf("err = %v, want a validation error", err)
		}
	})
	t.Run("invalid options", func(t *testing.T) {
		in := Input{Scheme: s, Regions: []Region{region("a")}}
		for name, opt := range map[string]Options{
			"aggregation":  {Aggregation: "median"},
			"weight":       {IndicatorWeights: map[string]float64{"I1": -1}},
			"unknown":      {DimensionWeights: map[string]float64{"Z": 1}},
			"method":       {Normalisation: map[string]scheme.Normalisation{"I1": {Method: "log"}}},
			"bounds":       {Normalisation: map[string]scheme.Normalisation{"I1": {Method: scheme.MethodGoalposts, Lower: ptr(5), Upper: ptr(5)}}},
			"outlier mode": {Outliers: "maybe"},
		} {
			if _, err := Evaluate(in, opt); !errors.Is(err, fault.ErrBadRequest) {
				t.Errorf("%s: err = %v, want a validation error", name, err)
			}
		}
	})
}
