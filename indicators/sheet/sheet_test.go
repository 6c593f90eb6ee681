package sheet_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/sheet"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/regions/kind"
)

const (
	taiyuan = "140100" // a prefecture city
	qingxu  = "140121" // a county
)

func num(x float64) *float64 { return &x }

// fixture is a template for the default scheme, with A3 (park
// workstations) restricted to cities so that the county has a row that
// does not apply.
func fixture(tb testing.TB, layout sheet.Layout) sheet.Template {
	tb.Helper()
	sc := scheme.Default()
	found := false
	for i := range sc.Indicators {
		if sc.Indicators[i].Code == "A3" {
			sc.Indicators[i].AppliesTo = []kind.Kind{kind.PrefectureCity, kind.ReformZone}
			found = true
		}
	}
	if !found {
		tb.Fatal("default scheme has no A3")
	}
	meta := sheet.Meta{CycleID: "cyc-2025", CycleName: "2025年度考核", Year: 2025, SchemeCode: sc.Code,
		SchemeVersion: sc.Version, Layout: layout, Generated: time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)}
	if layout == sheet.ByIndicator {
		meta.RegionCode = taiyuan
	}
	return sheet.Template{
		Meta:   meta,
		Scheme: sc,
		Regions: []sheet.Region{
			{Code: taiyuan, Name: "太原市", Kind: kind.PrefectureCity},
			{Code: qingxu, Name: "清徐县", Kind: kind.County},
		},
		Values: map[[2]string]sheet.Current{
			{taiyuan, "A1"}: {Number: num(1), Status: "verified", Version: 3},
			{taiyuan, "A2"}: {Number: num(7), Status: "draft", Version: 1},
			{taiyuan, "C4"}: {Number: num(85.5), Note: "含线上渠道", Status: "submitted", Version: 2},
			{taiyuan, "B1"}: {Note: "数据待核实", Status: "draft", Version: 1},
			{qingxu, "A4"}:  {Number: num(0), Status: "rejected", Version: 4},
			{qingxu, "C2"}:  {NotApplicable: true, Note: "本县无质押融资", Status: "draft", Version: 2},
			{qingxu, "F1"}:  {Number: num(120.25), Note: "=SUM(A1)", Status: "submitted", Version: 5},
			{qingxu, "A3"}:  {Number: num(2), Version: 1}, // stored before A3 stopped applying to counties
			{qingxu, "D2"}:  {Number: num(95), Note: "'=quoted", Status: "draft", Version: 1},
		},
	}
}

// want is what an entry carries, without its position.
type want struct {
	value   string
	na      bool
	note    string
	version int
}

func wantByIndicator() map[[2]string]want {
	return map[[2]string]want{
		{taiyuan, "A1"}: {value: "是", version: 3},
		{taiyuan, "A2"}: {value: "7", version: 1},
		{taiyuan, "C4"}: {value: "85.5", note: "含线上渠道", version: 2},
		{taiyuan, "B1"}: {note: "数据待核实", version: 1},
		{qingxu, "A4"}:  {value: "否", version: 4},
		{qingxu, "C2"}:  {na: true, note: "本县无质押融资", version: 2},
		{qingxu, "F1"}:  {value: "120.25", note: "=SUM(A1)", version: 5},
		{qingxu, "A3"}:  {na: true, version: 1},
		{qingxu, "D2"}:  {value: "95", note: "'=quoted", version: 1},
	}
}

func wantByRegion() map[[2]string]want {
	return map[[2]string]want{
		{taiyuan, "A1"}: {value: "是", version: 3},
		{taiyuan, "A2"}: {value: "7", version: 1},
		{taiyuan, "C4"}: {value: "85.5", version: 2},
		{qingxu, "A4"}:  {value: "否", version: 4},
		{qingxu, "C2"}:  {value: "不适用", version: 2},
		{qingxu, "F1"}:  {value: "120.25", version: 5},
		{qingxu, "A3"}:  {value: "不适用", version: 1},
		{qingxu, "D2"}:  {value: "95", version: 1},
	}
}

func entryMap(tb testing.TB, entries []sheet.Entry) map[[2]string]want {
	tb.Helper()
	got := map[[2]string]want{}
	for _, e := range entries {
		key := [2]string{e.RegionCode, e.IndicatorCode}
		if _, dup := got[key]; dup {
			tb.Errorf("entry %v appears twice", key)
		}
		if e.Row < 1 || e.Column == "" {
			tb.Errorf("entry %v has no position: row %d column %q", key, e.Row, e.Column)
		}
		got[key] = want{value: e.Value, na: e.NotApplicable, note: e.Note, version: e.Version}
	}
	return got
}

func assertEntries(tb testing.TB, got []sheet.Entry, wantMap map[[2]string]want) {
	tb.Helper()
	gotMap := entryMap(tb, got)
	for k, w := range wantMap {
		g, ok := gotMap[k]
		if !ok {
			tb.Errorf("missing entry %v", k)
			continue
		}
		if g != w {
			tb.Errorf("entry %v = %+v, want %+v", k, g, w)
		}
	}
	for k, g := range gotMap {
		if _, ok := wantMap[k]; !ok {
			tb.Errorf("unexpected entry %v = %+v", k, g)
		}
	}
}

func writeXLSX(tb testing.TB, t sheet.Template) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := sheet.WriteXLSX(&buf, t); err != nil {
		tb.Fatalf("WriteXLSX: %v", err)
	}
	return buf.Bytes()
}

func writeCSV(tb testing.TB, t sheet.Template) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := sheet.WriteCSV(&buf, t); err != nil {
		tb.Fatalf("WriteCSV: %v", err)
	}
	return buf.Bytes()
}

func parse(tb testing.TB, data []byte, name string) sheet.File {
	tb.Helper()
	f, err := sheet.Parse(data, name)
	if err != nil {
		tb.Fatalf("Parse(%s): %v", name, err)
	}
	return f
}

func openXLSX(tb testing.TB, data []byte) *excelize.File {
	tb.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("open generated workbook: %v", err)
	}
	tb.Cleanup(func() { _ = f.Close() })
	return f
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		layout sheet.Layout
		write  func(testing.TB, sheet.Template) []byte
		file   string
		want   map[[2]string]want
		meta   bool
	}{
		{"xlsx per region", sheet.ByIndicator, writeXLSX, "t.xlsx", wantByIndicator(), true},
		{"xlsx per cycle", sheet.ByRegion, writeXLSX, "T.XLSX", wantByRegion(), true},
		{"csv", sheet.ByIndicator, writeCSV, "t.csv", wantByIndicator(), false},
		{"csv of per-cycle template is per indicator", sheet.ByRegion, writeCSV, "t.Csv", wantByIndicator(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := fixture(t, tc.layout)
			got := parse(t, tc.write(t, tmpl), tc.file)
			wantLayout := tc.layout
			if !tc.meta {
				wantLayout = sheet.ByIndicator
			}
			if got.Layout != wantLayout {
				t.Errorf("layout = %q, want %q", got.Layout, wantLayout)
			}
			assertEntries(t, got.Entries, tc.want)
			switch {
			case !tc.meta && got.Meta != nil:
				t.Errorf("CSV has meta %+v", got.Meta)
			case tc.meta && got.Meta == nil:
				t.Error("meta missing")
			case tc.meta && *got.Meta != tmpl.Meta:
				t.Errorf("meta = %+v, want %+v", *got.Meta, tmpl.Meta)
			}
		})
	}
}

func TestRoundTripPositions(t *testing.T) {
	got := parse(t, writeXLSX(t, fixture(t, sheet.ByIndicator)), "t.xlsx")
	// Rows 1–3 are title, instruction and header; Taiyuan's A1 is first.
	first := got.Entries[0]
	if first.Row != 4 || first.Column != "H" || first.IndicatorCode != "A1" {
		t.Errorf("first entry at %s%d (%s), want H4 (A1)", first.Column, first.Row, first.IndicatorCode)
	}
	grid := parse(t, writeXLSX(t, fixture(t, sheet.ByRegion)), "t.xlsx")
	for _, e := range grid.Entries {
		if e.RegionCode == taiyuan && e.IndicatorCode == "A1" && (e.Row != 4 || e.Column != "D") {
			t.Errorf("A1 of Taiyuan at %s%d, want D4", e.Column, e.Row)
		}
	}
}

func TestMetaRFC3339(t *testing.T) {
	tmpl := fixture(t, sheet.ByIndicator)
	tmpl.Meta.Generated = time.Date(2025, 3, 1, 16, 30, 0, 0, time.FixedZone("CST", 8*3600))
	got := parse(t, writeXLSX(t, tmpl), "t.xlsx")
	if got.Meta == nil || !got.Meta.Generated.Equal(tmpl.Meta.Generated) || got.Meta.Generated.Location() != time.UTC {
		t.Errorf("generated = %v, want %v in UTC", got.Meta, tmpl.Meta.Generated)
	}
}

// zipPart returns the text of one part of a workbook.
func zipPart(tb testing.TB, data []byte, name string) string {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				tb.Fatal(err)
			}
			defer func() { _ = rc.Close() }()
			b, err := io.ReadAll(rc)
			if err != nil {
				tb.Fatal(err)
			}
			return string(b)
		}
	}
	tb.Fatalf("no part %s", name)
	return ""
}

func locked(tb testing.TB, f *excelize.File, sh, ref string) bool {
	tb.Helper()
	id, err := f.GetCellStyle(sh, ref)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		tb.Fatal(err)
	}
	// Excel locks a cell unless its style says otherwise.
	return st.Protection == nil || st.Protection.Locked
}

func TestTemplateByIndicator(t *testing.T) {
	data := writeXLSX(t, fixture(t, sheet.ByIndicator))
	f := openXLSX(t, data)
	const sh = "指标数据"

	if list := f.GetSheetList(); !slices.Equal(list, []string{sh, "_ipeval"}) {
		t.Errorf("sheets = %v", list)
	}
	if wb := zipPart(t, data, "xl/workbook.xml"); strings.Count(wb, `state="veryHidden"`) != 1 {
		t.Errorf("the meta sheet is not very hidden: %s", wb)
	}
	prot, err := f.GetSheetProtection(sh)
	if err != nil {
		t.Fatal(err)
	}
	if !prot.SelectUnlockedCells || prot.DeleteRows || prot.InsertRows {
		t.Errorf("sheet not protected: %+v", prot)
	}
	title, _ := f.GetCellValue(sh, "A1")
	if title != "2025年度 太原市 知识产权公共服务指标填报表" {
		t.Errorf("title = %q", title)
	}
	rows, err := f.GetRows(sh)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[2], []string{"地区代码", "地区名称", "指标代码", "指标名称", "单位", "有效范围", "需佐证", "数值", "不适用", "说明", "状态", "版本"}) {
		t.Errorf("header = %q", rows[2])
	}
	byKey := map[[2]string][]string{}
	for _, r := range rows[3:] {
		byKey[[2]string{r[0], r[2]}] = r
	}
	sc := scheme.Default()
	if want := 2 * (len(sc.Indicators) - 1); len(rows)-3 != want {
		t.Errorf("%d data rows, want %d (every indicator but D1, for 2 regions)", len(rows)-3, want)
	}
	if _, ok := byKey[[2]string{taiyuan, "D1"}]; ok {
		t.Error("the survey indicator D1 has a row")
	}
	c4 := byKey[[2]string{taiyuan, "C4"}]
	if c4[4] != "%" || c4[5] != "0–100" || c4[7] != "85.5" || c4[10] != "已提交" || c4[11] != "2" {
		t.Errorf("C4 row = %q", c4)
	}
	if a2 := byKey[[2]string{qingxu, "A2"}]; len(a2) < 11 || a2[4] != "个" || a2[5] != "≥0（整数）" || a2[10] != "未填报" {
		t.Errorf("A2 row = %q", a2)
	}
	if f1 := byKey[[2]string{qingxu, "F1"}]; f1[6] != "是" || f1[4] != "万元" {
		t.Errorf("F1 row = %q", f1)
	}
	if a3 := byKey[[2]string{qingxu, "A3"}]; a3[7] != "" || a3[8] != "不适用" {
		t.Errorf("A3 of a county row = %q; want not applicable and no number", a3)
	}

	for ref, want := range map[string]bool{"A1": true, "A3": true, "H3": true, "A4": true, "G4": true,
		"H4": false, "I4": false, "J4": false, "K4": true, "L4": true} {
		if got := locked(t, f, sh, ref); got != want {
			t.Errorf("%s locked = %v, want %v", ref, got, want)
		}
	}

	dvs, err := f.GetDataValidations(sh)
	if err != nil {
		t.Fatal(err)
	}
	var naList, yesNo, decimal bool
	for _, dv := range dvs {
		switch {
		case dv.Type == "list" && strings.Contains(dv.Formula1, "不适用"):
			naList = strings.HasPrefix(dv.Sqref, "I4:I")
		case dv.Type == "list" && strings.Contains(dv.Formula1, "是,否"):
			yesNo = true
		case dv.Type == "decimal" && dv.Formula1 == "0" && dv.Formula2 == "100":
			decimal = dv.Error != nil && strings.Contains(*dv.Error, "0–100")
		}
	}
	if !naList || !yesNo || !decimal {
		t.Errorf("validations: 不适用 list %v, 是/否 list %v, 0–100 decimal %v", naList, yesNo, decimal)
	}
	panes, err := f.GetPanes(sh)
	if err != nil || !panes.Freeze || panes.YSplit != 3 {
		t.Errorf("panes = %+v, %v", panes, err)
	}
}

func TestTemplateByRegion(t *testing.T) {
	data := writeXLSX(t, fixture(t, sheet.ByRegion))
	f := openXLSX(t, data)
	const sh = "指标数据"
	if wb := zipPart(t, data, "xl/workbook.xml"); strings.Count(wb, `state="veryHidden"`) != 2 {
		t.Errorf("_ipeval and _versions are not both very hidden: %s", wb)
	}
	rows, err := f.GetRows(sh)
	if err != nil {
		t.Fatal(err)
	}
	header := rows[2]
	if !slices.Equal(header[:3], []string{"地区代码", "地区名称", "地区类型"}) || slices.Contains(header, "D1") {
		t.Errorf("header = %q", header)
	}
	col := slices.Index(header, "C5")
	if col < 0 || rows[1][col] != "热线接通率（%）" {
		t.Errorf("names row = %q", rows[1])
	}
	if rows[3][2] != "设区市" || rows[4][2] != "县（市、区）" {
		t.Errorf("kinds = %q, %q", rows[3][2], rows[4][2])
	}
	a3 := slices.Index(header, "A3")
	if rows[4][a3] != "不适用" {
		t.Errorf("A3 of the county = %q, want 不适用", rows[4][a3])
	}
	for ref, want := range map[string]bool{"A4": true, "C4": true, "D3": true, "D2": true, "D4": false, "E5": false} {
		if got := locked(t, f, sh, ref); got != want {
			t.Errorf("%s locked = %v, want %v", ref, got, want)
		}
	}
	dvs, err := f.GetDataValidations(sh)
	if err != nil {
		t.Fatal(err)
	}
	var binaryList, prompt bool
	for _, dv := range dvs {
		if dv.Type == "list" && strings.Contains(dv.Formula1, "是,否,不适用") {
			binaryList = true
		}
		if dv.Type == "" && dv.ShowInputMessage && dv.Prompt != nil {
			prompt = true
		}
	}
	if !binaryList || !prompt {
		t.Errorf("validations: binary list %v, numeric prompt %v (%d validations)", binaryList, prompt, len(dvs))
	}
	versions, err := f.GetRows("_versions")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(versions[2], header) || versions[3][0] != taiyuan || versions[3][slices.Index(header, "A1")] != "3" {
		t.Errorf("_versions = %q", versions)
	}
}

// TestFillIn fills in a generated template as a user would in Excel and
// parses it back.
func TestFillIn(t *testing.T) {
	tmpl := fixture(t, sheet.ByIndicator)
	tmpl.Values = nil
	f := openXLSX(t, writeXLSX(t, tmpl))
	const sh = "指标数据"
	rows, err := f.GetRows(sh)
	if err != nil {
		t.Fatal(err)
	}
	rowOf := func(region, ind string) int {
		for i, r := range rows {
			if len(r) > 2 && r[0] == region && r[2] == ind {
				return i + 1
			}
		}
		t.Fatalf("no row for %s %s", region, ind)
		return 0
	}
	pct, err := f.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	if err != nil {
		t.Fatal(err)
	}
	set := func(region, ind, col string, v any) {
		t.Helper()
		ref := col + itoa(rowOf(region, ind))
		if err := f.SetCellValue(sh, ref, v); err != nil {
			t.Fatal(err)
		}
	}
	set(taiyuan, "A1", "H", "否")
	set(taiyuan, "A2", "H", 12)
	set(taiyuan, "B1", "H", "1,234.5")
	set(taiyuan, "C2", "H", 1234.5678)                       // shown as 1234.57; the raw value keeps full precision
	twoPlaces, err := f.NewStyle(&excelize.Style{NumFmt: 2}) // 0.00
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellStyle(sh, "H"+itoa(rowOf(taiyuan, "C2")), "H"+itoa(rowOf(taiyuan, "C2")), twoPlaces); err != nil {
		t.Fatal(err)
	}
	set(taiyuan, "C4", "H", 0.9) // typed as "90%": Excel stores 0.9 with a percent format
	if err := f.SetCellStyle(sh, "H"+itoa(rowOf(taiyuan, "C4")), "H"+itoa(rowOf(taiyuan, "C4")), pct); err != nil {
		t.Fatal(err)
	}
	set(qingxu, "C3", "I", "不适用")
	set(qingxu, "D2", "J", "　暂无投诉　") // full-width spaces around
	set(qingxu, "D3", "H", 0)
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got := parse(t, buf.Bytes(), "filled.xlsx")
	assertEntries(t, got.Entries, map[[2]string]want{
		{taiyuan, "A1"}: {value: "否"},
		{taiyuan, "A2"}: {value: "12"},
		{taiyuan, "B1"}: {value: "1,234.5"},
		{taiyuan, "C2"}: {value: "1234.5678"},
		{taiyuan, "C4"}: {value: "90.00%"},
		{qingxu, "C3"}:  {na: true},
		{qingxu, "D2"}:  {note: "暂无投诉"},
		{qingxu, "D3"}:  {value: "0"},
		{qingxu, "A3"}:  {na: true}, // pre-filled: A3 does not apply to counties
	})
	sc := tmpl.Scheme
	for _, e := range got.Entries {
		ind, _ := sc.Indicator(e.IndicatorCode)
		n, na, ok, fe := sheet.Interpret(e, ind)
		if fe != nil {
			t.Errorf("%s: %+v", e.IndicatorCode, fe)
			continue
		}
		switch e.IndicatorCode {
		case "C4":
			if n == nil || *n != 90 {
				t.Errorf("C4 = %v, want 90", n)
			}
		case "B1":
			if n == nil || *n != 1234.5 {
				t.Errorf("B1 = %v, want 1234.5", n)
			}
		case "D2":
			if ok {
				t.Errorf("a note alone is a value: %v %v", n, na)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestParseCSV(t *testing.T) {
	const text = "地区代码,指标代码,数值,不适用,说明,版本\r\n" +
		"140100,A2,5,,,3\r\n" +
		"140100,C2,,不适用,无,\r\n" +
		"\r\n" +
		"140100,C4,\"1,234.5\",,,\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	wantMap := map[[2]string]want{
		{taiyuan, "A2"}: {value: "5", version: 3},
		{taiyuan, "C2"}: {na: true, note: "无"},
		{taiyuan, "C4"}: {value: "1,234.5"},
	}
	for name, data := range map[string]string{"utf-8": text, "utf-8 bom": "\ufeff" + text, "gb18030": gb} {
		t.Run(name, func(t *testing.T) {
			got := parse(t, []byte(data), "upload.csv")
			assertEntries(t, got.Entries, wantMap)
			for _, e := range got.Entries {
				// The blank line counts: C4 is on line 5, its value in column C.
				if e.IndicatorCode == "C4" && (e.Row != 5 || e.Column != "C") {
					t.Errorf("C4 at %s%d, want C5", e.Column, e.Row)
				}
			}
		})
	}
	t.Run("english headers, reordered, title line", func(t *testing.T) {
		got := parse(t, []byte("Indicator values 2025\nnote,Value,indicator_code,region_code,Version,not_applicable\n"+
			"ok,7,A2,140100,2,\n,,,,,\n"), "x.csv")
		assertEntries(t, got.Entries, map[[2]string]want{{taiyuan, "A2"}: {value: "7", note: "ok", version: 2}})
		if got.Entries[0].Row != 3 || got.Entries[0].Column != "B" {
			t.Errorf("entry at %s%d, want B3", got.Entries[0].Column, got.Entries[0].Row)
		}
	})
	t.Run("grid", func(t *testing.T) {
		got := parse(t, []byte("region_code,region_name,A1,C4\n140100,太原市,是,不适用\n140121,清徐县,,88\n"), "g.csv")
		if got.Layout != sheet.ByRegion {
			t.Errorf("layout = %q", got.Layout)
		}
		assertEntries(t, got.Entries, map[[2]string]want{
			{taiyuan, "A1"}: {value: "是"}, {taiyuan, "C4"}: {value: "不适用"}, {qingxu, "C4"}: {value: "88"},
		})
	})
}

// fieldErrors returns the validation errors of err, failing if it is not one.
func fieldErrors(tb testing.TB, err error) []fault.FieldError {
	tb.Helper()
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("error %v is not a validation error", err)
	}
	return ve.Errors
}

func TestParseRowErrors(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want []fault.FieldError // compared on Row, Column, Indicator, Code
	}{
		{"bad versions", "地区代码,指标代码,数值,版本\n140100,A2,5,abc\n140100,A4,是,-1\n140100,A5,3,2.5\n140100,B2,3,4.0\n",
			[]fault.FieldError{{Row: 2, Column: "D", Indicator: "A2", Code: "invalid_version"},
				{Row: 3, Column: "D", Indicator: "A4", Code: "invalid_version"},
				{Row: 4, Column: "D", Indicator: "A5", Code: "invalid_version"}}},
		{"duplicate", "地区代码,指标代码,数值\n140100,A2,5\n140100,A2,6\n",
			[]fault.FieldError{{Row: 3, Column: "C", Indicator: "A2", Code: "duplicate_entry"}}},
		{"code missing", "地区代码,指标代码,数值\n,A2,5\n140100,,6\n,,7\n",
			[]fault.FieldError{{Row: 2, Column: "A", Indicator: "A2", Code: "missing_code"},
				{Row: 3, Column: "B", Code: "missing_code"}}},
		{"bad not-applicable", "地区代码,指标代码,数值,不适用\n140100,A2,,maybe\n",
			[]fault.FieldError{{Row: 2, Column: "D", Indicator: "A2", Code: "invalid_not_applicable"}}},
		{"missing value column", "地区代码,指标代码,说明\n140100,A2,x\n",
			[]fault.FieldError{{Row: 1, Code: "missing_column"}}},
		{"duplicate header", "地区代码,指标代码,数值,value\n140100,A2,1,2\n",
			[]fault.FieldError{{Row: 1, Column: "D", Code: "duplicate_column"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Header problems fail the file; row problems come back in
			// Problems, their rows left out of Entries.
			file, err := sheet.Parse([]byte(tc.csv), "e.csv")
			got := file.Problems
			if err != nil {
				if !errors.Is(err, fault.ErrBadRequest) {
					t.Fatalf("err = %v, want a bad request", err)
				}
				got = fieldErrors(t, err)
			}
			for _, e := range file.Entries {
				for _, fe := range got {
					if e.Row == fe.Row {
						t.Fatalf("row %d is both an entry and a problem", e.Row)
					}
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors = %+v, want %+v", got, tc.want)
			}
			for i, fe := range got {
				w := tc.want[i]
				if fe.Row != w.Row || fe.Column != w.Column || fe.Indicator != w.Indicator || fe.Code != w.Code ||
					fe.Message == "" || fe.MessageEn == "" {
					t.Errorf("error %d = %+v, want %+v with messages", i, fe, w)
				}
			}
		})
	}
}

// bombData is 200 MiB of zeros compressed with Deflate, with its CRC.
func bombData(tb testing.TB) (compressed []byte, crc uint32, size uint64) {
	tb.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		tb.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	h := crc32.NewIEEE()
	for range 200 {
		_, _ = fw.Write(zeros)
		_, _ = h.Write(zeros)
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), h.Sum32(), 200 << 20
}

// zipOf builds a zip of small stored parts plus, if raw is set, one raw
// Deflate entry with the given declared size.
func zipOf(tb testing.TB, parts map[string]string, rawName string, raw []byte, crc uint32, declared uint64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = io.WriteString(w, parts[n])
	}
	if raw != nil {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: rawName, Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(len(raw)), UncompressedSize64: declared})
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = w.Write(raw)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseBadFiles(t *testing.T) {
	bomb, crc, size := bombData(t)
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	workbook := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"xl/workbook.xml":     `<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="指标数据" sheetId="1" r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
	}
	tests := []struct {
		name string
		data []byte
		file string
		kind error
	}{
		{"not a zip", []byte("hello, world"), "a.xlsx", fault.ErrBadRequest},
		{"empty", nil, "a.xlsx", fault.ErrBadRequest},
		{"old excel", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, "a.xlsx", fault.ErrBadRequest},
		{"zip that is not a workbook", zipOf(t, map[string]string{"readme.txt": "hi"}, "", nil, 0, 0), "a.xlsx", fault.ErrBadRequest},
		{"zip bomb", zipOf(t, workbook, "xl/worksheets/sheet1.xml", bomb, crc, size), "a.xlsx", fault.ErrBadRequest},
		{"zip bomb lying about its size", zipOf(t, workbook, "xl/worksheets/sheet1.xml", bomb, crc, 1024), "a.xlsx", fault.ErrBadRequest},
		{"workbook without sheets", zipOf(t, map[string]string{"xl/workbook.xml": "<workbook/>"}, "", nil, 0, 0), "a.xlsx", fault.ErrBadRequest},
		{"csv in a workbook's name", []byte("地区代码,指标代码,数值\n"), "a.xlsx", fault.ErrBadRequest},
		{"no header", []byte("a,b,c\n1,2,3\n"), "a.csv", fault.ErrBadRequest},
		{"header too late", []byte(strings.Repeat("x\n", 10) + "地区代码,指标代码,数值\n140100,A2,1\n"), "a.csv", fault.ErrBadRequest},
		{"bad quotes", []byte("地区代码,指标代码,数值\n140100,A2,\"1\"2\n"), "a.csv", fault.ErrBadRequest},
		{"not text", []byte{0x81, 0x20, 0xff, 0xfe, 0x00}, "a.csv", fault.ErrBadRequest},
		{"too many rows", []byte("地区代码,指标代码,数值\n" + strings.Repeat("140100,A2,1\n", 20001)), "a.csv", fault.ErrBadRequest},
		{"too wide", []byte("地区代码,指标代码,数值" + strings.Repeat(",x", 1100) + "\n"), "a.csv", fault.ErrBadRequest},
		{"unknown extension", []byte("x"), "a.txt", fault.ErrUnsupportedMedia},
		{"no extension", []byte("x"), "upload", fault.ErrUnsupportedMedia},
		{"xls", []byte("x"), "a.XLS", fault.ErrUnsupportedMedia},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := sheet.Parse(tc.data, tc.file)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			var d *fault.Detailed
			var ve *fault.ValidationError
			if !errors.As(err, &d) && !errors.As(err, &ve) {
				t.Errorf("err %v carries no message for the user", err)
			} else if d != nil && (d.Detail == "" || d.DetailZh == "") {
				t.Errorf("err %+v lacks a message", d)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
	t.Run("not a workbook message", func(t *testing.T) {
		_, err := sheet.Parse([]byte("hello"), "a.xlsx")
		var d *fault.Detailed
		if !errors.As(err, &d) || d.DetailZh != "文件不是有效的 Excel（xlsx）工作簿" {
			t.Errorf("err = %#v", err)
		}
	})
}

// TestParseForeignWorkbook: a workbook made by hand, without our sheets,
// is read from its first visible sheet and has no meta.
func TestParseForeignWorkbook(t *testing.T) {
	f := excelize.NewFile()
	t.Cleanup(func() { _ = f.Close() })
	if _, err := f.NewSheet("数据"); err != nil {
		t.Fatal(err)
	}
	f.SetActiveSheet(1)
	if err := f.SetSheetVisible("Sheet1", false); err != nil {
		t.Fatal(err)
	}
	for ref, v := range map[string]any{"A1": "region_code", "B1": "indicator_code", "C1": "value", "D1": "version",
		"A2": 140100, "B2": "C4", "C2": 88.5, "D2": 2} {
		if err := f.SetCellValue("数据", ref, v); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got := parse(t, buf.Bytes(), "hand.xlsx")
	if got.Meta != nil {
		t.Errorf("meta = %+v", got.Meta)
	}
	assertEntries(t, got.Entries, map[[2]string]want{{taiyuan, "C4"}: {value: "88.5", version: 2}})
}

func TestParseMetaTampered(t *testing.T) {
	f := openXLSX(t, writeXLSX(t, fixture(t, sheet.ByIndicator)))
	if err := f.SetCellValue("_ipeval", "B9", "yesterday"); err != nil { // generated
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got := parse(t, buf.Bytes(), "t.xlsx")
	if got.Meta != nil {
		t.Errorf("meta from a damaged sheet: %+v", got.Meta)
	}
	if len(got.Entries) == 0 {
		t.Error("entries lost over damaged meta")
	}
}

func TestParseGridVersionErrors(t *testing.T) {
	f := openXLSX(t, writeXLSX(t, fixture(t, sheet.ByRegion)))
	if err := f.SetCellValue("_versions", "D4", "x"); err != nil { // Taiyuan A1
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	file, err := sheet.Parse(buf.Bytes(), "t.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	errs := file.Problems
	if len(errs) != 1 || errs[0].Code != "invalid_version" || errs[0].Row != 4 || errs[0].Column != "D" || errs[0].Indicator != "A1" {
		t.Errorf("errors = %+v", errs)
	}
}

func indicator(tb testing.TB, code string) scheme.Indicator {
	tb.Helper()
	ind, ok := scheme.Default().Indicator(code)
	if !ok {
		tb.Fatalf("no indicator %s", code)
	}
	return ind
}

func TestInterpret(t *testing.T) {
	pct, money, yesNo := indicator(t, "C4"), indicator(t, "C2"), indicator(t, "A1")
	type result struct {
		number *float64
		na, ok bool
		code   string
	}
	tests := []struct {
		name  string
		value string
		naCol bool
		ind   scheme.Indicator
		want  result
	}{
		{"empty is missing", "", false, money, result{}},
		{"blank is missing", " \u3000", false, money, result{}},
		{"zero is a value", "0", false, money, result{number: num(0), ok: true}},
		{"number", "12.5", false, money, result{number: num(12.5), ok: true}},
		{"full-width spaces", "\u300012\u3000", false, money, result{number: num(12), ok: true}},
		{"negative", "-3", false, money, result{number: num(-3), ok: true}},
		{"exponent", "1.5e3", false, money, result{number: num(1500), ok: true}},
		{"thousands", "1,234.5", false, money, result{number: num(1234.5), ok: true}},
		{"millions", "-1,234,567", false, money, result{number: num(-1234567), ok: true}},
		{"decimal comma", "1,5", false, money, result{code: "not_a_number"}},
		{"misplaced comma", "12,34", false, money, result{code: "not_a_number"}},
		{"text", "abc", false, money, result{code: "not_a_number"}},
		{"hex float", "0x1p3", false, money, result{code: "not_a_number"}},
		{"underscore", "1_000", false, money, result{code: "not_a_number"}},
		{"NaN", "NaN", false, money, result{code: "not_finite"}},
		{"+Inf", "+Inf", false, money, result{code: "not_finite"}},
		{"-infinity", "-infinity", false, money, result{code: "not_finite"}},
		{"overflow", "1e999", false, money, result{code: "not_finite"}},
		{"percent of a percent unit", "85%", false, pct, result{number: num(85), ok: true}},
		{"percent of another unit", "85%", false, money, result{number: num(0.85), ok: true}},
		{"full-width percent", "85.5％", false, pct, result{number: num(85.5), ok: true}},
		{"percent text", "abc%", false, pct, result{code: "not_a_number"}},
		{"lone percent", "%", false, pct, result{code: "not_a_number"}},
		{"yes", "是", false, yesNo, result{number: num(1), ok: true}},
		{"no", "否", false, yesNo, result{number: num(0), ok: true}},
		{"YES", "YES", false, yesNo, result{number: num(1), ok: true}},
		{"binary zero", "0", false, yesNo, result{number: num(0), ok: true}},
		{"binary text", "maybe", false, yesNo, result{code: "not_a_number"}},
		{"yes for a number", "是", false, money, result{code: "not_a_number"}},
		{"不适用 text", "不适用", false, money, result{na: true, ok: true}},
		{"N/A", "N/A", false, money, result{na: true, ok: true}},
		{"n/a", "n/a", false, yesNo, result{na: true, ok: true}},
		{"not-applicable column", "", true, money, result{na: true, ok: true}},
		{"both markers", "不适用", true, money, result{na: true, ok: true}},
		{"number and not applicable", "5", true, money, result{code: "number_and_not_applicable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := sheet.Entry{Row: 7, Column: "H", RegionCode: taiyuan, IndicatorCode: tc.ind.Code, Value: tc.value, NotApplicable: tc.naCol}
			n, na, ok, fe := sheet.Interpret(e, tc.ind)
			if tc.want.code != "" {
				if fe == nil {
					t.Fatalf("= %v %v %v, want error %s", n, na, ok, tc.want.code)
				}
				if fe.Code != tc.want.code || fe.Row != 7 || fe.Column != "H" || fe.Indicator != tc.ind.Code ||
					fe.Field != "value" || fe.Message == "" || fe.MessageEn == "" || n != nil || ok {
					t.Errorf("error = %+v", fe)
				}
				return
			}
			if fe != nil {
				t.Fatalf("error %+v", fe)
			}
			if na != tc.want.na || ok != tc.want.ok || (n == nil) != (tc.want.number == nil) ||
				(n != nil && *n != *tc.want.number) {
				t.Errorf("= %v %v %v, want %v %v %v", deref(n), na, ok, deref(tc.want.number), tc.want.na, tc.want.ok)
			}
		})
	}
	t.Run("message quotes the text", func(t *testing.T) {
		_, _, _, fe := sheet.Interpret(sheet.Entry{Value: "abc"}, money)
		if fe == nil || fe.Message != "“abc”不是数字" || fe.MessageEn != `"abc" is not a number` {
			t.Errorf("error = %+v", fe)
		}
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestWriteXLSXUnknownLayout(t *testing.T) {
	tmpl := fixture(t, "sideways")
	if err := sheet.WriteXLSX(io.Discard, tmpl); err == nil {
		t.Error("no error for an unknown layout")
	}
}

// TestXLSXGuardsText shows a note starting with = guarded in the workbook
// as in the CSV (an edited cell would otherwise become a formula); the
// round trip tests show it read back intact.
func TestXLSXGuardsText(t *testing.T) {
	x := openXLSX(t, writeXLSX(t, fixture(t, sheet.ByIndicator)))
	rows, err := x.GetRows("指标数据")
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, r := range rows {
		for _, c := range r {
			if strings.HasPrefix(c, "=") {
				t.Errorf("cell %q starts as a formula", c)
			}
			if strings.HasSuffix(c, "=SUM(A1)") || strings.HasSuffix(c, "=quoted") {
				notes = append(notes, c)
			}
		}
	}
	if !slices.Equal(notes, []string{"'=SUM(A1)", "''=quoted"}) && !slices.Equal(notes, []string{"''=quoted", "'=SUM(A1)"}) {
		t.Errorf("guarded notes %q, want '=SUM(A1) and ''=quoted", notes)
	}
}

func TestCSVHasBOM(t *testing.T) {
	data := writeCSV(t, fixture(t, sheet.ByIndicator))
	if !bytes.HasPrefix(data, []byte("\ufeff地区代码,地区名称,指标代码")) {
		t.Errorf("CSV starts %q", data[:min(len(data), 40)])
	}
	if !bytes.Contains(data, []byte("'=SUM(A1)")) {
		t.Error("a note starting with = is not defused")
	}
	if bytes.Contains(data, []byte(",D1,")) {
		t.Error("the survey indicator D1 is in the CSV")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(writeXLSX(f, fixture(f, sheet.ByIndicator)), false)
	f.Add(writeXLSX(f, fixture(f, sheet.ByRegion)), false)
	f.Add(writeCSV(f, fixture(f, sheet.ByIndicator)), true)
	f.Add([]byte("region_code,A1,C4\n140100,是,85%\n"), true)
	f.Add([]byte("region_code,A1,C4\n140100\u202e,是,8\x1b5%\n"), true)
	f.Add([]byte("PK\x03\x04"), false)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		name := "upload.xlsx"
		if csv {
			name = "upload.csv"
		}
		file, err := sheet.Parse(data, name)
		if err != nil {
			if !errors.Is(err, fault.ErrBadRequest) && !errors.Is(err, fault.ErrUnsupportedMedia) {
				t.Fatalf("error of no fault kind: %v", err)
			}
			return
		}
		if file.Layout != sheet.ByIndicator && file.Layout != sheet.ByRegion {
			t.Fatalf("layout %q", file.Layout)
		}
		for _, e := range file.Entries {
			if e.Row < 1 || e.Column == "" || e.RegionCode == "" || e.IndicatorCode == "" || e.Version < 0 {
				t.Fatalf("bad entry %+v", e)
			}
			for _, s := range []string{e.RegionCode, e.IndicatorCode, e.Value, e.Note} {
				if _, r, bad := textguard.Find(s, textguard.Text); bad {
					t.Fatalf("entry %+v holds %U", e, r)
				}
			}
		}
	})
}

func FuzzInterpret(f *testing.F) {
	for _, s := range []string{"", "0", "1,234.5", "85%", "NaN", "+Inf", "是", "不适用", "1e999", "abc", "-.5e-3"} {
		f.Add(s, false, "%", false)
	}
	f.Add("5", true, "个", true)
	f.Fuzz(func(t *testing.T, value string, na bool, unit string, isBinary bool) {
		ind := scheme.Indicator{Code: "X1", Unit: unit}
		if isBinary {
			ind.Normalisation.Method = scheme.MethodBinary
		}
		n, gotNA, ok, fe := sheet.Interpret(sheet.Entry{Row: 1, Column: "H", Value: value, NotApplicable: na}, ind)
		if n != nil && (math.IsNaN(*n) || math.IsInf(*n, 0)) {
			t.Fatalf("%q gave %v", value, *n)
		}
		if fe != nil && (ok || n != nil || fe.Code == "" || fe.Message == "" || fe.MessageEn == "") {
			t.Fatalf("%q: error %+v with ok=%v n=%v", value, fe, ok, n)
		}
		if ok && (n == nil) == !gotNA {
			t.Fatalf("%q: ok with number %v and na %v", value, n, gotNA)
		}
	})
}

// minimalWorkbook wraps one worksheet's XML in the smallest package
// excelize opens, so that tests can hand-craft hostile sheets.
func minimalWorkbook(tb testing.TB, sheetXML string) []byte {
	tb.Helper()
	return zipOf(tb, map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"_rels/.rels": `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml": `<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
			`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml": sheetXML,
	}, "", nil, 0, 0)
}

func sheetXML(rows string) string {
	return `<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		rows + `</sheetData></worksheet>`
}

const xmlHeader = `<row r="1"><c r="A1" t="inlineStr"><is><t>地区代码</t></is></c><c r="B1" t="inlineStr"><is><t>指标代码</t></is></c>` +
	`<c r="C1" t="inlineStr"><is><t>数值</t></is></c></row>`

func TestParseHostileSheets(t *testing.T) {
	tests := []struct {
		name    string
		rows    string
		wantErr bool
	}{
		{"minimal", xmlHeader + `<row r="2"><c r="A2" t="inlineStr"><is><t>140100</t></is></c>` +
			`<c r="B2" t="inlineStr"><is><t>A2</t></is></c><c r="C2"><v>3</v></c></row>`, false},
		{"last row of the sheet", xmlHeader + `<row r="1048576"><c r="A1048576"><v>1</v></c></row>`, false},
		{"beyond the last row", xmlHeader + `<row r="1048577"><c r="A1048577"><v>1</v></c></row>`, true},
		// Each such row would be a 16,384-cell slice.
		{"a cell in the last column", xmlHeader + strings.Repeat(`<row><c r="XFD2"><v>1</v></c></row>`, 50000), true},
		{"many empty rows", xmlHeader + strings.Repeat(`<row/>`, 100000), false},
		{"bad cell reference", xmlHeader + `<row r="2"><c r="A0"><v>1</v></c></row>`, true},
		{"bad shared string reads as empty", xmlHeader + `<row r="2"><c r="A2" t="s"><v>99</v></c></row>`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := sheet.Parse(minimalWorkbook(t, sheetXML(tc.rows)), "h.xlsx")
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, fault.ErrBadRequest)) {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// FuzzParseSheetXML fuzzes the worksheet XML inside a valid package, which
// byte-level mutations of a compressed workbook rarely reach.
func FuzzParseSheetXML(f *testing.F) {
	f.Add(xmlHeader + `<row r="2"><c r="A2" t="inlineStr"><is><t>140100</t></is></c><c r="B2" t="inlineStr"><is><t>A2</t></is></c><c r="C2" s="0"><v>3</v></c></row>`)
	f.Add(`<row r="3"><c r="A3" t="inlineStr"><is><t>region_code</t></is></c><c r="B3" t="inlineStr"><is><t>A1</t></is></c></row>` +
		`<row r="4"><c r="A4" t="inlineStr"><is><t>140100</t></is></c><c r="B4" t="b"><v>1</v></c></row>`)
	f.Fuzz(func(t *testing.T, rows string) {
		_, err := sheet.Parse(minimalWorkbook(t, sheetXML(rows)), "f.xlsx")
		if err != nil && !errors.Is(err, fault.ErrBadRequest) {
			t.Fatalf("error of no fault kind: %v", err)
		}
	})
}
