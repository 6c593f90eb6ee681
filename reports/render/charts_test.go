package render

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/reports/static"
)

func result() engine.Result {
	num := func(x float64) engine.Number { return engine.Number{Value: x, Valid: true} }
	return engine.Result{
		Grades: []scheme.Grade{{Code: "excellent", Name: "优秀", Min: 90}, {Code: "good", Name: "良好", Min: 80},
			{Code: "pass", Name: "合格", Min: 60}, {Code: "fail", Name: "不合格", Min: 0}},
		// In code order, as a run stores them.
		Regions: []engine.RegionResult{
			{Code: "140100", Name: `太原市</script><script>alert("x")</script>`, Score: num(93.14), Rank: 1, BandGrade: "excellent", Grade: "good"},
			{Code: "140200", Name: "大同市", Score: num(81.26), Rank: 2, BandGrade: "good", Grade: "good"},
			{Code: "140300", Name: "阳泉市", Score: num(40), Rank: 0}, // not graded
		},
	}
}

// TestRankingOption draws graded regions best first, in their final
// grade's colour, names a capped region's lost grade, and keeps a hostile
// region name as data.
func TestRankingOption(t *testing.T) {
	b, err := RankingOption(result())
	var opt struct {
		XAxis  []struct{ Data []string } `json:"xAxis"`
		Series []struct {
			Data []struct {
				Name      string
				Value     float64
				ItemStyle struct{ Color string } `json:"itemStyle"`
			}
		}
	}
	decodeChart(t, b, err, &opt)
	if len(opt.XAxis) != 1 || len(opt.XAxis[0].Data) != 2 || !strings.HasPrefix(opt.XAxis[0].Data[0], "太原市") {
		t.Fatalf("regions %+v, want the two graded ones, Taiyuan first", opt.XAxis)
	}
	bars := opt.Series[0].Data
	if bars[0].Value != 93.1 || bars[0].Name != "良好（封顶，原为优秀）" || bars[0].ItemStyle.Color != gradeColours[1] {
		t.Fatalf("capped bar %+v", bars[0])
	}
	if bars[1].Value != 81.3 || bars[1].Name != "良好" {
		t.Fatalf("second bar %+v", bars[1])
	}
}

// TestAssetsOffline checks that the assets a page loads are in the binary
// and that none of them fetches from another host. Built without `make
// assets`, it fails under CI and skips on a laptop.
func TestAssetsOffline(t *testing.T) {
	if missing := static.Missing(); len(missing) > 0 {
		if testenv.InCI() {
			t.Fatalf("built without %v: run `make assets`", missing)
		}
		t.Skipf("built without %v: run `make assets`", missing)
	}
	// A script loading another script or style by URL would name a host.
	load := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`)
	err := fs.WalkDir(static.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		b, err := fs.ReadFile(static.FS(), path)
		if err != nil {
			return err
		}
		if m := load.Find(b); m != nil {
			t.Errorf("%s loads from another host: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMapAndGrades colours each graded region by its final grade — a
// capped 93 is 良好's colour, not 优秀's — and counts the grades.
func TestMapAndGrades(t *testing.T) {
	b, err := MapOption(result())
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Series []struct {
			Type, Map string
			Data      []mapArea
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Series) != 1 || m.Series[0].Type != "map" || m.Series[0].Map != ProvinceMap || len(m.Series[0].Data) != 2 {
		t.Fatalf("map series %s", b)
	}
	if a := m.Series[0].Data[0]; a.Value != 93.1 || a.ItemStyle.AreaColor != gradeColours[1] {
		t.Fatalf("capped region on the map: %+v", a)
	}
	b, err = GradesOption(result())
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Series []struct {
			Data []struct {
				Name  string
				Value int
			}
		}
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range p.Series[0].Data {
		got[d.Name] = d.Value
	}
	if len(got) != 4 || got["良好"] != 2 || got["优秀"] != 0 {
		t.Fatalf("grade counts %v, want two 良好 and none else", got)
	}
}

// TestHeatmapOption lays the graded regions out in rank order against the
// scheme's dimensions, a cell per scored dimension with its score to one
// decimal, and keeps a hostile region name as data.
func TestHeatmapOption(t *testing.T) {
	num := func(x float64) engine.Number { return engine.Number{Value: x, Valid: true} }
	res := result()
	// Stored in code order; 大同市 is listed first here to show that rank
	// decides the order, and its dimensions out of scheme order.
	res.Regions[0], res.Regions[1] = res.Regions[1], res.Regions[0]
	res.Regions[0].Dimensions = []engine.DimensionResult{{Code: "B", Score: num(70.04)}, {Code: "A", Score: num(60)}}
	res.Regions[1].Dimensions = []engine.DimensionResult{{Code: "A", Score: num(95.26)}, {Code: "B"}} // B not scored
	res.Regions[2].Dimensions = []engine.DimensionResult{{Code: "A", Score: num(10)}}                 // not graded
	sc := scheme.Scheme{Dimensions: []scheme.Dimension{{Code: "A", Name: "甲"}, {Code: "B", Name: "乙"}}}
	b, err := HeatmapOption(sc, res)
	var opt struct {
		XAxis []struct{ Data []string } `json:"xAxis"`
		YAxis []struct {
			Data    []string
			Inverse bool
		} `json:"yAxis"`
		VisualMap []struct{ Max float64 } `json:"visualMap"`
		Series    []struct {
			Type string
			Data []struct{ Value []float64 }
		}
	}
	decodeChart(t, b, err, &opt)
	if !slices.Equal(opt.XAxis[0].Data, []string{"甲", "乙"}) || !slices.Equal(opt.YAxis[0].Data, []string{result().Regions[0].Name, "大同市"}) ||
		!opt.YAxis[0].Inverse || opt.VisualMap[0].Max != 100 {
		t.Fatalf("axes %+v %+v, want the dimensions and the graded regions best on top", opt.XAxis, opt.YAxis)
	}
	var cells []string
	for _, c := range opt.Series[0].Data {
		cells = append(cells, fmt.Sprint(c.Value))
	}
	if want := []string{"[0 0 95.3]", "[1 1 70]", "[0 1 60]"}; opt.Series[0].Type != "heatmap" || !slices.Equal(cells, want) {
		t.Fatalf("cells %v, want %v", cells, want)
	}
}

// TestSensitivityOption draws each region ranked in some draw as a box
// from its 5th to its 95th percentile rank with the median inside, and a
// dot at its nominal rank, nominally ranked regions first by rank; a
// region never ranked is left out.
func TestSensitivityOption(t *testing.T) {
	sens := engine.SensitivityResult{Regions: []engine.RegionSensitivity{
		{Code: "140100", Name: `太原"<script>`, NominalRank: 2, RankedDraws: 100, RankP5: 1, MedianRank: 2, RankP95: 3},
		{Code: "140200", Name: "大同市", NominalRank: 1, RankedDraws: 100, RankP5: 1, MedianRank: 1, RankP95: 2},
		{Code: "140300", Name: "阳泉市", NominalRank: 0, RankedDraws: 40, RankP5: 3, MedianRank: 4, RankP95: 4},
		{Code: "140400", Name: "长治市"}, // never ranked
	}}
	b, err := SensitivityOption(sens)
	var opt struct {
		XAxis []struct{ Data []string } `json:"xAxis"`
		YAxis []struct {
			Inverse  bool
			Min, Max float64
		} `json:"yAxis"`
		Series []struct {
			Type string
			Data []struct{ Value any }
		}
	}
	decodeChart(t, b, err, &opt)
	if !slices.Equal(opt.XAxis[0].Data, []string{"大同市", `太原"<script>`, "阳泉市"}) {
		t.Fatalf("regions %v, want by nominal rank, the unranked one last and the never-ranked left out", opt.XAxis[0].Data)
	}
	if y := opt.YAxis[0]; !y.Inverse || y.Min != 0.5 || y.Max != 4.5 {
		t.Errorf("rank axis %+v, want rank 1 on top, from 0.5 to 4.5", y)
	}
	if len(opt.Series) != 2 || opt.Series[0].Type != "boxplot" || opt.Series[1].Type != "scatter" {
		t.Fatalf("series %s", b)
	}
	var boxes, dots []string
	for i := range opt.Series[0].Data {
		boxes = append(boxes, fmt.Sprint(opt.Series[0].Data[i].Value))
		dots = append(dots, fmt.Sprint(opt.Series[1].Data[i].Value))
	}
	if want := []string{"[1 1 1 2 2]", "[1 1 2 3 3]", "[3 3 4 4 4]"}; !slices.Equal(boxes, want) {
		t.Errorf("boxes %v, want %v", boxes, want)
	}
	if want := []string{"1", "2", "-"}; !slices.Equal(dots, want) {
		t.Errorf("nominal ranks %v, want %v", dots, want)
	}
}

// TestScoreChangesOption shows each change to one decimal, a gain green
// and a loss red.
func TestScoreChangesOption(t *testing.T) {
	b, err := ScoreChangesOption([]ScoreChange{{Name: `太原"<script>`, From: 80, To: 82.46}, {Name: "大同市", From: 70, To: 64.9}})
	var opt struct {
		XAxis  []struct{ Data []string } `json:"xAxis"`
		Series []struct {
			Data []struct {
				Value     float64
				ItemStyle struct{ Color string } `json:"itemStyle"`
			}
		}
	}
	decodeChart(t, b, err, &opt)
	bars := opt.Series[0].Data
	if !slices.Equal(opt.XAxis[0].Data, []string{`太原"<script>`, "大同市"}) || bars[0].Value != 2.5 || bars[0].ItemStyle.Color != gradeColours[0] ||
		bars[1].Value != -5.1 || bars[1].ItemStyle.Color != gradeColours[3] {
		t.Fatalf("score changes %s", b)
	}
}

// decodeChart checks that a chart option was made and keeps every name
// inside its JSON data (no "<script>" survives escaping), and decodes it
// into v.
func decodeChart(t *testing.T, b []byte, err error, v any) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "<script>") || strings.Contains(string(b), "</script>") {
		t.Fatalf("a region name escapes the data block: %s", b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
