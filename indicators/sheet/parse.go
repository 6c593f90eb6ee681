package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
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
