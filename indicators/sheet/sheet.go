// Package sheet reads and writes the files regions use for bulk entry of
// indicator values: Excel (xlsx) templates for one region or for a whole
// cycle, a CSV equivalent, and the parsing of filled-in uploads back into
// entries.
//
// It is file-format code only — no database, HTTP or scheme validation. The
// caller (package indicators) checks every entry against the scheme and
// stores an upload atomically; this package only turns cell text into
// entries, and an entry's text into a number or "not applicable". Nothing a
// template says (locked cells, dropdowns, hidden metadata) is trusted on the
// way back: users can edit any workbook with any tool, so the server
// re-validates everything.
package sheet

import (
	"strings"
	"time"
	"unicode"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
)

// Layout of a workbook: which way round regions and indicators run.
type Layout string

// Layouts. A region fills in the per-region (ByIndicator) template, where
// every value has its own row with room for a note; the province fills in
// the per-cycle (ByRegion) grid, where one row holds a region's values.
const (
	ByIndicator Layout = "indicators" // one row per (region, indicator): the per-region template
	ByRegion    Layout = "regions"    // one row per region, one column per indicator: the per-cycle template
)

// Region is a row subject: a region whose values the template collects. Its
// kind decides which indicators apply.
type Region struct {
	Code string
	Name string
	Kind kind.Kind
}

// Current is the stored state of one value, pre-filled into a template so
// that a region edits what it already entered rather than starting blank,
// and so that the version it edited travels back for optimistic locking.
type Current struct {
	Number        *float64
	NotApplicable bool
	Note          string
	// Status is the review status code (draft, submitted, verified,
	// rejected); the template shows it in Chinese.
	Status  string
	Version int
}

// Meta identifies a generated workbook. It is written to the very hidden
// sheet "_ipeval" (key/value rows) so that an upload can be matched to the
// cycle, scheme version and region it was generated for.
type Meta struct {
	CycleID       string
	CycleName     string
	Year          int
	SchemeCode    string
	SchemeVersion int
	Layout        Layout
	// RegionCode is the region of a per-region template; "" for per-cycle.
	RegionCode string
	// Generated is stored in UTC to the second (RFC 3339).
	Generated time.Time
}

// Template is what a workbook is generated from.
type Template struct {
	Meta    Meta
	Scheme  scheme.Scheme
	Regions []Region
	// Values holds the stored values, keyed by {region code, indicator code}.
	Values map[[2]string]Current
}

// Entry is one filled-in value cell of an upload, as text: the caller
// interprets it with Interpret against the indicator it names.
type Entry struct {
	// Row is the 1-based row in the sheet, or line in the CSV (header lines
	// count), so that errors point where the user looks.
	Row int
	// Column is the spreadsheet column letter of the value cell ("H"); for
	// CSV the letter Excel would show when opening it.
	Column        string
	RegionCode    string
	IndicatorCode string
	// Value is the trimmed text of the value cell; "" is empty.
	Value string
	// NotApplicable is set when the 不适用 column says so (ByIndicator). In
	// the ByRegion layout "不适用" is written in Value instead.
	NotApplicable bool
	Note          string
	// Version is the stored version the user edited, from the 版本 column
	// (ByIndicator) or the hidden _versions sheet (ByRegion); 0 when absent.
	Version int
}

// File is a parsed upload.
type File struct {
	// Meta is nil for CSV and for a workbook this package did not generate.
	Meta    *Meta
	Layout  Layout
	Entries []Entry
	// Notes tells whether the file has a note column. Without one (the
	// per-cycle grid, or a CSV of codes and numbers) an entry's empty Note
	// says nothing, and the stored note must be kept.
	Notes bool
	// Problems are the cells that could not be read (a bad version, a
	// second value for the same region and indicator, …); their rows are
	// not among Entries. They are returned rather than failing Parse so
	// that the caller can list them with its own findings, and the user
	// sees every problem of the file at once.
	Problems []fault.FieldError
}

// Sheet names. The hidden ones start with an underscore so that no region
// mistakes them for data.
const (
	dataSheet     = "指标数据"
	metaSheet     = "_ipeval"
	versionsSheet = "_versions"
)

// Column headers, Chinese as written in templates.
const (
	hRegionCode    = "地区代码"
	hRegionName    = "地区名称"
	hRegionKind    = "地区类型"
	hIndicatorCode = "指标代码"
	hIndicatorName = "指标名称"
	hUnit          = "单位"
	hRange         = "有效范围"
	hEvidence      = "需佐证"
	hValue         = "数值"
	hNotApplicable = "不适用"
	hNote          = "说明"
	hStatus        = "状态"
	hVersion       = "版本"
)

// byIndicatorHeaders are the columns of the per-region template and the CSV.
var byIndicatorHeaders = []string{
	hRegionCode, hRegionName, hIndicatorCode, hIndicatorName, hUnit, hRange,
	hEvidence, hValue, hNotApplicable, hNote, hStatus, hVersion,
}

// Text of the not-applicable marker and of yes/no cells.
const (
	textNA  = "不适用"
	textYes = "是"
	textNo  = "否"
)

// statusNames shows review statuses in Chinese; a value that was never
// entered is 未填报.
var statusNames = map[string]string{
	"draft":     "草稿",
	"submitted": "已提交",
	"verified":  "已审核",
	"rejected":  "已退回",
}

const statusNone = "未填报"

func statusName(cur Current, ok bool) string {
	if !ok {
		return statusNone
	}
	if n, found := statusNames[cur.Status]; found {
		return n
	}
	if cur.Status == "" {
		return statusNone
	}
	return cur.Status
}

// trim removes white space, including the ideographic space U+3000 that
// Chinese input methods type, and the invisible zero-width space and BOM
// that text copied from web pages carries.
func trim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff'
	})
}

// reportable reports whether an indicator is entered by hand: survey
// indices come from survey batches, never from these files.
func reportable(ind scheme.Indicator) bool {
	return !strings.HasPrefix(ind.Source, scheme.SourceSurveyPrefix)
}

// binary reports whether an indicator takes yes/no.
func binary(ind scheme.Indicator) bool {
	return ind.Normalisation.Method == scheme.MethodBinary
}
