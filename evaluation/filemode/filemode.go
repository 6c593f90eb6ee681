// Package filemode reads the files `ipeval evaluate` scores — a regions
// list, a values file and survey indices — into the engine's input, with
// the parsers and checks the server applies to the same files: the region
// import's (spec.ParseCSV, spec.CheckRows), the values upload's
// (indicators/sheet, indicators/valuecheck). Every value counts as
// verified: the files are the manager's final data. Any problem fails the
// read, with every problem listed by file, row, column and indicator.
package filemode

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/sheet"
	"github.com/ipeval/ipeval/indicators/valuecheck"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/regions/kind"
	"github.com/ipeval/ipeval/regions/spec"
)

// Regions is a regions file: the assessed regions, in file order, and the
// kind of every region listed, provinces included (which are listed but
// not assessed).
type Regions struct {
	Assessed []engine.Region
	byCode   map[string]engine.Region
	kinds    map[string]kind.Kind
}

// ReadRegions reads a regions file named name as the server's region
// import does, parents defined on earlier rows.
func ReadRegions(name string, data []byte) (Regions, error) {
	rows, err := spec.ParseCSV(bytes.NewReader(data))
	if err != nil {
		return Regions{}, fileError(name, err)
	}
	if err := inputError(fileProblems{name, spec.CheckRows(rows, map[string]bool{})}); err != nil {
		return Regions{}, err
	}
	out := Regions{byCode: map[string]engine.Region{}, kinds: map[string]kind.Kind{}}
	for _, in := range rows {
		out.kinds[in.Code] = in.Kind
		if in.Kind == kind.Province {
			continue
		}
		r := engine.Region{Code: in.Code, Name: in.Name, Kind: in.Kind}
		out.Assessed = append(out.Assessed, r)
		out.byCode[in.Code] = r
	}
	if len(out.Assessed) == 0 {
		return Regions{}, fmt.Errorf("regions file %s lists no region to assess (provinces are not assessed): %w", name, fault.ErrBadRequest)
	}
	return out, nil
}

// File is an input file: its name, for the problems, and its bytes.
type File struct {
	Name string
	Data []byte
}

// ReadInput reads the values file and, when survey has a name, the survey
// indices into the engine's input for sc and regs.
func ReadInput(sc scheme.Scheme, regs Regions, values, survey File) (engine.Input, error) {
	in := engine.Input{Scheme: sc, Regions: regs.Assessed, Values: map[string]map[string]engine.Value{}}
	f, err := sheet.Parse(values.Data, values.Name)
	if err != nil {
		return in, fileError(values.Name, err)
	}
	groups := []fileProblems{{values.Name, readValues(sc, regs, f, in.Values)}}
	if survey.Name != "" {
		errs, err := readSurvey(sc, regs, survey.Name, survey.Data, &in)
		if err != nil {
			return in, err
		}
		groups = append(groups, fileProblems{survey.Name, errs})
	}
	return in, inputError(groups...)
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

// readValues turns the values file's entries into verified values with
// the checks of the server's upload; a value for a province, which is not
// assessed, is refused rather than ignored.
func readValues(sc scheme.Scheme, regs Regions, f sheet.File, values map[string]map[string]engine.Value) []fault.FieldError {
	errs := slices.Clone(f.Problems)
	if f.Meta != nil && f.Meta.SchemeCode != "" && (f.Meta.SchemeCode != sc.Code || f.Meta.SchemeVersion != sc.Version) {
		errs = append(errs, fault.FieldError{Field: "workbook", Code: "other_scheme",
			Message:   fmt.Sprintf("该工作簿是为评价方案 %s 第 %d 版生成的，而不是 %s 第 %d 版", f.Meta.SchemeCode, f.Meta.SchemeVersion, sc.Code, sc.Version),
			MessageEn: fmt.Sprintf("the workbook was made for scheme %s v%d, not %s v%d", f.Meta.SchemeCode, f.Meta.SchemeVersion, sc.Code, sc.Version)})
	}
	items, cells, problems := valuecheck.Interpret(sc, f.Entries)
	errs = append(errs, problems...)
	for i := range items {
		items[i] = items[i].Normalised()
	}
	place := func(i int, field string) fault.FieldError {
		return fault.FieldError{Row: cells[i].Row, Column: cells[i].Column, Field: field}
	}
	errs = append(errs, valuecheck.Check(sc, regs.kinds, items, place)...)
	for i, in := range items {
		if _, code, zh, en := regionProblem(regs, in.RegionCode); code == "not_assessed" {
			fe := place(i, "region_code")
			fe.Indicator, fe.Code, fe.Message, fe.MessageEn = in.IndicatorCode, code, zh, en
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, in := range items {
		region := regs.byCode[in.RegionCode]
		ind, _ := sc.Indicator(in.IndicatorCode)
		if !sc.AppliesTo(ind, region.Kind) {
			// A not-applicable mark for an indicator that cannot apply to
			// the region's kind, as templates pre-fill: it says nothing.
			continue
		}
		v := engine.Value{NotApplicable: in.NotApplicable, Status: engine.StatusVerified}
		if in.Number != nil {
			v.Number = *in.Number
		}
		if values[region.Code] == nil {
			values[region.Code] = map[string]engine.Value{}
		}
		values[region.Code][ind.Code] = v
	}
	return nil
}

// regionProblem checks that a code names an assessed region.
func regionProblem(regs Regions, code string) (engine.Region, string, string, string) {
	if r, ok := regs.byCode[code]; ok {
		return r, "", "", ""
	}
	if regs.kinds[code] == kind.Province {
		return engine.Region{}, "not_assessed", "地区 " + code + " 为省级，不参与评价",
			"region " + code + " is a province, which is not assessed"
	}
	c, zh, en := valuecheck.UnknownRegion(code)
	return engine.Region{}, c, zh, en
}

// readSurvey reads survey indices: region_code,indicator_code,index and,
// optionally, se,ci_low,ci_high,n, which are checked but not scored.
func readSurvey(sc scheme.Scheme, regs Regions, file string, data []byte, in *engine.Input) ([]fault.FieldError, error) {
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
		x, good := sheet.ParseDecimal(cell("index"))
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
			y, good := sheet.ParseDecimal(s)
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
		if err != nil {
			// FieldPos knows only a record that was read: a malformed
			// one has its line in the error.
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return inputError(fileProblems{file, []fault.FieldError{{Row: line, Code: "malformed_csv",
				Message: "CSV 格式错误（请检查引号）", MessageEn: "malformed CSV (check the quotes): " + err.Error()}}})
		}
		line, _ := r.FieldPos(0)
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
