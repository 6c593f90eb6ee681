package responsefile_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

func testRegions(tb testing.TB) []responsefile.Region {
	tb.Helper()
	return []responsefile.Region{{Code: "140100", Name: "太原市"}, {Code: "140200", Name: "大同市"}}
}

// TestTemplateRoundTrip fills in each template and reads it back with no
// mapping.
func TestTemplateRoundTrip(t *testing.T) {
	q := testQuestionnaire(t)
	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if err := responsefile.WriteTemplate(&buf, responsefile.FormatCSV, q, testRegions(t)); err != nil {
			t.Fatal(err)
		}
		if want := "\ufeff" + canonicalHeader + "\r\n"; buf.String() != want {
			t.Fatalf("template = %q; want %q", buf.String(), want)
		}
		res := read(t, responsefile.FormatCSV, buf.Bytes(), testRules(t), responsefile.Mapping{})
		if res.err == nil || !strings.Contains(res.err.Error(), "no data rows") {
			t.Fatalf("empty template: %v", res.err)
		}
		buf.WriteString("大同市,高校院所,,,,,5,4,3,2,1,5,2\r\n")
		res = mustRead(t, read(t, responsefile.FormatCSV, buf.Bytes(), testRules(t), responsefile.Mapping{}))
		if res.sum.Valid != 1 || res.responses[0].Region != "140200" || res.responses[0].RespondentType != "university" {
			t.Fatalf("summary %+v, responses %+v", res.sum, res.responses)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		var buf bytes.Buffer
		if err := responsefile.WriteTemplate(&buf, responsefile.FormatXLSX, q, testRegions(t)); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		sheets := f.GetSheetList()
		if len(sheets) != 2 || sheets[1] != "说明 Notes" {
			t.Fatalf("sheets = %v", sheets)
		}
		notes, err := f.GetRows(sheets[1])
		if err != nil {
			t.Fatal(err)
		}
		text := ""
		for _, r := range notes {
			text += strings.Join(r, "|") + "\n"
		}
		for _, want := range []string{"convenience|服务便捷性|Convenience|是 Yes", "非常满意|Very satisfied", "enterprise|企业|Enterprise", "140200|大同市", "respondent_id|"} {
			if !strings.Contains(text, want) {
				t.Errorf("notes lack %q:\n%s", want, text)
			}
		}
		dvs, err := f.GetDataValidations(sheets[0])
		if err != nil {
			t.Fatal(err)
		}
		dropdowns := 0
		for _, dv := range dvs {
			if dv.Formula1 == `"1,2,3,4,5"` {
				dropdowns++
			}
		}
		if dropdowns != len(q.Items)+1 {
			t.Errorf("%d answer dropdowns; want %d (%+v)", dropdowns, len(q.Items)+1, dvs)
		}
		if res := read(t, responsefile.FormatXLSX, buf.Bytes(), testRules(t), responsefile.Mapping{}); res.err == nil ||
			!strings.Contains(res.err.Error(), "no data rows") {
			t.Fatalf("empty template: %v", res.err)
		}
		for i, v := range []any{"140100", "个人", "x-1", "13800138000", 300, "2024-05-20 08:00:00", 5, 5, 4, 4, 3, 3, 2} {
			cell, _ := excelize.CoordinatesToCellName(i+1, 2)
			if err := f.SetCellValue(sheets[0], cell, v); err != nil {
				t.Fatal(err)
			}
		}
		var filled bytes.Buffer
		if _, err := f.WriteTo(&filled); err != nil {
			t.Fatal(err)
		}
		res := mustRead(t, read(t, responsefile.FormatXLSX, filled.Bytes(), testRules(t), responsefile.Mapping{}))
		if res.sum.Valid != 1 || res.sum.ProblemCount != 0 {
			t.Fatalf("summary %+v", res.sum)
		}
		r := res.responses[0]
		if r.Region != "140100" || r.RespondentType != "individual" || r.Seconds != 300 ||
			!slices.Equal(r.Answers, []uint8{5, 5, 4, 4, 3, 3}) || r.Attention != 2 || r.ContactHash == "" {
			t.Fatalf("response = %+v", r)
		}
	})
}

func testProblems(tb testing.TB) []fault.FieldError {
	tb.Helper()
	return []fault.FieldError{
		{Code: "missing_columns", Message: "表头缺少以下列：地区", MessageEn: "missing columns: region"},
		{Row: 3, Column: "=HYPERLINK(\"http://x\")", Indicator: "convenience", Code: "out_of_scale",
			Message: "“服务便捷性”的答案“6”不在量表 1–5 内", MessageEn: `answer "6" to convenience is not on the 1–5 scale`},
		{Row: 12, Column: "region", Code: "unknown_region", Message: "地区“-1”不是系统中的地区代码或名称", MessageEn: "+ region"},
	}
}

func TestWriteReport(t *testing.T) {
	problems := testProblems(t)
	want := [][]string{{"行 Row", "列 Column", "代码 Code", "说明", "Message"}}
	for _, p := range problems {
		row := ""
		if p.Row > 0 {
			row = strconv.Itoa(p.Row)
		}
		want = append(want, []string{row, p.Column, p.Code, p.Message, p.MessageEn})
	}
	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if err := responsefile.WriteReport(&buf, responsefile.FormatCSV, problems); err != nil {
			t.Fatal(err)
		}
		body, ok := bytes.CutPrefix(buf.Bytes(), []byte("\ufeff"))
		if !ok {
			t.Fatal("no byte-order mark")
		}
		records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range records {
			for i, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
					t.Fatalf("unguarded cell %q", cell)
				}
				rec[i] = textenc.UnguardFormula(cell)
			}
		}
		if !slices.EqualFunc(records, want, slices.Equal) {
			t.Fatalf("report = %q\nwant %q", records, want)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		var buf bytes.Buffer
		if err := responsefile.WriteReport(&buf, responsefile.FormatXLSX, problems); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		rows, err := f.GetRows(f.GetSheetList()[0])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(rows, want, slices.Equal) {
			t.Fatalf("report = %q\nwant %q", rows, want)
		}
		if formula, _ := f.GetCellFormula(f.GetSheetList()[0], "B3"); formula != "" {
			t.Fatalf("column text became a formula: %q", formula)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		if err := responsefile.WriteReport(&bytes.Buffer{}, "pdf", problems); err == nil {
			t.Fatal("no error")
		}
	})
}
