package responsefile_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

func TestFormatOf(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"答卷.csv", responsefile.FormatCSV, true},
		{"EXPORT.CSV", responsefile.FormatCSV, true},
		{`C:\导出\问卷星.XlSx`, responsefile.FormatXLSX, true},
		{"old.xls", "", false},
		{"data.txt", "", false},
		{"noext", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := responsefile.FormatOf(tc.name)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("FormatOf(%q) = %q, %v; want %q (ok %v)", tc.name, got, err, tc.want, tc.ok)
			}
			if err != nil && !errors.Is(err, fault.ErrUnsupportedMedia) {
				t.Fatalf("error %v does not wrap ErrUnsupportedMedia", err)
			}
		})
	}
}

func TestReadCSVValid(t *testing.T) {
	res := mustRead(t, readCSV(t, canonicalHeader,
		goodRow,
		"大同市,企业,r2,,2分5秒,2024/5/3 9:05,非常满意,满意,基本满意,不满意,非常不满意,5 非常满意,不满意",
		",,,,,,,,,,,,", // blank row: skipped
		"140200,Individual,,,,,5,5,5,5,5,5,",
	))
	if res.sum.Rows != 3 || res.sum.Valid != 3 || res.sum.ProblemCount != 0 {
		t.Fatalf("summary = %+v; want 3 rows, 3 valid, no problems", res.sum)
	}
	loc := time.FixedZone("CST", 8*3600)
	want := []questionnaire.Response{
		{Row: 2, Region: "140100", RespondentType: "enterprise", RespondentID: "r1",
			ContactHash: responsefile.ContactHash([]byte(testKey), "13800138000"), Seconds: 125,
			SubmittedAt: time.Date(2024, 5, 2, 10, 0, 0, 0, loc), Answers: []uint8{5, 4, 3, 2, 1, 5}, Attention: 2},
		{Row: 3, Region: "140200", RespondentType: "enterprise", RespondentID: "r2", Seconds: 125,
			SubmittedAt: time.Date(2024, 5, 3, 9, 5, 0, 0, loc), Answers: []uint8{5, 4, 3, 2, 1, 5}, Attention: 2},
		{Row: 5, Region: "140200", RespondentType: "individual", Seconds: -1, Answers: []uint8{5, 5, 5, 5, 5, 5}},
	}
	if len(res.responses) != len(want) {
		t.Fatalf("got %d responses; want %d", len(res.responses), len(want))
	}
	for i, w := range want {
		g := res.responses[i]
		if g.Row != w.Row || g.Region != w.Region || g.RespondentType != w.RespondentType || g.RespondentID != w.RespondentID ||
			g.ContactHash != w.ContactHash || g.Seconds != w.Seconds || !g.SubmittedAt.Equal(w.SubmittedAt) ||
			!slices.Equal(g.Answers, w.Answers) || g.Attention != w.Attention {
			t.Errorf("response %d = %+v\nwant %+v", i, g, w)
		}
	}
	if got := res.sum.Columns["convenience"]; got != "convenience" {
		t.Errorf("Summary.Columns = %v", res.sum.Columns)
	}
}

// TestReadRowProblems changes one cell of a good row per case.
func TestReadRowProblems(t *testing.T) {
	header := strings.Split(canonicalHeader, ",")
	for _, tc := range []struct {
		name      string
		column    string // header of the changed cell
		value     string
		code      string
		indicator string
	}{
		{"answer 6 on a 5-point scale", "convenience", "6", "out_of_scale", "convenience"},
		{"answer 4.5", "efficiency", "4.5", "out_of_scale", "efficiency"},
		{"answer 0", "efficiency", "0", "out_of_scale", "efficiency"},
		{"label not on the scale", "information", "还行", "unknown_label", "information"},
		{"number and label disagree", "information", "5 不满意", "label_mismatch", "information"},
		{"missing required item", "overall", "", "missing_item", "overall"},
		{"attention out of scale", "attention", "9", "out_of_scale", "attention"},
		{"unknown region", "region", "149900", "unknown_region", ""},
		{"region outside the project", "region", "阳泉市", "region_outside_project", ""},
		{"missing region", "region", "", "missing_region", ""},
		{"unknown respondent type", "respondent_type", "政府", "unknown_respondent_type", ""},
		{"missing respondent type", "respondent_type", " ", "missing_respondent_type", ""},
		{"unparsable duration", "seconds", "很快", "bad_duration", ""},
		{"negative duration", "seconds", "-5", "bad_duration", ""},
		{"unparsable timestamp", "submitted_at", "昨天", "bad_timestamp", ""},
		{"impossible date", "submitted_at", "2024-04-31 10:00:00", "bad_timestamp", ""},
		{"ambiguous two-digit year in a CSV", "submitted_at", "05-01-24", "bad_timestamp", ""},
		{"before the window", "submitted_at", "2024-04-30 23:59:59", "outside_window", ""},
		{"at the window's end", "submitted_at", "2024-06-01 00:00:00", "outside_window", ""},
		{"long respondent id", "respondent_id", strings.Repeat("x", 200), "bad_respondent_id", ""},
		{"cell too long", "convenience", strings.Repeat("5", 5000), "cell_too_long", "convenience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cells := strings.Split(goodRow, ",")
			i := slices.Index(header, tc.column)
			cells[i] = tc.value
			res := mustRead(t, readCSV(t, canonicalHeader, goodRow, strings.Join(cells, ","), goodRow))
			if res.sum.Rows != 3 || res.sum.Valid != 2 || res.sum.ProblemCount != 1 {
				t.Fatalf("summary = %+v; want 3 rows, 2 valid, 1 problem", res.sum)
			}
			p := res.sum.Problems[0]
			if p.Code != tc.code || p.Row != 3 || p.Column != tc.column || p.Indicator != tc.indicator {
				t.Fatalf("problem = %+v; want code %s at row 3, column %s, indicator %q", p, tc.code, tc.column, tc.indicator)
			}
			if p.Message == "" || p.MessageEn == "" || p.Message == p.MessageEn {
				t.Fatalf("problem %+v lacks a Chinese or English message", p)
			}
			for _, r := range res.responses {
				if r.Row == 3 {
					t.Fatal("the row with a problem was emitted")
				}
			}
		})
	}
}

func TestReadColumnCount(t *testing.T) {
	res := mustRead(t, readCSV(t, canonicalHeader,
		goodRow+",extra",
		goodRow+",,", // empty extras: fine
		"140100,enterprise,r3",
		`140100,enterprise,"r"4",,,,5,5,5,5,5,5,2`,
		goodRow,
	))
	if got := codes(res.sum); !slices.Equal(got, []string{"column_count", "column_count", "bad_quotes"}) {
		t.Fatalf("problems = %v (%+v)", got, res.sum.Problems)
	}
	rows := []int{res.sum.Problems[0].Row, res.sum.Problems[1].Row, res.sum.Problems[2].Row}
	if !slices.Equal(rows, []int{2, 4, 5}) {
		t.Fatalf("problem rows = %v; want [2 4 5]", rows)
	}
	if res.sum.Valid != 2 || res.sum.Rows != 5 {
		t.Fatalf("summary = %+v; want 5 rows, 2 valid", res.sum)
	}
}

func TestReadMaxProblems(t *testing.T) {
	lines := []string{canonicalHeader}
	for range 10 {
		lines = append(lines, strings.Replace(goodRow, ",5,4,3", ",6,7,3", 1))
	}
	rules := testRules(t)
	rules.MaxProblems = 3
	res := read(t, responsefile.FormatCSV, []byte(strings.Join(lines, "\n")), rules, responsefile.Mapping{})
	if res.err != nil || len(res.sum.Problems) != 3 || res.sum.ProblemCount != 20 || res.sum.Valid != 0 {
		t.Fatalf("summary = %+v, %v; want 3 problems listed of 20", res.sum, res.err)
	}
	if p := res.sum.Problems; p[0].Row != 2 || p[0].Column != "convenience" || p[1].Column != "efficiency" || p[2].Row != 3 {
		t.Fatalf("problems not by row then column: %+v", p)
	}
}

func TestReadFileErrors(t *testing.T) {
	goodXLSX := xlsxFile(t, [][]any{splitRow(canonicalHeader), splitRow(goodRow)}, nil)
	for _, tc := range []struct {
		name    string
		format  string
		content []byte
		want    []string // substrings of the error text
	}{
		{"empty file", "csv", nil, []string{"empty"}},
		{"only a BOM and blank lines", "csv", []byte("\ufeff\r\n,,,\r\n  \r\n"), []string{"empty"}},
		{"only a header", "csv", []byte(canonicalHeader + "\r\n"), []string{"no data rows"}},
		{"only a header and blank rows", "csv", []byte(canonicalHeader + "\n,,\n\n"), []string{"no data rows"}},
		{"header matching nothing", "csv", []byte("name,age,city_name\nA,1,X\n"),
			[]string{"missing columns: region, respondent_type, convenience (服务便捷性), efficiency (服务效率)", "attention (本题请选择"}},
		{"header lacking one item", "csv", []byte(strings.Replace(canonicalHeader, ",overall", ",remarks", 1) + "\n" + goodRow + "\n"),
			[]string{"missing columns: overall (总体满意度)"}},
		{"duplicate targets", "csv", []byte(strings.Replace(canonicalHeader, "efficiency", "服务便捷性", 1) + "\n" + goodRow + "\n"),
			[]string{`columns "convenience" and "服务便捷性" both map to convenience`}},
		{"duplicate region columns", "csv", []byte("Region," + canonicalHeader + "\n140100," + goodRow + "\n"),
			[]string{`columns "Region" and "region" both map to region`}},
		{"too many columns", "csv", []byte(canonicalHeader + strings.Repeat(",x", 600) + "\n" + goodRow + "\n"),
			[]string{"more than 512 columns"}},
		{"neither UTF-8 nor GB18030", "csv", append([]byte(canonicalHeader+"\n140100,"), 0x81, 0x20, 0xff, 0xfe, '\n'),
			[]string{"UTF-8 or GB18030"}},
		{"binary", "csv", []byte("region\x00\x01\x02"), []string{"not a CSV"}},
		{"UTF-16", "csv", []byte("\xff\xfer\x00e\x00"), []string{"UTF-16"}},
		{"workbook named csv", "csv", goodXLSX, []string{"Excel workbook, not a CSV"}},
		{"csv named xlsx", "xlsx", []byte(canonicalHeader + "\n" + goodRow + "\n"), []string{"not an xlsx workbook"}},
		{"empty xlsx", "xlsx", nil, []string{"empty"}},
		{"truncated xlsx", "xlsx", goodXLSX[:len(goodXLSX)*2/3], []string{"not an xlsx workbook"}},
		{"corrupt xlsx", "xlsx", corrupt(t, goodXLSX), []string{"not an xlsx workbook"}},
		{"zip without a workbook", "xlsx", zipOf(t, map[string][]byte{"hello.txt": []byte("hi")}), []string{"not an xlsx workbook"}},
		{"zip bomb", "xlsx", zipBomb(t), []string{"unzipped"}},
		{"unclosed quote", "csv", []byte(canonicalHeader + "\n\"" + strings.Repeat("x", 1<<20+10) + "\n"), []string{"longer than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := read(t, tc.format, tc.content, testRules(t), responsefile.Mapping{})
			if res.err == nil {
				t.Fatalf("no error; summary %+v", res.sum)
			}
			if !errors.Is(res.err, fault.ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", res.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.err.Error(), w) {
					t.Fatalf("error %q does not contain %q", res.err, w)
				}
			}
			if len(res.responses) != 0 {
				t.Fatalf("%d responses emitted", len(res.responses))
			}
		})
	}
}

func TestReadHeaderMessageZh(t *testing.T) {
	res := readCSV(t, "name,age", "A,1")
	errs := validationErrors(t, res.err)
	if len(errs) != 1 || errs[0].Code != "missing_columns" || !strings.Contains(errs[0].Message, "地区（region）、受访者类型（respondent_type）、服务便捷性（convenience）") {
		t.Fatalf("errors = %+v", errs)
	}
}

// corrupt flips bytes inside the first sheet's compressed data, leaving
// the zip directory intact.
func corrupt(tb testing.TB, b []byte) []byte {
	tb.Helper()
	out := bytes.Clone(b)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			off, err := f.DataOffset()
			if err != nil {
				tb.Fatal(err)
			}
			for i := int64(0); i < int64(f.CompressedSize64) && i < 40; i++ {
				out[off+i] ^= 0x5A
			}
			return out
		}
	}
	tb.Fatal("no sheet1.xml")
	return nil
}

func zipOf(tb testing.TB, files map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// zipBomb is a workbook whose sheet inflates 64 MiB of spaces from a few
// dozen kilobytes.
func zipBomb(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml"} {
		w, _ := zw.Create(name)
		_, _ = io.WriteString(w, "<x/>")
	}
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		tb.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range 64 {
		if _, err := w.Write(chunk); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadCSVEncodings(t *testing.T) {
	body := canonicalHeader + "\r\n" + goodRow + "\n" + strings.Replace(goodRow, "r1", "r2", 1) + "\r" +
		strings.Replace(goodRow, "r1", "r3", 1) + "\r\n\r\n" + strings.Replace(goodRow, "r1", "r4", 1)
	gbText := canonicalHeader + "\r\n" + "太原市,企业,r1,,,,非常满意,满意,基本满意,不满意,非常不满意,非常满意,不满意\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(gbText)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		content string
		rows    []int
		ids     []string
	}{
		{"mixed line endings and a BOM", "\ufeff" + body, []int{2, 3, 4, 6}, []string{"r1", "r2", "r3", "r4"}},
		{"lone CR only", "\ufeff" + canonicalHeader + "\r" + goodRow + "\r", []int{2}, []string{"r1"}},
		{"GB18030", gb, []int{2}, []string{"r1"}},
		{"semicolons", strings.ReplaceAll(canonicalHeader+"\n"+goodRow, ",", ";"), []int{2}, []string{"r1"}},
		{"tabs", strings.ReplaceAll(canonicalHeader+"\n"+goodRow, ",", "\t"), []int{2}, []string{"r1"}},
		{"quoted line breaks keep spreadsheet rows", canonicalHeader + ",remarks\n" + goodRow + ",\"a\nb\r\nc\"\n" +
			strings.Replace(goodRow, "r1", "r2", 1) + ",x\n", []int{2, 3}, []string{"r1", "r2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustRead(t, read(t, responsefile.FormatCSV, []byte(tc.content), testRules(t), responsefile.Mapping{}))
			if res.sum.ProblemCount != 0 {
				t.Fatalf("problems: %+v", res.sum.Problems)
			}
			var rows []int
			var ids []string
			for _, r := range res.responses {
				rows = append(rows, r.Row)
				ids = append(ids, r.RespondentID)
			}
			if !slices.Equal(rows, tc.rows) || !slices.Equal(ids, tc.ids) {
				t.Fatalf("rows %v ids %v; want %v %v", rows, ids, tc.rows, tc.ids)
			}
			if tc.name == "GB18030" {
				r := res.responses[0]
				if r.Region != "140100" || r.RespondentType != "enterprise" || !slices.Equal(r.Answers, []uint8{5, 4, 3, 2, 1, 5}) || r.Attention != 2 {
					t.Fatalf("GB18030 response = %+v", r)
				}
			}
		})
	}
}

// TestReadWenjuanxing reads an export as 问卷星 writes it: numbered
// question headers with type suffixes, its own metadata columns, label
// answers and durations in seconds with a unit.
func TestReadWenjuanxing(t *testing.T) {
	content := strings.Join([]string{
		"序号,提交答卷时间,所用时间,来源,来源详情,来自IP,1、所属地区：,2、身份（单选题）,3、服务便捷性,4、服务效率(单选),5．信息资源获取,Q6.咨询解答质量,（7）服务态度,第8题 总体满意度,9、本题请选择“不满意”",
		"1,2024/5/12 9:03:11,125秒,手机提交,N/A,1.2.3.4(山西-太原),太原市,企业,非常满意,满意,5 非常满意,满意(4),3,非常不满意,不满意",
		"2,2024/5/12 9:05:40,2分5秒,微信,N/A,5.6.7.8(山西-大同),大同市,个人,5,4,3,2,1,5,2",
	}, "\r\n")
	res := mustRead(t, read(t, responsefile.FormatCSV, []byte(content), testRules(t), responsefile.Mapping{}))
	if res.sum.Valid != 2 || res.sum.ProblemCount != 0 {
		t.Fatalf("summary %+v", res.sum)
	}
	wantCols := map[string]string{
		"序号": "respondent_id", "提交答卷时间": "submitted_at", "所用时间": "seconds", "1、所属地区：": "region",
		"2、身份（单选题）": "respondent_type", "3、服务便捷性": "convenience", "4、服务效率(单选)": "efficiency",
		"5．信息资源获取": "information", "Q6.咨询解答质量": "consultation", "（7）服务态度": "attitude",
		"第8题 总体满意度": "overall", "9、本题请选择“不满意”": "attention",
	}
	if fmt.Sprint(res.sum.Columns) != fmt.Sprint(wantCols) {
		t.Fatalf("columns = %v\nwant %v", res.sum.Columns, wantCols)
	}
	r := res.responses[0]
	if r.Seconds != 125 || r.RespondentID != "1" || r.Region != "140100" || !slices.Equal(r.Answers, []uint8{5, 4, 5, 4, 3, 1}) || r.Attention != 2 {
		t.Fatalf("first response = %+v", r)
	}
	if res.responses[1].Seconds != 125 {
		t.Fatalf("2分5秒 read as %v", res.responses[1].Seconds)
	}
}

// TestReadKoboToolbox reads an export as KoboToolbox writes it: group
// paths, English labels, and its metadata columns, of which two each
// could be the id and the submission time.
func TestReadKoboToolbox(t *testing.T) {
	header := "start,end,region,respondent_type,sat/convenience,sat/efficiency,sat/information,sat/consultation,sat/attitude,sat/overall,sat/attention,_id,_uuid,_submission_time,_validation_status,_index"
	row := "2024-05-03T09:00:00.000+08:00,2024-05-03T09:04:00.000+08:00,140100,Enterprise,Very satisfied,satisfied,Fairly Satisfied,Dissatisfied,Very dissatisfied,5,Dissatisfied,1001,3f2a-uuid,2024-05-03T01:05:00,,1"
	res := mustRead(t, readCSV(t, header, row))
	if res.sum.Valid != 1 {
		t.Fatalf("summary %+v", res.sum)
	}
	r := res.responses[0]
	if r.RespondentID != "1001" || r.RespondentType != "enterprise" || !slices.Equal(r.Answers, []uint8{5, 4, 3, 2, 1, 5}) {
		t.Fatalf("response = %+v", r)
	}
	if want := time.Date(2024, 5, 3, 1, 5, 0, 0, time.UTC); !r.SubmittedAt.Equal(want) {
		t.Fatalf("submitted at %v; want %v (_submission_time is UTC)", r.SubmittedAt, want)
	}
	if res.sum.Columns["_submission_time"] != "submitted_at" || res.sum.Columns["end"] != "" || res.sum.Columns["_uuid"] != "" {
		t.Fatalf("columns = %v", res.sum.Columns)
	}
}

func TestReadMapping(t *testing.T) {
	header := "地区,city_code,type,Q1,Q2,Q3,Q4,Q5,Q6,check,电话"
	row := "149900,140200,个人,5,4,3,2,1,5,2,+86 138 0013 8000"
	m := responsefile.Mapping{Columns: map[string]string{
		"地区": "", "city_code": "region", "type": "respondent_type",
		"Q1": "convenience", "q2": "efficiency", " Q3 ": "information", "Q4": "consultation", "Q5": "attitude", "Q6": "overall",
		"check": "attention",
	}}
	if err := m.Validate(testQuestionnaire(t)); err != nil {
		t.Fatal(err)
	}
	res := mustRead(t, read(t, responsefile.FormatCSV, []byte(header+"\n"+row+"\n"), testRules(t), m))
	if res.sum.Valid != 1 {
		t.Fatalf("summary %+v", res.sum)
	}
	r := res.responses[0]
	if r.Region != "140200" || r.RespondentType != "individual" || r.ContactHash != responsefile.ContactHash([]byte(testKey), "13800138000") {
		t.Fatalf("response = %+v", r)
	}
	if _, used := res.sum.Columns["地区"]; used || res.sum.Columns["city_code"] != "region" || res.sum.Columns["电话"] != "contact" {
		t.Fatalf("columns = %v", res.sum.Columns)
	}
}

func TestMappingValidate(t *testing.T) {
	q := testQuestionnaire(t)
	for _, tc := range []struct {
		name  string
		m     map[string]string
		field string
		code  string
	}{
		{"unknown target", map[string]string{"Q1": "convenence"}, "columns[Q1]", "unknown_target"},
		{"duplicate target", map[string]string{"Q1": "convenience", "Q2": "convenience"}, "columns[Q2]", "duplicate_target"},
		{"empty header", map[string]string{" ": "region"}, "columns[ ]", "empty_header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := validationErrors(t, responsefile.Mapping{Columns: tc.m}.Validate(q))
			if len(errs) != 1 || errs[0].Field != tc.field || errs[0].Code != tc.code {
				t.Fatalf("errors = %+v; want %s on %s", errs, tc.code, tc.field)
			}
			res := read(t, responsefile.FormatCSV, []byte(canonicalHeader+"\n"+goodRow), testRules(t), responsefile.Mapping{Columns: tc.m})
			if res.err == nil {
				t.Fatal("Read took an invalid mapping")
			}
		})
	}
	ok := responsefile.Mapping{Columns: map[string]string{"a": "", "b": "", "c": "region", "d": "attention", "e": "seconds"}}
	if err := ok.Validate(q); err != nil {
		t.Fatalf("valid mapping refused: %v", err)
	}
}

func TestReadXLSX(t *testing.T) {
	header := splitRow(canonicalHeader)
	row := func(id string, submitted any) []any {
		r := splitRow(goodRow)
		r[2], r[5] = id, submitted
		for i := 6; i < len(r); i++ { // answers as numbers
			var n int
			_, _ = fmt.Sscan(r[i].(string), &n)
			r[i] = n
		}
		r[0] = 140100
		return r
	}
	rows := [][]any{
		{"满意度调查答卷"}, // a title row above the header
		header,
		row("a", 45414.5),             // serial number, general format
		row("b", 45414.5),             // format 22 (m/d/yy h:mm)
		nil,                           // a blank row
		row("c", 45414.0),             // format 14 (mm-dd-yy)
		row("d", "2024-05-02 12:00"),  // text
		row("e", "2024-05-02T04:00Z"), // RFC 3339
	}
	content := xlsxFile(t, rows, map[string]int{"F4": 22, "F6": 14})
	res := mustRead(t, read(t, responsefile.FormatXLSX, content, testRules(t), responsefile.Mapping{}))
	if res.sum.ProblemCount != 0 || res.sum.Valid != 5 || res.sum.Rows != 5 {
		t.Fatalf("summary %+v", res.sum)
	}
	loc := time.FixedZone("CST", 8*3600)
	noon := time.Date(2024, 5, 2, 12, 0, 0, 0, loc)
	want := map[string]time.Time{"a": noon, "b": noon, "c": time.Date(2024, 5, 2, 0, 0, 0, 0, loc), "d": noon, "e": noon}
	wantRows := map[string]int{"a": 3, "b": 4, "c": 6, "d": 7, "e": 8}
	for _, r := range res.responses {
		if !r.SubmittedAt.Equal(want[r.RespondentID]) || r.Row != wantRows[r.RespondentID] || r.Region != "140100" {
			t.Errorf("response %s: row %d, submitted %v; want row %d, %v", r.RespondentID, r.Row, r.SubmittedAt, wantRows[r.RespondentID], want[r.RespondentID])
		}
	}
}

func TestReadStops(t *testing.T) {
	lines := []string{canonicalHeader}
	for range 5000 {
		lines = append(lines, goodRow)
	}
	content := []byte(strings.Join(lines, "\n"))
	t.Run("emit error", func(t *testing.T) {
		boom := errors.New("disk full")
		n := 0
		_, err := responsefile.Read(context.Background(), bytes.NewReader(content), int64(len(content)), responsefile.FormatCSV,
			testRules(t), responsefile.Mapping{}, func(*questionnaire.Response) error {
				if n++; n == 3 {
					return boom
				}
				return nil
			}, nil)
		if !errors.Is(err, boom) || n != 3 || !strings.Contains(err.Error(), "row 4") {
			t.Fatalf("err = %v after %d rows; want the emit error at row 4", err, n)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		_, err := responsefile.Read(ctx, bytes.NewReader(content), int64(len(content)), responsefile.FormatCSV,
			testRules(t), responsefile.Mapping{}, func(*questionnaire.Response) error {
				if n++; n == 10 {
					cancel()
				}
				return nil
			}, nil)
		if !errors.Is(err, context.Canceled) || n >= 5000 {
			t.Fatalf("err = %v after %d rows; want context.Canceled early", err, n)
		}
	})
	t.Run("progress", func(t *testing.T) {
		var last, total int64
		calls := 0
		_, err := responsefile.Read(context.Background(), bytes.NewReader(content), int64(len(content)), responsefile.FormatCSV,
			testRules(t), responsefile.Mapping{}, nil, func(done, size int64) { calls, last, total = calls+1, done, size })
		if err != nil || calls == 0 || last != int64(len(content)) || total != int64(len(content)) {
			t.Fatalf("err %v, %d calls, last %d/%d", err, calls, last, total)
		}
	})
}

// TestContactNeverRaw checks that a contact appears in no output, even in
// a row with problems.
func TestContactNeverRaw(t *testing.T) {
	bad := strings.Replace(goodRow, ",5,4,3", ",9,4,3", 1)
	bad = strings.Replace(bad, "13800138000", "+86 138-0013-8000", 1)
	mail := strings.Replace(goodRow, "13800138000", "Someone@Example.COM", 1)
	res := mustRead(t, readCSV(t, canonicalHeader, bad, mail, strings.Replace(goodRow, "13800138000", "x", 1)+",extra"))
	out, err := json.Marshal(res.sum)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"138", "0013", "8000", "omeone", "xample"} {
		if strings.Contains(string(out), raw) {
			t.Fatalf("summary holds %q: %s", raw, out)
		}
	}
	if len(res.responses) != 1 || res.responses[0].ContactHash != responsefile.ContactHash([]byte(testKey), "someone@example.com") {
		t.Fatalf("responses = %+v", res.responses)
	}
}

func TestReadContactNeedsKey(t *testing.T) {
	rules := testRules(t)
	rules.ContactKey = nil
	res := read(t, responsefile.FormatCSV, []byte(canonicalHeader+"\n"+goodRow), rules, responsefile.Mapping{})
	if res.err == nil || errors.Is(res.err, fault.ErrBadRequest) {
		t.Fatalf("err = %v; want a configuration error", res.err)
	}
	noContact := strings.Replace(canonicalHeader, "contact", "note", 1)
	res = read(t, responsefile.FormatCSV, []byte(noContact+"\n"+goodRow), rules, responsefile.Mapping{})
	if res.err != nil || res.sum.Valid != 1 {
		t.Fatalf("without a contact column: %+v, %v", res.sum, res.err)
	}
}

func TestContactHash(t *testing.T) {
	key := []byte("k")
	phone := responsefile.ContactHash(key, "13800138000")
	for _, s := range []string{"+86 138-0013-8000", "0086 13800138000", "86-13800138000", " 138 0013 8000 ", "１３８００１３８０００"} {
		if got := responsefile.ContactHash(key, s); got != phone {
			t.Errorf("ContactHash(%q) differs from the plain number's", s)
		}
	}
	if len(phone) != 64 || strings.Trim(phone, "0123456789abcdef") != "" {
		t.Fatalf("hash %q is not hex SHA-256", phone)
	}
	if responsefile.ContactHash([]byte("other"), "13800138000") == phone {
		t.Error("the key does not change the hash")
	}
	if responsefile.ContactHash(key, "8613800138000") != phone || responsefile.ContactHash(key, "03512345678") == phone {
		t.Error("country code handling is wrong")
	}
	if a, b := responsefile.ContactHash(key, " Someone@Example.com "), responsefile.ContactHash(key, "someone@example.com"); a != b || a == "" {
		t.Error("e-mail is not normalised")
	}
	for _, s := range []string{"", "  ", "无", "-"} {
		if got := responsefile.ContactHash(key, s); got != "" {
			t.Errorf("ContactHash(%q) = %q; want empty", s, got)
		}
	}
}

// TestReadAmbiguousRegionName: 城区 is a district of both 大同 and 阳泉.
func TestReadAmbiguousRegionName(t *testing.T) {
	row := strings.Replace(goodRow, "140100", "城区", 1)
	for _, tc := range []struct {
		name    string
		project []string
		region  string
		code    string
	}{
		{"one of them in the project", []string{"140202"}, "140202", ""},
		{"both in the project", []string{"140202", "140302"}, "", "ambiguous_region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := testRules(t)
			rules.Known = map[string]string{"140202": "城区", "140302": "城区", "140100": "太原市"}
			rules.Project = map[string]bool{}
			for _, c := range tc.project {
				rules.Project[c] = true
			}
			res := mustRead(t, read(t, responsefile.FormatCSV, []byte(canonicalHeader+"\n"+row), rules, responsefile.Mapping{}))
			if got := codes(res.sum); tc.code != "" && !slices.Equal(got, []string{tc.code}) {
				t.Fatalf("problems %v; want %s", got, tc.code)
			}
			if tc.region != "" && (len(res.responses) != 1 || res.responses[0].Region != tc.region) {
				t.Fatalf("responses %+v; want region %s", res.responses, tc.region)
			}
		})
	}
}
