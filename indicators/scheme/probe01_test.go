package scheme

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
)

// TestProbe01ValueMagnitude: a value beyond ±MaxMagnitude is refused with
// the bound in both languages, whatever the indicator's own range says.
func TestProbe01ValueMagnitude(t *testing.T) {
	open := Indicator{Code: "B1"}
	wide := Indicator{Code: "W", Min: ptr(-MaxMagnitude), Max: ptr(MaxMagnitude)}
	for _, tc := range []struct {
		ind  Indicator
		x    float64
		code string
	}{
		{open, math.MaxFloat64, CodeOutOfScale},
		{open, 1e308, CodeOutOfScale},
		{open, -1e308, CodeOutOfScale},
		{open, math.Nextafter(MaxMagnitude, math.Inf(1)), CodeOutOfScale},
		{wide, -1e16, CodeOutOfScale},
		{open, MaxMagnitude, ""},
		{wide, -MaxMagnitude, ""},
		{open, math.SmallestNonzeroFloat64, ""},
		{open, math.Copysign(0, -1), ""},
	} {
		fe := tc.ind.CheckValue(tc.x)
		switch {
		case tc.code == "" && fe != nil:
			t.Errorf("%s %g refused: %+v", tc.ind.Code, tc.x, fe)
		case tc.code != "" && (fe == nil || fe.Code != tc.code):
			t.Errorf("%s %g: got %+v, want %s", tc.ind.Code, tc.x, fe, tc.code)
		case fe != nil && (!strings.Contains(fe.Message, "1e15") || !strings.Contains(fe.MessageEn, "1e15")):
			t.Errorf("%g: messages do not state the bound: %+v", tc.x, fe)
		}
	}
}

// TestProbe01SchemeBounds: a scheme cannot promise values, or place
// goalposts and frontiers, beyond ±MaxMagnitude, nor weigh beyond it.
func TestProbe01SchemeBounds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Scheme)
		path   string
	}{
		{"max 1e308", func(s *Scheme) { s.Indicators[iC2].Max = ptr(1e308) }, "indicators[10].max"},
		{"min -MaxFloat64", func(s *Scheme) { s.Indicators[iC2].Min = ptr(-math.MaxFloat64) }, "indicators[10].min"},
		{"goalpost 1e16", func(s *Scheme) { s.Indicators[iA2].Normalisation.Upper = ptr(1e16) }, "indicators[1].normalisation.upper"},
		{"frontier -1e308", func(s *Scheme) {
			s.Indicators[iC2].Normalisation = Normalisation{Method: MethodDTF, Worst: ptr(-1e308), Best: ptr(0)}
		}, "indicators[10].normalisation.worst"},
		{"weight 1e308", func(s *Scheme) { s.Indicators[iC2].Weight = 1e308 }, "indicators[10].weight"},
		{"dimension weight 1e300", func(s *Scheme) { s.Dimensions[0].Weight = 1e300 }, "dimensions[0].weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Default()
			tc.mutate(&s)
			var ve *fault.ValidationError
			if err := s.Validate(); !errors.As(err, &ve) {
				t.Fatalf("accepted: %v", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tc.path && fe.Code == CodeOutOfScale {
					return
				}
			}
			t.Errorf("no %s at %s in %v", CodeOutOfScale, tc.path, ve)
		})
	}
	s := Default()
	s.Indicators[iC2].Max, s.Indicators[iC2].Min = ptr(MaxMagnitude), ptr(-MaxMagnitude)
	if err := s.Validate(); err != nil {
		t.Errorf("bounds at ±MaxMagnitude refused: %v", err)
	}
}
