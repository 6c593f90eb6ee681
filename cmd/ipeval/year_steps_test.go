package main

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
)

// The steps of TestBrowserYear, in the order of the README's walk-through.
// Each step uses only what a user does in a page: navigate, follow links,
// fill in and send forms.

const (
	organisation = "山西省知识产权公共服务满意度调查中心"
	returnReason = "网点数与名录不符，请核实"
	jobWait      = 3 * time.Minute
)

var cyclePath = regexp.MustCompile(`^/(cycles|surveys)/([^/?]+)`)

// idOf is the id in the tab's address, /cycles/ID or /surveys/ID.
func idOf(tab *browsertest.Tab) string {
	tab.T.Helper()
	m := cyclePath.FindStringSubmatch(tab.Location())
	if m == nil {
		tab.T.Fatalf("at %s, want a cycle's or survey's page", tab.Location())
	}
	return m[2]
}

// optionValue is the value of the option of select sel whose text
// contains text.
func optionValue(tab *browsertest.Tab, sel, text string) string {
	tab.T.Helper()
	js := fmt.Sprintf(`(function () {
		var o = Array.from(document.querySelectorAll(%q)).find(function (o) { return o.textContent.indexOf(%q) >= 0; });
		return o ? o.value : "";
	})()`, sel+" option", text)
	v, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](js))
	if err != nil || v == "" {
		tab.T.Fatalf("no option %q in %s: %v", text, sel, err)
	}
	return v
}

// attr is the attribute of the first element matching sel.
func attr(tab *browsertest.Tab, sel, name string) string {
	tab.T.Helper()
	js := fmt.Sprintf(`(function () { var e = document.querySelector(%q); return e ? (e.getAttribute(%q) || "") : ""; })()`, sel, name)
	v, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](js))
	if err != nil {
		tab.T.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return v
}

// menu follows the header's navigation link to href, as a user finds a
// section of the workbench.
func menu(tab *browsertest.Tab, href string) {
	tab.T.Helper()
	submitOK(tab, fmt.Sprintf(`header nav a[href=%q]`, href))
	tab.WantLocation(href)
}

// importRegions: the manager imports Shanxi's regions from a CSV file on
// the regions page (地区).
func (y *year) importRegions() {
	tab := y.admin
	menu(tab, "/regions")
	attach(tab, `#import-regions input[name="file"]`, y.files["regions"])
	submitOK(tab, `#import-regions button[type="submit"]`)
	if loc := tab.Location(); !strings.HasPrefix(loc, "/regions?notice=imported") {
		y.t.Errorf("after the import: at %s, want /regions?notice=imported", loc)
	}
	main := text(tab, "main")
	for _, city := range []string{"太原市", "大同市", "运城市", "吕梁市"} {
		if !strings.Contains(main, city) {
			y.t.Errorf("the regions page lacks %s after the import", city)
		}
	}
	shot(tab, "01-regions-imported.png", true)
}

// createAccounts: the security administrator creates the contractor's
// organisation, then the city official of 太原市 and the contractor's
// user, each password shown once.
func (y *year) createAccounts() {
	tab := y.secadmin
	menu(tab, "/organisations")
	fill(tab, [2]string{`#create-organisation input[name="name"]`, organisation})
	if kind := `#create-organisation select[name="kind"]`; has(tab, kind) {
		fill(tab, [2]string{kind, "contractor"})
	}
	submitOK(tab, `#create-organisation button[type="submit"]`)
	if !strings.Contains(text(tab, "main"), organisation) {
		y.t.Errorf("the organisations page does not list %s", organisation)
	}
	shot(tab, "02-organisation-created.png", true)

	y.cityPassword = y.createUser("taiyuan", "太原市知识产权局", "city", "140100", "", "03-city-user-created.png")
	y.contractorPassword = y.createUser("survey", "调查中心", "contractor", "", organisation, "04-contractor-user-created.png")
}

// createUser fills in the users page's form and returns the password it
// shows once.
func (y *year) createUser(username, display, role, region, org, screenshot string) string {
	tab := y.secadmin
	menu(tab, "/users")
	fields := [][2]string{
		{`#create-user input[name="username"]`, username},
		{`#create-user input[name="display_name"]`, display},
		{`#create-user select[name="role"]`, role},
	}
	if region != "" {
		fields = append(fields, [2]string{`#create-user select[name="region_code"]`, region})
	}
	if org != "" {
		fields = append(fields, [2]string{`#create-user select[name="organisation_id"]`,
			optionValue(tab, `#create-user select[name="organisation_id"]`, org)})
	}
	fill(tab, fields...)
	submitOK(tab, `#create-user button[type="submit"]`, 201)
	pw := text(tab, "#new-password")
	if len(pw) < 12 {
		y.t.Fatalf("new password of %s shown as %q", username, pw)
	}
	shot(tab, screenshot, true)
	return pw
}

// addDefaultScheme: the manager stores the built-in default scheme on
// the schemes page (评价方案) and reads it as the office's 细则 table.
func (y *year) addDefaultScheme() {
	tab := y.admin
	menu(tab, "/schemes")
	shot(tab, "05-schemes.png", true)
	submitOK(tab, `#add-default-scheme button[type="submit"]`)
	if strings.HasPrefix(tab.Location(), "/schemes?") {
		submitOK(tab, `main a[href^="/schemes/"]:not([href*="/download"]):not([href*="/diff"])`)
	}
	if !strings.HasPrefix(tab.Location(), "/schemes/") || !strings.Contains(text(tab, "main"), "shanxi-ipps") {
		y.t.Errorf("after adding the default scheme: at %s, want its page", tab.Location())
	}
	if !has(tab, "a#download-scheme") {
		y.t.Errorf("the scheme's page offers no download")
	}
	shot(tab, "06-scheme-rules.png", true)
}

// createCycle: the manager creates the year's cycle with the default
// scheme on the cycles page (考核周期).
func (y *year) createCycle() {
	tab := y.admin
	menu(tab, "/cycles")
	tab.Axe("the cycles page")
	fill(tab,
		[2]string{`#create-cycle input[name="year"]`, strconv.Itoa(yearOf)},
		[2]string{`#create-cycle input[name="name"]`, fmt.Sprintf("%d年度知识产权公共服务考核", yearOf)},
		[2]string{`#create-cycle select[name="scheme_id"]`, optionValue(tab, `#create-cycle select[name="scheme_id"]`, "shanxi-ipps")})
	submitOK(tab, `#create-cycle button[type="submit"]`)
	y.cycle = idOf(tab)
	wantNotice(tab, "考核周期已创建（草稿）。")
	if got := text(tab, `tr[data-line="cycles.line.scheme"] td.now`); !strings.Contains(got, "shanxi-ipps") {
		y.t.Errorf("the checklist's scheme line is %q", got)
	}
	shot(tab, "07-cycle-created.png", true)
}

// openCollection: the cycle's home opens collection until a date.
func (y *year) openCollection() {
	y.transition("collecting", "08-collection-open.png", "数据采集中")
}

// transition changes the cycle's state through the confirmation on its
// home, giving a deadline where the form asks for one.
func (y *year) transition(to, screenshot, status string) {
	tab := y.admin
	tab.Navigate("/cycles/" + y.cycle)
	details := fmt.Sprintf(`details[data-to=%q]`, to)
	click(tab, details+" summary")
	until := ""
	if deadline := details + ` input[name="deadline"]`; to == "collecting" {
		until = time.Now().AddDate(0, 3, 0).Format("2006-01-02")
		fill(tab, [2]string{deadline, until})
	}
	submitOK(tab, details+` button[type="submit"]`)
	if got := text(tab, "#cycle-status"); got != status {
		y.t.Errorf("after moving to %s the cycle is %q, want %q", to, got, status)
	}
	if got := text(tab, `tr[data-line="cycles.line.collection"] td.now`); until != "" && !strings.Contains(got, "开放至 "+until) {
		y.t.Errorf("the checklist's collection line is %q, want open until %s", got, until)
	}
	shot(tab, screenshot, true)
}

// commissionSurvey: the manager commissions the satisfaction survey from
// the contractor on the surveys page (满意度调查).
func (y *year) commissionSurvey() {
	tab := y.admin
	menu(tab, "/surveys")
	tab.Axe("the surveys page")
	form := "#commission-survey "
	fill(tab,
		[2]string{form + `select[name="cycle_id"]`, y.cycle},
		[2]string{form + `select[name="organisation_id"]`, optionValue(tab, form+`select[name="organisation_id"]`, organisation)},
		[2]string{form + `input[name="name"]`, fmt.Sprintf("%d年度知识产权公共服务社会满意度调查", yearOf)},
		[2]string{form + `input[name="fieldwork_start"]`, fmt.Sprintf("%d-09-01", yearOf)},
		[2]string{form + `input[name="fieldwork_end"]`, fmt.Sprintf("%d-10-31", yearOf)})
	submitOK(tab, form+`button[type="submit"]`)
	y.survey = idOf(tab)
	if loc := tab.Location(); !strings.HasSuffix(loc, "?notice=created") {
		y.t.Errorf("after commissioning: at %s", loc)
	}
	shot(tab, "09-survey-commissioned.png", true)
}

// cityEnters: the city official opens the year's 数据填报 page from their
// home, attaches the funding document and enters and submits every value.
func (y *year) cityEnters() {
	tab := y.city
	tab.Navigate("/")
	submitOK(tab, fmt.Sprintf(`a[href="/cycles/%s/collect"]`, y.cycle))
	fill(tab, [2]string{`#evidence select[name="indicator_code"]`, "F1"})
	attach(tab, `#evidence input[name="file"]`, y.files["evidence"])
	submitOK(tab, `#evidence button[type="submit"]`, 201)
	wantNotice(tab, "已上传佐证材料：")
	shot(tab, "10-city-evidence.png", false)

	y.values = map[string]string{}
	for code, v := range cityValues() {
		sel := fmt.Sprintf(`#values [name="v.%s"]`, code)
		if has(tab, sel) {
			fill(tab, [2]string{sel, v})
			y.values[code] = v
		}
	}
	if y.values[returnCode] == "" || y.values[changeCode] == "" {
		y.t.Fatalf("the values form lacks %s or %s: %v", returnCode, changeCode, y.values)
	}
	click(tab, `#values input[name="submit"]`)
	submitOK(tab, `#values button[type="submit"]`)
	wantNotice(tab, fmt.Sprintf("已保存 %d 项，提交审核 %d 项。", len(y.values), len(y.values)))
	if got := text(tab, fmt.Sprintf(`tr[data-code=%q] td.state`, returnCode)); got != "已提交" {
		y.t.Errorf("%s is %q after submitting, want 已提交", returnCode, got)
	}
	shot(tab, "11-city-submitted.png", false)
}

// contractorUploads: the contractor uploads the answers on the project's
// page, follows the live progress until the batch is read, and submits
// the project for acceptance.
func (y *year) contractorUploads() {
	tab := y.contractor
	menu(tab, "/surveys")
	submitOK(tab, fmt.Sprintf(`a[href="/surveys/%s"]`, y.survey))
	attach(tab, `#upload-form input[name="file"]`, y.files["survey"])
	// The page's script sends the form itself and swaps in the batch.
	click(tab, `#upload-form button[type="submit"]`)
	deadline := time.Now().Add(jobWait)
	for !has(tab, `#batches tr[data-status="valid"]`) {
		if time.Now().After(deadline) || has(tab, `#batches tr[data-status="invalid"], #batches tr[data-status="failed"]`) {
			tab.Screenshot("timeout.png")
			y.t.Fatalf("the survey batch was not read as valid: %q", text(tab, "#batches"))
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got := text(tab, `#quality tr[data-region="140100"] td.index`); got == "" {
		y.t.Errorf("太原市 has no satisfaction index after the upload")
	}
	shot(tab, "12-survey-uploaded.png", false)
	tab.Navigate("/surveys/" + y.survey)
	submitOK(tab, `#submit-form button[type="submit"]`)
	wantNotice(tab, "项目已提交验收。")
	shot(tab, "13-survey-submitted.png", false)
}

// reviewReturnsOne: the manager returns one of 太原市's values from the
// review queue (审核), with a reason.
func (y *year) reviewReturnsOne() {
	tab := y.admin
	tab.Navigate("/cycles/" + y.cycle + "/collect")
	tab.Axe("the collection page")
	submitOK(tab, "#review-link")
	row := fmt.Sprintf(`tr[data-region="140100"][data-code=%q] `, returnCode)
	if err := chromedp.Do(tab.Ctx, chromedp.SendKeys(row+`textarea[name="comment"]`, returnReason)); err != nil {
		y.t.Fatalf("type the reason: %v", err)
	}
	submitOK(tab, row+`form[action$="/return"] button`)
	wantNotice(tab, "已退回 1 项")
	shot(tab, "14-review-returned.png", true)
}

// cityCorrects: the city official sees the returned value with the
// manager's reason, corrects it and submits it again.
func (y *year) cityCorrects() {
	tab := y.city
	tab.Navigate("/cycles/" + y.cycle + "/collect")
	row := fmt.Sprintf(`tr[data-code=%q]`, returnCode)
	if got := text(tab, row+" td.state"); got != "已退回" {
		y.t.Errorf("the city sees %s as %q, want 已退回", returnCode, got)
	}
	if got := text(tab, row); !strings.Contains(got, returnReason) {
		y.t.Errorf("the city sees %s as %q, without the reason %q", returnCode, got, returnReason)
	}
	shot(tab, "15-city-sees-return.png", false)
	y.returnedValue = scaled(y.t, y.values[returnCode], 0.9)
	fill(tab, [2]string{fmt.Sprintf(`#values [name="v.%s"]`, returnCode), y.returnedValue})
	click(tab, `#values input[name="submit"]`)
	submitOK(tab, `#values button[type="submit"]`)
	wantNotice(tab, "已保存 1 项，提交审核 1 项。")
	shot(tab, "16-city-corrected.png", false)
}

// scaled is v times f, rounded to a whole number.
func scaled(t interface{ Fatalf(string, ...any) }, v string, f float64) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("value %q: %v", v, err)
	}
	return strconv.FormatFloat(math.Round(x*f), 'f', -1, 64)
}

// verifyRegion: the manager verifies the rest of 太原市's values at once
// from the review queue, where a value entered again after a return
// (returned, unless empty) says so beside it, with the return's reason.
func (y *year) verifyRegion(screenshot, returned string) {
	tab := y.admin
	tab.Navigate("/cycles/" + y.cycle + "/review")
	if returned != "" {
		row := fmt.Sprintf(`tr[data-region="140100"][data-code=%q] `, returned)
		if got := text(tab, row+"li.hint-after_return"); !strings.Contains(got, returnReason) {
			y.t.Errorf("the review hint of the corrected %s is %q, want the return's reason", returned, got)
		}
		if got := text(tab, row+"td:nth-child(3)"); !strings.Contains(got, y.returnedValue) {
			y.t.Errorf("the queue shows the corrected %s as %q, want %s", returned, got, y.returnedValue)
		}
	}
	fill(tab, [2]string{`#bulk select[name="region_code"]`, "140100"})
	click(tab, `#bulk input[name="confirm"]`)
	submitOK(tab, `#bulk button[type="submit"]`)
	wantNotice(tab, "已批量审核通过")
	shot(tab, screenshot, true)
}

// acceptSurvey: the manager reads the indices the survey will write as D1
// values and accepts it.
func (y *year) acceptSurvey() {
	tab := y.admin
	tab.Navigate("/surveys/" + y.survey)
	click(tab, `details[data-action="accept"] summary`)
	if got := text(tab, `details[data-action="accept"]`); !strings.Contains(got, "D1") || !strings.Contains(got, "太原市") {
		y.t.Errorf("the acceptance preview is %q, want each region's D1", got)
	}
	shot(tab, "18-survey-accept.png", true)
	submitOK(tab, `details[data-action="accept"] button[type="submit"]`)
	if loc := tab.Location(); !strings.Contains(loc, "notice=") {
		y.t.Errorf("after accepting: at %s, want a notice", loc)
	}
	shot(tab, "19-survey-accepted.png", true)
}

// run starts an evaluation on the runs page (评价运行), follows it until
// the n-th run is listed, and returns its id.
func (y *year) run(n int, screenshot string) string {
	tab := y.admin
	tab.Navigate("/cycles/" + y.cycle)
	submitOK(tab, "#runs-link")
	fill(tab, [2]string{`#start-run input[name="draws"]`, "50"})
	submitOK(tab, `#start-run button[type="submit"]`)
	wantNotice(tab, "评价已开始运行。")
	poll(tab, "/cycles/"+y.cycle+"/runs", jobWait, func() bool {
		if has(tab, "ul.failed li") {
			y.t.Fatalf("the run failed: %q", text(tab, "ul.failed"))
		}
		return !has(tab, "#run-job") && len(tab.Texts("table.runs tbody tr")) == n
	})
	shot(tab, screenshot, true)
	return attr(tab, "table.runs tbody tr", "data-run")
}

// jobsPage: the manager's 后台任务 page shows no failed job, and the
// finished ones — the survey's reading and the run — once asked for.
func (y *year) jobsPage() {
	tab := y.admin
	menu(tab, "/jobs")
	tab.Axe("the jobs page")
	if has(tab, `table.jobs tr[data-status="failed"]`) {
		y.t.Errorf("the jobs page shows failed jobs: %q", text(tab, "table.jobs"))
	}
	fill(tab, [2]string{`#filter-jobs select[name="state"]`, "succeeded"})
	submitOK(tab, `#filter-jobs button[type="submit"]`)
	if n := len(tab.Texts(`table.jobs tbody tr[data-status="succeeded"]`)); n < 2 {
		y.t.Errorf("the jobs page lists %d finished jobs, want the survey's and the run's", n)
	}
	shot(tab, "22-jobs.png", true)
}

// cityChanges: with collection reopened, the city official lowers one
// value and submits it.
func (y *year) cityChanges() {
	tab := y.city
	tab.Navigate("/cycles/" + y.cycle + "/collect")
	y.changedBefore = tab.Value(fmt.Sprintf(`#values [name="v.%s"]`, changeCode))
	fill(tab, [2]string{fmt.Sprintf(`#values [name="v.%s"]`, changeCode), scaled(y.t, y.changedBefore, 0.3)})
	click(tab, `#values input[name="submit"]`)
	submitOK(tab, `#values button[type="submit"]`)
	wantNotice(tab, "已保存 1 项，提交审核 1 项。")
	shot(tab, "24-city-changed.png", false)
}

// compare: the runs page's compare form opens the diff page of the two
// runs, which shows the changed value and what it did to 太原市's score.
func (y *year) compare(first, second string) {
	tab := y.admin
	tab.Navigate("/cycles/" + y.cycle + "/runs")
	fill(tab, [2]string{`#compare-runs select[name="from"]`, first}, [2]string{`#compare-runs select[name="to"]`, second})
	submitOK(tab, `#compare-runs button[type="submit"]`)
	tab.WantLocation(fmt.Sprintf("/cycles/%s/diff?from=%s&to=%s", y.cycle, first, second))
	after := scaled(y.t, y.changedBefore, 0.3)
	changed := false
	for _, r := range tab.Texts("table.diff-inputs tbody tr") {
		cells := strings.Split(r, "\t")
		changed = changed || len(cells) == 4 && cells[0] == "太原市" && strings.HasPrefix(cells[1], changeCode+" ") &&
			strings.HasPrefix(cells[2], y.changedBefore+"（") && strings.HasPrefix(cells[3], after+"（")
	}
	if !changed {
		y.t.Errorf("the diff's inputs are %q, want 太原市's %s from %s to %s", tab.Texts("table.diff-inputs tbody tr"), changeCode, y.changedBefore, after)
	}
	// The change's effect: 太原市's score moves (the bar of the chart).
	score := strings.Split(text(tab, `table.diff-regions tr[data-code="140100"] td:nth-child(3)`), " → ")
	if len(score) != 2 || score[0] == score[1] {
		y.t.Errorf("the diff shows 太原市's score as %q, want it changed", score)
	}
	if counts := tab.PaintedCharts(); len(counts) == 0 {
		y.t.Errorf("the diff page draws no chart")
	}
	shot(tab, "28-diff.png", true)
}

// publish: the manager publishes the second run through its confirmation
// and returns 太原市's score in it, as the run's overview shows it.
func (y *year) publish(run string) string {
	tab := y.admin
	tab.Navigate("/cycles/" + y.cycle + "/runs")
	row := fmt.Sprintf(`tr[data-run=%q] `, run)
	click(tab, row+"details.publish summary")
	if got := text(tab, row+"details.publish p"); !strings.Contains(got, "各市级用户可以看到本市的评价结果") {
		y.t.Errorf("the publication's confirmation is %q", got)
	}
	shot(tab, "29-publish-confirm.png", true)
	submitOK(tab, row+`details.publish button[type="submit"]`)
	wantNotice(tab, "评价结果已发布。")
	if got := text(tab, "#cycle-status"); got != "已发布" {
		y.t.Errorf("after publishing the cycle is %q", got)
	}
	// The report of the published run is rendered by a job.
	poll(tab, "/cycles/"+y.cycle+"/runs", jobWait, func() bool { return has(tab, row+"td.report a") })
	shot(tab, "30-published.png", true)

	tab.Navigate(fmt.Sprintf("/cycles/%s/overview?run=%s", y.cycle, run))
	tab.Axe("the run's overview")
	for _, r := range tab.Texts("table.ranking tbody tr") {
		if cells := strings.Split(r, "\t"); len(cells) >= 3 && cells[1] == "太原市" {
			return cells[2]
		}
	}
	y.t.Fatalf("the run's overview does not rank 太原市")
	return ""
}

// cityDashboard: the city official finds the published year on their home,
// opens the province overview, their city's edition of the report and,
// from the ranking, their dashboard, which shows the published run's score.
func (y *year) cityDashboard(run, score string) {
	tab := y.city
	tab.Navigate("/")
	overview := fmt.Sprintf("/cycles/%s/overview", y.cycle)
	submitOK(tab, fmt.Sprintf(`a[href=%q]`, overview))
	if counts := tab.PaintedCharts(); len(counts) == 0 || slices.Contains(counts, 0) {
		y.t.Errorf("the city's overview: painted pixels per chart %v, want every chart drawn", counts)
	}
	shot(tab, "31-city-overview.png", false)

	submitOK(tab, fmt.Sprintf(`a[href="/cycles/%s/regions/140100/report"]`, y.cycle))
	if got := tab.TextContent("body"); !strings.Contains(got, "太原市") || !strings.Contains(got, score) {
		y.t.Errorf("the city's report does not show 太原市's score %s", score)
	}
	shot(tab, "32-city-report.png", false)

	tab.Navigate(overview)
	submitOK(tab, fmt.Sprintf(`table.ranking a[href="/cycles/%s/regions/140100?run=%s"]`, y.cycle, run))
	if counts := tab.PaintedCharts(); len(counts) == 0 || slices.Contains(counts, 0) {
		y.t.Errorf("the dashboard: painted pixels per chart %v, want every chart drawn", counts)
	}
	if got := text(tab, "main dd.big"); got != score {
		y.t.Errorf("the city's dashboard shows %q, the published run %q", got, score)
	}
	shot(tab, "33-city-dashboard.png", false)
}
