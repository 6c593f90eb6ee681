package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// schemeCount is the number of stored scheme versions.
func (f *fixture) schemeCount() int64 {
	f.t.Helper()
	var n int64
	if err := f.db.Table("schemes").Count(&n).Error; err != nil {
		f.t.Fatal(err)
	}
	return n
}

// schemeYAML encodes sc, valid or not, as an uploaded document.
func schemeYAML(t testing.TB, sc scheme.Scheme) []byte {
	t.Helper()
	b, err := sc.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSchemePagesUploadRefused uploads bad schemes from the /schemes form:
// each is refused, as a page in Chinese and in English, with every problem
// by its path in the document, the typed text kept, and nothing stored.
func TestSchemePagesUploadRefused(t *testing.T) {
	f := newFixture(t)
	weights := scheme.Default()
	weights.Dimensions[1].Weight = -1
	weights.Indicators[0].Weight = 1e308
	weights.Indicators[2].Normalisation.Upper = weights.Indicators[2].Normalisation.Lower
	hostile := scheme.Default()
	hostile.Name = "方案\u202egpj.exe"
	hostile.Dimensions[0].Name = "体系\x07建设"
	hostile.Indicators[3].Unit = "个\u2066"
	unknown := strings.Replace(string(schemeYAML(t, scheme.Default())), "  - code: A1\n", "  - code: A1\n    weigth: 3\n", 1)
	cases := []struct {
		name   string
		req    func(lang string) *http.Request
		status int
		paths  []string
		zh, en []string
	}{
		{"weights and bounds", func(lang string) *http.Request {
			return upload("POST", "/schemes?lang="+lang, nil, "file", "scheme.yaml", schemeYAML(t, weights))
		}, http.StatusBadRequest, []string{"dimensions[1].weight", "indicators[0].weight", "indicators[2].normalisation"},
			[]string{"权重不能为负数"}, []string{"weight must not be negative"}},
		{"control and bidi characters", func(lang string) *http.Request {
			return upload("POST", "/schemes?lang="+lang, nil, "file", "scheme.yaml", schemeYAML(t, hostile))
		}, http.StatusBadRequest, []string{">name<", "dimensions[0].name", "indicators[3].unit"}, nil, nil},
		{"unknown field, pasted", func(lang string) *http.Request {
			return upload("POST", "/schemes?lang="+lang, map[string]string{"text": unknown}, "", "", nil)
		}, http.StatusBadRequest, []string{"indicators[0].weigth"}, nil, nil},
		{"YAML syntax", func(lang string) *http.Request {
			return upload("POST", "/schemes?lang="+lang, nil, "file", "scheme.json", []byte("{\"code\": [\n"))
		}, http.StatusBadRequest, nil, []string{"YAML/JSON 语法错误：line 1"}, []string{"YAML/JSON syntax error: line 1"}},
		{"nothing chosen", func(lang string) *http.Request {
			return upload("POST", "/schemes?lang="+lang, map[string]string{"text": "  "}, "", "", nil)
		}, http.StatusBadRequest, []string{">file<"}, []string{"请选择方案文件"}, []string{"choose a scheme file"}},
		{"over 1 MiB", func(lang string) *http.Request {
			return upload("POST", "/schemes?lang="+lang, nil, "file", "big.yaml", []byte(strings.Repeat("#", scheme.MaxSize+1)))
		}, http.StatusRequestEntityTooLarge, nil, []string{"评价方案不能超过1 MiB"}, []string{"a scheme is at most 1 MiB"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before := f.schemeCount()
			for lang, want := range map[string][]string{"zh": c.zh, "en": c.en} {
				resp, body := f.do(f.as("admin", c.req(lang)))
				page := string(body)
				if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("%s: status %d %q, want %d as a page: %.400s", lang, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, page)
				}
				for _, w := range append(want, c.paths...) {
					if !strings.Contains(page, w) {
						t.Errorf("%s: the page does not say %q", lang, w)
					}
				}
				if !strings.Contains(page, `id="upload-scheme"`) {
					t.Errorf("%s: the refused form is not shown again", lang)
				}
				if strings.ContainsAny(page, "\u202e\u2066\x07") {
					t.Errorf("%s: the page echoes control or bidi characters", lang)
				}
			}
			if after := f.schemeCount(); after != before {
				t.Errorf("a refused upload stored %d versions", after-before)
			}
		})
	}

	t.Run("the pasted text is kept", func(t *testing.T) {
		f.t = t
		_, body := f.do(f.as("admin", upload("POST", "/schemes", map[string]string{"text": unknown}, "", "", nil)))
		if !strings.Contains(string(body), "weigth: 3") {
			t.Errorf("the refused text is not in the textarea")
		}
	})
}

// TestSchemePagesStore uploads a good scheme as a file and as JSON text,
// and adds the built-in default twice: the second adds nothing.
func TestSchemePagesStore(t *testing.T) {
	f := newFixture(t)
	sc := scheme.Default()
	sc.Code = f.uniqueName("up-")
	before := f.schemeCount()
	resp, body := f.do(f.as("admin", upload("POST", "/schemes", nil, "file", "s.yaml", schemeYAML(t, sc))))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/schemes/") || !strings.HasSuffix(loc, "?notice=created") {
		t.Fatalf("upload: status %d to %q: %s", resp.StatusCode, loc, body)
	}
	js, _ := sc.JSON()
	if resp, _ := f.do(f.as("admin", upload("POST", "/schemes", map[string]string{"text": string(js)}, "", "", nil))); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pasted JSON: status %d", resp.StatusCode)
	}
	if got := f.schemeCount() - before; got != 2 {
		t.Errorf("%d versions stored, want 2", got)
	}
	resp, body = f.do(f.as("admin", request("GET", loc, nil)))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "评价方案已保存为新版本") {
		t.Errorf("the new version's page: status %d, no notice", resp.StatusCode)
	}

	countDefault := func() int64 {
		var n int64
		if err := f.db.Table("schemes").Where("code = ?", scheme.Default().Code).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := countDefault()
	for i, want := range []string{"default_added", "default_exists"} {
		resp, _ := f.do(f.as("admin", form("POST", "/schemes/default", nil)))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?notice="+want) {
			t.Errorf("add default #%d: status %d to %q, want ?notice=%s", i+1, resp.StatusCode, loc, want)
		}
	}
	if base == 0 && countDefault() != 1 {
		t.Errorf("after two posts, %d versions of the default, want 1", countDefault())
	}
	resp, _ = f.do(f.as("admin", form("POST", "/schemes/default", url.Values{"next": {"//evil.example/"}})))
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "evil") {
		t.Errorf("next led off the site: %q", loc)
	}
}

// TestSchemePagesDetail shows a version as the 细则 table in both
// languages, downloads it as YAML and JSON, and compares two versions.
func TestSchemePagesDetail(t *testing.T) {
	f := newFixture(t)
	st := f.storedScheme()
	resp, body := f.do(f.as("admin", request("GET", "/schemes/"+st.ID, nil)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for lang, want := range map[string][]string{
		"zh": {"一级指标", "二级指标", "体系建设", "25.00 分", "在固定区间 0～10 内线性折算", "个", "满意度调查（问卷 satisfaction）",
			"须提供", "不计分，仅供规则判断", "80 ≤ 得分 &lt; 90", "得分 ≥ 90", "等次最高为“良好”", "《关于加快推进知识产权公共服务体系建设的实施意见》四（三）",
			`id="download-scheme"`},
		"en": {"System construction", "linear between fixed bounds 0 and 10", "min-max across regions", "the grade is at most “Good”",
			"Implementing Opinions on Accelerating"},
	} {
		if lang == "en" {
			_, body = f.do(f.as("admin", request("GET", "/schemes/"+st.ID+"?lang=en", nil)))
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				t.Errorf("%s: the 细则 page does not say %q", lang, w)
			}
		}
	}

	resp, body = f.do(f.as("admin", request("GET", "/schemes/"+st.ID+"/download", nil)))
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=`+st.Code+`-v1.yaml` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	got, err := scheme.Parse(body)
	if err != nil || got.Code != st.Code || len(got.Indicators) != len(scheme.Default().Indicators) {
		t.Errorf("the download does not read back as the scheme: %v", err)
	}
	resp, body = f.do(f.as("admin", request("GET", "/schemes/"+st.ID+"/download?format=json", nil)))
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || doc["code"] != st.Code || !strings.HasSuffix(resp.Header.Get("Content-Disposition"), ".json") {
		t.Errorf("JSON download: %v %q", err, resp.Header.Get("Content-Disposition"))
	}

	edited := scheme.Default()
	edited.Code = st.Code
	edited.Dimensions[1].Weight = 30
	edited.Indicators[1].EvidenceRequired = true
	v2, err := f.schemes.Create(context.Background(), edited, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, body = f.do(f.as("admin", request("GET", "/schemes/"+st.ID, nil))); !strings.Contains(string(body), `<option value="`+v2.ID+`">`) {
		t.Errorf("the compare form does not offer the other version")
	}
	resp, body = f.do(f.as("admin", request("GET", "/schemes/"+st.ID+"/diff?to="+v2.ID, nil)))
	for _, w := range []string{`data-path="dimensions[B].weight"`, `data-path="indicators[A2].evidence_required"`, "修改"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), w) {
			t.Errorf("diff: status %d, does not say %q", resp.StatusCode, w)
		}
	}
	if _, body = f.do(f.as("admin", request("GET", "/schemes/"+st.ID+"/diff?to="+st.ID, nil))); !strings.Contains(string(body), `id="no-changes"`) {
		t.Errorf("a version compared with itself shows changes")
	}
	for path, status := range map[string]int{"/schemes/" + st.ID + "/diff": 400, "/schemes/" + st.ID + "/diff?to=nope": 404, "/schemes/nope": 404, "/schemes/nope/download": 404} {
		if resp, _ := f.do(f.as("admin", request("GET", path, nil))); resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, status)
		}
	}
}

// TestSchemePagesObjectLevel: only an administrator reaches the scheme
// pages; city officials, contractors, security administrators and
// auditors are refused, and their posts store nothing.
func TestSchemePagesObjectLevel(t *testing.T) {
	f := newFixture(t)
	st := f.storedScheme()
	cy := f.newCycle()
	before := f.schemeCount()
	for _, who := range []string{"city", "contractor", "secadmin", "auditor"} {
		for _, req := range []*http.Request{
			request("GET", "/schemes", nil),
			request("GET", "/schemes/"+st.ID, nil),
			request("GET", "/schemes/"+st.ID+"/download", nil),
			request("GET", "/schemes/"+st.ID+"/diff?to="+st.ID, nil),
			upload("POST", "/schemes", nil, "file", "s.yaml", schemeYAML(t, scheme.Default())),
			form("POST", "/schemes/default", nil),
			form("POST", "/cycles/"+cy.ID+"/scheme", url.Values{"scheme_id": {st.ID}}),
		} {
			if resp, _ := f.do(f.as(who, req)); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s %s: status %d, want 403", who, req.Method, req.URL.Path, resp.StatusCode)
			}
		}
	}
	if f.schemeCount() != before {
		t.Errorf("a refused caller stored a scheme")
	}
	var got cycles.Cycle
	if err := f.db.Where("id = ?", cy.ID).Take(&got).Error; err != nil || got.SchemeID != nil {
		t.Errorf("a refused caller assigned a scheme: %v", got.SchemeID)
	}
}

// TestCyclePagesAssignScheme assigns a cycle's scheme from its home while
// draft, and is refused with the store's reason once the cycle is scored.
func TestCyclePagesAssignScheme(t *testing.T) {
	f := newFixture(t)
	st := f.storedScheme()
	cy := f.newCycle()
	_, body := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID, nil)))
	if !strings.Contains(string(body), `id="assign-scheme"`) {
		t.Fatalf("a draft cycle's home has no assign form")
	}
	resp, _ := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/scheme", url.Values{"scheme_id": {st.ID}})))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cycles/"+cy.ID+"?notice=scheme" {
		t.Fatalf("assign: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = f.do(f.as("admin", request("GET", "/cycles/"+cy.ID, nil)))
	if !strings.Contains(string(body), `<a href="/schemes/`+st.ID+`">`) {
		t.Errorf("the checklist's scheme line does not link the scheme")
	}

	scored := f.scoringCycle()
	var was cycles.Cycle
	f.db.Where("id = ?", scored.ID).Take(&was)
	for lang, want := range map[string]string{"zh": "考核周期进入评分后不能更换评价方案", "en": "the scheme can change only while the cycle is draft or collecting"} {
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+scored.ID+"/scheme?lang="+lang, url.Values{"scheme_id": {st.ID}})))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), want) {
			t.Errorf("%s: scoring cycle: status %d, want 409 saying %q", lang, resp.StatusCode, want)
		}
		if strings.Contains(string(body), `id="assign-scheme"`) {
			t.Errorf("%s: a scoring cycle offers the assign form", lang)
		}
	}
	for lang, want := range map[string]string{"zh": "评价方案不存在", "en": "no such scheme"} {
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/scheme?lang="+lang, url.Values{"scheme_id": {"nope"}})))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("%s: unknown scheme: status %d, want 400 saying %q", lang, resp.StatusCode, want)
		}
	}
	var now cycles.Cycle
	f.db.Where("id = ?", scored.ID).Take(&now)
	if *now.SchemeID != *was.SchemeID {
		t.Errorf("a refused assignment changed the scheme")
	}
}

// TestCyclePagesEmptyDatabase: with no scheme stored, the cycles page
// offers the built-in default, which then is the create form's choice.
func TestCyclePagesEmptyDatabase(t *testing.T) {
	f := newFixture(t)
	if n := f.schemeCount(); n != 0 {
		t.Skipf("the fixture starts with %d schemes", n)
	}
	_, body := f.do(f.as("admin", request("GET", "/cycles", nil)))
	if !strings.Contains(string(body), `id="cycles-add-default-scheme"`) {
		t.Fatalf("the empty cycles page does not offer the default scheme")
	}
	resp, _ := f.do(f.as("admin", form("POST", "/schemes/default", url.Values{"next": {"/cycles"}})))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cycles" {
		t.Fatalf("add default from the cycles page: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = f.do(f.as("admin", request("GET", "/cycles", nil)))
	if !strings.Contains(string(body), scheme.Default().Name+" · "+scheme.Default().Code+" v1</option>") {
		t.Errorf("the create form does not offer the default scheme")
	}
}
