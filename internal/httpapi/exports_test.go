package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/reports/render"
)

// Hostile texts a user might type into what the exports show.
const (
	hostileRegion  = `=HYPERLINK("http://x") <script>alert(1)</script>`
	hostileZone    = `+1 "示范区"`
	hostileMessage = `@SUM(A1) 未安排资金扶持知识产权公共服务体系建设`
)

// exportedRun makes a cycle whose regions reported every indicator
// (149900's B4 submitted but never verified, its A3 not applicable), whose
// survey gave D1 of 140100 and 140200, where only 140200 documented its
// funding (so rule R1, with a hostile message, caps the others), and whose
// regions 140200 and 149900 carry hostile names; it scores the cycle and
// returns the cycle and the run.
func (f *fixture) exportedRun(publish bool) (cycles.Cycle, string) {
	f.t.Helper()
	ctx := context.Background()
	f.call("admin", "PUT", "/api/v1/regions/140200", map[string]string{"name": hostileRegion, "kind": "prefecture_city", "parent_code": "140000"}, http.StatusOK)
	f.call("admin", "PUT", "/api/v1/regions/149900", map[string]string{"name": hostileZone, "kind": "reform_zone", "parent_code": "140000"}, http.StatusOK)
	sc := scheme.Default()
	sc.Rules[0].Message = hostileMessage
	cy := f.collectingCycleOf(sc)
	base := "/api/v1/cycles/" + cy.ID
	var items []map[string]any
	for i, region := range []string{"140100", "140200", "149900"} {
		s := []float64{1, 0.55, 0.8}[i]
		for code, x := range map[string]float64{"A1": 1, "A2": math.Round(10 * s), "A3": math.Round(8 * s), "A4": 1,
			"A5": math.Round(9 * s), "B1": 480 * s / 3 * 2.9, "B2": math.Round(20 * s), "B3": math.Round(10 * s),
			"B4": math.Round(10 * s), "C1": math.Round(10 * s), "C2": 3.7 * s / 7, "C3": math.Round(100 * s),
			"C4": 50 + 50*s/1.1, "C5": 60 + 40*s, "D2": 60 + 40*s, "D3": math.Round(20 * s)} {
			item := map[string]any{"region_code": region, "indicator_code": code, "number": x}
			if region == "149900" && code == "A3" {
				item = map[string]any{"region_code": region, "indicator_code": code, "not_applicable": true}
			}
			items = append(items, item)
		}
	}
	items = append(items, map[string]any{"region_code": "140200", "indicator_code": "F1", "number": 150})
	f.call("admin", "POST", base+"/values", map[string]any{"items": items}, http.StatusOK)
	resp, b := f.do(f.as("admin", upload("POST", base+"/evidence",
		map[string]string{"region_code": "140200", "indicator_code": "F1"}, "file", "预算.pdf", f.uniquePDF())))
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("upload evidence: %d %s", resp.StatusCode, b)
	}
	for _, region := range []string{"140100", "140200", "149900"} {
		f.call("admin", "POST", base+"/values/submit", map[string]any{"region_code": region}, http.StatusOK)
	}
	vals := decode[struct {
		Items []struct {
			ID            string `json:"id"`
			RegionCode    string `json:"region_code"`
			IndicatorCode string `json:"indicator_code"`
			Version       int    `json:"version"`
		}
	}](f.t, f.call("admin", "GET", base+"/values", nil, http.StatusOK))
	for _, v := range vals.Items {
		if v.RegionCode == "149900" && v.IndicatorCode == "B4" {
			continue
		}
		f.call("admin", "POST", base+"/values/"+v.ID+"/review", map[string]any{"verify": true, "version": v.Version}, http.StatusOK)
	}
	project, _ := f.validBatchOf(cy.ID, f.org)
	f.call("contractor", "POST", "/api/v1/survey-projects/"+project+"/submit", nil, http.StatusOK)
	f.call("admin", "POST", "/api/v1/survey-projects/"+project+"/accept", nil, http.StatusOK)
	if _, err := f.cycles.Transition(ctx, cy.ID, cycles.Scoring); err != nil {
		f.t.Fatal(err)
	}
	return cy, f.scoredRunOf(cy.ID, publish)
}

// apiRun is GET /api/v1/runs/:id as JSON, read independently of the
// server's types.
type apiRun struct {
	Run struct {
		ID            string `json:"id"`
		SchemeID      string `json:"scheme_id"`
		SchemeVersion int    `json:"scheme_version"`
	} `json:"run"`
	Results struct {
		Grades []struct {
			Code   string `json:"code"`
			Name   string `json:"name"`
			NameEn string `json:"name_en"`
		} `json:"grades"`
		Regions []apiRegion `json:"regions"`
	} `json:"results"`
}

type apiRegion struct {
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	Score         *float64 `json:"score"`
	Rank          int      `json:"rank"`
	BandGrade     string   `json:"band_grade"`
	Grade         string   `json:"grade"`
	GradeRule     string   `json:"grade_rule"`
	AwardEligible bool     `json:"award_eligible"`
	Dimensions    []struct {
		Code  string   `json:"code"`
		Score *float64 `json:"score"`
	} `json:"dimensions"`
	Indicators []struct {
		Code         string   `json:"code"`
		Raw          *float64 `json:"raw"`
		Value        *float64 `json:"value"`
		Z            *float64 `json:"z"`
		Score        *float64 `json:"score"`
		Weight       float64  `json:"weight"`
		Contribution float64  `json:"contribution"`
	} `json:"indicators"`
	Rules []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"rules"`
}

// apiSensitivity is GET /api/v1/runs/:id/sensitivity as JSON.
type apiSensitivity struct {
	Regions []struct {
		Code         string   `json:"code"`
		NominalScore *float64 `json:"nominal_score"`
		NominalRank  int      `json:"nominal_rank"`
		MedianRank   int      `json:"median_rank"`
		RankP5       int      `json:"rank_p5"`
		RankP95      int      `json:"rank_p95"`
		Grades       []struct {
			Grade       string  `json:"grade"`
			Probability float64 `json:"probability"`
		} `json:"grades"`
		Ungraded           float64 `json:"ungraded"`
		NominalProbability float64 `json:"nominal_probability"`
	} `json:"regions"`
}

// download fetches an export as who and checks that it is an attachment
// of the media type.
func (f *fixture) download(who, path, mediaType string) []byte {
	f.t.Helper()
	resp, body := f.do(f.as(who, request("GET", path, nil)))
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET %s as %s: %d %s", path, who, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, mediaType) {
		f.t.Fatalf("GET %s: Content-Type %q, want %s", path, ct, mediaType)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || strings.ContainsAny(cd, "/\\\r\n") {
		f.t.Fatalf("GET %s: Content-Disposition %q, want a safe attachment", path, cd)
	}
	return body
}

// sheetRows opens a workbook and reads every sheet with raw cell values.
func sheetRows(tb testing.TB, data []byte) map[string][][]string {
	tb.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("open the exported workbook: %v", err)
	}
	defer x.Close()
	out := map[string][][]string{}
	for _, name := range x.GetSheetList() {
		rows, err := x.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			tb.Fatal(err)
		}
		// Pad short rows: trailing empty cells are left out.
		for i := range rows {
			for len(rows[i]) < len(rows[0]) {
				rows[i] = append(rows[i], "")
			}
		}
		out[name] = rows
	}
	return out
}

// equal compares a spreadsheet cell with a number of the API: the same
// number, or both absent. LibreOffice writes numbers to 15 significant
// digits, so a cell read through it is compared to that precision.
type equal func(cell string, api *float64) bool

func exactly(cell string, api *float64) bool {
	if api == nil {
		return cell == ""
	}
	x, err := strconv.ParseFloat(cell, 64)
	return err == nil && x == *api
}

func to15Digits(cell string, api *float64) bool {
	if api == nil {
		return cell == ""
	}
	x, err := strconv.ParseFloat(cell, 64)
	return err == nil && math.Abs(x-*api) <= 1e-14*math.Abs(*api)
}

func num(x float64) *float64 { return &x }

// rankOf is a rank as a workbook writes it: absent when not ranked.
func rankOf(r int) *float64 {
	if r == 0 {
		return nil
	}
	return num(float64(r))
}

// index maps the first columns of a sheet's rows to the rows.
func index(rows [][]string, cols ...int) map[string][]string {
	out := map[string][]string{}
	for _, r := range rows[1:] {
		var key []string
		for _, c := range cols {
			key = append(key, r[c])
		}
		out[strings.Join(key, "/")] = r
	}
	return out
}

// compareWorkbook checks every score, rank, grade, dimension score,
// indicator score and sensitivity figure of a workbook read back as
// sheets against the API's JSON of the same run.
func compareWorkbook(t *testing.T, sheets map[string][][]string, run apiRun, sens apiSensitivity, eq equal) {
	t.Helper()
	label := map[string]string{}
	for _, g := range run.Results.Grades {
		label[g.Code] = g.Name + " " + g.NameEn
	}
	results := index(sheets[render.SheetResults], 1)
	if len(results) != len(run.Results.Regions) {
		t.Fatalf("results sheet lists %d regions, the API %d", len(results), len(run.Results.Regions))
	}
	indicators := index(sheets[render.SheetIndicators], 0, 3)
	nInd := 0
	for _, rr := range run.Results.Regions {
		row, ok := results[rr.Code]
		if !ok {
			t.Fatalf("results sheet lacks region %s", rr.Code)
		}
		if !eq(row[0], rankOf(rr.Rank)) || !eq(row[4], rr.Score) {
			t.Errorf("region %s: rank %q score %q, API %d %v", rr.Code, row[0], row[4], rr.Rank, deref(rr.Score))
		}
		if row[5] != label[rr.BandGrade] || row[6] != label[rr.Grade] || row[7] != rr.GradeRule {
			t.Errorf("region %s: grades %q → %q by %q, API %s → %s by %q", rr.Code, row[5], row[6], row[7], rr.BandGrade, rr.Grade, rr.GradeRule)
		}
		for j, dr := range rr.Dimensions {
			if !eq(row[9+j], dr.Score) {
				t.Errorf("region %s dimension %s: %q, API %v", rr.Code, dr.Code, row[9+j], deref(dr.Score))
			}
		}
		for _, ir := range rr.Indicators {
			nInd++
			r, ok := indicators[rr.Code+"/"+ir.Code]
			if !ok {
				t.Errorf("indicator sheet lacks %s/%s", rr.Code, ir.Code)
				continue
			}
			for col, want := range []*float64{ir.Raw, ir.Value, ir.Z, ir.Score, num(ir.Weight), num(ir.Contribution)} {
				if !eq(r[6+col], want) {
					t.Errorf("%s/%s column %d: %q, API %v", rr.Code, ir.Code, 7+col, r[6+col], deref(want))
				}
			}
		}
	}
	if len(indicators) != nInd {
		t.Errorf("indicator sheet has %d rows, the API %d indicators", len(indicators), nInd)
	}
	sensRows := index(sheets[render.SheetSensitivity], 0)
	if len(sensRows) != len(sens.Regions) {
		t.Fatalf("sensitivity sheet has %d regions, the API %d", len(sensRows), len(sens.Regions))
	}
	for _, rs := range sens.Regions {
		row := sensRows[rs.Code]
		for col, want := range []*float64{rs.NominalScore, rankOf(rs.NominalRank), nil, nil, rankOf(rs.MedianRank), rankOf(rs.RankP5), rankOf(rs.RankP95)} {
			if col != 2 && col != 3 && !eq(row[2+col], want) {
				t.Errorf("sensitivity of %s column %d: %q, API %v", rs.Code, 3+col, row[2+col], deref(want))
			}
		}
		for j, g := range rs.Grades {
			if !eq(row[9+j], num(g.Probability)) {
				t.Errorf("sensitivity of %s: P(%s) %q, API %v", rs.Code, g.Grade, row[9+j], g.Probability)
			}
		}
		n := len(rs.Grades)
		if !eq(row[9+n], num(rs.Ungraded)) || !eq(row[10+n], num(rs.NominalProbability)) {
			t.Errorf("sensitivity of %s: ungraded %q nominal %q, API %v %v", rs.Code, row[9+n], row[10+n], rs.Ungraded, rs.NominalProbability)
		}
	}
}

// startsFormula reports whether a spreadsheet would read a text cell as a
// formula; a number (a negative one starts with -) is no text.
func startsFormula(cell string) bool {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return false
	}
	_, err := strconv.ParseFloat(cell, 64)
	return err != nil
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestRunWorkbook downloads the workbook of a scored run as an admin and
// reads back, exactly, every number the API gives for the run.
func TestRunWorkbook(t *testing.T) {
	f := newFixture(t)
	cy, id := f.exportedRun(false)
	data := f.download("admin", "/api/v1/runs/"+id+"/workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	run := decode[apiRun](t, f.call("admin", "GET", "/api/v1/runs/"+id, nil, http.StatusOK))
	sens := decode[apiSensitivity](t, f.call("admin", "GET", "/api/v1/runs/"+id+"/sensitivity", nil, http.StatusOK))
	sheets := sheetRows(t, data)
	compareWorkbook(t, sheets, run, sens, exactly)

	ranked, capped := 0, 0
	for _, rr := range run.Results.Regions {
		if rr.Rank > 0 {
			ranked++
		}
		if rr.GradeRule != "" {
			capped++
		}
	}
	if ranked < 2 || capped == 0 {
		t.Fatalf("the run ranks %d regions and caps %d; the data exercise too little", ranked, capped)
	}
	about := index(sheets[render.SheetAbout], 0)
	for key, want := range map[string]string{"评价运行 Run": id, "考核年度 Cycle year": strconv.Itoa(cy.Year),
		"方案编号 Scheme id": run.Run.SchemeID, "方案版本 Scheme version": strconv.Itoa(run.Run.SchemeVersion),
		"发布时间 Published (UTC)": "未发布 not published"} {
		if got := about[key]; got == nil || got[1] != want {
			t.Errorf("about %s: %q, want %q", key, got, want)
		}
	}
}

// TestRunWorkbookInLibreOffice opens the downloaded workbook in
// LibreOffice, has it write every sheet as CSV, and checks that the
// numbers LibreOffice reads equal the API's (to the 15 significant digits
// it writes) and that it ran no cell as a formula.
func TestRunWorkbookInLibreOffice(t *testing.T) {
	soffice := testenv.RequireSoffice(t)
	f := newFixture(t)
	_, id := f.exportedRun(true)
	data := f.download("admin", "/api/v1/runs/"+id+"/workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	run := decode[apiRun](t, f.call("admin", "GET", "/api/v1/runs/"+id, nil, http.StatusOK))
	sens := decode[apiSensitivity](t, f.call("admin", "GET", "/api/v1/runs/"+id+"/sensitivity", nil, http.StatusOK))

	dir := t.TempDir()
	book := filepath.Join(dir, "run.xlsx")
	if err := os.WriteFile(book, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Comma, double quote, UTF-8, from line 1, standard cells, the stored
	// values (not as shown), no formulas, and sheet -1: every sheet to its
	// own file, run-<sheet>.csv (LibreOffice 7.2 and later).
	const filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
	cmd := exec.CommandContext(ctx, soffice, "--headless", "--norestore", "--nolockcheck",
		"-env:UserInstallation=file://"+filepath.ToSlash(filepath.Join(dir, "profile")),
		"--convert-to", filter, "--outdir", filepath.Join(dir, "out"), book)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v (context: %v)\n%s", err, ctx.Err(), out)
	}
	sheets := map[string][][]string{}
	for _, name := range []string{render.SheetResults, render.SheetIndicators, render.SheetRules, render.SheetSensitivity, render.SheetAbout} {
		b, err := os.ReadFile(filepath.Join(dir, "out", "run-"+name+".csv"))
		if err != nil {
			t.Fatalf("LibreOffice wrote no sheet %q: %v", name, err)
		}
		cr := csv.NewReader(bytes.NewReader(b))
		cr.FieldsPerRecord = -1
		rows, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("sheet %q as LibreOffice wrote it: %v", name, err)
		}
		sheets[name] = rows
	}
	compareWorkbook(t, sheets, run, sens, to15Digits)
	names := index(sheets[render.SheetResults], 1)
	if got := names["140200"][2]; got != "'"+hostileRegion {
		t.Errorf("LibreOffice reads the hostile region name as %q, want it as guarded text", got)
	}
}

// TestRunExportAccess lets a city official export a published run only,
// with the province ranking and its own region's detail, and refuses
// everything else.
func TestRunExportAccess(t *testing.T) {
	f := newFixture(t)
	_, published := f.exportedRun(true)
	unpublished := f.scoredRun(false)
	xlsx := "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

	sheets := sheetRows(t, f.download("city", "/api/v1/runs/"+published+"/workbook", xlsx))
	if n := len(sheets[render.SheetResults]) - 1; n != 3 {
		t.Errorf("the city official's ranking has %d regions, want all 3", n)
	}
	for _, sheet := range []string{render.SheetIndicators, render.SheetRules, render.SheetSensitivity} {
		rows := sheets[sheet]
		if len(rows) < 2 {
			t.Errorf("sheet %s has no rows of the official's own region", sheet)
		}
		for _, r := range rows[1:] {
			if r[0] != "140100" {
				t.Errorf("sheet %s shows region %s to the official of 140100", sheet, r[0])
			}
		}
	}
	rows := handoverCSV(t, f.download("city", "/api/v1/runs/"+published+"/handover", "text/csv"))
	if len(rows) != len(scheme.Default().Indicators) {
		t.Errorf("the city official's hand-over has %d rows, want one per indicator of its region", len(rows))
	}
	for _, r := range rows {
		if r["region_code"] != "140100" {
			t.Errorf("hand-over row of %s for the official of 140100", r["region_code"])
		}
	}
	f.download("city", "/api/v1/runs/"+published+"/handover?format=json&region=140100", "application/json")

	for _, tc := range []struct {
		name, who, path string
		status          int
		detail          string
	}{
		{"unpublished workbook", "city", "/api/v1/runs/" + unpublished + "/workbook", http.StatusNotFound, "不存在"},
		{"unpublished hand-over", "city", "/api/v1/runs/" + unpublished + "/handover?format=json", http.StatusNotFound, "不存在"},
		{"another region's workbook", "city", "/api/v1/runs/" + published + "/workbook?region=140200", http.StatusForbidden, "本地区"},
		{"another region's hand-over", "city", "/api/v1/runs/" + published + "/handover?region=140200", http.StatusForbidden, "本地区"},
		{"contractor", "contractor", "/api/v1/runs/" + published + "/workbook", http.StatusForbidden, ""},
		{"anonymous", "anonymous", "/api/v1/runs/" + published + "/handover", http.StatusUnauthorized, ""},
		{"no such run", "admin", "/api/v1/runs/no-such-run/workbook", http.StatusNotFound, "不存在"},
		{"region not in the run", "admin", "/api/v1/runs/" + published + "/workbook?region=999999", http.StatusNotFound, "不在本次评价"},
		{"bad format", "admin", "/api/v1/runs/" + published + "/handover?format=xml", http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(f.as(tc.who, request("GET", tc.path, nil)))
			wantProblem(t, resp, body, tc.status)
			if p := decode[struct {
				Detail   string `json:"detail"`
				DetailZh string `json:"detail_zh"`
			}](t, body); tc.detail != "" && (!strings.Contains(p.DetailZh, tc.detail) || p.Detail == "") {
				t.Errorf("problem %s, want a bilingual detail saying %q", body, tc.detail)
			}
		})
	}

	// An admin may ask for one region's detail.
	sheets = sheetRows(t, f.download("admin", "/api/v1/runs/"+unpublished+"/workbook?region=140200", xlsx))
	for _, r := range sheets[render.SheetIndicators][1:] {
		if r[0] != "140200" {
			t.Errorf("the admin's export of 140200 shows %s", r[0])
		}
	}
}

// handoverCSV reads a hand-over CSV into rows keyed by the English part of
// the bilingual header.
func handoverCSV(tb testing.TB, data []byte) []map[string]string {
	tb.Helper()
	if !bytes.HasPrefix(data, []byte("\ufeff")) {
		tb.Fatalf("the hand-over CSV has no byte-order mark")
	}
	recs, err := csv.NewReader(bytes.NewReader(data[3:])).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var keys []string
	for _, h := range recs[0] {
		zh, en, ok := strings.Cut(h, " ")
		if !ok || zh == "" {
			tb.Fatalf("header %q is not bilingual", h)
		}
		keys = append(keys, en)
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, k := range keys {
			m[k] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// handoverItem is one row of the JSON hand-over.
type handoverItem struct {
	CycleYear     int      `json:"cycle_year"`
	RunID         string   `json:"run_id"`
	SchemeID      string   `json:"scheme_id"`
	SchemeVersion int      `json:"scheme_version"`
	RegionCode    string   `json:"region_code"`
	RegionName    string   `json:"region_name"`
	IndicatorCode string   `json:"indicator_code"`
	IndicatorName string   `json:"indicator_name"`
	Value         *float64 `json:"value"`
	NotApplicable bool     `json:"not_applicable"`
	Unit          string   `json:"unit"`
	Source        string   `json:"source"`
	Status        string   `json:"status"`
}

// TestRunHandover downloads the hand-over package as CSV and JSON: one row
// per region × indicator with the value the run scored, its unit, source
// and review status, and the run, scheme version and year on every row.
func TestRunHandover(t *testing.T) {
	f := newFixture(t)
	cy, id := f.exportedRun(true)
	run := decode[apiRun](t, f.call("admin", "GET", "/api/v1/runs/"+id, nil, http.StatusOK))
	values := decode[struct {
		Items []struct {
			RegionCode    string   `json:"region_code"`
			IndicatorCode string   `json:"indicator_code"`
			Number        *float64 `json:"number"`
		}
	}](t, f.call("admin", "GET", "/api/v1/cycles/"+cy.ID+"/values", nil, http.StatusOK))
	stored := map[string]*float64{}
	for _, v := range values.Items {
		stored[v.RegionCode+"/"+v.IndicatorCode] = v.Number
	}
	sc := scheme.Default()
	want := 3 * len(sc.Indicators)

	items := decode[struct{ Items []handoverItem }](t, f.download("admin", "/api/v1/runs/"+id+"/handover?format=json", "application/json")).Items
	csvRows := handoverCSV(t, f.download("admin", "/api/v1/runs/"+id+"/handover?format=csv", "text/csv"))
	if len(items) != want || len(csvRows) != want {
		t.Fatalf("hand-over has %d JSON and %d CSV rows, want 3 regions × %d indicators", len(items), len(csvRows), len(sc.Indicators))
	}
	byKey := map[string]handoverItem{}
	for i, it := range items {
		if it.RunID != id || it.SchemeID != run.Run.SchemeID || it.SchemeVersion != run.Run.SchemeVersion || it.CycleYear != cy.Year {
			t.Fatalf("row without its run, scheme version and year: %+v", it)
		}
		ind, _ := sc.Indicator(it.IndicatorCode)
		if it.Unit != ind.Unit || it.IndicatorName != ind.Name || it.Source != ind.Source {
			t.Errorf("%s/%s: unit %q name %q source %q, want the scheme's", it.RegionCode, it.IndicatorCode, it.Unit, it.IndicatorName, it.Source)
		}
		key := it.RegionCode + "/" + it.IndicatorCode
		byKey[key] = it
		c := csvRows[i]
		if c["region_code"]+"/"+c["indicator_code"] != key || c["run_id"] != id || c["scheme_version"] != strconv.Itoa(it.SchemeVersion) ||
			c["cycle_year"] != strconv.Itoa(cy.Year) || c["status"] != it.Status || c["unit"] != it.Unit || !exactly(c["value"], it.Value) {
			t.Errorf("CSV row %d %v differs from JSON %+v", i, c, it)
		}
		if v, ok := stored[key]; ok && !it.NotApplicable && (v == nil || it.Value == nil || *v != *it.Value) {
			t.Errorf("%s: hand-over value %v, stored %v", key, deref(it.Value), deref(v))
		}
	}
	for key, status := range map[string]string{"140100/A2": "verified", "149900/B4": "submitted", "140100/F1": "missing",
		"140200/F1": "verified", "149900/D1": "missing", "140100/D1": "verified", "149900/A3": "verified"} {
		if got := byKey[key].Status; got != status {
			t.Errorf("%s: status %q, want %q", key, got, status)
		}
	}
	if it := byKey["149900/A3"]; !it.NotApplicable || it.Value != nil {
		t.Errorf("a value marked not applicable: %+v", it)
	}
	if it := byKey["140100/D1"]; it.Value == nil || it.Source != "survey:satisfaction" {
		t.Errorf("a survey index: %+v", it)
	}
}

// TestExportsGuardText shows hostile region names and rule messages
// guarded in the workbook and the CSV (no cell starts as a formula would)
// and intact, but escaped, in the JSON.
func TestExportsGuardText(t *testing.T) {
	f := newFixture(t)
	_, id := f.exportedRun(true)
	sheets := sheetRows(t, f.download("admin", "/api/v1/runs/"+id+"/workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
	var seen []string
	for name, rows := range sheets {
		for _, r := range rows {
			for _, cell := range r {
				if startsFormula(cell) {
					t.Errorf("sheet %s: %q starts as a formula", name, cell)
				}
				seen = append(seen, cell)
			}
		}
	}
	for _, want := range []string{"'" + hostileRegion, "'" + hostileZone, "'" + hostileMessage} {
		if !slices.Contains(seen, want) {
			t.Errorf("the workbook lacks %q", want)
		}
	}

	rows := handoverCSV(t, f.download("admin", "/api/v1/runs/"+id+"/handover", "text/csv"))
	names := map[string]string{}
	for _, r := range rows {
		names[r["region_code"]] = r["region_name"]
		for k, v := range r {
			if startsFormula(v) {
				t.Errorf("CSV %s %q starts as a formula", k, v)
			}
		}
	}
	if names["140200"] != "'"+hostileRegion || names["149900"] != "'"+hostileZone {
		t.Errorf("CSV region names %q", names)
	}

	raw := f.download("admin", "/api/v1/runs/"+id+"/handover?format=json", "application/json")
	if bytes.Contains(raw, []byte("<script>")) || !bytes.Contains(raw, []byte(`\u003cscript\u003e`)) {
		t.Errorf("the JSON does not escape <script>")
	}
	got := map[string]string{}
	for _, it := range decode[struct{ Items []handoverItem }](t, raw).Items {
		got[it.RegionCode] = it.RegionName
	}
	if got["140200"] != hostileRegion || got["149900"] != hostileZone {
		t.Errorf("JSON region names %q, want them intact", got)
	}
}
