package sheet

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
)

// thousandsRE is a number written with thousands separators, "1,234.5".
// Only this exact shape loses its commas: "1,5" (a decimal comma) or
// "12,34" is refused rather than read as 15 or 1234.
var thousandsRE = regexp.MustCompile(`^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$`)

// decimalRE is plain decimal notation. strconv.ParseFloat alone would also
// take hexadecimal floats, underscores, "NaN" and "Inf".
var decimalRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// ParseDecimal reads plain decimal notation ("12", "-0.5", "1e3") as a
// finite number: no hexadecimal, underscores, NaN or infinity, and
// nothing beyond float64. Files that carry bare numbers (file mode's
// survey indices) read them with it.
func ParseDecimal(s string) (float64, bool) {
	if !decimalRE.MatchString(s) {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	return x, err == nil && !math.IsInf(x, 0)
}

// Interpret turns an entry's text into a value for ind: a number, or not
// applicable. ok=false with fe==nil means the entry is empty, which the
// caller treats as missing and skips. It reads what users type — 是/否 for
// yes/no indicators, "1,234.5", "85%" — but does not check ranges or
// whole numbers: scheme.Indicator.CheckValue does, for every way a value
// arrives.
func Interpret(e Entry, ind scheme.Indicator) (number *float64, notApplicable bool, ok bool, fe *fault.FieldError) {
	v := trim(e.Value)
	code := ind.Code
	if code == "" {
		code = e.IndicatorCode
	}
	fail := func(c, zh, en string) *fault.FieldError {
		return &fault.FieldError{Row: e.Row, Column: e.Column, Indicator: code, Field: "value", Code: c, Message: zh, MessageEn: en}
	}
	naText := isNAText(v)
	switch {
	case e.NotApplicable && (v == "" || naText):
		return nil, true, true, nil
	case e.NotApplicable:
		return nil, false, false, fail("number_and_not_applicable",
			fmt.Sprintf("同时填写了数值“%s”和“不适用”，请只保留其一", clip(v)),
			fmt.Sprintf("both a value (%q) and not applicable are given; keep one", clip(v)))
	case v == "":
		return nil, false, false, nil
	case naText:
		return nil, true, true, nil
	}
	if binary(ind) {
		switch strings.ToLower(v) {
		case textYes, "yes", "1":
			return ptr(1), false, true, nil
		case textNo, "no", "0":
			return ptr(0), false, true, nil
		}
	}
	x, code2, zh, en := parseNumber(v, ind)
	if code2 != "" {
		return nil, false, false, fail(code2, zh, en)
	}
	return &x, false, true, nil
}

func isNAText(s string) bool {
	return s == textNA || strings.EqualFold(s, "n/a")
}

func ptr(x float64) *float64 { return &x }

func clip(s string) string { return textenc.Clip(s, 40) }

// parseNumber reads a number in decimal notation, with optional thousands
// separators and an optional trailing percent sign. A percentage of an
// indicator whose unit is % is the number itself ("85%" is 85); for any
// other unit it is a fraction ("85%" is 0.85). On failure it returns an
// error code and messages.
func parseNumber(v string, ind scheme.Indicator) (x float64, code, zh, en string) {
	s, pct := v, false
	for _, sign := range []string{"%", "％"} {
		if strings.HasSuffix(s, sign) {
			s, pct = trim(strings.TrimSuffix(s, sign)), true
			break
		}
	}
	if thousandsRE.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	notFinite := func() (float64, string, string, string) {
		return 0, "not_finite", fmt.Sprintf("“%s”不是有限的数值（不能是 NaN 或无穷大）", clip(v)),
			fmt.Sprintf("%q is not a finite number (NaN and infinity are not allowed)", clip(v))
	}
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "nan", "inf", "infinity", "∞":
		return notFinite()
	}
	if !decimalRE.MatchString(s) {
		if binary(ind) {
			return 0, "not_a_number", fmt.Sprintf("“%s”不是数字，是/否指标请填写“是”或“否”", clip(v)),
				fmt.Sprintf("%q is not a number; a yes/no indicator takes 是 (yes) or 否 (no)", clip(v))
		}
		return 0, "not_a_number", fmt.Sprintf("“%s”不是数字", clip(v)), fmt.Sprintf("%q is not a number", clip(v))
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		// The syntax is right, so the only failure is a value beyond
		// float64, such as 1e999.
		return notFinite()
	}
	if pct && ind.Unit != "%" {
		x /= 100
	}
	return x, "", "", ""
}
