package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// TestProbe06ControlCharacters sends control and bidi characters through
// every way text enters — JSON, page forms, CSV and XLSX imports, survey
// cells — and expects each refused with a bilingual problem naming the
// field (or row and column) and the code point, and nothing stored. It
// runs on SQLite and on MariaDB.
func TestProbe06ControlCharacters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		testProbe06(t, newFixtureOn(t, db, web.Options{LoginRate: 1000}))
	})
}

// probeProblem is the part of a problem document the probe reads.
type probeProblem struct {
	Errors []struct {
		Row                 int
		Column, Field, Code string
		Message             string
		MessageEn           string `json:"message_en"`
		Indicator           string `json:"indicator_code"`
	}
}

// wantControlProblem fails unless body lists a control_character problem
// at field (or row and column) naming the code point in both languages.
func wantControlProblem(t *testing.T, body []byte, field string, row int, column, codePoint string) {
	t.Helper()
	var p probeProblem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem document: %.300s", body)
	}
	for _, e := range p.Errors {
		if e.Code == "control_character" && (field == "" || e.Field == field) && e.Row == row && (column == "" || e.Column == column) &&
			strings.Contains(e.Message, "含有不允许的控制字符 "+codePoint) &&
			strings.Contains(e.MessageEn, "contains a disallowed control character "+codePoint) {
			return
		}
	}
	t.Fatalf("no control_character problem at field %q row %d column %q naming %s: %s", field, row, column, codePoint, body)
}

func testProbe06(t *testing.T, f *fixture) {
	cy := f.collectingCycle()
	base := "/api/v1/cycles/" + cy.ID
	sc := scheme.Default()
	sc.Code = f.uniqueName("probe-")
	schemeWith := func(edit func(*scheme.Scheme)) string {
		s := sc
		s.Indicators = append([]scheme.Indicator(nil), sc.Indicators...)
		s.Rules = append([]scheme.Rule(nil), sc.Rules...)
		edit(&s)
		b, err := s.JSON()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	questionnaireWith := func(edit func(*questionnaire.Questionnaire)) questionnaire.Questionnaire {
		q := questionnaire.Default()
		q.Items = append([]questionnaire.Item(nil), q.Items...)
		edit(&q)
		return q
	}
	project := f.surveyProject(f.sharedCycle().ID, f.org)
	_, valueID := f.valueOf("140100")
	valueCycle := f.storedValueCycle(valueID)

	jsonCases := []struct {
		name, who, method, path string
		body                    any
		field                   string
		row                     int
		codePoint, table        string
	}{
		{"organisation name RLO", "secadmin", "POST", "/api/v1/organisations", map[string]string{"name": "\u202e机构", "kind": "contractor"}, "name", 0, "U+202E", "organisations"},
		{"region name ESC", "admin", "POST", "/api/v1/regions", map[string]string{"code": "PRB1", "name": "太原\x1b[2J", "kind": "county", "parent_code": "140100"}, "name", 0, "U+001B", "regions"},
		{"region rename BEL", "admin", "PUT", "/api/v1/regions/140200", map[string]string{"name": "大同\a", "kind": "prefecture_city", "parent_code": "140000"}, "name", 0, "U+0007", "regions"},
		{"user display name isolate", "secadmin", "POST", "/api/v1/users", map[string]any{"username": "probe06", "display_name": "x\u2066y", "role": "city", "region_code": "140200"}, "display_name", 0, "U+2066", "users"},
		{"token name DEL", "city", "POST", "/api/v1/tokens", map[string]string{"name": "ci\x7f"}, "name", 0, "U+007F", "api_tokens"},
		{"cycle name C1", "admin", "POST", "/api/v1/cycles", map[string]any{"year": 2099, "name": "周\u0085期"}, "name", 0, "U+0085", "cycles"},
		{"scheme indicator name NUL", "admin", "POST", "/api/v1/schemes", schemeWith(func(s *scheme.Scheme) { s.Indicators[0].Name = "专利\x00" }), "indicators[0].name", 0, "U+0000", "schemes"},
		{"scheme policy basis RLO", "admin", "POST", "/api/v1/schemes", schemeWith(func(s *scheme.Scheme) { s.Rules[0].Basis = "依据\u202e" }),
			"rules[" + sc.Rules[0].ID + "].basis", 0, "U+202E", "schemes"},
		{"scheme description LRM", "admin", "POST", "/api/v1/schemes", schemeWith(func(s *scheme.Scheme) { s.Description = "说明\u200e" }), "description", 0, "U+200E", "schemes"},
		{"questionnaire item ESC", "admin", "POST", "/api/v1/questionnaires", questionnaireWith(func(q *questionnaire.Questionnaire) { q.Items[0].Text = "满意吗\x1b" }), "items[0].text", 0, "U+001B", "questionnaires"},
		{"value note ESC", "city", "POST", base + "/values", map[string]any{"items": []map[string]any{
			{"region_code": "140100", "indicator_code": "A2", "number": 3, "note": "见附件\x1b]0;x\a"}}}, "items[0].note", 1, "U+001B", "indicator_values"},
		{"value reason RLO", "admin", "POST", base + "/values", map[string]any{"items": []map[string]any{
			{"region_code": "140100", "indicator_code": "A3", "number": 3, "reason": "更正\u202e"}}}, "items[0].reason", 1, "U+202E", "indicator_values"},
		{"review comment RLO", "admin", "POST", "/api/v1/cycles/" + valueCycle + "/values/" + valueID + "/review", map[string]any{"verify": false, "version": 1, "comment": "退回\u202e"},
			"comment", 0, "U+202E", "indicator_value_revisions"},
		{"survey project name ESC", "admin", "POST", base + "/survey-projects", func() map[string]any {
			in := surveyInput(f.org.ID, "140100")
			in["name"] = "调查\x1b"
			return in
		}(), "name", 0, "U+001B", "survey_projects"},
		{"survey return reason PDI", "admin", "POST", "/api/v1/survey-projects/" + project + "/return", map[string]string{"reason": "重做\u2069"}, "reason", 0, "U+2069", "survey_projects"},
		{"survey mapping header ESC", "admin", "PUT", "/api/v1/survey-projects/" + project + "/mapping", map[string]any{"columns": map[string]string{"地区\x1b": "region"}},
			"columns[地区\x1b]", 0, "U+001B", "survey_projects"},
	}
	for _, tc := range jsonCases {
		t.Run("JSON/"+tc.name, func(t *testing.T) {
			f.t = t
			before := f.tableState(tc.table)
			resp, body := f.do(f.as(tc.who, request(tc.method, tc.path, tc.body)))
			wantProblem(t, resp, body, http.StatusBadRequest)
			wantControlProblem(t, body, tc.field, tc.row, "", tc.codePoint)
			if after := f.tableState(tc.table); after != before {
				t.Fatalf("%s changed: refused input was stored", tc.table)
			}
		})
	}
	// The same texts without the character pass: the probe tests the
	// guard, not some other check of the fixture's inputs.
	t.Run("JSON/clean organisation name", func(t *testing.T) {
		f.t = t
		f.call("secadmin", "POST", "/api/v1/organisations", map[string]string{"name": "机构" + fmt.Sprint(f.next()), "kind": "contractor"}, http.StatusCreated)
	})

	t.Run("regions CSV import", func(t *testing.T) {
		f.t = t
		before := f.count("regions")
		csv := "code,name,kind,parent\nPRB2,好名字,county,140100\nPRB3,\"坏\x00名字\",county,140100\n"
		resp, body := f.do(f.as("admin", httptestBody(request("POST", "/api/v1/regions/import", nil), csv, "text/csv")))
		wantProblem(t, resp, body, http.StatusBadRequest)
		wantControlProblem(t, body, "", 3, "name", "U+0000")
		if f.count("regions") != before {
			t.Fatal("a region of the refused file was stored")
		}
	})

	importCases := []struct {
		name, file string
		data       []byte
		row        int
		column     string
		codePoint  string
	}{
		{"values CSV note cell", "values.csv", []byte("地区代码,指标代码,数值,说明\n140100,A2,3,\"见\x1b[31m附件\"\n"), 2, "D", "U+001B"},
		{"values CSV code cell", "values.csv", []byte("地区代码,指标代码,数值\n140100,A2\u202e,3\n"), 2, "B", "U+202E"},
		{"values XLSX cell", "values.xlsx", f.filledTemplate(base, func(code string) string {
			if code == "A2" {
				return "3\u202e"
			}
			return ""
		}), 0, "H", "U+202E"},
	}
	for _, tc := range importCases {
		t.Run("import/"+tc.name, func(t *testing.T) {
			f.t = t
			before := f.tableState("indicator_values")
			resp, body := f.do(f.as("city", upload("POST", base+"/values/import", nil, "file", tc.file, tc.data)))
			wantProblem(t, resp, body, http.StatusBadRequest)
			row := tc.row
			if row == 0 {
				row = rowOfProblem(t, body)
			}
			wantControlProblem(t, body, "", row, tc.column, tc.codePoint)
			if f.tableState("indicator_values") != before {
				t.Fatal("a value of the refused file was stored")
			}
		})
	}

	t.Run("page form note", func(t *testing.T) {
		f.t = t
		before := f.tableState("indicator_values")
		form := url.Values{"region_code": {"140100"}, "ver.A2": {"0"}, "v.A2": {"3"}, "note.A2": {"注\x1b[2J"}}
		page := f.pageAs("city", httptestBody(request("POST", "/cycles/"+cy.ID+"/collect/values", nil), form.Encode(),
			"application/x-www-form-urlencoded"), http.StatusBadRequest)
		if !strings.Contains(html.UnescapeString(page), "含有不允许的控制字符 U+001B") || strings.Contains(page, "\x1b") {
			t.Fatalf("the form's page does not name the character, or shows it raw:\n%.2000s", page)
		}
		if f.tableState("indicator_values") != before {
			t.Fatal("the refused form stored a value")
		}
	})

	t.Run("survey cell", func(t *testing.T) {
		f.t = t
		responses := f.count("survey_responses")
		b := f.surveyBatch("contractor", project, "cells.csv", surveyFile(surveyRow("140100", "enterprise", "r1\u202e", "4", "4", "4", "4", "4", "4")), nil)
		if b.Status != surveys.BatchInvalid {
			t.Fatalf("batch with a control character is %s", b.Status)
		}
		raw, _ := json.Marshal(map[string]any{"errors": b.Problems})
		wantControlProblem(t, raw, "", 2, "", "U+202E")
		if f.count("survey_responses") != responses {
			t.Fatal("responses of the refused batch were stored")
		}
	})

	t.Run("file names are stripped", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("city", upload("POST", base+"/evidence", map[string]string{"region_code": "140100", "indicator_code": "F1"},
			"file", "预算\u202efdp.exe.pdf", f.uniquePDF())))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("evidence: %d %s", resp.StatusCode, body)
		}
		var ev struct {
			FileName string `json:"file_name"`
		}
		_ = json.Unmarshal(body, &ev)
		if ev.FileName != "预算fdp.exe.pdf" {
			t.Fatalf("stored file name %q", ev.FileName)
		}
	})
}

// tableState is the content of table, for comparing before and after
// (snapshot orders by an id, which regions have not). Of tokens only ids
// and names count: the request itself marks its token used.
func (f *fixture) tableState(table string) string {
	f.t.Helper()
	cols := "*"
	if table == "api_tokens" {
		cols = "id, name"
	}
	var rows []map[string]any
	if err := f.db.Table(table).Select(cols).Order("1").Find(&rows).Error; err != nil {
		f.t.Fatal(err)
	}
	j, _ := json.Marshal(rows)
	return string(j)
}

// rowOfProblem returns the row of the first problem in body.
func rowOfProblem(t *testing.T, body []byte) int {
	t.Helper()
	var p probeProblem
	_ = json.Unmarshal(body, &p)
	if len(p.Errors) == 0 {
		t.Fatalf("no problems: %s", body)
	}
	return p.Errors[0].Row
}

// filledTemplate downloads the city's template of the cycle at base and
// fills it with value(code).
func (f *fixture) filledTemplate(base string, value func(code string) string) []byte {
	f.t.Helper()
	resp, tpl := f.do(f.as("city", request("GET", base+"/values/template", nil)))
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("template: %d %s", resp.StatusCode, tpl)
	}
	return fill(f.t, bytes.Clone(tpl), value)
}

// storedValueCycle returns the cycle of a stored value.
func (f *fixture) storedValueCycle(valueID string) string {
	f.t.Helper()
	var cycleID string
	if err := f.db.Table("indicator_values").Where("id = ?", valueID).Pluck("cycle_id", &cycleID).Error; err != nil {
		f.t.Fatal(err)
	}
	return cycleID
}
