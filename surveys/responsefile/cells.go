package responsefile

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Cell parsers. They are called once per cell of a million-row file, so
// each has a fast path for the common spelling that neither allocates nor
// tries alternatives, and falls back to the slower readings only when that
// fails.

// Outcomes of reading an answer cell; answerOK and answerBlank are not
// problems.
const (
	answerOK = iota
	answerBlank
	answerOutOfScale
	answerUnknownLabel
	answerMismatch
)

// labelSet maps the texts of the answer scale (Chinese and English, as
// written and folded) to their values.
type labelSet map[string]uint8

func newLabelSet(labels []labelText) labelSet {
	ls := labelSet{}
	for _, l := range labels {
		for _, text := range []string{l.text, l.textEn} {
			if trim(text) == "" {
				continue
			}
			ls[trim(text)] = l.value
			ls[norm(text)] = l.value
		}
	}
	return ls
}

type labelText struct {
	value        uint8
	text, textEn string
}

// lookup finds a label as written, then folded (case, width, spaces).
func (ls labelSet) lookup(s string) (uint8, bool) {
	if v, ok := ls[s]; ok {
		return v, true
	}
	if len(ls) == 0 {
		return 0, false
	}
	v, ok := ls[norm(s)]
	return v, ok
}

// skipMarkers are what survey tools write for a question the respondent
// never saw or skipped; they mean no answer.
func isSkipMarker(s string) bool {
	switch s {
	case "(跳过)", "（跳过）", "(空)", "（空）":
		return true
	}
	return false
}

// answer reads an answer cell on a k-point item: a number ("5", "5.0"),
// a label ("非常满意", "Very satisfied"), or both as Wenjuanxing writes them
// ("5 非常满意", "非常满意(5)"), which must agree. labels is nil for an item
// whose scale the labels do not describe.
func answer(s string, k int, labels labelSet) (int, int) {
	if len(s) == 1 && s[0] >= '0' && s[0] <= '9' {
		return inScale(float64(s[0]-'0'), k)
	}
	t := trim(s)
	if t == "" || isSkipMarker(t) {
		return 0, answerBlank
	}
	if v, ok := labels[t]; ok {
		return int(v), answerOK
	}
	if x, ok := parseNumber(t); ok {
		return inScale(x, k)
	}
	if x, ok := parseNumber(strings.TrimSuffix(t, "分")); ok {
		return inScale(x, k)
	}
	if n, text, ok := splitNumberLabel(t); ok {
		v, found := labels.lookup(text)
		if !found {
			return 0, answerUnknownLabel
		}
		x, code := inScale(float64(n), k)
		if code != answerOK {
			return 0, code
		}
		if x != int(v) {
			return 0, answerMismatch
		}
		return x, answerOK
	}
	if v, ok := labels.lookup(t); ok {
		return int(v), answerOK
	}
	return 0, answerUnknownLabel
}

func inScale(x float64, k int) (int, int) {
	if x != math.Trunc(x) || x < 1 || x > float64(k) {
		return 0, answerOutOfScale
	}
	return int(x), answerOK
}

// parseNumber reads a plain decimal number. Text that cannot be one is
// refused before strconv, whose error would allocate.
func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' {
			return 0, false
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, false
	}
	return x, true
}

// splitNumberLabel splits "5 非常满意", "5.非常满意", "5、非常满意",
// "5-非常满意", "非常满意(5)", "非常满意（5）" and "非常满意 5" into number and
// label text.
func splitNumberLabel(s string) (int, string, bool) {
	if n := digitsPrefix(s); n > 0 && n <= 3 {
		rest := strings.TrimLeftFunc(s[n:], func(r rune) bool {
			return isSpace(r) || strings.ContainsRune(".、:：-_=．", r)
		})
		if rest != "" && len(rest) < len(s)-n {
			v, _ := strconv.Atoi(s[:n])
			return v, rest, true
		}
		return 0, "", false
	}
	for _, pair := range [...][2]string{{"(", ")"}, {"（", "）"}} {
		if strings.HasSuffix(s, pair[1]) {
			i := strings.LastIndex(s, pair[0])
			if i <= 0 {
				continue
			}
			num := trim(s[i+len(pair[0]) : len(s)-len(pair[1])])
			n := digitsPrefix(num)
			if n == 0 || n != len(num) || n > 3 {
				continue
			}
			v, _ := strconv.Atoi(num)
			return v, trim(s[:i]), true
		}
	}
	if i := strings.LastIndexFunc(s, isSpace); i > 0 {
		num := s[i+1:]
		if n := digitsPrefix(num); n > 0 && n == len(num) && n <= 3 {
			v, _ := strconv.Atoi(num)
			return v, trim(s[:i]), true
		}
	}
	return 0, "", false
}

// parseSeconds reads a completion time: seconds ("125", "125.5", "125秒",
// "125s"), hours/minutes/seconds in words ("2分5秒", "1小时2分", "2m5s") or
// a clock ("00:02:05", "2:05"). ok is false for text that is none of these.
func parseSeconds(s string) (float64, bool) {
	t := trim(s)
	if x, ok := parseNumber(t); ok {
		return x, true
	}
	if strings.Contains(t, ":") {
		return parseClock(t)
	}
	return parseUnits(t)
}

// parseClock reads [h:]m:s.
func parseClock(s string) (float64, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	total := 0.0
	for i, p := range parts {
		p = trim(p)
		last := i == len(parts)-1
		if p == "" || p[0] == '-' || p[0] == '+' || (!last && strings.Contains(p, ".")) {
			return 0, false
		}
		x, ok := parseNumber(p)
		if !ok || (i > 0 && x >= 60) {
			return 0, false
		}
		total = total*60 + x
	}
	return total, true
}

// parseUnits reads a sequence of number-unit pairs.
func parseUnits(s string) (float64, bool) {
	total, pairs := 0.0, 0
	for s != "" {
		s = strings.TrimLeftFunc(s, isSpace)
		n := 0
		for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.') {
			n++
		}
		if n == 0 {
			return 0, false
		}
		x, ok := parseNumber(s[:n])
		if !ok {
			return 0, false
		}
		s = strings.TrimLeftFunc(s[n:], isSpace)
		u := 0
		for u < len(s) {
			r, size := utf8.DecodeRuneInString(s[u:])
			if r >= '0' && r <= '9' || isSpace(r) {
				break
			}
			u += size
		}
		unit := strings.ToLower(s[:u])
		s = s[u:]
		switch unit {
		case "小时", "时", "h", "hr", "hrs", "hour", "hours":
			x *= 3600
		case "分钟", "分", "m", "min", "mins", "minute", "minutes", "'":
			x *= 60
		case "秒", "秒钟", "s", "sec", "secs", "second", "seconds", "\"":
		default:
			return 0, false
		}
		total += x
		pairs++
	}
	return total, pairs > 0
}

// timeParser reads submission times in a zone.
type timeParser struct {
	loc *time.Location
	// twoDigitYears accepts excelize's renderings of the built-in xlsx
	// date formats 14 (mm-dd-yy) and 22 (m/d/yy h:mm). In a CSV such a
	// date is ambiguous and refused.
	twoDigitYears bool
}

// parse reads "2006-01-02 15:04:05", "2006/1/2 15:04[:05]", "2006年1月2日",
// "2006-01-02", RFC 3339 with or without zone, and Excel serial numbers.
func (p timeParser) parse(s string) (time.Time, bool) {
	t := trim(s)
	if t == "" {
		return time.Time{}, false
	}
	if x, ok := parseNumber(t); ok && strings.IndexByte(t, '-') < 0 && strings.IndexByte(t, '+') < 0 {
		return p.serial(x)
	}
	if i := strings.IndexByte(t, 'T'); i > 0 {
		return p.iso(t, i)
	}
	return p.civil(t)
}

// serial reads an Excel serial date; 1 is 1900-01-01, 2958465 9999-12-31.
// Day 0 is 30 December 1899, which accounts for Excel's phantom 29
// February 1900 for every date from March 1900 on.
func (p timeParser) serial(x float64) (time.Time, bool) {
	if x < 1 || x >= 2958466 {
		return time.Time{}, false
	}
	days := math.Floor(x)
	secs := math.Round((x - days) * 86400)
	return time.Date(1899, time.December, 30+int(days), 0, 0, int(secs), 0, p.loc), true
}

// iso reads RFC 3339, with a zone or (KoboToolbox, ODK) without one.
func (p timeParser) iso(s string, tpos int) (time.Time, bool) {
	clock := s[tpos+1:]
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") || strings.ContainsAny(clock, "+-") {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t, err = time.Parse("2006-01-02T15:04Z07:00", s)
		}
		return t, err == nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, p.loc)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02T15:04", s, p.loc)
	}
	return t, err == nil
}

// civil reads a date with '-', '/', '.' or 年月日, and an optional clock.
func (p timeParser) civil(s string) (time.Time, bool) {
	var f [3]int
	var w [3]int // digits in each date field
	rest := s
	for i := range f {
		n := digitsPrefix(rest)
		if n == 0 || n > 4 {
			return time.Time{}, false
		}
		f[i], _ = strconv.Atoi(rest[:n])
		w[i] = n
		rest = rest[n:]
		if i < 2 {
			sep, size := utf8.DecodeRuneInString(rest)
			if !strings.ContainsRune("-/.年月", sep) {
				return time.Time{}, false
			}
			rest = rest[size:]
		}
	}
	rest = strings.TrimPrefix(rest, "日")
	y, m, d := f[0], f[1], f[2]
	switch {
	case w[0] == 4 && w[1] <= 2 && w[2] <= 2:
	case p.twoDigitYears && w[0] <= 2 && w[1] <= 2 && w[2] == 2:
		m, d, y = f[0], f[1], 2000+f[2]
	default:
		return time.Time{}, false
	}
	var hh, mm, ss, ns int
	if rest = trim(rest); rest != "" {
		var ok bool
		if hh, mm, ss, ns, ok = parseClockOfDay(rest); !ok {
			return time.Time{}, false
		}
	}
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, hh, mm, ss, ns, p.loc)
	if t.Day() != d {
		return time.Time{}, false // 31 April
	}
	return t, true
}

// parseClockOfDay reads h:mm[:ss[.fff]] without allocating.
func parseClockOfDay(s string) (hh, mm, ss, ns int, ok bool) {
	var v [3]int
	i := 0
	for ; i < 3 && s != ""; i++ {
		part := s
		if j := strings.IndexByte(s, ':'); j >= 0 && i < 2 {
			part, s = s[:j], s[j+1:]
		} else {
			s = ""
		}
		if i == 2 {
			if dot := strings.IndexByte(part, '.'); dot >= 0 {
				frac := part[dot+1:]
				part = part[:dot]
				n := digitsPrefix(frac)
				if n != len(frac) || n == 0 || n > 9 {
					return 0, 0, 0, 0, false
				}
				ns, _ = strconv.Atoi(frac)
				for ; n < 9; n++ {
					ns *= 10
				}
			}
		}
		n := digitsPrefix(part)
		if n == 0 || n != len(part) || n > 2 {
			return 0, 0, 0, 0, false
		}
		v[i], _ = strconv.Atoi(part)
	}
	if i < 2 || s != "" || v[0] > 23 || v[1] > 59 || v[2] > 59 {
		return 0, 0, 0, 0, false
	}
	return v[0], v[1], v[2], ns, true
}

// ContactHash is the keyed hash stored in place of a contact (phone or
// e-mail), so that the quality screens can find one respondent answering
// twice without the system ever holding the contact. The contact is
// normalised first, so that one phone written three ways hashes alike:
// a phone keeps only its digits, less a +86/0086/86 country code in front
// of an 11-digit mobile number; an e-mail is trimmed and lower-cased. The
// result is hex HMAC-SHA-256; a contact with nothing to hash (empty, "无",
// "-") gives "".
func ContactHash(key []byte, contact string) string {
	return newContactHasher(key).hash(contact)
}

// contactHasher is ContactHash with its buffers kept from row to row.
type contactHasher struct {
	mac  hash.Hash
	norm []byte
	sum  []byte
	hex  []byte
}

func newContactHasher(key []byte) *contactHasher {
	return &contactHasher{mac: hmac.New(sha256.New, key)}
}

func (h *contactHasher) hash(contact string) string {
	h.norm = normaliseContact(h.norm[:0], contact)
	if len(h.norm) == 0 {
		return ""
	}
	h.mac.Reset()
	h.mac.Write(h.norm)
	h.sum = h.mac.Sum(h.sum[:0])
	h.hex = hex.AppendEncode(h.hex[:0], h.sum)
	return string(h.hex)
}

// normaliseContact appends the normal form of a contact to dst.
func normaliseContact(dst []byte, contact string) []byte {
	t := trim(contact)
	if strings.ContainsAny(t, "@＠") {
		return append(dst, strings.ToLower(strings.ReplaceAll(t, "＠", "@"))...)
	}
	start := len(dst)
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
			dst = append(dst, byte(r))
		case r >= '０' && r <= '９':
			dst = append(dst, byte('0'+r-'０'))
		}
	}
	digits := dst[start:]
	switch {
	case len(digits) == 15 && string(digits[:4]) == "0086" && digits[4] == '1':
		dst = append(dst[:start], digits[4:]...)
	case len(digits) == 13 && string(digits[:2]) == "86" && digits[2] == '1':
		dst = append(dst[:start], digits[2:]...)
	}
	return dst
}
