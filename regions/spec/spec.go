// Package spec is a region as declared — by a form, the API or a row of a
// regions file — before it is stored: its fields, their checks and the
// regions CSV reader. It touches no storage, so that the server's import
// (package regions) and file mode (ipeval evaluate) read and check alike.
package spec

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/regions/kind"
)

var codePattern = regexp.MustCompile(`^[0-9A-Z][0-9A-Z_-]{1,31}$`)

// Input is a region as submitted by a user or a CSV row.
type Input struct {
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	Kind       kind.Kind `json:"kind"`
	ParentCode string    `json:"parent_code,omitempty"`
}

// Normalised trims the input and upper-cases codes: MySQL compares codes
// without regard to case and SQLite does not, so only one spelling may exist.
func (in Input) Normalised() Input {
	in.Code = strings.ToUpper(strings.TrimSpace(in.Code))
	in.ParentCode = strings.ToUpper(strings.TrimSpace(in.ParentCode))
	in.Name = strings.TrimSpace(in.Name)
	return in
}

// Check returns the problems of one input; known holds the codes that exist
// or are defined earlier in the same import.
func (in Input) Check(known map[string]bool) []fault.FieldError {
	var errs []fault.FieldError
	if !codePattern.MatchString(in.Code) {
		errs = append(errs, fault.Field("code", "invalid_code", "代码须为2–32位字母、数字、下划线或连字符", "code must be 2-32 letters, digits, _ or -"))
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); n == 0 || n > 128 {
		errs = append(errs, fault.Field("name", "invalid_name", "名称不能为空且不超过128字", "name must be 1-128 characters"))
	}
	errs = append(errs, textguard.Fields(textguard.Line, "name", in.Name)...)
	switch {
	case in.Kind == "":
		errs = append(errs, fault.Field("kind", "required", "请选择地区类型", "choose a region kind"))
	case !in.Kind.Valid():
		errs = append(errs, fault.Field("kind", "unknown_kind", "未知的地区类型："+string(in.Kind), "unknown region kind: "+string(in.Kind)))
	}
	if in.ParentCode != "" {
		if in.ParentCode == in.Code {
			errs = append(errs, fault.Field("parent_code", "self_parent", "上级地区不能是自身", "a region cannot be its own parent"))
		} else if !known[in.ParentCode] {
			errs = append(errs, fault.Field("parent_code", "unknown_parent", "上级地区不存在："+in.ParentCode, "parent region does not exist: "+in.ParentCode))
		}
	}
	return errs
}

// maxFile bounds a regions file; a province has a few hundred regions.
const maxFile = 4 << 20

// CheckRows lists the problems of a regions file's rows, each placed by
// row (the header is row 1): every row's own and a code that repeats an
// earlier row's. known holds the codes that exist before the file; the
// file's codes are added to it, so that a parent may be defined on an
// earlier row. The server's import and file mode check with it.
func CheckRows(rows []Input, known map[string]bool) []fault.FieldError {
	var errs []fault.FieldError
	seen := map[string]int{}
	for i, in := range rows {
		line := i + 2
		for _, fe := range in.Check(known) {
			fe.Row, fe.Column, fe.Field = line, columnOf(fe.Field), ""
			errs = append(errs, fe)
		}
		if first, dup := seen[in.Code]; dup {
			errs = append(errs, fault.FieldError{Row: line, Column: "code", Code: "duplicate_code",
				Message: fmt.Sprintf("代码与第%d行重复", first), MessageEn: fmt.Sprintf("code repeats row %d", first)})
		}
		seen[in.Code] = line
		known[in.Code] = true
	}
	return errs
}

// columnOf is the regions file's column of an Input field: the file says
// parent where a form and the API say parent_code.
func columnOf(field string) string {
	if field == "parent_code" {
		return "parent"
	}
	return field
}

// ParseCSV reads a regions file: a header naming the columns code, name,
// kind and optionally parent, then one region a row, UTF-8 (a BOM is
// allowed) or GB18030, at most 4 MiB. The rows come back normalised but
// unchecked (see CheckRows). The server's import and file mode read with it.
func ParseCSV(r io.Reader) ([]Input, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("read regions file: %w", err)
	}
	if len(raw) > maxFile {
		return nil, fault.With(fault.ErrTooLarge, "regions file exceeds 4 MiB", "地区文件超过4 MiB", nil)
	}
	text, err := textenc.ToUTF8(raw)
	if err != nil {
		return nil, fault.Invalid(fault.FieldError{Row: 1, Code: "bad_encoding", Message: "无法识别文件编码（应为 UTF-8 或 GB18030）", MessageEn: "unrecognised encoding (want UTF-8 or GB18030)"})
	}
	cr := csv.NewReader(bytes.NewReader(text))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fault.Invalid(fault.FieldError{Row: 1, Code: "no_header", Message: "缺少表头", MessageEn: "missing header row"})
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var errs []fault.FieldError
	for _, name := range []string{"code", "name", "kind"} {
		if _, ok := col[name]; !ok {
			errs = append(errs, fault.FieldError{Row: 1, Column: name, Code: "missing_column", Message: "缺少列：" + name, MessageEn: "missing column: " + name})
		}
	}
	if err := fault.Invalid(errs...); err != nil {
		return nil, err
	}
	cell := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var rows []Input
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fault.Invalid(fault.FieldError{Row: len(rows) + 2, Code: "malformed_csv", Message: "CSV格式错误", MessageEn: "malformed CSV: " + err.Error()})
		}
		rows = append(rows, Input{Code: cell(rec, "code"), Name: textenc.UnguardFormula(cell(rec, "name")), Kind: kind.Kind(cell(rec, "kind")), ParentCode: cell(rec, "parent")}.Normalised())
	}
	return rows, nil
}

// WriteCSV writes rows as a regions file that ParseCSV reads back: the
// header code,name,kind,parent, then one region a row. It is UTF-8 with a
// byte-order mark, so that Excel on a Chinese Windows opens it as UTF-8
// rather than as GBK, and a name a spreadsheet would run as a formula is
// guarded (textenc.GuardFormula; ParseCSV undoes it).
func WriteCSV(w io.Writer, rows []Input) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return fmt.Errorf("write regions file: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"code", "name", "kind", "parent"}); err != nil {
		return fmt.Errorf("write regions file: %w", err)
	}
	for _, in := range rows {
		if err := cw.Write([]string{in.Code, textenc.GuardFormula(in.Name), string(in.Kind), in.ParentCode}); err != nil {
			return fmt.Errorf("write regions file: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write regions file: %w", err)
	}
	return nil
}

// Example is a regions file's first rows for an office that has stored
// none yet: the province, a prefecture city under it, a county under that
// and the reform zone, each parent on an earlier row.
func Example() []Input {
	return []Input{
		{Code: "140000", Name: "山西省", Kind: kind.Province},
		{Code: "140100", Name: "太原市", Kind: kind.PrefectureCity, ParentCode: "140000"},
		{Code: "140121", Name: "清徐县", Kind: kind.County, ParentCode: "140100"},
		{Code: "149900", Name: "山西转型综合改革示范区", Kind: kind.ReformZone, ParentCode: "140000"},
	}
}
