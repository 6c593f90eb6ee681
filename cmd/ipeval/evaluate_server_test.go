package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/cycles/cyclestest"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs/jobstest"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/reports/render"
)

// serverRun is the test data imported into a cycle and scored by the
// server's run store, as the three parity tests compare it with file mode.
type serverRun struct {
	db      *gorm.DB
	cycle   cycles.Cycle
	run     evaluation.Run
	runs    *evaluation.Store
	schemes *indicators.SchemeStore
	manager auth.Principal
}

// newServerRun imports the test data into a cycle and runs it.
func newServerRun(t *testing.T) serverRun {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	regionsCSV, err := os.ReadFile(evalRegions)
	if err != nil {
		t.Fatal(err)
	}
	cy, _ := cyclestest.Collecting(t, db, bytes.NewReader(regionsCSV), 2025)
	cs := cycles.NewStore(db)
	schemes := indicators.NewSchemeStore(db)
	manager := auth.Principal{UserID: "u-admin", Username: "admin", Role: auth.RoleAdmin}
	values, err := os.ReadFile(evalValues)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := indicators.NewValueStore(db, schemes).Import(ctx, manager, cy.ID, "values.csv", values, false); err != nil {
		t.Fatal(err)
	}
	// Verified as the review would leave them: review is tested elsewhere.
	if err := db.Model(&indicators.Value{}).Where("cycle_id = ?", cy.ID).Update("status", indicators.StatusVerified).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Transition(ctx, cy.ID, cycles.Scoring); err != nil {
		t.Fatal(err)
	}
	runs := evaluation.NewStore(db, nil, schemes)
	run, err := runs.RunNow(ctx, manager, cy.ID)
	if err != nil {
		t.Fatal(err)
	}
	return serverRun{db: db, cycle: cy, run: run, runs: runs, schemes: schemes, manager: manager}
}

// TestEvaluateMatchesServerRun scores the same data twice: imported into a
// cycle and run by the server's run store, and from the files by `ipeval
// evaluate`. The stored results and the results file are the same bytes.
func TestEvaluateMatchesServerRun(t *testing.T) {
	srv := newServerRun(t)
	out := filepath.Join(t.TempDir(), "results.json")
	if printed, err := runEvaluate("--scheme", "default", "--regions", evalRegions, "--values", evalValues, "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, printed)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, []byte(srv.run.Results)) {
		t.Fatalf("file mode and the server's run differ:\nfile   %.300s\nserver %.300s", file, srv.run.Results)
	}
}

// TestEvaluateWorkbookMatchesServerRun: the results workbook of file mode
// and the server's workbook of the same run hold the same cells on every
// sheet of results; the About sheet differs only in what a run has and
// file mode has not (its id, cycle, seed, times and hashes).
func TestEvaluateWorkbookMatchesServerRun(t *testing.T) {
	srv := newServerRun(t)
	ex, err := srv.runs.Export(context.Background(), srv.manager, srv.run.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	r := ex.Run
	var server bytes.Buffer
	// As the API's run workbook download (internal/api) fills it.
	if err := render.Workbook(&server, render.RunData{
		Info: render.RunInfo{ID: r.ID, CycleID: r.CycleID, CycleName: ex.Cycle.Name, CycleYear: ex.Cycle.Year,
			SchemeID: r.SchemeID, SchemeVersion: r.SchemeVersion, EngineVersion: r.EngineVersion, Seed: r.Seed,
			InputsHash: r.InputsHash, ResultsHash: r.ResultsHash, CreatedAt: r.CreatedAt, PublishedAt: r.PublishedAt},
		Input: ex.Input, Result: ex.Result, Sensitivity: ex.Sensitivity,
	}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "results.xlsx")
	if printed, err := runEvaluate("--scheme", "default", "--regions", evalRegions, "--values", evalValues,
		"--year", "2025", "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, printed)
	}
	fileBook, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fileBook.Close()
	serverBook, err := excelize.OpenReader(&server)
	if err != nil {
		t.Fatal(err)
	}
	defer serverBook.Close()
	if got, want := fileBook.GetSheetList(), serverBook.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, the server's %q", got, want)
	}
	rows := func(f *excelize.File, sheet string) [][]string {
		rs, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	for _, sheet := range []string{render.SheetResults, render.SheetIndicators, render.SheetRules} {
		got, want := rows(fileBook, sheet), rows(serverBook, sheet)
		if len(want) < 2 {
			t.Fatalf("the server's sheet %s has %d rows", sheet, len(want))
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("sheet %s differs:\nfile   %q\nserver %q", sheet, got, want)
		}
	}
	// The About sheet: the same rows, by label, but for the run's own.
	runOnly := regexp.MustCompile(`^(评价运行 |考核周期|方案编号|创建时间|随机种子|输入摘要|结果摘要|敏感性|权重扰动|其他扰动)`)
	about := func(f *excelize.File) map[string]string {
		m := map[string]string{}
		for _, r := range rows(f, render.SheetAbout)[1:] {
			if len(r) == 2 && !runOnly.MatchString(r[0]) {
				m[r[0]] = r[1]
			}
		}
		return m
	}
	got, want := about(fileBook), about(serverBook)
	if len(want) < 10 {
		t.Fatalf("the server's About sheet: %q", want)
	}
	for label, v := range want {
		if got[label] != v {
			t.Errorf("About %s: %q, the server's %q", label, got[label], v)
		}
	}
}

// TestEvaluateReportMatchesServerRun: the report file mode writes and the
// report the server renders for the run show the same: every region's page
// is the same markup, and the front and back the same text but for what
// only a stored run has (its id, cycle, dates, hashes and sensitivity
// analysis) and the style sheet and scripts a standalone report inlines or
// leaves out.
func TestEvaluateReportMatchesServerRun(t *testing.T) {
	srv := newServerRun(t)
	ctx := context.Background()
	q := jobstest.NewQueue(t, srv.db)
	archive := reports.NewStore(srv.db, q, srv.runs, srv.schemes, cycles.NewStore(srv.db))
	// A render job names who asked for it: a user that exists.
	u, _, err := auth.NewStore(srv.db, nil).CreateUser(ctx, auth.NewUser{Username: "manager", DisplayName: "manager", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	job, err := archive.Request(ctx, auth.Principal{UserID: u.ID, Username: u.Username, Role: auth.RoleAdmin}, srv.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Handler()(ctx, job, func(int, string) {}); err != nil {
		t.Fatal(err)
	}
	doc, err := archive.Read(ctx, srv.manager, srv.cycle.ID, srv.run.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, report := filepath.Join(dir, "results.json"), filepath.Join(dir, "report.html")
	if printed, err := runEvaluate("--scheme", "default", "--regions", evalRegions, "--values", evalValues,
		"--year", "2025", "--out", out, "--report", report); err != nil {
		t.Fatalf("%v\n%s", err, printed)
	}
	file, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}

	// Every region's page, cut from the server's report by the regions'
	// own editions, is in the file's report as it is.
	pages := 0
	for _, code := range []string{"140100", "140200", "140300", "140400", "SXZG"} {
		edition, err := archive.Read(ctx, srv.manager, srv.cycle.ID, srv.run.ID, code)
		if err != nil {
			t.Fatal(err)
		}
		page := withoutSensitivity(regionPage(t, edition.HTML, code))
		if !bytes.Contains(file, page) {
			t.Errorf("the page of region %s differs from the server's:\n%.400s", code, page)
		}
		pages++
	}
	if pages == 0 {
		t.Fatal("no region page compared")
	}

	got, want := reportText(file, ""), reportText(withoutSensitivity(doc.HTML), srv.cycle.Name)
	if n := strings.Count(want, "\n"); n < 200 {
		t.Fatalf("the server's report has %d lines of text, too few to compare", n)
	}
	if got != want {
		g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := 0; i < len(g) || i < len(w); i++ {
			if i >= len(g) || i >= len(w) || g[i] != w[i] {
				t.Fatalf("the reports' text differs at line %d:\nfile   %q\nserver %q", i+1, at(g, i), at(w, i))
			}
		}
	}
}

// at is line i of lines, or "" past their end.
func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

// regionPage cuts the page of region code out of a region's edition of a
// report: the section that names the region as its id.
func regionPage(t *testing.T, edition []byte, code string) []byte {
	t.Helper()
	start := bytes.Index(edition, []byte(`<section class="page region" id="region-`+code+`"`))
	if start < 0 {
		t.Fatalf("the edition of %s has no page of it:\n%.600s", code, edition)
	}
	end := bytes.Index(edition[start:], []byte("</section>"))
	if end < 0 {
		t.Fatalf("the page of %s does not end", code)
	}
	return edition[start : start+end]
}

// sensitivityParts are the parts of a report that show a run's
// sensitivity analysis, which file mode does not do: a region's
// robustness and the appendix's section on the analysis.
var sensitivityParts = regexp.MustCompile(`(?s)<h3>结果稳健性 .*?</p>|<h3>（九）敏感性分析 .*?</p>\s*<p>.*?</p>`)

// withoutSensitivity is a report without its sensitivity parts.
func withoutSensitivity(html []byte) []byte { return sensitivityParts.ReplaceAll(html, nil) }

// reportRunOnly matches the lines of a report's text that only a stored
// run has: its hashes (the methodology).
var reportRunOnly = regexp.MustCompile(`摘要|SHA-256|[0-9a-f]{64}`)

// reportText is the visible text of a report, a line per element, without
// the head (style sheet), the scripts, the cover's facts of the run, the lines only a stored run has and
// the name of its cycle (file mode has no cycle).
func reportText(html []byte, cycleName string) string {
	s := string(html)
	s = regexp.MustCompile(`(?s)<head>.*?</head>|<script[^>]*>.*?</script>|<table class="cover-facts">.*?</table>`).ReplaceAllString(s, "")
	s = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, "\n")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && l != cycleName && !reportRunOnly.MatchString(l) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
