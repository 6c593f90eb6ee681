package scheme

import (
	"reflect"
	"testing"

	"github.com/ipeval/ipeval/internal/regions/kind"
)

func compiledR1(t *testing.T) CompiledRule {
	t.Helper()
	rules, err := Default().CompileRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].ID != "R1" {
		t.Fatalf("rules = %+v", rules)
	}
	return rules[0]
}

func TestRuleR1(t *testing.T) {
	r1 := compiledR1(t)
	funded := map[string]Value{"F1": {Number: 100}}
	unfunded := map[string]Value{"F1": {Number: 0}}
	for _, tc := range []struct {
		name     string
		kind     kind.Kind
		values   map[string]Value
		fired    bool
		readF1   any
		readKind string
	}{
		{"prefecture city without funding", kind.PrefectureCity, unfunded, true, 0.0, "prefecture_city"},
		{"prefecture city with funding missing", kind.PrefectureCity, map[string]Value{"F1": {Missing: true}}, true, nil, "prefecture_city"},
		{"prefecture city with no F1 entry", kind.PrefectureCity, nil, true, nil, "prefecture_city"},
		{"prefecture city with funding", kind.PrefectureCity, funded, false, 100.0, "prefecture_city"},
		{"reform zone with negative funding", kind.ReformZone, map[string]Value{"F1": {Number: -1}}, true, -1.0, "reform_zone"},
		{"pilot park without funding", kind.PilotPark, unfunded, true, 0.0, "pilot_park"},
		{"pilot county with funding", kind.PilotCounty, funded, false, 100.0, "pilot_county"},
		{"county without funding", kind.County, unfunded, false, 0.0, "county"},
		{"park with funding missing", kind.Park, nil, false, nil, "park"},
		{"prefecture city, F1 not applicable", kind.PrefectureCity, map[string]Value{"F1": {NotApplicable: true}}, true, "not_applicable", "prefecture_city"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fired, read, err := r1.Eval(RuleInput{RegionCode: "140100", Kind: tc.kind, Values: tc.values})
			if err != nil {
				t.Fatal(err)
			}
			if fired != tc.fired {
				t.Errorf("fired = %v, want %v", fired, tc.fired)
			}
			want := map[string]any{"F1": tc.readF1, "kind": tc.readKind}
			if !reflect.DeepEqual(read, want) {
				t.Errorf("read = %#v, want %#v", read, want)
			}
		})
	}
}

func TestRuleHelpers(t *testing.T) {
	s := Default()
	in := RuleInput{RegionCode: "140100", Kind: kind.PilotPark, Values: map[string]Value{
		"A1": {Number: 1},
		"B1": {NotApplicable: true},
		"C2": {Number: 2.5},
		"F1": {Missing: true},
	}}
	for _, tc := range []struct {
		when  string
		fired bool
		read  map[string]any
	}{
		{`missing("F1")`, true, map[string]any{"F1": nil}},
		{`missing("A1")`, false, map[string]any{"A1": 1.0}},
		{`missing("D3")`, true, map[string]any{"D3": nil}},
		{`missing("B1")`, false, map[string]any{"B1": "not_applicable"}},
		{`not_applicable("B1") and B1 == 0`, true, map[string]any{"B1": "not_applicable"}},
		{`value("C2") == C2 and C2 > 2`, true, map[string]any{"C2": 2.5}},
		{`F1 == 0`, true, map[string]any{"F1": nil}},
		{`in_kinds("pilot_park", "park")`, true, map[string]any{"kind": "pilot_park"}},
		{`in_kinds("county")`, false, map[string]any{"kind": "pilot_park"}},
		{`code == "140100"`, true, map[string]any{"code": "140100"}},
		{`kind != "county" or A1 > 0`, true, map[string]any{"kind": "pilot_park", "A1": 1.0}},
		{`true`, true, map[string]any{}},
	} {
		t.Run(tc.when, func(t *testing.T) {
			s.Rules[0].When = tc.when
			rules, err := s.CompileRules()
			if err != nil {
				t.Fatal(err)
			}
			fired, read, err := rules[0].Eval(in)
			if err != nil {
				t.Fatal(err)
			}
			if fired != tc.fired {
				t.Errorf("fired = %v, want %v", fired, tc.fired)
			}
			if !reflect.DeepEqual(read, tc.read) {
				t.Errorf("read = %#v, want %#v", read, tc.read)
			}
		})
	}
}

// TestRuleReadsShortCircuited checks that a value the evaluation skipped is
// still reported: the explanation lists what the rule is about, not what
// the VM happened to touch.
func TestRuleReadsShortCircuited(t *testing.T) {
	r1 := compiledR1(t)
	_, read, err := r1.Eval(RuleInput{Kind: kind.County})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := read["F1"]; !ok {
		t.Errorf("read = %v, want F1 listed", read)
	}
}

func TestRuleUncompiled(t *testing.T) {
	var c CompiledRule
	c.ID = "R9"
	if _, _, err := c.Eval(RuleInput{}); err == nil {
		t.Fatal("Eval of an uncompiled rule succeeded")
	}
}

func TestRuleRuntimeError(t *testing.T) {
	s := Default()
	s.Rules[0].When = `[1, 2][int(F1)] > 0`
	rules, err := s.CompileRules()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rules[0].Eval(RuleInput{Values: map[string]Value{"F1": {Number: 7}}}); err == nil {
		t.Fatal("want an index-out-of-range error")
	}
}

func BenchmarkRuleR1(b *testing.B) {
	rules, err := Default().CompileRules()
	if err != nil {
		b.Fatal(err)
	}
	in := RuleInput{RegionCode: "140100", Kind: kind.PrefectureCity, Values: map[string]Value{"F1": {Number: 0}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := rules[0].Eval(in); err != nil {
			b.Fatal(err)
		}
	}
}
