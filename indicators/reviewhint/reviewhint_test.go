package reviewhint

import (
	"slices"
	"testing"
)

func ptr(x float64) *float64 { return &x }

func codes(hs []Hint) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Code)
	}
	return out
}

func TestFor(t *testing.T) {
	peers := []float64{10, 11, 12, 13} // Q1 10.75, Q3 12.25, fences 8.5 and 14.5
	for _, tc := range []struct {
		name string
		in   Input
		want []string
	}{
		{"nothing", Input{Number: ptr(12), Previous: ptr(10), Peers: peers, Min: ptr(0), Max: ptr(100)}, nil},
		{"up 51%", Input{Number: ptr(151), Previous: ptr(100)}, []string{LastCycle}},
		{"up 50% exactly", Input{Number: ptr(150), Previous: ptr(100)}, nil},
		{"down 60%", Input{Number: ptr(40), Previous: ptr(100)}, []string{LastCycle}},
		{"negative previous", Input{Number: ptr(-1), Previous: ptr(-4)}, []string{LastCycle}},
		{"from zero", Input{Number: ptr(1), Previous: ptr(0)}, []string{LastCycle}},
		{"zero to zero", Input{Number: ptr(0), Previous: ptr(0)}, nil},
		{"above fences", Input{Number: ptr(14.6), Peers: peers}, []string{Peers}},
		{"below fences", Input{Number: ptr(8.4), Peers: peers}, []string{Peers}},
		{"on a fence", Input{Number: ptr(14.5), Peers: peers}, nil},
		{"too few peers", Input{Number: ptr(1000), Peers: peers[:3]}, nil},
		{"at min", Input{Number: ptr(0), Min: ptr(0)}, []string{RangeEdge}},
		{"at max", Input{Number: ptr(100), Min: ptr(0), Max: ptr(100)}, []string{RangeEdge}},
		{"evidence missing", Input{Number: ptr(5), EvidenceRequired: true}, []string{EvidenceMissing}},
		{"evidence attached", Input{Number: ptr(5), EvidenceRequired: true, Evidence: 1}, nil},
		{"not applicable needs nothing", Input{EvidenceRequired: true, Previous: ptr(3)}, nil},
		{"after a return", Input{Number: ptr(5), Returned: true, ReturnComment: "请核实"}, []string{AfterReturn}},
		{"several", Input{Number: ptr(0), Previous: ptr(10), Min: ptr(0), EvidenceRequired: true, Returned: true},
			[]string{LastCycle, RangeEdge, EvidenceMissing, AfterReturn}},
	} {
		hs := For(tc.in)
		if got := codes(hs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: hints %v, want %v", tc.name, got, tc.want)
		}
		for _, h := range hs {
			if h.Message == "" || h.MessageEn == "" {
				t.Errorf("%s: hint %s says no reason in both languages", tc.name, h.Code)
			}
		}
	}
	if h := For(Input{Number: ptr(151), Previous: ptr(100)}); h[0].MessageEn != "changed by +51% from last cycle's 100" {
		t.Errorf("last cycle's reason: %q", h[0].MessageEn)
	}
}

func TestMedianFences(t *testing.T) {
	if _, ok := Median(nil); ok {
		t.Error("median of nothing")
	}
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{4, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if m, _ := Median(tc.xs); m != tc.want {
			t.Errorf("median %v = %v, want %v", tc.xs, m, tc.want)
		}
	}
	lo, hi, ok := Fences([]float64{13, 10, 12, 11})
	if !ok || lo != 8.5 || hi != 14.5 {
		t.Errorf("fences %v %v %v", lo, hi, ok)
	}
}
