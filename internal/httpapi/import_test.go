package httpapi_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestTemplateImportWorkflow is the collection round as a city official
// and a manager live it: download the region's template, fill it in,
// upload it for review, attach the funding document, verify, and read the
// history.
func TestTemplateImportWorkflow(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	base := "/api/v1/cycles/" + cy.ID

	resp, tpl := f.do(f.as("city", request("GET", base+"/values/template", nil)))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("template: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".xlsx") {
		t.Fatalf("template disposition %q", cd)
	}
	f.call("city", "GET", base+"/values/template?region=140200", nil, http.StatusForbidden)
	f.call("contractor", "GET", base+"/values/template?region=140100", nil, http.StatusForbidden)

	file := fill(t, tpl, func(code string) string {
		switch code {
		case "A1", "A4":
			return "是"
		case "C4", "C5", "D2":
			return "88.5"
		case "F1":
			return "150"
		}
		return "2"
	})
	resp, body := f.do(f.as("city", upload("POST", base+"/values/import", map[string]string{"submit": "true"}, "file", "太原市.xlsx", file)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import: %d %s", resp.StatusCode, body)
	}
	res := decode[struct {
		Changed, Submitted int
		Values             []struct {
			ID, Status string
			Version    int
			Code       string `json:"indicator_code"`
		}
	}](t, body)
	if res.Changed != 17 || res.Submitted != 17 {
		t.Fatalf("import changed %d, submitted %d; want every reported indicator", res.Changed, res.Submitted)
	}
	for _, v := range res.Values {
		if v.Status != "submitted" {
			t.Fatalf("%s is %s", v.Code, v.Status)
		}
	}

	f.do(f.as("city", upload("POST", base+"/evidence", map[string]string{"region_code": "140100", "indicator_code": "F1"}, "file", "预算批复.pdf", samplePDF)))
	for _, v := range res.Values {
		f.call("admin", "POST", base+"/values/"+v.ID+"/review", map[string]any{"verify": true, "version": v.Version}, http.StatusOK)
	}
	list := decode[struct{ Items []struct{ Status string } }](t, f.call("city", "GET", base+"/values", nil, http.StatusOK))
	for _, v := range list.Items {
		if v.Status != "verified" {
			t.Fatalf("after review a value is %s", v.Status)
		}
	}
	hist := decode[struct {
		Items []struct{ Action, Username string }
	}](t, f.call("city", "GET", base+"/values/"+res.Values[0].ID+"/history", nil, http.StatusOK))
	var steps []string
	for _, r := range hist.Items {
		steps = append(steps, r.Action+":"+r.Username)
	}
	if got := strings.Join(steps, " "); got != "set:city submit:city verify:admin" {
		t.Fatalf("history %q", got)
	}

	// The same file again changes nothing.
	resp, body = f.do(f.as("city", upload("POST", base+"/values/import", map[string]string{"submit": "true"}, "file", "太原市.xlsx", file)))
	if again := decode[struct{ Changed, Submitted int }](t, body); resp.StatusCode != http.StatusOK || again.Changed != 0 || again.Submitted != 0 {
		t.Fatalf("identical re-upload: %d %s", resp.StatusCode, body)
	}
}

// TestImportBadFiles names the uploads refused whole with a problem.
func TestImportBadFiles(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	path := "/api/v1/cycles/" + cy.ID + "/values/import"
	for _, tc := range []struct {
		name, file string
		data       []byte
		status     int
		want       string
	}{
		{"xlsx that is not a zip", "a.xlsx", []byte("this is text"), http.StatusBadRequest, "xlsx"},
		{"zip bomb", "bomb.xlsx", gigaBomb(t, 100), http.StatusBadRequest, "unzipped"},
		{"text in a number cell", "a.csv", []byte("地区代码,指标代码,数值\n140100,A2,三个\n"), http.StatusBadRequest, `"indicator_code":"A2"`},
		{"unknown indicator", "a.csv", []byte("地区代码,指标代码,数值\n140100,Q7,1\n"), http.StatusBadRequest, `"row":2`},
		{"another region", "a.csv", []byte("地区代码,指标代码,数值\n140200,A2,1\n"), http.StatusForbidden, ""},
		{"not a spreadsheet", "a.pdf", samplePDF, http.StatusUnsupportedMediaType, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(f.as("city", upload("POST", path, nil, "file", tc.file, tc.data)))
			wantProblem(t, resp, body, tc.status)
			if !strings.Contains(string(body), tc.want) {
				t.Fatalf("problem lacks %s: %s", tc.want, body)
			}
		})
	}
	if n := f.count("indicator_values"); n != 0 {
		t.Fatalf("refused imports stored %d values", n)
	}
}

// fill sets the 数值 column of a per-region template: value(code) for each
// indicator row.
func fill(tb testing.TB, tpl []byte, value func(code string) string) []byte {
	tb.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(tpl))
	if err != nil {
		tb.Fatal(err)
	}
	rows, err := x.GetRows("指标数据")
	if err != nil {
		tb.Fatal(err)
	}
	for i, r := range rows {
		if i < 3 || len(r) < 3 {
			continue
		}
		if err := x.SetCellStr("指标数据", "H"+strconv.Itoa(i+1), value(r[2])); err != nil {
			tb.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := x.Write(&out); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
