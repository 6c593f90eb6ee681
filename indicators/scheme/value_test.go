package scheme

import (
	"math"
	"testing"
)

func TestCheckValue(t *testing.T) {
	s := Default()
	ind := func(code string) Indicator {
		i, ok := s.Indicator(code)
		if !ok {
			t.Fatalf("no indicator %s", code)
		}
		return i
	}
	count, pct, yesno, money := ind("A2"), ind("C4"), ind("A1"), ind("F1")
	for _, tc := range []struct {
		name string
		ind  Indicator
		x    float64
		code string // "" = accepted
	}{
		{"NaN", money, math.NaN(), "not_finite"},
		{"+Inf", money, math.Inf(1), "not_finite"},
		{"-Inf", pct, math.Inf(-1), "not_finite"},
		{"negative count", count, -1, "below_min"},
		{"non-integer count", count, 2.5, "not_integer"},
		{"count", count, 12, ""},
		{"zero count", count, 0, ""},
		{"percentage over 100", pct, 100.5, "above_max"},
		{"percentage 100", pct, 100, ""},
		{"fractional percentage", pct, 87.25, ""},
		{"negative percentage", pct, -0.1, "below_min"},
		{"yes", yesno, 1, ""},
		{"no", yesno, 0, ""},
		{"binary 0.5", yesno, 0.5, "not_binary"},
		{"binary 2", yesno, 2, "not_binary"},
		{"negative funding", money, -10, "below_min"},
		{"fractional funding", money, 12.5, ""},
		{"unbounded", Indicator{Code: "X"}, -1e9, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := tc.ind.CheckValue(tc.x)
			if tc.code == "" {
				if fe != nil {
					t.Fatalf("refused: %+v", fe)
				}
				return
			}
			if fe == nil {
				t.Fatalf("accepted, want %s", tc.code)
			}
			if fe.Code != tc.code || fe.Message == "" || fe.MessageEn == "" {
				t.Errorf("got %+v, want code %s with zh and en messages", fe, tc.code)
			}
			if fe.Field != "" || fe.Row != 0 || fe.Column != "" {
				t.Errorf("location is the caller's to fill: %+v", fe)
			}
		})
	}
}
