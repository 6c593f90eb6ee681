package httpapi_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"html"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/internal/web"
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
		testInjectionPayloads(t, newFixtureOn(t, db, web.Options{LoginRate: 1000}))
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
	f.call("secadmin", "GET", "/api/v1/users", nil, http.StatusOK)
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
	org := decode[auth.Organisation](t, f.call("secadmin", "POST", "/api/v1/organisations", map[string]string{"name": p, "kind": "contractor"}, http.StatusCreated))
	user := decode[struct {
		User struct{ ID string } `json:"user"`
	}](t, f.call("secadmin", "POST", "/api/v1/users", map[string]any{"username": fmt.Sprintf("inj%d", n), "display_name": p,
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
			{"secadmin", "/api/v1/organisations/" + org.ID, field[struct{ Name string }](func(v struct{ Name string }) []string { return []string{v.Name} })},
			{"secadmin", "/api/v1/users/" + user.User.ID, field[struct {
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

// gigaBomb is an xlsx-named zip of about n KiB whose sheet1.xml inflates
// to n MiB of zeros; sizes and checksum are honest, so only a reader that
// bounds what it inflates escapes it. The deflate stream repeats one
// flushed block of a compressed MiB, so that making it takes no time.
func gigaBomb(tb testing.TB, n int) []byte {
	tb.Helper()
	const mib = 1 << 20
	var block bytes.Buffer
	fw, _ := flate.NewWriter(&block, flate.BestCompression)
	zeros := make([]byte, mib)
	_, _ = fw.Write(zeros)
	_ = fw.Flush() // byte-aligned end, no final block: blocks can follow
	var raw bytes.Buffer
	crc := crc32.NewIEEE()
	for range n {
		raw.Write(block.Bytes())
		crc.Write(zeros)
	}
	fw, _ = flate.NewWriter(&raw, flate.BestCompression)
	_ = fw.Close() // an empty final block
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate,
		CRC32: crc.Sum32(), CompressedSize64: uint64(raw.Len()), UncompressedSize64: uint64(n) * mib})
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = w.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// xmlBomb is a small xlsx whose part (xl/worksheets/sheet1.xml or
// xl/sharedStrings.xml) defines the billion-laughs entities.
func xmlBomb(tb testing.TB, part string) []byte {
	tb.Helper()
	var dtd strings.Builder
	dtd.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">`)
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&dtd, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	dtd.WriteString("]>")
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	sheet := `<worksheet ` + ns + `><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>`
	shared := `<sst ` + ns + ` count="1"><si><t>&lol9;</t></si></sst>`
	if part == "xl/sharedStrings.xml" {
		shared = dtd.String() + shared
	} else {
		sheet = dtd.String() + sheet
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for name, body := range map[string]string{
		"[Content_Types].xml":        `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`,
		"_rels/.rels":                `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml":            `<?xml version="1.0"?><workbook ` + ns + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="指标数据" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml":   sheet,
		"xl/sharedStrings.xml":       shared,
	} {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// TestHostileUploads sends every upload route hostile files — zip and XML
// bombs, names that climb out of a directory, files over the limit or cut
// short — and checks that each is refused with a problem (or, for a survey
// batch read by a job, fails with a message), quickly, without holding
// the inflated content in memory, storing nothing and writing nothing
// outside the data directory; a hostile name that is accepted is stored as
// its base name.
func TestHostileUploads(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	evidence := "/api/v1/cycles/" + cy.ID + "/evidence"
	values := "/api/v1/cycles/" + cy.ID + "/values/import"
	project := f.surveyProject(cy.ID, f.org, "140100")
	batches := "/api/v1/survey-projects/" + project + "/batches"
	fields := map[string]string{"region_code": "140100", "indicator_code": "F1"}
	valuesCSV := []byte("地区代码,指标代码,数值\n140100,A2,1\n")
	xlsx := xlsxFile(t, [][]string{strings.Split(surveyHeader, ","), strings.Split(goodRows("140100", "t", 1)[0], ",")})
	outside := filepath.Dir(f.dataDir)
	filesOutside := func() []string {
		var names []string
		_ = filepath.WalkDir(outside, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.HasPrefix(path, f.dataDir+string(filepath.Separator)) {
				names = append(names, path)
			}
			return nil
		})
		return names
	}
	before := filesOutside()

	type upload struct {
		name     string
		req      func() *http.Request
		status   int    // the refusal, or 201/202 when accepted
		batchErr string // for an accepted survey batch: its failure names this
	}
	var cases []upload
	// The values import takes 16 MiB and gets a bomb of 1 GiB; the
	// fixture's evidence and survey limit is 256 KiB, which holds one
	// of 200 MiB.
	cases = append(cases, upload{"values import: 1 GiB zip bomb", func() *http.Request {
		return uploadReq(values, nil, "a.xlsx", gigaBomb(t, 1024))
	}, http.StatusBadRequest, ""})
	for _, bomb := range []struct {
		name, batchErr string
		data           []byte
	}{
		{"zip bomb", "unzipped", gigaBomb(t, 200)},
		{"XML bomb in the sheet", "xlsx", xmlBomb(t, "xl/worksheets/sheet1.xml")},
		{"XML bomb in the shared strings", "xlsx", xmlBomb(t, "xl/sharedStrings.xml")},
		{"truncated workbook", "xlsx", xlsx[:len(xlsx)*2/3]},
	} {
		cases = append(cases,
			upload{"values import: " + bomb.name, func() *http.Request {
				return uploadReq(values, nil, "a.xlsx", bomb.data)
			}, http.StatusBadRequest, ""},
			upload{"survey batch: " + bomb.name, func() *http.Request {
				return uploadReq(batches, nil, "b.xlsx", bomb.data)
			}, http.StatusAccepted, bomb.batchErr},
		)
	}
	// Evidence is stored, never opened: a workbook holding an XML bomb is
	// a file like any other, but a zip without a workbook, or one cut
	// short, is no workbook.
	for _, bomb := range []struct {
		name   string
		data   []byte
		status int
	}{
		{"zip bomb", gigaBomb(t, 200), http.StatusUnsupportedMediaType},
		{"XML bomb", xmlBomb(t, "xl/sharedStrings.xml"), http.StatusCreated},
		{"truncated workbook", xlsx[:len(xlsx)*2/3], http.StatusUnsupportedMediaType},
	} {
		cases = append(cases, upload{"evidence: " + bomb.name, func() *http.Request {
			return uploadReq(evidence, fields, "a.xlsx", bomb.data)
		}, bomb.status, ""})
	}
	for _, name := range []string{"../../etc/passwd", `..\..\win.ini`, "/etc/passwd", `C:\Windows\evil`, "..", "../", "a\u202egpj.exe"} {
		cases = append(cases,
			upload{"evidence named " + strconv.Quote(name), func() *http.Request {
				return uploadReq(evidence, fields, name+".pdf", f.uniquePDF())
			}, http.StatusCreated, ""},
			upload{"survey batch named " + strconv.Quote(name), func() *http.Request {
				return uploadReq(batches, nil, name+".csv", f.uniqueSurveyFile())
			}, http.StatusAccepted, ""},
			upload{"values import named " + strconv.Quote(name), func() *http.Request {
				return uploadReq(values, nil, name+".csv", valuesCSV)
			}, http.StatusOK, ""},
		)
	}
	cases = append(cases,
		upload{"evidence over the limit", func() *http.Request {
			return uploadReq(evidence, fields, "big.pdf", append(bytes.Clone(samplePDF), make([]byte, fixtureUploadMax)...))
		}, http.StatusRequestEntityTooLarge, ""},
		upload{"survey batch over the limit", func() *http.Request {
			return uploadReq(batches, nil, "big.csv", surveyFile(goodRows("140100", "big", fixtureUploadMax/40)...))
		}, http.StatusRequestEntityTooLarge, ""},
		upload{"values import over the limit", func() *http.Request {
			return uploadReq(values, nil, "big.csv", append(bytes.Clone(valuesCSV), bytes.Repeat([]byte("140100,A2,1\n"), 17<<20/12)...))
		}, http.StatusRequestEntityTooLarge, ""},
		upload{"regions import over the limit", func() *http.Request {
			body := "code,name,kind,parent\n" + strings.Repeat("149901,某县,county,140100\n", 5<<20/25)
			return httptestBody(request("POST", "/api/v1/regions/import", nil), body, "text/csv")
		}, http.StatusRequestEntityTooLarge, ""},
		upload{"regions import cut short", func() *http.Request {
			return httptestBody(request("POST", "/api/v1/regions/import", nil), "code,name,kind,parent\n149901,\"某县", "text/csv")
		}, http.StatusBadRequest, ""},
	)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			stored := map[string]int64{}
			for _, table := range []string{"evidence_files", "indicator_values", "survey_responses", "regions"} {
				stored[table] = f.count(table)
			}
			var mem runtime.MemStats
			runtime.ReadMemStats(&mem)
			allocated := mem.TotalAlloc
			start := time.Now()
			resp, body := f.do(f.as("admin", tc.req()))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			if tc.status >= 400 {
				wantProblem(t, resp, body, tc.status)
			}
			if tc.status == http.StatusAccepted {
				b := f.ingest(decode[surveys.Batch](t, body).ID)
				if tc.batchErr != "" && (b.Status != surveys.BatchFailed || !strings.Contains(strings.ToLower(b.Error), tc.batchErr)) {
					t.Fatalf("batch is %s with error %q, want failed naming %s", b.Status, b.Error, tc.batchErr)
				}
				body, _ = json.Marshal(b)
			}
			// The bounds are for the plain build (make test), not the
			// race detector's (raceDetector).
			if d := time.Since(start); d > 5*time.Second && !raceDetector {
				t.Errorf("took %v", d)
			}
			runtime.ReadMemStats(&mem)
			if a := mem.TotalAlloc - allocated; a > 256<<20 && !raceDetector {
				t.Errorf("allocated %d MiB", a>>20)
			}
			if tc.status >= 400 || tc.batchErr != "" {
				for table, n := range stored {
					if f.count(table) != n {
						t.Errorf("a refused upload stored rows in %s", table)
					}
				}
			}
			var named struct {
				FileName string `json:"file_name"`
			}
			if json.Unmarshal(body, &named) == nil && named.FileName != "" {
				if strings.ContainsAny(named.FileName, "/\\\x00\u202e") || named.FileName == ".." {
					t.Errorf("stored file name %q", named.FileName)
				}
			}
		})
	}
	// A NUL in a file name breaks the multipart header: the server
	// refuses the request before any handler runs.
	t.Run("file name with a NUL byte", func(t *testing.T) {
		f.t = t
		n := f.count("evidence_files")
		resp, err := f.srv.App().Test(f.as("admin", uploadReq(evidence, fields, "a\x00b.pdf", f.uniquePDF())), -1)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("status %d, want a 4xx refusal", resp.StatusCode)
			}
		} else if !strings.Contains(err.Error(), "multipart") {
			t.Fatalf("refused with %v, want a malformed multipart body", err)
		}
		if f.count("evidence_files") != n {
			t.Fatal("a file with a NUL in its name was stored")
		}
	})
	f.t = t
	if after := filesOutside(); !slices.Equal(after, before) {
		t.Errorf("files written outside the data directory: %q", after)
	}
}

func uploadReq(path string, fields map[string]string, name string, data []byte) *http.Request {
	return upload("POST", path, fields, "file", name, data)
}
