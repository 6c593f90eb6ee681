// Package valuecheck holds the checks of indicator values as they are
// written — by the API, a page's form, an uploaded file or file mode
// (`ipeval evaluate`) — so that every way in refuses the same values with
// the same words. It is pure: the caller supplies the scheme and the
// regions' kinds.
package valuecheck

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/sheet"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/regions/kind"
)

// MaxText bounds a value's note and reason, in characters.
const MaxText = 1000

// Input is one value as a caller writes it.
type Input struct {
	RegionCode    string   `json:"region_code"`
	IndicatorCode string   `json:"indicator_code"`
	Number        *float64 `json:"number"`
	NotApplicable bool     `json:"not_applicable"`
	Note          string   `json:"note"`
	// Version is 0 to create the value, otherwise the version the caller
	// last saw; any other version is a conflict.
	Version int `json:"version"`
	// Reason is recorded in the revision history.
	Reason string `json:"reason"`
}

// Normalised returns in with its codes trimmed and the region's
// upper-cased, and its note trimmed with Windows line ends made Unix, so
// that the same note arrives the same way by JSON, xlsx or CSV.
func (in Input) Normalised() Input {
	in.RegionCode = NormRegion(in.RegionCode)
	in.IndicatorCode = strings.TrimSpace(in.IndicatorCode)
	in.Note = normNote(in.Note)
	return in
}

// NormRegion is a region code as stored: trimmed and upper-cased.
func NormRegion(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

func normNote(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' })
}

// UnknownRegion is the problem of a region code that names no region: its
// code and message.
func UnknownRegion(region string) (code, zh, en string) {
	return "unknown_region", "未知地区代码：" + region, "unknown region code: " + region
}

// Check lists every problem of items: unknown regions and indicators,
// survey-sourced indicators, repeated entries, values out of range or for
// an indicator that does not apply to the region's kind, and over-long or
// unsafe text. kinds holds the kind of every known region; place locates
// item i's field (a JSON item, a form field or a file's cell).
func Check(sc scheme.Scheme, kinds map[string]kind.Kind, items []Input, place func(i int, field string) fault.FieldError) []fault.FieldError {
	var errs []fault.FieldError
	seen := make(map[[2]string]int, len(items))
	for i, in := range items {
		add := func(field, code, zh, en string) {
			fe := place(i, field)
			fe.Indicator, fe.Code, fe.Message, fe.MessageEn = in.IndicatorCode, code, zh, en
			errs = append(errs, fe)
		}
		kind, regionOK := kinds[in.RegionCode]
		if !regionOK {
			code, zh, en := UnknownRegion(in.RegionCode)
			add("region_code", code, zh, en)
		}
		ind, indOK := sc.Indicator(in.IndicatorCode)
		switch {
		case !indOK:
			add("indicator_code", "unknown_indicator", "评价方案中没有指标："+in.IndicatorCode,
				"the scheme has no indicator "+in.IndicatorCode)
		case ind.SurveySourced():
			fe := SurveySourced("indicator_code", ind)
			add("indicator_code", fe.Code, fe.Message, fe.MessageEn)
			indOK = false
		}
		key := [2]string{in.RegionCode, in.IndicatorCode}
		if first, dup := seen[key]; dup {
			at := place(first, "").Row
			add("indicator_code", "duplicate", fmt.Sprintf("与第 %d 行重复", at), fmt.Sprintf("duplicates row %d", at))
		} else {
			seen[key] = i
		}
		switch {
		case in.Number != nil && in.NotApplicable:
			add("number", "number_and_not_applicable", "填写了数值就不能同时标记为不适用",
				"a value cannot be both a number and not applicable")
		case in.Number == nil && !in.NotApplicable:
			add("number", "required", "请填写数值或标记为不适用", "give a number or mark the value not applicable")
		case in.Number != nil && indOK:
			if fe := ind.CheckValue(*in.Number); fe != nil {
				add("number", fe.Code, fe.Message, fe.MessageEn)
			} else if regionOK && !sc.AppliesTo(ind, kind) {
				add("number", "not_applicable", fmt.Sprintf("指标 %s 不适用于%s，只能标记为不适用", ind.Code, kind.Name()),
					fmt.Sprintf("indicator %s does not apply to regions of kind %s; mark it not applicable", ind.Code, kind))
			}
		}
		if utf8.RuneCountInString(in.Note) > MaxText {
			add("note", "too_long", fmt.Sprintf("说明不超过 %d 字", MaxText), fmt.Sprintf("note must be at most %d characters", MaxText))
		}
		if utf8.RuneCountInString(in.Reason) > MaxText {
			add("reason", "too_long", fmt.Sprintf("修改原因不超过 %d 字", MaxText), fmt.Sprintf("reason must be at most %d characters", MaxText))
		}
		for _, fe := range textguard.Fields(textguard.Text, "note", in.Note, "reason", in.Reason) {
			add(fe.Field, fe.Code, fe.Message, fe.MessageEn)
		}
		if in.Version < 0 {
			add("version", "invalid_version", "版本号不能为负数", "version must not be negative")
		}
	}
	return errs
}

// Interpret turns a file's entries into value inputs, with the cell of
// each, and lists the entries that are not values.
func Interpret(sc scheme.Scheme, entries []sheet.Entry) ([]Input, []sheet.Entry, []fault.FieldError) {
	var items []Input
	var cells []sheet.Entry
	var errs []fault.FieldError
	for _, e := range entries {
		in := Input{RegionCode: e.RegionCode, IndicatorCode: e.IndicatorCode, Note: e.Note, Version: e.Version,
			NotApplicable: e.NotApplicable}
		if ind, ok := sc.Indicator(strings.TrimSpace(e.IndicatorCode)); ok {
			number, na, filled, fe := sheet.Interpret(e, ind)
			switch {
			case fe != nil:
				errs = append(errs, *fe)
				continue
			case !filled && e.Note != "":
				errs = append(errs, fault.FieldError{Row: e.Row, Column: e.Column, Indicator: e.IndicatorCode, Field: "value",
					Code: "required", Message: "填写了说明，但没有填写数值或标记不适用", MessageEn: "a note without a number or not applicable"})
				continue
			case !filled:
				continue
			}
			in.Number, in.NotApplicable = number, na
		} else {
			// Check reports the unknown code; without this it would
			// also ask for a value the entry may well have.
			in.NotApplicable = true
		}
		items = append(items, in)
		cells = append(cells, e)
	}
	return items, cells, errs
}

// SortByCell orders a file's problems by row, then column (A before AA).
func SortByCell(errs []fault.FieldError) {
	slices.SortStableFunc(errs, func(a, b fault.FieldError) int {
		return cmp.Or(cmp.Compare(a.Row, b.Row), cmp.Compare(len(a.Column), len(b.Column)), cmp.Compare(a.Column, b.Column))
	})
}

// SurveySourced is the problem of writing by hand what surveys provide.
func SurveySourced(field string, ind scheme.Indicator) fault.FieldError {
	return fault.FieldError{Field: field, Indicator: ind.Code, Code: "survey_sourced",
		Message:   "指标 " + ind.Code + " 取自满意度调查结果，不能手工填报",
		MessageEn: "indicator " + ind.Code + " comes from survey results and cannot be entered by hand"}
}
