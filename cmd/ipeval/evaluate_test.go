package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
	"github.com/ipeval/ipeval/reports/render"
)

// The small data set: four prefecture cities and the reform zone, with
// every reported indicator of the default scheme and the survey index D1.
// Taiyuan (140100) and Datong (140200) are both strong; Datong allocated
// no funding (F1 = 0), so rule R1 caps it.
var (
	evalRegions = filepath.Join("testdata", "evaluate", "regions.csv")
	evalValues  = filepath.Join("testdata", "evaluate", "values.csv")
	evalSurvey  = filepath.Join("testdata", "evaluate", "survey-index.csv")
)

// runEvaluate runs `ipeval evaluate args...` and returns what it printed.
func runEvaluate(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"evaluate"}, args...), envOf(nil), &out, &errOut)
	return out.String() + errOut.String(), err
}

// readTestCSV reads a small UTF-8 CSV file with a header into maps, without
// any of the command's code, so that the engine input the tests build is
// independent of the one the command builds.
func readTestCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// engineInput builds, from the test files, the Input the server would
// score: the regions except the province, every value verified.
func engineInput(t *testing.T, sc scheme.Scheme, regionsPath, valuesPath, surveyPath string) engine.Input {
	t.Helper()
	in := engine.Input{Scheme: sc, Values: map[string]map[string]engine.Value{}}
	for _, r := range readTestCSV(t, regionsPath) {
		if kind.Kind(r["kind"]) != kind.Province {
			in.Regions = append(in.Regions, engine.Region{Code: r["code"], Name: r["name"], Kind: kind.Kind(r["kind"])})
		}
	}
	put := func(region, ind string, x float64) {
		if in.Values[region] == nil {
			in.Values[region] = map[string]engine.Value{}
		}
		in.Values[region][ind] = engine.Value{Number: x, Status: engine.StatusVerified}
	}
	for _, v := range readTestCSV(t, valuesPath) {
		put(v["地区代码"], v["指标代码"], mustFloat(t, v["数值"]))
	}
	if surveyPath != "" {
		for _, v := range readTestCSV(t, surveyPath) {
			put(v["region_code"], v["indicator_code"], mustFloat(t, v["index"]))
		}
	}
	return in
}

// sameNumbers compares every score of two results to 1e-12.
func sameNumbers(t *testing.T, got, want engine.Result) {
	t.Helper()
	near := func(what string, a, b float64) {
		if math.Abs(a-b) > 1e-12 {
			t.Errorf("%s: file mode %.15g, engine %.15g", what, a, b)
		}
	}
	nearN := func(what string, a, b engine.Number) {
		if a.Valid != b.Valid {
			t.Errorf("%s: file mode %v, engine %v", what, a, b)
			return
		}
		near(what, a.Value, b.Value)
	}
	if len(got.Regions) != len(want.Regions) {
		t.Fatalf("%d regions, engine %d", len(got.Regions), len(want.Regions))
	}
	for i, g := range got.Regions {
		w := want.Regions[i]
		if g.Code != w.Code || g.Rank != w.Rank || g.BandGrade != w.BandGrade || g.Grade != w.Grade || g.AwardEligible != w.AwardEligible {
			t.Errorf("region %s: %+v, engine %+v", g.Code,
				[]any{g.Code, g.Rank, g.BandGrade, g.Grade, g.AwardEligible}, []any{w.Code, w.Rank, w.BandGrade, w.Grade, w.AwardEligible})
		}
		nearN(g.Code+" score", g.Score, w.Score)
		near(g.Code+" coverage", g.Coverage, w.Coverage)
		for d := range g.Dimensions {
			nearN(g.Code+" "+g.Dimensions[d].Code, g.Dimensions[d].Score, w.Dimensions[d].Score)
		}
		for j, ir := range g.Indicators {
			wi := w.Indicators[j]
			nearN(g.Code+" "+ir.Code+" score", ir.Score, wi.Score)
			near(g.Code+" "+ir.Code+" weight", ir.Weight, wi.Weight)
			near(g.Code+" "+ir.Code+" contribution", ir.Contribution, wi.Contribution)
		}
	}
}

func readResult(t *testing.T, path string) ([]byte, engine.Result) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res engine.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("results JSON: %v", err)
	}
	return b, res
}

// TestEvaluateFileMode scores the data set from files and checks rule R1
// and that file mode gives exactly the engine's numbers.
func TestEvaluateFileMode(t *testing.T) {
	def := scheme.Default()
	schemeJSON, err := def.JSON()
	if err != nil {
		t.Fatal(err)
	}
	schemeYAML, err := def.YAML()
	if err != nil {
		t.Fatal(err)
	}
	values, err := os.ReadFile(evalValues)
	if err != nil {
		t.Fatal(err)
	}
	funded := bytes.Replace(values, []byte("140200,F1,0,"), []byte("140200,F1,260,"), 1)
	if bytes.Equal(funded, values) {
		t.Fatal("test data: Datong's F1 row not found")
	}
	tests := []struct {
		name    string
		scheme  []byte // nil: the literal "default"
		values  []byte
		survey  bool
		grade   string // Datong's final grade
		award   bool
		rules   int
		summary string
	}{
		{"F1=0 caps excellent", nil, values, true, "good", false, 1, "5 graded, 0 not graded, 1 capped by rules, 1 award-ineligible"},
		{"F1>0 stays excellent", nil, funded, true, "excellent", true, 0, "5 graded, 0 not graded, 0 capped by rules, 0 award-ineligible"},
		{"scheme file YAML", schemeYAML, values, true, "good", false, 1, "1 capped by rules"},
		{"scheme file JSON, no survey", schemeJSON, values, false, "good", false, 1, "1 capped by rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			schemeArg, sc := "default", def
			if tt.scheme != nil {
				schemeArg = filepath.Join(dir, "scheme.txt")
				if err := os.WriteFile(schemeArg, tt.scheme, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			valuesPath := filepath.Join(dir, "values.csv")
			if err := os.WriteFile(valuesPath, tt.values, 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "results.json")
			args := []string{"--scheme", schemeArg, "--regions", evalRegions, "--values", valuesPath, "--out", out}
			survey := ""
			if tt.survey {
				survey = evalSurvey
				args = append(args, "--survey-index", survey)
			}
			printed, err := runEvaluate(args...)
			if err != nil {
				t.Fatalf("evaluate: %v\n%s", err, printed)
			}
			if !strings.Contains(printed, "evaluated 5 regions") || !strings.Contains(printed, tt.summary) {
				t.Errorf("summary %q, want %q", printed, tt.summary)
			}
			raw, res := readResult(t, out)

			taiyuan, ok1 := res.Region("140100")
			datong, ok2 := res.Region("140200")
			if !ok1 || !ok2 {
				t.Fatalf("regions in the result: %d", len(res.Regions))
			}
			if _, ok := res.Region("140000"); ok {
				t.Error("the province was assessed")
			}
			if taiyuan.Grade != "excellent" || !taiyuan.AwardEligible {
				t.Errorf("Taiyuan (F1 > 0): grade %q, award eligible %v; want excellent, true", taiyuan.Grade, taiyuan.AwardEligible)
			}
			if datong.BandGrade != "excellent" || datong.Grade != tt.grade || datong.AwardEligible != tt.award || len(datong.Rules) != tt.rules {
				t.Errorf("Datong: band %q grade %q award %v rules %d; want excellent %q %v %d",
					datong.BandGrade, datong.Grade, datong.AwardEligible, len(datong.Rules), tt.grade, tt.award, tt.rules)
			}
			if tt.rules > 0 && (datong.Rules[0].ID != "R1" || datong.GradeRule != "R1") {
				t.Errorf("Datong's rule: %+v", datong.Rules)
			}
			for _, r := range res.Regions {
				if r.Status != engine.StatusOK {
					t.Errorf("%s: status %s", r.Code, r.Status)
				}
			}

			// File mode gives the engine's numbers: score the same data
			// with evaluation.Evaluate directly.
			in := engineInput(t, sc, evalRegions, valuesPath, survey)
			want, err := engine.Evaluate(in, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			sameNumbers(t, res, want)
			// And the very bytes a server run would store.
			wantRaw, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, wantRaw) {
				t.Error("the results file differs from json.Marshal of the engine's result")
			}
		})
	}
}

// TestEvaluateValuesWorkbook reads the same values from Excel workbooks in
// both layouts and gets the same results as from the CSV file.
func TestEvaluateValuesWorkbook(t *testing.T) {
	dir := t.TempDir()
	fromCSV := filepath.Join(dir, "from-csv.json")
	if out, err := runEvaluate("--scheme", "default", "--regions", evalRegions, "--values", evalValues,
		"--survey-index", evalSurvey, "--out", fromCSV); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want, _ := readResult(t, fromCSV)
	rows := readTestCSV(t, evalValues)

	perRegion := func(f *excelize.File) error {
		sh := "Sheet1"
		if err := f.SetSheetRow(sh, "A1", &[]any{"地区代码", "指标代码", "数值"}); err != nil {
			return err
		}
		for i, r := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			// Numbers as numbers, as a spreadsheet holds them.
			if err := f.SetSheetRow(sh, cell, &[]any{r["地区代码"], r["指标代码"], mustFloat(t, r["数值"])}); err != nil {
				return err
			}
		}
		return nil
	}
	grid := func(f *excelize.File) error {
		sh := "Sheet1"
		var inds []string
		byRegion := map[string]map[string]string{}
		var regions []string
		for _, r := range rows {
			rc, ic := r["地区代码"], r["指标代码"]
			if byRegion[rc] == nil {
				byRegion[rc] = map[string]string{}
				regions = append(regions, rc)
			}
			if len(regions) == 1 {
				inds = append(inds, ic)
			}
			byRegion[rc][ic] = r["数值"]
		}
		header := []any{"地区代码", "地区名称"}
		for _, ic := range inds {
			header = append(header, ic)
		}
		if err := f.SetSheetRow(sh, "A1", &header); err != nil {
			return err
		}
		for i, rc := range regions {
			row := []any{rc, ""}
			for _, ic := range inds {
				row = append(row, mustFloat(t, byRegion[rc][ic]))
			}
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			if err := f.SetSheetRow(sh, cell, &row); err != nil {
				return err
			}
		}
		return nil
	}
	for name, fill := range map[string]func(*excelize.File) error{"per-region": perRegion, "per-cycle grid": grid} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			f := excelize.NewFile()
			if err := fill(f); err != nil {
				t.Fatal(err)
			}
			book := filepath.Join(dir, "values.xlsx")
			if err := f.SaveAs(book); err != nil {
				t.Fatal(err)
			}
			_ = f.Close()
			out := filepath.Join(dir, "results.json")
			if printed, err := runEvaluate("--scheme", "default", "--regions", evalRegions, "--values", book,
				"--survey-index", evalSurvey, "--out", out); err != nil {
				t.Fatalf("%v\n%s", err, printed)
			}
			got, _ := readResult(t, out)
			if !bytes.Equal(got, want) {
				t.Error("results from the workbook differ from those from the CSV file")
			}
		})
	}
}

// TestEvaluateOutputs writes the results workbook and the HTML report.
func TestEvaluateOutputs(t *testing.T) {
	dir := t.TempDir()
	// A park without any values, whose name needs escaping: it is listed,
	// not graded, and never injects markup.
	regions, err := os.ReadFile(evalRegions)
	if err != nil {
		t.Fatal(err)
	}
	const hostile = `<script>alert("x")</script>园区`
	regions = append(regions, []byte("P01,\""+strings.ReplaceAll(hostile, `"`, `""`)+"\",park,140000\n")...)
	regionsPath := filepath.Join(dir, "regions.csv")
	if err := os.WriteFile(regionsPath, regions, 0o600); err != nil {
		t.Fatal(err)
	}
	out, report := filepath.Join(dir, "results.xlsx"), filepath.Join(dir, "report.html")
	printed, err := runEvaluate("--scheme", "default", "--regions", regionsPath, "--values", evalValues,
		"--survey-index", evalSurvey, "--out", out, "--report", report)
	if err != nil {
		t.Fatalf("%v\n%s", err, printed)
	}
	if !strings.Contains(printed, "evaluated 6 regions") || !strings.Contains(printed, "1 not graded") {
		t.Errorf("summary %q", printed)
	}

	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatalf("open results workbook: %v", err)
	}
	defer f.Close()
	// The server's run workbook (its cells are compared with a server
	// run's in TestEvaluateMatchesServerRun).
	want := []string{render.SheetResults, render.SheetIndicators, render.SheetRules, render.SheetSensitivity, render.SheetAbout}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	nInd := len(scheme.Default().Indicators)
	for sheet, want := range map[string]int{render.SheetResults: 1 + 6, render.SheetIndicators: 1 + 6*nInd} {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != want {
			t.Errorf("sheet %s: %d rows, want %d", sheet, len(rows), want)
		}
	}
	rows, _ := f.GetRows(render.SheetResults)
	byCode := map[string][]string{}
	for _, r := range rows[1:] {
		byCode[r[1]] = r
	}
	datong := strings.Join(byCode["140200"], "|")
	for _, want := range []string{"大同市", "优秀", "良好", "R1", "否"} {
		if !strings.Contains(datong, want) {
			t.Errorf("Datong's row %q lacks %q", datong, want)
		}
	}
	if row := byCode["P01"]; len(row) < 3 || row[2] != hostile {
		t.Errorf("the park's row: %q", row)
	}
	scoreCell, _ := f.GetCellValue(render.SheetIndicators, "J2", excelize.Options{RawCellValue: true})
	if _, err := strconv.ParseFloat(scoreCell, 64); err != nil {
		t.Errorf("%s J2 is not a number: %q", render.SheetIndicators, scoreCell)
	}

	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	if !strings.HasPrefix(page, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Errorf("report does not start with <!doctype html> and end with </html>")
	}
	for _, want := range []string{"太原市", "大同市", "阳泉市", "长治市", "山西转型综合改革示范区", "R1", "四（三）", "&lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("report carries a script element: the region name was not escaped")
	}
	if m := regexp.MustCompile(`(?i)https?:|<link|\ssrc=|@import|url\(`).FindString(page); m != "" {
		t.Errorf("report refers to an external resource: %q", m)
	}
	for _, tag := range []string{"table", "tr", "section", "p"} {
		open := len(regexp.MustCompile(`<`+tag+`[\s>]`).FindAllString(page, -1))
		if closed := strings.Count(page, "</"+tag+">"); open != closed || open == 0 {
			t.Errorf("<%s>: %d opened, %d closed", tag, open, closed)
		}
	}
	if i, j := strings.Index(page, "太原市"), strings.Index(page, "长治市"); i < 0 || j < i {
		t.Error("the report's table is not in rank order")
	}

	// Nothing else is left in the directory: no temporary files.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left: %v", names)
	}
}

// TestEvaluateBadInput: every problem is listed with its place, and
// nothing is written.
func TestEvaluateBadInput(t *testing.T) {
	values, err := os.ReadFile(evalValues)
	if err != nil {
		t.Fatal(err)
	}
	nValueLines := bytes.Count(values, []byte("\n"))
	// line is the row of the k-th appended line, rowOf the row of a line
	// of the test data.
	line := func(k int) string { return "row " + strconv.Itoa(nValueLines+k) }
	rowOf := func(prefix string) string {
		i := bytes.Index(values, []byte("\n"+prefix))
		if i < 0 {
			t.Fatalf("test data: no line %s", prefix)
		}
		return "row " + strconv.Itoa(bytes.Count(values[:i+1], []byte("\n"))+1)
	}
	def, err := scheme.Default().YAML()
	if err != nil {
		t.Fatal(err)
	}
	badScheme := bytes.Replace(def, []byte("lower: 0"), []byte("lower: 50"), 1)

	tests := []struct {
		name    string
		args    []string // with {values}, {scheme}, {survey}, {out} and {report} replaced
		values  string   // appended to the values file
		replace []string // old, new pairs replaced in the values file
		survey  string   // survey file contents, when not the test data's
		wantErr error
		want    []string // in the error
	}{
		{name: "unknown indicator", values: "140100,X9,3,,\n",
			wantErr: fault.ErrBadRequest, want: []string{line(1), "column C", "indicator X9", "the scheme has no indicator X9", "评价方案中没有指标：X9"}},
		{name: "every problem at once",
			values:  "149900,A2,3,,\n140400,D1,80,,\n140000,A2,4,,\n",
			replace: []string{"140100,C4,100,", "140100,C4,150,", "140300,B1,400,", "140300,B1,abc,"},
			wantErr: fault.ErrBadRequest,
			want: []string{"5 problem(s)", line(1) + ", column C, indicator A2: unknown region code: 149900",
				rowOf("140100,C4,") + ", column C, indicator C4: value must be at most 100 %", rowOf("140300,B1,") + ", column C, indicator B1",
				"not a number", line(2) + ", column C, indicator D1", "comes from survey results", line(3), "is a province"}},
		{name: "duplicate value", values: "140100,A2,3,,\n", wantErr: fault.ErrBadRequest, want: []string{line(1), "twice"}},
		{name: "survey problems", survey: "region_code,indicator_code,index\n140100,D1,120\n140200,A1,50\n140300,D1,x\n",
			wantErr: fault.ErrBadRequest, want: []string{"row 2, column C, indicator D1", "between 0 and 100",
				"row 3, column B, indicator A1", "not survey-sourced", "row 4", "not a number"}},
		{name: "survey without index column", survey: "region_code,indicator_code\n140100,D1\n",
			wantErr: fault.ErrBadRequest, want: []string{"row 1", "no column index"}},
		{name: "invalid scheme", args: []string{"--scheme", "{scheme}", "--regions", evalRegions, "--values", "{values}", "--out", "{out}"},
			wantErr: fault.ErrBadRequest,
			want:    []string{"bad.yaml", "normalisation"}},
		{name: "missing --values", args: []string{"--scheme", "default", "--regions", evalRegions, "--out", "{out}"}, wantErr: errUsage,
			want: []string{"--values"}},
		{name: "missing --out", args: []string{"--scheme", "default", "--values", "{values}"}, wantErr: errUsage,
			want: []string{"--out"}},
		{name: "unknown output format", args: []string{"--scheme", "default", "--regions", evalRegions, "--values", "{values}", "--out", "{out}.csv"},
			wantErr: errUsage, want: []string{".json or .xlsx"}},
		{name: "extra argument", args: []string{"--scheme", "default", "--regions", evalRegions, "--values", "{values}", "--out", "{out}", "now"},
			wantErr: errUsage, want: []string{`"now"`}},
		{name: "values file missing", args: []string{"--scheme", "default", "--regions", evalRegions, "--values", "{values}.nope.csv", "--out", "{out}"},
			want: []string{"values file", "values.csv.nope.csv"}},
		{name: "values file of another type", args: []string{"--scheme", "default", "--regions", evalRegions, "--values", "{scheme}", "--out", "{out}"},
			want: []string{"bad.yaml", "(.xlsx)", "(.csv)"}},
		{name: "regions file missing", args: []string{"--scheme", "default", "--regions", "{values}.regions.csv", "--values", "{values}", "--out", "{out}"},
			want: []string{"regions file", "regions.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, outDir := t.TempDir(), t.TempDir()
			valuesPath, surveyPath, schemePath := filepath.Join(in, "values.csv"), filepath.Join(in, "survey.csv"), filepath.Join(in, "bad.yaml")
			write := func(path string, b []byte) {
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			vals := append(bytes.Clone(values), tt.values...)
			for i := 0; i+1 < len(tt.replace); i += 2 {
				vals = bytes.Replace(vals, []byte(tt.replace[i]), []byte(tt.replace[i+1]), 1)
			}
			write(valuesPath, vals)
			write(schemePath, badScheme)
			survey, err := os.ReadFile(evalSurvey)
			if err != nil {
				t.Fatal(err)
			}
			if tt.survey != "" {
				survey = []byte(tt.survey)
			}
			write(surveyPath, survey)
			args := slices.Clone(tt.args)
			if args == nil {
				args = []string{"--scheme", "default", "--regions", evalRegions, "--values", "{values}", "--survey-index", "{survey}",
					"--out", "{out}", "--report", "{report}"}
			}
			repl := strings.NewReplacer("{values}", valuesPath, "{survey}", surveyPath, "{scheme}", schemePath,
				"{out}", filepath.Join(outDir, "results.json"), "{report}", filepath.Join(outDir, "report.html"))
			for i := range args {
				args[i] = repl.Replace(args[i])
			}
			_, err = runEvaluate(args...)
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && errors.Is(err, errUsage) {
				t.Errorf("error %v is a usage error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("files written despite the error: %d", len(entries))
			}
		})
	}
}

// TestEvaluateDefaultRegions scores against Shanxi's regions when no
// regions file is given: the cities without values are scored as missing.
func TestEvaluateDefaultRegions(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	if printed, err := runEvaluate("--scheme", "default", "--values", evalValues, "--survey-index", evalSurvey, "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, printed)
	}
	_, res := readResult(t, out)
	if len(res.Regions) != 12 {
		t.Fatalf("scored %d regions, want Shanxi's 12", len(res.Regions))
	}
}

// TestEvaluateRegionsAsServer: file mode reads a regions file as the
// server's region import does, refusing what the import refuses.
func TestEvaluateRegionsAsServer(t *testing.T) {
	for _, tt := range []struct {
		name, regions string
		want          []string
	}{
		{"Chinese header", "地区代码,地区名称,地区类型\n140100,太原市,prefecture_city\n", []string{"row 1", "missing column: code"}},
		{"unknown parent", "code,name,kind,parent\n140100,太原市,prefecture_city,149999\n", []string{"row 2", "parent region does not exist: 149999"}},
		{"repeated code", "code,name,kind\n140100,太原市,prefecture_city\n140100,太原,prefecture_city\n", []string{"row 3", "code repeats row 2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			regionsPath := filepath.Join(dir, "regions.csv")
			if err := os.WriteFile(regionsPath, []byte(tt.regions), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := runEvaluate("--scheme", "default", "--regions", regionsPath, "--values", evalValues, "--out", filepath.Join(dir, "results.json"))
			if !errors.Is(err, fault.ErrBadRequest) {
				t.Fatalf("error %v, want a bad request", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
