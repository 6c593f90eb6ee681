package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions/kind"
)

// Hostile texts a region or a scheme author might type.
const (
	hostileName    = `=HYPERLINK("http://x","点我")`
	hostileScript  = `<script>alert("x")</script> 阳泉市`
	hostilePlus    = `+1 示范区`
	hostileMessage = `@SUM(A1) 未安排资金扶持`
)

// runData scores four regions with the default scheme, one of which has
// its funding (F1) and escapes rule R1, one value submitted but not
// verified and one indicator not applicable, and analyses the result's
// sensitivity: a run as an export receives it.
func runData(tb testing.TB) RunData {
	tb.Helper()
	sc := scheme.Default()
	sc.Rules[0].Message = hostileMessage
	in := engine.Input{Scheme: sc, Regions: []engine.Region{
		{Code: "140100", Name: hostileName, Kind: kind.PrefectureCity},
		{Code: "140200", Name: "大同市", Kind: kind.PrefectureCity},
		{Code: "140300", Name: hostileScript, Kind: kind.PrefectureCity},
		{Code: "149900", Name: hostilePlus, Kind: kind.ReformZone},
	}, Values: map[string]map[string]engine.Value{}}
	// Taiyuan is strong enough to be excellent but has no funding (F1), so
	// rule R1 caps it; Datong has its funding.
	for i, r := range in.Regions {
		s := []float64{1, 0.62, 0.37, 0.81}[i]
		vals := map[string]float64{"A1": 1, "A2": math.Round(10 * s), "A3": math.Round(8 * s), "A4": 1, "A5": math.Round(10 * s),
			"B1": 500 * s / 3 * 2.9, "B2": math.Round(20 * s), "B3": math.Round(10 * s), "B4": math.Round(10 * s),
			"C1": math.Round(10 * s), "C2": 3.7 * s / 7, "C3": math.Round(100 * s), "C4": 50 + 50*s/1.1, "C5": 60 + 40*s,
			"D1": 60 + 35*s/1.3, "D2": 60 + 40*s, "D3": math.Round(20 * s)}
		in.Values[r.Code] = map[string]engine.Value{}
		for code, x := range vals {
			in.Values[r.Code][code] = engine.Value{Number: x, Status: engine.StatusVerified}
		}
	}
	in.Values["140200"]["F1"] = engine.Value{Number: 120, Status: engine.StatusVerified}
	in.Values["140300"]["B4"] = engine.Value{Number: 9, Status: engine.StatusSubmitted}
	in.Values["149900"]["A3"] = engine.Value{NotApplicable: true, Status: engine.StatusVerified}
	res, sens := score(tb, in, engine.SensitivityOptions{Seed: 7, Draws: 60})
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	return RunData{Info: RunInfo{ID: "0190aaaa-run", CycleID: "cycle-1", CycleName: "2024 年度考核", CycleYear: 2024,
		SchemeID: "scheme-1", SchemeVersion: 3, EngineVersion: engine.EngineVersion, Seed: 1<<62 + 12345,
		CreatedAt: at, PublishedAt: &at}, Input: in, Result: res, Sensitivity: &sens}
}

// readBook writes the workbook of d and opens it again.
func readBook(tb testing.TB, d RunData) *excelize.File {
	tb.Helper()
	var buf bytes.Buffer
	if err := Workbook(&buf, d); err != nil {
		tb.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = x.Close() })
	return x
}

// rowsOf reads a sheet with raw cell values: numbers as stored.
func rowsOf(tb testing.TB, x *excelize.File, sheet string) [][]string {
	tb.Helper()
	rows, err := x.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

// cellNumber reads a numeric cell: it must be stored as a number, and the
// number must be exactly want.
func cellNumber(tb testing.TB, x *excelize.File, sheet string, col, row int, want engine.Number) {
	tb.Helper()
	ref, _ := excelize.CoordinatesToCellName(col, row)
	v, err := x.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		tb.Fatal(err)
	}
	if !want.Valid {
		if v != "" {
			tb.Errorf("%s!%s = %q, want empty", sheet, ref, v)
		}
		return
	}
	typ, err := x.GetCellType(sheet, ref)
	if err != nil {
		tb.Fatal(err)
	}
	if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		tb.Errorf("%s!%s is of type %v, want a number", sheet, ref, typ)
	}
	got, err := strconv.ParseFloat(v, 64)
	if err != nil || got != want.Value {
		tb.Errorf("%s!%s = %q, want %v exactly", sheet, ref, v, want.Value)
	}
}

func valid(x float64) engine.Number { return engine.Number{Value: x, Valid: true} }

func rankNumber(r int) engine.Number { return engine.Number{Value: float64(r), Valid: r != 0} }

// TestWorkbookNumbers writes a run's workbook and reads every score, rank,
// grade, dimension score, indicator score and sensitivity figure back,
// exactly, from numeric cells.
func TestWorkbookNumbers(t *testing.T) {
	d := runData(t)
	x := readBook(t, d)
	if got := x.GetSheetList(); !slices.Equal(got, []string{SheetResults, SheetIndicators, SheetRules, SheetSensitivity, SheetAbout}) {
		t.Fatalf("sheets %q", got)
	}

	results := rowsOf(t, x, SheetResults)
	if len(results) != 1+len(d.Result.Regions) {
		t.Fatalf("results sheet has %d rows, want a header and %d regions", len(results), len(d.Result.Regions))
	}
	if results[0][0] != "排名 Rank" {
		t.Errorf("results header %q", results[0])
	}
	// The workbook writes a grade by its bilingual name, as the default
	// scheme names it; no grade is an empty cell.
	gradeCell := map[string]string{"excellent": "优秀 Excellent", "good": "良好 Good", "pass": "合格 Pass",
		"fail": "不合格 Fail", "": ""}
	lastRank := 0
	for i, row := range results[1:] {
		rr, ok := d.Result.Region(row[1])
		if !ok {
			t.Fatalf("results row %d names region %q", i+2, row[1])
		}
		if rr.Rank != 0 && rr.Rank < lastRank {
			t.Errorf("region %s of rank %d listed after rank %d", rr.Code, rr.Rank, lastRank)
		}
		lastRank = max(lastRank, rr.Rank)
		cellNumber(t, x, SheetResults, 1, i+2, rankNumber(rr.Rank))
		cellNumber(t, x, SheetResults, 5, i+2, rr.Score)
		if row[6] != gradeCell[rr.Grade] || row[5] != gradeCell[rr.BandGrade] {
			t.Errorf("region %s grades %q/%q, want %s/%s", rr.Code, row[5], row[6], rr.BandGrade, rr.Grade)
		}
		if row[7] != rr.GradeRule {
			t.Errorf("region %s capped by %q, want %q", rr.Code, row[7], rr.GradeRule)
		}
		for j, dr := range rr.Dimensions {
			cellNumber(t, x, SheetResults, 10+j, i+2, dr.Score)
		}
	}
	capped := 0
	for _, rr := range d.Result.Regions {
		if rr.GradeRule == "R1" {
			capped++
		}
	}
	if capped == 0 {
		t.Fatalf("no region capped by R1; the data do not exercise the rule columns")
	}

	row := 2
	for _, rr := range d.Result.Regions {
		for _, ir := range rr.Indicators {
			got := rowsOf(t, x, SheetIndicators)[row-1]
			if got[0] != rr.Code || got[3] != ir.Code {
				t.Fatalf("indicator row %d is %s/%s, want %s/%s", row, got[0], got[3], rr.Code, ir.Code)
			}
			for col, want := range []engine.Number{ir.Raw, ir.Value, ir.Z, ir.Score, valid(ir.Weight), valid(ir.Contribution)} {
				cellNumber(t, x, SheetIndicators, 7+col, row, want)
			}
			row++
		}
	}
	if n := len(rowsOf(t, x, SheetIndicators)); n != row-1 {
		t.Errorf("indicator sheet has %d rows, want %d", n, row-1)
	}

	sens := rowsOf(t, x, SheetSensitivity)
	if len(sens) != 1+len(d.Sensitivity.Regions) {
		t.Fatalf("sensitivity sheet has %d rows", len(sens))
	}
	for i, rs := range d.Sensitivity.Regions {
		r := i + 2
		cellNumber(t, x, SheetSensitivity, 3, r, rs.NominalScore)
		cellNumber(t, x, SheetSensitivity, 4, r, rankNumber(rs.NominalRank))
		cellNumber(t, x, SheetSensitivity, 7, r, rankNumber(rs.MedianRank))
		cellNumber(t, x, SheetSensitivity, 8, r, rankNumber(rs.RankP5))
		cellNumber(t, x, SheetSensitivity, 9, r, rankNumber(rs.RankP95))
		for j, g := range rs.Grades {
			cellNumber(t, x, SheetSensitivity, 10+j, r, valid(g.Probability))
		}
	}

	about := rowsOf(t, x, SheetAbout)
	var seed, year string
	for _, r := range about {
		switch {
		case strings.HasPrefix(r[0], "随机种子"):
			seed = r[1]
		case strings.HasPrefix(r[0], "考核年度"):
			year = r[1]
		}
	}
	if seed != strconv.FormatInt(d.Info.Seed, 10) || year != "2024" {
		t.Errorf("about sheet: seed %q, year %q", seed, year)
	}
}

// TestWorkbookGuardsText checks that no text cell of any sheet starts as a
// formula would, that hostile texts arrive whole behind their apostrophe,
// and that no cell is a formula.
func TestWorkbookGuardsText(t *testing.T) {
	x := readBook(t, runData(t))
	found := map[string]bool{}
	for _, sheet := range x.GetSheetList() {
		rows := rowsOf(t, x, sheet)
		for r, row := range rows {
			for c, v := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if f, _ := x.GetCellFormula(sheet, ref); f != "" {
					t.Errorf("%s!%s is a formula: %q", sheet, ref, f)
				}
				if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
					if _, err := strconv.ParseFloat(v, 64); err != nil {
						t.Errorf("%s!%s starts as a formula: %q", sheet, ref, v)
					}
				}
				for _, h := range []string{hostileName, hostilePlus, hostileMessage} {
					if v == "'"+h || strings.HasPrefix(v, "'"+h) {
						found[h] = true
					}
				}
				if v == hostileScript {
					found[hostileScript] = true
				}
			}
		}
	}
	for _, h := range []string{hostileName, hostilePlus, hostileMessage, hostileScript} {
		if !found[h] {
			t.Errorf("the workbook lacks %q (guarded when it starts as a formula)", h)
		}
	}
}

// TestWorkbookWithoutSensitivity says so rather than leaving an empty sheet.
func TestWorkbookWithoutSensitivity(t *testing.T) {
	d := runData(t)
	d.Sensitivity = nil
	rows := rowsOf(t, readBook(t, d), SheetSensitivity)
	if len(rows) != 2 || !strings.Contains(rows[1][0], "没有敏感性分析") {
		t.Fatalf("sensitivity sheet without an analysis: %q", rows)
	}
}

// TestHandover lists every region × indicator with the value, status and
// source the run read, and writes them as CSV for Excel and as JSON.
func TestHandover(t *testing.T) {
	d := runData(t)
	rows := Handover(d)
	sc := d.Input.Scheme
	if len(rows) != len(d.Input.Regions)*len(sc.Indicators) {
		t.Fatalf("%d rows, want %d regions × %d indicators", len(rows), len(d.Input.Regions), len(sc.Indicators))
	}
	byKey := map[string]HandoverRow{}
	for _, r := range rows {
		if r.RunID != d.Info.ID || r.SchemeID != "scheme-1" || r.SchemeVersion != 3 || r.CycleYear != 2024 || r.SchemeCode != sc.Code {
			t.Fatalf("row without its run: %+v", r)
		}
		byKey[r.RegionCode+"/"+r.IndicatorCode] = r
	}
	given := func(region, code string) *float64 {
		x := d.Input.Values[region][code].Number
		return &x
	}
	for _, tc := range []struct {
		key, status, source string
		value               *float64
		na                  bool
	}{
		{"140100/C2", "verified", "reported", given("140100", "C2"), false},
		{"140100/F1", HandoverMissing, "reported", nil, false},
		{"140200/F1", "verified", "reported", given("140200", "F1"), false},
		{"140300/B4", "submitted", "reported", given("140300", "B4"), false},
		{"149900/A3", "verified", "reported", nil, true},
		{"149900/D1", "verified", "survey:satisfaction", given("149900", "D1"), false},
	} {
		r := byKey[tc.key]
		if r.Status != tc.status || r.Source != tc.source || r.NotApplicable != tc.na || !samePtr(r.Value, tc.value) {
			t.Errorf("%s: %+v (value %v), want status %s, source %s, value %v, n/a %v", tc.key, r, deref(r.Value), tc.status, tc.source, deref(tc.value), tc.na)
		}
	}

	var buf bytes.Buffer
	if err := WriteHandoverCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\ufeff考核年度 cycle_year,")) {
		t.Fatalf("the CSV starts %q, want a byte-order mark and the bilingual header", buf.String()[:40])
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(rows) {
		t.Fatalf("%d CSV records, want %d", len(recs), 1+len(rows))
	}
	names := map[string]bool{}
	for i, rec := range recs[1:] {
		names[rec[6]] = true
		if v := rows[i].Value; v != nil {
			if got, err := strconv.ParseFloat(rec[10], 64); err != nil || got != *v {
				t.Errorf("CSV value %q, want %v exactly", rec[10], *v)
			}
		} else if rec[10] != "" {
			t.Errorf("CSV value %q for no value", rec[10])
		}
	}
	for _, want := range []string{"'" + hostileName, "'" + hostilePlus, hostileScript} {
		if !names[want] {
			t.Errorf("CSV region names %v lack %q", names, want)
		}
	}

	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("<script>")) {
		t.Errorf("JSON carries <script> unescaped")
	}
	var back []HandoverRow
	if err := json.Unmarshal(b, &back); err != nil || back[0].RegionName != hostileName {
		t.Errorf("JSON region name %q, want %q intact (%v)", back[0].RegionName, hostileName, err)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func samePtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// TestFileName names downloads by year, region and run, nothing else.
func TestFileName(t *testing.T) {
	info := RunInfo{ID: "0190-abc", CycleYear: 2024}
	if got := FileName("评价结果", info, "xlsx"); got != "评价结果-2024-0190-abc.xlsx" {
		t.Errorf("FileName = %q", got)
	}
	info.Region = "140100"
	if got := FileName("移交数据", info, "csv"); got != "移交数据-2024-140100-0190-abc.csv" {
		t.Errorf("FileName = %q", got)
	}
}
