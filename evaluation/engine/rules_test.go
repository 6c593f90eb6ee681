package engine

import (
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions/kind"
)

// shanxiValues are three regions' values for the default scheme: 140100
// is excellent on every indicator, 140200 middling, 140300 weak.
var shanxiValues = map[string]map[string]float64{
	"140100": {"A1": 1, "A2": 8, "A3": 8, "A4": 1, "A5": 10, "B1": 500, "B2": 20, "B3": 10, "B4": 10,
		"C1": 10, "C2": 50, "C3": 300, "C4": 90, "C5": 100, "D1": 90, "D2": 100, "D3": 40},
	"140200": {"A1": 1, "A2": 5, "A3": 4, "A4": 1, "A5": 5, "B1": 250, "B2": 10, "B3": 5, "B4": 5,
		"C1": 5, "C2": 20, "C3": 100, "C4": 80, "C5": 80, "D1": 80, "D2": 80, "D3": 20, "F1": 50},
	"140300": {"A1": 0, "A2": 1, "A3": 1, "A4": 0, "A5": 1, "B1": 50, "B2": 2, "B3": 1, "B4": 1,
		"C1": 1, "C2": 5, "C3": 10, "C4": 60, "C5": 65, "D1": 65, "D2": 65, "D3": 5, "F1": 30},
}

// shanxiInput is the default scheme with the three regions, all
// prefecture cities, every value verified; f1 sets 140100's funding (nil:
// not reported).
func shanxiInput(f1 *float64) Input {
	in := Input{Scheme: scheme.Default(), Values: map[string]map[string]Value{}}
	for _, code := range []string{"140100", "140200", "140300"} {
		in.Regions = append(in.Regions, Region{Code: code, Name: "市" + code, Kind: kind.PrefectureCity})
		in.Values[code] = map[string]Value{}
		for ic, x := range shanxiValues[code] {
			in.Values[code][ic] = verified(x)
		}
	}
	if f1 != nil {
		in.Values["140100"]["F1"] = verified(*f1)
	}
	return in
}

func TestRuleR1CapsUnfundedRegion(t *testing.T) {
	res := mustEvaluate(t, shanxiInput(ptr(0)), Options{})
	rr := mustRegion(t, res, "140100")
	if rr.Score.Value < 90 {
		t.Fatalf("score = %.2f, the test needs a score in the 优秀 band", rr.Score.Value)
	}
	if rr.BandGrade != "excellent" || rr.Grade != "good" || rr.GradeRule != "R1" {
		t.Errorf("band %s, grade %s by %q; want excellent, good by R1", rr.BandGrade, rr.Grade, rr.GradeRule)
	}
	if rr.AwardEligible {
		t.Error("award eligible; R1 makes an unfunded region ineligible")
	}
	if len(rr.Rules) != 1 || rr.Rules[0].ID != "R1" {
		t.Fatalf("fired rules = %+v, want R1 only", rr.Rules)
	}
	fr := rr.Rules[0]
	if got, ok := fr.Read["F1"].(float64); !ok || got != 0 {
		t.Errorf("R1 read F1 = %#v, want 0", fr.Read["F1"])
	}
	if fr.Read["kind"] != "prefecture_city" {
		t.Errorf("R1 read kind = %#v", fr.Read["kind"])
	}
	zh, en := rr.Explanation.Text(LangZh), rr.Explanation.Text(LangEn)
	for _, want := range []string{"R1", "四（三）", "未安排资金扶持知识产权公共服务体系建设", "最终等次：良好", "本可评为“优秀”", "不得参与"} {
		if !strings.Contains(zh, want) {
			t.Errorf("Chinese explanation lacks %q:\n%s", want, zh)
		}
	}
	for _, want := range []string{"R1", "section 4(3)", "No funding was allocated", "Final grade: Good", "would earn Excellent"} {
		if !strings.Contains(en, want) {
			t.Errorf("English explanation lacks %q:\n%s", want, en)
		}
	}
	// The path says that no score can lift it: the rule blocks the grade.
	if rr.Path == nil || rr.Path.Target != "excellent" || len(rr.Path.Steps) != 0 || len(rr.Path.Blocked) != 1 {
		t.Fatalf("path = %+v, want target excellent, no steps, blocked by R1", rr.Path)
	}
	b := rr.Path.Blocked[0]
	wantZh := "得分 " + f1(rr.Score.Value) + " 本可评为优秀，但规则 R1 将等次限定为良好：未安排资金"
	if b.Rule != "R1" || b.Grade != "good" || !strings.HasPrefix(b.Statement, wantZh) {
		t.Errorf("block = %+v, want statement starting %q", b, wantZh)
	}
	if !strings.HasPrefix(b.StatementEn, "score "+f1(rr.Score.Value)+" would be Excellent, but rule R1 caps it at Good: No funding") {
		t.Errorf("English statement = %q", b.StatementEn)
	}
}

func TestRuleR1FundedRegionIsExcellent(t *testing.T) {
	capped := mustEvaluate(t, shanxiInput(ptr(0)), Options{})
	res := mustEvaluate(t, shanxiInput(ptr(120)), Options{})
	rr := mustRegion(t, res, "140100")
	if rr.BandGrade != "excellent" || rr.Grade != "excellent" || rr.GradeRule != "" || !rr.AwardEligible {
		t.Errorf("band %s grade %s rule %q eligible %v; want excellent, excellent, none, true", rr.BandGrade, rr.Grade, rr.GradeRule, rr.AwardEligible)
	}
	if len(rr.Rules) != 0 {
		t.Errorf("fired rules = %+v, want none", rr.Rules)
	}
	if rr.Path != nil {
		t.Errorf("path = %+v; a region at the top grade has none", rr.Path)
	}
	// F1 is not weighted: the score does not depend on it.
	if got, want := rr.Score.Value, mustRegion(t, capped, "140100").Score.Value; got != want {
		t.Errorf("score with funding %v, without %v: F1 must not be scored", got, want)
	}
	if strings.Contains(rr.Explanation.Text(LangZh), "R1") {
		t.Errorf("explanation mentions R1 though it did not fire:\n%s", rr.Explanation.Text(LangZh))
	}
}

func TestRuleR1SeesUnverifiedOrMissingFundingAsMissing(t *testing.T) {
	for name, f1 := range map[string]*Value{
		"not reported": nil,
		"submitted":    {Number: 120, Status: StatusSubmitted},
		"rejected":     {Number: 120, Status: StatusRejected},
	} {
		t.Run(name, func(t *testing.T) {
			in := shanxiInput(nil)
			if f1 != nil {
				in.Values["140100"]["F1"] = *f1
			}
			rr := mustRegion(t, mustEvaluate(t, in, Options{}), "140100")
			if rr.Grade != "good" || rr.AwardEligible || len(rr.Rules) != 1 {
				t.Fatalf("grade %s eligible %v rules %d; want good, false, R1", rr.Grade, rr.AwardEligible, len(rr.Rules))
			}
			if v, ok := rr.Rules[0].Read["F1"]; !ok || v != nil {
				t.Errorf("R1 read F1 = %#v, want nil (missing)", v)
			}
		})
	}
}

func TestRuleR1DoesNotApplyToCounties(t *testing.T) {
	in := shanxiInput(ptr(0))
	for i := range in.Regions {
		in.Regions[i].Kind = kind.County
	}
	rr := mustRegion(t, mustEvaluate(t, in, Options{}), "140100")
	if rr.Grade != "excellent" || !rr.AwardEligible || len(rr.Rules) != 0 {
		t.Errorf("county: grade %s eligible %v rules %+v; R1 covers only cities, zones and pilots", rr.Grade, rr.AwardEligible, rr.Rules)
	}
}

// ruleScheme is a one-indicator scheme with the given rules.
func ruleScheme(rules ...scheme.Rule) scheme.Scheme {
	s := newScheme([]scheme.Dimension{{Code: "X", Weight: 1}}, []scheme.Indicator{
		{Code: "I1", Dimension: "X", Weight: 1, Normalisation: scheme.Normalisation{Method: scheme.MethodGoalposts, Lower: ptr(0), Upper: ptr(100)}},
	})
	s.Rules = rules
	return s
}

func TestRulePrecedence(t *testing.T) {
	capTo := func(id, g string) scheme.Rule {
		return scheme.Rule{ID: id, When: "true", Message: "cap " + g, Effects: []scheme.Effect{{Type: scheme.EffectCapGrade, Grade: g}}}
	}
	setTo := func(id, g string) scheme.Rule {
		return scheme.Rule{ID: id, When: "true", Message: "set " + g, Effects: []scheme.Effect{{Type: scheme.EffectSetGrade, Grade: g}}}
	}
	flag := scheme.Rule{ID: "F", When: "true", Message: "flag", Effects: []scheme.Effect{{Type: scheme.EffectFlag}}}
	noAward := scheme.Rule{ID: "N", When: "I1 > 0", Message: "no award", Effects: []scheme.Effect{{Type: scheme.EffectAwardIneligible}}}
	tests := []struct {
		name     string
		score    float64
		rules    []scheme.Rule
		grade    string
		by       string
		eligible bool
	}{
		{"band only", 95, nil, "excellent", "", true},
		{"cap lowers", 95, []scheme.Rule{capTo("C", "good")}, "good", "C", true},
		{"cap above band does nothing", 70, []scheme.Rule{capTo("C", "good")}, "pass", "", true},
		{"lowest cap wins", 95, []scheme.Rule{capTo("C1", "good"), capTo("C2", "pass")}, "pass", "C2", true},
		{"set outranks cap", 95, []scheme.Rule{capTo("C", "pass"), setTo("S", "good")}, "good", "S", true},
		{"set may raise", 50, []scheme.Rule{setTo("S", "pass")}, "pass", "S", true},
		{"lowest set wins", 95, []scheme.Rule{setTo("S1", "pass"), setTo("S2", "fail")}, "fail", "S2", true},
		{"flag leaves grade", 95, []scheme.Rule{flag}, "excellent", "", true},
		{"award ineligible leaves grade", 95, []scheme.Rule{noAward}, "excellent", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Scheme: ruleScheme(tt.rules...), Regions: []Region{region("a")},
				Values: map[string]map[string]Value{"a": {"I1": verified(tt.score)}}}
			rr := mustRegion(t, mustEvaluate(t, in, Options{}), "a")
			if rr.Grade != tt.grade || rr.GradeRule != tt.by || rr.AwardEligible != tt.eligible {
				t.Errorf("grade %s by %q eligible %v; want %s by %q eligible %v", rr.Grade, rr.GradeRule, rr.AwardEligible, tt.grade, tt.by, tt.eligible)
			}
			if len(rr.Rules) != len(tt.rules) {
				t.Errorf("%d rules recorded, want %d", len(rr.Rules), len(tt.rules))
			}
		})
	}
}
