package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions/kind"
)

// nationalInput is a synthetic national-scale input: nr regions (one in
// ten a prefecture city, the rest counties grouped by city) and six
// dimensions of ten indicators with a realistic mix of normalisations,
// missing-data policies and applicability, plus F1 read by rule R1;
// outlier treatment on.
func nationalInput(nr int) Input {
	rng := rand.New(rand.NewPCG(2026, 60))
	var dims []scheme.Dimension
	var inds []scheme.Indicator
	methods := []string{
		scheme.MethodGoalposts, scheme.MethodGoalposts, scheme.MethodGoalposts, scheme.MethodGoalposts, scheme.MethodGoalposts,
		scheme.MethodMinMax, scheme.MethodMinMax, scheme.MethodZScore, scheme.MethodRank, scheme.MethodDTF, scheme.MethodBinary,
	}
	policies := []string{scheme.MissingReweight, scheme.MissingZero, scheme.MissingGroupMean}
	for d := range 6 {
		dc := string(rune('A' + d))
		dims = append(dims, scheme.Dimension{Code: dc, Weight: float64(10 + 5*d)})
		for i := range 10 {
			ind := scheme.Indicator{Code: fmt.Sprintf("%s%02d", dc, i+1), Dimension: dc, Weight: float64(1 + (i % 3)),
				Normalisation: scheme.Normalisation{Method: methods[(d*10+i)%len(methods)]}, Missing: policies[i%3]}
			switch ind.Normalisation.Method {
			case scheme.MethodGoalposts:
				ind.Normalisation.Lower, ind.Normalisation.Upper = ptr(0), ptr(80)
			case scheme.MethodDTF:
				ind.Normalisation.Worst, ind.Normalisation.Best = ptr(100), ptr(10)
			}
			if i == 9 {
				ind.AppliesTo = []kind.Kind{kind.PrefectureCity}
			}
			if i == 4 {
				ind.Direction = scheme.DirectionDown
			}
			inds = append(inds, ind)
		}
	}
	inds = append(inds, scheme.Indicator{Code: "F1", Weight: 0})
	s := newScheme(dims, inds)
	s.OutlierTreatment = true
	s.Rules = scheme.Default().Rules
	in := Input{Scheme: s, Values: make(map[string]map[string]Value, nr)}
	for r := range nr {
		reg := Region{Code: fmt.Sprintf("%06d", 110000+r), Kind: kind.County, Group: fmt.Sprintf("%04d", r/10)}
		if r%10 == 0 {
			reg.Kind = kind.PrefectureCity
		}
		reg.Name = "地区" + reg.Code
		in.Regions = append(in.Regions, reg)
		quality := rng.Float64()
		vals := make(map[string]Value, len(inds))
		for _, ind := range s.Indicators {
			x := math.Round(min(100, max(0, 100*quality+rng.NormFloat64()*20)))
			switch {
			case ind.Code == "F1":
				x = float64(rng.IntN(3)) * 50
			case ind.Normalisation.Method == scheme.MethodBinary:
				x = 0
				if rng.Float64() < quality+0.2 {
					x = 1
				}
			case ind.Normalisation.Method == scheme.MethodMinMax && rng.IntN(100) == 0:
				x *= 20 // a few outliers
			}
			switch p := rng.IntN(100); {
			case p < 3: // missing
			case p < 4:
				vals[ind.Code] = Value{Number: x, Status: StatusSubmitted}
			default:
				vals[ind.Code] = verified(x)
			}
		}
		in.Values[reg.Code] = vals
	}
	return in
}

// BenchmarkEvaluateNational scores 3,000 regions × 60 indicators once:
// "full" is Evaluate (checking the input, running the rules, scoring,
// paths and explanations); "prepared" scores an input already prepared;
// "lean" is what a sensitivity-analysis iteration costs (no paths or
// explanations).
func BenchmarkEvaluateNational(b *testing.B) {
	in := nationalInput(3000)
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Evaluate(in, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, err := Prepare(in)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("prepared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Evaluate(Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lean", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Evaluate(Options{NoPaths: true, NoExplanations: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("prepare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Prepare(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestNationalInputIsSound(t *testing.T) {
	if testing.Short() {
		t.Skip("national scale")
	}
	res := mustEvaluate(t, nationalInput(3000), Options{})
	checkInvariants(t, "national", res)
	counts := map[string]int{}
	for _, rr := range res.Regions {
		counts[rr.Status]++
		counts["grade:"+rr.Grade]++
		if rr.Path != nil {
			counts["path"]++
		}
	}
	if counts[StatusOK] < 2500 || counts["path"] == 0 {
		t.Errorf("synthetic data are not realistic: %v", counts)
	}
	t.Logf("%v", counts)
}
