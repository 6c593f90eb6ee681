package strictyaml

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
)

// doc is a small document type exercising every shape Decode checks.
type doc struct {
	Code    string            `yaml:"code"`
	Count   int               `yaml:"count"`
	Small   uint8             `yaml:"small"`
	Ratio   float64           `yaml:"ratio"`
	On      bool              `yaml:"on"`
	Limit   *float64          `yaml:"limit,omitempty"`
	Parts   []part            `yaml:"parts"`
	Tags    map[string]string `yaml:"tags"`
	Inner   *part             `yaml:"inner"`
	Plain   string            // untagged: key "plain", as yaml.v3 names it
	Ignored string            `yaml:"-"`
}

type part struct {
	ID   string  `yaml:"id"`
	Size float64 `yaml:"size"`
}

// byID names the elements of "parts" by id, the way a validator that names
// them by id would.
func byID(path string, i int, field func(string) (string, bool)) string {
	if path != "parts" {
		return ""
	}
	if id, ok := field("id"); ok && id != "" {
		return "parts[" + id + "]"
	}
	return ""
}

func problems(t *testing.T, err error) []fault.FieldError {
	t.Helper()
	var ve *fault.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) == 0 {
		t.Fatalf("want a non-empty *fault.ValidationError, got %T: %v", err, err)
	}
	for _, fe := range ve.Errors {
		if fe.Message == "" || fe.MessageEn == "" {
			t.Errorf("problem without zh or en message: %+v", fe)
		}
	}
	return ve.Errors
}

func has(errs []fault.FieldError, path, code string) bool {
	for _, fe := range errs {
		if fe.Field == path && fe.Code == code {
			return true
		}
	}
	return false
}

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       doc
	}{
		{"yaml", "code: a\ncount: 3\nsmall: 7\nratio: 0.5\non: true\nlimit: 2\nparts:\n  - {id: p, size: 1}\ntags: {x: y}\ninner: {id: q}\nplain: z\n",
			doc{Code: "a", Count: 3, Small: 7, Ratio: 0.5, On: true, Limit: ptr(2), Parts: []part{{"p", 1}}, Tags: map[string]string{"x": "y"}, Inner: &part{ID: "q"}, Plain: "z"}},
		{"json", `{"code": "a", "count": 3, "parts": [{"id": "p", "size": 1.5}]}`,
			doc{Code: "a", Count: 3, Parts: []part{{"p", 1.5}}}},
		{"json escapes yaml refuses", `{"code": "a\/b \u662f \ud83d\ude00"}`, doc{Code: "a/b 是 \U0001F600"}},
		{"whole float for an integer", "count: 2.0\nsmall: 3.0\n", doc{Count: 2, Small: 3}},
		{"merge key", "parts:\n  - &b {id: p, size: 2}\n  - <<: *b\n    id: q\n", doc{Parts: []part{{"p", 2}, {"q", 2}}}},
		{"CRLF", "code: a\r\ncount: 1\r\n", doc{Code: "a", Count: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got doc
			if err := Decode([]byte(tc.text), &got, Options{}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func ptr(x float64) *float64 { return &x }

// TestDecodeKeepsDefaults pins the contract Parse functions rely on: what v
// holds on entry survives unless the document sets it.
func TestDecodeKeepsDefaults(t *testing.T) {
	v := doc{Code: "default", Count: 5, Ratio: 0.65}
	if err := Decode([]byte("code: set\nratio: 0\ncount: null\n"), &v, Options{}); err != nil {
		t.Fatal(err)
	}
	if v.Code != "set" || v.Ratio != 0 || v.Count != 5 {
		t.Errorf("got %+v: want code set, explicit ratio 0, null count keeping 5", v)
	}
	v = doc{Code: "untouched"}
	if err := Decode([]byte("code: x\ncolour: red\n"), &v, Options{}); err == nil || v.Code != "untouched" {
		t.Errorf("a refused document changed v: %+v, %v", v, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	opts := Options{Subject: "样例文件", SubjectEn: "sample document", MaxSize: 200, ElementPath: byID}
	for _, tc := range []struct {
		name, text string
		path, code string
		en         string // a substring of the English message
	}{
		{"unknown field", "colour: red\n", "colour", "unknown_field", "unknown field"},
		{"ignored field is unknown", "ignored: x\n", "ignored", "unknown_field", ""},
		{"unknown nested field", "inner: {id: a, sise: 1}\n", "inner.sise", "unknown_field", ""},
		{"element named by the hook", "parts:\n  - {id: p1, sise: 1}\n", "parts[p1].sise", "unknown_field", ""},
		{"element without id by index", "parts:\n  - {id: p1}\n  - {sise: 1}\n", "parts[1].sise", "unknown_field", ""},
		{"duplicate key", "code: a\ncode: b\n", "code", "duplicate_key", ""},
		{"text for a number", "ratio: half\n", "ratio", "invalid_type", "must be a number"},
		{"fraction for an integer", "count: 1.5\n", "count", "invalid_type", "must be an integer"},
		{"negative for an unsigned", "small: -1\n", "small", "invalid_type", "non-negative integer"},
		{"fraction for an unsigned", "small: 1.5\n", "small", "invalid_type", "non-negative integer"},
		{"overflow", "small: 300\n", "small", "invalid_type", ""},
		{"text for a bool", "on: maybe\n", "on", "invalid_type", "true or false"},
		{"list for a string", "code: [a]\n", "code", "invalid_type", "must be a string"},
		{"mapping for a list", "parts: {}\n", "parts", "invalid_type", "must be a list"},
		{"scalar for a mapping", "inner: x\n", "inner", "invalid_type", "must be a mapping"},
		{"scalar for a map", "tags: x\n", "tags", "invalid_type", "must be a mapping"},
		{"wrong map value", "tags: {a: [1]}\n", "tags.a", "invalid_type", ""},
		{"non-scalar key", "? [a]\n: 1\n", "", "invalid_key", ""},
		{"unknown field in a merge", "parts:\n  - {id: p}\n  - <<: {colour: red}\n    id: q\n", "parts[q].colour", "unknown_field", ""},
		{"syntax error", "code: [unclosed\nname: x\n", "", "syntax", "line"},
		{"JSON syntax error", `{"code": "x"`, "", "syntax", ""},
		{"empty", "", "", "empty", "sample document is empty"},
		{"only a comment", "# nothing\n", "", "empty", ""},
		{"two documents", "code: a\n---\ncode: b\n", "", "multiple_documents", ""},
		{"list at the top", "- a\n", "", "invalid_type", "mapping at the top level"},
		{"too large", "code: " + strings.Repeat("x", 200) + "\n", "", "too_large", "exceeds 200 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v doc
			errs := problems(t, Decode([]byte(tc.text), &v, opts))
			for _, fe := range errs {
				if fe.Field == tc.path && fe.Code == tc.code {
					if !strings.Contains(fe.MessageEn, tc.en) {
						t.Errorf("message_en %q lacks %q", fe.MessageEn, tc.en)
					}
					return
				}
			}
			t.Errorf("no %s at %q in %+v", tc.code, tc.path, errs)
		})
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	var v doc
	errs := problems(t, Decode([]byte("colour: red\ncount: x\nparts:\n  - {size: big}\n"), &v, Options{}))
	for _, want := range []struct{ path, code string }{
		{"colour", "unknown_field"}, {"count", "invalid_type"}, {"parts[0].size", "invalid_type"},
	} {
		if !has(errs, want.path, want.code) {
			t.Errorf("no %s at %s in %+v", want.code, want.path, errs)
		}
	}
}

func TestDecodeDefaultSubject(t *testing.T) {
	errs := problems(t, Decode(nil, &doc{}, Options{}))
	if errs[0].Message != "文件为空" || errs[0].MessageEn != "document is empty" {
		t.Errorf("messages = %q / %q", errs[0].Message, errs[0].MessageEn)
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("code: &l0 [x, x]\n")
	for i := 1; i < 40; i++ {
		b.WriteString("k" + strconv.Itoa(i) + ": &l" + strconv.Itoa(i) + " [*l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + "]\n")
	}
	errs := problems(t, Decode([]byte(b.String()), &doc{}, Options{MaxNodes: 1000}))
	// The unknown keys are reported, and the walk stops at the budget with
	// one too_complex problem rather than expanding 2^40 nodes.
	n := 0
	for _, fe := range errs {
		if fe.Code == "too_complex" {
			n++
		}
	}
	if n > 1 {
		t.Errorf("too_complex reported %d times", n)
	}
	if len(errs) > 1000 {
		t.Errorf("%d problems for one bomb", len(errs))
	}
}

func TestDecodeWantsStructPointer(t *testing.T) {
	for _, v := range []any{nil, doc{}, (*doc)(nil), new(int)} {
		err := Decode([]byte("code: a\n"), v, Options{})
		var ve *fault.ValidationError
		if err == nil || errors.As(err, &ve) {
			t.Errorf("Decode(%T) = %v, want a programming error", v, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("code: a\ncount: 3\nparts:\n  - {id: p, size: 1}\n"))
	f.Add([]byte(`{"code": "a\/b", "tags": {"x": "y"}}`))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("parts:\n  - &b {id: p}\n  - <<: *b\n"))
	f.Add([]byte("code: [unclosed"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v doc
		err := Decode(data, &v, Options{ElementPath: byID})
		if err != nil {
			var ve *fault.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("error is not a non-empty *fault.ValidationError: %T %v", err, err)
			}
		}
	})
}
