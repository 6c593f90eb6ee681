package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// cell names one figure: a benchmark's metric, times scale.
type cell struct {
	bench, unit string
	// scale multiplies the figure (0 means 1), for a reference such as
	// "1,000 full evaluations" made from one.
	scale float64
}

func (c cell) value(r *results) (float64, bool) {
	v, ok := r.metric(c.bench, c.unit)
	if c.scale != 0 {
		v *= c.scale
	}
	return v, ok
}

// row is one line of the table: a figure of ipeval beside its reference.
type row struct {
	figure string
	value  cell
	ref    string
	refVal cell
	// ratio is the unit of a ratio the benchmark reports itself (x-plain,
	// …); when empty the ratio is value over reference, if both exist.
	ratio  string
	target string
}

// rows lists the table's figures. The API and memory figures come from
// cmd/ipeval/bench_test.go, the others from the packages they measure.
var rows = []row{
	{figure: "evaluation engine, 3,000 regions × 60 indicators, scoring only (one sensitivity draw)",
		value: cell{bench: "BenchmarkEvaluateNational/lean", unit: "ns/op"}, target: "< 20 ms"},
	{figure: "the same with paths to the next grade and explanations (a stored run)",
		value: cell{bench: "BenchmarkEvaluateNational/full", unit: "ns/op"},
		ref:   "scoring only", refVal: cell{bench: "BenchmarkEvaluateNational/lean", unit: "ns/op"}},
	{figure: "sensitivity analysis of that input, 1,000 draws on every core",
		value: cell{bench: "BenchmarkSensitivityNational/all", unit: "ns/op"},
		ref:   "1,000 full evaluations", refVal: cell{bench: "BenchmarkEvaluateNational/full", unit: "ns/op", scale: 1000}, target: "< 3 s"},
	{figure: "survey ingestion into SQLite: upload, validation, insert, screens, indices",
		value: cell{bench: "BenchmarkSurveyIngest/ipeval_sqlite", unit: "rows/s"},
		ref:   "encoding/csv read of the same file", refVal: cell{bench: "BenchmarkSurveyIngest/encoding_csv", unit: "rows/s"}},
	{figure: "the same into MySQL",
		value: cell{bench: "BenchmarkSurveyIngest/ipeval_mysql", unit: "rows/s"},
		ref:   "LOAD DATA LOCAL INFILE of the same rows", refVal: cell{bench: "BenchmarkSurveyIngest/load_data_mysql", unit: "rows/s"}, target: "≥ 0.5×"},
	{figure: "CSV import of 1,200 changed values (one transaction, revisions)",
		value: cell{bench: "BenchmarkImportCSV", unit: "ns/op"},
		ref:   "the same values through the JSON batch path", ratio: "x-batch"},
	{figure: "API over loopback: a city official's published region result (dashboard JSON), full load",
		value: cell{bench: "BenchmarkServeAPI/dashboard", unit: "req/s"},
		ref:   "plain Fiber handler returning a constant, same process and load", refVal: cell{bench: "BenchmarkServeAPI/plain", unit: "req/s"},
		ratio: "x-plain", target: "≥ 0.5×"},
	{figure: "the same at 500 req/s: p50",
		value: cell{bench: "BenchmarkServeAPI/dashboard", unit: "p50-ms"},
		ref:   "plain handler at 500 req/s", refVal: cell{bench: "BenchmarkServeAPI/plain", unit: "p50-ms"}},
	{figure: "the same at 500 req/s: p99",
		value: cell{bench: "BenchmarkServeAPI/dashboard", unit: "p99-ms"},
		ref:   "plain handler at 500 req/s", refVal: cell{bench: "BenchmarkServeAPI/plain", unit: "p99-ms"}, target: "< 20 ms"},
	{figure: "API over loopback: a manager's indicator write (token, checks, revision, audit), full load",
		value: cell{bench: "BenchmarkServeAPI/write", unit: "req/s"},
		ref:   "plain handler", refVal: cell{bench: "BenchmarkServeAPI/plain", unit: "req/s"}, ratio: "x-plain"},
	{figure: "the same at 500 req/s: p50",
		value: cell{bench: "BenchmarkServeAPI/write", unit: "p50-ms"},
		ref:   "plain handler at 500 req/s", refVal: cell{bench: "BenchmarkServeAPI/plain", unit: "p50-ms"}},
	{figure: "the same at 500 req/s: p99",
		value: cell{bench: "BenchmarkServeAPI/write", unit: "p99-ms"},
		ref:   "plain handler at 500 req/s", refVal: cell{bench: "BenchmarkServeAPI/plain", unit: "p99-ms"}, target: "< 20 ms"},
	{figure: "region dashboard page of a published run, cached, in process",
		value: cell{bench: "BenchmarkRegionDashboard", unit: "ns/op"},
		ref:   "the same page built afresh", ratio: "x-uncached"},
	{figure: "authenticated API read (GET /api/v1/cycles), in process",
		value: cell{bench: "BenchmarkAuthenticatedRead", unit: "ns/op"},
		ref:   "plain Fiber handler, same driver", ratio: "x-plain"},
	{figure: "business-environment report, 120 regions, rendered as the job does",
		value: cell{bench: "BenchmarkProvinceReport", unit: "ns/op"},
		ref:   "json.Marshal of the same result", ratio: "x-json"},
	{figure: "resident memory of `ipeval serve` with the demo data, idle",
		value: cell{bench: "BenchmarkServeRSS", unit: "idle-MB"}},
	{figure: "the same at the end of the dashboard and write loads at once",
		value: cell{bench: "BenchmarkServeRSS", unit: "loaded-MB"},
		ref:   "idle", refVal: cell{bench: "BenchmarkServeRSS", unit: "idle-MB"}},
	{figure: "the same, high-water mark",
		value: cell{bench: "BenchmarkServeRSS", unit: "peak-MB"},
		ref:   "idle", refVal: cell{bench: "BenchmarkServeRSS", unit: "idle-MB"}},
}

// writeTable prints the rows in Markdown, then the benchmarks the rows do
// not name, with their metrics as measured.
func writeTable(w io.Writer, r *results, machine string) {
	fmt.Fprintf(w, "Measured %s.\n\n", machine)
	fmt.Fprintln(w, "| figure | measured | reference | reference measured | ratio | target |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	named := map[string]bool{}
	for _, rw := range rows {
		named[rw.value.bench], named[rw.refVal.bench] = true, true
		v, ok := rw.value.value(r)
		if !ok {
			fmt.Fprintf(w, "| %s | not measured | %s |  |  | %s |\n", rw.figure, rw.ref, rw.target)
			continue
		}
		refText, ratio := "", ""
		if rv, ok := rw.refVal.value(r); ok && rw.refVal.bench != "" {
			refText = format(rv, rw.refVal.unit)
			ratio = formatRatio(v / rv)
		}
		if rw.ratio != "" {
			if x, ok := r.metric(rw.value.bench, rw.ratio); ok {
				ratio = formatRatio(x)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", rw.figure, format(v, rw.value.unit), rw.ref, refText, ratio, rw.target)
	}
	var others []string
	for _, name := range r.order {
		if !named[name] {
			others = append(others, name)
		}
	}
	if len(others) == 0 {
		return
	}
	fmt.Fprintln(w, "\nOther benchmarks of the run:")
	fmt.Fprintln(w)
	for _, name := range others {
		m := r.byName[name]
		units := make([]string, 0, len(m))
		for u := range m {
			units = append(units, u)
		}
		slices.Sort(units)
		parts := make([]string, 0, len(units))
		for _, u := range units {
			parts = append(parts, format(m[u], u))
		}
		fmt.Fprintf(w, "- %s: %s\n", name, strings.Join(parts, ", "))
	}
}

// format writes a figure in the unit people read it in.
func format(v float64, unit string) string {
	switch {
	case unit == "ns/op":
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.2f s", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.1f ms", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.1f µs", v/1e3)
		}
		return fmt.Sprintf("%.0f ns", v)
	case strings.HasSuffix(unit, "/s"):
		return thousands(v) + " " + unit
	case strings.HasSuffix(unit, "-ms"):
		return fmt.Sprintf("%.2f ms", v)
	case strings.HasSuffix(unit, "-MB"):
		return fmt.Sprintf("%.0f MB", v)
	case strings.HasPrefix(unit, "x-"):
		return formatRatio(v) + " (" + unit + ")"
	}
	return thousands(v) + " " + unit
}

func formatRatio(x float64) string {
	switch {
	case x >= 10:
		return fmt.Sprintf("%.0f×", x)
	case x >= 0.1:
		return fmt.Sprintf("%.2f×", x)
	case x > 0:
		return "1/" + thousands(1/x)
	}
	return "0×"
}

// thousands writes a number rounded to a whole, with thousands separated.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Round(v))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
