package textguard_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/ipeval/ipeval/internal/textguard"
)

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		mode       textguard.Mode
		want       rune
		offset     int
		refused    bool
		wantInText bool // Text's verdict when it differs from Line's
	}{
		{name: "plain Chinese", in: "太原市 Taiyuan"},
		{name: "emoji with joiner", in: "👩\u200d💻"},
		{name: "NUL", in: "a\x00b", want: 0, offset: 1, refused: true},
		{name: "BEL", in: "\a", want: '\a', refused: true},
		{name: "ESC", in: "x\x1b[2J", want: 0x1b, offset: 1, refused: true},
		{name: "DEL", in: "\x7f", want: 0x7f, refused: true},
		{name: "C1 NEL", in: "名\u0085", want: 0x85, offset: 3, refused: true},
		{name: "C1 CSI", in: "\u009b", want: 0x9b, refused: true},
		{name: "RLO", in: "invoice\u202efdp.exe", want: 0x202e, offset: 7, refused: true},
		{name: "LRE", in: "\u202a", want: 0x202a, refused: true},
		{name: "isolate", in: "\u2066x\u2069", want: 0x2066, refused: true},
		{name: "RLM", in: "\u200f", want: 0x200f, refused: true},
		{name: "ALM", in: "\u061c", want: 0x061c, refused: true},
		{name: "not UTF-8", in: "a\xff", want: 0xfffd, offset: 1, refused: true},
		{name: "U+FFFD itself", in: "a\ufffd"},
		{name: "tab", in: "a\tb", want: '\t', offset: 1, refused: true, wantInText: true},
		{name: "LF", in: "a\nb", want: '\n', offset: 1, refused: true, wantInText: true},
		{name: "CRLF", in: "a\r\nb", want: '\r', offset: 1, refused: true, wantInText: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off, r, bad := textguard.Find(tc.in, textguard.Line)
			if bad != tc.refused || (bad && (r != tc.want || off != tc.offset)) {
				t.Errorf("Line: Find(%q) = %d, %U, %v; want %d, %U, %v", tc.in, off, r, bad, tc.offset, tc.want, tc.refused)
			}
			_, _, badText := textguard.Find(tc.in, textguard.Text)
			if want := tc.refused && !tc.wantInText; badText != want {
				t.Errorf("Text: Find(%q) refused = %v, want %v", tc.in, badText, want)
			}
		})
	}
	for _, in := range []string{"a\rb", "a\r", "\r\r\n"} {
		if _, r, bad := textguard.Find(in, textguard.Text); !bad || r != '\r' {
			t.Errorf("Text: a lone CR in %q passes", in)
		}
	}
}

// TestRuleCoversClasses checks the rule against Unicode's own classes:
// every Cc and every Bidi_Control character is refused on a line, nothing
// else below U+3000 is.
func TestRuleCoversClasses(t *testing.T) {
	for r := rune(0); r < 0x3000; r++ {
		want := unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
		if r >= 0xd800 && r <= 0xdfff {
			continue // surrogates are not runes of a Go string
		}
		if _, _, bad := textguard.Find(string(r), textguard.Line); bad != want {
			t.Errorf("%U: refused %v, want %v", r, bad, want)
		}
	}
}

func TestCheckMessages(t *testing.T) {
	if fe := textguard.Check("name", "机构", textguard.Line); fe != nil {
		t.Fatalf("clean text refused: %+v", fe)
	}
	fe := textguard.Check("name", "机构\u202e", textguard.Line)
	if fe == nil || fe.Field != "name" || fe.Code != textguard.Code ||
		fe.Message != "含有不允许的控制字符 U+202E" || fe.MessageEn != "contains a disallowed control character U+202E" {
		t.Fatalf("Check = %+v", fe)
	}
	fe = textguard.Check("note", "x\xfe", textguard.Text)
	if fe == nil || fe.Code != textguard.CodeInvalidUTF8 || !strings.Contains(fe.MessageEn, "0xFE") {
		t.Fatalf("invalid UTF-8: %+v", fe)
	}
	errs := textguard.Fields(textguard.Line, "a", "ok", "b", "\x00", "c", "\x1b")
	if len(errs) != 2 || errs[0].Field != "b" || errs[1].Field != "c" {
		t.Fatalf("Fields = %+v", errs)
	}
}

func BenchmarkFindASCII(b *testing.B) {
	s := strings.Repeat("5 非常满意 ", 4)
	for b.Loop() {
		textguard.Find(s, textguard.Text)
	}
}
