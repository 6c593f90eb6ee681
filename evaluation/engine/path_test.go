package engine

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// mixedInput has one indicator per normalisation method, in one dimension
// of equal weights, over n regions with seeded random values.
func mixedInput(seed uint64, n int, aggregation string) Input {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := newScheme([]scheme.Dimension{{Code: "X", Weight: 1}, {Code: "Y", Weight: 1}}, []scheme.Indicator{
		{Code: "GP", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: ptr(0), Upper: ptr(50)}},
		{Code: "MM", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodMinMax}, Direction: scheme.DirectionDown},
		{Code: "ZS", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodZScore}},
		{Code: "RK", Dimension: "Y", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodRank}},
		{Code: "DF", Dimension: "Y", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodDTF, Worst: ptr(100), Best: ptr(20)}},
		{Code: "BI", Dimension: "Y", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodBinary}},
		{Code: "CT", Dimension: "Y", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: ptr(0), Upper: ptr(12)}, Integer: true},
	})
	s.Aggregation = aggregation
	in := Input{Scheme: s, Values: map[string]map[string]Value{}}
	for i := range n {
		code := fmt.Sprintf("r%02d", i)
		in.Regions = append(in.Regions, region(code))
		in.Values[code] = map[string]Value{
			"GP": verified(math.Round(rng.Float64()*600) / 10),
			"MM": verified(math.Round(rng.Float64()*1000) / 10),
			"ZS": verified(math.Round(rng.NormFloat64()*150+500) / 10),
			"RK": verified(float64(rng.IntN(8))),
			"DF": verified(math.Round((20+rng.Float64()*90)*10) / 10),
			"BI": verified(float64(rng.IntN(2))),
			"CT": verified(float64(rng.IntN(13))),
		}
	}
	return in
}

// withValue returns in with region's indicator set to a verified x.
func withValue(in Input, regionCode, ind string, x float64) Input {
	out := in
	out.Values = maps.Clone(in.Values)
	out.Values[regionCode] = maps.Clone(in.Values[regionCode])
	out.Values[regionCode][ind] = verified(x)
	return out
}

// reaches re-evaluates in and reports whether the region's band is the
// target grade or better.
func reaches(tb testing.TB, in Input, regionCode string, target float64) bool {
	tb.Helper()
	rr := mustRegion(tb, mustEvaluate(tb, in, Options{NoPaths: true, NoExplanations: true}), regionCode)
	return rr.Score.Value >= target-bandTolerance
}

func TestPathStepsReachTheNextBand(t *testing.T) {
	methods := map[string]string{"GP": "goalposts", "MM": "minmax", "ZS": "zscore", "RK": "rank", "DF": "dtf", "BI": "binary", "CT": "goalposts (count)"}
	for _, agg := range []string{scheme.AggregationArithmetic, scheme.AggregationGeometric} {
		t.Run(agg, func(t *testing.T) {
			checked := map[string]int{}
			for seed := range uint64(6) {
				in := mixedInput(seed, 14, agg)
				res := mustEvaluate(t, in, Options{})
				for _, rr := range res.Regions {
					if rr.Path == nil {
						continue
					}
					for _, st := range rr.Path.Steps {
						if !st.Possible {
							continue
						}
						ind, _ := in.Scheme.Indicator(st.Indicator)
						dir := 1.0
						if ind.Direction == scheme.DirectionDown || (ind.Normalisation.Method == scheme.MethodDTF && *ind.Normalisation.Best < *ind.Normalisation.Worst) {
							dir = -1
						}
						what := fmt.Sprintf("seed %d %s %s from %v to %v (exceed %v)", seed, rr.Code, st.Indicator, st.From.Value, st.Target.Value, st.Exceed)
						if st.Change.Value*dir < 0 || (st.Change.Value == 0 && !st.Exceed) {
							t.Errorf("%s: change %v goes the wrong way", what, st.Change.Value)
						}
						enough := st.Target.Value
						if st.Exceed {
							enough = math.Nextafter(enough, dir*math.Inf(1))
						}
						if !reaches(t, withValue(in, rr.Code, st.Indicator, enough), rr.Code, rr.Path.Threshold) {
							t.Errorf("%s: does not reach %v", what, rr.Path.Threshold)
						}
						// A slightly smaller change falls short.
						less := st.Target.Value - dir*1e-6*max(1, math.Abs(st.Change.Value))
						switch {
						case st.Exceed:
							less = st.Target.Value // a tie is not enough
						case ind.Integer || ind.Normalisation.Method == scheme.MethodBinary:
							less = st.Target.Value - dir
						}
						if reaches(t, withValue(in, rr.Code, st.Indicator, less), rr.Code, rr.Path.Threshold) {
							t.Errorf("%s: %v already reaches %v, the step is not the smallest", what, less, rr.Path.Threshold)
						}
						checked[st.Indicator]++
					}
				}
			}
			for code, method := range methods {
				if checked[code] == 0 {
					t.Errorf("no possible step checked for %s (%s)", code, method)
				}
			}
			t.Logf("steps checked: %v", checked)
		})
	}
}

func TestPathImpossibleSteps(t *testing.T) {
	s := newScheme([]scheme.Dimension{{Code: "X", Weight: 1}}, []scheme.Indicator{
		{Code: "TOP", Dimension: "X", Weight: 1, Normalisation: goalposts100()},
		{Code: "LOW", Dimension: "X", Weight: 1, Normalisation: goalposts100()},
		{Code: "PCT", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: ptr(0), Upper: ptr(200)}, Max: ptr(100)},
		{Code: "BIT", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodBinary}},
	})
	// Score (100 + 70 + 40 + 0)/4 = 52.5; the next band 合格 needs 60, that
	// is 30 more score points on one indicator.
	in := Input{Scheme: s, Regions: []Region{region("a")},
		Values: map[string]map[string]Value{"a": {"TOP": verified(120), "LOW": verified(70), "PCT": verified(80), "BIT": verified(0)}}}
	rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
	if rr.Path == nil || rr.Path.Target != "pass" || len(rr.Path.Steps) != 4 || len(rr.Path.Blocked) != 0 {
		t.Fatalf("path = %+v", rr.Path)
	}
	assertNear(t, "gap", rr.Path.Gap, 7.5)
	want := map[string]struct {
		possible bool
		reason   Reason
		target   float64
	}{
		"TOP": {false, ReasonAtCeiling, 0},  // already scores 100 (its value is above the upper goalpost)
		"LOW": {true, ReasonNone, 100},      // 70 + 30: exactly its maximum
		"PCT": {false, ReasonOutOfRange, 0}, // needs 140 %, above its valid maximum of 100
		"BIT": {true, ReasonNone, 1},        // yes scores 100
	}
	for _, st := range rr.Path.Steps {
		w := want[st.Indicator]
		if st.Possible != w.possible || st.Reason != w.reason || (w.possible && st.Target.Value != w.target) {
			t.Errorf("%s: %+v, want possible %v reason %q target %v", st.Indicator, st, w.possible, w.reason, w.target)
		}
	}
	for _, st := range rr.Path.Steps {
		if st.Indicator == "PCT" && (!st.Target.Valid || st.Target.Value != 140) {
			t.Errorf("PCT target %+v, want 140 reported with the out_of_range reason", st.Target)
		}
	}
	// With BIT = 1 the score is (100 + 69 + 40 + 100)/4 = 77.25 and 良好
	// needs 80: 11 more score points on one indicator. LOW must go from 69
	// to 80; BIT is at its ceiling; PCT (40 at 80 %) needs 51, i.e. 102 %,
	// out of range.
	in.Values["a"]["LOW"] = verified(69)
	in.Values["a"]["BIT"] = verified(1)
	rr = mustRegion(t, mustEvaluate(t, in, Options{}), "a")
	if rr.Path == nil || rr.Path.Target != "good" {
		t.Fatalf("path = %+v, want target good", rr.Path)
	}
	for _, st := range rr.Path.Steps {
		switch st.Indicator {
		case "BIT":
			if st.Reason != ReasonAtCeiling {
				t.Errorf("BIT = %+v, want at_ceiling", st)
			}
		case "LOW":
			if !st.Possible || !near(st.Target.Value, 80) || !near(st.Change.Value, 11) {
				t.Errorf("LOW = %+v, want 80 (+11)", st)
			}
		case "PCT":
			if st.Reason != ReasonOutOfRange || !near(st.Target.Value, 102) {
				t.Errorf("PCT = %+v, want 102 out of range", st)
			}
		}
	}
}

func TestPathCountsRoundUp(t *testing.T) {
	in := shanxiInput(ptr(100))
	res := mustEvaluate(t, in, Options{})
	for _, rr := range res.Regions {
		if rr.Path == nil {
			continue
		}
		for _, st := range rr.Path.Steps {
			ind, _ := in.Scheme.Indicator(st.Indicator)
			if st.Possible && ind.Integer && st.Target.Value != math.Trunc(st.Target.Value) {
				t.Errorf("%s %s: target %v is not a whole number", rr.Code, st.Indicator, st.Target.Value)
			}
		}
	}
}

func TestPathRuleBlocksWhateverTheScore(t *testing.T) {
	// An unfunded city in the 良好 band: the next grade is 优秀, and R1
	// stands in the way whatever the score.
	in := shanxiInput(ptr(0))
	v := in.Values["140100"]
	v["B1"], v["B2"], v["C1"] = verified(150), verified(4), verified(3) // lower the score into 良好
	rr := mustRegion(t, mustEvaluate(t, in, Options{}), "140100")
	if rr.BandGrade != "good" || rr.Grade != "good" {
		t.Fatalf("band %s grade %s (score %.2f); the test needs a region in the 良好 band", rr.BandGrade, rr.Grade, rr.Score.Value)
	}
	if rr.Path == nil || rr.Path.Target != "excellent" || len(rr.Path.Blocked) != 1 || len(rr.Path.Steps) == 0 {
		t.Fatalf("path = %+v; want steps towards excellent and R1 blocking", rr.Path)
	}
	b := rr.Path.Blocked[0]
	if b.Rule != "R1" || !strings.HasPrefix(b.Statement, "即使得分达到 90，规则 R1 仍将等次限定为良好：未安排资金") ||
		!strings.HasPrefix(b.StatementEn, "even a score of 90 would be capped at Good by rule R1: No funding") {
		t.Errorf("block = %+v", b)
	}
	if text := rr.Explanation.Text(LangZh); !strings.Contains(text, "即使得分达到 90") {
		t.Errorf("explanation does not state the block:\n%s", text)
	}
}
