package reports

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testenv"
)

func result() evaluation.Result {
	num := func(x float64) evaluation.Number { return evaluation.Number{Value: x, Valid: true} }
	return evaluation.Result{
		Grades: []scheme.Grade{{Code: "excellent", Name: "优秀", Min: 90}, {Code: "good", Name: "良好", Min: 80},
			{Code: "pass", Name: "合格", Min: 60}, {Code: "fail", Name: "不合格", Min: 0}},
		// In code order, as a run stores them.
		Regions: []evaluation.RegionResult{
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
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "</script>") || strings.Contains(string(b), "<script>") {
		t.Fatalf("a region name escapes the data block: %s", b)
	}
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
	if err := json.Unmarshal(b, &opt); err != nil {
		t.Fatal(err)
	}
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
	if missing := Missing(); len(missing) > 0 {
		if testenv.InCI() {
			t.Fatalf("built without %v: run `make assets`", missing)
		}
		t.Skipf("built without %v: run `make assets`", missing)
	}
	// A script loading another script or style by URL would name a host.
	load := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`)
	err := fs.WalkDir(Static(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		b, err := fs.ReadFile(Static(), path)
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
