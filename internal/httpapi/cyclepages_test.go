package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/cycles"
)

// TestCyclePagesCreate posts the create form of /cycles as an admin: bad
// input is refused by field in Chinese and in English with nothing stored,
// a good form stores the cycle with its scheme, audited, and goes on to its
// home.
func TestCyclePagesCreate(t *testing.T) {
	f := newFixture(t)
	st := f.storedScheme()
	bad := []struct {
		name   string
		values url.Values
		zh, en []string
	}{
		{"year not a number, empty name, unknown scheme", url.Values{"year": {"二〇二六"}, "name": {"  "}, "scheme_id": {"no-such-scheme"}},
			[]string{"年度须为2000至2100之间的整数", "请填写名称", "评价方案不存在"},
			[]string{"year must be a whole number between 2000 and 2100", "enter a name", "no such scheme"}},
		{"year out of range, no scheme", url.Values{"year": {"1999"}, "name": {"考核"}},
			[]string{"年度须在2000至2100之间", "请选择评价方案版本"},
			[]string{"year must be between 2000 and 2100", "choose a scheme version"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before := f.snapshot(map[string]string{"cycles": "*"})
			for lang, want := range map[string][]string{"zh": c.zh, "en": c.en} {
				resp, body := f.do(f.as("admin", form("POST", "/cycles?lang="+lang, c.values)))
				if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("%s: status %d %q, want 400 as a page", lang, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				for _, w := range want {
					if !strings.Contains(string(body), w) {
						t.Errorf("%s: the page does not say %q", lang, w)
					}
				}
				if !strings.Contains(string(body), `id="create-cycle"`) {
					t.Errorf("%s: the refused form is not shown again", lang)
				}
			}
			if after := f.snapshot(map[string]string{"cycles": "*"}); after != before {
				t.Errorf("a refused form changed the cycles table")
			}
		})
	}

	t.Run("a year that has a cycle", func(t *testing.T) {
		f.t = t
		taken := f.newCycle()
		before := f.snapshot(map[string]string{"cycles": "*"})
		resp, body := f.do(f.as("admin", form("POST", "/cycles", url.Values{"year": {strconv.Itoa(taken.Year)}, "name": {"重复"}, "scheme_id": {st.ID}})))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "年度考核周期已存在") {
			t.Errorf("status %d, want 409 saying the year has a cycle: %s", resp.StatusCode, body)
		}
		if f.snapshot(map[string]string{"cycles": "*"}) != before {
			t.Errorf("a refused form changed the cycles table")
		}
	})

	t.Run("created", func(t *testing.T) {
		f.t = t
		year := 2000 + int(f.years.Add(1))
		resp, body := f.do(f.as("admin", form("POST", "/cycles", url.Values{"year": {strconv.Itoa(year)}, "name": {"页面周期"}, "scheme_id": {st.ID}})))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d, want 303: %s", resp.StatusCode, body)
		}
		var cy cycles.Cycle
		if err := f.db.Where("year = ?", year).Take(&cy).Error; err != nil {
			t.Fatal(err)
		}
		if cy.Name != "页面周期" || cy.Status != cycles.Draft || cy.SchemeID == nil || *cy.SchemeID != st.ID {
			t.Errorf("stored %+v, want a draft named 页面周期 with scheme %s", cy, st.ID)
		}
		if loc := resp.Header.Get("Location"); loc != "/cycles/"+cy.ID+"?notice=created" {
			t.Errorf("Location %q, want the cycle's home", loc)
		}
		var n int64
		f.db.Table("audit_log").Where("action = ? AND object = ? AND result = ?", "page.cycle_create", "cycle:"+cy.ID, "success").Count(&n)
		if n != 1 {
			t.Errorf("%d audit entries of the creation, want 1", n)
		}
		_, list := f.do(f.as("admin", request("GET", "/cycles", nil)))
		if !strings.Contains(string(list), "页面周期") || !strings.Contains(string(list), st.Code) {
			t.Errorf("the list does not show the new cycle with its scheme")
		}
	})
}

// TestCycleHome reads a cycle's home and changes its state from it: the
// checklist, an unknown cycle, a refused change with the store's reason
// in both languages, and an accepted one, audited.
func TestCycleHome(t *testing.T) {
	f := newFixture(t)

	t.Run("unknown cycle", func(t *testing.T) {
		f.t = t
		for _, req := range []*http.Request{request("GET", "/cycles/no-such-cycle", nil),
			form("POST", "/cycles/no-such-cycle/transitions", url.Values{"to": {"collecting"}})} {
			if resp, body := f.do(f.as("admin", req)); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404: %s", req.Method, req.URL, resp.StatusCode, body)
			}
		}
	})

	t.Run("checklist", func(t *testing.T) {
		f.t = t
		cy := f.sharedCycle()
		resp, body := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID, nil)))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		for _, want := range []string{"已指定评价方案", "数据采集中", "/cycles/" + cy.ID + "/collect", "/surveys?cycle=" + cy.ID,
			"待审核指标数据", "缺少佐证材料", "评价运行", "结束采集，进入评分", "各市级用户不能再填报"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the home does not show %q", want)
			}
		}
	})

	refused := []struct {
		name   string
		cycle  func() cycles.Cycle
		to     string
		zh, en string
	}{
		{"no scheme", f.newCycle, "collecting", "考核周期尚未指定评价方案", "the cycle has no scheme"},
		{"not a next state", f.newCycle, "archived", "考核周期不能从 draft 变更为 archived", "cycle cannot move from draft to archived"},
	}
	for _, c := range refused {
		t.Run("refused: "+c.name, func(t *testing.T) {
			f.t = t
			cy := c.cycle()
			for lang, want := range map[string]string{"zh": c.zh, "en": c.en} {
				resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/transitions?lang="+lang, url.Values{"to": {c.to}})))
				if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), want) {
					t.Errorf("%s: status %d, want 409 saying %q: %s", lang, resp.StatusCode, want, body)
				}
			}
			if got, _ := f.cycles.Get(context.Background(), cy.ID); got.Status != cycles.Draft {
				t.Errorf("the cycle moved to %s", got.Status)
			}
		})
	}

	t.Run("open collection", func(t *testing.T) {
		f.t = t
		cy := f.newCycle()
		if _, err := f.cycles.SetScheme(context.Background(), cy.ID, f.storedScheme().ID); err != nil {
			t.Fatal(err)
		}
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/transitions", url.Values{"to": {"collecting"}})))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cycles/"+cy.ID+"?notice=collecting" {
			t.Fatalf("status %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if got, _ := f.cycles.Get(context.Background(), cy.ID); got.Status != cycles.Collecting {
			t.Errorf("the cycle is %s, want collecting", got.Status)
		}
		var detail []string
		f.db.Table("audit_log").Where("action = ? AND object = ?", "page.cycle_transition", "cycle:"+cy.ID).Pluck("detail", &detail)
		if len(detail) != 1 || detail[0] != "to collecting" {
			t.Errorf("audit details %q, want one: to collecting", detail)
		}
		_, home := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID+"?notice=collecting&lang=en", nil)))
		if !strings.Contains(string(home), "Collection is open.") || !strings.Contains(string(home), "Close collection (to scoring)") {
			t.Errorf("the English home does not say collection is open with the close button")
		}
	})
}
