// Package textenc turns uploaded text into UTF-8: files saved by Excel or
// WPS on a Chinese Windows are GB18030/GBK, others UTF-8 with or without a
// byte-order mark. Every importer of user files goes through it.
package textenc

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ErrUnknownEncoding means the bytes are neither UTF-8 nor GB18030.
var ErrUnknownEncoding = errors.New("text is neither UTF-8 nor GB18030")

var bom = []byte{0xEF, 0xBB, 0xBF}

// ToUTF8 returns b as UTF-8 without a byte-order mark. Valid UTF-8 is taken
// as is; anything else is decoded as GB18030, a superset of GBK and GB2312.
func ToUTF8(b []byte) ([]byte, error) {
	if utf8.Valid(b) {
		return bytes.TrimPrefix(b, bom), nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil || !utf8.Valid(out) || bytes.ContainsRune(out, utf8.RuneError) {
		return nil, ErrUnknownEncoding
	}
	return out, nil
}

// Clip returns s as valid UTF-8 of at most n characters, so that text from
// a request (a user agent, an error) fits its column instead of failing
// the write that stores it.
func Clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// formulaStart are the characters that make a spreadsheet read a cell as a
// formula.
const formulaStart = "=+-@\t\r"

// GuardFormula neutralises text written to a CSV cell that a spreadsheet
// would run as a formula (=, +, -, @, tab or CR first): it gets a leading
// apostrophe. Text that already starts with apostrophes before such a
// character gets one more, so that UnguardFormula restores every text.
func GuardFormula(s string) string {
	if needsGuard(s) {
		return "'" + s
	}
	return s
}

// UnguardFormula undoes GuardFormula on text read back from a CSV.
func UnguardFormula(s string) string {
	if strings.HasPrefix(s, "'") && needsGuard(s[1:]) {
		return s[1:]
	}
	return s
}

func needsGuard(s string) bool {
	t := strings.TrimLeft(s, "'")
	return t != "" && strings.ContainsRune(formulaStart, rune(t[0]))
}
