// Command benchtable turns the output of `go test -bench` into the one table
// of `make bench`: every figure of ipeval beside its reference, measured in
// the same run on the same machine. It copies its input to its output as it
// comes, so that a long run shows progress, then prints the table in
// Markdown, ready for the README. It exits non-zero when the run failed or
// measured nothing.
//
//	go test -run '^$' -bench . ./... | go run ./cmd/benchtable
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

func main() {
	res, err := read(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	fmt.Println()
	writeTable(os.Stdout, res, machine(res, time.Now()))
	if res.failed {
		fmt.Fprintln(os.Stderr, "benchtable: the benchmark run failed (see FAIL above)")
		os.Exit(1)
	}
}

// read parses benchmark results from r, copying every line to echo.
func read(r io.Reader, echo io.Writer) (*results, error) {
	res := newResults()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		res.add(line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(res.byName) == 0 {
		return nil, fmt.Errorf("no benchmark results in the input")
	}
	return res, nil
}

// machine describes where the figures were measured.
func machine(res *results, now time.Time) string {
	cpu := res.cpu
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return fmt.Sprintf("%s, %s, %d cores, %s", now.Format("2006-01-02"), cpu, runtime.NumCPU(), runtime.Version())
}
