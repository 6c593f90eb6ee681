// Package textguard refuses the characters that must never be stored in
// text a user enters: names, codes, notes, reasons, scheme and
// questionnaire text, and the cells of imported files.
//
// The rule: text must be valid UTF-8 and hold no control character (C0
// U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F) and no bidirectional
// formatting character (U+061C, U+200E, U+200F, U+202A–U+202E,
// U+2066–U+2069). Controls ring, erase or rewrite terminals and break CSV,
// XML and log lines; bidi overrides reorder what a reader sees (an
// "exe.pdf" that reads as "fdp.exe", a name that reads as another), and
// Chinese and English text never needs them. Single-line values (Line:
// names, codes, titles, units) allow none of these; multi-line free text
// (Text: notes, reasons, descriptions, questionnaire wording) may also
// hold tab, line feed, and carriage return before a line feed, since
// browsers submit a textarea's lines with CRLF.
//
// The guard refuses and never strips: silently changing what someone typed
// would store text they did not write. Uploaded file names are the one
// exception; textenc.FileName strips them, since the client's file system
// chose the name, not the user's typing.
package textguard

import (
	"fmt"
	"unicode/utf8"

	"github.com/ipeval/ipeval/internal/fault"
)

// Mode selects the rule for one field.
type Mode int

const (
	// Line is a single-line value: a name, code, title or cell.
	Line Mode = iota
	// Text is multi-line free text: tab, LF and CRLF are allowed.
	Text
)

// Code is the FieldError code of a refused character.
const Code = "control_character"

// CodeInvalidUTF8 is the FieldError code of bytes that are not UTF-8.
const CodeInvalidUTF8 = "invalid_utf8"

// Find reports the first character of s that mode refuses: its byte
// offset and the rune, utf8.RuneError for a byte that is not UTF-8. ok is
// false when s is clean.
func Find(s string, mode Mode) (offset int, r rune, ok bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f { // printable ASCII, the common byte
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			if r, size = utf8.DecodeRuneInString(s[i:]); r == utf8.RuneError && size == 1 {
				return i, r, true
			}
		}
		if refused(s, i, r, mode) {
			return i, r, true
		}
		i += size
	}
	return 0, 0, false
}

// refused applies the rule to r at byte i of s, r not printable ASCII.
// It spells out Unicode's Cc and Bidi_Control sets (the tests hold it to
// them) rather than look them up: it runs on every cell of a million-row
// survey file.
func refused(s string, i int, r rune, mode Mode) bool {
	switch {
	case r < 0x20:
		if mode != Text {
			return true
		}
		switch r {
		case '\t', '\n':
			return false
		case '\r':
			return i+1 >= len(s) || s[i+1] != '\n'
		}
		return true
	case r <= 0x9f: // DEL and C1
		return true
	case r < 0x061c:
		return false
	}
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// Check returns the problem with s as field, or nil when s is clean. The
// caller locates a problem of a file (Row, Column) itself.
func Check(field, s string, mode Mode) *fault.FieldError {
	i, r, bad := Find(s, mode)
	if !bad {
		return nil
	}
	fe := Problem(field, r)
	if r == utf8.RuneError {
		fe = fault.Field(field, CodeInvalidUTF8,
			fmt.Sprintf("含有无效的 UTF-8 字节 0x%02X", s[i]),
			fmt.Sprintf("contains the byte 0x%02X, which is not UTF-8", s[i]))
	}
	return &fe
}

// Problem is the bilingual FieldError for the refused character r in field.
func Problem(field string, r rune) fault.FieldError {
	return fault.Field(field, Code,
		fmt.Sprintf("含有不允许的控制字符 %U", r),
		fmt.Sprintf("contains a disallowed control character %U", r))
}

// Fields checks the named values in one mode and returns every problem,
// in the order given, for a validator to append to its own:
//
//	errs = append(errs, textguard.Fields(textguard.Line, "name", in.Name, "code", in.Code)...)
//
// pairs alternate field name and value; an odd count panics, a
// programming error.
func Fields(mode Mode, pairs ...string) []fault.FieldError {
	if len(pairs)%2 != 0 {
		panic("textguard.Fields: odd number of arguments")
	}
	var errs []fault.FieldError
	for i := 0; i < len(pairs); i += 2 {
		if fe := Check(pairs[i], pairs[i+1], mode); fe != nil {
			errs = append(errs, *fe)
		}
	}
	return errs
}
