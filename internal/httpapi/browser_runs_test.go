package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/jobs"
)

// TestBrowserRuns is the manager's evaluation in Chromium: from the
// cycle's home to its runs page, settings refused by field, a run started
// and followed, run (the test does the worker's part), listed, and
// published through the confirmation. Screenshots with -artifacts.
func TestBrowserRuns(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	cy := f.scoringCycle()
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/cycles/" + cy.ID)
	if resp := tab.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("cycle home after sign-in: status %d", resp.Status)
	}
	if resp := tab.Submit(`#runs-link`); resp.Status != http.StatusOK {
		t.Fatalf("runs page: status %d", resp.Status)
	}
	tab.WantLocation("/cycles/" + cy.ID + "/runs")
	tab.Screenshot("runs-empty.png")

	if err := chromedp.Do(tab.Ctx, chromedp.SetValue(`#start-run input[name="draws"]`, "-1")); err != nil {
		t.Fatal(err)
	}
	if resp := tab.Submit(`#start-run button[type="submit"]`); resp.Status != http.StatusBadRequest {
		t.Fatalf("bad draws: status %d, want 400", resp.Status)
	}
	if got := tab.Text("table.problems"); !strings.Contains(got, "抽样次数须在 0 至") {
		t.Errorf("problems = %q, want the draws' range", got)
	}
	tab.Screenshot("runs-refused.png")

	if err := chromedp.Do(tab.Ctx, chromedp.SetValue(`#start-run input[name="draws"]`, "30")); err != nil {
		t.Fatal(err)
	}
	if resp := tab.Submit(`#start-run button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("start: status %d", resp.Status)
	}
	if got := tab.Text("#run-job p[role=status]"); !strings.Contains(got, "评价已排队") {
		t.Errorf("job status = %q, want queued", got)
	}
	tab.Screenshot("runs-queued.png")

	// The worker's part: run the queued job and mark it done.
	var job jobs.Job
	if err := f.db.Where("kind = ? AND payload LIKE ?", evaluation.JobKind, "%"+cy.ID+"%").Take(&job).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := f.runs.Handler()(context.Background(), job, func(int, string) {}); err != nil {
		t.Fatal(err)
	}
	f.finishRunJobs(cy.ID)

	tab.Navigate("/cycles/" + cy.ID + "/runs")
	if got := tab.Texts("table.runs tbody tr"); len(got) != 1 {
		t.Fatalf("runs listed = %q, want one", got)
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Click(`details.publish summary`)); err != nil {
		t.Fatal(err)
	}
	if got := tab.Text(`details.publish p`); !strings.Contains(got, "各市级用户可以看到本市的评价结果") {
		t.Errorf("confirmation = %q", got)
	}
	tab.Screenshot("runs-confirm.png")
	if resp := tab.Submit(`details.publish button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("publish: status %d", resp.Status)
	}
	if got := tab.Text("main p.notice"); got != "评价结果已发布。" {
		t.Errorf("notice = %q", got)
	}
	if got := tab.Text("#cycle-status"); got != "已发布" {
		t.Errorf("status = %q, want 已发布", got)
	}
	if got, _ := f.cycles.Get(context.Background(), cy.ID); got.Status != cycles.Published {
		t.Errorf("the cycle is %s, want published", got.Status)
	}
	tab.Screenshot("runs-published.png")
	tab.WantOwnHost()
}
