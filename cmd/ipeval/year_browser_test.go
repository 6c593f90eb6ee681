package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/demo"
	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// yearOf is the assessment year the test walks through.
const yearOf = 2026

// TestBrowserYear is issue 17's promise in Chromium: on an empty database,
// after the one host step the README prescribes (`ipeval user init`), the
// provincial office takes a year from nothing to published through the
// pages alone — regions imported, accounts made, a cycle with the default
// scheme, collection, a value returned and corrected, the survey uploaded
// and accepted, two runs around a reopening compared, one published — and
// the city official sees the result on their dashboard. Each user has a
// tab of their own; every step is a screenshot (kept with -artifacts,
// named in the README's walk-through), every manager page is checked with
// axe-core, and no page logs an error or loads from another host.
func TestBrowserYear(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	env := envOf(map[string]string{"IPEVAL_DATA_DIR": t.TempDir()})
	out := serveInProcess(t, env, "--addr", "127.0.0.1:0")
	base := listening.FindStringSubmatch(out.String())[1]
	pw := initPasswords(t, cli(t, env, "user", "init"))
	files := yearFiles(t)

	browser := browsertest.StartFor(t, exe, 10*time.Minute)
	y := &year{t: t, files: files}
	y.admin = signedIn(t, browser, base, "admin", pw["admin"])
	y.secadmin = signedIn(t, browser, base, "secadmin", pw["secadmin"])

	y.importRegions()
	y.createAccounts()
	y.city = signedIn(t, browser, base, "taiyuan", y.cityPassword)
	y.contractor = signedIn(t, browser, base, "survey", y.contractorPassword)
	y.addDefaultScheme()
	y.createCycle()
	y.openCollection()
	y.commissionSurvey()
	y.cityEnters()
	y.contractorUploads()
	y.reviewReturnsOne()
	y.cityCorrects()
	y.verifyRegion("17-review-verified.png", returnCode)
	y.acceptSurvey()
	y.transition("scoring", "20-collection-closed.png", "评分中")
	first := y.run(1, "21-run-first.png")
	y.jobsPage()
	y.transition("collecting", "23-reopened.png", "数据采集中")
	y.cityChanges()
	y.verifyRegion("25-review-verified-again.png", "")
	y.transition("scoring", "26-closed-again.png", "评分中")
	second := y.run(2, "27-run-second.png")
	y.compare(first, second)
	score := y.publish(second)
	y.cityDashboard(second, score)
}

// year is the state of the walk: a tab per user and what earlier steps
// learnt.
type year struct {
	t                            *testing.T
	files                        map[string]string
	admin, secadmin, city        *browsertest.Tab
	contractor                   *browsertest.Tab
	cityPassword                 string
	contractorPassword           string
	cycle, survey                string
	values                       map[string]string // what the city entered, by indicator
	returnedValue, changedBefore string            // the corrected value, the changed one's value before
}

// Indicators the walk returns and changes: two of Taiyuan's hand-entered
// goalpost indicators.
const (
	returnCode = "A2"
	changeCode = "C1"
)

var initLine = regexp.MustCompile(`created \S+ (\S+) \(\S+\)\npassword \(shown once\): (\S+)`)

// initPasswords reads the three administrative accounts' passwords from
// `ipeval user init`.
func initPasswords(t *testing.T, out string) map[string]string {
	t.Helper()
	pw := map[string]string{}
	for _, m := range initLine.FindAllStringSubmatch(out, -1) {
		pw[m[1]] = m[2]
	}
	if len(pw) != 3 {
		t.Fatalf("user init printed %q, want three accounts", out)
	}
	return pw
}

// yearFiles writes the files the pages take: Shanxi's regions (the
// province and its eleven cities), the funding document and the survey
// contractor's answers, generated as the demo generates them.
func yearFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	var csvLines, cities []string
	var rs []regions.Region
	for _, line := range strings.Split(strings.TrimSpace(string(demo.RegionsCSV())), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 4 || f[2] == "reform_zone" {
			continue
		}
		csvLines = append(csvLines, line)
		if f[2] == "prefecture_city" {
			cities = append(cities, f[0])
			rs = append(rs, regions.Region{Code: f[0], Name: f[1]})
		}
	}
	if len(cities) != 11 {
		t.Fatalf("demo regions have %d cities, want 11", len(cities))
	}
	answers, err := demo.SurveyAnswers(questionnaire.Default(), rs, yearOf)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"regions":  "shanxi-regions.csv",
		"evidence": "太原市知识产权专项资金文件.pdf",
		"survey":   "满意度调查数据.csv",
	}
	content := map[string][]byte{
		"regions":  []byte(strings.Join(csvLines, "\n") + "\n"),
		"evidence": []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"),
		"survey":   answers,
	}
	for k, name := range files {
		files[k] = filepath.Join(dir, name)
		if err := os.WriteFile(files[k], content[k], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// signedIn opens a tab in a browser context of its own and signs in.
func signedIn(t *testing.T, browser context.Context, base, user, password string) *browsertest.Tab {
	t.Helper()
	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/login")
	if resp := tab.SignIn(user, password); resp.Status != http.StatusOK {
		t.Fatalf("%s signs in: status %d", user, resp.Status)
	}
	return tab
}

// shot saves the step's screenshot and, on a page of the office's
// workbench, checks its accessibility.
func shot(tab *browsertest.Tab, name string, axe bool) {
	tab.T.Helper()
	tab.Screenshot(name)
	if axe {
		tab.Axe(name)
	}
}

// fill sets form fields by selector.
func fill(tab *browsertest.Tab, fields ...[2]string) {
	tab.T.Helper()
	for _, f := range fields {
		need(tab, f[0])
		if err := chromedp.Do(tab.Ctx, chromedp.SetValue(f[0], f[1])); err != nil {
			tab.T.Fatalf("set %s: %v", f[0], err)
		}
	}
}

// attach chooses file in a form's file input.
func attach(tab *browsertest.Tab, input, file string) {
	tab.T.Helper()
	need(tab, input)
	if err := chromedp.Do(tab.Ctx, chromedp.SetUploadFiles(input, []string{file})); err != nil {
		tab.T.Fatalf("choose %s for %s: %v", file, input, err)
	}
}

// click clicks what sel names without waiting for a page.
func click(tab *browsertest.Tab, sel string) {
	tab.T.Helper()
	need(tab, sel)
	if err := chromedp.Do(tab.Ctx, chromedp.Click(sel)); err != nil {
		tab.T.Fatalf("click %s: %v", sel, err)
	}
}

// submitOK sends a form and wants the page it ends on to be 200 (after
// any redirect) or the status given.
func submitOK(tab *browsertest.Tab, button string, want ...int64) {
	tab.T.Helper()
	ok := append([]int64{http.StatusOK}, want...)
	need(tab, button)
	if resp := tab.Submit(button); !slices.Contains(ok, resp.Status) {
		tab.Screenshot("failed.png")
		tab.T.Fatalf("%s at %s: status %d, want %v; page says %q", button, tab.Location(), resp.Status, ok, text(tab, "main"))
	}
}

// wantNotice checks the page's notice.
func wantNotice(tab *browsertest.Tab, want string) {
	tab.T.Helper()
	if got := text(tab, "main p.notice"); !strings.Contains(got, want) {
		tab.T.Errorf("at %s the notice is %q, want %q", tab.Location(), got, want)
	}
}

// poll reloads path until ready says the page is, for at most d.
func poll(tab *browsertest.Tab, path string, d time.Duration, ready func() bool) {
	tab.T.Helper()
	deadline := time.Now().Add(d)
	for {
		tab.Navigate(path)
		if ready() {
			return
		}
		if time.Now().After(deadline) {
			tab.Screenshot("timeout.png")
			tab.T.Fatalf("%s was not ready after %s: %q", path, d, text(tab, "main"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// text is the visible text of sel, which the page must have.
func text(tab *browsertest.Tab, sel string) string {
	tab.T.Helper()
	need(tab, sel)
	return tab.Text(sel)
}

// need fails the test at once when the page lacks sel, where chromedp
// would wait for it until the browser's time ran out.
func need(tab *browsertest.Tab, sel string) {
	tab.T.Helper()
	if !has(tab, sel) {
		tab.Screenshot("missing.png")
		tab.T.Fatalf("%s has no %s", tab.Location(), sel)
	}
}

// has reports whether the page has an element matching sel.
func has(tab *browsertest.Tab, sel string) bool {
	tab.T.Helper()
	n, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		tab.T.Fatalf("count %s: %v", sel, err)
	}
	return n > 0
}

// cityValues are plausible values of a strong city for every indicator it
// enters by hand, as the demo makes them.
func cityValues() map[string]string {
	sc := scheme.Default()
	rng := rand.New(rand.NewPCG(yearOf, 17))
	out := map[string]string{}
	for _, ind := range sc.Indicators {
		if !sc.AppliesTo(ind, kind.PrefectureCity) || ind.SurveySourced() {
			continue
		}
		out[ind.Code] = strconv.FormatFloat(demo.Plausible(ind, 0.9, rng), 'f', -1, 64)
	}
	return out
}
