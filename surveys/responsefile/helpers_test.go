package responsefile_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// testQuestionnaire is the default satisfaction questionnaire of DESIGN §5,
// with an attention check.
func testQuestionnaire(tb testing.TB) questionnaire.Questionnaire {
	tb.Helper()
	return questionnaire.Questionnaire{
		Code: "satisfaction", Name: "知识产权公共服务满意度调查", NameEn: "IP public service satisfaction", Scale: 5,
		Labels: []questionnaire.Label{
			{Value: 5, Text: "非常满意", TextEn: "Very satisfied"},
			{Value: 4, Text: "满意", TextEn: "Satisfied"},
			{Value: 3, Text: "基本满意", TextEn: "Fairly satisfied"},
			{Value: 2, Text: "不满意", TextEn: "Dissatisfied"},
			{Value: 1, Text: "非常不满意", TextEn: "Very dissatisfied"},
		},
		RespondentTypes: []questionnaire.RespondentType{
			{Code: "enterprise", Name: "企业", NameEn: "Enterprise"},
			{Code: "university", Name: "高校院所", NameEn: "University or institute"},
			{Code: "agency", Name: "服务机构", NameEn: "Service agency"},
			{Code: "individual", Name: "个人", NameEn: "Individual"},
		},
		Items: []questionnaire.Item{
			{Code: "convenience", Text: "服务便捷性", TextEn: "Convenience"},
			{Code: "efficiency", Text: "服务效率", TextEn: "Efficiency"},
			{Code: "information", Text: "信息资源获取", TextEn: "Access to information"},
			{Code: "consultation", Text: "咨询解答质量", TextEn: "Quality of answers"},
			{Code: "attitude", Text: "服务态度", TextEn: "Attitude"},
			{Code: "overall", Text: "总体满意度", TextEn: "Overall satisfaction"},
		},
		Attention: &questionnaire.AttentionCheck{Code: "attention", Text: "本题请选择“不满意”", TextEn: "Please choose Dissatisfied here", Expect: 2},
	}
}

// testKey is the contact key of testRules.
const testKey = "test contact key"

// testRules checks against two project regions (太原, 大同) of the three
// the system knows, and the fieldwork window of May 2024.
func testRules(tb testing.TB) responsefile.Rules {
	tb.Helper()
	loc := time.FixedZone("CST", 8*3600)
	return responsefile.Rules{
		Questionnaire: testQuestionnaire(tb),
		Project:       map[string]bool{"140100": true, "140200": true},
		Known:         map[string]string{"140100": "太原市", "140200": "大同市", "140300": "阳泉市"},
		WindowStart:   time.Date(2024, 5, 1, 0, 0, 0, 0, loc),
		WindowEnd:     time.Date(2024, 6, 1, 0, 0, 0, 0, loc),
		Location:      loc,
		ContactKey:    []byte(testKey),
	}
}

// canonicalHeader is the template's header for testQuestionnaire.
const canonicalHeader = "region,respondent_type,respondent_id,contact,seconds,submitted_at," +
	"convenience,efficiency,information,consultation,attitude,overall,attention"

// goodRow is a valid data row under canonicalHeader.
const goodRow = "140100,enterprise,r1,13800138000,125,2024-05-02 10:00:00,5,4,3,2,1,5,2"

// result is what a read gave.
type result struct {
	sum       responsefile.Summary
	responses []questionnaire.Response
	err       error
}

// read reads content in format with rules and mapping, copying every
// emitted response.
func read(tb testing.TB, format string, content []byte, rules responsefile.Rules, m responsefile.Mapping) result {
	tb.Helper()
	var out []questionnaire.Response
	sum, err := responsefile.Read(context.Background(), bytes.NewReader(content), int64(len(content)), format, rules, m,
		func(r *questionnaire.Response) error {
			c := *r
			c.Answers = slices.Clone(r.Answers)
			out = append(out, c)
			return nil
		}, nil)
	return result{sum: sum, responses: out, err: err}
}

// readCSV reads lines joined by "\n" as a CSV file with testRules.
func readCSV(tb testing.TB, lines ...string) result {
	tb.Helper()
	return read(tb, responsefile.FormatCSV, []byte(strings.Join(lines, "\n")+"\n"), testRules(tb), responsefile.Mapping{})
}

// mustRead fails the test on a file-level error.
func mustRead(tb testing.TB, res result) result {
	tb.Helper()
	if res.err != nil {
		tb.Fatalf("Read: %v", res.err)
	}
	return res
}

// codes lists the problem codes of a summary.
func codes(sum responsefile.Summary) []string {
	var out []string
	for _, p := range sum.Problems {
		out = append(out, p.Code)
	}
	return out
}

// xlsxFile builds a workbook whose first sheet holds rows; a value may be a
// string, a number or an excelize.Cell, and styled cells get numFmt.
func xlsxFile(tb testing.TB, rows [][]any, styles map[string]int) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	sheet := f.GetSheetName(0)
	for r, row := range rows {
		for c, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			var err error
			if s, ok := v.(string); ok {
				err = f.SetCellStr(sheet, cell, s)
			} else {
				err = f.SetCellValue(sheet, cell, v)
			}
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
	for cell, numFmt := range styles {
		id, err := f.NewStyle(&excelize.Style{NumFmt: numFmt})
		if err != nil {
			tb.Fatal(err)
		}
		if err := f.SetCellStyle(sheet, cell, cell, id); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// splitRow turns a CSV line of test data into xlsx cells.
func splitRow(line string) []any {
	var out []any
	for _, s := range strings.Split(line, ",") {
		out = append(out, s)
	}
	return out
}

// validationErrors returns the field errors of a *fault.ValidationError.
func validationErrors(tb testing.TB, err error) []fault.FieldError {
	tb.Helper()
	ve, ok := err.(*fault.ValidationError)
	if !ok {
		tb.Fatalf("error %v (%T) is not a *fault.ValidationError", err, err)
	}
	return ve.Errors
}
