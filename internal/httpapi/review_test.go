package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators"
)

// formRequest is a POST of an urlencoded form to path.
func formRequest(path, body string) *http.Request {
	return httptestBody(request("POST", path, nil), body, "application/x-www-form-urlencoded")
}

// submittedValueOf is valueOf with the value submitted (version 2).
func (f *fixture) submittedValueOf(region string) (cycleID, valueID string) {
	f.t.Helper()
	cy, v := f.valueOf(region)
	f.call("admin", "POST", "/api/v1/cycles/"+cy+"/values/submit", map[string]any{"region_code": region}, 200)
	return cy, v
}

// reviewValues writes and submits, as an admin, the numbers by region and
// indicator in a new collecting cycle, and returns the cycle and the value
// ids keyed "region/indicator".
func (f *fixture) reviewValues(numbers map[string]map[string]float64) (string, map[string]string) {
	f.t.Helper()
	cy := f.collectingCycle()
	ids := map[string]string{}
	for region, byCode := range numbers {
		var items []map[string]any
		for code, n := range byCode {
			items = append(items, map[string]any{"region_code": region, "indicator_code": code, "number": n})
		}
		b := f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/values", map[string]any{"items": items}, 200)
		for _, v := range decode[struct{ Items []indicators.Value }](f.t, b).Items {
			ids[v.RegionCode+"/"+v.IndicatorCode] = v.ID
		}
		f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/values/submit", map[string]any{"region_code": region}, 200)
	}
	return cy.ID, ids
}

// valueRow reads a value's status and version from the database.
func (f *fixture) valueRow(id string) indicators.Value {
	f.t.Helper()
	var v indicators.Value
	if err := f.db.Where("id = ?", id).Take(&v).Error; err != nil {
		f.t.Fatal(err)
	}
	return v
}

func TestReviewQueue(t *testing.T) {
	f := newFixture(t)
	cy, ids := f.reviewValues(map[string]map[string]float64{
		"140100": {"A2": 4, "F1": 0},
		"140200": {"A2": 5, "A3": 2},
	})
	base := "/cycles/" + cy + "/review"

	t.Run("Page", func(t *testing.T) {
		resp, body := f.do(f.as("admin", request("GET", base, nil)))
		if resp.StatusCode != 200 {
			t.Fatalf("queue: %d %s", resp.StatusCode, body)
		}
		for _, want := range []string{"审核队列", `data-region="140100" data-code="A2"`, `data-region="140200" data-code="A3"`,
			"该指标须上传佐证材料，尚无材料", "等于指标规定的下限 0", "4.5 个", "/review/" + ids["140100/A2"] + "/return", `name="_csrf"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("queue lacks %q", want)
			}
		}
		_, body = f.do(f.as("admin", request("GET", base+"?region=140200&indicator=A3&lang=en", nil)))
		if strings.Contains(string(body), `data-code="A2"`) || !strings.Contains(string(body), `data-code="A3"`) ||
			!strings.Contains(string(body), "Review queue") {
			t.Errorf("filtered queue: %s", body)
		}
		if resp, _ := f.do(f.as("admin", request("GET", base+"?status=bogus", nil))); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("bad status filter: %d", resp.StatusCode)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		other, otherIDs := f.reviewValues(map[string]map[string]float64{"140100": {"A2": 1}})
		if resp, _ := f.do(f.as("admin", request("GET", "/cycles/no-such-cycle/review", nil))); resp.StatusCode != http.StatusNotFound {
			t.Errorf("queue of an unknown cycle: %d, want 404", resp.StatusCode)
		}
		// The later cycle compares with this one: 4 then, 1 now.
		_, body := f.do(f.as("admin", request("GET", "/cycles/"+other+"/review", nil)))
		for _, want := range []string{"<td>4 个</td>", "较上一周期（4）变化 -75%"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the later cycle's queue lacks %q", want)
			}
		}
		for _, path := range []string{
			"/cycles/no-such-cycle/review/" + ids["140100/A2"] + "/verify",
			base + "/no-such-value/verify",
			base + "/" + otherIDs["140100/A2"] + "/verify", // a value of another cycle
			"/cycles/" + other + "/review/" + ids["140200/A2"] + "/return",
		} {
			resp, body := f.do(f.as("admin", formRequest(path, "version=2&comment=x")))
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s: %d, want 404: %s", path, resp.StatusCode, body)
			}
		}
		if v := f.valueRow(otherIDs["140100/A2"]); v.Status != indicators.StatusSubmitted {
			t.Errorf("a value of another cycle became %s", v.Status)
		}
	})

	t.Run("ReturnNeedsReason", func(t *testing.T) {
		revs := f.count("indicator_value_revisions")
		for _, lang := range []string{"", "&lang=en"} {
			for _, comment := range []string{"", "+++", "abc%E2%80%AEfdp.exe", "bell%07"} {
				resp, body := f.do(f.as("admin", formRequest(base+"/"+ids["140100/A2"]+"/return?x=1"+lang, "version=2&comment="+comment)))
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("return with comment %q: %d %s", comment, resp.StatusCode, body)
				}
				if comment == "" {
					want := "退回时须填写审核意见"
					if lang != "" {
						want = "a rejection needs a comment"
					}
					if !strings.Contains(string(body), want) || !strings.Contains(string(body), "comment") {
						t.Errorf("return without a reason (%s) does not say %q by field: %s", lang, want, body)
					}
				}
			}
		}
		if v := f.valueRow(ids["140100/A2"]); v.Status != indicators.StatusSubmitted || v.Version != 2 {
			t.Errorf("a refused return changed the value: %s v%d", v.Status, v.Version)
		}
		if n := f.count("indicator_value_revisions"); n != revs {
			t.Errorf("a refused return wrote %d revisions", n-revs)
		}
	})

	t.Run("Return", func(t *testing.T) {
		resp, body := f.do(f.as("admin", formRequest(base+"/"+ids["140100/A2"]+"/return",
			"version=2&comment="+url.QueryEscape("请核实网点数")+"&f_region=140100&f_status=submitted")))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("return: %d %s", resp.StatusCode, body)
		}
		loc := resp.Header.Get("Location")
		if !strings.Contains(loc, "region=140100") || !strings.Contains(loc, "done=returned") {
			t.Errorf("redirect %q keeps no filter or outcome", loc)
		}
		if v := f.valueRow(ids["140100/A2"]); v.Status != indicators.StatusRejected || v.ReviewerComment != "请核实网点数" {
			t.Errorf("returned value: %s %q", v.Status, v.ReviewerComment)
		}
		var n int64
		f.db.Table("audit_log").Where("action = ? AND object LIKE ? AND detail = ? AND status = ?", "page.review_return",
			"value:%"+ids["140100/A2"], "region 140100, indicator A2: returned", http.StatusSeeOther).Count(&n)
		if n != 1 {
			t.Errorf("%d audit entries of the return, want 1", n)
		}
		_, body = f.do(f.as("admin", request("GET", loc, nil)))
		if !strings.Contains(string(body), "已退回 1 项数据") {
			t.Errorf("the queue does not say what was done: %s", body)
		}
		// Stale: the version the page showed is no longer current.
		resp, body = f.do(f.as("admin", formRequest(base+"/"+ids["140100/A2"]+"/verify", "version=2")))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "数据已被他人修改") {
			t.Errorf("stale verify: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("VerifyNeedsEvidence", func(t *testing.T) {
		resp, body := f.do(f.as("admin", formRequest(base+"/"+ids["140100/F1"]+"/verify", "version=2")))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "须上传佐证材料后才能审核通过") {
			t.Errorf("verify without evidence: %d %s", resp.StatusCode, body)
		}
		if v := f.valueRow(ids["140100/F1"]); v.Status != indicators.StatusSubmitted {
			t.Errorf("refused verify changed the value: %s", v.Status)
		}
	})

	t.Run("Bulk", func(t *testing.T) {
		resp, body := f.do(f.as("admin", formRequest(base+"/verify-region", "region_code=140200")))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "请勾选确认后再批量审核") {
			t.Errorf("bulk without confirmation: %d %s", resp.StatusCode, body)
		}
		if v := f.valueRow(ids["140200/A2"]); v.Status != indicators.StatusSubmitted {
			t.Errorf("unconfirmed bulk verified: %s", v.Status)
		}
		resp, body = f.do(f.as("admin", formRequest(base+"/verify-region", "region_code=140200&confirm=on")))
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=bulk&n=2") {
			t.Fatalf("bulk: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		for _, k := range []string{"140200/A2", "140200/A3"} {
			if v := f.valueRow(ids[k]); v.Status != indicators.StatusVerified {
				t.Errorf("%s after bulk: %s", k, v.Status)
			}
		}
		// 140100's F1 lacks its evidence: refused with the reason.
		resp, body = f.do(f.as("admin", formRequest(base+"/verify-region", "region_code=140100&confirm=on")))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "须上传佐证材料后才能审核通过") {
			t.Errorf("bulk with a refusal: %d %s", resp.StatusCode, body)
		}
	})
}
