package responsefile

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// Sheet names of the generated workbooks. Read takes the first sheet
// whatever its name, so these are only for people.
const (
	dataSheetName   = "答卷 Responses"
	notesSheetName  = "说明 Notes"
	reportSheetName = "校验报告 Report"
)

// Excel limits the title of a validation prompt to 32 characters and its
// text to 255; longer ones make Excel "repair" the workbook.
const (
	maxPromptTitle = 30
	maxPromptText  = 250
)

// templateColumn is one column of the template and its note.
type templateColumn struct {
	name     string
	zh, en   string // meaning
	required bool
	values   string // what a cell may hold
	item     int    // index+1 in Items for an item, -1 for the attention check, 0 otherwise
}

func templateColumns(q questionnaire.Questionnaire) []templateColumn {
	k := q.Scale
	if k == 0 {
		k = 5
	}
	typeNames := make([]string, 0, len(q.RespondentTypes))
	for _, t := range q.RespondentTypes {
		typeNames = append(typeNames, t.Name)
	}
	cols := []templateColumn{
		{name: TargetRegion, required: true, zh: "受访者所在地区", en: "The respondent's region",
			values: "地区代码或名称（见下方地区表） / a region code or name (see the regions below)"},
		{name: TargetRespondentType, required: true, zh: "受访者类型", en: "Respondent type",
			values: strings.Join(typeNames, "、") + " / a type code or name"},
		{name: TargetRespondentID, zh: "调查工具中的答卷编号，用于识别重复答卷", en: "The survey tool's response id, to find duplicate responses",
			values: "文本 / text"},
		{name: TargetContact, zh: "联系方式（手机或邮箱）；系统只保存其加密摘要，不保存原文", en: "Phone or e-mail; only a keyed hash is stored, never the contact",
			values: "手机号或邮箱 / phone or e-mail"},
		{name: TargetSeconds, zh: "答题用时", en: "Completion time",
			values: "秒数，如 125、125秒、2分5秒、00:02:05 / seconds, e.g. 125 or 00:02:05"},
		{name: TargetSubmittedAt, zh: "提交时间（北京时间）", en: "Submission time (Beijing time unless a zone is given)",
			values: "如 2024-05-01 10:30:00 / e.g. 2024-05-01 10:30:00"},
	}
	for i, it := range q.Items {
		ik := it.Scale
		if ik == 0 {
			ik = k
		}
		values := fmt.Sprintf("1–%d（%d 为最好）或选项文字 / 1–%d (%d best) or an answer label", ik, ik, ik, ik)
		if ik != k {
			values = fmt.Sprintf("1–%d（%d 为最好） / 1–%d (%d best)", ik, ik, ik, ik)
		}
		cols = append(cols, templateColumn{name: it.Code, zh: it.Text, en: it.TextEn, required: !it.Optional,
			values: values, item: i + 1})
	}
	if a := q.Attention; a != nil {
		cols = append(cols, templateColumn{name: a.Code, required: true, item: -1,
			zh: "注意力检测题：" + a.Text, en: "Attention check: " + a.TextEn,
			values: fmt.Sprintf("1–%d 或选项文字；按题目要求作答 / 1–%d or a label, as the question instructs", k, k)})
	}
	return cols
}

// WriteTemplate writes an empty upload template for a questionnaire, so
// that a contractor without a tool export of its own has a file that Read
// takes without any mapping: one header row of canonical column names, and
// in the XLSX a "说明 Notes" sheet explaining each column in Chinese and
// English, the answer labels, respondent types and the project's regions,
// with dropdowns on the answer, type and region columns.
func WriteTemplate(w io.Writer, format string, q questionnaire.Questionnaire, regions []Region) error {
	cols := templateColumns(q)
	switch format {
	case FormatCSV:
		header := make([]string, len(cols))
		for i, c := range cols {
			header[i] = textenc.GuardFormula(c.name)
		}
		return writeCSV(w, [][]string{header})
	case FormatXLSX:
		return writeTemplateXLSX(w, q, cols, regions)
	}
	return fmt.Errorf("responsefile: unknown format %q", format)
}

// writeCSV writes UTF-8 with a byte-order mark and CRLF line ends, which
// is what makes Excel on a Chinese Windows open it without garbling.
func writeCSV(w io.Writer, records [][]string) error {
	cw, err := textenc.ExcelCSV(w)
	if err != nil {
		return fmt.Errorf("responsefile: write csv: %w", err)
	}
	for _, rec := range records {
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("responsefile: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("responsefile: write csv: %w", err)
	}
	return nil
}

// book collects the first error of a run of excelize calls.
type book struct {
	f   *excelize.File
	err error
}

func (b *book) do(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

func cellName(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

func colLetter(col int) string {
	name, _ := excelize.ColumnNumberToName(col)
	return name
}

// str writes text as text: a region code such as 140100 must not become a
// number, and text from a questionnaire never becomes a formula.
func (b *book) str(sheet string, col, row int, s string) {
	if s != "" {
		b.do(b.f.SetCellStr(sheet, cellName(col, row), s))
	}
}

func (b *book) style(s *excelize.Style) int {
	id, err := b.f.NewStyle(s)
	b.do(err)
	return id
}

func writeTemplateXLSX(w io.Writer, q questionnaire.Questionnaire, cols []templateColumn, regions []Region) error {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	b := &book{f: f}
	const data, notes = dataSheetName, notesSheetName
	b.do(f.SetSheetName(f.GetSheetName(0), data))
	_, err := f.NewSheet(notes)
	b.do(err)
	header := b.style(&excelize.Style{Font: &excelize.Font{Bold: true}, NumFmt: 49,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}})
	text := b.style(&excelize.Style{NumFmt: 49})
	bold := b.style(&excelize.Style{Font: &excelize.Font{Bold: true}})
	wrap := b.style(&excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})

	// The notes sheet first: the dropdowns of the data sheet refer to it.
	row := 1
	b.str(notes, 1, row, "填写说明 Notes")
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(1, row), bold))
	row++
	b.str(notes, 1, row, "第一张工作表的第一行是列名，请勿修改；每位受访者填写一行。也可直接上传问卷星等调查工具导出的文件。"+
		" / Keep the column names in the first row of the first sheet; one row per respondent. Exports of survey tools are accepted too.")
	row += 2
	for i, h := range []string{"列名 Column", "含义", "Meaning", "必填 Required", "取值 Values"} {
		b.str(notes, i+1, row, h)
	}
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(5, row), header))
	b.do(f.SetCellStyle(notes, cellName(1, row+1), cellName(5, row+len(cols)), wrap))
	for _, c := range cols {
		row++
		req := "否 No"
		if c.required {
			req = "是 Yes"
		}
		for i, v := range []string{c.name, c.zh, c.en, req, c.values} {
			b.str(notes, i+1, row, v)
		}
	}
	row += 2
	b.str(notes, 1, row, "答案选项 Answer labels")
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(1, row), bold))
	row++
	for i, h := range []string{"数值 Value", "中文", "English"} {
		b.str(notes, i+1, row, h)
	}
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(3, row), header))
	for _, l := range q.Labels {
		row++
		b.do(f.SetCellInt(notes, cellName(1, row), int64(l.Value)))
		b.str(notes, 2, row, l.Text)
		b.str(notes, 3, row, l.TextEn)
	}
	row += 2
	b.str(notes, 1, row, "受访者类型 Respondent types")
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(1, row), bold))
	row++
	for i, h := range []string{"代码 Code", "名称", "Name"} {
		b.str(notes, i+1, row, h)
	}
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(3, row), header))
	typesFrom := row + 1
	for _, t := range q.RespondentTypes {
		row++
		b.str(notes, 1, row, t.Code)
		b.str(notes, 2, row, t.Name)
		b.str(notes, 3, row, t.NameEn)
	}
	typesTo := row
	row += 2
	b.str(notes, 1, row, "本项目地区 Regions of the project")
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(1, row), bold))
	row++
	for i, h := range []string{"代码 Code", "名称 Name"} {
		b.str(notes, i+1, row, h)
	}
	b.do(f.SetCellStyle(notes, cellName(1, row), cellName(2, row), header))
	regionsFrom := row + 1
	for _, r := range regions {
		row++
		b.str(notes, 1, row, r.Code)
		b.str(notes, 2, row, r.Name)
	}
	regionsTo := row
	for i, wd := range []float64{18, 36, 40, 12, 44} {
		b.do(f.SetColWidth(notes, colLetter(i+1), colLetter(i+1), wd))
	}

	// The data sheet: one header row, text format where Excel would
	// mangle codes and phone numbers, dropdowns where a list is known.
	const lastRow = 1048576
	for i, c := range cols {
		col := i + 1
		b.str(data, col, 1, c.name)
		width := 14.0
		if c.item != 0 {
			width = 12
		}
		b.do(f.SetColWidth(data, colLetter(col), colLetter(col), width))
		rng := cellName(col, 2) + ":" + cellName(col, lastRow)
		switch {
		case c.name == TargetRegion || c.name == TargetRespondentID || c.name == TargetContact:
			b.do(f.SetColStyle(data, colLetter(col), text))
			if c.name == TargetRegion && len(regions) > 0 {
				dv := excelize.NewDataValidation(true)
				dv.SetSqrefDropList(fmt.Sprintf("'%s'!$B$%d:$B$%d", notes, regionsFrom, regionsTo))
				dv.SetError(excelize.DataValidationErrorStyleWarning, "地区 Region", "请从列表中选择本项目的地区 / choose one of the project's regions")
				dv.SetSqref(rng)
				b.do(f.AddDataValidation(data, dv))
			}
		case c.name == TargetRespondentType && len(q.RespondentTypes) > 0:
			dv := excelize.NewDataValidation(true)
			dv.SetSqrefDropList(fmt.Sprintf("'%s'!$B$%d:$B$%d", notes, typesFrom, typesTo))
			dv.SetError(excelize.DataValidationErrorStyleWarning, "受访者类型 Type", "请从列表中选择受访者类型 / choose a respondent type")
			dv.SetSqref(rng)
			b.do(f.AddDataValidation(data, dv))
		case c.item != 0:
			k := q.Scale
			if k == 0 {
				k = 5
			}
			if c.item > 0 && q.Items[c.item-1].Scale != 0 {
				k = q.Items[c.item-1].Scale
			}
			b.do(f.AddDataValidation(data, answerValidation(rng, k, q)))
		}
	}
	b.do(f.SetCellStyle(data, "A1", cellName(len(cols), 1), header))
	b.do(f.SetPanes(data, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}))
	b.do(f.SetDocProps(&excelize.DocProperties{Creator: "ipeval", Title: "满意度调查答卷模板 " + q.Name}))
	if b.err != nil {
		return fmt.Errorf("responsefile: build template: %w", b.err)
	}
	f.SetActiveSheet(0)
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("responsefile: write template: %w", err)
	}
	return nil
}

// answerValidation is the dropdown 1..k of an answer column, with the
// labels in its prompt.
func answerValidation(sqref string, k int, q questionnaire.Questionnaire) *excelize.DataValidation {
	dv := excelize.NewDataValidation(true)
	keys := make([]string, k)
	for i := range keys {
		keys[i] = strconv.Itoa(i + 1)
	}
	_ = dv.SetDropList(keys)
	base := q.Scale
	if base == 0 {
		base = 5
	}
	var parts []string
	if k == base {
		for _, l := range q.Labels {
			parts = append(parts, fmt.Sprintf("%d=%s", l.Value, l.Text))
		}
	}
	prompt := fmt.Sprintf("填写 1–%d 的整数（%d 为最好）", k, k)
	if len(parts) > 0 {
		prompt += "：" + strings.Join(parts, "，")
	}
	dv.SetInput(textenc.Clip("答案 Answer", maxPromptTitle), textenc.Clip(prompt, maxPromptText))
	dv.SetError(excelize.DataValidationErrorStyleStop, textenc.Clip("答案无效 Invalid answer", maxPromptTitle),
		textenc.Clip(fmt.Sprintf("请填写 1–%d 的整数 / enter a whole number from 1 to %d", k, k), maxPromptText))
	dv.SetSqref(sqref)
	return dv
}

// reportHeader names the columns of a validation report.
func reportHeader() []string {
	return []string{"行 Row", "列 Column", "代码 Code", "说明", "Message"}
}

// WriteReport writes a validation report, so that a contractor can work
// through the problems of a refused batch in a spreadsheet: one line per
// problem (row, column, code, message in Chinese, message in English), as
// CSV (UTF-8 with BOM; every cell guarded against formula injection, since
// column names and messages quote the uploaded file) or XLSX.
func WriteReport(w io.Writer, format string, problems []fault.FieldError) error {
	switch format {
	case FormatCSV:
		records := make([][]string, 0, len(problems)+1)
		records = append(records, reportHeader())
		for _, p := range problems {
			rec := reportRecord(p)
			for i := range rec {
				rec[i] = textenc.GuardFormula(rec[i])
			}
			records = append(records, rec)
		}
		return writeCSV(w, records)
	case FormatXLSX:
		return writeReportXLSX(w, problems)
	}
	return fmt.Errorf("responsefile: unknown format %q", format)
}

func reportRecord(p fault.FieldError) []string {
	row := ""
	if p.Row > 0 {
		row = strconv.Itoa(p.Row)
	}
	return []string{row, p.Column, p.Code, p.Message, p.MessageEn}
}

func writeReportXLSX(w io.Writer, problems []fault.FieldError) error {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	b := &book{f: f}
	b.do(f.SetSheetName(f.GetSheetName(0), reportSheetName))
	header := b.style(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if b.err != nil {
		return fmt.Errorf("responsefile: build report: %w", b.err)
	}
	sw, err := f.NewStreamWriter(reportSheetName)
	if err != nil {
		return fmt.Errorf("responsefile: build report: %w", err)
	}
	for i, wd := range []float64{8, 24, 24, 60, 60} {
		b.do(sw.SetColWidth(i+1, i+1, wd))
	}
	b.do(sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}))
	hdr := reportHeader()
	cells := make([]any, len(hdr))
	for i, h := range hdr {
		cells[i] = excelize.Cell{StyleID: header, Value: h}
	}
	b.do(sw.SetRow("A1", cells))
	for i, p := range problems {
		rec := reportRecord(p)
		cells := make([]any, len(rec))
		for j, v := range rec {
			cells[j] = v
		}
		if p.Row > 0 {
			cells[0] = p.Row
		}
		b.do(sw.SetRow(cellName(1, i+2), cells))
	}
	b.do(sw.Flush())
	if b.err != nil {
		return fmt.Errorf("responsefile: build report: %w", b.err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("responsefile: write report: %w", err)
	}
	return nil
}
