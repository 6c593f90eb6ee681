package sheet

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/textenc"
)

// metaFormat marks the _ipeval sheet as ours, so that Parse does not read a
// foreign sheet of the same name as metadata.
const metaFormat = "ipeval-sheet-1"

// Rows of the generated sheets: a title, an instruction (ByIndicator) or
// indicator names (ByRegion), then the header; data starts below.
const (
	titleRow  = 1
	secondRow = 2
	headerRow = 3
	firstData = 4
)

// Excel limits the title of a validation message to 32 characters and its
// text to 255; longer ones make Excel "repair" the workbook.
const (
	maxPromptTitle = 30
	maxPromptText  = 250
)

// WriteXLSX writes a fill-in workbook for t in t.Meta.Layout: a protected
// data sheet "指标数据" where only the input cells are unlocked, dropdowns
// and range checks on those cells, and the metadata (and, for ByRegion, the
// versions) in very hidden sheets so that Parse can match an upload to what
// was handed out. Meta.SchemeCode and SchemeVersion default to t.Scheme's.
func WriteXLSX(w io.Writer, t Template) error {
	if t.Meta.Layout != ByIndicator && t.Meta.Layout != ByRegion {
		return fmt.Errorf("sheet: unknown layout %q", t.Meta.Layout)
	}
	t.Meta = withSchemeDefaults(t.Meta, t.Scheme)
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	b := &book{f: f}
	b.do(f.SetSheetName(f.GetSheetName(0), dataSheet))
	b.newStyles()
	if t.Meta.Layout == ByIndicator {
		b.byIndicator(t)
	} else {
		b.byRegion(t)
	}
	b.meta(t.Meta)
	b.do(f.SetDocProps(&excelize.DocProperties{Creator: "ipeval", Title: title(t)}))
	if b.err != nil {
		return fmt.Errorf("sheet: build workbook: %w", b.err)
	}
	f.SetActiveSheet(0)
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("sheet: write workbook: %w", err)
	}
	return nil
}

// WriteCSV writes t as CSV with the ByIndicator columns whatever t's layout,
// since a CSV has no room for the per-cycle grid's second header row. It is
// UTF-8 with a byte-order mark and CRLF line ends, which is what makes Excel
// on a Chinese Windows open it without garbling the Chinese.
func WriteCSV(w io.Writer, t Template) error {
	cw, err := textenc.ExcelCSV(w)
	if err != nil {
		return fmt.Errorf("sheet: write csv: %w", err)
	}
	if err := cw.Write(byIndicatorHeaders); err != nil {
		return fmt.Errorf("sheet: write csv: %w", err)
	}
	for _, r := range indicatorRows(t) {
		value := ""
		switch v := r.value().(type) {
		case string:
			value = v
		case float64:
			value = formatNumber(v)
		}
		version := ""
		if r.has && r.cur.Version > 0 {
			version = strconv.Itoa(r.cur.Version)
		}
		rec := []string{
			r.region.Code, textenc.GuardFormula(r.region.Name), r.ind.Code, textenc.GuardFormula(r.ind.Name), textenc.GuardFormula(r.ind.Unit),
			rangeText(r.ind), evidenceText(r.ind), value, r.naText(), textenc.GuardFormula(r.note()),
			statusName(r.cur, r.has), version,
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("sheet: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("sheet: write csv: %w", err)
	}
	return nil
}

func withSchemeDefaults(m Meta, sc scheme.Scheme) Meta {
	if m.SchemeCode == "" {
		m.SchemeCode = sc.Code
	}
	if m.SchemeVersion == 0 {
		m.SchemeVersion = sc.Version
	}
	return m
}

// reportableIndicators lists, in scheme order, the indicators a region
// enters by hand.
func reportableIndicators(sc scheme.Scheme) []scheme.Indicator {
	var out []scheme.Indicator
	for _, ind := range sc.Indicators {
		if reportable(ind) {
			out = append(out, ind)
		}
	}
	return out
}

// indRow is one (region, indicator) row of the ByIndicator layout.
type indRow struct {
	region  Region
	ind     scheme.Indicator
	applies bool
	cur     Current
	has     bool
}

func indicatorRows(t Template) []indRow {
	inds := reportableIndicators(t.Scheme)
	out := make([]indRow, 0, len(t.Regions)*len(inds))
	for _, r := range t.Regions {
		for _, ind := range inds {
			cur, has := t.Values[[2]string{r.Code, ind.Code}]
			out = append(out, indRow{region: r, ind: ind, applies: t.Scheme.AppliesTo(ind, r.Kind), cur: cur, has: has})
		}
	}
	return out
}

// value is what the value cell shows: nil, a yes/no text or a number. A
// value of an indicator that does not apply to the region's kind is not
// shown: the row says 不适用.
func (r indRow) value() any {
	if !r.applies || !r.has || r.cur.NotApplicable || r.cur.Number == nil {
		return nil
	}
	return cellNumber(r.ind, *r.cur.Number)
}

func (r indRow) na() bool { return !r.applies || (r.has && r.cur.NotApplicable) }

func (r indRow) naText() string {
	if r.na() {
		return textNA
	}
	return ""
}

func (r indRow) note() string {
	if r.has {
		return r.cur.Note
	}
	return ""
}

// cellNumber shows a yes/no value as 是/否, which is what the dropdown offers.
func cellNumber(ind scheme.Indicator, x float64) any {
	if binary(ind) {
		switch x {
		case 1:
			return textYes
		case 0:
			return textNo
		}
	}
	return x
}

func formatNumber(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// rangeText shows the valid range, e.g. "0–100", "≥0（整数）" or "是/否".
func rangeText(ind scheme.Indicator) string {
	if binary(ind) {
		return textYes + "/" + textNo
	}
	s := bounds(ind)
	if ind.Integer {
		if s == "" {
			return "整数"
		}
		s += "（整数）"
	}
	return s
}

// bounds shows Min and Max: "0–100", "≥0", "≤100" or "".
func bounds(ind scheme.Indicator) string {
	switch {
	case ind.Min != nil && ind.Max != nil:
		return formatNumber(*ind.Min) + "–" + formatNumber(*ind.Max)
	case ind.Min != nil:
		return "≥" + formatNumber(*ind.Min)
	case ind.Max != nil:
		return "≤" + formatNumber(*ind.Max)
	}
	return ""
}

func evidenceText(ind scheme.Indicator) string {
	if ind.EvidenceRequired {
		return textYes
	}
	return ""
}

// nameWithUnit is the ByRegion column caption, e.g. "热线接通率（%）".
func nameWithUnit(ind scheme.Indicator) string {
	if ind.Unit == "" {
		return ind.Name
	}
	return ind.Name + "（" + ind.Unit + "）"
}

func title(t Template) string {
	period := t.Meta.CycleName
	if t.Meta.Year > 0 {
		period = strconv.Itoa(t.Meta.Year) + "年度"
	}
	parts := []string{}
	if period != "" {
		parts = append(parts, period)
	}
	if t.Meta.Layout == ByIndicator {
		if name := regionName(t); name != "" {
			parts = append(parts, name)
		}
		return strings.Join(append(parts, "知识产权公共服务指标填报表"), " ")
	}
	return strings.Join(append(parts, "知识产权公共服务指标填报表（各地区）"), " ")
}

func regionName(t Template) string {
	for _, r := range t.Regions {
		if r.Code == t.Meta.RegionCode && r.Code != "" {
			return r.Name
		}
	}
	if len(t.Regions) == 1 {
		return t.Regions[0].Name
	}
	return ""
}

const instructionByIndicator = "填写说明：1. 只在白色单元格（数值、不适用、说明）中填写，灰色列由系统生成，请勿修改；" +
	"2. 是/否指标在“数值”列下拉选择“是”或“否”；百分比指标填写百分数的数值（如 85 表示 85%）；" +
	"3. 指标不适用于本地区时，在“不适用”列下拉选择“不适用”，数值留空；深灰色的行表示该指标不适用于本地区类型；" +
	"4. 数值留空表示未填报；5. 请勿修改“版本”列，上传时系统据此检查数据是否已被他人修改。"

const instructionByRegion = "填写说明：每行一个地区，每列一个指标（本行为指标名称及单位）。填写数值；" +
	"是/否指标填“是”或“否”；不适用填“不适用”；留空表示未填报。灰色单元格请勿修改。"

// Columns of the ByIndicator layout, 1-based.
const (
	colValue = 8  // H 数值
	colNA    = 9  // I 不适用
	colNote  = 10 // J 说明
	colLast  = 12 // L 版本
)

func (b *book) byIndicator(t Template) {
	const sh = dataSheet
	st := b.st
	b.set(sh, 1, titleRow, title(t))
	b.do(b.f.MergeCell(sh, cell(1, titleRow), cell(colLast, titleRow)))
	b.style(sh, 1, titleRow, colLast, titleRow, st.title)
	b.do(b.f.SetRowHeight(sh, titleRow, 28))
	b.set(sh, 1, secondRow, instructionByIndicator)
	b.do(b.f.MergeCell(sh, cell(1, secondRow), cell(colLast, secondRow)))
	b.style(sh, 1, secondRow, colLast, secondRow, st.instruction)
	b.do(b.f.SetRowHeight(sh, secondRow, 62))
	for i, h := range byIndicatorHeaders {
		b.set(sh, i+1, headerRow, h)
	}
	b.style(sh, 1, headerRow, colLast, headerRow, st.header)
	b.do(b.f.SetRowHeight(sh, headerRow, 22))

	valueChecks := map[string]*excelize.DataValidation{}
	var order []string
	rows := indicatorRows(t)
	for i, r := range rows {
		row := firstData + i
		version := any(nil)
		if r.has && r.cur.Version > 0 {
			version = r.cur.Version
		}
		// Texts users wrote are guarded as in the CSV: a cell edited in
		// Excel would otherwise turn "=HYPERLINK(…)" into a live formula.
		// Parse takes the guard off the note again.
		cells := []any{r.region.Code, textenc.GuardFormula(r.region.Name), r.ind.Code, textenc.GuardFormula(r.ind.Name),
			textenc.GuardFormula(r.ind.Unit), rangeText(r.ind), evidenceText(r.ind), r.value(), r.naText(),
			textenc.GuardFormula(r.note()), statusName(r.cur, r.has), version}
		for c, v := range cells {
			b.set(sh, c+1, row, v)
		}
		ro, in := st.readOnly, st.input
		if !r.applies {
			ro, in = st.naReadOnly, st.naInput
		}
		b.style(sh, 1, row, colValue-1, row, ro)
		b.style(sh, 1, row, 1, row, st.code)
		b.style(sh, colValue, row, colNote, row, in)
		b.style(sh, colNote+1, row, colLast, row, ro)
		dv, ok := valueChecks[r.ind.Code]
		if !ok {
			dv = valueValidation(r.ind)
			valueChecks[r.ind.Code] = dv
			order = append(order, r.ind.Code)
		}
		if dv != nil {
			dv.SetSqref(cell(colValue, row))
		}
	}
	for _, code := range order {
		b.validate(sh, valueChecks[code])
	}
	if len(rows) > 0 {
		last := firstData + len(rows) - 1
		dv := excelize.NewDataValidation(true)
		b.do(dv.SetDropList([]string{textNA}))
		dv.SetError(excelize.DataValidationErrorStyleStop, "不适用", "只能选择“不适用”或留空")
		dv.SetSqref(cell(colNA, firstData) + ":" + cell(colNA, last))
		b.validate(sh, dv)
	}
	b.widths(sh, []float64{12, 16, 9, 42, 13, 14, 8, 14, 10, 32, 10, 7})
	b.do(b.f.SetPanes(sh, &excelize.Panes{Freeze: true, YSplit: headerRow, TopLeftCell: cell(1, firstData),
		ActivePane: "bottomLeft", Selection: []excelize.Selection{{SQRef: cell(colValue, firstData), ActiveCell: cell(colValue, firstData), Pane: "bottomLeft"}}}))
	b.protect(sh)
}

// valueValidation is the check on a ByIndicator value cell: a 是/否
// dropdown for yes/no indicators, else the valid range, or nil when the
// indicator has none. The range is not the server's check (which re-checks
// every value); it only catches typos while typing.
func valueValidation(ind scheme.Indicator) *excelize.DataValidation {
	dv := excelize.NewDataValidation(true)
	if binary(ind) {
		if dv.SetDropList([]string{textYes, textNo}) != nil {
			return nil
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, "数值无效", "请从下拉列表选择“是”或“否”")
		return dv
	}
	typ, what := excelize.DataValidationTypeDecimal, "数值"
	if ind.Integer {
		typ, what = excelize.DataValidationTypeWhole, "整数"
	}
	var err error
	switch {
	case ind.Min != nil && ind.Max != nil:
		err = dv.SetRange(*ind.Min, *ind.Max, typ, excelize.DataValidationOperatorBetween)
	case ind.Min != nil:
		err = dv.SetRange(*ind.Min, *ind.Min, typ, excelize.DataValidationOperatorGreaterThanOrEqual)
		dv.Formula2 = ""
	case ind.Max != nil:
		err = dv.SetRange(*ind.Max, *ind.Max, typ, excelize.DataValidationOperatorLessThanOrEqual)
		dv.Formula2 = ""
	case ind.Integer:
		err = dv.SetRange(math.MinInt32, math.MaxInt32, typ, excelize.DataValidationOperatorBetween)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	msg := "请填写" + what
	if r := bounds(ind); r != "" {
		msg += "，有效范围 " + r
	}
	if ind.Unit != "" {
		msg += "，单位：" + ind.Unit
	}
	dv.SetError(excelize.DataValidationErrorStyleStop, "数值无效", textenc.Clip(msg, maxPromptText))
	return dv
}

// Columns of the ByRegion layout, 1-based; indicators start at colFirstInd.
const (
	colRegionKind = 3
	colFirstInd   = 4
)

func (b *book) byRegion(t Template) {
	const sh = dataSheet
	st := b.st
	inds := reportableIndicators(t.Scheme)
	last := max(colFirstInd-1+len(inds), colFirstInd)
	b.set(sh, 1, titleRow, title(t))
	b.do(b.f.MergeCell(sh, cell(1, titleRow), cell(last, titleRow)))
	b.style(sh, 1, titleRow, last, titleRow, st.title)
	b.do(b.f.SetRowHeight(sh, titleRow, 28))
	b.set(sh, 1, secondRow, instructionByRegion)
	b.do(b.f.MergeCell(sh, cell(1, secondRow), cell(colRegionKind, secondRow)))
	b.style(sh, 1, secondRow, colRegionKind, secondRow, st.instruction)
	b.do(b.f.SetRowHeight(sh, secondRow, 66))
	b.gridHeader(sh, inds)
	for j, ind := range inds {
		b.set(sh, colFirstInd+j, secondRow, textenc.GuardFormula(nameWithUnit(ind)))
	}
	if len(inds) > 0 {
		b.style(sh, colFirstInd, secondRow, colFirstInd+len(inds)-1, secondRow, st.names)
	}

	b.newSheet(versionsSheet)
	b.gridHeader(versionsSheet, inds)
	for i, r := range t.Regions {
		row := firstData + i
		for _, s := range []string{sh, versionsSheet} {
			b.set(s, 1, row, r.Code)
			b.set(s, 2, row, textenc.GuardFormula(r.Name))
			b.set(s, colRegionKind, row, r.Kind.Name())
		}
		b.style(sh, 1, row, colRegionKind, row, st.readOnly)
		b.style(sh, 1, row, 1, row, st.code)
		for j, ind := range inds {
			col := colFirstInd + j
			cur, has := t.Values[[2]string{r.Code, ind.Code}]
			applies := t.Scheme.AppliesTo(ind, r.Kind)
			var v any
			switch {
			case !applies || (has && cur.NotApplicable):
				v = textNA
			case has && cur.Number != nil:
				v = cellNumber(ind, *cur.Number)
			}
			b.set(sh, col, row, v)
			if has && cur.Version > 0 {
				b.set(versionsSheet, col, row, cur.Version)
			}
			style := st.input
			if !applies {
				style = st.naInput
			}
			b.style(sh, col, row, col, row, style)
		}
	}
	if n := len(t.Regions); n > 0 {
		for j, ind := range inds {
			col := colFirstInd + j
			b.validate(sh, gridValidation(ind, cell(col, firstData)+":"+cell(col, firstData+n-1)))
		}
	}
	widths := []float64{12, 18, 18}
	for range inds {
		widths = append(widths, 14)
	}
	b.widths(sh, widths)
	b.do(b.f.SetPanes(sh, &excelize.Panes{Freeze: true, XSplit: colFirstInd - 1, YSplit: headerRow,
		TopLeftCell: cell(colFirstInd, firstData), ActivePane: "bottomRight",
		Selection: []excelize.Selection{{SQRef: cell(colFirstInd, firstData), ActiveCell: cell(colFirstInd, firstData), Pane: "bottomRight"}}}))
	b.protect(sh)
	b.protect(versionsSheet)
	b.do(b.f.SetSheetVisible(versionsSheet, false, true))
}

// gridHeader writes the ByRegion header row; the _versions sheet repeats it
// so that its cells line up with the data sheet's.
func (b *book) gridHeader(sh string, inds []scheme.Indicator) {
	b.set(sh, 1, headerRow, hRegionCode)
	b.set(sh, 2, headerRow, hRegionName)
	b.set(sh, colRegionKind, headerRow, hRegionKind)
	for j, ind := range inds {
		b.set(sh, colFirstInd+j, headerRow, ind.Code)
	}
	b.style(sh, 1, headerRow, max(colFirstInd-1+len(inds), colRegionKind), headerRow, b.st.header)
}

// gridValidation is the check on a ByRegion indicator column. Numeric
// columns get only a prompt, because a range check would refuse the
// "不适用" that the grid allows in any cell.
func gridValidation(ind scheme.Indicator, sqref string) *excelize.DataValidation {
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(sqref)
	if binary(ind) {
		if dv.SetDropList([]string{textYes, textNo, textNA}) != nil {
			return nil
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, "数值无效", "请从下拉列表选择“是”“否”或“不适用”")
		return dv
	}
	msg := "填写数值"
	if ind.Unit != "" {
		msg += "（单位：" + ind.Unit + "）"
	}
	if r := rangeText(ind); r != "" {
		msg += "，有效范围 " + r
	}
	msg += "；不适用填“不适用”，留空表示未填报"
	dv.SetInput(textenc.Clip(ind.Code+" "+ind.Name, maxPromptTitle), textenc.Clip(msg, maxPromptText))
	return dv
}

// meta writes the very hidden _ipeval sheet: key/value rows, all text.
func (b *book) meta(m Meta) {
	b.newSheet(metaSheet)
	generated := ""
	if !m.Generated.IsZero() {
		generated = m.Generated.UTC().Format(time.RFC3339)
	}
	rows := [][2]string{
		{"format", metaFormat},
		{"cycle_id", m.CycleID},
		{"cycle_name", textenc.GuardFormula(m.CycleName)}, // user text: guarded as on the data sheet
		{"year", strconv.Itoa(m.Year)},
		{"scheme_code", m.SchemeCode},
		{"scheme_version", strconv.Itoa(m.SchemeVersion)},
		{"layout", string(m.Layout)},
		{"region_code", m.RegionCode},
		{"generated", generated},
	}
	for i, kv := range rows {
		b.set(metaSheet, 1, i+1, kv[0])
		b.set(metaSheet, 2, i+1, kv[1])
	}
	b.protect(metaSheet)
	b.do(b.f.SetSheetVisible(metaSheet, false, true))
}
