package main

import (
	"regexp"
	"strconv"
	"strings"
)

// results are the benchmark lines of one run, by name.
type results struct {
	// byName maps a benchmark's name, without the GOMAXPROCS suffix, to
	// its metrics by unit (ns/op, req/s, x-plain, …).
	byName map[string]map[string]float64
	// order lists the names as they came.
	order []string
	cpu   string
	// failed is set by a FAIL line: a benchmark or a package failed.
	failed bool
}

func newResults() *results { return &results{byName: map[string]map[string]float64{}} }

// benchLine is "BenchmarkName-2   <iterations>   <value> <unit> ...".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// add takes one line of `go test -bench` output.
func (r *results) add(line string) {
	switch {
	case strings.HasPrefix(line, "cpu: "):
		r.cpu = strings.TrimPrefix(line, "cpu: ")
		return
	case strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL"):
		r.failed = true
		return
	}
	m := benchLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	fields := strings.Fields(m[3])
	metrics := map[string]float64{}
	for i := 0; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return // not a result line after all
		}
		metrics[fields[i+1]] = v
	}
	if len(metrics) == 0 {
		return
	}
	if _, seen := r.byName[m[1]]; !seen {
		r.order = append(r.order, m[1])
	}
	r.byName[m[1]] = metrics
}

// metric returns a benchmark's figure in unit, if it was measured.
func (r *results) metric(bench, unit string) (float64, bool) {
	v, ok := r.byName[bench][unit]
	return v, ok
}
