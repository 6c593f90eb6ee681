package scheme

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
)

// defaultText returns the default scheme as YAML or JSON text for edits.
func defaultText(t testing.TB, format string) string {
	t.Helper()
	s := Default()
	var b []byte
	var err error
	if format == "json" {
		b, err = s.JSON()
	} else {
		b, err = s.YAML()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit replaces the one occurrence of old in text, failing if there is none.
func edit(t *testing.T, text, old, repl string) string {
	t.Helper()
	if strings.Count(text, old) != 1 {
		t.Fatalf("want exactly one %q in the document", old)
	}
	return strings.Replace(text, old, repl, 1)
}

// minimal is a small valid scheme written by hand, relying on defaults.
const minimal = `
code: tiny
name: 小方案
name_en: Tiny scheme
dimensions:
  - {code: A, name: 甲, name_en: A, weight: 1}
indicators:
  - {code: X1, name: 指标一, name_en: One, unit: 个, dimension: A, weight: 1, normalisation: {method: minmax}}
grades:
  - {code: pass, name: 合格, name_en: Pass, min: 60}
  - {code: fail, name: 不合格, name_en: Fail, min: 0}
`

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 1 || s.CoverageThreshold != 0.65 || s.Aggregation != AggregationArithmetic {
		t.Errorf("scheme defaults: version %d coverage %v aggregation %q", s.Version, s.CoverageThreshold, s.Aggregation)
	}
	ind := s.Indicators[0]
	if ind.Direction != "+" || ind.Missing != MissingReweight || ind.Source != SourceReported {
		t.Errorf("indicator defaults: %+v", ind)
	}
}

func TestParseOrdersGrades(t *testing.T) {
	text := strings.Replace(minimal, `  - {code: pass, name: 合格, name_en: Pass, min: 60}
  - {code: fail, name: 不合格, name_en: Fail, min: 0}`, `  - {code: fail, name: 不合格, name_en: Fail, min: 0}
  - {code: top, name: 优秀, name_en: Top, min: 90}
  - {code: pass, name: 合格, name_en: Pass, min: 60}`, 1)
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range s.Grades {
		got = append(got, g.Code)
	}
	if strings.Join(got, ",") != "top,pass,fail" {
		t.Errorf("grades = %v, want top,pass,fail", got)
	}
}

func TestParseJSONVariants(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"tab indented", strings.ReplaceAll(defaultText(t, "json"), "  ", "\t")},
		{"compact", strings.Join(strings.Fields(defaultText(t, "json")), " ")},
		{"escaped slash and unicode", strings.Replace(defaultText(t, "json"), `"是/否"`, `"\u662f\/\u5426"`, 2)},
		{"surrogate pair", strings.Replace(defaultText(t, "json"), `"Shanxi IP public service assessment scheme"`, `"Shanxi \ud83d\ude00"`, 1)},
		{"whole float for an integer", strings.Replace(defaultText(t, "json"), `"version": 1,`, `"version": 1.0,`, 1)},
		{"CRLF line ends", strings.ReplaceAll(defaultText(t, "json"), "\n", "\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			if tc.name == "surrogate pair" {
				want.NameEn = "Shanxi \U0001F600"
			}
			if !reflect.DeepEqual(s, want) {
				t.Error("parsed scheme differs from the default")
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	yamlDoc := defaultText(t, "yaml")
	jsonDoc := defaultText(t, "json")
	for _, tc := range []struct {
		name, text string
		path, code string
		en         string // optional: a substring of the English message
	}{
		{"unknown indicator field", edit(t, yamlDoc, "  - code: A3\n", "  - code: A3\n    weigth: 1\n"),
			"indicators[2].weigth", "unknown_field", "unknown field"},
		{"unknown top-level field", "colour: red\n" + yamlDoc, "colour", "unknown_field", ""},
		{"unknown normalisation field", edit(t, yamlDoc, "      upper: 8\n", "      upper: 8\n      uper: 9\n"),
			"indicators[2].normalisation.uper", "unknown_field", ""},
		{"unknown rule field, by rule id", edit(t, yamlDoc, "    when: ", "    wehn: x\n    when: "),
			"rules[R1].wehn", "unknown_field", ""},
		{"unknown effect field", edit(t, yamlDoc, "      - type: award_ineligible\n", "      - type: award_ineligible\n        grde: x\n"),
			"rules[R1].effects[1].grde", "unknown_field", ""},
		{"unknown field in JSON", edit(t, jsonDoc, `"code": "A3",`, `"code": "A3", "weigth": 1,`),
			"indicators[2].weigth", "unknown_field", ""},
		{"duplicate key", edit(t, yamlDoc, "  - code: A3\n", "  - code: A3\n    code: A9\n"),
			"indicators[2].code", "duplicate_key", ""},
		{"text for a number", edit(t, yamlDoc, "      upper: 8\n", "      upper: eight\n"),
			"indicators[2].normalisation.upper", "invalid_type", "must be a number"},
		{"fraction for the version", edit(t, yamlDoc, "version: 1\n", "version: 1.5\n"),
			"version", "invalid_type", "must be an integer"},
		{"list for a string", edit(t, yamlDoc, "name: 山西省知识产权公共服务考核评估方案\n", "name: [a, b]\n"),
			"name", "invalid_type", "must be a string"},
		{"mapping for a list", edit(t, yamlDoc, "grades:\n", "grades: {}\nx_grades:\n"),
			"grades", "invalid_type", "must be a list"},
		{"scalar for a mapping", strings.Replace(yamlDoc, "    normalisation:\n      method: binary\n", "    normalisation: binary\n", 1),
			"indicators[0].normalisation", "invalid_type", "must be a mapping"},
		{"explicit zero coverage", edit(t, yamlDoc, "coverage_threshold: 0.65\n", "coverage_threshold: 0\n"),
			"coverage_threshold", "out_of_range", ""},
		{"NaN weight", edit(t, yamlDoc, "    weight: 25\n  - code: B\n", "    weight: .nan\n  - code: B\n"),
			"dimensions[0].weight", "not_finite", ""},
		{"validation after decoding", edit(t, yamlDoc, "      lower: 0\n      upper: 8\n", "      lower: 8\n      upper: 0\n"),
			"indicators[2].normalisation.upper", "bounds_reversed", "must be greater than lower"},
		{"syntax error", "code: [unclosed\nname: x\n", "", "syntax", "line"},
		{"JSON syntax error", `{"code": "x", "name": "y"`, "", "syntax", ""},
		{"empty document", "", "", "empty", ""},
		{"only a comment", "# nothing\n", "", "empty", ""},
		{"two documents", minimal + "---\n" + minimal, "", "multiple_documents", ""},
		{"list at the top", "- a\n- b\n", "", "invalid_type", ""},
		{"too large", minimal + "# " + strings.Repeat("x", MaxSize), "", "too_large", ""},
		{"alias bomb", aliasBomb(), "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.text))
			errs := problemsOf(t, err)
			if !reflect.DeepEqual(s, Scheme{}) {
				t.Error("Parse returned a scheme with an error")
			}
			if tc.code == "" { // any validation error will do
				return
			}
			fe := requireProblem(t, errs, tc.path, tc.code)
			if !strings.Contains(fe.MessageEn, tc.en) {
				t.Errorf("message_en %q lacks %q", fe.MessageEn, tc.en)
			}
		})
	}
}

// aliasBomb is a "billion laughs" document: each level doubles the nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("code: &l0 [x, x]\n")
	for i := 1; i < 40; i++ {
		b.WriteString("k" + string(rune('a'+i%26)) + strings.Repeat("z", i) + ": &l" + itoa(i) + " [*l" + itoa(i-1) + ", *l" + itoa(i-1) + "]\n")
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestParseReportsEveryUnknownField(t *testing.T) {
	text := edit(t, defaultText(t, "yaml"), "  - code: A3\n", "  - code: A3\n    weigth: 1\n")
	text = edit(t, text, "aggregation: arithmetic\n", "aggregation: arithmetic\naggregate: x\n")
	text = edit(t, text, "      upper: 500\n", "      upper: abc\n")
	errs := problemsOf(t, func() error { _, err := Parse([]byte(text)); return err }())
	requireProblem(t, errs, "indicators[2].weigth", "unknown_field")
	requireProblem(t, errs, "aggregate", "unknown_field")
	requireProblem(t, errs, "indicators[5].normalisation.upper", "invalid_type")
}

func TestParseMergeKeys(t *testing.T) {
	text := `
code: merged
name: 合并
name_en: Merged
dimensions:
  - {code: A, name: 甲, name_en: A, weight: 1}
indicators:
  - &base {code: X1, name: 一, name_en: One, unit: 个, dimension: A, weight: 1, normalisation: {method: minmax}}
  - <<: *base
    code: X2
grades:
  - {code: fail, name: 不合格, name_en: Fail, min: 0}
`
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Indicators) != 2 || s.Indicators[1].Code != "X2" || s.Indicators[1].Name != "一" {
		t.Errorf("indicators = %+v", s.Indicators)
	}
	bad := strings.Replace(text, "code: X2", "code: X2\n    <<: {colour: red}", 1)
	_, err = Parse([]byte(bad))
	requireProblem(t, problemsOf(t, err), "indicators[1].colour", "unknown_field")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(defaultText(f, "yaml")))
	f.Add([]byte(defaultText(f, "json")))
	f.Add([]byte(minimal))
	f.Add([]byte("code: [unclosed"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("rules:\n  - id: R1\n    when: F9 <= 0\n"))
	f.Add([]byte(aliasBomb()))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var ve *fault.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("error is not a non-empty *fault.ValidationError: %T %v", err, err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a scheme that does not validate: %v", err)
		}
		if _, err := s.CompileRules(); err != nil {
			t.Fatalf("Parse accepted a scheme whose rules do not compile: %v", err)
		}
		for _, encode := range []func(Scheme) ([]byte, error){Scheme.YAML, Scheme.JSON} {
			out, err := encode(s)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("re-parse of encoded scheme: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(back, s) {
				t.Fatalf("round trip changed the scheme:\n%s", out)
			}
		}
	})
}
