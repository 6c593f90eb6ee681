package httpapi_test

import (
	"context"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
)

// reportedCycle returns the surveyed cycle (published) with its report
// rendered.
func (f *fixture) reportedCycle() cycles.Cycle {
	f.t.Helper()
	cy := f.surveyedCycle()
	f.renderReports()
	return cy
}

// renderReports runs every queued render job in the test, as a worker
// would, and returns how many there were.
func (f *fixture) renderReports() int {
	f.t.Helper()
	var js []jobs.Job
	if err := f.db.Where("kind = ? AND status = ?", reports.JobKind, jobs.StatusQueued).Order("created_at").Find(&js).Error; err != nil {
		f.t.Fatal(err)
	}
	for _, j := range js {
		out, err := f.reports.Handler()(context.Background(), j, func(int, string) {})
		if err != nil {
			f.t.Fatalf("render job %s: %v", j.ID, err)
		}
		if err := f.db.Model(&jobs.Job{}).Where("id = ?", j.ID).
			Updates(map[string]any{"status": jobs.StatusSucceeded, "result": out, "progress": 100}).Error; err != nil {
			f.t.Fatal(err)
		}
	}
	return len(js)
}

// fullCycle returns a published cycle in which the three regions reported
// every value, verified — 太原市 strongest but without funding, so rule R1
// caps its grade — with its report rendered.
func (f *fixture) fullCycle() cycles.Cycle {
	f.t.Helper()
	cy := f.collectingCycle()
	f.verifiedValues(cy.ID)
	f.publish(cy.ID)
	f.renderReports()
	return cy
}

// verifiedValues stores, verified, every value of the default scheme's
// indicators for the three regions of a collecting cycle: 太原市 strongest
// but without funding, 大同市 weakest.
func (f *fixture) verifiedValues(cycleID string) {
	f.t.Helper()
	now := time.Now().UTC()
	for i, r := range []struct {
		code     string
		strength float64
	}{{"140100", 0.97}, {"140200", 0.45}, {"149900", 0.75}} {
		for j, ind := range scheme.Default().Indicators {
			s := math.Max(0, math.Min(1, r.strength+0.1*math.Sin(float64(5*i+3*j))))
			x := 1 + 30*s
			switch n := ind.Normalisation; {
			case n.Method == scheme.MethodBinary:
				x = math.Round(s)
			case ind.Code == "F1":
				x = 100 * float64(i)
			case n.Lower != nil && n.Upper != nil:
				x = *n.Lower + (*n.Upper-*n.Lower)*s
			}
			if ind.Integer {
				x = math.Round(x)
			}
			if err := f.db.Create(&indicators.Value{ID: f.uniqueName("v-"), CycleID: cycleID, RegionCode: r.code, IndicatorCode: ind.Code,
				Number: &x, Status: indicators.StatusVerified, Version: 1, UpdatedBy: "u-admin", UpdatedAt: now, CreatedAt: now}).Error; err != nil {
				f.t.Fatal(err)
			}
		}
	}
}

// publishedRun is the published run of a cycle.
func (f *fixture) publishedRun(cycleID string) evaluation.Run {
	f.t.Helper()
	manager := auth.Principal{UserID: f.accounts["admin"].user.ID, Role: auth.RoleAdmin}
	list, err := f.runs.List(context.Background(), manager, cycleID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range list {
		if r.PublishedAt != nil {
			return r
		}
	}
	f.t.Fatalf("cycle %s has no published run", cycleID)
	return evaluation.Run{}
}

// renderJobs counts the render jobs of a run with the given status.
func (f *fixture) renderJobs(runID string, status jobs.Status) int {
	f.t.Helper()
	var js []jobs.Job
	if err := f.db.Where("kind = ? AND status = ?", reports.JobKind, status).Find(&js).Error; err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, j := range js {
		if strings.Contains(j.Payload, runID) {
			n++
		}
	}
	return n
}

// page fetches a page as who and checks its status and that it is HTML
// under the pages' security headers.
func (f *fixture) page(who, path string, status int) string {
	f.t.Helper()
	resp, body := f.do(f.as(who, request("GET", path, nil)))
	if resp.StatusCode != status {
		f.t.Fatalf("GET %s as %s: status %d, want %d: %.300s", path, who, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		f.t.Fatalf("GET %s as %s: Content-Type %q, want HTML", path, who, ct)
	}
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			f.t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
		}
	}
	return string(body)
}

// TestReportPages serves the business-environment report: the render
// queued by publication, a page that says it is being prepared until the
// job has run, the province report for admins, a region's edition for its
// city official, and the refusals.
func TestReportPages(t *testing.T) {
	f := newFixture(t)

	t.Run("a cycle without a published run", func(t *testing.T) {
		f.t = t
		cy := f.sharedCycle()
		body := f.page("admin", "/cycles/"+cy.ID+"/report", http.StatusNotFound)
		if !strings.Contains(body, "该考核周期尚无已发布的评价结果，暂无评价报告") {
			t.Errorf("the 404 page does not say why: %.500s", body)
		}
		body = f.page("admin", "/cycles/"+cy.ID+"/report?lang=en", http.StatusNotFound)
		if !strings.Contains(body, "the cycle has no published results yet, so it has no report") {
			t.Errorf("the English 404 page does not say why")
		}
		f.page("city", "/cycles/"+cy.ID+"/regions/140100/report", http.StatusNotFound)
	})

	cy := f.surveyedCycle()
	run := f.publishedRun(cy.ID)
	province := "/cycles/" + cy.ID + "/report"
	own := "/cycles/" + cy.ID + "/regions/140100/report"

	t.Run("published, not rendered yet", func(t *testing.T) {
		f.t = t
		if n := f.renderJobs(run.ID, jobs.StatusQueued); n != 1 {
			t.Fatalf("publication queued %d render jobs, want 1", n)
		}
		resp, body := f.do(f.as("admin", request("GET", province, nil)))
		if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Refresh") == "" || !strings.Contains(string(body), "评价报告正在生成") {
			t.Fatalf("before rendering: status %d, Refresh %q: %.300s", resp.StatusCode, resp.Header.Get("Refresh"), body)
		}
		f.page("city", own, http.StatusAccepted)
		if n := f.renderJobs(run.ID, jobs.StatusQueued); n != 1 {
			t.Fatalf("opening the pages queued more jobs: %d queued", n)
		}
		// A render that failed is not queued again by readers reloading
		// the page: they are told, and an admin renders it again.
		if err := f.db.Model(&jobs.Job{}).Where("kind = ?", reports.JobKind).Update("status", jobs.StatusFailed).Error; err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ who, path, want string }{
			{"city", own, "省级管理员可通过 POST /api/v1/runs/" + run.ID + "/report 重新生成"},
			{"city", own + "?lang=en", "a provincial manager can render it again with POST /api/v1/runs/" + run.ID + "/report"},
			{"admin", province, "报告未能生成"},
		} {
			resp, body := f.do(f.as(c.who, request("GET", c.path, nil)))
			if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Refresh") != "" || !strings.Contains(string(body), c.want) {
				t.Fatalf("GET %s as %s after a failed render: status %d, Refresh %q: %.500s", c.path, c.who, resp.StatusCode, resp.Header.Get("Refresh"), body)
			}
		}
		if n := f.renderJobs(run.ID, jobs.StatusQueued); n != 0 {
			t.Fatalf("reloading after a failed render queued %d jobs", n)
		}
		resp, b := f.do(f.as("city", request("POST", "/api/v1/runs/"+run.ID+"/report", nil)))
		wantProblem(t, resp, b, http.StatusForbidden)
		f.call("admin", "POST", "/api/v1/runs/"+run.ID+"/report", nil, http.StatusAccepted)
		f.page("city", own, http.StatusAccepted)
		if n := f.renderJobs(run.ID, jobs.StatusQueued); n != 1 {
			t.Fatalf("after the admin asked again, %d jobs queued, want 1", n)
		}
		if n := f.renderReports(); n != 1 {
			t.Fatalf("%d jobs rendered", n)
		}
	})

	t.Run("the admin's province report", func(t *testing.T) {
		f.t = t
		body := f.page("admin", province, http.StatusOK)
		for _, code := range []string{"140100", "140200", "149900"} {
			if !strings.Contains(body, `id="region-`+code+`"`) {
				t.Errorf("the province report lacks the page of %s", code)
			}
		}
		if !strings.Contains(body, "知识产权营商环境评价报告") || !strings.Contains(body, `<link rel="stylesheet" href="/static/report.css">`) {
			t.Error("not the report")
		}
		css := f.call("anonymous", "GET", "/static/report.css", nil, http.StatusOK)
		if !strings.Contains(string(css), "@page { size: A4;") {
			t.Error("the print style sheet is not served")
		}
		f.page("admin", "/cycles/"+cy.ID+"/regions/140200/report", http.StatusOK)
	})

	t.Run("a city official's own region", func(t *testing.T) {
		f.t = t
		body := f.page("city", own, http.StatusOK)
		if !strings.Contains(body, `id="region-140100"`) || strings.Contains(body, `id="region-140200"`) || strings.Contains(body, `id="region-149900"`) {
			t.Error("the city official's edition holds other regions' pages, or not its own")
		}
		if !strings.Contains(body, "二、排名与等次") || !strings.Contains(body, "<td>大同市</td>") {
			t.Error("the edition lacks the province ranking")
		}
		// The overview links each reader to the report they may read.
		if o := f.page("city", "/cycles/"+cy.ID+"/overview", http.StatusOK); !strings.Contains(o, `href="`+own+`"`) {
			t.Error("the city official's overview does not link to their region's report")
		}
		if o := f.page("admin", "/cycles/"+cy.ID+"/overview", http.StatusOK); !strings.Contains(o, `href="`+province+`"`) {
			t.Error("the admin's overview does not link to the province report")
		}
	})

	t.Run("refusals", func(t *testing.T) {
		f.t = t
		body := f.page("city", "/cycles/"+cy.ID+"/regions/140200/report", http.StatusForbidden)
		if !strings.Contains(body, "只能查看本地区的评价报告") {
			t.Errorf("another region's report: %.300s", body)
		}
		body = f.page("city", province, http.StatusForbidden)
		if !strings.Contains(body, "/cycles/"+cy.ID+"/regions/140100/report") {
			t.Errorf("the province report refused to a city official without pointing at their own: %.500s", body)
		}
		f.page("contractor", province, http.StatusForbidden)
		f.page("contractor", own, http.StatusForbidden)
		f.page("admin", "/cycles/"+cy.ID+"/regions/999999/report", http.StatusNotFound)
		f.page("admin", province+"?run=no-such-run", http.StatusNotFound)
		// A run is read under its own cycle only.
		other := f.sharedCycle()
		f.page("admin", "/cycles/"+other.ID+"/report?run="+run.ID, http.StatusNotFound)
		f.page("city", "/cycles/"+other.ID+"/regions/140100/report?run="+run.ID, http.StatusNotFound)
	})

	t.Run("a draft report of an unpublished run", func(t *testing.T) {
		f.t = t
		draftRun := f.scoredRun(false)
		var c struct{ CycleID string }
		if err := f.db.Table("runs").Select("cycle_id").Where("id = ?", draftRun).Take(&c).Error; err != nil {
			t.Fatal(err)
		}
		// Without ?run the report is the published run's, for admins too.
		if body := f.page("admin", "/cycles/"+c.CycleID+"/report", http.StatusNotFound); !strings.Contains(body, "暂无评价报告") {
			t.Errorf("an admin's report of a cycle with a draft run only: %.300s", body)
		}
		path := "/cycles/" + c.CycleID + "/report?run=" + draftRun
		if body := f.page("admin", path, http.StatusNotFound); !strings.Contains(body, "尚未生成报告") {
			t.Errorf("an unpublished run without a report: %.300s", body)
		}
		resp, b := f.do(f.as("city", request("POST", "/api/v1/runs/"+draftRun+"/report", nil)))
		wantProblem(t, resp, b, http.StatusForbidden)
		job := decode[jobs.Job](t, f.call("admin", "POST", "/api/v1/runs/"+draftRun+"/report", nil, http.StatusAccepted))
		if job.Kind != reports.JobKind || job.Status != jobs.StatusQueued {
			t.Fatalf("job %+v", job)
		}
		f.call("admin", "POST", "/api/v1/runs/no-such-run/report", nil, http.StatusNotFound)
		f.renderReports()
		if body := f.page("admin", path, http.StatusOK); !strings.Contains(body, "未发布（草稿）") {
			t.Error("the draft report does not say it is a draft")
		}
		f.page("city", "/cycles/"+c.CycleID+"/regions/140100/report?run="+draftRun, http.StatusNotFound)
	})
}

// TestBrowserReport opens the report in Chromium: as an admin the province
// report, whose map and charts paint, which logs no error, loads nothing
// from another host and prints to A4 pages, at least one per region and
// two more; as a city official their region's edition, and not another's.
func TestBrowserReport(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	cy := f.fullCycle()
	regions := len(f.publishedRunRegions(cy.ID))
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	tab := browsertest.NewTab(t, browser, base)
	path := "/cycles/" + cy.ID + "/report"
	tab.Navigate(path)
	if resp := tab.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("report after sign-in: status %d", resp.Status)
	}
	tab.WantLocation(path)
	counts := tab.PaintedCharts()
	tab.Screenshot("report.png")
	// The map, the grade distribution and one radar per region.
	if len(counts) != 2+regions {
		t.Errorf("%d charts, want %d", len(counts), 2+regions)
	}
	for i, n := range counts {
		if n == 0 {
			t.Errorf("chart %d did not paint", i)
		}
	}
	pdf, err := chromedp.Run(tab.Ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPrintBackground(),
		func(p *page.PrintToPDFParams) { p.PreferCSSPageSize = new(true) }))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
	if pages < regions+2 {
		t.Errorf("the printed report has %d pages, want at least %d (regions + 2)", pages, regions+2)
	}
	if !regexp.MustCompile(`/MediaBox \[0 0 59[45](\.\d+)? 84[12](\.\d+)?\]`).Match(pdf) {
		t.Error("the printed pages are not A4 (595 × 842 pt)")
	}
	file := filepath.Join(t.ArtifactDir(), "report.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %d pages, %s", pages, file)
	tab.WantOwnHost()

	city := browsertest.NewTab(t, browser, base)
	own := "/cycles/" + cy.ID + "/regions/140100/report"
	city.Navigate(own)
	if resp := city.SignIn("city", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("region report after sign-in: status %d", resp.Status)
	}
	if counts := city.PaintedCharts(); len(counts) != 3 || counts[0] == 0 || counts[2] == 0 {
		t.Errorf("the region's edition painted %v, want the map, the grades and its radar", counts)
	}
	city.Screenshot("report-region.png")
	if resp := city.Navigate("/cycles/" + cy.ID + "/regions/140200/report"); resp.Status != http.StatusForbidden {
		t.Errorf("another region's report in the browser: status %d, want 403", resp.Status)
	}
}

// publishedRunRegions lists the region codes of a cycle's published run.
func (f *fixture) publishedRunRegions(cycleID string) []string {
	f.t.Helper()
	manager := auth.Principal{UserID: f.accounts["admin"].user.ID, Role: auth.RoleAdmin}
	_, res, err := f.runs.Get(context.Background(), manager, f.publishedRun(cycleID).ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range res.Regions {
		out = append(out, r.Code)
	}
	return out
}
