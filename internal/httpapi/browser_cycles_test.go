package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserCycles is the manager's start of a year in Chromium: sign
// in, create a cycle with the default scheme from the cycles page, open
// collection through the confirmation on the cycle's home, and see the
// checklist. Screenshots of each step are kept with -artifacts.
func TestBrowserCycles(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	st := f.storedScheme()
	year := strconv.Itoa(2000 + int(f.years.Add(1)))
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/cycles")
	if resp := tab.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("cycles page after sign-in: status %d", resp.Status)
	}
	tab.WantLocation("/cycles")
	if got := tab.Text(`header nav a[href="/cycles"]`); got != "考核周期" {
		t.Errorf("navigation shows %q, want 考核周期", got)
	}
	tab.Screenshot("cycles-list.png")

	// A refused form keeps what was typed and says what is wrong: the
	// browser checks the year's range itself, the server that the year is
	// free.
	taken := strconv.Itoa(f.newCycle().Year)
	for _, act := range []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(`#create-cycle input[name="year"]`, taken),
		chromedp.SendKeys(`#create-cycle input[name="name"]`, year+"年度考核"),
		chromedp.SetValue(`#create-cycle select[name="scheme_id"]`, st.ID),
	} {
		if err := chromedp.Do(tab.Ctx, act); err != nil {
			t.Fatalf("fill the form: %v", err)
		}
	}
	if resp := tab.Submit(`#create-cycle button[type="submit"]`); resp.Status != http.StatusConflict {
		t.Fatalf("a year that has a cycle: status %d, want 409", resp.Status)
	}
	if got := tab.Text(`main p.alert[role="alert"]`); got != taken+"年度考核周期已存在" {
		t.Errorf("alert = %q, want the year's cycle exists", got)
	}
	if got := tab.Value(`#create-cycle input[name="name"]`); got != year+"年度考核" {
		t.Errorf("name field = %q, want it kept", got)
	}
	tab.Screenshot("cycles-refused.png")

	if err := chromedp.Do(tab.Ctx, chromedp.SetValue(`#create-cycle input[name="year"]`, year)); err != nil {
		t.Fatal(err)
	}
	if resp := tab.Submit(`#create-cycle button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("create: status %d", resp.Status)
	}
	if !strings.HasPrefix(tab.Location(), "/cycles/") {
		t.Fatalf("after creating: at %s, want the cycle's home", tab.Location())
	}
	if got := tab.Text("main p.notice"); got != "考核周期已创建（草稿）。" {
		t.Errorf("notice = %q", got)
	}
	if got := tab.Text(`tr[data-line="cycles.line.scheme"] td.now`); !strings.Contains(got, st.Code) {
		t.Errorf("scheme line = %q, want %s", got, st.Code)
	}
	tab.Screenshot("cycle-draft.png")

	// The confirmation says what opening collection does, and to whom.
	if err := chromedp.Do(tab.Ctx, chromedp.Click(`details[data-to="collecting"] summary`)); err != nil {
		t.Fatal(err)
	}
	if got := tab.Text(`details[data-to="collecting"] p`); !strings.Contains(got, "各市级用户可以填报本周期数据") {
		t.Errorf("confirmation = %q", got)
	}
	tab.Screenshot("cycle-confirm.png")
	if resp := tab.Submit(`details[data-to="collecting"] button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("open collection: status %d", resp.Status)
	}
	if got := tab.Text("#cycle-status"); got != "数据采集中" {
		t.Errorf("status = %q, want 数据采集中", got)
	}
	if got := tab.Text(`tr[data-line="cycles.line.regions"] td.now`); !strings.HasPrefix(got, "0/") {
		t.Errorf("regions submitted = %q, want none yet", got)
	}
	if got := tab.Texts(`details[data-to] summary`); len(got) != 1 || got[0] != "结束采集，进入评分" {
		t.Errorf("state changes offered = %q, want only closing collection", got)
	}
	tab.Screenshot("cycle-collecting.png")
	tab.WantOwnHost()
}
