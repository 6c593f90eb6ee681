package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
)

// TestProbe01FileModeBound: file mode refuses a value beyond ±1e15 by row,
// with the bound, as the server does, and writes nothing.
func TestProbe01FileModeBound(t *testing.T) {
	values, err := os.ReadFile(evalValues)
	if err != nil {
		t.Fatal(err)
	}
	before, _, ok := bytes.Cut(values, []byte("\n140300,B1,400,"))
	if !ok {
		t.Fatal("test data: no line 140300,B1,400")
	}
	row := bytes.Count(before, []byte("\n")) + 2
	values = bytes.Replace(values, []byte("140300,B1,400,"), []byte("140300,B1,1e308,"), 1)
	in, outDir := t.TempDir(), t.TempDir()
	path := filepath.Join(in, "values.csv")
	if err := os.WriteFile(path, values, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = runEvaluate("--scheme", "default", "--regions", evalRegions, "--values", path, "--out", filepath.Join(outDir, "results.json"))
	if !errors.Is(err, fault.ErrBadRequest) {
		t.Fatalf("error %v, want a bad request", err)
	}
	for _, want := range []string{"row " + strconv.Itoa(row), "indicator B1", "1e15"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
		t.Errorf("files written despite the error: %d", len(entries))
	}
}
