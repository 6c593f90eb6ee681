package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/cycles"
)

// TestCollectPage serves the data-collection page and its two forms: a
// refused import comes back on the page with every problem listed, an
// accepted one with its summary.
func TestCollectPage(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	page := "/cycles/" + cy.ID + "/collect"
	html := func(who string, req *http.Request, want int) string {
		t.Helper()
		resp, body := f.do(f.as(who, req))
		if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s %s: %d %s, want %d as HTML: %s", req.Method, req.URL, resp.StatusCode, resp.Header.Get("Content-Type"), want, body)
		}
		return string(body)
	}

	got := html("city", request("GET", page+"?region=140200", nil), http.StatusOK)
	for _, want := range []string{"数据填报", "values/template?region=140100", `data-code="F1"`, `name="_csrf"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("city's page lacks %s", want)
		}
	}
	// The header's language switch keeps the query as asked; the page
	// itself must not show the other region.
	if _, main, _ := strings.Cut(got, "<main>"); strings.Contains(main, "140200") {
		t.Fatal("a city official's page shows another region")
	}
	if got := html("admin", request("GET", page, nil), http.StatusOK); !strings.Contains(got, "?region=140200") {
		t.Fatal("the admin's page does not list the regions")
	}

	bad := upload("POST", page+"/import", map[string]string{"region_code": "140100"}, "file", "bad.csv",
		[]byte("地区代码,指标代码,数值\n140100,A2,三\n140100,C4,101\n"))
	got = html("city", bad, http.StatusBadRequest)
	for _, want := range []string{`class="problems"`, "<td>2</td><td>C</td><td>A2</td>", "<td>3</td><td>C</td><td>C4</td>", "未保存任何内容"} {
		if !strings.Contains(got, want) {
			t.Fatalf("refused import page lacks %s:\n%s", want, got)
		}
	}
	if n := f.count("indicator_values"); n != 0 {
		t.Fatalf("a refused import stored %d values", n)
	}

	good := upload("POST", page+"/import", map[string]string{"region_code": "140100", "submit": "on"}, "file", "good.csv",
		[]byte("地区代码,指标代码,数值\n140100,A2,3\n"))
	if got = html("city", good, http.StatusOK); !strings.Contains(got, "提交审核 1 项") || !strings.Contains(got, "已提交") {
		t.Fatalf("accepted import page:\n%s", got)
	}

	fake := upload("POST", page+"/evidence", map[string]string{"region_code": "140100", "indicator_code": "F1"}, "file", "a.pdf", []byte("text"))
	if got = html("city", fake, http.StatusUnsupportedMediaType); !strings.Contains(got, "不是 PDF") {
		t.Fatalf("refused evidence page:\n%s", got)
	}
}

// TestCollectValuesForm enters values through the page's form: only changed
// fields are written, with the version the page showed, all or nothing;
// every refusal comes back on the page (or as the error page) and stores
// nothing, and each row shows its history.
func TestCollectValuesForm(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	page, post := "/cycles/"+cy.ID+"/collect", "/cycles/"+cy.ID+"/collect/values"
	form := func(fields url.Values) *http.Request {
		return httptestBody(request("POST", post, nil), fields.Encode(), "application/x-www-form-urlencoded")
	}
	send := func(who string, fields url.Values, want int) string {
		t.Helper()
		return f.pageAs(who, form(fields), want)
	}
	type stored struct {
		Number        *float64
		Note, Status  string
		Version       int
		NotApplicable bool
	}
	value := func(code string) (stored, bool) {
		t.Helper()
		var rows []stored
		if err := f.db.Table("indicator_values").Where("cycle_id = ? AND region_code = ? AND indicator_code = ?", cy.ID, "140100", code).
			Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return stored{}, false
		}
		return rows[0], true
	}

	got := f.pageAs("city", request("GET", page, nil), http.StatusOK)
	for _, want := range []string{`action="` + post + `"`, `name="ver.A2" value="0"`, `type="number" name="v.A2" value="" step="1" min="0"`,
		`name="v.C4" value="" step="any" min="0" max="100"`, `<select name="v.A1"`, `name="na.A2"`, `name="note.A2"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("the form lacks %s", want)
		}
	}
	t.Run("survey-sourced indicator is read-only", func(t *testing.T) {
		if strings.Contains(got, `name="v.D1"`) || strings.Contains(got, `name="ver.D1"`) || !strings.Contains(got, "取自满意度调查") {
			t.Fatal("D1 is editable on the form")
		}
		send("city", url.Values{"region_code": {"140100"}, "ver.D1": {"0"}, "v.D1": {"80"}}, http.StatusOK)
		if _, ok := value("D1"); ok {
			t.Fatal("a survey-sourced value was stored from the form")
		}
	})

	// Unchanged rows (empty, or as stored) are not sent.
	got = send("city", url.Values{"region_code": {"140100"}, "ver.A2": {"0"}, "v.A2": {"3"}, "ver.A1": {"0"}, "v.A1": {"1"},
		"note.A1": {"<script>alert(1)</script>"}, "ver.C4": {"0"}, "v.C4": {""}}, http.StatusOK)
	if !strings.Contains(got, "已保存 2 项，提交审核 0 项") {
		t.Fatalf("saved form:\n%s", got)
	}
	if v, ok := value("A2"); !ok || *v.Number != 3 || v.Version != 1 || v.Status != "draft" {
		t.Fatalf("A2 stored as %+v", v)
	}
	if v, ok := value("A1"); !ok || *v.Number != 1 || v.Note != "<script>alert(1)</script>" {
		t.Fatalf("A1 stored as %+v", v)
	}
	if _, ok := value("C4"); ok || f.count("indicator_value_revisions") != 2 {
		t.Fatal("an empty field was stored or the revisions are not one per value")
	}
	if strings.Contains(got, "<script>alert") || !strings.Contains(got, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the note is not escaped on the page")
	}

	// A2 changes and is submitted; A1 is sent as stored and stays as is.
	got = send("city", url.Values{"region_code": {"140100"}, "ver.A2": {"1"}, "v.A2": {"4"}, "ver.A1": {"1"}, "v.A1": {"1"},
		"note.A1": {"<script>alert(1)</script>"}, "submit": {"on"}}, http.StatusOK)
	if !strings.Contains(got, "已保存 1 项，提交审核 1 项") {
		t.Fatalf("second save:\n%s", got)
	}
	if v, _ := value("A2"); *v.Number != 4 || v.Version != 3 || v.Status != "submitted" {
		t.Fatalf("A2 after the second save: %+v", v)
	}
	if v, _ := value("A1"); v.Version != 1 {
		t.Fatalf("an unchanged A1 was written: %+v", v)
	}
	t.Run("history", func(t *testing.T) {
		_, row, _ := strings.Cut(got, `data-code="A2"`)
		row, _, _ = strings.Cut(row, "</tr>\n    </tr>")
		row, _, _ = strings.Cut(row, `data-code="A3"`)
		for _, want := range []string{"<details", "修改记录", "<td>city</td><td>填报</td>", "<td>— → 3 · — → 草稿</td>",
			"<td>3 → 4</td>", "<td>city</td><td>提交</td>", "4 → 4 · 草稿 → 已提交", "时间（UTC）"} {
			if !strings.Contains(row, want) {
				t.Errorf("A2's history lacks %q:\n%s", want, row)
			}
		}
	})

	before := f.count("indicator_value_revisions")
	for _, tc := range []struct {
		name   string
		fields url.Values
		want   int
		shows  []string
	}{
		{"stale version", url.Values{"ver.A2": {"1"}, "v.A2": {"5"}, "ver.B3": {"0"}, "v.B3": {"2"}}, http.StatusConflict,
			[]string{"数据已被他人修改，未保存任何内容", "<td>A2</td><td>已被他人修改，当前为第 3 版</td>"}},
		{"text and out of range", url.Values{"ver.A2": {"3"}, "v.A2": {"四"}, "ver.C4": {"0"}, "v.C4": {"101"}, "ver.B3": {"0"}, "v.B3": {"2"}},
			http.StatusBadRequest, []string{`class="problems"`, "<td>A2</td>", "<td>C4</td><td>数值不能大于 100 %</td>", "未保存任何内容"}},
		{"number and not applicable", url.Values{"ver.B3": {"0"}, "v.B3": {"2"}, "na.B3": {"on"}}, http.StatusBadRequest,
			[]string{"<td>B3</td>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fields.Set("region_code", "140100")
			got := send("city", tc.fields, tc.want)
			for _, want := range tc.shows {
				if !strings.Contains(got, want) {
					t.Errorf("refused form lacks %q:\n%s", want, got)
				}
			}
			if v, _ := value("A2"); *v.Number != 4 || v.Version != 3 {
				t.Errorf("A2 changed: %+v", v)
			}
			if _, ok := value("B3"); ok {
				t.Error("B3 was stored by a refused form")
			}
		})
	}
	if n := f.count("indicator_value_revisions"); n != before+1 {
		t.Fatalf("%d revisions added by refused forms, want the one conflict", n-before)
	}

	t.Run("another region", func(t *testing.T) {
		send("city", url.Values{"region_code": {"140200"}, "ver.A2": {"0"}, "v.A2": {"1"}}, http.StatusForbidden)
		send("city2", url.Values{"region_code": {"140100"}, "ver.B3": {"0"}, "v.B3": {"1"}}, http.StatusForbidden)
		if _, ok := value("B3"); ok || f.count("indicator_values") != 2 {
			t.Fatal("a form for another region stored values")
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		session, csrf := f.formSession("city")
		fields := url.Values{"region_code": {"140100"}, "ver.B3": {"0"}, "v.B3": {"2"}}
		for _, token := range []string{"", "not-" + csrf} {
			req := form(fields)
			if token != "" {
				req = httptestBody(req, fields.Encode()+"&_csrf="+url.QueryEscape(token), "application/x-www-form-urlencoded")
			}
			req.AddCookie(session)
			if resp, _ := f.do(req); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("form with token %q: %d, want 403", token, resp.StatusCode)
			}
		}
		if _, ok := value("B3"); ok {
			t.Fatal("a form without a valid CSRF token stored a value")
		}
		req := httptestBody(request("POST", post, nil), fields.Encode()+"&_csrf="+url.QueryEscape(csrf), "application/x-www-form-urlencoded")
		req.AddCookie(session)
		if resp, body := f.do(req); resp.StatusCode != http.StatusOK {
			t.Fatalf("form with the CSRF token: %d %s", resp.StatusCode, body)
		}
		if v, ok := value("B3"); !ok || *v.Number != 2 {
			t.Fatal("the form with a CSRF token did not store B3")
		}
	})

	t.Run("read-only once collection ends", func(t *testing.T) {
		if _, err := f.cycles.Transition(context.Background(), cy.ID, cycles.Scoring); err != nil {
			t.Fatal(err)
		}
		if got := f.pageAs("city", request("GET", page, nil), http.StatusOK); strings.Contains(got, `name="v.A2"`) {
			t.Fatal("the form is shown for a cycle no longer collecting")
		}
	})
}
