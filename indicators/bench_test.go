package indicators_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/regions"
)

// BenchmarkImportCSV imports a province-sized CSV (200 counties × 6
// indicators, every value changed) and reports x-batch: its time against
// writing the same values through SetBatch, the JSON batch path, timed in
// the same process on the same database. The difference is the cost of
// reading the file.
func BenchmarkImportCSV(b *testing.B) {
	const counties = 200
	codes := []string{"A2", "A3", "A5", "B2", "B3", "C1"}
	f := newFixture(b, dbtest.New(b))
	ctx := context.Background()
	var rc strings.Builder
	rc.WriteString("code,name,kind,parent\n")
	for i := range counties {
		fmt.Fprintf(&rc, "1401%02d,县%d,county,140100\n", i+10, i)
	}
	if _, err := regions.NewStore(f.db).ImportCSV(ctx, strings.NewReader(rc.String())); err != nil {
		b.Fatal(err)
	}
	round := 0 // every value is at version round
	items := func() []indicators.ValueInput {
		var out []indicators.ValueInput
		for i := range counties {
			for _, c := range codes {
				out = append(out, indicators.ValueInput{RegionCode: fmt.Sprintf("1401%02d", i+10), IndicatorCode: c,
					Number: num(float64(round + 1)), Version: round})
			}
		}
		return out
	}
	csv := func() []byte {
		var sb strings.Builder
		sb.WriteString("地区代码,指标代码,数值,版本\n")
		for _, in := range items() {
			fmt.Fprintf(&sb, "%s,%s,%g,%d\n", in.RegionCode, in.IndicatorCode, *in.Number, in.Version)
		}
		return []byte(sb.String())
	}

	const refRuns = 5
	start := time.Now()
	for range refRuns {
		if _, err := f.values.SetBatch(ctx, admin, f.cycle, items()); err != nil {
			b.Fatal(err)
		}
		round++
	}
	refPerOp := float64(time.Since(start).Nanoseconds()) / refRuns
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		data := csv()
		b.StartTimer()
		res, err := f.values.Import(ctx, admin, f.cycle, "values.csv", data, false)
		if err != nil || res.Changed != counties*len(codes) {
			b.Fatalf("import: %+v, %v", res.Changed, err)
		}
		round++
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/refPerOp, "x-batch")
}
