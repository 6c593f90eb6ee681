package httpapi_test

import (
	"fmt"
	"net/http"
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
	// The number of painted pixels of each chart's canvas.
	const painted = `Array.from(document.querySelectorAll('[data-option]')).map(function (el) {
		var c = el.querySelector('canvas');
		if (!c) return 0;
		var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
		for (var i = 3; i < d.length; i += 4) if (d[i]) n++;
		return n;
	})`
	var counts []int
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := chromedp.Run(tab.ctx, chromedp.Evaluate[[]int](painted))
		if err != nil {
			t.Fatal(err)
		}
		counts = got
		if len(counts) == 3 && counts[0] > 0 && counts[1] > 0 && counts[2] > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	tab.screenshot("overview.png")
	if len(counts) != 3 || counts[0] == 0 || counts[1] == 0 || counts[2] == 0 {
		t.Errorf("painted pixels per chart: %v, want three charts drawn", counts)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Errorf("the page logged errors: %v", errs)
	}
}
