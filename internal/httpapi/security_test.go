package httpapi_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/dbtest"
	"github.com/ipeval/ipeval/internal/httpapi"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// injectionPayloads are texts a hostile or careless user might type: SQL
// metacharacters, markup that would run as script or break out of an
// attribute, and cells a spreadsheet would read as formulas.
var injectionPayloads = []struct{ name, text string }{
	{"SQL comment", `'; DROP TABLE users; --`},
	{"SQL tautology", `" OR 1=1 --`},
	{"script", `<script>alert(1)</script>`},
	{"attribute break-out", `"><img src=x onerror=alert(1)>`},
	{"HYPERLINK formula", `=HYPERLINK("http://x")`},
	{"plus formula", `+1`},
	{"minus formula", `-1+2`},
	{"at formula", `@SUM(A1)`},
}

// TestInjectionPayloads writes each payload through the API into every
// free text a user can write — region, organisation, user and token names,
// the cycle, scheme and questionnaire texts, value notes, review comments,
// return reasons, evidence and batch file names, survey project names and
// the cells of an uploaded survey — and reads them back: intact in JSON
// (file names only cut to their base name), escaped in HTML pages and
// chart options, guarded in XLSX and CSV exports; and the database still
// answers afterwards.
// It runs on SQLite and on MariaDB, whose quoting differs.
func TestInjectionPayloads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		testInjectionPayloads(t, newFixtureOn(t, db, httpapi.Options{LoginRate: 1000}))
	})
}

func testInjectionPayloads(t *testing.T, f *fixture) {
	for _, p := range injectionPayloads {
		t.Run(p.name, func(t *testing.T) {
			f.t = t
			injectAndRead(t, f, p.text)
		})
	}
	f.t = t
	for _, table := range []string{"users", "regions", "organisations", "cycles", "indicator_values", "survey_projects", "audit_log"} {
		if f.count(table) == 0 {
			t.Errorf("table %s is empty after the payloads", table)
		}
	}
	f.call("admin", "GET", "/api/v1/users", nil, http.StatusOK)
}

func injectAndRead(t *testing.T, f *fixture, p string) {
	n := f.next()
	fileBase := "f" + fmt.Sprint(n) + p // a file name the payload ends, after a unique prefix

	// Reference data, by an admin.
	f.call("admin", "PUT", "/api/v1/regions/140100", map[string]string{"name": p, "kind": "prefecture_city", "parent_code": "140000"}, http.StatusOK)
	var regionsCSV bytes.Buffer
	cw := csv.NewWriter(&regionsCSV)
	imported := fmt.Sprintf("Q%d", n)
	_ = cw.WriteAll([][]string{{"code", "name", "kind", "parent"}, {imported, p, "county", "140100"}})
	resp, body := f.do(f.as("admin", httptestBody(request("POST", "/api/v1/regions/import", nil), regionsCSV.String(), "text/csv")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import regions: %d %s", resp.StatusCode, body)
	}
	org := decode[auth.Organisation](t, f.call("admin", "POST", "/api/v1/organisations", map[string]string{"name": p, "kind": "contractor"}, http.StatusCreated))
	user := decode[struct {
		User struct{ ID string } `json:"user"`
	}](t, f.call("admin", "POST", "/api/v1/users", map[string]any{"username": fmt.Sprintf("inj%d", n), "display_name": p,
		"role": "contractor", "organisation_id": f.org.ID}, http.StatusCreated))
	f.call("city", "POST", "/api/v1/tokens", map[string]string{"name": p}, http.StatusCreated)

	sc := scheme.Default()
	sc.Code = fmt.Sprintf("inj-%d", n)
	sc.Name = p
	sc.Indicators[0].Name = p
	sc.Rules[0].Message = p
	scJSON, _ := sc.JSON()
	stored := decode[struct{ ID string }](t, f.call("admin", "POST", "/api/v1/schemes", string(scJSON), http.StatusCreated))
	q := questionnaire.Default()
	q.Name, q.Items[0].Text = p, p // the next version of the scheme's questionnaire
	qn := decode[surveys.StoredQuestionnaire](t, f.call("admin", "POST", "/api/v1/questionnaires", q, http.StatusCreated))

	cy := decode[struct{ ID string }](t, f.call("admin", "POST", "/api/v1/cycles", map[string]any{"year": 2000 + int(f.years.Add(1)), "name": p}, http.StatusCreated))
	base := "/api/v1/cycles/" + cy.ID
	f.call("admin", "PUT", base+"/scheme", map[string]string{"scheme_id": stored.ID}, http.StatusOK)
	f.call("admin", "POST", base+"/transitions", map[string]string{"to": "collecting"}, http.StatusOK)

	// Collection: every value verified, so that every region is scored;
	// then the city official of 140100 notes A2, an admin returns it with
	// the payload as the reason, and verifies it when sent again.
	f.verifiedValues(cy.ID)
	a2 := f.storedValue(cy.ID, "140100", "A2")
	note := func() {
		v := f.storedValue(cy.ID, "140100", "A2")
		f.call("city", "POST", base+"/values", map[string]any{"items": []map[string]any{
			{"region_code": "140100", "indicator_code": "A2", "number": *v.Number, "note": p, "version": v.Version}}}, http.StatusOK)
		f.call("city", "POST", base+"/values/submit", map[string]any{"region_code": "140100", "indicator_codes": []string{"A2"}}, http.StatusOK)
	}
	review := func(verify bool) {
		f.call("admin", "POST", base+"/values/"+a2.ID+"/review", map[string]any{"verify": verify,
			"version": f.storedValue(cy.ID, "140100", "A2").Version, "comment": p}, http.StatusOK)
	}
	note()
	review(false)
	note()
	review(true)
	resp, body = f.do(f.as("city", upload("POST", base+"/evidence", map[string]string{"region_code": "140100", "indicator_code": "F1"},
		"file", fileBase+".pdf", f.uniquePDF())))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload evidence: %d %s", resp.StatusCode, body)
	}

	// A survey of the contractor's organisation: a valid batch whose file
	// is named with the payload, returned with it as the reason, and an
	// invalid batch whose cells hold it.
	in := surveyInput(f.org.ID, "140100")
	in["name"], in["questionnaire_id"] = p, qn.ID
	project := decode[surveys.Project](t, f.call("admin", "POST", base+"/survey-projects", in, http.StatusCreated)).ID
	valid := f.surveyBatch("contractor", project, fileBase+".csv", f.uniqueSurveyFile(), nil)
	if valid.Status != surveys.BatchValid {
		t.Fatalf("valid batch is %s: %+v", valid.Status, valid.Problems)
	}
	invalid := f.surveyBatch("contractor", project, "cells.csv", surveyFile(surveyRow("140100", csvQuoted(p), "x", "4", "4", "4", "4", "4", "4")), nil)
	if invalid.Status != surveys.BatchInvalid {
		t.Fatalf("the batch of hostile cells is %s", invalid.Status)
	}
	f.call("contractor", "POST", "/api/v1/survey-projects/"+project+"/submit", nil, http.StatusOK)
	f.call("admin", "POST", "/api/v1/survey-projects/"+project+"/return", map[string]string{"reason": p}, http.StatusOK)

	t.Run("JSON", func(t *testing.T) {
		f.t = t
		for _, c := range []struct {
			who, path string
			get       func(raw []byte) []string
		}{
			{"city", "/api/v1/regions/140100", field[struct{ Name string }](func(v struct{ Name string }) []string { return []string{v.Name} })},
			{"city", "/api/v1/regions/" + imported, field[struct{ Name string }](func(v struct{ Name string }) []string { return []string{v.Name} })},
			{"admin", "/api/v1/organisations/" + org.ID, field[struct{ Name string }](func(v struct{ Name string }) []string { return []string{v.Name} })},
			{"admin", "/api/v1/users/" + user.User.ID, field[struct {
				DisplayName string `json:"display_name"`
			}](func(v struct {
				DisplayName string `json:"display_name"`
			}) []string {
				return []string{v.DisplayName}
			})},
			{"city", "/api/v1/tokens", items[struct{ Name string }](func(v struct{ Name string }) string { return v.Name })},
			{"city", "/api/v1/cycles/" + cy.ID, field[struct{ Name string }](func(v struct{ Name string }) []string { return []string{v.Name} })},
			{"city", "/api/v1/schemes/" + stored.ID, func(raw []byte) []string {
				v := decode[struct {
					Scheme scheme.Scheme `json:"scheme"`
				}](t, raw)
				return []string{v.Scheme.Name, v.Scheme.Indicators[0].Name, v.Scheme.Rules[0].Message}
			}},
			{"admin", "/api/v1/questionnaires/" + qn.ID, func(raw []byte) []string {
				v := decode[surveys.StoredQuestionnaire](t, raw)
				return []string{v.Questionnaire.Name, v.Questionnaire.Items[0].Text}
			}},
			{"city", base + "/values?region=140100", items[struct{ Note string }](func(v struct{ Note string }) string { return v.Note })},
			{"city", base + "/values/" + a2.ID + "/history", items[struct{ Reason string }](func(v struct{ Reason string }) string { return v.Reason })},
			{"contractor", "/api/v1/survey-projects/" + project, field[surveys.ProjectView](func(v surveys.ProjectView) []string {
				return []string{v.Name, v.StatusReason}
			})},
		} {
			raw := f.call(c.who, "GET", c.path, nil, http.StatusOK)
			if got := c.get(raw); !slices.Contains(got, p) {
				t.Errorf("GET %s: %q, want %q intact", c.path, got, p)
			}
			if bytes.Contains(raw, []byte("<")) || bytes.Contains(raw, []byte(">")) {
				t.Errorf("GET %s: JSON with raw < or >: %.300s", c.path, raw)
			}
		}
		// File names keep their base name only.
		evidence := items[struct {
			FileName string `json:"file_name"`
		}](func(v struct {
			FileName string `json:"file_name"`
		}) string {
			return v.FileName
		})(f.call("city", "GET", base+"/evidence?region=140100", nil, http.StatusOK))
		batches := items[struct {
			FileName string `json:"file_name"`
		}](func(v struct {
			FileName string `json:"file_name"`
		}) string {
			return v.FileName
		})(f.call("contractor", "GET", "/api/v1/survey-projects/"+project+"/batches", nil, http.StatusOK))
		for i, got := range [][]string{evidence, batches} {
			ext := []string{".pdf", ".csv"}[i]
			if len(got) == 0 || !strings.HasSuffix(got[0], ext) {
				t.Errorf("stored file names %q, want the upload's, ending %s", got, ext)
			}
			for _, name := range got {
				if strings.ContainsAny(name, "/\\\"\x00") {
					t.Errorf("stored file name %q keeps a path, a quote or a NUL", name)
				}
			}
		}
	})

	t.Run("HTML", func(t *testing.T) {
		f.t = t
		pages := map[string]string{
			"collect":        f.pageAs("city", request("GET", "/cycles/"+cy.ID+"/collect", nil), http.StatusOK),
			"survey":         f.pageAs("contractor", request("GET", "/surveys/"+project, nil), http.StatusOK),
			"survey batch":   f.pageAs("contractor", request("GET", "/surveys/"+project+"?batch="+invalid.ID, nil), http.StatusOK),
			"surveys, admin": f.pageAs("admin", request("GET", "/surveys", nil), http.StatusOK),
		}
		for name, page := range pages {
			safeHTML(t, name, page, p)
		}
		for name, want := range map[string]string{"collect": p, "survey": p, "survey batch": p, "surveys, admin": p} {
			if !strings.Contains(html.UnescapeString(pages[name]), want) {
				t.Errorf("the %s page does not show %q", name, want)
			}
		}
	})

	// Score and publish the cycle for the dashboards and exports.
	f.publish(cy.ID)
	run := f.publishedRun(cy.ID).ID
	f.renderReports()

	t.Run("dashboards and chart options", func(t *testing.T) {
		f.t = t
		for name, page := range map[string]string{
			"overview":  f.pageAs("city", request("GET", "/cycles/"+cy.ID+"/overview", nil), http.StatusOK),
			"dashboard": f.pageAs("city", request("GET", "/cycles/"+cy.ID+"/regions/140100", nil), http.StatusOK),
			"report":    f.pageAs("city", request("GET", "/cycles/"+cy.ID+"/regions/140100/report", nil), http.StatusOK),
		} {
			safeHTML(t, name, page, p)
			if !strings.Contains(html.UnescapeString(page), p) {
				t.Errorf("the %s page does not show %q", name, p)
			}
			options := regexp.MustCompile(`data-option="([^"]*)"`).FindAllStringSubmatch(page, -1)
			found := false
			for _, m := range options {
				var opt any
				if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &opt); err != nil {
					t.Fatalf("%s: chart option is not JSON: %v", name, err)
				}
				found = found || slices.Contains(stringsOf(opt), p)
			}
			if name == "overview" && !found {
				t.Errorf("no chart option of the overview holds %q intact", p)
			}
		}
	})

	t.Run("spreadsheets", func(t *testing.T) {
		f.t = t
		const xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		workbooks := map[string][]byte{
			"values template": f.download("city", base+"/values/template?region=140100&format=xlsx", xlsx),
			"run workbook":    f.download("city", "/api/v1/runs/"+run+"/workbook?region=140100", xlsx),
			"batch report":    f.download("contractor", "/api/v1/survey-batches/"+invalid.ID+"/report?format=xlsx", xlsx),
		}
		for name, data := range workbooks {
			guardedCells(t, name, flatten(sheetRows(t, data)), p)
			noFormulas(t, name, data)
		}
		for name, data := range map[string][]byte{
			"values template": f.download("city", base+"/values/template?region=140100&format=csv", "text/csv"),
			"hand-over":       f.download("city", "/api/v1/runs/"+run+"/handover?format=csv", "text/csv"),
			"batch report":    f.download("contractor", "/api/v1/survey-batches/"+invalid.ID+"/report?format=csv", "text/csv"),
		} {
			r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
			r.FieldsPerRecord = -1
			rows, err := r.ReadAll()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			guardedCells(t, name, slices.Concat(rows...), p)
		}
	})
}

// field decodes a JSON object and returns texts of it.
func field[T any](get func(T) []string) func([]byte) []string {
	return func(raw []byte) []string {
		var v T
		_ = json.Unmarshal(raw, &v)
		return get(v)
	}
}

// items decodes a list envelope and returns one text of each item.
func items[T any](get func(T) string) func([]byte) []string {
	return func(raw []byte) []string {
		var v struct{ Items []T }
		_ = json.Unmarshal(raw, &v)
		var out []string
		for _, it := range v.Items {
			out = append(out, get(it))
		}
		return out
	}
}

// safeHTML fails if the page holds p as markup: a live tag or a quote that
// ends an attribute.
func safeHTML(t *testing.T, name, page, p string) {
	t.Helper()
	if strings.ContainsAny(p, `<>"'&`) && strings.Contains(page, p) {
		t.Errorf("the %s page holds %q unescaped", name, p)
	}
	for _, live := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(page, live) {
			t.Errorf("the %s page holds %q as markup", name, live)
		}
	}
}

// guardedCells fails unless some cell holds p, and if a cell starts with
// p, unless p is guarded there as textenc.GuardFormula does; no text cell
// may start as a formula.
func guardedCells(t *testing.T, name string, cells []string, p string) {
	t.Helper()
	found := false
	for _, c := range cells {
		if startsFormula(c) || (strings.HasPrefix(c, p) && textenc.GuardFormula(p) != p) {
			t.Errorf("%s: cell %q starts as a formula", name, c)
		}
		found = found || strings.Contains(c, p)
	}
	if !found {
		t.Errorf("%s: no cell holds %q", name, p)
	}
}

// csvQuoted is s as one quoted CSV field.
func csvQuoted(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// noFormulas fails if any sheet of a workbook carries a formula.
func noFormulas(t *testing.T, name string, data []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		sheet, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sheet, []byte("<f>")) || bytes.Contains(sheet, []byte("<f ")) {
			t.Errorf("%s: %s holds a formula", name, zf.Name)
		}
	}
}

func flatten(sheets map[string][][]string) []string {
	var out []string
	for _, rows := range sheets {
		out = append(out, slices.Concat(rows...)...)
	}
	return out
}

// stringsOf lists every string in a decoded JSON value.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, stringsOf(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range v {
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}
