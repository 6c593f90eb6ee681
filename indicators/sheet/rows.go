// The row parser shared by both formats: finds the header, reads each row
// into entries and collects the problems of single rows.

package sheet

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/internal/textguard"
)

// Canonical names of the ByIndicator columns.
const (
	fRegionCode    = "region_code"
	fIndicatorCode = "indicator_code"
	fValue         = "value"
	fNotApplicable = "not_applicable"
	fNote          = "note"
	fVersion       = "version"
)

// headerFields maps header text (Chinese as in the templates, or English
// for files made by other tools) to canonical column names.
var headerFields = map[string]string{
	hRegionCode: fRegionCode, fRegionCode: fRegionCode,
	hIndicatorCode: fIndicatorCode, fIndicatorCode: fIndicatorCode,
	hValue: fValue, fValue: fValue, "number": fValue,
	hNotApplicable: fNotApplicable, fNotApplicable: fNotApplicable,
	hNote: fNote, fNote: fNote,
	hVersion: fVersion, fVersion: fVersion,
}

// gridDescriptive are the ByRegion headers that are not indicator codes.
var gridDescriptive = map[string]bool{
	hRegionName: true, hRegionKind: true, "region_name": true, "region_kind": true,
}

// fieldNames names canonical columns in messages.
var fieldNames = map[string][2]string{
	fRegionCode:    {hRegionCode, fRegionCode},
	fIndicatorCode: {hIndicatorCode, fIndicatorCode},
	fValue:         {hValue, fValue},
}

// parser turns the rows of the data sheet, from a workbook or a CSV, into
// entries. It sees rows one at a time so that limits apply while reading.
type parser struct {
	layout   Layout
	header   int            // row of the header; 0 until found
	cols     map[string]int // canonical name → index (ByIndicator)
	region   int            // index of the region code (ByRegion)
	grid     []gridCol      // indicator columns (ByRegion)
	dataRows int
	entries  []Entry
	seen     map[[2]string]int // {region, indicator} → index in entries
	errs     []fault.FieldError
}

type gridCol struct {
	idx  int
	code string
}

// file is what the parser read.
func (p *parser) file() File {
	_, notes := p.cols[fNote]
	return File{Layout: p.layout, Entries: p.entries, Problems: p.errs, Notes: p.layout == ByIndicator && notes}
}

func (p *parser) fail(fe fault.FieldError) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, fe)
	}
}

func headerKey(s string) string { return strings.ToLower(s) }

func (p *parser) row(n int, cells []string) error {
	if !p.clean(n, cells) {
		if p.header == 0 {
			// A header or title row with such a cell cannot be matched
			// for sure; say why rather than "no header found".
			return fault.Invalid(p.errs...)
		}
		return nil
	}
	if p.header == 0 {
		if n > headerScan {
			return errNoHeader()
		}
		p.findHeader(n, cells)
		if p.header != 0 && len(p.errs) > 0 {
			// Without a sound header no cell can be read for sure.
			return fault.Invalid(p.errs...)
		}
		return nil
	}
	if len(cells) == 0 {
		return nil
	}
	if p.dataRows++; p.dataRows > maxDataRows {
		return fault.With(fault.ErrBadRequest,
			fmt.Sprintf("the file has more than %d data rows", maxDataRows),
			fmt.Sprintf("文件数据超过 %d 行", maxDataRows), map[string]any{"max_rows": maxDataRows})
	}
	if p.layout == ByIndicator {
		p.indicatorRow(n, cells)
	} else {
		p.gridRow(n, cells)
	}
	if len(p.entries) > maxEntries {
		return fault.With(fault.ErrBadRequest,
			fmt.Sprintf("the file has more than %d values", maxEntries),
			fmt.Sprintf("文件中的数值超过 %d 个", maxEntries), map[string]any{"max_values": maxEntries})
	}
	return nil
}

// clean reports whether every cell of row n passes textguard, recording a
// problem for each that does not; such a row is not read further, so that
// neither its entries nor messages quoting it carry the characters. Text,
// not Line: a note may span lines (Alt+Enter in a cell).
func (p *parser) clean(n int, cells []string) bool {
	ok := true
	for i, c := range cells {
		if fe := textguard.Check("", c, textguard.Text); fe != nil {
			fe.Row, fe.Column = n, colName(i+1)
			p.fail(*fe)
			ok = false
		}
	}
	return ok
}

// findHeader recognises the header row: a row naming the indicator code
// column is ByIndicator, else one naming the region code column is
// ByRegion.
func (p *parser) findHeader(n int, cells []string) {
	layout := Layout("")
	for _, c := range cells {
		switch headerFields[headerKey(c)] {
		case fIndicatorCode:
			layout = ByIndicator
		case fRegionCode:
			if layout == "" {
				layout = ByRegion
			}
		}
	}
	if layout == "" {
		return
	}
	p.header, p.layout = n, layout
	p.seen = map[[2]string]int{}
	if layout == ByIndicator {
		p.cols = map[string]int{}
		for i, c := range cells {
			f, ok := headerFields[headerKey(c)]
			if !ok {
				continue
			}
			if _, dup := p.cols[f]; dup {
				p.fail(duplicateColumn(n, i, c))
				continue
			}
			p.cols[f] = i
		}
		for _, f := range []string{fRegionCode, fIndicatorCode, fValue} {
			if _, ok := p.cols[f]; !ok {
				names := fieldNames[f]
				p.fail(fault.FieldError{Row: n, Field: f, Code: "missing_column",
					Message:   fmt.Sprintf("表头缺少“%s”列", names[0]),
					MessageEn: fmt.Sprintf("the header has no %s (%s) column", names[0], names[1])})
			}
		}
		return
	}
	codes := map[string]bool{}
	p.region = -1
	for i, c := range cells {
		key := headerKey(c)
		switch {
		case c == "" || gridDescriptive[key]:
		case headerFields[key] == fRegionCode:
			if p.region >= 0 {
				p.fail(duplicateColumn(n, i, c))
				continue
			}
			p.region = i
		case codes[c]:
			p.fail(duplicateColumn(n, i, c))
		default:
			codes[c] = true
			p.grid = append(p.grid, gridCol{idx: i, code: c})
		}
	}
	if len(p.grid) == 0 {
		p.fail(fault.FieldError{Row: n, Code: "missing_column",
			Message:   "表头中没有指标代码列（地区代码、地区名称、地区类型之后每列一个指标代码）",
			MessageEn: "the header names no indicator columns (one indicator code per column after the region columns)"})
	}
}

func duplicateColumn(row, idx int, text string) fault.FieldError {
	return fault.FieldError{Row: row, Column: colName(idx + 1), Code: "duplicate_column",
		Message:   fmt.Sprintf("表头“%s”重复", textenc.Clip(text, 40)),
		MessageEn: fmt.Sprintf("the header %q appears twice", textenc.Clip(text, 40))}
}

func errNoHeader() error {
	return fault.With(fault.ErrBadRequest,
		"no header row found in the first 10 rows: expected either a row with the columns "+
			"地区代码 (region_code), 指标代码 (indicator_code), 数值 (value) and optionally 不适用 (not_applicable), "+
			"说明 (note), 版本 (version); or a row with 地区代码 (region_code) followed by one indicator code per column",
		"前 10 行中未找到表头：应为含“地区代码、指标代码、数值”（可选“不适用、说明、版本”）列的表头行，"+
			"或以“地区代码”开头、其后每列一个指标代码的表头行",
		map[string]any{
			"expected_by_indicator": []string{hRegionCode, hIndicatorCode, hValue, hNotApplicable, hNote, hVersion},
			"expected_by_region":    []string{hRegionCode, "<指标代码>"},
		})
}

// finish reports a file that ended before a usable header.
func (p *parser) finish() error {
	if p.header == 0 {
		return errNoHeader()
	}
	return nil
}

func at(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return cells[i]
}

func (p *parser) col(cells []string, field string) string {
	i, ok := p.cols[field]
	if !ok {
		return ""
	}
	return at(cells, i)
}

func (p *parser) colLetter(field string) string {
	i, ok := p.cols[field]
	if !ok {
		return ""
	}
	return colName(i + 1)
}

func (p *parser) indicatorRow(n int, cells []string) {
	region, ind := p.col(cells, fRegionCode), p.col(cells, fIndicatorCode)
	value, na, note := p.col(cells, fValue), p.col(cells, fNotApplicable), p.col(cells, fNote)
	// Both writers guard the note (WriteCSV and WriteXLSX); take it off.
	note = textenc.UnguardFormula(note)
	if value == "" && na == "" && note == "" {
		return
	}
	if region == "" && ind == "" {
		return
	}
	if region == "" || ind == "" {
		f, zh, en := fRegionCode, hRegionCode, "region code"
		if ind == "" {
			f, zh, en = fIndicatorCode, hIndicatorCode, "indicator code"
		}
		p.fail(fault.FieldError{Row: n, Column: p.colLetter(f), Indicator: ind, Field: f, Code: "missing_code",
			Message: fmt.Sprintf("已填写数值但缺少%s", zh), MessageEn: "a value is filled in but the " + en + " is missing"})
		return
	}
	e := Entry{Row: n, Column: p.colLetter(fValue), RegionCode: region, IndicatorCode: ind, Value: value, Note: note}
	ok := true
	switch flag, valid := parseNAFlag(na); {
	case valid:
		e.NotApplicable = flag
	default:
		ok = false
		p.fail(fault.FieldError{Row: n, Column: p.colLetter(fNotApplicable), Indicator: ind, Field: fNotApplicable,
			Code:      "invalid_not_applicable",
			Message:   fmt.Sprintf("“不适用”列只能填“不适用”或留空，不能填“%s”", textenc.Clip(na, 40)),
			MessageEn: fmt.Sprintf("the not-applicable column takes 不适用 or nothing, not %q", textenc.Clip(na, 40))})
	}
	if v, valid := parseVersion(p.col(cells, fVersion)); valid {
		e.Version = v
	} else {
		ok = false
		p.fail(invalidVersion(n, p.colLetter(fVersion), ind, p.col(cells, fVersion)))
	}
	if ok {
		p.add(e)
	}
}

func (p *parser) gridRow(n int, cells []string) {
	region := at(cells, p.region)
	if region == "" {
		return
	}
	for _, c := range p.grid {
		v := at(cells, c.idx)
		if v == "" {
			continue
		}
		p.add(Entry{Row: n, Column: colName(c.idx + 1), RegionCode: region, IndicatorCode: c.code, Value: v})
	}
}

// add appends e, refusing a second value for the same region and
// indicator: which one was meant cannot be guessed.
func (p *parser) add(e Entry) {
	key := [2]string{e.RegionCode, e.IndicatorCode}
	if i, dup := p.seen[key]; dup {
		first := p.entries[i]
		p.fail(fault.FieldError{Row: e.Row, Column: e.Column, Indicator: e.IndicatorCode, Field: fValue,
			Code:      "duplicate_entry",
			Message:   fmt.Sprintf("地区 %s 的指标 %s 重复填写（第 %d 行已填写）", textenc.Clip(e.RegionCode, 40), textenc.Clip(e.IndicatorCode, 40), first.Row),
			MessageEn: fmt.Sprintf("indicator %s of region %s is filled in twice (also on row %d)", textenc.Clip(e.IndicatorCode, 40), textenc.Clip(e.RegionCode, 40), first.Row)})
		return
	}
	p.seen[key] = len(p.entries)
	p.entries = append(p.entries, e)
}

// parseNAFlag reads the 不适用 column. Besides the dropdown's 不适用 it
// accepts the obvious yes/no spellings, so that a file from another tool
// is not refused over "是" or "1"; anything else is an error rather than
// a guess.
func parseNAFlag(s string) (flag, ok bool) {
	switch strings.ToLower(s) {
	case "":
		return false, true
	case textNA, "n/a", "na", textYes, "yes", "y", "true", "1", "√", "✓", "✔":
		return true, true
	case textNo, "no", "n", "false", "0":
		return false, true
	}
	return false, false
}

// parseVersion reads a version: a non-negative whole number, 0 when empty.
// A spreadsheet may show it as "3.0"; any other fraction is an error.
func parseVersion(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	if v, err := strconv.Atoi(s); err == nil {
		return v, v >= 0
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x < 0 || x > math.MaxInt32 || x != math.Trunc(x) {
		return 0, false
	}
	return int(x), true
}

func invalidVersion(row int, col, ind, text string) fault.FieldError {
	return fault.FieldError{Row: row, Column: col, Indicator: ind, Field: fVersion, Code: "invalid_version",
		Message:   fmt.Sprintf("版本“%s”无效，应为非负整数；请勿修改版本", textenc.Clip(text, 40)),
		MessageEn: fmt.Sprintf("version %q is not a non-negative whole number; do not edit the version", textenc.Clip(text, 40))}
}
