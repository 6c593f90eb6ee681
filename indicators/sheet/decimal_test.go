package sheet_test

import (
	"testing"

	"github.com/ipeval/ipeval/indicators/sheet"
)

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"12", 12, true}, {"-0.5", -0.5, true}, {"+.5", 0.5, true}, {"1e3", 1000, true}, {"1.", 1, true},
		{"", 0, false}, {"0x1p3", 0, false}, {"1_000", 0, false}, {"NaN", 0, false}, {"Inf", 0, false},
		{"-infinity", 0, false}, {"1e999", 0, false}, {"1,5", 0, false}, {" 1", 0, false}, {"85%", 0, false},
	} {
		got, ok := sheet.ParseDecimal(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
