package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/internal/xlsxguard"
)

// Limits on an upload. The caller limits its bytes; these keep what those
// bytes expand to bounded, so that a hostile file fails with a 400 instead
// of exhausting memory.
const (
	// maxDataRows is far above any province's regions × indicators.
	maxDataRows = 20000
	// maxColumns bounds the width of a row, so that one cell far to the
	// right cannot make every row a 16,384-cell slice.
	maxColumns = 1024
	// maxEntries bounds the entries of a ByRegion grid (rows × columns).
	maxEntries = 200000
	// maxErrors: past this many problems more would not help the user.
	maxErrors = 1000
	// headerScan is how many rows may precede the header (title, notes).
	headerScan = 10
	// metaRows bounds the _ipeval sheet.
	metaRows = 100

	// unzipSizeLimit bounds a whole workbook unzipped, unzipXMLSizeLimit
	// each part: a sheet of 20,000 rows of the per-region template is
	// about 9 MiB.
	unzipSizeLimit    = 64 << 20
	unzipXMLSizeLimit = 16 << 20
)

// Parse reads an upload; name's extension (.xlsx or .csv, case-insensitive)
// picks the format. It finds the header row and the columns by their text,
// so users may add title rows or reorder columns, and returns every
// non-empty value cell as an Entry. Problems with single rows are collected
// in File.Problems; a file that cannot be read at all (or whose header is
// unsound) is a fault.ErrBadRequest, an unknown extension a
// fault.ErrUnsupportedMedia.
func Parse(data []byte, name string) (File, error) {
	switch ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/"))); ext {
	case ".xlsx":
		return parseXLSX(data)
	case ".csv":
		return parseCSV(data)
	case ".xls", ".et":
		return File{}, fault.With(fault.ErrUnsupportedMedia,
			"old-format Excel (.xls) workbooks are not supported; save the file as .xlsx and upload it again",
			"不支持旧版 Excel（.xls）文件，请另存为 .xlsx 后重新上传", map[string]any{"file_name": name})
	default:
		return File{}, fault.With(fault.ErrUnsupportedMedia,
			"upload an Excel workbook (.xlsx) or a CSV file (.csv)",
			"请上传 Excel 工作簿（.xlsx）或 CSV 文件（.csv）", map[string]any{"file_name": name})
	}
}

func errNotXLSX() error {
	return fault.With(fault.ErrBadRequest, "the file is not an xlsx workbook", "文件不是有效的 Excel（xlsx）工作簿", nil)
}

func errUnreadable(sheet string) error {
	return fault.With(fault.ErrBadRequest, fmt.Sprintf("worksheet %q cannot be read", sheet),
		fmt.Sprintf("无法读取工作表“%s”", sheet), map[string]any{"sheet": sheet})
}

// guard turns a panic inside excelize on a malformed workbook into a 400:
// the library parses untrusted XML, and one bad file must not take down the
// request with a 500.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errNotXLSX()
		}
	}()
	return fn()
}

func parseXLSX(data []byte) (File, error) {
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return File{}, errNotXLSX()
	}
	// Every part is held to the in-memory limit, sheets too: excelize
	// spills a larger part to a temporary file, which it does not remove
	// when opening fails half-way.
	if err := xlsxguard.Check(bytes.NewReader(data), int64(len(data)), xlsxguard.Limits{Total: unzipSizeLimit, Part: unzipXMLSizeLimit}); err != nil {
		return File{}, err
	}
	var f *excelize.File
	err := guard(func() (err error) {
		f, err = excelize.OpenReader(bytes.NewReader(data), excelize.Options{
			UnzipSizeLimit: unzipSizeLimit, UnzipXMLSizeLimit: unzipXMLSizeLimit})
		return err
	})
	if f != nil {
		defer func() { _ = f.Close() }()
	}
	if err != nil {
		return File{}, errNotXLSX()
	}
	var sheets []string
	if err := guard(func() error { sheets = f.GetSheetList(); return nil }); err != nil {
		return File{}, err
	}
	name, hasMeta, hasVersions := "", false, false
	for _, s := range sheets {
		switch s {
		case dataSheet:
			name = s
		case metaSheet:
			hasMeta = true
		case versionsSheet:
			hasVersions = true
		}
	}
	if name == "" {
		for _, s := range sheets {
			visible := false
			_ = guard(func() error { visible, _ = f.GetSheetVisible(s); return nil })
			if visible {
				name = s
				break
			}
		}
	}
	if name == "" {
		return File{}, fault.With(fault.ErrBadRequest, "the workbook has no visible worksheet",
			"工作簿中没有可见的工作表", nil)
	}
	p := &parser{}
	if err := scanSheet(f, name, p.row); err != nil {
		return File{}, err
	}
	if err := p.finish(); err != nil {
		return File{}, err
	}
	if hasVersions && p.layout == ByRegion {
		if err := p.readVersions(f); err != nil {
			return File{}, err
		}
	}
	out := p.file()
	if hasMeta {
		out.Meta = readMeta(f)
	}
	return out, nil
}

// scanSheet streams a worksheet row by row and calls fn with each row's
// cells, trimmed. It runs two iterators in step, one for formatted and one
// for raw values: the raw value keeps full precision ("0.30000000000000004"
// is not shown as "0.3"), but a percentage-formatted cell keeps its
// formatted text ("85%") so that Interpret can scale it. Streaming, unlike
// GetRows, never holds the whole sheet, and fn can stop early at a limit.
func scanSheet(f *excelize.File, sheet string, fn func(n int, cells []string) error) error {
	var formatted, raw *excelize.Rows
	err := guard(func() (err error) {
		if formatted, err = f.Rows(sheet); err != nil {
			return err
		}
		raw, err = f.Rows(sheet)
		return err
	})
	if formatted != nil {
		defer func() { _ = formatted.Close() }()
	}
	if raw != nil {
		defer func() { _ = raw.Close() }()
	}
	if err != nil {
		return errUnreadable(sheet)
	}
	for n := 1; ; n++ {
		var fc, rc []string
		more := false
		err := guard(func() (err error) {
			okF, okR := formatted.Next(), raw.Next()
			if !okF || !okR {
				return nil
			}
			more = true
			if fc, err = formatted.Columns(); err != nil {
				return err
			}
			rc, err = raw.Columns(excelize.Options{RawCellValue: true})
			return err
		})
		if err != nil {
			return errUnreadable(sheet)
		}
		if !more {
			break
		}
		cells := make([]string, max(len(fc), len(rc)))
		for i := range cells {
			var fv, rv string
			if i < len(fc) {
				fv = trim(fc[i])
			}
			if i < len(rc) {
				rv = trim(rc[i])
			}
			cells[i] = rv
			if strings.HasSuffix(fv, "%") {
				cells[i] = fv
			}
		}
		cells = trimRow(cells)
		if len(cells) > maxColumns {
			return errTooWide(n)
		}
		if err := fn(n, cells); err != nil {
			return err
		}
	}
	if formatted.Error() != nil || raw.Error() != nil {
		return errUnreadable(sheet)
	}
	return nil
}

// trimRow drops trailing empty cells.
func trimRow(cells []string) []string {
	n := len(cells)
	for n > 0 && cells[n-1] == "" {
		n--
	}
	return cells[:n]
}

func errTooWide(row int) error {
	return fault.With(fault.ErrBadRequest,
		fmt.Sprintf("row %d has more than %d columns", row, maxColumns),
		fmt.Sprintf("第 %d 行超过 %d 列", row, maxColumns),
		map[string]any{"row": row, "max_columns": maxColumns})
}

func parseCSV(data []byte) (File, error) {
	text, err := textenc.ToUTF8(data)
	if err != nil {
		return File{}, fault.With(fault.ErrBadRequest, "the CSV file must be encoded in UTF-8 or GB18030 (GBK)",
			"CSV 文件须为 UTF-8 或 GB18030（GBK）编码", nil)
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = false
	r.ReuseRecord = true
	p := &parser{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return File{}, fault.With(fault.ErrBadRequest,
				fmt.Sprintf("the CSV file is malformed at line %d (check the quotes)", line),
				fmt.Sprintf("CSV 文件第 %d 行格式错误（请检查引号）", line),
				map[string]any{"line": line})
		}
		line, _ := r.FieldPos(0)
		// Checked before copying: a line of a million commas must not
		// cost a million strings.
		n := len(rec)
		for n > 0 && trim(rec[n-1]) == "" {
			n--
		}
		if n > maxColumns {
			return File{}, errTooWide(line)
		}
		cells := make([]string, n)
		for i, s := range rec[:n] {
			cells[i] = trim(s)
		}
		if err := p.row(line, cells); err != nil {
			return File{}, err
		}
	}
	if err := p.finish(); err != nil {
		return File{}, err
	}
	return p.file(), nil
}

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

// readVersions takes the versions of a ByRegion upload from the hidden
// _versions sheet, matched by region and indicator code rather than by
// position, in case rows or columns of the data sheet were moved.
func (p *parser) readVersions(f *excelize.File) error {
	header, region := 0, -1
	var cols []gridCol
	rows := 0
	return scanSheet(f, versionsSheet, func(n int, cells []string) error {
		if header == 0 {
			if n > headerScan {
				return errUnreadable(versionsSheet)
			}
			for i, c := range cells {
				key := headerKey(c)
				switch {
				case headerFields[key] == fRegionCode && region < 0:
					region, header = i, n
				case c != "" && !gridDescriptive[key] && headerFields[key] == "":
					cols = append(cols, gridCol{idx: i, code: c})
				}
			}
			if header == 0 {
				cols = nil
			}
			return nil
		}
		if rows++; rows > maxDataRows {
			return errUnreadable(versionsSheet)
		}
		code := at(cells, region)
		if code == "" {
			return nil
		}
		for _, c := range cols {
			text := at(cells, c.idx)
			i, ok := p.seen[[2]string{code, c.code}]
			if text == "" || !ok {
				continue
			}
			e := &p.entries[i]
			if v, valid := parseVersion(text); valid {
				e.Version = v
			} else {
				p.fail(invalidVersion(e.Row, e.Column, e.IndicatorCode, text))
			}
		}
		return nil
	})
}

// readMeta reads the _ipeval sheet; nil when it is missing, foreign or
// damaged, which is no reason to refuse the values in the workbook.
func readMeta(f *excelize.File) *Meta {
	kv := map[string]string{}
	err := scanSheet(f, metaSheet, func(n int, cells []string) error {
		if n > metaRows {
			return errUnreadable(metaSheet)
		}
		if k := at(cells, 0); k != "" {
			kv[k] = at(cells, 1)
		}
		return nil
	})
	if err != nil || kv["format"] != metaFormat {
		return nil
	}
	m := Meta{CycleID: kv["cycle_id"], CycleName: textenc.UnguardFormula(kv["cycle_name"]), SchemeCode: kv["scheme_code"],
		Layout: Layout(kv["layout"]), RegionCode: kv["region_code"]}
	if m.Layout != ByIndicator && m.Layout != ByRegion {
		return nil
	}
	if m.Year, err = atoiEmpty(kv["year"]); err != nil {
		return nil
	}
	if m.SchemeVersion, err = atoiEmpty(kv["scheme_version"]); err != nil {
		return nil
	}
	if g := kv["generated"]; g != "" {
		if m.Generated, err = time.Parse(time.RFC3339, g); err != nil {
			return nil
		}
		m.Generated = m.Generated.UTC()
	}
	return &m
}

func atoiEmpty(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(s)
}
