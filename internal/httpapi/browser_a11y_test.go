package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/surveys"
)

// TestBrowserA11y runs axe-core on every page each role reaches, in Chinese
// and in English, with data on them: a published cycle with two runs, its
// overview, dashboards and report, a review queue with submitted values,
// survey projects submitted and accepted, the schemes, the users and audit pages, the
// sign-in page, the API reference and the error pages. Any serious or
// critical violation fails the test. Every <details> is opened first, so
// the confirmations are checked too.
func TestBrowserA11y(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	browsertest.RequireAxe(t)
	f := newFixture(t)
	g := f.gradedCycle()
	f.renderReports()
	var project string
	if err := f.db.Model(&surveys.Project{}).Where("cycle_id = ?", g.cycle.ID).Pluck("id", &project).Error; err != nil || project == "" {
		t.Fatalf("the graded cycle's survey project: %q, %v", project, err)
	}
	submitted := f.submittedProject()
	review, _ := f.reviewValues(map[string]map[string]float64{"140100": {"A2": 4, "A3": 2}, "140200": {"A2": 12}})
	scoring := f.scoringCycle()
	from, to := f.storedScheme(), f.storedScheme()
	published, draft := "/cycles/"+g.cycle.ID, "/cycles/"+review

	roles := []struct {
		who   string
		paths []string
	}{
		{"", []string{"/login", "/docs"}},
		{"admin", []string{
			"/", "/cycles", published, draft, "/cycles/" + scoring.ID,
			draft + "/collect", draft + "/collect?region=140100", draft + "/review",
			published + "/runs", "/cycles/" + scoring.ID + "/runs",
			published + "/diff?from=" + g.first + "&to=" + g.last,
			published + "/overview", published + "/regions/140100", published + "/regions/140200",
			published + "/report", published + "/regions/140100/report",
			"/surveys", "/surveys/" + project, "/surveys/" + submitted,
			"/schemes", "/schemes/" + from.ID, "/schemes/" + from.ID + "/diff?to=" + to.ID,
			"/cycles/no-such-cycle", "/docs",
		}},
		{"secadmin", []string{"/", "/users", "/cycles"}},
		{"auditor", []string{"/", "/audit"}},
		{"city", []string{"/", draft + "/collect", published + "/overview", published + "/regions/140100", published + "/regions/140100/report"}},
		{"contractor", []string{"/", "/surveys", "/surveys/" + project}},
	}
	// The error pages: a cycle that does not exist, a page of another role.
	wantStatus := map[string]int{"/cycles/no-such-cycle": http.StatusNotFound, "secadmin /cycles": http.StatusForbidden}
	base := serveFixture(t, f)
	for _, role := range roles {
		name := role.who
		if name == "" {
			name = "anonymous"
		}
		for _, lang := range []string{"zh", "en"} {
			// A browser for at most six pages, well within
			// browsertest.Timeout on a busy machine.
			for first := 0; first < len(role.paths); first += 6 {
				paths := role.paths[first:min(first+6, len(role.paths))]
				t.Run(fmt.Sprintf("%s/%s/%d", name, lang, first/6), func(t *testing.T) {
					tab := browsertest.NewTab(t, browsertest.Start(t, exe), base)
					tab.Navigate("/login?lang=" + lang)
					if role.who != "" {
						if resp := tab.SignIn(role.who, fixturePassword); resp.Status != http.StatusOK {
							t.Fatalf("sign in as %s: status %d", role.who, resp.Status)
						}
					}
					for _, path := range paths {
						want, ok := wantStatus[path]
						if !ok {
							want, ok = wantStatus[role.who+" "+path]
						}
						if !ok {
							want = http.StatusOK
						}
						if resp := tab.Navigate(path); int(resp.Status) != want {
							t.Errorf("%s: status %d, want %d", path, resp.Status, want)
						}
						settle(tab)
						tab.Axe(path)
						if t.Failed() {
							tab.Screenshot(strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "_").Replace(lang+"_"+name+path) + ".png")
						}
					}
				})
			}
		}
	}
}

// settle waits for the page's charts to draw, when it has any, and opens
// every <details> so that what they fold away is checked too.
func settle(tab *browsertest.Tab) {
	tab.T.Helper()
	charts, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-option]').length`))
	if err != nil {
		tab.T.Fatalf("count charts: %v", err)
	}
	if charts > 0 {
		tab.PaintedCharts()
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(function (d) { d.open = true; })`)); err != nil {
		tab.T.Fatalf("open the details: %v", err)
	}
}
