package scheme

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestDiff compares the default scheme with edited copies: each edit shows
// as exactly the changes listed, by code-named path, kind and values.
func TestDiff(t *testing.T) {
	ptr := func(x float64) *float64 { return &x }
	cases := []struct {
		name string
		edit func(s *Scheme)
		want []string // path kind from→to
	}{
		{"identical", func(*Scheme) {}, nil},
		{"version only", func(s *Scheme) { s.Version = 9 }, nil},
		{"reordered indicators", func(s *Scheme) { slices.Reverse(s.Indicators) }, nil},
		{"dimension weight", func(s *Scheme) { s.Dimensions[1].Weight = 30 },
			[]string{"dimensions[B].weight changed 25→30"}},
		{"indicator direction, bounds and evidence", func(s *Scheme) {
			ind := &s.Indicators[1] // A2, goalposts 0–10
			ind.Direction = DirectionDown
			ind.Normalisation.Upper = ptr(12)
			ind.Max = ptr(99)
			ind.EvidenceRequired = true
		}, []string{"indicators[A2].direction changed +→-", "indicators[A2].normalisation.upper changed 10→12",
			"indicators[A2].max changed →99", "indicators[A2].evidence_required changed false→true"}},
		{"indicator added and removed", func(s *Scheme) {
			s.Indicators[0].Code = "A9"
		}, []string{"indicators[A9] added →综合性知识产权公共服务机构建成 · 1", "indicators[A1] removed 综合性知识产权公共服务机构建成 · 1→"}},
		{"grade band and rule", func(s *Scheme) {
			s.Grades[0].Min = 85
			s.Rules[0].Effects = s.Rules[0].Effects[:1]
			s.Rules = append(s.Rules, Rule{ID: "R2", When: "A1 == 0", Effects: []Effect{{Type: EffectFlag}}, Message: "无机构"})
		}, []string{"grades[excellent].min changed 90→85", "rules[R1].effects changed cap_grade good, award_ineligible→cap_grade good",
			"rules[R2] added →"}},
		{"scheme settings", func(s *Scheme) { s.Aggregation = AggregationGeometric; s.OutlierTreatment = true },
			[]string{"aggregation changed arithmetic→geometric", "outlier_treatment changed false→true"}},
		{"dimension removed", func(s *Scheme) { s.Dimensions = s.Dimensions[:3] },
			[]string{"dimensions[D] removed 服务质量 · 25→"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := Default(), Default()
			c.edit(&b)
			var got []string
			for _, ch := range Diff(a, b) {
				got = append(got, fmt.Sprintf("%s %s %s→%s", ch.Path, ch.Kind, ch.From, ch.To))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("Diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestScoringRule checks the words of each normalisation against what the
// engine does, direction included.
func TestScoringRule(t *testing.T) {
	ptr := func(x float64) *float64 { return &x }
	cases := []struct {
		ind    Indicator
		zh, en string
	}{
		{Indicator{Normalisation: Normalisation{Method: MethodGoalposts, Lower: ptr(0), Upper: ptr(500)}, Direction: DirectionUp},
			"0 及以下得0分，500 及以上得100分", "0 or less scores 0, 500 or more scores 100"},
		{Indicator{Normalisation: Normalisation{Method: MethodGoalposts, Lower: ptr(1), Upper: ptr(5)}, Direction: DirectionDown},
			"5 及以上得0分，1 及以下得100分", "5 or more scores 0, 1 or less scores 100"},
		{Indicator{Normalisation: Normalisation{Method: MethodDTF, Worst: ptr(30), Best: ptr(2.5)}},
			"最差值 30 得0分，前沿值 2.5 得100分", "the worst value 30 scores 0, the frontier 2.5 scores 100"},
		{Indicator{Normalisation: Normalisation{Method: MethodMinMax}, Direction: DirectionDown}, "最低者得100分", "the lowest scores 100"},
		{Indicator{Normalisation: Normalisation{Method: MethodBinary}}, "是（1）得100分", "yes (1) scores 100"},
		{Indicator{Normalisation: Normalisation{Method: MethodZScore}}, "Z分数", "z-score"},
		{Indicator{Normalisation: Normalisation{Method: MethodRank}}, "排名", "by rank"},
		{Indicator{}, "不计分", "not scored"},
	}
	for _, c := range cases {
		t.Run(c.ind.Normalisation.Method+c.ind.Direction, func(t *testing.T) {
			w := ScoringRule(c.ind, false)
			if !strings.Contains(w.Zh, c.zh) || !strings.Contains(w.En, c.en) {
				t.Errorf("ScoringRule = %q / %q, want %q / %q", w.Zh, w.En, c.zh, c.en)
			}
		})
	}
	if w := ScoringRule(Indicator{Normalisation: Normalisation{Method: MethodMinMax}}, true); !strings.Contains(w.En, "winsorised") {
		t.Errorf("outlier treatment not said: %q", w.En)
	}
	if w := RangeWords(Indicator{Min: ptr(0), Max: ptr(1), Integer: true}); w.Zh != "0～1，整数" || w.En != "0 to 1, whole numbers" {
		t.Errorf("RangeWords = %+v", w)
	}
}
