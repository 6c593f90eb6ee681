package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// extremeValues are the finite numbers most likely to overflow: the largest
// and smallest floats, subnormals, negative zero, and the values at and
// just beyond the bound every entry path enforces.
var extremeValues = []float64{
	math.MaxFloat64, -math.MaxFloat64, 1e308, -1e308, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
	math.Copysign(0, -1), 0, 1, scheme.MaxMagnitude, -scheme.MaxMagnitude,
	math.Nextafter(scheme.MaxMagnitude, math.Inf(1)), 1e-300, 1e15 - 1,
}

// extremeInput is a scheme with indicator X scored by method, every other
// indicator ordinary, and one region per extreme value of X. Where method
// has bounds they sit at ±scheme.MaxMagnitude, the widest a scheme may
// have, and X's own range is open, as B1's is.
func extremeInput(method, agg string, outliers bool) Input {
	x := scheme.Indicator{Code: "X", Dimension: "D0", Weight: 2, Missing: scheme.MissingGroupMean}
	x.Normalisation.Method = method
	switch method {
	case scheme.MethodGoalposts:
		x.Normalisation.Lower, x.Normalisation.Upper = ptr(-scheme.MaxMagnitude), ptr(scheme.MaxMagnitude)
	case scheme.MethodDTF:
		x.Normalisation.Worst, x.Normalisation.Best = ptr(scheme.MaxMagnitude), ptr(-scheme.MaxMagnitude)
	}
	y := scheme.Indicator{Code: "Y", Dimension: "D1", Weight: 1, Min: ptr(-scheme.MaxMagnitude), Max: ptr(scheme.MaxMagnitude)}
	y.Normalisation.Method = scheme.MethodZScore
	s := newScheme([]scheme.Dimension{{Code: "D0", Weight: 1}, {Code: "D1", Weight: scheme.MaxMagnitude}},
		[]scheme.Indicator{x, y, {Code: "F1", Weight: 0}})
	s.Aggregation, s.OutlierTreatment = agg, outliers
	s.Rules = []scheme.Rule{
		{ID: "R1", When: `X >= 1e15 or X <= -1e15 or missing("X")`, Message: "极值", Effects: []scheme.Effect{{Type: scheme.EffectCapGrade, Grade: "good"}}},
		{ID: "R2", When: `Y * 1e300 * 1e300 > 0 or F1 / 0 > 1`, Message: "溢出", Effects: []scheme.Effect{{Type: scheme.EffectAwardIneligible}}},
	}
	in := Input{Scheme: s, Values: map[string]map[string]Value{}}
	n := 0
	add := func(vals map[string]Value) {
		code := fmt.Sprintf("R%02d", n)
		n++
		in.Regions = append(in.Regions, region(code))
		in.Values[code] = vals
	}
	for k, v := range extremeValues {
		if method == scheme.MethodBinary && v != 0 && v != 1 && !(math.Abs(v) > scheme.MaxMagnitude) {
			continue // refused as not binary: a bad input, not a poison one
		}
		yv := extremeValues[(k+3)%len(extremeValues)]
		if math.Abs(yv) > scheme.MaxMagnitude {
			yv = scheme.MaxMagnitude // Y's own bound
		}
		add(map[string]Value{"X": verified(v), "Y": verified(yv), "F1": verified(v)})
	}
	// Ordinary regions, so that outlier treatment has enough values, and
	// one with X missing for group-mean imputation.
	for k := range 12 {
		add(map[string]Value{"X": verified(float64(k % 2)), "Y": verified(float64(k))})
	}
	add(map[string]Value{"Y": verified(scheme.MaxMagnitude)})
	return in
}

// TestProbe01ExtremeNumbers drives extreme finite numbers through every
// normalisation, both aggregations, outlier treatment on and off, rules
// that overflow, the paths and the sensitivity analysis: nothing
// non-finite comes out, every result encodes, and a region whose value
// cannot be scored is unscorable with a problem naming the indicator.
func TestProbe01ExtremeNumbers(t *testing.T) {
	methods := []string{scheme.MethodMinMax, scheme.MethodGoalposts, scheme.MethodDTF, scheme.MethodZScore, scheme.MethodRank, scheme.MethodBinary}
	for _, method := range methods {
		for _, agg := range []string{scheme.AggregationArithmetic, scheme.AggregationGeometric} {
			for _, outliers := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/outliers=%v", method, agg, outliers)
				t.Run(name, func(t *testing.T) {
					in := extremeInput(method, agg, outliers)
					if err := in.Scheme.Validate(); err != nil {
						t.Fatalf("scheme: %v", err)
					}
					p, err := Prepare(in)
					if err != nil {
						t.Fatalf("Prepare: %v", err)
					}
					res, err := p.Evaluate(Options{})
					if err != nil {
						t.Fatalf("Evaluate: %v", err)
					}
					if _, err := json.Marshal(res); err != nil {
						t.Fatalf("result does not encode: %v", err)
					}
					checkInvariants(t, name, res)
					for _, rr := range res.Regions {
						x, ok := in.Values[rr.Code]["X"]
						poison := ok && math.Abs(x.Number) > scheme.MaxMagnitude
						if poison != (rr.Status == StatusUnscorable) {
							t.Errorf("%s: X = %g, status %s", rr.Code, x.Number, rr.Status)
						}
						if poison && (rr.Error == nil || !strings.Contains(rr.Error.Message, "X") || !strings.Contains(rr.Error.MessageEn, "indicator X")) {
							t.Errorf("%s: error %+v does not name X", rr.Code, rr.Error)
						}
					}
					// Every option the sensitivity analysis varies.
					for _, opt := range []Options{{Aggregation: otherAgg(agg)}, {NoImputation: true}, {Outliers: SwitchOn},
						{IndicatorWeights: map[string]float64{"X": scheme.MaxMagnitude * 1.2}, DimensionWeights: map[string]float64{"D0": scheme.MaxMagnitude * 1.2}}} {
						r, err := p.Evaluate(opt)
						if err != nil {
							t.Fatalf("Evaluate %+v: %v", opt, err)
						}
						if _, err := json.Marshal(r); err != nil {
							t.Fatalf("result with %+v does not encode: %v", opt, err)
						}
					}
					sens, err := p.Sensitivity(context.Background(), SensitivityOptions{Seed: 7, Draws: 20, Workers: 1,
						SwapNormalisation: true, SwapAggregation: true, ToggleImputation: true}, nil)
					if err != nil {
						t.Fatalf("Sensitivity: %v", err)
					}
					if _, err := json.Marshal(sens); err != nil {
						t.Fatalf("sensitivity does not encode: %v", err)
					}
					for _, rs := range sens.Regions {
						if rr, _ := res.Region(rs.Code); rr.Status == StatusUnscorable && rs.RankedDraws != 0 {
							t.Errorf("%s: unscorable but ranked in %d draws", rs.Code, rs.RankedDraws)
						}
					}
				})
			}
		}
	}
}

func otherAgg(agg string) string {
	if agg == scheme.AggregationArithmetic {
		return scheme.AggregationGeometric
	}
	return scheme.AggregationArithmetic
}

// TestProbe01OverflowIsRegional checks the second line of defence: a
// region whose numbers overflow in normalising (a value Prepare let
// through, as a sensitivity draw can) loses its score, not the run.
func TestProbe01OverflowIsRegional(t *testing.T) {
	in := extremeInput(scheme.MethodMinMax, scheme.AggregationArithmetic, false)
	p, err := Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	// Put two opposite poison values back into X's column, as if they had
	// passed Prepare.
	q := *p
	q.cells = slices.Clone(p.cells)
	q.unscorable = nil
	for r, reg := range q.regions {
		if x := in.Values[reg.Code]["X"].Number; math.Abs(x) > scheme.MaxMagnitude {
			q.cells[r] = cell{x: x, state: cellObserved}
		}
	}
	res, err := q.Evaluate(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not encode: %v", err)
	}
	for _, rr := range res.Regions {
		if x := in.Values[rr.Code]["X"].Number; math.Abs(x) > scheme.MaxMagnitude && rr.Status != StatusUnscorable {
			t.Errorf("%s: X = %g, status %s", rr.Code, x, rr.Status)
		}
	}
}
