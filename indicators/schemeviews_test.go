package indicators_test

import (
	"math"
	"testing"

	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// TestDetailOf lays out the default scheme as the 细则 table: the points
// of the dimensions make 100, each dimension's indicators make its points,
// F1 (weight 0) is listed apart as collected for rules, and the grade bands
// run up from each Min to the next.
func TestDetailOf(t *testing.T) {
	d := indicators.DetailOf(scheme.Default())
	total := 0.0
	for _, dim := range d.Dimensions {
		total += dim.Points
		sum := 0.0
		for _, ind := range dim.Indicators {
			sum += ind.Points
			if ind.Rule.Zh == "" || ind.Rule.En == "" {
				t.Errorf("%s has no rule in words", ind.Code)
			}
		}
		if math.Abs(sum-dim.Points) > 0.05 {
			t.Errorf("dimension %s: indicators make %.2f points, want %.2f", dim.Code, sum, dim.Points)
		}
	}
	if math.Abs(total-100) > 1e-9 {
		t.Errorf("dimensions make %.2f points, want 100", total)
	}
	if len(d.Unscored) != 1 || d.Unscored[0].Code != "F1" || !d.Unscored[0].EvidenceRequired {
		t.Errorf("unscored = %+v, want F1 with evidence", d.Unscored)
	}
	if g := d.Grades; g[0].HasMax || !g[1].HasMax || g[1].Max != g[0].Min {
		t.Errorf("grade bands = %+v", g)
	}
	if len(d.Rules) != 1 || d.Rules[0].Effects.En != "the grade is at most “Good”; not eligible for awards" {
		t.Errorf("rules = %+v", d.Rules)
	}
}
