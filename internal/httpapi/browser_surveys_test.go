package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserSurveyManager is a survey's life in Chromium, through the
// pages only: the manager commissions it, the contractor uploads and
// submits, the manager returns it with a reason, the contractor submits
// again, the manager reads the preview of the values acceptance writes,
// accepts (the values written are those previewed) and locks. Screenshots
// of each step are kept with -artifacts.
func TestBrowserSurveyManager(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	f.surveyWorker()
	cy := f.sharedCycle()
	file := filepath.Join(t.TempDir(), "答卷.csv")
	if err := os.WriteFile(file, surveyFile(append(goodRows("140100", "t", 4), goodRows("140200", "d", 4)...)...), 0o600); err != nil {
		t.Fatal(err)
	}
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)
	do := func(tab *browsertest.Tab, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for _, a := range acts {
			if err := chromedp.Do(tab.Ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The manager commissions the survey.
	admin := browsertest.NewTab(t, browser, base)
	admin.Navigate("/surveys")
	if resp := admin.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("surveys page after sign-in: status %d", resp.Status)
	}
	const form = `#commission-survey `
	do(admin,
		chromedp.SetValue(form+`select[name="cycle_id"]`, cy.ID),
		chromedp.SetValue(form+`select[name="organisation_id"]`, f.org.ID),
		chromedp.SendKeys(form+`input[name="name"]`, "浏览器委托调查"),
		chromedp.SetValue(form+`input[name="target"]`, "10"),
		chromedp.SetValue(form+`input[name="minimum"]`, "2"),
		chromedp.SetValue(form+`input[name="fieldwork_start"]`, "2025-06-30"),
		chromedp.SetValue(form+`input[name="fieldwork_end"]`, "2025-05-01"))
	if resp := admin.Submit(form + `button[type="submit"]`); resp.Status != http.StatusBadRequest {
		t.Fatalf("fieldwork ending before it starts: status %d, want 400", resp.Status)
	}
	if got := admin.Text(`table.problems tbody`); !strings.Contains(got, "调查结束日期早于开始日期") {
		t.Errorf("problems = %q", got)
	}
	if got := admin.Value(form + `input[name="name"]`); got != "浏览器委托调查" {
		t.Errorf("name = %q, want it kept", got)
	}
	admin.Screenshot("surveys-commission-refused.png")
	admin.Axe("the surveys list with a refused commission form")
	do(admin, chromedp.SetValue(form+`input[name="fieldwork_start"]`, "2025-05-01"),
		chromedp.SetValue(form+`input[name="fieldwork_end"]`, "2025-06-30"))
	if resp := admin.Submit(form + `button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("commission: status %d", resp.Status)
	}
	page, _, _ := strings.Cut(admin.Location(), "?")
	if !strings.HasPrefix(page, "/surveys/") || !strings.Contains(admin.Text("main p.notice"), "调查项目已创建") {
		t.Fatalf("after commissioning: at %s", admin.Location())
	}
	admin.Screenshot("survey-commissioned.png")

	// The contractor uploads and submits on the existing page.
	contractor := browsertest.NewTab(t, browser, base)
	contractor.Navigate(page)
	if resp := contractor.SignIn("contractor", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("project page after sign-in: status %d", resp.Status)
	}
	do(contractor, chromedp.SetUploadFiles(`#upload-form input[type="file"]`, []string{file}),
		chromedp.Click(`#upload-form button[type="submit"]`))
	if st := uploadDone(t, contractor); st.State != "valid" {
		t.Fatalf("upload: %+v", st)
	}
	submit := func() {
		t.Helper()
		contractor.Navigate(page)
		if resp := contractor.Submit(`#submit-form button[type="submit"]`); resp.Status != http.StatusOK {
			t.Fatalf("submit: status %d", resp.Status)
		}
		if got := contractor.Text("main p.notice"); got != "项目已提交验收。" {
			t.Errorf("notice = %q", got)
		}
	}
	submit()
	contractor.Screenshot("survey-submitted.png")

	// The manager returns it with a reason.
	admin.Navigate(page)
	do(admin, chromedp.Click(`details[data-action="return"] summary`))
	if got := admin.Text(`details[data-action="return"] p`); !strings.Contains(got, "调查机构会看到理由") {
		t.Errorf("return confirmation = %q", got)
	}
	do(admin, chromedp.SendKeys(`details[data-action="return"] textarea[name="reason"]`, "请补充太原市的企业样本"))
	admin.Screenshot("survey-return.png")
	admin.Axe("a submitted project's page, return open")
	if resp := admin.Submit(`details[data-action="return"] button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("return: status %d", resp.Status)
	}
	if got := admin.Text("main p.notice"); got != "项目已退回调查机构。" {
		t.Errorf("notice = %q", got)
	}

	// The contractor reads the reason and submits again.
	contractor.Navigate(page)
	if got := contractor.Text("#state dl"); !strings.Contains(got, "请补充太原市的企业样本") {
		t.Errorf("the contractor's page does not show the reason: %q", got)
	}
	contractor.Screenshot("survey-returned.png")
	contractor.Axe("a returned project's page for its contractor")
	submit()

	// The manager accepts after reading the preview, then locks.
	admin.Navigate(page)
	do(admin, chromedp.Click(`details[data-action="accept"] summary`))
	if got := admin.Text(`details[data-action="accept"] p`); !strings.Contains(got, "市级用户在评价结果发布后看到本市的数值") {
		t.Errorf("accept confirmation = %q", got)
	}
	preview, err := chromedp.Run(admin.Ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(
		Array.from(document.querySelectorAll('details[data-action="accept"] tr[data-region]')).map(function (tr) {
			return [tr.dataset.region + '/' + tr.dataset.indicator, tr.querySelector('td.value').textContent.trim()];
		}))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(preview) == 0 {
		t.Fatal("the acceptance shows no preview")
	}
	admin.Screenshot("survey-accept-preview.png")
	admin.Axe("a submitted project's page, acceptance open")
	if resp := admin.Submit(`details[data-action="accept"] button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("accept: status %d", resp.Status)
	}
	if got := admin.Text("main p.notice"); !strings.Contains(got, "项目已验收") {
		t.Errorf("notice = %q", got)
	}
	f.wantWrittenAsPreviewed(cy.ID, preview)
	do(admin, chromedp.Click(`details[data-action="lock"] summary`))
	admin.Screenshot("survey-lock.png")
	if resp := admin.Submit(`details[data-action="lock"] button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("lock: status %d", resp.Status)
	}
	if got := admin.Text("#state .status"); got != "已锁定" {
		t.Errorf("status = %q, want 已锁定", got)
	}
	if got := admin.Texts("details[data-action] summary"); len(got) != 0 {
		t.Errorf("a locked project still offers %q", got)
	}
	admin.Navigate("/surveys")
	if got := admin.Text(`tr[data-project="` + strings.TrimPrefix(page, "/surveys/") + `"] td.latest`); got != "有效" {
		t.Errorf("latest batch = %q, want 有效", got)
	}
	admin.Screenshot("surveys-list.png")
	admin.Axe("the surveys list")
	admin.WantOwnHost()
	contractor.WantOwnHost()
}
