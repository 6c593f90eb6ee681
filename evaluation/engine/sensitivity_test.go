package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
)

func spread(x float64) *float64 { return &x }

func mustPrepare(tb testing.TB, in Input) *Prepared {
	tb.Helper()
	p, err := Prepare(in)
	if err != nil {
		tb.Fatalf("Prepare: %v", err)
	}
	return p
}

func mustSensitivity(tb testing.TB, p *Prepared, opt SensitivityOptions) SensitivityResult {
	tb.Helper()
	res, err := p.Sensitivity(context.Background(), opt, nil)
	if err != nil {
		tb.Fatalf("Sensitivity: %v", err)
	}
	if _, err := json.Marshal(res); err != nil {
		tb.Fatalf("result does not encode: %v", err)
	}
	return res
}

func mustSens(tb testing.TB, res SensitivityResult, code string) *RegionSensitivity {
	tb.Helper()
	for i := range res.Regions {
		if res.Regions[i].Code == code {
			return &res.Regions[i]
		}
	}
	tb.Fatalf("no sensitivity for region %s", code)
	return nil
}

// checkLeanDraw scores draw i by the lean path and by Evaluate (on
// evalPrep, which holds the draw's survey values when there are any) and
// requires the same scores, statuses, ranks and grades.
func checkLeanDraw(t *testing.T, name string, pl *sensPlan, w *sensWorker, i int, evalPrep func(*drawSpec) *Prepared) {
	t.Helper()
	nr := pl.nr
	rank, grade := make([]int32, nr), make([]int8, nr)
	if err := w.draw(i, rank, grade); err != nil {
		t.Fatalf("%s draw %d: %v", name, i, err)
	}
	p := pl.p
	if evalPrep != nil {
		p = evalPrep(w.ds)
	}
	res, err := p.Evaluate(pl.options(w.ds))
	if err != nil {
		t.Fatalf("%s draw %d: Evaluate: %v", name, i, err)
	}
	what := fmt.Sprintf("%s draw %d (swap %v, other %v, noImp %v)", name, i, w.ds.swap, w.ds.other, w.ds.noImp)
	for r := range nr {
		rr := &res.Regions[r]
		want := map[string]uint8{StatusOK: leanOK, StatusInsufficientData: leanInsufficient, StatusNoWeight: leanNoWeight}[rr.Status]
		if w.status[r] != want {
			t.Fatalf("%s region %s: lean status %d, Evaluate %s", what, rr.Code, w.status[r], rr.Status)
		}
		if rr.Score.Valid && math.Abs(w.score[r]-rr.Score.Value) > 1e-12 {
			t.Fatalf("%s region %s: lean score %.17g, Evaluate %.17g", what, rr.Code, w.score[r], rr.Score.Value)
		}
		if int(rank[r]) != rr.Rank {
			t.Fatalf("%s region %s: lean rank %d, Evaluate %d", what, rr.Code, rank[r], rr.Rank)
		}
		g := -1
		if rr.Grade != "" {
			g = p.gradeIndex(rr.Grade)
		}
		if int(grade[r]) != g {
			t.Fatalf("%s region %s: lean grade %d, Evaluate %q", what, rr.Code, grade[r], rr.Grade)
		}
	}
}

func TestSensitivityLeanPathMatchesEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260601, 2))
	opt := SensitivityOptions{Seed: 99, WeightSpread: spread(0.5), SwapNormalisation: true, SwapAggregation: true, ToggleImputation: true}
	for c := range 150 {
		in := randomInput(rng)
		p := mustPrepare(t, in)
		pl, err := p.planSensitivity(opt)
		if err != nil {
			t.Fatal(err)
		}
		w := pl.newWorker()
		for i := range 8 {
			checkLeanDraw(t, fmt.Sprintf("case %d", c), pl, w, i, nil)
		}
	}
	// National scale, with its outlier treatment, group means and rule.
	p := mustPrepare(t, nationalInput(600))
	pl, err := p.planSensitivity(opt)
	if err != nil {
		t.Fatal(err)
	}
	if pl.swapMap == nil {
		t.Fatal("national input: nothing to swap")
	}
	w := pl.newWorker()
	for i := range 16 {
		checkLeanDraw(t, "national", pl, w, i, nil)
	}
	// The nominal evaluation is a draw without perturbation.
	pl0, err := p.planSensitivity(SensitivityOptions{WeightSpread: spread(0)})
	if err != nil {
		t.Fatal(err)
	}
	checkLeanDraw(t, "nominal", pl0, pl0.newWorker(), 0, nil)
	if o := pl0.options(pl0.newDrawSpec()); o.NoImputation || o.Aggregation != "" || o.Normalisation != nil {
		t.Fatalf("nominal draw options = %+v", o)
	}
}

// surveyInput has regions S00…S19, a survey-sourced satisfaction index SAT
// (0–100, scored by minmax so that a drawn value moves every region's
// score) read by rule R2, and two reported indicators.
func surveyInput() Input {
	dims := []scheme.Dimension{{Code: "A", Weight: 1}, {Code: "B", Weight: 1}}
	inds := []scheme.Indicator{
		{Code: "A1", Dimension: "A", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: ptr(0), Upper: ptr(100)}, Missing: scheme.MissingGroupMean},
		{Code: "A2", Dimension: "A", Weight: 2, Normalisation: scheme.Normalisation{Method: scheme.MethodMinMax}},
		{Code: "SAT", Dimension: "B", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodMinMax},
			Source: "survey:satisfaction", Min: ptr(0), Max: ptr(100)},
	}
	s := newScheme(dims, inds)
	s.Rules = []scheme.Rule{{ID: "R2", When: `SAT < 50`, Message: "满意度过低",
		Effects: []scheme.Effect{{Type: scheme.EffectCapGrade, Grade: "pass"}}}}
	in := Input{Scheme: s, Values: map[string]map[string]Value{}}
	for r := range 20 {
		code := fmt.Sprintf("S%02d", r)
		in.Regions = append(in.Regions, region(code))
		vals := map[string]Value{
			"A1":  verified(float64(40 + 3*r)),
			"A2":  verified(float64(100 - 2*r)),
			"SAT": {Number: float64(45 + r%10)}, // survey values count without review
		}
		if r == 7 {
			delete(vals, "A1")
		}
		in.Values[code] = vals
	}
	return in
}

func surveyIntervals() map[string]map[string]Interval {
	out := map[string]map[string]Interval{}
	for r := range 20 {
		if r%3 == 2 {
			continue
		}
		mid := float64(45 + r%10)
		out[fmt.Sprintf("S%02d", r)] = map[string]Interval{"SAT": {Lower: mid - 6, Upper: min(mid+6, 100)}}
	}
	out["S04"]["SAT"] = Interval{Lower: 96, Upper: 130} // beyond the valid range: drawn within [96, 100]
	return out
}

func TestSensitivitySurveyDrawsMatchEvaluate(t *testing.T) {
	in := surveyInput()
	p := mustPrepare(t, in)
	for _, opt := range []SensitivityOptions{
		{Seed: 3, SurveyIntervals: surveyIntervals()},
		{Seed: 4, SurveyIntervals: surveyIntervals(), SwapNormalisation: true, SwapAggregation: true, ToggleImputation: true},
	} {
		pl, err := p.planSensitivity(opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.ruleRegs) == 0 {
			t.Fatal("rule R2 reads SAT, but no region's rules are evaluated again")
		}
		w := pl.newWorker()
		evalPrep := func(ds *drawSpec) *Prepared {
			drawn := in
			drawn.Values = map[string]map[string]Value{}
			for rc, vals := range in.Values {
				drawn.Values[rc] = cloneValues(vals)
			}
			for k, tg := range pl.targets {
				drawn.Values[p.regions[tg.r].Code]["SAT"] = Value{Number: ds.values[k]}
			}
			return mustPrepare(t, drawn)
		}
		for i := range 40 {
			checkLeanDraw(t, "survey", pl, w, i, evalPrep)
		}
	}
}

func cloneValues(m map[string]Value) map[string]Value {
	out := make(map[string]Value, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestSensitivitySurveyDrawsStayInInterval(t *testing.T) {
	p := mustPrepare(t, surveyInput())
	ivs := surveyIntervals()
	pl, err := p.planSensitivity(SensitivityOptions{Seed: 11, SurveyIntervals: ivs})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.targets) != 14 {
		t.Fatalf("%d targets, want 14", len(pl.targets))
	}
	ds := pl.newDrawSpec()
	src := rand.NewPCG(0, 0)
	rng := rand.New(src)
	lo, hi := make([]float64, len(pl.targets)), make([]float64, len(pl.targets))
	for k := range lo {
		lo[k], hi[k] = math.Inf(1), math.Inf(-1)
	}
	for i := range 3000 {
		pl.fill(i, src, rng, ds)
		for k, tg := range pl.targets {
			iv := ivs[p.regions[tg.r].Code]["SAT"]
			x := ds.values[k]
			if x < iv.Lower || x > iv.Upper || x < 0 || x > 100 {
				t.Fatalf("draw %d: %s SAT = %g outside [%g, %g] ∩ [0, 100]", i, p.regions[tg.r].Code, x, iv.Lower, iv.Upper)
			}
			lo[k], hi[k] = min(lo[k], x), max(hi[k], x)
		}
	}
	// The draws fill the interval rather than sitting at its centre.
	for k, tg := range pl.targets {
		iv := ivs[p.regions[tg.r].Code]["SAT"]
		iv.Upper = min(iv.Upper, 100)
		if w := iv.Upper - iv.Lower; hi[k]-lo[k] < 0.8*w {
			t.Errorf("%s: draws span [%g, %g] of [%g, %g]", p.regions[tg.r].Code, lo[k], hi[k], iv.Lower, iv.Upper)
		}
	}
	// Survey draws alone move the ranks.
	res := mustSensitivity(t, p, SensitivityOptions{Seed: 11, Draws: 300, WeightSpread: spread(0), SurveyIntervals: ivs})
	moved := 0
	for _, rs := range res.Regions {
		if rs.RankP5 != rs.RankP95 {
			moved++
		}
	}
	if moved == 0 {
		t.Error("survey intervals moved no region's rank")
	}
}

func TestSensitivityReproducible(t *testing.T) {
	p := mustPrepare(t, nationalInput(300))
	opt := SensitivityOptions{Draws: 200, Seed: 42, SwapNormalisation: true, SwapAggregation: true, ToggleImputation: true}
	encode := func(opt SensitivityOptions) []byte {
		b, err := json.Marshal(mustSensitivity(t, p, opt))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	opt.Workers = 1
	one := encode(opt)
	opt.Workers = 3
	three := encode(opt)
	if !bytes.Equal(one, three) {
		t.Fatal("same seed, 1 and 3 workers: results differ")
	}
	if again := encode(opt); !bytes.Equal(one, again) {
		t.Fatal("same seed: results differ between runs")
	}
	opt.Seed = 43
	if other := encode(opt); bytes.Equal(one, other) {
		t.Fatal("different seeds gave identical results")
	}
	// A stored result reads back to the same result.
	var back SensitivityResult
	if err := json.Unmarshal(one, &back); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(back); !bytes.Equal(one, b) {
		t.Fatal("result does not survive a JSON round trip")
	}
	if back.Draws != 200 || back.Seed != 42 || back.Options.WeightSpread == nil || *back.Options.WeightSpread != DefaultWeightSpread {
		t.Fatalf("result does not record its options: draws %d seed %d options %+v", back.Draws, back.Seed, back.Options)
	}
}

func TestSensitivityResultConsistent(t *testing.T) {
	in := nationalInput(300)
	p := mustPrepare(t, in)
	nominal := mustEvaluate(t, in, Options{})
	res := mustSensitivity(t, p, SensitivityOptions{Draws: 150, Seed: 5, SwapNormalisation: true, ToggleImputation: true})
	if len(res.Regions) != 300 || res.Draws != 150 || len(res.Grades) != 4 {
		t.Fatalf("%d regions, %d draws, %d grades", len(res.Regions), res.Draws, len(res.Grades))
	}
	borderline := 0
	for k, rs := range res.Regions {
		nom := &nominal.Regions[k]
		if rs.Code != nom.Code || rs.NominalRank != nom.Rank || rs.NominalGrade != nom.Grade || rs.NominalScore != nom.Score {
			t.Fatalf("region %d: nominal %+v, Evaluate %s rank %d grade %q", k, rs, nom.Code, nom.Rank, nom.Grade)
		}
		total := rs.Ungraded
		for g, gp := range rs.Grades {
			if gp.Grade != res.Grades[g].Code || gp.Probability < 0 || gp.Probability > 1 {
				t.Fatalf("region %s: grades %+v", rs.Code, rs.Grades)
			}
			total += gp.Probability
		}
		if math.Abs(total-1) > 1e-9 {
			t.Fatalf("region %s: probabilities sum to %g", rs.Code, total)
		}
		if rs.RankedDraws > 0 && !(1 <= rs.RankP5 && rs.RankP5 <= rs.MedianRank && rs.MedianRank <= rs.RankP95 && rs.RankP95 <= 300) {
			t.Fatalf("region %s: ranks p5 %d median %d p95 %d", rs.Code, rs.RankP5, rs.MedianRank, rs.RankP95)
		}
		if want := int(math.Round((1 - rs.Ungraded) * 150)); rs.RankedDraws != want {
			t.Fatalf("region %s: ranked in %d draws, graded in %d", rs.Code, rs.RankedDraws, want)
		}
		if rs.Borderline != (rs.NominalProbability < 0.8) {
			t.Fatalf("region %s: borderline %v with P(nominal) %g", rs.Code, rs.Borderline, rs.NominalProbability)
		}
		if rs.Borderline {
			borderline++
		}
	}
	if borderline == 0 || borderline == 300 {
		t.Errorf("%d of 300 regions borderline", borderline)
	}
}

func TestSensitivityWithoutPerturbationIsNominal(t *testing.T) {
	for _, in := range []Input{nationalInput(200), surveyInput()} {
		p := mustPrepare(t, in)
		res := mustSensitivity(t, p, SensitivityOptions{Draws: 50, Seed: 1, WeightSpread: spread(0)})
		for _, rs := range res.Regions {
			if rs.NominalRank > 0 {
				if rs.RankedDraws != 50 || rs.MedianRank != rs.NominalRank || rs.RankP5 != rs.NominalRank || rs.RankP95 != rs.NominalRank {
					t.Fatalf("region %s: nominal rank %d, draws %+v", rs.Code, rs.NominalRank, rs)
				}
			} else if rs.RankedDraws != 0 || rs.Ungraded != 1 {
				t.Fatalf("region %s: not ranked nominally, draws %+v", rs.Code, rs)
			}
			if rs.NominalProbability != 1 || rs.Borderline {
				t.Fatalf("region %s: P(nominal grade %q) = %g, borderline %v", rs.Code, rs.NominalGrade, rs.NominalProbability, rs.Borderline)
			}
		}
	}
}

// edgeInput: region TOP dominates; EDGE scores exactly 80, the lower bound
// of good, from two indicators whose weights the draws perturb; the rest
// trail far behind.
func edgeInput() Input {
	gp := scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: ptr(0), Upper: ptr(100)}
	s := newScheme([]scheme.Dimension{{Code: "A", Weight: 1}, {Code: "B", Weight: 1}}, []scheme.Indicator{
		{Code: "A1", Dimension: "A", Weight: 1, Normalisation: gp},
		{Code: "A2", Dimension: "A", Weight: 1, Normalisation: gp},
		{Code: "B1", Dimension: "B", Weight: 1, Normalisation: gp},
	})
	in := Input{Scheme: s, Values: map[string]map[string]Value{
		"TOP":  {"A1": verified(100), "A2": verified(100), "B1": verified(100)},
		"EDGE": {"A1": verified(60), "A2": verified(100), "B1": verified(80)},
	}}
	in.Regions = []Region{region("TOP"), region("EDGE")}
	for r := range 8 {
		code := fmt.Sprintf("LOW%d", r)
		in.Regions = append(in.Regions, region(code))
		in.Values[code] = map[string]Value{"A1": verified(float64(20 + r)), "A2": verified(30), "B1": verified(40)}
	}
	return in
}

func TestSensitivityBorderlineAndDominant(t *testing.T) {
	in := edgeInput()
	nominal := mustEvaluate(t, in, Options{})
	if e := mustRegion(t, nominal, "EDGE"); e.Grade != "good" || !near(e.Score.Value, 80) {
		t.Fatalf("EDGE scores %v (%s), want 80 (good)", e.Score.Value, e.Grade)
	}
	res := mustSensitivity(t, mustPrepare(t, in), SensitivityOptions{Seed: 8})
	edge := mustSens(t, res, "EDGE")
	if !edge.Borderline || edge.NominalGrade != "good" || edge.NominalProbability > 0.7 || edge.NominalProbability < 0.3 {
		t.Errorf("EDGE: borderline %v, P(good) %g", edge.Borderline, edge.NominalProbability)
	}
	if p := edge.Grades[2]; p.Grade != "pass" || p.Probability < 0.3 {
		t.Errorf("EDGE: P(pass) = %+v", p)
	}
	top := mustSens(t, res, "TOP")
	if top.Borderline || top.NominalRank != 1 || top.MedianRank != 1 || top.RankP5 != 1 || top.RankP95 != 1 ||
		top.Grades[0].Probability != 1 || top.RankedDraws != DefaultSensitivityDraws {
		t.Errorf("TOP: %+v", top)
	}
	for _, rs := range res.Regions {
		if rs.Code != "TOP" && rs.RankP5 == 1 {
			t.Errorf("%s reached rank 1", rs.Code)
		}
	}
	// With the weights fixed there is nothing to be borderline about.
	res = mustSensitivity(t, mustPrepare(t, in), SensitivityOptions{Seed: 8, WeightSpread: spread(0)})
	if e := mustSens(t, res, "EDGE"); e.Borderline || e.NominalProbability != 1 {
		t.Errorf("EDGE with fixed weights: %+v", e)
	}
}

func TestSensitivityCancel(t *testing.T) {
	p := mustPrepare(t, nationalInput(500))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Sensitivity(ctx, SensitivityOptions{}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: err = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	calls := 0
	_, err := p.Sensitivity(ctx, SensitivityOptions{Draws: MaxSensitivityDraws, Workers: 2}, func(done, total int) {
		calls++
		if calls == 1 {
			cancelledAt = time.Now()
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled during: err = %v", err)
	}
	if d := time.Since(cancelledAt); d > time.Second {
		t.Errorf("returned %v after cancel", d)
	}
	if calls > 2 {
		t.Errorf("progress called %d times after cancel", calls)
	}
}

func TestSensitivityProgress(t *testing.T) {
	p := mustPrepare(t, edgeInput())
	var got [][2]int
	_, err := p.Sensitivity(context.Background(), SensitivityOptions{Draws: 1234, Workers: 3}, func(done, total int) {
		got = append(got, [2]int{done, total}) // never called concurrently
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) > 101 || got[len(got)-1] != [2]int{1234, 1234} {
		t.Fatalf("%d progress calls, last %v", len(got), got[len(got)-1])
	}
	if !slices.IsSortedFunc(got, func(a, b [2]int) int { return a[0] - b[0] }) {
		t.Fatalf("progress went backwards: %v", got)
	}
}

func TestSensitivityInvalidOptions(t *testing.T) {
	p := mustPrepare(t, surveyInput())
	cases := []struct {
		opt   SensitivityOptions
		field string
	}{
		{SensitivityOptions{Draws: -1}, "draws"},
		{SensitivityOptions{Draws: MaxSensitivityDraws + 1}, "draws"},
		{SensitivityOptions{WeightSpread: spread(1)}, "weight_spread"},
		{SensitivityOptions{WeightSpread: spread(-0.1)}, "weight_spread"},
		{SensitivityOptions{WeightSpread: spread(math.NaN())}, "weight_spread"},
		{SensitivityOptions{WeightSpread: spread(math.Inf(1))}, "weight_spread"},
		{SensitivityOptions{Workers: -2}, "workers"},
		{SensitivityOptions{SurveyIntervals: map[string]map[string]Interval{"NOPE": {"SAT": {1, 2}}}}, "survey_intervals.NOPE"},
		{SensitivityOptions{SurveyIntervals: map[string]map[string]Interval{"S01": {"NOPE": {1, 2}}}}, "survey_intervals.S01.NOPE"},
		{SensitivityOptions{SurveyIntervals: map[string]map[string]Interval{"S01": {"A1": {1, 2}}}}, "survey_intervals.S01.A1"},
		{SensitivityOptions{SurveyIntervals: map[string]map[string]Interval{"S01": {"SAT": {3, 2}}}}, "survey_intervals.S01.SAT"},
		{SensitivityOptions{SurveyIntervals: map[string]map[string]Interval{"S01": {"SAT": {math.NaN(), 2}}}}, "survey_intervals.S01.SAT"},
		{SensitivityOptions{SurveyIntervals: map[string]map[string]Interval{"S01": {"SAT": {101, 120}}}}, "survey_intervals.S01.SAT"},
	}
	for _, c := range cases {
		_, err := p.Sensitivity(context.Background(), c.opt, nil)
		var ve *fault.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, fault.ErrBadRequest) {
			t.Errorf("%+v: err = %v, want a validation error", c.opt, err)
			continue
		}
		if len(ve.Errors) != 1 || ve.Errors[0].Field != c.field || ve.Errors[0].Message == "" || ve.Errors[0].MessageEn == "" {
			t.Errorf("%+v: errors %+v, want one on %s", c.opt, ve.Errors, c.field)
		}
	}
	// A region without a survey value has no interval to draw from.
	in := surveyInput()
	delete(in.Values["S01"], "SAT")
	_, err := mustPrepare(t, in).Sensitivity(context.Background(),
		SensitivityOptions{SurveyIntervals: map[string]map[string]Interval{"S01": {"SAT": {40, 50}}}}, nil)
	var ve *fault.ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Code != "no_value" {
		t.Errorf("interval without a value: err = %v", err)
	}
}

func TestNearestRank(t *testing.T) {
	for _, c := range []struct{ pct, n, want int }{
		{5, 1000, 49}, {50, 1000, 499}, {95, 1000, 949}, {5, 1, 0}, {95, 1, 0}, {50, 2, 0}, {50, 3, 1}, {5, 19, 0}, {5, 21, 1}, {95, 20, 18},
	} {
		if got := nearestRank(c.pct, c.n); got != c.want {
			t.Errorf("nearestRank(%d, %d) = %d, want %d", c.pct, c.n, got, c.want)
		}
	}
}

func TestSensitivityNoRegions(t *testing.T) {
	in := edgeInput()
	in.Regions, in.Values = nil, nil
	res := mustSensitivity(t, mustPrepare(t, in), SensitivityOptions{Draws: 10, SwapAggregation: true})
	if len(res.Regions) != 0 || res.Draws != 10 {
		t.Fatalf("%+v", res)
	}
}
