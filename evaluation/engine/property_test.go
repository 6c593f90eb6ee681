package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions/kind"
)

// randomInput builds a random valid scheme and data set: any normalisation,
// direction, missing policy and applicability, weights of zero included,
// heavy tails, unverified values, not-applicable marks and a capping rule.
func randomInput(rng *rand.Rand) Input {
	kinds := []kind.Kind{kind.PrefectureCity, kind.ReformZone, kind.County}
	methods := []string{scheme.MethodMinMax, scheme.MethodGoalposts, scheme.MethodDTF, scheme.MethodZScore, scheme.MethodRank, scheme.MethodBinary}
	policies := []string{scheme.MissingZero, scheme.MissingReweight, scheme.MissingGroupMean}
	var dims []scheme.Dimension
	var inds []scheme.Indicator
	for d := range 1 + rng.IntN(4) {
		w := float64(rng.IntN(4))
		if d == 0 {
			w++
		}
		code := fmt.Sprintf("D%d", d)
		dims = append(dims, scheme.Dimension{Code: code, Weight: w})
		for i := range 1 + rng.IntN(6) {
			ind := scheme.Indicator{Code: fmt.Sprintf("%s_%d", code, i), Dimension: code, Weight: float64(rng.IntN(4))}
			if i == 0 {
				ind.Weight++
			}
			ind.Normalisation.Method = methods[rng.IntN(len(methods))]
			switch ind.Normalisation.Method {
			case scheme.MethodGoalposts:
				lo := rng.Float64() * 30
				ind.Normalisation.Lower, ind.Normalisation.Upper = ptr(lo), ptr(lo+1+rng.Float64()*70)
			case scheme.MethodDTF:
				a, b := rng.Float64()*100, rng.Float64()*100
				if a == b {
					b++
				}
				ind.Normalisation.Worst, ind.Normalisation.Best = ptr(a), ptr(b)
			}
			if rng.IntN(2) == 0 {
				ind.Direction = scheme.DirectionDown
			}
			ind.Missing = policies[rng.IntN(len(policies))]
			if rng.IntN(4) == 0 {
				ind.AppliesTo = []kind.Kind{kinds[rng.IntN(len(kinds))]}
			}
			inds = append(inds, ind)
		}
	}
	inds = append(inds, scheme.Indicator{Code: "F1", Weight: 0})
	s := newScheme(dims, inds)
	s.Aggregation = []string{scheme.AggregationArithmetic, scheme.AggregationGeometric}[rng.IntN(2)]
	s.OutlierTreatment = rng.IntN(2) == 0
	s.CoverageThreshold = 0.3 + 0.6*rng.Float64()
	if rng.IntN(2) == 0 {
		s.Rules = []scheme.Rule{{ID: "R1", Basis: "四（三）", When: `kind == "prefecture_city" and (missing("F1") or F1 <= 0)`,
			Message: "未安排资金", Effects: []scheme.Effect{{Type: scheme.EffectCapGrade, Grade: "good"}, {Type: scheme.EffectAwardIneligible}}}}
	}
	in := Input{Scheme: s, Values: map[string]map[string]Value{}}
	for r := range 1 + rng.IntN(30) {
		code := fmt.Sprintf("%06d", 140000+r)
		reg := Region{Code: code, Kind: kinds[rng.IntN(len(kinds))]}
		if rng.IntN(3) == 0 {
			reg.Group = fmt.Sprintf("g%d", rng.IntN(3))
		}
		in.Regions = append(in.Regions, reg)
		vals := map[string]Value{}
		for _, ind := range s.Indicators {
			x := rng.Float64() * 100
			switch {
			case ind.Normalisation.Method == scheme.MethodBinary:
				x = float64(rng.IntN(2))
			case rng.IntN(10) == 0:
				x = math.Round(x * x * x) // heavy tail
			case rng.IntN(5) == 0:
				x = math.Round(x / 20) // ties
			}
			switch p := rng.IntN(20); {
			case p < 2: // missing
			case p < 3:
				vals[ind.Code] = Value{Number: x, Status: StatusSubmitted}
			case p < 4:
				vals[ind.Code] = Value{NotApplicable: true, Status: StatusVerified}
			default:
				vals[ind.Code] = verified(x)
			}
		}
		in.Values[code] = vals
	}
	return in
}

func TestPropertyRandomSchemes(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240601, 1))
	for i := range 400 {
		in := randomInput(rng)
		if err := in.Scheme.Validate(); err != nil {
			t.Fatalf("case %d: generator made an invalid scheme: %v", i, err)
		}
		res := mustEvaluate(t, in, Options{})
		checkInvariants(t, fmt.Sprintf("case %d", i), res)

		// Identical inputs, regions listed in another order: identical bytes.
		again := in
		again.Regions = slices.Clone(in.Regions)
		slices.Reverse(again.Regions)
		a, _ := json.Marshal(res)
		b, _ := json.Marshal(mustEvaluate(t, again, Options{}))
		if !bytes.Equal(a, b) {
			t.Fatalf("case %d: results differ between two evaluations of the same input", i)
		}
		// A stored result reads back to the same result.
		var back Result
		if err := json.Unmarshal(a, &back); err != nil {
			t.Fatalf("case %d: decode result: %v", i, err)
		}
		if c, _ := json.Marshal(back); !bytes.Equal(a, c) {
			t.Fatalf("case %d: result does not survive a JSON round trip", i)
		}
	}
}

func checkInvariants(t *testing.T, name string, res Result) {
	t.Helper()
	in100 := func(x float64) bool { return x >= 0 && x <= 100 }
	for k := range res.Regions {
		rr := &res.Regions[k]
		what := name + " region " + rr.Code
		switch rr.Status {
		case StatusNoWeight, StatusUnscorable:
			if rr.Score.Valid || rr.Grade != "" || rr.Rank != 0 || rr.Error == nil {
				t.Errorf("%s: %s with score %+v grade %q rank %d error %v", what, rr.Status, rr.Score, rr.Grade, rr.Rank, rr.Error)
			}
			continue
		case StatusInsufficientData:
			if rr.Grade != "" || rr.Rank != 0 || rr.Coverage >= res.CoverageThreshold {
				t.Errorf("%s: insufficient_data with grade %q rank %d coverage %v", what, rr.Grade, rr.Rank, rr.Coverage)
			}
		case StatusOK:
			if rr.Grade == "" || rr.Rank < 1 {
				t.Errorf("%s: ok without grade or rank", what)
			}
		default:
			t.Errorf("%s: status %q", what, rr.Status)
		}
		if !rr.Score.Valid || !in100(rr.Score.Value) {
			t.Errorf("%s: score %+v outside [0, 100]", what, rr.Score)
		}
		if rr.Coverage < 0 || rr.Coverage > 1 {
			t.Errorf("%s: coverage %v", what, rr.Coverage)
		}
		for _, ir := range rr.Indicators {
			if ir.Score.Valid && !in100(ir.Score.Value) {
				t.Errorf("%s %s: score %v outside [0, 100]", what, ir.Code, ir.Score.Value)
			}
			if ir.Weight > 0 && !ir.Score.Valid {
				t.Errorf("%s %s: weighted without a score", what, ir.Code)
			}
			if ir.NotApplicable && (ir.Weight != 0 || ir.Imputed) {
				t.Errorf("%s %s: not applicable but weighted or imputed", what, ir.Code)
			}
		}
		for _, d := range rr.Dimensions {
			if d.Score.Valid && !in100(d.Score.Value) {
				t.Errorf("%s %s: dimension score %v outside [0, 100]", what, d.Code, d.Score.Value)
			}
		}
		assertContributions(t, rr)
	}
}

func TestConcurrentEvaluations(t *testing.T) {
	p, err := Prepare(mixedInput(1, 40, scheme.AggregationArithmetic))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := p.Evaluate(Options{})
	wantJSON, _ := json.Marshal(want)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			opt := Options{}
			if i%2 == 1 {
				opt = Options{Aggregation: scheme.AggregationGeometric, IndicatorWeights: map[string]float64{"GP": 3}}
			}
			res, err := p.Evaluate(opt)
			if err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				got, _ := json.Marshal(res)
				if !bytes.Equal(got, wantJSON) {
					t.Error("concurrent evaluation differs")
				}
			}
		})
	}
	wg.Wait()
	// A Prepared is not changed by evaluating it.
	again, _ := p.Evaluate(Options{})
	if got, _ := json.Marshal(again); !bytes.Equal(got, wantJSON) {
		t.Error("evaluating changed the prepared input")
	}
}

func TestOptionsOverride(t *testing.T) {
	in := goldenInput(scheme.MethodGoalposts, scheme.AggregationArithmetic)
	p, err := Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("weights", func(t *testing.T) {
		res, err := p.Evaluate(Options{DimensionWeights: map[string]float64{"Y": 60}, IndicatorWeights: map[string]float64{"I1": 1}})
		if err != nil {
			t.Fatal(err)
		}
		// r1: X = (20+40)/2 = 30, Y = 45, composite (30+45)/2 = 37.5
		assertNear(t, "r1", mustRegion(t, res, "r1").Score.Value, 37.5)
	})
	t.Run("normalisation", func(t *testing.T) {
		norm := map[string]scheme.Normalisation{}
		for _, c := range []string{"I1", "I2", "I3", "I4"} {
			norm[c] = scheme.Normalisation{Method: scheme.MethodMinMax}
		}
		res, err := p.Evaluate(Options{Normalisation: norm})
		if err != nil {
			t.Fatal(err)
		}
		for i, code := range goldenRegions {
			assertNear(t, code, mustRegion(t, res, code).Score.Value, golden["minmax"].arithmetic.composite[i])
		}
	})
	t.Run("aggregation", func(t *testing.T) {
		res, err := p.Evaluate(Options{Aggregation: scheme.AggregationGeometric, NoPaths: true, NoExplanations: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, code := range goldenRegions {
			rr := mustRegion(t, res, code)
			assertNear(t, code, rr.Score.Value, golden["goalposts"].geometric.composite[i])
			if rr.Path != nil || len(rr.Explanation.Sentences) != 0 {
				t.Errorf("%s: path or explanation produced although switched off", code)
			}
		}
	})
}
