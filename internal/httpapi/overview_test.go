package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testenv"
)

// TestOverviewPage shows the province overview to the people who may see
// it: a city official only once the cycle's run is published, and then
// the whole ranking; the charts travel as data, never as inline script.
func TestOverviewPage(t *testing.T) {
	f := newFixture(t)
	unpublished := f.scoringCycle()
	f.scoredRunOf(unpublished.ID, false)
	resp, _ := f.do(f.as("city", request("GET", "/cycles/"+unpublished.ID+"/overview", nil)))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a city official opens an unpublished overview: %d", resp.StatusCode)
	}
	if page := string(f.call("admin", "GET", "/cycles/"+unpublished.ID+"/overview", nil, http.StatusOK)); !strings.Contains(page, "未发布") {
		t.Fatalf("the admin's overview of an unpublished run does not say so")
	}

	cy := f.surveyedCycle()
	page := string(f.call("city", "GET", "/cycles/"+cy.ID+"/overview", nil, http.StatusOK))
	for _, want := range []string{`id="chart-map" data-option="{`, `id="chart-ranking" data-option="{`, `/static/vendor/echarts.min.js`, "太原市", "大同市"} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	if strings.Count(page, "<script") != strings.Count(page, "<script src=") {
		t.Errorf("the overview has an inline script")
	}
}

// TestRegionPage shows a region's dashboard to its own city official and
// to admins, and refuses another region's.
func TestRegionPage(t *testing.T) {
	f := newFixture(t)
	cy := f.surveyedCycle()
	page := string(f.call("city", "GET", "/cycles/"+cy.ID+"/regions/140100", nil, http.StatusOK))
	for _, want := range []string{`id="chart-radar" data-option="{`, `id="chart-contributions" data-option="{`, `id="chart-trend" data-option="{`, "评价说明"} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	resp, _ := f.do(f.as("city", request("GET", "/cycles/"+cy.ID+"/regions/140200", nil)))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a city official opens another region's dashboard: %d", resp.StatusCode)
	}
	f.call("admin", "GET", "/cycles/"+cy.ID+"/regions/140200", nil, http.StatusOK)
	resp, _ = f.do(f.as("admin", request("GET", "/cycles/"+cy.ID+"/regions/999999", nil)))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a region not in the run: %d", resp.StatusCode)
	}
}

// TestBrowserOverview opens the province overview in Chromium as a city
// official: every chart draws (its canvas has pixels), the page logs no
// error and asks nothing of any other host.
func TestBrowserOverview(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	cy := f.surveyedCycle()
	base := serveFixture(t, f)
	browser := startBrowser(t, exe)
	tab := newTab(t, browser, base)
	page := "/cycles/" + cy.ID + "/overview"
	tab.navigate(page)
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(tab.ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			errs = append(errs, e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				errs = append(errs, fmt.Sprint(e.Args))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if resp := tab.signIn("city", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("overview after sign-in: status %d", resp.Status)
	}
	tab.wantLocation(page)
	counts := paintedCharts(t, tab)
	tab.screenshot("overview.png")
	if len(counts) != 3 || counts[0] == 0 || counts[1] == 0 || counts[2] == 0 {
		t.Errorf("painted pixels per chart: %v, want three charts drawn", counts)
	}

	// The region's own dashboard draws its charts; another region's is refused.
	tab.navigate("/cycles/" + cy.ID + "/regions/140100")
	counts = paintedCharts(t, tab)
	tab.screenshot("region.png")
	if len(counts) != 3 || counts[0] == 0 || counts[1] == 0 || counts[2] == 0 {
		t.Errorf("dashboard: painted pixels per chart: %v, want three charts drawn", counts)
	}
	resp, err := chromedp.RunResponse(tab.ctx, chromedp.Navigate(tab.base+"/cycles/"+cy.ID+"/regions/140200"))
	if err != nil || resp.Status != http.StatusForbidden {
		t.Errorf("another region's dashboard in the browser: %v, %v", resp, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Errorf("the page logged errors: %v", errs)
	}
}

// paintedCharts waits up to ten seconds for every chart of the page to
// draw and returns the number of painted pixels of each chart's canvas.
func paintedCharts(t *testing.T, tab *tab) []int {
	t.Helper()
	const painted = `Array.from(document.querySelectorAll('[data-option]')).map(function (el) {
		var c = el.querySelector('canvas');
		if (!c) return 0;
		var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
		for (var i = 3; i < d.length; i += 4) if (d[i]) n++;
		return n;
	})`
	deadline := time.Now().Add(10 * time.Second)
	for {
		counts, err := chromedp.Run(tab.ctx, chromedp.Evaluate[[]int](painted))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(counts, 0) && len(counts) > 0 || time.Now().After(deadline) {
			return counts
		}
		time.Sleep(200 * time.Millisecond)
	}
}
