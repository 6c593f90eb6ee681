package scheme

import (
	"reflect"
	"testing"
	"time"

	"github.com/ipeval/ipeval/regions/kind"
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

// TestRuleClockRefused refuses a condition that reads the clock: a rule's
// answer depends on the region's inputs alone.
func TestRuleClockRefused(t *testing.T) {
	sc := Default()
	sc.Rules[0].When = `now().Hour() < 12`
	if _, err := sc.CompileRules(); err == nil {
		t.Fatal("a rule reading the clock compiled")
	}
}

// FuzzRuleExpression compiles arbitrary conditions as the default scheme's
// rule and evaluates those that compile against arbitrary inputs: no panic,
// an answer within a second, the same answer twice, and nothing read but
// the scheme's indicators, the region's kind and code.
func FuzzRuleExpression(f *testing.F) {
	for _, when := range []string{
		`F1 <= 0 && kind in ["prefecture_city", "reform_zone"]`,
		`missing("A2") || not_applicable("C2")`,
		`value("B1") / (A2 - A2) > 1`,
		`in_kinds("county", "park") and code startsWith "14"`,
		`$env["F1"] > 0`,
		`len(repeat(repeat("x", 1000000), 1000000)) > 0`,
		`reduce(1..1000, reduce(1..1000, #acc + 1, 0) + #acc, 0) > 0`,
		`all(1..100000000, # > 0)`,
		`now().Hour() < 12`,
		`let x = F1; x ** x ** x > 1e308`,
		`F9 > 0`,
		`1`,
	} {
		f.Add(when, uint8(0), 0.0, 5.0, false)
	}
	known := map[string]bool{nameKind: true, nameCode: true}
	for _, ind := range Default().Indicators {
		known[ind.Code] = true
	}
	f.Fuzz(func(t *testing.T, when string, k uint8, f1, a2 float64, a2Missing bool) {
		sc := Default()
		sc.Rules[0].When = when
		rules, err := sc.CompileRules()
		if err != nil {
			return
		}
		kinds := []kind.Kind{kind.Province, kind.PrefectureCity, kind.ReformZone, kind.County, kind.PilotPark}
		in := RuleInput{RegionCode: "140100", Kind: kinds[int(k)%len(kinds)],
			Values: map[string]Value{"F1": {Number: f1}, "A2": {Number: a2, Missing: a2Missing}}}
		type answer struct {
			fired bool
			read  map[string]any
			err   error
		}
		eval := func() answer {
			done := make(chan answer, 1)
			go func() {
				fired, read, err := rules[0].Eval(in)
				done <- answer{fired, read, err}
			}()
			select {
			case a := <-done:
				return a
			case <-time.After(time.Second):
				t.Fatalf("%q took over a second", when)
				return answer{}
			}
		}
		first, second := eval(), eval()
		if first.fired != second.fired || (first.err == nil) != (second.err == nil) {
			t.Fatalf("%q answered %v (%v), then %v (%v)", when, first.fired, first.err, second.fired, second.err)
		}
		for name := range first.read {
			if !known[name] {
				t.Fatalf("%q read %q, which is no indicator, kind or code", when, name)
			}
		}
	})
}
