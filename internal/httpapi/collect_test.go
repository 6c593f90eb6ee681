package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
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
