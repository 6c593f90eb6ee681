package render

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions/kind"
)

// provinceRun is a published run of n regions scored by the engine with
// the default scheme, with its sensitivity analysis: one in ten a
// prefecture city (a few strong ones without funding, so that rule R1
// caps them), the rest counties; a few values missing or unverified, and a
// few regions that reported too little to be graded.
func provinceRun(tb testing.TB, n int) ReportInput {
	tb.Helper()
	rng := rand.New(rand.NewPCG(2026, 120))
	sc := scheme.Default()
	in := engine.Input{Scheme: sc, Values: make(map[string]map[string]engine.Value, n)}
	for r := range n {
		reg := engine.Region{Code: fmt.Sprintf("14%04d", 100+r), Name: fmt.Sprintf("县%03d", r), Kind: kind.County}
		if r%10 == 0 {
			reg.Kind, reg.Name = kind.PrefectureCity, fmt.Sprintf("市%02d", r/10)
		}
		in.Regions = append(in.Regions, reg)
		quality := rng.Float64()
		// Every third city is strong but allocated no funding.
		unfunded := r%30 == 0
		if unfunded {
			quality = 1
		}
		vals := make(map[string]engine.Value, len(sc.Indicators))
		for j, ind := range sc.Indicators {
			if r%40 == 7 && j > 5 {
				break // reported too little to be graded
			}
			s := math.Max(0, math.Min(1, quality+rng.NormFloat64()*0.15))
			x := valueFor(ind, s)
			if ind.Code == "F1" && unfunded {
				x = 0
			}
			st := engine.StatusVerified
			switch {
			case ind.SurveySourced():
				st = ""
			case rng.IntN(60) == 0:
				continue // missing
			case rng.IntN(80) == 0:
				st = engine.StatusSubmitted
			}
			vals[ind.Code] = engine.Value{Number: x, Status: st}
		}
		in.Values[reg.Code] = vals
	}
	res, sens := score(tb, in, engine.SensitivityOptions{Seed: 7})
	at := time.Date(2026, 3, 31, 2, 0, 0, 0, time.UTC)
	return ReportInput{Scheme: sc, Result: res, Sensitivity: &sens, Cycle: ReportCycle{Year: 2025, Name: "2025年度"},
		Run: ReportRun{ID: "bench", CreatedAt: at, PublishedAt: &at}}
}

// BenchmarkProvinceReport renders the business-environment report of a
// published run of 120 regions, every region's page included, as the
// render job does. x-json is its time over that of encoding the same
// result as JSON (what a run stores), timed in the same process.
func BenchmarkProvinceReport(b *testing.B) {
	in := provinceRun(b, 120)
	// The reference is timed by hand: testing.Benchmark cannot run
	// inside a running benchmark.
	const refRuns = 200
	start := time.Now()
	for range refRuns {
		if _, err := json.Marshal(in.Result); err != nil {
			b.Fatal(err)
		}
	}
	refPerOp := float64(time.Since(start).Nanoseconds()) / refRuns
	var size int
	b.ReportAllocs()
	for b.Loop() {
		rep, err := RenderReport(in)
		if err != nil {
			b.Fatal(err)
		}
		size = len(rep.HTML)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/refPerOp, "x-json")
	b.ReportMetric(float64(size), "doc-bytes")
}

// TestProvinceRunIsRealistic keeps the benchmark's input honest: most
// regions graded, some capped by R1, some not graded.
func TestProvinceRunIsRealistic(t *testing.T) {
	in := provinceRun(t, 120)
	var graded, capped int
	for _, r := range in.Result.Regions {
		if r.Rank > 0 {
			graded++
		}
		if r.GradeRule != "" && r.Grade != r.BandGrade {
			capped++
		}
	}
	if graded < 100 || graded == 120 || capped == 0 {
		t.Fatalf("%d graded, %d capped of 120: not what the benchmark should measure", graded, capped)
	}
	rep := mustRender(t, in)
	if len(rep.Layout.Regions) != 120 {
		t.Fatalf("%d region pages", len(rep.Layout.Regions))
	}
}
