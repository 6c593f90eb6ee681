package filemode_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipeval/ipeval/evaluation/filemode"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
)

// testdata is file mode's example input, which cmd/ipeval's tests score.
var testdata = filepath.Join("..", "..", "cmd", "ipeval", "testdata", "evaluate")

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzReadInput feeds file mode's readers arbitrary regions, values and
// survey-index files: they may refuse them, but only as a bad request
// (the command's exit 1 with every problem listed), never by panicking or
// with another kind of error, and what they accept is an input the engine
// can be given.
func FuzzReadInput(f *testing.F) {
	f.Add(readFile(f, "regions.csv"), readFile(f, "values.csv"), readFile(f, "survey-index.csv"))
	f.Add([]byte("code,name,kind\n140100,太原市,prefecture_city\n"), []byte("地区代码,指标代码,数值\n140100,A1,1e308\n"), []byte("region_code,indicator_code,index\n140100,D1,NaN\n"))
	f.Add([]byte("\ufeffcode,name,kind\n"), []byte(""), []byte("region_code,indicator_code,index,se\n140100,D1,\"5\n"))
	sc := scheme.Default()
	f.Fuzz(func(t *testing.T, regionsCSV, values, survey []byte) {
		regs, err := filemode.ReadRegions("regions.csv", regionsCSV)
		if err != nil {
			if !errors.Is(err, fault.ErrBadRequest) {
				t.Fatalf("regions refused with %v, want a bad request", err)
			}
			return
		}
		in, err := filemode.ReadInput(sc, regs, filemode.File{Name: "values.csv", Data: values}, filemode.File{Name: "survey.csv", Data: survey})
		if err != nil {
			if !errors.Is(err, fault.ErrBadRequest) {
				t.Fatalf("input refused with %v, want a bad request", err)
			}
			return
		}
		if len(in.Regions) != len(regs.Assessed) {
			t.Fatalf("input scores %d regions, the regions file lists %d", len(in.Regions), len(regs.Assessed))
		}
	})
}
