package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/sheet"
	"github.com/ipeval/ipeval/internal/demo"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/regions/kind"
)

// File mode: `ipeval evaluate` scores a scheme, a regions list and a values
// file with the same engine the server runs, without a server or a
// database. The files are the manager's final data, so every value counts
// as verified; any problem in them fails the command before anything is
// written.

const evaluateUsage = `Usage: ipeval evaluate --scheme S.yaml|default [--regions R.csv] --values V.xlsx|V.csv
                      [--survey-index I.csv] --out results.json|results.xlsx [--report report.html]

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
                  (sheets 结果, 指标得分, 说明)
  --report        a self-contained HTML report

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
	in, err := loadInput(sc, regs, *valuesPath, *surveyPath)
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
		b, err := resultsWorkbook(sc, res)
		if err != nil {
			return err
		}
		files = append(files, outFile{*outPath, b})
	}
	if *reportPath != "" {
		b, err := resultsReport(sc, res)
		if err != nil {
			return err
		}
		files = append(files, outFile{*reportPath, b})
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

// fileProblems are the problems found in one input file.
type fileProblems struct {
	file string
	errs []fault.FieldError
}

// inputError lists every problem of the input files. It is a bad request:
// the command exits 1 and writes nothing.
func inputError(groups ...fileProblems) error {
	var b strings.Builder
	n := 0
	for _, g := range groups {
		slices.SortStableFunc(g.errs, func(a, b fault.FieldError) int { return cmp.Compare(a.Row, b.Row) })
		for _, fe := range g.errs {
			n++
			fmt.Fprintf(&b, "\n  %s: %s (%s)", problemPlace(g.file, fe), fe.MessageEn, fe.Message)
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d problem(s) in the input, nothing written:%s", fault.ErrBadRequest, n, b.String())
}

// problemPlace names where a problem is: file, row, column, indicator.
func problemPlace(file string, fe fault.FieldError) string {
	parts := []string{file}
	if fe.Row > 0 {
		parts = append(parts, fmt.Sprintf("row %d", fe.Row))
	}
	if fe.Column != "" {
		parts = append(parts, "column "+fe.Column)
	}
	if fe.Indicator != "" {
		parts = append(parts, "indicator "+fe.Indicator)
	}
	if fe.Row == 0 && fe.Field != "" {
		parts = append(parts, fe.Field)
	}
	return strings.Join(parts, ", ")
}

// fileError describes a file that could not be read at all.
func fileError(file string, err error) error {
	var ve *fault.ValidationError
	if errors.As(err, &ve) {
		return inputError(fileProblems{file, ve.Errors})
	}
	var d *fault.Detailed
	if errors.As(err, &d) {
		return fmt.Errorf("%s: %s (%s): %w", file, d.Detail, d.DetailZh, d.Err)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// readInput reads an input file, naming it in the error.
func readInput(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s file: %w", what, err)
	}
	return b, nil
}

// csvTable reads a CSV file (UTF-8 or GB18030) whose first non-empty line
// is a header. cols maps the header's names, lower-cased, to canonical
// names; required lists the canonical names that must be present. fn gets
// every non-empty data row with its line number and a cell getter.
func csvTable(file string, data []byte, cols map[string]string, required []string,
	fn func(line int, cell func(name string) string, column func(name string) string)) error {
	text, err := textenc.ToUTF8(data)
	if err != nil {
		return inputError(fileProblems{file, []fault.FieldError{{Row: 1, Code: "bad_encoding",
			Message: "无法识别文件编码（应为 UTF-8 或 GB18030）", MessageEn: "unrecognised encoding (want UTF-8 or GB18030)"}}})
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	var index map[string]int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return inputError(fileProblems{file, []fault.FieldError{{Row: line, Code: "malformed_csv",
				Message: "CSV 格式错误（请检查引号）", MessageEn: "malformed CSV (check the quotes): " + err.Error()}}})
		}
		empty := true
		for i := range rec {
			if rec[i] = trimCell(rec[i]); rec[i] != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		if index == nil {
			index = map[string]int{}
			var errs []fault.FieldError
			for i, h := range rec {
				name, ok := cols[strings.ToLower(h)]
				if !ok {
					continue
				}
				if _, dup := index[name]; dup {
					errs = append(errs, fault.FieldError{Row: line, Column: columnName(i), Code: "duplicate_column",
						Message: fmt.Sprintf("表头“%s”重复", h), MessageEn: fmt.Sprintf("the header %q appears twice", h)})
					continue
				}
				index[name] = i
			}
			for _, name := range required {
				if _, ok := index[name]; !ok {
					errs = append(errs, fault.FieldError{Row: line, Field: name, Code: "missing_column",
						Message: "表头缺少列：" + name, MessageEn: "the header has no column " + name})
				}
			}
			if err := inputError(fileProblems{file, errs}); err != nil {
				return err
			}
			continue
		}
		cell := func(name string) string {
			if i, ok := index[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		column := func(name string) string {
			if i, ok := index[name]; ok {
				return columnName(i)
			}
			return ""
		}
		fn(line, cell, column)
	}
	if index == nil {
		return inputError(fileProblems{file, []fault.FieldError{{Row: 1, Code: "no_header",
			Message: "缺少表头", MessageEn: "missing header row"}}})
	}
	return nil
}

// trimCell removes white space, including the ideographic space and the
// BOM and zero-width space that copied text carries.
func trimCell(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' })
}

// columnName is the spreadsheet letter of a 0-based column.
func columnName(i int) string {
	name, err := excelize.ColumnNumberToName(i + 1)
	if err != nil {
		return strconv.Itoa(i + 1)
	}
	return name
}

// regionCodePattern is the server's rule for region codes.
var regionCodePattern = regexp.MustCompile(`^[0-9A-Z][0-9A-Z_-]{1,31}$`)

// regionList is the regions file: the assessed regions, in file order, and
// the codes of the provinces, which are listed but not assessed.
type regionList struct {
	assessed  []engine.Region
	byCode    map[string]engine.Region
	provinces map[string]bool
}

// loadRegions reads a regions CSV in the format of the server's region
// import: code,name,kind[,parent]. The parent is read but not needed.
// Without a path it reads Shanxi's regions, the demo's.
func loadRegions(path string) (regionList, error) {
	data, err := demo.RegionsCSV(), error(nil)
	if path != "" {
		data, err = readInput("regions", path)
	}
	if err != nil {
		return regionList{}, err
	}
	cols := map[string]string{
		"code": "code", "地区代码": "code", "name": "name", "地区名称": "name",
		"kind": "kind", "地区类型": "kind", "parent": "parent", "上级地区": "parent",
	}
	out := regionList{byCode: map[string]engine.Region{}, provinces: map[string]bool{}}
	var errs []fault.FieldError
	seen := map[string]int{}
	err = csvTable(path, data, cols, []string{"code", "name", "kind"}, func(line int, cell, column func(string) string) {
		code, name, k := strings.ToUpper(cell("code")), cell("name"), kind.Kind(cell("kind"))
		bad := func(col, c, zh, en string) {
			errs = append(errs, fault.FieldError{Row: line, Column: column(col), Field: col, Code: c, Message: zh, MessageEn: en})
		}
		ok := true
		if !regionCodePattern.MatchString(code) {
			bad("code", "invalid_code", "代码须为2–32位字母、数字、下划线或连字符", "code must be 2-32 letters, digits, _ or -")
			ok = false
		}
		if n := utf8.RuneCountInString(name); n == 0 || n > 128 {
			bad("name", "invalid_name", "名称不能为空且不超过128字", "name must be 1-128 characters")
			ok = false
		}
		if !k.Valid() {
			bad("kind", "unknown_kind", "未知的地区类型："+string(k), "unknown region kind: "+string(k))
			ok = false
		}
		if first, dup := seen[code]; dup && code != "" {
			bad("code", "duplicate_code", fmt.Sprintf("代码与第%d行重复", first), fmt.Sprintf("code repeats line %d", first))
			ok = false
		}
		seen[code] = line
		switch {
		case !ok:
		case k == kind.Province:
			out.provinces[code] = true
		default:
			r := engine.Region{Code: code, Name: name, Kind: k}
			out.assessed = append(out.assessed, r)
			out.byCode[code] = r
		}
	})
	if err != nil {
		return regionList{}, err
	}
	if err := inputError(fileProblems{path, errs}); err != nil {
		return regionList{}, err
	}
	if len(out.assessed) == 0 {
		return regionList{}, fmt.Errorf("regions file %s lists no region to assess (provinces are not assessed): %w", path, fault.ErrBadRequest)
	}
	return out, nil
}

// loadInput reads the values file and the survey indices into the engine's
// input. Every value is verified: the files are the final data.
func loadInput(sc scheme.Scheme, regs regionList, valuesPath, surveyPath string) (engine.Input, error) {
	in := engine.Input{Scheme: sc, Regions: regs.assessed, Values: map[string]map[string]engine.Value{}}
	data, err := readInput("values", valuesPath)
	if err != nil {
		return in, err
	}
	f, err := sheet.Parse(data, valuesPath)
	if err != nil {
		return in, fileError(valuesPath, err)
	}
	groups := []fileProblems{{valuesPath, readValues(sc, regs, f, in.Values)}}
	if surveyPath != "" {
		data, err := readInput("survey index", surveyPath)
		if err != nil {
			return in, err
		}
		errs, err := readSurvey(sc, regs, surveyPath, data, &in)
		if err != nil {
			return in, err
		}
		groups = append(groups, fileProblems{surveyPath, errs})
	}
	return in, inputError(groups...)
}

// regionProblem checks that a code names an assessed region.
func regionProblem(regs regionList, code string) (engine.Region, string, string, string) {
	if r, ok := regs.byCode[code]; ok {
		return r, "", "", ""
	}
	if regs.provinces[code] {
		return engine.Region{}, "not_assessed", "地区 " + code + " 为省级，不参与评价",
			"region " + code + " is a province, which is not assessed"
	}
	return engine.Region{}, "unknown_region", "地区文件中没有该地区代码：" + code,
		"the regions file has no region " + code
}

// readValues turns the values file's entries into verified values, the way
// the server reads an upload: each entry is interpreted against its
// indicator and checked against the indicator's valid range.
func readValues(sc scheme.Scheme, regs regionList, f sheet.File, values map[string]map[string]engine.Value) []fault.FieldError {
	errs := slices.Clone(f.Problems)
	if f.Meta != nil && f.Meta.SchemeCode != "" && (f.Meta.SchemeCode != sc.Code || f.Meta.SchemeVersion != sc.Version) {
		errs = append(errs, fault.FieldError{Field: "workbook", Code: "other_scheme",
			Message:   fmt.Sprintf("该工作簿是为评价方案 %s 第 %d 版生成的，而不是 %s 第 %d 版", f.Meta.SchemeCode, f.Meta.SchemeVersion, sc.Code, sc.Version),
			MessageEn: fmt.Sprintf("the workbook was made for scheme %s v%d, not %s v%d", f.Meta.SchemeCode, f.Meta.SchemeVersion, sc.Code, sc.Version)})
	}
	for _, e := range f.Entries {
		e.RegionCode, e.IndicatorCode = strings.ToUpper(trimCell(e.RegionCode)), trimCell(e.IndicatorCode)
		add := func(code, zh, en string) {
			errs = append(errs, fault.FieldError{Row: e.Row, Column: e.Column, Indicator: e.IndicatorCode, Field: "value",
				Code: code, Message: zh, MessageEn: en})
		}
		region, code, zh, en := regionProblem(regs, e.RegionCode)
		ok := code == ""
		if !ok {
			add(code, zh, en)
		}
		ind, known := sc.Indicator(e.IndicatorCode)
		switch {
		case !known:
			add("unknown_indicator", "评价方案中没有指标："+e.IndicatorCode, "the scheme has no indicator "+e.IndicatorCode)
			continue
		case ind.SurveySourced():
			add("survey_sourced", "指标 "+ind.Code+" 来自满意度调查，请用 --survey-index 文件提供",
				"indicator "+ind.Code+" comes from the survey; give it in the --survey-index file")
			continue
		}
		number, na, filled, fe := sheet.Interpret(e, ind)
		switch {
		case fe != nil:
			errs = append(errs, *fe)
			continue
		case !filled && e.Note != "":
			add("required", "填写了说明，但没有填写数值或标记不适用", "a note without a number or not applicable")
			continue
		case !filled:
			continue
		}
		applies := ok && sc.AppliesTo(ind, region.Kind)
		v := engine.Value{NotApplicable: na, Status: engine.StatusVerified}
		if !na {
			if fe := ind.CheckValue(*number); fe != nil {
				add(fe.Code, fe.Message, fe.MessageEn)
				continue
			}
			if ok && !applies {
				add("not_applicable", fmt.Sprintf("指标 %s 不适用于%s，只能标记为不适用", ind.Code, region.Kind.Name()),
					fmt.Sprintf("indicator %s does not apply to regions of kind %s; mark it not applicable", ind.Code, region.Kind))
				continue
			}
			v.Number = *number
		}
		if !ok || !applies {
			// A not-applicable mark for an indicator that cannot apply to
			// the region's kind, as templates pre-fill: it says nothing.
			continue
		}
		if values[region.Code] == nil {
			values[region.Code] = map[string]engine.Value{}
		}
		values[region.Code][ind.Code] = v
	}
	return errs
}

// readSurvey reads survey indices: region_code,indicator_code,index and,
// optionally, se,ci_low,ci_high,n, which are checked but not scored.
func readSurvey(sc scheme.Scheme, regs regionList, file string, data []byte, in *engine.Input) ([]fault.FieldError, error) {
	cols := map[string]string{
		"region_code": "region_code", "地区代码": "region_code",
		"indicator_code": "indicator_code", "指标代码": "indicator_code",
		"index": "index", "指数": "index", "满意度指数": "index",
		"se": "se", "标准误": "se",
		"ci_low": "ci_low", "置信区间下限": "ci_low",
		"ci_high": "ci_high", "置信区间上限": "ci_high",
		"n": "n", "样本量": "n",
	}
	var errs []fault.FieldError
	seen := map[[2]string]int{}
	err := csvTable(file, data, cols, []string{"region_code", "indicator_code", "index"}, func(line int, cell, column func(string) string) {
		rc, ic := strings.ToUpper(cell("region_code")), cell("indicator_code")
		add := func(col, code, zh, en string) {
			errs = append(errs, fault.FieldError{Row: line, Column: column(col), Indicator: ic, Field: col, Code: code, Message: zh, MessageEn: en})
		}
		region, code, zh, en := regionProblem(regs, rc)
		ok := code == ""
		if !ok {
			add("region_code", code, zh, en)
		}
		ind, known := sc.Indicator(ic)
		switch {
		case !known:
			add("indicator_code", "unknown_indicator", "评价方案中没有指标："+ic, "the scheme has no indicator "+ic)
			ok = false
		case !ind.SurveySourced():
			add("indicator_code", "not_survey_sourced", "指标 "+ic+" 不来自满意度调查，请在数值文件中填报",
				"indicator "+ic+" is not survey-sourced; give it in the values file")
			ok = false
		}
		key := [2]string{rc, ic}
		if first, dup := seen[key]; dup {
			add("indicator_code", "duplicate_entry", fmt.Sprintf("与第 %d 行重复", first), fmt.Sprintf("duplicates line %d", first))
			ok = false
		} else {
			seen[key] = line
		}
		x, good := parseDecimal(cell("index"))
		switch {
		case !good:
			add("index", "not_a_number", fmt.Sprintf("指数“%s”不是数字", textenc.Clip(cell("index"), 40)),
				fmt.Sprintf("the index %q is not a number", textenc.Clip(cell("index"), 40)))
			ok = false
		case x < 0 || x > 100:
			add("index", "out_of_range", "指数须在 0–100 之间", "the index must lie between 0 and 100")
			ok = false
		case known:
			if fe := ind.CheckValue(x); fe != nil {
				add("index", fe.Code, fe.Message, fe.MessageEn)
				ok = false
			}
		}
		var se, lo, hi float64
		for _, c := range []struct {
			name string
			to   *float64
		}{{"se", &se}, {"ci_low", &lo}, {"ci_high", &hi}, {"n", nil}} {
			s := cell(c.name)
			if s == "" {
				continue
			}
			y, good := parseDecimal(s)
			switch {
			case !good || y < 0 || (c.name == "n" && y != math.Trunc(y)):
				what := "a number not below 0"
				if c.name == "n" {
					what = "a whole number not below 0"
				}
				add(c.name, "invalid_number", fmt.Sprintf("%s“%s”须为不小于 0 的数", c.name, textenc.Clip(s, 40)),
					fmt.Sprintf("%s %q must be %s", c.name, textenc.Clip(s, 40), what))
			case c.to != nil:
				*c.to = y
			}
		}
		if cell("ci_low") != "" && cell("ci_high") != "" && good && !(lo <= x && x <= hi) {
			add("ci_low", "invalid_interval", "置信区间须包含指数", "the confidence interval must contain the index")
		}
		if !ok || !sc.AppliesTo(ind, region.Kind) {
			return
		}
		if in.Values[region.Code] == nil {
			in.Values[region.Code] = map[string]engine.Value{}
		}
		in.Values[region.Code][ind.Code] = engine.Value{Number: x, Status: engine.StatusVerified}
		// The interval travels as a server run's does, for the
		// sensitivity analysis.
		if cell("ci_low") != "" && cell("ci_high") != "" {
			in.SetInterval(region.Code, ind.Code, engine.Interval{Lower: lo, Upper: hi})
		}
	})
	return errs, err
}

// parseDecimal reads a finite number in decimal notation.
func parseDecimal(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xX_pP") {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
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

// regionStatusText are the region statuses in Chinese.
var regionStatusText = map[string]string{
	engine.StatusOK:               "已评定",
	engine.StatusInsufficientData: "数据不足，不评等次",
	engine.StatusNoWeight:         "无可计分指标",
	engine.StatusUnscorable:       "数值无法计分",
}

// ruleIDs lists the fired rules' ids.
func ruleIDs(r engine.RegionResult) string {
	ids := make([]string, len(r.Rules))
	for i, fr := range r.Rules {
		ids[i] = fr.ID
	}
	return strings.Join(ids, ", ")
}

// dataText says where an indicator's score came from, in Chinese.
func dataText(ir engine.IndicatorResult) string {
	switch {
	case !ir.Scored:
		return "不计分"
	case ir.NotApplicable:
		return "不适用"
	case ir.Observed && ir.Treated:
		return "实测（经异常值处理）"
	case ir.Observed:
		return "实测"
	case ir.Imputation == engine.ImputationGroupMean:
		return "缺失，按同类均值插补"
	case ir.Imputation == engine.ImputationZero:
		return "缺失，记 0 分"
	case ir.Missing:
		return "缺失，权重分配给同维度其他指标"
	}
	return ""
}

// resultsWorkbook lays the result out in three sheets: 结果 (one row per
// region), 指标得分 (one row per region and indicator) and 说明 (each
// region's explanation).
func resultsWorkbook(sc scheme.Scheme, res engine.Result) (out []byte, err error) {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	// excelize reports errors per call; keep the first.
	keep := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	set := func(sheet string, col, row int, v any) {
		cell, e := excelize.CoordinatesToCellName(col, row)
		keep(e)
		if e == nil {
			keep(f.SetCellValue(sheet, cell, v))
		}
	}
	header := func(sheet string, names []string, widths []float64) {
		for i, n := range names {
			set(sheet, i+1, 1, n)
		}
		style, e := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
		keep(e)
		last, _ := excelize.CoordinatesToCellName(len(names), 1)
		keep(f.SetCellStyle(sheet, "A1", last, style))
		keep(f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}))
		for i, w := range widths {
			col := columnName(i)
			keep(f.SetColWidth(sheet, col, col, w))
		}
	}
	num := func(n engine.Number) any {
		if !n.Valid {
			return ""
		}
		return n.Value
	}
	decimals, e := f.NewStyle(&excelize.Style{NumFmt: 2})
	keep(e)
	percent, e := f.NewStyle(&excelize.Style{NumFmt: 10})
	keep(e)
	wrap, e := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	keep(e)
	styleCol := func(sheet string, col, rows, style int) {
		if rows < 2 {
			return
		}
		a, _ := excelize.CoordinatesToCellName(col, 2)
		b, _ := excelize.CoordinatesToCellName(col, rows)
		keep(f.SetCellStyle(sheet, a, b, style))
	}
	grades := scheme.GradeNames(res.Grades, false)

	const results, scores, notes = "结果", "指标得分", "说明"
	keep(f.SetSheetName("Sheet1", results))
	_, e = f.NewSheet(scores)
	keep(e)
	_, e = f.NewSheet(notes)
	keep(e)

	header(results, []string{"地区代码", "地区名称", "地区类型", "状态", "数据覆盖率", "综合得分", "排名",
		"分数段等次", "最终等次", "可参与评选表彰", "触发规则", "规则说明"},
		[]float64{12, 26, 14, 18, 12, 12, 8, 12, 12, 14, 12, 60})
	for i, r := range res.Regions {
		row := i + 2
		rank := any("")
		if r.Rank > 0 {
			rank = r.Rank
		}
		award := "否"
		if r.AwardEligible {
			award = "是"
		}
		msgs := make([]string, len(r.Rules))
		for k, fr := range r.Rules {
			msgs[k] = fr.ID + "：" + fr.Message
		}
		for col, v := range []any{r.Code, r.Name, cmp.Or(r.Kind.Name(), string(r.Kind)), cmp.Or(regionStatusText[r.Status], r.Status),
			r.Coverage, num(r.Score), rank, grades[r.BandGrade], grades[r.Grade], award, ruleIDs(r), strings.Join(msgs, "\n")} {
			set(results, col+1, row, v)
		}
	}
	styleCol(results, 5, len(res.Regions)+1, percent)
	styleCol(results, 6, len(res.Regions)+1, decimals)

	header(scores, []string{"地区代码", "地区名称", "维度", "指标代码", "指标名称", "单位", "原始值", "计分值",
		"标准化得分", "权重", "贡献", "数据情况"},
		[]float64{12, 26, 8, 10, 40, 12, 12, 12, 12, 10, 10, 28})
	row := 1
	for _, r := range res.Regions {
		for _, ir := range r.Indicators {
			row++
			ind, _ := sc.Indicator(ir.Code)
			for col, v := range []any{r.Code, r.Name, ind.Dimension, ir.Code, ind.Name, ind.Unit, num(ir.Raw), num(ir.Value),
				num(ir.Score), ir.Weight, ir.Contribution, dataText(ir)} {
				set(scores, col+1, row, v)
			}
		}
	}
	for _, col := range []int{9, 11} {
		styleCol(scores, col, row, decimals)
	}
	styleCol(scores, 10, row, percent)

	header(notes, []string{"地区代码", "地区名称", "说明"}, []float64{12, 26, 100})
	for i, r := range res.Regions {
		set(notes, 1, i+2, r.Code)
		set(notes, 2, i+2, r.Name)
		set(notes, 3, i+2, r.Explanation.Text(engine.LangZh))
	}
	styleCol(notes, 3, len(res.Regions)+1, wrap)
	f.SetActiveSheet(0)
	if err != nil {
		return nil, fmt.Errorf("build results workbook: %w", err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("build results workbook: %w", err)
	}
	return buf.Bytes(), nil
}

// Report view model: every field is plain text, escaped by html/template.
type (
	reportData struct {
		Title, Scheme, Engine, Summary string
		Rows                           []reportRow
		Rules                          []reportRule
		Regions                        []reportRegion
		Warnings                       []string
	}
	reportRow struct {
		Rank, Code, Name, Kind, Score, Coverage, Band, Grade, Award, Rules, Status string
		Capped                                                                     bool
	}
	reportRule   struct{ Region, ID, Basis, Message, Effects, Read string }
	reportRegion struct {
		Anchor, Code, Name string
		Sentences          []string
		Warnings           []string
	}
)

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef3f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.capped td{background:#fff5e6}.muted{color:#666}.warn{color:#8a5a00}
@media print{body{margin:0;max-width:none}}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="muted">{{.Scheme}} · {{.Engine}}</p>
<p>{{.Summary}}</p>

<h2>排名与等次</h2>
<table>
<thead><tr><th>排名</th><th>地区代码</th><th>地区名称</th><th>地区类型</th><th>综合得分</th><th>数据覆盖率</th><th>分数段等次</th><th>最终等次</th><th>可参与评选表彰</th><th>触发规则</th><th>状态</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if .Capped}} class="capped"{{end}}><td class="n">{{.Rank}}</td><td>{{.Code}}</td><td>{{.Name}}</td><td>{{.Kind}}</td><td class="n">{{.Score}}</td><td class="n">{{.Coverage}}</td><td>{{.Band}}</td><td>{{.Grade}}</td><td>{{.Award}}</td><td>{{.Rules}}</td><td>{{.Status}}</td></tr>
{{end}}</tbody>
</table>

<h2>触发的规则</h2>
{{if .Rules}}<table>
<thead><tr><th>地区</th><th>规则</th><th>政策依据</th><th>效力</th><th>说明</th><th>读取的数据</th></tr></thead>
<tbody>
{{range .Rules}}<tr><td>{{.Region}}</td><td>{{.ID}}</td><td>{{.Basis}}</td><td>{{.Effects}}</td><td>{{.Message}}</td><td><code>{{.Read}}</code></td></tr>
{{end}}</tbody>
</table>{{else}}<p>没有规则被触发。</p>{{end}}

<h2>各地区说明</h2>
{{range .Regions}}<section id="{{.Anchor}}">
<h3>{{.Name}}（{{.Code}}）</h3>
{{range .Sentences}}<p>{{.}}</p>
{{end}}{{range .Warnings}}<p class="warn">⚠ {{.}}</p>
{{end}}</section>
{{end}}
{{if .Warnings}}<h2>提示</h2>
<ul>{{range .Warnings}}<li class="warn">{{.}}</li>{{end}}</ul>{{end}}
</body>
</html>
`))

// resultsReport renders the self-contained HTML report: a ranked table,
// the fired rules with their policy basis, and each region's explanation.
func resultsReport(sc scheme.Scheme, res engine.Result) ([]byte, error) {
	grades := scheme.GradeNames(res.Grades, false)
	d := reportData{
		Title:  cmp.Or(sc.Name, sc.Code) + " · 评价结果",
		Scheme: fmt.Sprintf("评价方案 %s 第 %d 版", res.SchemeCode, res.SchemeVersion),
		Engine: "评价引擎版本 " + res.EngineVersion,
	}
	ordered := res.Ranked()
	var graded, capped int
	for _, r := range ordered {
		row := reportRow{Code: r.Code, Name: r.Name, Kind: cmp.Or(r.Kind.Name(), string(r.Kind)),
			Coverage: strconv.FormatFloat(r.Coverage*100, 'f', 1, 64) + "%",
			Band:     grades[r.BandGrade], Grade: grades[r.Grade], Award: "否", Rules: ruleIDs(r),
			Status: cmp.Or(regionStatusText[r.Status], r.Status), Capped: r.Grade != r.BandGrade}
		if r.Rank > 0 {
			row.Rank = strconv.Itoa(r.Rank)
		}
		if r.Score.Valid {
			row.Score = strconv.FormatFloat(r.Score.Value, 'f', 2, 64)
		}
		if r.AwardEligible {
			row.Award = "是"
		}
		if r.Grade != "" {
			graded++
		}
		if r.GradeRule != "" && r.Grade != r.BandGrade {
			capped++
		}
		d.Rows = append(d.Rows, row)
		for _, fr := range r.Rules {
			read, _ := json.Marshal(fr.Read)
			d.Rules = append(d.Rules, reportRule{Region: r.Name + "（" + r.Code + "）", ID: fr.ID,
				Basis: fr.Basis, Message: fr.Message, Effects: scheme.DescribeEffects(fr.Effects, grades), Read: string(read)})
		}
		reg := reportRegion{Anchor: "region-" + r.Code, Code: r.Code, Name: r.Name}
		for _, s := range r.Explanation.Sentences {
			reg.Sentences = append(reg.Sentences, s.Zh)
		}
		for _, w := range r.Warnings {
			reg.Warnings = append(reg.Warnings, w.Message)
		}
		d.Regions = append(d.Regions, reg)
	}
	for _, w := range res.Warnings {
		d.Warnings = append(d.Warnings, w.Message)
	}
	d.Summary = fmt.Sprintf("共评价 %d 个地区，评定等次 %d 个，其中 %d 个因规则调整等次。", len(res.Regions), graded, capped)
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return buf.Bytes(), nil
}
