// Text folding for matching: white space, width and case, question numbering,
// type suffixes, brackets and separators — what makes two spellings of a
// header or a label the same.

package responsefile

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// headerCandidates lists the readings of a normalised header, most literal
// first: the header itself, then without question numbering and type
// suffixes ("1、服务便捷性（单选题）"), the text in a trailing bracket (a
// matrix row "5(服务便捷性)", LimeSurvey's "q5[convenience]"), the part after
// a dash or colon ("请评价—服务便捷性"), and the last segment of a group path
// (KoboToolbox "group_a/convenience", ODK "meta/instanceID", ODK Central
// "meta-instanceID").
func headerCandidates(k string) []string {
	bases := []string{k}
	for _, sep := range []byte{'/', '-'} {
		if i := strings.LastIndexByte(k, sep); i > 0 && i < len(k)-1 {
			bases = append(bases, k[i+1:])
		}
	}
	var out []string
	for _, b := range bases {
		s := strip(b)
		out = append(out, b, s)
		if in := bracketContent(b); in != "" {
			out = append(out, in, strip(in))
		}
		if tail := afterSeparator(s); tail != "" {
			out = append(out, tail)
		}
	}
	return out
}

// trim removes white space, including the ideographic space U+3000 that
// Chinese input methods type, and the invisible zero-width space and BOM
// that text copied from web pages carries. It returns a substring and does
// not allocate.
func trim(s string) string {
	// Fast path: ASCII without surrounding space, the common cell.
	if s == "" || (s[0] > ' ' && s[0] < utf8.RuneSelf && s[len(s)-1] > ' ' && s[len(s)-1] < utf8.RuneSelf) {
		return s
	}
	return strings.TrimFunc(s, isSpace)
}

func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' || r == '\u00a0'
}

// norm folds a header or label for comparison: full-width forms to
// half-width, lower case, runs of white space to one space.
func norm(s string) string {
	s = strings.ToLower(width.Fold.String(s))
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

// strip removes from a normalised header the question numbering in front
// ("1、", "1.", "q1.", "q1_", "(1)", "第1题", "一、") and, at the end,
// required-markers, colons and question-type suffixes ("(单选)", "【必答】").
func strip(s string) string {
	s = stripNumbering(s)
	for {
		t := strings.TrimRightFunc(s, func(r rune) bool {
			return isSpace(r) || strings.ContainsRune("*:?？。.", r)
		})
		t = stripTypeSuffix(t)
		if t == s {
			return s
		}
		s = t
	}
}

// numberingSeps may follow a question number.
const numberingSeps = "、.):_-． "

func stripNumbering(s string) string {
	t := s
	switch {
	case strings.HasPrefix(t, "第"):
		rest := t[len("第"):]
		n := digitsPrefix(rest)
		if n == 0 || !strings.HasPrefix(rest[n:], "题") {
			return s
		}
		t = rest[n+len("题"):]
	case strings.HasPrefix(t, "("), strings.HasPrefix(t, "["), strings.HasPrefix(t, "【"):
		_, size := utf8.DecodeRuneInString(t)
		rest := t[size:]
		n := digitsPrefix(rest)
		if n == 0 {
			return s
		}
		closing, csize := utf8.DecodeRuneInString(rest[n:])
		if !strings.ContainsRune(")]】", closing) {
			return s
		}
		t = rest[n+csize:]
	default:
		rest := strings.TrimPrefix(t, "q")
		n := dottedDigitsPrefix(rest)
		if n == 0 {
			n = chineseNumeralPrefix(rest)
			if n == 0 || !strings.HasPrefix(rest[n:], "、") {
				return s
			}
		}
		sep, size := utf8.DecodeRuneInString(rest[n:])
		if size == 0 || !strings.ContainsRune(numberingSeps, sep) {
			return s
		}
		t = rest[n:]
	}
	t = strings.TrimLeftFunc(t, func(r rune) bool { return isSpace(r) || strings.ContainsRune(numberingSeps, r) })
	if t == "" {
		return s
	}
	return t
}

func digitsPrefix(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// dottedDigitsPrefix measures "12" or "1.2" (sub-questions), not counting
// a final dot, which is the separator.
func dottedDigitsPrefix(s string) int {
	n := digitsPrefix(s)
	for n > 0 && n+1 < len(s) && s[n] == '.' && s[n+1] >= '0' && s[n+1] <= '9' {
		n += 1 + digitsPrefix(s[n+1:])
	}
	return n
}

func chineseNumeralPrefix(s string) int {
	n := 0
	for _, r := range s {
		if !strings.ContainsRune("一二三四五六七八九十", r) {
			break
		}
		n += utf8.RuneLen(r)
	}
	return n
}

// stripTypeSuffix removes a bracketed question-type note ("(单选题)",
// "【必答】", "[single choice]") from the end of a header.
func stripTypeSuffix(s string) string {
	in := bracketContent(s)
	if in == "" {
		return s
	}
	for _, w := range []string{"单选", "多选", "必答", "必填", "量表", "矩阵", "打分", "评分", "填空", "下拉",
		"single", "multiple", "required", "choice", "rating"} {
		if strings.Contains(in, w) {
			open := strings.LastIndexAny(s, "([【<")
			return strings.TrimRightFunc(s[:open], isSpace)
		}
	}
	return s
}

// bracketContent returns the text inside a trailing bracket pair, or "".
func bracketContent(s string) string {
	last, size := utf8.DecodeLastRuneInString(s)
	var open string
	switch last {
	case ')':
		open = "("
	case ']':
		open = "["
	case '】':
		open = "【"
	case '>':
		open = "<"
	default:
		return ""
	}
	i := strings.LastIndex(s[:len(s)-size], open)
	if i <= 0 {
		return ""
	}
	return trim(s[i+len(open) : len(s)-size])
}

// afterSeparator returns the text after the last dash or colon, or "".
func afterSeparator(s string) string {
	i, size := -1, 0
	for _, sep := range []string{"—", "--", " - ", ":", "－"} {
		if j := strings.LastIndex(s, sep); j > i {
			i, size = j, len(sep)
		}
	}
	if i <= 0 {
		return ""
	}
	return trim(s[i+size:])
}
