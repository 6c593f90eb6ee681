package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestTable turns a recorded benchmark run into the table and compares it
// with testdata/table.golden (go test -update rewrites it).
func TestTable(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "bench.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var echo bytes.Buffer
	res, err := read(bytes.NewReader(in), &echo)
	if err != nil {
		t.Fatal(err)
	}
	if echo.String() != string(in) {
		t.Error("the input was not copied through unchanged")
	}
	if res.failed {
		t.Error("a passing run read as failed")
	}
	var out bytes.Buffer
	writeTable(&out, res, "2026-11-25, Example CPU @ 2.00GHz, 2 cores, go1.26")
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("table differs from %s (go test -update rewrites it):\n%s", golden, out.String())
	}
}

func TestReadRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"nothing measured": "goos: linux\nPASS\nok  \tx\t0.1s\n",
		"empty":            "",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := read(strings.NewReader(in), &bytes.Buffer{}); err == nil {
				t.Error("want an error")
			}
		})
	}
	res, err := read(strings.NewReader("BenchmarkX-2  10  5 ns/op\n--- FAIL: BenchmarkY\nFAIL\n"), &bytes.Buffer{})
	if err != nil || !res.failed {
		t.Errorf("a failed run: failed=%v, err %v", res != nil && res.failed, err)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{17_500_000, "ns/op", "17.5 ms"},
		{1_900_000_000, "ns/op", "1.90 s"},
		{400.5, "ns/op", "400 ns"},
		{1_600, "ns/op", "1.6 µs"},
		{65384.4, "req/s", "65,384 req/s"},
		{2_490_000, "rows/s", "2,490,000 rows/s"},
		{1.278, "p99-ms", "1.28 ms"},
		{41.43, "idle-MB", "41 MB"},
		{0.4856, "x-plain", "0.49× (x-plain)"},
		{0.0045, "x-plain", "1/222 (x-plain)"},
		{999, "allocs/op", "999 allocs/op"},
	} {
		if got := format(c.v, c.unit); got != c.want {
			t.Errorf("format(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}
