package scheme

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
)

// TestProbe08RuleCostBounded: a rule whose cost could be unbounded is
// refused when the scheme is saved, with a bilingual problem at the rule's
// path; sensible rules, and ranges and predicates within the bounds, pass.
func TestProbe08RuleCostBounded(t *testing.T) {
	sum := strings.Repeat("len(1..1000) + ", 60) + "0 > 0"
	for _, tc := range []struct {
		when string
		code string // "" = accepted
	}{
		{`all(1..100000, {all(1..100000, {# > 0})})`, "too_costly"},
		{`len(1..2000000000) > 0`, "too_costly"},
		{`1 in 1..2000000000`, "too_costly"},
		{`all(1..1000, {all(1..10, {# > 0})})`, "too_costly"},
		{`all([1, 2], {all([1, 2], {# > 0})})`, "too_costly"},
		{`any(1..10, {# in 1..10})`, "too_costly"},
		{`len(1..int(F1)) > 0`, "too_costly"},
		{`len(repeat("x", 1000000000000)) > 0`, "too_costly"},
		{`len(reduce(1..40, #acc + #acc, "x")) > 0`, "too_costly"},
		{`let a = 1..300; all(a, {all(a, {# > 0})})`, "too_costly"},
		{sum, "too_costly"},
		{`F1 <= 0 && kind in ["prefecture_city", "reform_zone"]`, ""},
		{`all(1..1000, {# > 0}) and any([1, 2, 3], {# == F1})`, ""},
		{`len(-5..5) == 11 and count(map(1..10, {# * 2}), {# > 4}) > 0`, ""},
	} {
		t.Run(tc.when[:min(len(tc.when), 40)], func(t *testing.T) {
			s := Default()
			s.Rules[0].When = tc.when
			err := s.Validate()
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *fault.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("accepted (%v)", err)
			}
			want := fmt.Sprintf("rules[%s].when", s.Rules[0].ID)
			for _, fe := range ve.Errors {
				if fe.Field == want && fe.Code == tc.code && fe.Message != "" && fe.MessageEn != "" {
					return
				}
			}
			t.Errorf("no %s at %s: %v", tc.code, want, ve)
		})
	}
}
