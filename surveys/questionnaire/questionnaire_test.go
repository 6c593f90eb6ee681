package questionnaire

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestDefaultContent(t *testing.T) {
	q := Default()
	if err := q.Validate(); err != nil {
		t.Fatalf("default does not validate: %v", err)
	}
	if q.Code != "satisfaction" || q.Name != "知识产权公共服务社会公众满意度调查" || q.NameEn != "IP public service satisfaction survey" || q.Scale != 5 {
		t.Errorf("header = %q %q %q %d", q.Code, q.Name, q.NameEn, q.Scale)
	}
	if !reflect.DeepEqual(q.Labels, DefaultLabels()) {
		t.Errorf("labels = %+v, want DefaultLabels()", q.Labels)
	}
	var types []string
	for _, rt := range q.RespondentTypes {
		types = append(types, rt.Code+"="+rt.Name)
	}
	if got := strings.Join(types, ","); got != "enterprise=企业,institute=高校院所,agency=服务机构,individual=个人" {
		t.Errorf("respondent types = %s", got)
	}
	wantItems := []struct{ code, name string }{
		{"convenience", "便捷"}, {"efficiency", "办理时限"}, {"information", "信息资源"},
		{"consultation", "咨询"}, {"attitude", "服务态度"}, {"overall", "总体"},
	}
	if len(q.Items) != len(wantItems) {
		t.Fatalf("%d items, want %d", len(q.Items), len(wantItems))
	}
	for i, want := range wantItems {
		it := q.Items[i]
		if it.Code != want.code || !strings.Contains(it.Text, want.name) || it.TextEn == "" ||
			it.Weight != 1 || it.Group != "service" || it.Reverse || it.Optional || it.Scale != 0 {
			t.Errorf("items[%d] = %+v", i, it)
		}
	}
	if q.Attention != nil {
		t.Errorf("default has an attention check: %+v", q.Attention)
	}
}

// TestDefaultIsFresh guards against callers sharing one mutable value.
func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.Items[0].Code = "changed"
	a.Labels[0].Text = "changed"
	b := Default()
	if b.Items[0].Code != "convenience" || b.Labels[0].Text != "非常满意" || DefaultLabels()[0].Text != "非常满意" {
		t.Fatal("Default returned a value shared with an earlier call")
	}
}

func TestRoundTripAndGolden(t *testing.T) {
	q := Default()
	for _, tc := range []struct {
		name   string
		encode func(Questionnaire) ([]byte, error)
	}{
		{"yaml", Questionnaire.YAML},
		{"json", Questionnaire.JSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.encode(q)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "default.golden."+tc.name)
			if *update {
				if err := os.WriteFile(golden, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(data, want) {
				t.Errorf("Default().%s() differs from %s; run go test ./surveys/questionnaire/ -update and review the diff", strings.ToUpper(tc.name), golden)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(%s()): %v", tc.name, err)
			}
			if !reflect.DeepEqual(got, q) {
				t.Fatalf("round trip through %s changed the questionnaire:\n got %+v\nwant %+v", tc.name, got, q)
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

// minimal is a small valid questionnaire relying on every default.
const minimal = `
code: tiny
name: 小问卷
respondent_types:
  - {code: firm, name: 企业}
items:
  - {code: q1, text: 满意吗？}
  - {code: q2, text: 还满意吗？, scale: 3, weight: 2}
`

func TestParseDefaults(t *testing.T) {
	q, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if q.Scale != 5 || !reflect.DeepEqual(q.Labels, DefaultLabels()) {
		t.Errorf("scale %d labels %+v: want 5 and the default labels", q.Scale, q.Labels)
	}
	if q.Items[0].Weight != 1 || q.Items[1].Weight != 2 || q.Items[0].Scale != 0 || q.Items[1].Scale != 3 {
		t.Errorf("items = %+v", q.Items)
	}
	if q.ItemScale(0) != 5 || q.ItemScale(1) != 3 {
		t.Errorf("ItemScale = %d, %d; want 5, 3", q.ItemScale(0), q.ItemScale(1))
	}

	// A seven-point questionnaire gets no labels: the five default labels
	// would name the wrong points.
	q, err = Parse([]byte(minimal + "scale: 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if q.Scale != 7 || q.Labels != nil {
		t.Errorf("scale %d labels %+v: want 7 and none", q.Scale, q.Labels)
	}
	// Own labels replace the default ones.
	q, err = Parse([]byte(minimal + "labels: [{value: 5, text: 好}, {value: 1, text: 差}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Labels) != 2 {
		t.Errorf("labels = %+v", q.Labels)
	}
}

func TestParseJSON(t *testing.T) {
	text := `{"code": "tiny", "name": "小问卷", "respondent_types": [{"code": "firm", "name": "企业"}],
	  "items": [{"code": "q1", "text": "\u6ee1\u610f\u5417\uff1f", "reverse": true}],
	  "attention_check": {"code": "check", "text": "请选择\/不满意", "expect": 2}}`
	q, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if q.Items[0].Text != "满意吗？" || !q.Items[0].Reverse || q.Attention == nil || q.Attention.Text != "请选择/不满意" || q.Attention.Expect != 2 {
		t.Errorf("parsed %+v", q)
	}
}

// TestDocumentMirrorsQuestionnaire keeps Parse's document types in step
// with the public ones: a field added to Item but not to itemDocument would
// be refused as unknown.
func TestDocumentMirrorsQuestionnaire(t *testing.T) {
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[Questionnaire](), reflect.TypeFor[document]()},
		{reflect.TypeFor[Item](), reflect.TypeFor[itemDocument]()},
	} {
		if a, b := yamlKeys(pair[0]), yamlKeys(pair[1]); !reflect.DeepEqual(a, b) {
			t.Errorf("%v keys %v, %v keys %v", pair[0], a, pair[1], b)
		}
	}
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		keys = append(keys, name)
	}
	return keys
}

func TestRefuses(t *testing.T) {
	yamlDoc := string(mustYAML(t, Default()))
	attention := func() *AttentionCheck {
		return &AttentionCheck{Code: "check", Text: "本题请选择“不满意”", TextEn: `Please choose "dissatisfied"`, Expect: 2}
	}
	for _, tc := range []struct {
		name   string
		text   string                 // parsed when set
		mutate func(q *Questionnaire) // applied to Default and validated otherwise
		path   string
		code   string
		// lossy marks a questionnaire that YAML and JSON cannot carry: the
		// weight field is omitted when zero, so Parse reads the default.
		lossy bool
	}{
		// decoding
		{name: "unknown item field", text: strings.Replace(yamlDoc, "  - code: information\n", "  - code: information\n    wieght: 1\n", 1), path: "items[2].wieght", code: "unknown_field"},
		{name: "text for a weight", text: strings.Replace(yamlDoc, "    weight: 1\n", "    weight: heavy\n", 1), path: "items[0].weight", code: "invalid_type"},
		{name: "fraction for a scale", text: strings.Replace(yamlDoc, "scale: 5\n", "scale: 5.5\n", 1), path: "scale", code: "invalid_type"},
		{name: "explicit zero weight", text: strings.Replace(yamlDoc, "    weight: 1\n", "    weight: 0\n", 1), path: "items[0].weight", code: "out_of_range"},
		{name: "explicit zero scale", text: strings.Replace(yamlDoc, "scale: 5\n", "scale: 0\n", 1), path: "scale", code: "out_of_range"},
		{name: "NaN weight", text: strings.Replace(yamlDoc, "    weight: 1\n", "    weight: .nan\n", 1), path: "items[0].weight", code: "not_finite"},
		{name: "syntax error", text: "code: [unclosed\n", path: "", code: "syntax"},
		{name: "empty", text: "", path: "", code: "empty"},
		{name: "too large", text: minimal + "# " + strings.Repeat("x", MaxSize), path: "", code: "too_large"},

		// codes
		{name: "empty questionnaire code", mutate: func(q *Questionnaire) { q.Code = "" }, path: "code", code: "required"},
		{name: "upper-case questionnaire code", mutate: func(q *Questionnaire) { q.Code = "Satisfaction" }, path: "code", code: "invalid_code"},
		{name: "code too long", mutate: func(q *Questionnaire) { q.Code = "a" + strings.Repeat("b", 32) }, path: "code", code: "invalid_code"},
		{name: "item code with a dash", mutate: func(q *Questionnaire) { q.Items[2].Code = "info-access" }, path: "items[2].code", code: "invalid_code"},
		{name: "item code starting with a digit", mutate: func(q *Questionnaire) { q.Items[2].Code = "1info" }, path: "items[2].code", code: "invalid_code"},
		{name: "duplicate item code", mutate: func(q *Questionnaire) { q.Items[3].Code = "efficiency" }, path: "items[3].code", code: "duplicate_code"},
		{name: "name too long", mutate: func(q *Questionnaire) { q.Name = strings.Repeat("问", MaxName+1) }, path: "name", code: "too_long"},
		{name: "too many items", mutate: func(q *Questionnaire) {
			for len(q.Items) <= MaxItems {
				it := q.Items[0]
				it.Code = fmt.Sprintf("extra_%d", len(q.Items))
				it.Text = "附加题 " + it.Code
				q.Items = append(q.Items, it)
			}
		}, path: "items", code: "too_many"},
		{name: "type code with a space", mutate: func(q *Questionnaire) { q.RespondentTypes[1].Code = "research institute" }, path: "respondent_types[1].code", code: "invalid_code"},
		{name: "duplicate type code", mutate: func(q *Questionnaire) { q.RespondentTypes[3].Code = "agency" }, path: "respondent_types[3].code", code: "duplicate_code"},
		{name: "malformed group", mutate: func(q *Questionnaire) { q.Items[0].Group = "服务" }, path: "items[0].group", code: "invalid_code"},

		// texts
		{name: "no name", mutate: func(q *Questionnaire) { q.Name = " " }, path: "name", code: "required"},
		{name: "no item text", mutate: func(q *Questionnaire) { q.Items[4].Text = "" }, path: "items[4].text", code: "required"},
		{name: "no type name", mutate: func(q *Questionnaire) { q.RespondentTypes[0].Name = "" }, path: "respondent_types[0].name", code: "required"},
		{name: "duplicate type name", mutate: func(q *Questionnaire) { q.RespondentTypes[2].Name = "企业" }, path: "respondent_types[2].name", code: "duplicate_text"},
		{name: "type English name clashes with another's", mutate: func(q *Questionnaire) { q.RespondentTypes[3].NameEn = "Enterprise" }, path: "respondent_types[3].name_en", code: "duplicate_text"},

		// scales and weights
		{name: "scale 1", mutate: func(q *Questionnaire) { q.Scale = 1 }, path: "scale", code: "out_of_range"},
		{name: "scale 12", mutate: func(q *Questionnaire) { q.Scale = 12 }, path: "scale", code: "out_of_range"},
		{name: "item scale 1", mutate: func(q *Questionnaire) { q.Items[1].Scale = 1 }, path: "items[1].scale", code: "out_of_range"},
		{name: "item scale 12", mutate: func(q *Questionnaire) { q.Items[1].Scale = 12 }, path: "items[1].scale", code: "out_of_range"},
		{name: "negative item scale", mutate: func(q *Questionnaire) { q.Items[1].Scale = -3 }, path: "items[1].scale", code: "out_of_range"},
		{name: "zero weight", mutate: func(q *Questionnaire) { q.Items[5].Weight = 0 }, path: "items[5].weight", code: "out_of_range", lossy: true},
		{name: "negative weight", mutate: func(q *Questionnaire) { q.Items[5].Weight = -1 }, path: "items[5].weight", code: "out_of_range"},
		{name: "infinite weight", mutate: func(q *Questionnaire) { q.Items[5].Weight = math.Inf(1) }, path: "items[5].weight", code: "not_finite"},

		// labels
		{name: "label above the scale", mutate: func(q *Questionnaire) { q.Labels[0].Value = 6 }, path: "labels[0].value", code: "out_of_range"},
		{name: "label value 0", mutate: func(q *Questionnaire) { q.Labels[4].Value = 0 }, path: "labels[4].value", code: "out_of_range"},
		{name: "labels beyond a smaller scale", mutate: func(q *Questionnaire) { q.Scale = 4 }, path: "labels[0].value", code: "out_of_range"},
		{name: "duplicate label value", mutate: func(q *Questionnaire) { q.Labels[1].Value = 5 }, path: "labels[1].value", code: "duplicate_value"},
		{name: "duplicate label text", mutate: func(q *Questionnaire) { q.Labels[2].Text = "满意" }, path: "labels[2].text", code: "duplicate_text"},
		{name: "duplicate English label, other case", mutate: func(q *Questionnaire) { q.Labels[2].TextEn = "Satisfied " }, path: "labels[2].text_en", code: "duplicate_text"},
		{name: "English label equal to another's Chinese", mutate: func(q *Questionnaire) { q.Labels[0].TextEn = "满意" }, path: "labels[1].text", code: "duplicate_text"},
		{name: "empty label text", mutate: func(q *Questionnaire) { q.Labels[3].Text = "" }, path: "labels[3].text", code: "required"},
		{name: "numeric label text", mutate: func(q *Questionnaire) { q.Labels[3].Text = "2" }, path: "labels[3].text", code: "numeric_text"},

		// lists
		{name: "no items", mutate: func(q *Questionnaire) { q.Items = nil }, path: "items", code: "required"},
		{name: "no respondent types", mutate: func(q *Questionnaire) { q.RespondentTypes = []RespondentType{} }, path: "respondent_types", code: "required"},

		// attention check
		{name: "attention code clashes with an item", mutate: func(q *Questionnaire) { q.Attention = attention(); q.Attention.Code = "overall" }, path: "attention_check.code", code: "duplicate_code"},
		{name: "attention code malformed", mutate: func(q *Questionnaire) { q.Attention = attention(); q.Attention.Code = "Check" }, path: "attention_check.code", code: "invalid_code"},
		{name: "attention expects 0", mutate: func(q *Questionnaire) { q.Attention = attention(); q.Attention.Expect = 0 }, path: "attention_check.expect", code: "out_of_range"},
		{name: "attention expects above the scale", mutate: func(q *Questionnaire) { q.Attention = attention(); q.Attention.Expect = 6 }, path: "attention_check.expect", code: "out_of_range"},
		{name: "attention without text", mutate: func(q *Questionnaire) { q.Attention = attention(); q.Attention.Text = "" }, path: "attention_check.text", code: "required"},
		{name: "empty attention mapping", text: minimal + "attention_check: {}\n", path: "attention_check.code", code: "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.mutate != nil {
				q := Default()
				tc.mutate(&q)
				err = q.Validate()
				if err == nil {
					t.Fatal("Validate accepted the questionnaire")
				}
				// Parse must judge the same questionnaire the same way.
				if text, encErr := q.YAML(); encErr == nil && !tc.lossy {
					if _, perr := Parse(text); perr == nil {
						t.Error("Parse accepted what Validate refuses")
					}
				}
			} else {
				var q Questionnaire
				q, err = Parse([]byte(tc.text))
				if !reflect.DeepEqual(q, Questionnaire{}) {
					t.Error("Parse returned a questionnaire with an error")
				}
			}
			requireProblem(t, problemsOf(t, err), tc.path, tc.code)
		})
	}
}

// TestValidateReportsEveryProblem checks that one pass lists every problem.
func TestValidateReportsEveryProblem(t *testing.T) {
	q := Default()
	q.Code = "Bad"
	q.Items[1].Weight = -1
	q.Items[4].Code = "convenience"
	q.Labels[0].Value = 9
	errs := problemsOf(t, q.Validate())
	requireProblem(t, errs, "code", "invalid_code")
	requireProblem(t, errs, "items[1].weight", "out_of_range")
	requireProblem(t, errs, "items[4].code", "duplicate_code")
	requireProblem(t, errs, "labels[0].value", "out_of_range")
	if len(errs) != 4 {
		t.Errorf("%d problems, want 4: %+v", len(errs), errs)
	}
}

func TestLookups(t *testing.T) {
	q := Default()
	for _, tc := range []struct {
		text string
		want int
		ok   bool
	}{
		{"非常满意", 5, true}, {" 基本满意 ", 3, true}, {"\u3000不满意", 2, true},
		{"Very Dissatisfied", 1, true}, {"SATISFIED", 4, true}, {"满 意", 0, false}, {"", 0, false}, {"5", 0, false},
	} {
		if got, ok := q.LabelValue(tc.text); got != tc.want || ok != tc.ok {
			t.Errorf("LabelValue(%q) = %d, %v; want %d, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"enterprise", "enterprise"}, {"企业", "enterprise"}, {"Service Agency", "agency"}, {" 个人 ", "individual"}, {"政府", ""},
	} {
		got, ok := q.TypeCode(tc.text)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("TypeCode(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
		}
	}
	if !q.HasType("institute") || q.HasType("企业") || q.HasType("") {
		t.Error("HasType matches something other than a code")
	}
	if q.ItemIndex("overall") != 5 || q.ItemIndex("convenience") != 0 || q.ItemIndex("nope") != -1 {
		t.Error("ItemIndex")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(mustYAML(f, Default()))
	if j, err := Default().JSON(); err == nil {
		f.Add(j)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "scale: 7\nlabels: [{value: 7, text: 好}]\nattention_check: {code: chk, text: 选7, expect: 7}\n"))
	f.Add([]byte(minimal + "items: []\n"))
	f.Add([]byte("code: [unclosed"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte(`{"code": "x", "items": [{"code": "a", "weight": 1e400}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := Parse(data)
		if err != nil {
			var ve *fault.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("error is not a non-empty *fault.ValidationError: %T %v", err, err)
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("Parse accepted a questionnaire that does not validate: %v", err)
		}
		for _, encode := range []func(Questionnaire) ([]byte, error){Questionnaire.YAML, Questionnaire.JSON} {
			out, err := encode(q)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("re-parse of encoded questionnaire: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(back, q) {
				t.Fatalf("round trip changed the questionnaire:\n%s", out)
			}
		}
	})
}

func mustYAML(t testing.TB, q Questionnaire) []byte {
	t.Helper()
	b, err := q.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// problemsOf returns the FieldErrors of a validation error, failing the test
// for any other kind of error.
func problemsOf(t *testing.T, err error) []fault.FieldError {
	t.Helper()
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *fault.ValidationError, got %T: %v", err, err)
	}
	return ve.Errors
}

// requireProblem fails unless errs holds a problem at path with code, with
// both messages.
func requireProblem(t *testing.T, errs []fault.FieldError, path, code string) {
	t.Helper()
	for _, fe := range errs {
		if fe.Field == path && fe.Code == code {
			if fe.Message == "" || fe.MessageEn == "" {
				t.Errorf("%s %s: missing zh or en message: %+v", path, code, fe)
			}
			return
		}
	}
	t.Fatalf("no problem %s at %q; got %+v", code, path, errs)
}
