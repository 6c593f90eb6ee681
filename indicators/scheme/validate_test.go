package scheme

import (
	"math"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/regions/kind"
)

func ptr(x float64) *float64 { return &x }

// Indexes of the default scheme's indicators used below.
const (
	iA1 = 0  // binary
	iA2 = 1  // goalposts 0–10, count
	iC2 = 10 // minmax
	iF1 = 17 // weight 0, no dimension
)

func TestValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Scheme)
		path   string
		code   string
		en     string // optional: the exact English message
	}{
		// weights
		{"negative dimension weight", func(s *Scheme) { s.Dimensions[0].Weight = -1 }, "dimensions[0].weight", "negative_weight", ""},
		{"negative indicator weight", func(s *Scheme) { s.Indicators[3].Weight = -0.5 }, "indicators[3].weight", "negative_weight", ""},
		{"NaN weight", func(s *Scheme) { s.Indicators[3].Weight = math.NaN() }, "indicators[3].weight", "not_finite", ""},
		{"infinite dimension weight", func(s *Scheme) { s.Dimensions[1].Weight = math.Inf(1) }, "dimensions[1].weight", "not_finite", ""},
		{"dimension weights sum to 0", func(s *Scheme) {
			for i := range s.Dimensions {
				s.Dimensions[i].Weight = 0
			}
		}, "dimensions", "no_weight", ""},
		{"no dimensions", func(s *Scheme) { s.Dimensions = nil }, "dimensions", "no_weight", ""},
		{"indicator weights of a weighted dimension sum to 0", func(s *Scheme) {
			for i := range s.Indicators {
				if s.Indicators[i].Dimension == "B" {
					s.Indicators[i].Weight = 0
				}
			}
		}, "dimensions[1]", "no_weighted_indicators", ""},
		{"weight without dimension", func(s *Scheme) {
			s.Indicators[iF1].Weight = 1
			s.Indicators[iF1].Normalisation.Method = MethodMinMax
		}, "indicators[17].dimension", "missing_dimension", ""},

		// codes and names
		{"duplicate dimension code", func(s *Scheme) { s.Dimensions[1].Code = "A" }, "dimensions[1].code", "duplicate_code", ""},
		{"duplicate indicator code", func(s *Scheme) { s.Indicators[1].Code = "A1" }, "indicators[1].code", "duplicate_code", ""},
		{"duplicate grade code", func(s *Scheme) { s.Grades[2].Code = "good" }, "grades[2].code", "duplicate_code", ""},
		{"duplicate rule id", func(s *Scheme) { s.Rules = append(s.Rules, s.Rules[0]) }, "rules[R1].id", "duplicate_code", ""},
		{"empty scheme code", func(s *Scheme) { s.Code = "" }, "code", "required", ""},
		{"malformed scheme code", func(s *Scheme) { s.Code = "shanxi ipps" }, "code", "invalid_code", ""},
		{"version 0", func(s *Scheme) { s.Version = 0 }, "version", "invalid_version", ""},
		{"empty scheme name", func(s *Scheme) { s.Name = " " }, "name", "required", ""},
		{"empty scheme English name", func(s *Scheme) { s.NameEn = "" }, "name_en", "required", ""},
		{"empty dimension code", func(s *Scheme) { s.Dimensions[2].Code = "" }, "dimensions[2].code", "required", ""},
		{"empty dimension name", func(s *Scheme) { s.Dimensions[2].Name = "" }, "dimensions[2].name", "required", ""},
		{"empty indicator code", func(s *Scheme) { s.Indicators[4].Code = "" }, "indicators[4].code", "required", ""},
		{"indicator code not an identifier", func(s *Scheme) { s.Indicators[4].Code = "1A" }, "indicators[4].code", "invalid_code", ""},
		{"indicator code is a helper name", func(s *Scheme) { s.Indicators[4].Code = "kind" }, "indicators[4].code", "reserved_name", ""},
		{"indicator code is a builtin", func(s *Scheme) { s.Indicators[4].Code = "len" }, "indicators[4].code", "reserved_name", ""},
		{"empty indicator name", func(s *Scheme) { s.Indicators[4].Name = "" }, "indicators[4].name", "required", ""},
		{"empty indicator English name", func(s *Scheme) { s.Indicators[4].NameEn = "" }, "indicators[4].name_en", "required", ""},
		{"empty grade code", func(s *Scheme) { s.Grades[0].Code = "" }, "grades[0].code", "required", ""},
		{"empty grade English name", func(s *Scheme) { s.Grades[0].NameEn = "" }, "grades[0].name_en", "required", ""},

		// indicator fields
		{"unknown dimension", func(s *Scheme) { s.Indicators[2].Dimension = "Z" }, "indicators[2].dimension", "unknown_dimension", ""},
		{"goalposts without lower", func(s *Scheme) { s.Indicators[iA2].Normalisation.Lower = nil }, "indicators[1].normalisation.lower", "missing_bound", ""},
		{"goalposts without upper", func(s *Scheme) { s.Indicators[iA2].Normalisation.Upper = nil }, "indicators[1].normalisation.upper", "missing_bound", ""},
		{"goalposts reversed", func(s *Scheme) {
			s.Indicators[3].Normalisation = Normalisation{Method: MethodGoalposts, Lower: ptr(10), Upper: ptr(0)}
		}, "indicators[3].normalisation.upper", "bounds_reversed", "must be greater than lower"},
		{"goalposts equal", func(s *Scheme) { s.Indicators[iA2].Normalisation.Upper = ptr(0) }, "indicators[1].normalisation.upper", "bounds_reversed", "must be greater than lower"},
		{"goalposts bound infinite", func(s *Scheme) { s.Indicators[iA2].Normalisation.Upper = ptr(math.Inf(1)) }, "indicators[1].normalisation.upper", "not_finite", ""},
		{"dtf without worst", func(s *Scheme) { s.Indicators[iC2].Normalisation = Normalisation{Method: MethodDTF, Best: ptr(10)} }, "indicators[10].normalisation.worst", "missing_bound", ""},
		{"dtf without best", func(s *Scheme) { s.Indicators[iC2].Normalisation = Normalisation{Method: MethodDTF, Worst: ptr(0)} }, "indicators[10].normalisation.best", "missing_bound", ""},
		{"dtf worst equals best", func(s *Scheme) {
			s.Indicators[iC2].Normalisation = Normalisation{Method: MethodDTF, Worst: ptr(5), Best: ptr(5)}
		}, "indicators[10].normalisation.best", "bounds_equal", ""},
		{"bound the method does not use", func(s *Scheme) { s.Indicators[iC2].Normalisation.Lower = ptr(0) }, "indicators[10].normalisation.lower", "unexpected_bound", ""},
		{"goalposts with dtf bound", func(s *Scheme) { s.Indicators[iA2].Normalisation.Best = ptr(3) }, "indicators[1].normalisation.best", "unexpected_bound", ""},
		{"unknown normalisation method", func(s *Scheme) { s.Indicators[iC2].Normalisation.Method = "log" }, "indicators[10].normalisation.method", "unknown_method", ""},
		{"weighted indicator without method", func(s *Scheme) { s.Indicators[iC2].Normalisation.Method = "" }, "indicators[10].normalisation.method", "required", ""},
		{"unknown direction", func(s *Scheme) { s.Indicators[5].Direction = "up" }, "indicators[5].direction", "unknown_direction", ""},
		{"unknown missing policy", func(s *Scheme) { s.Indicators[5].Missing = "impute" }, "indicators[5].missing", "unknown_missing_policy", ""},
		{"unknown source", func(s *Scheme) { s.Indicators[5].Source = "excel" }, "indicators[5].source", "invalid_source", ""},
		{"survey source without questionnaire", func(s *Scheme) { s.Indicators[14].Source = "survey:" }, "indicators[14].source", "invalid_source", ""},
		{"unknown region kind", func(s *Scheme) {
			s.Indicators[6].AppliesTo = []kind.Kind{kind.County, "village"}
		}, "indicators[6].applies_to[1]", "unknown_kind", ""},
		{"duplicate region kind", func(s *Scheme) {
			s.Indicators[6].AppliesTo = []kind.Kind{kind.Park, kind.Park}
		}, "indicators[6].applies_to[1]", "duplicate_kind", ""},
		{"min above max", func(s *Scheme) { s.Indicators[12].Min = ptr(101) }, "indicators[12].max", "range_reversed", ""},
		{"NaN min", func(s *Scheme) { s.Indicators[12].Min = ptr(math.NaN()) }, "indicators[12].min", "not_finite", ""},
		{"binary with max 2", func(s *Scheme) { s.Indicators[iA1].Max = ptr(2) }, "indicators[0].max", "binary_range", ""},
		{"binary with min -1", func(s *Scheme) { s.Indicators[iA1].Min = ptr(-1) }, "indicators[0].min", "binary_range", ""},

		// scheme fields
		{"unknown aggregation", func(s *Scheme) { s.Aggregation = "median" }, "aggregation", "unknown_aggregation", ""},
		{"coverage 0", func(s *Scheme) { s.CoverageThreshold = 0 }, "coverage_threshold", "out_of_range", ""},
		{"coverage negative", func(s *Scheme) { s.CoverageThreshold = -0.1 }, "coverage_threshold", "out_of_range", ""},
		{"coverage above 1", func(s *Scheme) { s.CoverageThreshold = 1.01 }, "coverage_threshold", "out_of_range", ""},
		{"coverage NaN", func(s *Scheme) { s.CoverageThreshold = math.NaN() }, "coverage_threshold", "out_of_range", ""},

		// grades
		{"no grades", func(s *Scheme) { s.Grades = nil; s.Rules = nil }, "grades", "no_grades", ""},
		{"no band from 0", func(s *Scheme) { s.Grades = s.Grades[:3] }, "grades", "no_floor", ""},
		{"two bands with one lower bound", func(s *Scheme) { s.Grades[1].Min = 90 }, "grades[1].min", "duplicate_min", ""},
		{"band above 100", func(s *Scheme) { s.Grades[0].Min = 101 }, "grades[0].min", "out_of_range", ""},
		{"band bound NaN", func(s *Scheme) { s.Grades[0].Min = math.NaN() }, "grades[0].min", "not_finite", ""},

		// rules
		{"empty rule id", func(s *Scheme) { s.Rules[0].ID = "" }, "rules[0].id", "required", ""},
		{"malformed rule id", func(s *Scheme) { s.Rules[0].ID = "R 1" }, "rules[0].id", "invalid_code", ""},
		{"rule without message", func(s *Scheme) { s.Rules[0].Message = "" }, "rules[R1].message", "required", ""},
		{"rule without effects", func(s *Scheme) { s.Rules[0].Effects = nil }, "rules[R1].effects", "no_effects", ""},
		{"unknown effect type", func(s *Scheme) { s.Rules[0].Effects[1].Type = "demote" }, "rules[R1].effects[1].type", "unknown_effect", ""},
		{"cap_grade with unknown grade", func(s *Scheme) { s.Rules[0].Effects[0].Grade = "great" }, "rules[R1].effects[0].grade", "unknown_grade", ""},
		{"cap_grade without grade", func(s *Scheme) { s.Rules[0].Effects[0].Grade = "" }, "rules[R1].effects[0].grade", "required", ""},
		{"set_grade with unknown grade", func(s *Scheme) {
			s.Rules[0].Effects = []Effect{{Type: EffectSetGrade, Grade: "bad"}}
		}, "rules[R1].effects[0].grade", "unknown_grade", ""},
		{"award_ineligible with grade", func(s *Scheme) { s.Rules[0].Effects[1].Grade = "pass" }, "rules[R1].effects[1].grade", "unexpected_grade", ""},
		{"empty condition", func(s *Scheme) { s.Rules[0].When = "  " }, "rules[R1].when", "required", ""},
		{"condition does not compile", func(s *Scheme) { s.Rules[0].When = "F1 <=" }, "rules[R1].when", "invalid_expression", ""},
		{"condition is not boolean", func(s *Scheme) { s.Rules[0].When = "F1 + 1" }, "rules[R1].when", "not_boolean", ""},
		{"condition names unknown indicator", func(s *Scheme) { s.Rules[0].When = "F9 <= 0" }, "rules[R1].when", "unknown_name", `unknown name "F9"`},
		{"unknown indicator in helper", func(s *Scheme) { s.Rules[0].When = `missing("F9")` }, "rules[R1].when", "unknown_name", `unknown name "F9"`},
		{"helper with non-literal argument", func(s *Scheme) { s.Rules[0].When = `missing(code)` }, "rules[R1].when", "literal_required", ""},
		{"helper with wrong argument type", func(s *Scheme) { s.Rules[0].When = `missing(1)` }, "rules[R1].when", "invalid_expression", ""},
		{"helper with no argument", func(s *Scheme) { s.Rules[0].When = `value() > 0` }, "rules[R1].when", "invalid_expression", ""},
		{"unknown helper", func(s *Scheme) { s.Rules[0].When = `absent("F1")` }, "rules[R1].when", "unknown_name", `unknown name "absent"`},
		{"kind compared with unknown kind", func(s *Scheme) { s.Rules[0].When = `kind == "prefecture_cty"` }, "rules[R1].when", "unknown_kind", ""},
		{"kind in list with unknown kind", func(s *Scheme) { s.Rules[0].When = `kind in ["county", "village"] and F1 <= 0` }, "rules[R1].when", "unknown_kind", ""},
		{"in_kinds with unknown kind", func(s *Scheme) { s.Rules[0].When = `in_kinds("county", "town")` }, "rules[R1].when", "unknown_kind", ""},
		{"condition reads $env", func(s *Scheme) { s.Rules[0].When = `$env["F1"] == 0` }, "rules[R1].when", "invalid_expression", ""},
		{"kind compared with a number", func(s *Scheme) { s.Rules[0].When = `kind == 1` }, "rules[R1].when", "invalid_expression", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Default()
			tc.mutate(&s)
			fe := requireProblem(t, problemsOf(t, s.Validate()), tc.path, tc.code)
			if tc.en != "" && fe.MessageEn != tc.en {
				t.Errorf("message_en = %q, want %q", fe.MessageEn, tc.en)
			}
			if _, err := s.CompileRules(); err == nil {
				t.Error("CompileRules accepted an invalid scheme")
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Scheme)
	}{
		{"coverage 1", func(s *Scheme) { s.CoverageThreshold = 1 }},
		{"geometric aggregation", func(s *Scheme) { s.Aggregation = AggregationGeometric }},
		{"dtf with worst above best", func(s *Scheme) {
			s.Indicators[iC2].Normalisation = Normalisation{Method: MethodDTF, Worst: ptr(10), Best: ptr(0)}
		}},
		{"every other method", func(s *Scheme) {
			s.Indicators[iC2].Normalisation.Method = MethodZScore
			s.Indicators[11].Normalisation.Method = MethodRank
		}},
		{"zero-weight dimension without indicators", func(s *Scheme) {
			s.Dimensions = append(s.Dimensions, Dimension{Code: "E", Name: "预留", NameEn: "Reserved"})
		}},
		{"band below 0", func(s *Scheme) { s.Grades[3].Min = -10 }},
		{"applies to listed kinds", func(s *Scheme) {
			s.Indicators[6].AppliesTo = []kind.Kind{kind.Park, kind.PilotPark}
		}},
		{"no rules", func(s *Scheme) { s.Rules = nil }},
		{"set_grade and flag", func(s *Scheme) {
			s.Rules[0].Effects = []Effect{{Type: EffectSetGrade, Grade: "fail"}, {Type: EffectFlag}}
		}},
		{"helpers", func(s *Scheme) {
			s.Rules[0].When = `in_kinds("pilot_park") and not_applicable("B1") or value("C2") > 1 and code != "140100"`
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Default()
			tc.mutate(&s)
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

// TestValidateListsEveryProblem checks that one pass reports all problems,
// not the first.
func TestValidateListsEveryProblem(t *testing.T) {
	s := Default()
	s.Dimensions[0].Weight = -1
	s.Indicators[3].Normalisation = Normalisation{Method: MethodGoalposts, Lower: ptr(10), Upper: ptr(5)}
	s.Indicators[7].Dimension = "Z"
	s.Grades = s.Grades[:3]
	s.Rules[0].When = "F9 <= 0"
	errs := problemsOf(t, s.Validate())
	for _, want := range []struct{ path, code string }{
		{"dimensions[0].weight", "negative_weight"},
		{"indicators[3].normalisation.upper", "bounds_reversed"},
		{"indicators[7].dimension", "unknown_dimension"},
		{"grades", "no_floor"},
		{"rules[R1].when", "unknown_name"},
	} {
		requireProblem(t, errs, want.path, want.code)
	}
	if len(errs) != 5 {
		t.Errorf("got %d problems, want 5: %+v", len(errs), errs)
	}
	msg := s.Validate().Error()
	for _, want := range []string{"indicators[3].normalisation.upper: must be greater than lower", `rules[R1].when: unknown name "F9"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error text %q lacks %q", msg, want)
		}
	}
}
