package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/evaluation/filemode"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/demo"
	"github.com/ipeval/ipeval/reports/render"
)

// File mode: `ipeval evaluate` scores a scheme, a regions list and a values
// file with the same engine the server runs, without a server or a
// database. The files are the manager's final data, so every value counts
// as verified; any problem in them fails the command before anything is
// written.

const evaluateUsage = `Usage: ipeval evaluate --scheme S.yaml|default [--regions R.csv] --values V.xlsx|V.csv
                      [--survey-index I.csv] --out results.json|results.xlsx [--report report.html] [--year Y]

Scores the values with the assessment engine, with no server and no database.
Every value in the files counts as verified; any problem in them is listed
(file, row, column, indicator) and nothing is written.

  --scheme        scheme file (YAML or JSON), or "default" for the built-in Shanxi scheme
  --regions       regions CSV with the header code,name,kind[,parent] (as for the server's
                  region import); default: Shanxi's eleven cities and the reform zone;
                  regions of kind province are not assessed
  --values        indicator values: the per-region layout (columns 地区代码, 指标代码, 数值
                  and optionally 不适用, 说明) or the per-cycle grid (地区代码 then one column per
                  indicator code), as .xlsx or .csv (UTF-8 or GB18030)
  --survey-index  survey-sourced indicator values (0–100), CSV with the header
                  region_code,indicator_code,index[,se,ci_low,ci_high,n]
  --out           results: .json (the engine's result, as the server stores it) or .xlsx
                  (the server's run workbook)
  --report        the server's HTML report of a run, self-contained (its style sheet
                  inlined; without scripts, so its charts are not drawn)
  --year          the assessment year the workbook and the report name (default: this year)

Flags:
`

// evaluateCmd runs file mode.
func evaluateCmd(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("ipeval evaluate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	schemePath := fs.String("scheme", "", `scheme file (YAML or JSON), or "default"`)
	regionsPath := fs.String("regions", "", "regions CSV: code,name,kind[,parent] (default: Shanxi's)")
	valuesPath := fs.String("values", "", "indicator values, .xlsx or .csv")
	surveyPath := fs.String("survey-index", "", "survey indices CSV: region_code,indicator_code,index[,se,ci_low,ci_high,n]")
	outPath := fs.String("out", "", "results file, .json or .xlsx")
	reportPath := fs.String("report", "", "HTML report file")
	year := fs.Int("year", time.Now().Year(), "the assessment year the workbook and report name")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), evaluateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, val string }{
		{"--scheme", *schemePath}, {"--values", *valuesPath}, {"--out", *outPath},
	} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("evaluate needs %s: %w", strings.Join(missing, ", "), errUsage)
	}
	format := strings.ToLower(filepath.Ext(*outPath))
	if format != ".json" && format != ".xlsx" {
		return fmt.Errorf("evaluate --out %s: the results file must end in .json or .xlsx: %w", *outPath, errUsage)
	}
	if *reportPath != "" && filepath.Clean(*reportPath) == filepath.Clean(*outPath) {
		return fmt.Errorf("evaluate: --out and --report name the same file: %w", errUsage)
	}

	sc, err := loadScheme(*schemePath)
	if err != nil {
		return err
	}
	regs, err := loadRegions(*regionsPath)
	if err != nil {
		return err
	}
	values, err := readInput("values", *valuesPath)
	if err != nil {
		return err
	}
	survey := filemode.File{Name: *surveyPath}
	if *surveyPath != "" {
		if survey.Data, err = readInput("survey index", *surveyPath); err != nil {
			return err
		}
	}
	in, err := filemode.ReadInput(sc, regs, filemode.File{Name: *valuesPath, Data: values}, survey)
	if err != nil {
		return err
	}
	res, err := engine.Evaluate(in, engine.Options{})
	if err != nil {
		return explain(err)
	}

	var files []outFile
	switch format {
	case ".json":
		// The bytes the server stores for a run: json.Marshal of the Result.
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
		files = append(files, outFile{*outPath, b})
	case ".xlsx":
		// The server's run workbook, of a run that has no id, cycle or
		// sensitivity analysis.
		var buf bytes.Buffer
		info := render.RunInfo{CycleYear: *year, SchemeVersion: sc.Version, EngineVersion: res.EngineVersion}
		if err := render.Workbook(&buf, render.RunData{Info: info, Input: in, Result: res}); err != nil {
			return err
		}
		files = append(files, outFile{*outPath, buf.Bytes()})
	}
	if *reportPath != "" {
		rep, err := render.RenderReport(render.ReportInput{Scheme: sc, Result: res,
			Cycle: render.ReportCycle{Year: *year}, Standalone: true})
		if err != nil {
			return err
		}
		files = append(files, outFile{*reportPath, rep.HTML})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeAtomically(files); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, summaryLine(res, files))
	return nil
}

// summaryLine says in one line what was scored and written.
func summaryLine(res engine.Result, files []outFile) string {
	var graded, capped, ineligible, ungraded int
	for _, r := range res.Regions {
		if r.Grade != "" {
			graded++
		} else {
			ungraded++
		}
		if r.GradeRule != "" && r.Grade != r.BandGrade {
			capped++
		}
		if !r.AwardEligible {
			ineligible++
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.path
	}
	return fmt.Sprintf("evaluated %d regions with %s v%d: %d graded, %d not graded, %d capped by rules, %d award-ineligible; wrote %s",
		len(res.Regions), res.SchemeCode, res.SchemeVersion, graded, ungraded, capped, ineligible, strings.Join(names, ", "))
}

// loadScheme reads a scheme file, or the built-in default.
func loadScheme(path string) (scheme.Scheme, error) {
	if path == "default" {
		return scheme.Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return scheme.Scheme{}, fmt.Errorf("scheme file: %w", err)
	}
	sc, err := scheme.Parse(data)
	if err != nil {
		return scheme.Scheme{}, fmt.Errorf("scheme file %s: %w", path, explain(err))
	}
	return sc, nil
}

// readInput reads an input file, naming it in the error.
func readInput(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s file: %w", what, err)
	}
	return b, nil
}

// outFile is one output, written whole or not at all.
type outFile struct {
	path string
	data []byte
}

// writeAtomically writes every file to a temporary file beside it and only
// then renames them into place, so that a failure leaves no partial output
// and, before the renames, no output at all.
func writeAtomically(files []outFile) (err error) {
	var temps []string
	defer func() {
		if err != nil {
			for _, t := range temps {
				_ = os.Remove(t)
			}
		}
	}()
	for _, f := range files {
		tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".*.tmp")
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		temps = append(temps, tmp.Name())
		_, err = tmp.Write(f.data)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o644)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	for i, f := range files {
		if err := os.Rename(temps[i], f.path); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// loadRegions reads a regions file; without a path, Shanxi's regions, the
// demo's.
func loadRegions(path string) (filemode.Regions, error) {
	if path == "" {
		return filemode.ReadRegions("regions", demo.RegionsCSV())
	}
	data, err := readInput("regions", path)
	if err != nil {
		return filemode.Regions{}, err
	}
	return filemode.ReadRegions(path, data)
}
