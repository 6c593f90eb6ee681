package scheme

import (
	"bytes"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestDefaultValidates(t *testing.T) {
	s := Default()
	if err := s.Validate(); err != nil {
		t.Fatalf("default scheme does not validate: %v", err)
	}
	if _, err := s.CompileRules(); err != nil {
		t.Fatalf("default rules do not compile: %v", err)
	}
	if s.Code != "shanxi-ipps" || s.Version != 1 {
		t.Errorf("code/version = %s/%d, want shanxi-ipps/1", s.Code, s.Version)
	}
}

// TestDefaultContent pins the parts of DESIGN.md section 4 that other
// packages and the policy rely on.
func TestDefaultContent(t *testing.T) {
	s := Default()
	var dims []string
	for _, d := range s.Dimensions {
		dims = append(dims, d.Code)
		if d.Weight != 25 {
			t.Errorf("dimension %s weight = %v, want 25", d.Code, d.Weight)
		}
	}
	if got := strings.Join(dims, ","); got != "A,B,C,D" {
		t.Errorf("dimensions = %s", got)
	}
	var codes []string
	for _, ind := range s.Indicators {
		codes = append(codes, ind.Code)
	}
	want := "A1,A2,A3,A4,A5,B1,B2,B3,B4,C1,C2,C3,C4,C5,D1,D2,D3,F1"
	if got := strings.Join(codes, ","); got != want {
		t.Errorf("indicators = %s, want %s", got, want)
	}
	f1, ok := s.Indicator("F1")
	if !ok || f1.Weight != 0 || f1.Dimension != "" || !f1.EvidenceRequired || f1.Unit != "万元" || f1.Min == nil || *f1.Min != 0 {
		t.Errorf("F1 = %+v", f1)
	}
	if d1, _ := s.Indicator("D1"); d1.Source != "survey:satisfaction" {
		t.Errorf("D1 source = %q", d1.Source)
	}
	if a2, _ := s.Indicator("A2"); !a2.Integer || a2.Normalisation.Method != MethodGoalposts || *a2.Normalisation.Upper != 10 {
		t.Errorf("A2 = %+v", a2)
	}
	for _, code := range []string{"C4", "C5", "D2"} {
		ind, _ := s.Indicator(code)
		if ind.Unit != "%" || ind.Min == nil || *ind.Min != 0 || ind.Max == nil || *ind.Max != 100 {
			t.Errorf("%s is not a percentage in [0,100]: %+v", code, ind)
		}
	}
	var grades []string
	for _, g := range s.Grades {
		grades = append(grades, g.Code)
	}
	if got := strings.Join(grades, ","); got != "excellent,good,pass,fail" {
		t.Errorf("grades = %s", got)
	}
	if len(s.Rules) != 1 || s.Rules[0].ID != "R1" || !strings.Contains(s.Rules[0].Basis, "四（三）") ||
		!strings.HasPrefix(s.Rules[0].Message, "未安排资金扶持知识产权公共服务体系建设") {
		t.Errorf("rules = %+v", s.Rules)
	}
	wantEffects := []Effect{{Type: EffectCapGrade, Grade: "good"}, {Type: EffectAwardIneligible}}
	if !reflect.DeepEqual(s.Rules[0].Effects, wantEffects) {
		t.Errorf("R1 effects = %+v", s.Rules[0].Effects)
	}
}

// TestDefaultIsFresh guards against callers sharing one mutable value.
func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.Indicators[0].Code = "changed"
	*a.Indicators[1].Min = 42
	if b := Default(); b.Indicators[0].Code != "A1" || *b.Indicators[1].Min != 0 {
		t.Fatal("Default returned a value shared with an earlier call")
	}
}

func TestRoundTrip(t *testing.T) {
	s := Default()
	for _, tc := range []struct {
		name   string
		encode func(Scheme) ([]byte, error)
	}{
		{"yaml", Scheme.YAML},
		{"json", Scheme.JSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.encode(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(%s()): %v", tc.name, err)
			}
			if !reflect.DeepEqual(got, s) {
				t.Fatalf("round trip through %s changed the scheme:\n got %+v\nwant %+v", tc.name, got, s)
			}
			again, err := tc.encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Error("second encoding differs from the first")
			}
		})
	}
}

func TestGoldenDefaultYAML(t *testing.T) {
	got, err := Default().YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "default.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Default().YAML() differs from %s; run go test ./indicators/scheme/ -update and review the diff", golden)
	}
}

func TestAppliesTo(t *testing.T) {
	s := Default()
	all := Indicator{Code: "X"}
	parks := Indicator{Code: "Y", AppliesTo: []kind.Kind{kind.Park, kind.PilotPark}}
	for _, tc := range []struct {
		name string
		ind  Indicator
		kind kind.Kind
		want bool
	}{
		{"empty list applies to every kind", all, kind.County, true},
		{"listed kind", parks, kind.PilotPark, true},
		{"unlisted kind", parks, kind.PrefectureCity, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.AppliesTo(tc.ind, tc.kind); got != tc.want {
				t.Errorf("AppliesTo = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGradeFor(t *testing.T) {
	s := Default()
	// Built in code, in no particular order: GradeFor must not rely on Parse's sort.
	shuffled := s
	shuffled.Grades = []Grade{s.Grades[2], s.Grades[0], s.Grades[3], s.Grades[1]}
	for _, tc := range []struct {
		score float64
		want  string
	}{
		{100, "excellent"}, {90, "excellent"}, {89.999, "good"}, {80, "good"},
		{79.5, "pass"}, {60, "pass"}, {59.99, "fail"}, {0, "fail"}, {-5, "fail"},
	} {
		if got := s.GradeFor(tc.score).Code; got != tc.want {
			t.Errorf("GradeFor(%v) = %s, want %s", tc.score, got, tc.want)
		}
		if got := shuffled.GradeFor(tc.score).Code; got != tc.want {
			t.Errorf("unsorted GradeFor(%v) = %s, want %s", tc.score, got, tc.want)
		}
	}
	if got := (Scheme{}).GradeFor(50); got != (Grade{}) {
		t.Errorf("GradeFor without bands = %+v, want zero", got)
	}
}

func TestLookups(t *testing.T) {
	s := Default()
	if _, ok := s.Indicator("F9"); ok {
		t.Error("Indicator(F9) found")
	}
	if d, ok := s.Dimension("C"); !ok || d.Name != "利用效能" {
		t.Errorf("Dimension(C) = %+v, %v", d, ok)
	}
	if g, ok := s.Grade("good"); !ok || g.Min != 80 {
		t.Errorf("Grade(good) = %+v, %v", g, ok)
	}
	if _, ok := s.Grade("great"); ok {
		t.Error("Grade(great) found")
	}
}

// problemsOf returns the FieldErrors of a validation error, failing the test
// for any other kind of error.
func problemsOf(t *testing.T, err error) []fault.FieldError {
	t.Helper()
	if err == nil {
		t.Fatal("want a validation error, got nil")
	}
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *fault.ValidationError, got %T: %v", err, err)
	}
	return ve.Errors
}

// requireProblem fails unless errs holds a problem at path with code.
func requireProblem(t *testing.T, errs []fault.FieldError, path, code string) fault.FieldError {
	t.Helper()
	for _, fe := range errs {
		if fe.Field == path && fe.Code == code {
			if fe.Message == "" || fe.MessageEn == "" {
				t.Errorf("%s %s: missing zh or en message: %+v", path, code, fe)
			}
			return fe
		}
	}
	t.Fatalf("no problem %s at %q; got %+v", code, path, errs)
	return fault.FieldError{}
}

func TestGradeNames(t *testing.T) {
	gs := []Grade{{Code: "excellent", Name: "优秀", NameEn: "Excellent"}, {Code: "local", Name: "本地等次"}}
	for _, tc := range []struct {
		name string
		en   bool
		want map[string]string
	}{
		{"chinese", false, map[string]string{"excellent": "优秀", "local": "本地等次"}},
		{"english, Chinese where there is no English name", true, map[string]string{"excellent": "Excellent", "local": "本地等次"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GradeNames(gs, tc.en); !maps.Equal(got, tc.want) {
				t.Errorf("GradeNames(en=%v) = %v, want %v", tc.en, got, tc.want)
			}
		})
	}
}

func TestDescribeEffects(t *testing.T) {
	names := map[string]string{"excellent": "优秀", "good": "良好"}
	for _, tc := range []struct {
		name    string
		effects []Effect
		want    string
	}{
		{"cap and awards", []Effect{{Type: EffectCapGrade, Grade: "good"}, {Type: EffectAwardIneligible}}, "等次最高为“良好”；不得参与评选表彰"},
		{"veto", []Effect{{Type: EffectSetGrade, Grade: "poor"}}, "等次确定为“poor”（一票否决）"},
		{"flag", []Effect{{Type: EffectFlag}}, "提示复核"},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DescribeEffects(tc.effects, names); got != tc.want {
				t.Errorf("DescribeEffects = %q, want %q", got, tc.want)
			}
		})
	}
}
