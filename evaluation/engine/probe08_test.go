package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// TestProbe08RuleBudgetIsRegional: a rule within the static bounds that
// runs out of its memory budget for one region fails that region, naming
// the rule; the run and the other regions are scored as usual.
func TestProbe08RuleBudgetIsRegional(t *testing.T) {
	in := shanxiInput(nil)
	greedy := strings.Repeat("len(1..1000) + ", 11) + "0"
	in.Scheme.Rules = append(in.Scheme.Rules, scheme.Rule{ID: "R9", Basis: "测试", When: "F1 > 40 and " + greedy + " > 0",
		Message: "预算", MessageEn: "budget", Effects: []scheme.Effect{{Type: scheme.EffectAwardIneligible}}})
	if err := in.Scheme.Validate(); err != nil {
		t.Fatalf("the rule is within the static bounds, yet: %v", err)
	}
	p, err := Prepare(in)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	res := mustEvaluate(t, in, Options{})
	for _, rr := range res.Regions {
		switch rr.Code {
		case "140200": // F1 = 50: the rule runs its greedy part
			if rr.Status != StatusUnscorable || rr.Error == nil || rr.Error.Code != "rule_failed" ||
				!strings.Contains(rr.Error.Message, "R9") || !strings.Contains(rr.Error.MessageEn, "rule R9") {
				t.Errorf("%s: status %s, error %+v; want unscorable naming R9", rr.Code, rr.Status, rr.Error)
			}
		default:
			if rr.Status != StatusOK || rr.Grade == "" {
				t.Errorf("%s: status %s grade %q, want graded", rr.Code, rr.Status, rr.Grade)
			}
		}
	}
	sens, err := p.Sensitivity(context.Background(), SensitivityOptions{Seed: 1, Draws: 10, Workers: 1}, nil)
	if err != nil {
		t.Fatalf("Sensitivity: %v", err)
	}
	if _, err := json.Marshal(sens); err != nil {
		t.Fatal(err)
	}
}
