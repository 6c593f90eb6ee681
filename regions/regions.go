// Package regions owns the assessed regions (评价对象): their codes, names,
// kinds and the parent they belong to, and their import from CSV.
package regions

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/regions/kind"
)

// Region is one assessed unit.
type Region struct {
	Code       string    `json:"code" gorm:"primaryKey"`
	Name       string    `json:"name"`
	Kind       kind.Kind `json:"kind"`
	ParentCode *string   `json:"parent_code"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Store reads and writes regions.
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// Assessed is a query scope (db.Scopes(regions.Assessed)) selecting the
// regions an assessment scores: every region but the province, which
// assesses the others.
func Assessed(db *gorm.DB) *gorm.DB { return db.Where("kind <> ?", kind.Province) }

// List returns every region ordered by code.
func (s *Store) List(ctx context.Context) ([]Region, error) {
	var out []Region
	if err := s.db.WithContext(ctx).Order("code").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return out, nil
}

// Get returns the region with code.
func (s *Store) Get(ctx context.Context, code string) (Region, error) {
	code = strings.ToUpper(code)
	var r Region
	err := s.db.WithContext(ctx).Where("code = ?", code).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, fmt.Errorf("region %s: %w", code, fault.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("get region: %w", err)
	}
	return r, nil
}

var codePattern = regexp.MustCompile(`^[0-9A-Z][0-9A-Z_-]{1,31}$`)

// Input is a region as submitted by a user or a CSV row.
type Input struct {
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	Kind       kind.Kind `json:"kind"`
	ParentCode string    `json:"parent_code,omitempty"`
}

// check returns the problems of one input; known holds the codes that exist
// or are defined earlier in the same import.
// normalised trims the input and upper-cases codes: MySQL compares codes
// without regard to case and SQLite does not, so only one spelling may exist.
func (in Input) normalised() Input {
	in.Code = strings.ToUpper(strings.TrimSpace(in.Code))
	in.ParentCode = strings.ToUpper(strings.TrimSpace(in.ParentCode))
	in.Name = strings.TrimSpace(in.Name)
	return in
}

func (in Input) check(known map[string]bool) []fault.FieldError {
	var errs []fault.FieldError
	if !codePattern.MatchString(in.Code) {
		errs = append(errs, fault.Field("code", "invalid_code", "代码须为2–32位字母、数字、下划线或连字符", "code must be 2-32 letters, digits, _ or -"))
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); n == 0 || n > 128 {
		errs = append(errs, fault.Field("name", "invalid_name", "名称不能为空且不超过128字", "name must be 1-128 characters"))
	}
	errs = append(errs, textguard.Fields(textguard.Line, "name", in.Name)...)
	if !in.Kind.Valid() {
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

func (in Input) region() Region {
	r := Region{Code: in.Code, Name: strings.TrimSpace(in.Name), Kind: in.Kind}
	if in.ParentCode != "" {
		p := in.ParentCode
		r.ParentCode = &p
	}
	return r
}

// Create adds a region. A duplicate code is a conflict.
func (s *Store) Create(ctx context.Context, in Input) (Region, error) {
	in = in.normalised()
	var r Region
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		known, err := existing(tx)
		if err != nil {
			return err
		}
		if err := fault.Invalid(in.check(known)...); err != nil {
			return err
		}
		if known[in.Code] {
			return fmt.Errorf("region %s: %w", in.Code, fault.ErrConflict)
		}
		r = in.region()
		return tx.Create(&r).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return r, fmt.Errorf("region %s: %w", in.Code, fault.ErrConflict)
	}
	return r, err
}

// Update replaces the name, kind and parent of an existing region.
func (s *Store) Update(ctx context.Context, code string, in Input) (Region, error) {
	in.Code = code
	in = in.normalised()
	code = in.Code
	var r Region
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		known, err := existing(tx)
		if err != nil {
			return err
		}
		if !known[code] {
			return fmt.Errorf("region %s: %w", code, fault.ErrNotFound)
		}
		if err := fault.Invalid(in.check(known)...); err != nil {
			return err
		}
		if in.ParentCode != "" && createsCycle(tx, code, in.ParentCode) {
			return fault.Invalid(fault.Field("parent_code", "parent_cycle", "上级关系形成环", "parent chain would form a cycle"))
		}
		r = in.region()
		return tx.Model(&Region{}).Where("code = ?", code).
			Updates(map[string]any{"name": r.Name, "kind": r.Kind, "parent_code": r.ParentCode}).Error
	})
	if err != nil {
		return Region{}, err
	}
	return s.Get(ctx, code)
}

func createsCycle(tx *gorm.DB, code, parent string) bool {
	for seen := 0; parent != "" && seen < 64; seen++ {
		if parent == code {
			return true
		}
		var p Region
		if tx.Where("code = ?", parent).Take(&p).Error != nil || p.ParentCode == nil {
			return false
		}
		parent = *p.ParentCode
	}
	return parent != ""
}

func existing(tx *gorm.DB) (map[string]bool, error) {
	var codes []string
	if err := tx.Model(&Region{}).Pluck("code", &codes).Error; err != nil {
		return nil, fmt.Errorf("read region codes: %w", err)
	}
	known := make(map[string]bool, len(codes))
	for _, c := range codes {
		known[c] = true
	}
	return known, nil
}

// maxImport bounds a regions file; a province has a few hundred regions.
const maxImport = 4 << 20

// ImportCSV reads rows of code,name,kind,parent (header required; UTF-8 or
// GB18030) and inserts or updates them in one transaction: with any invalid
// row nothing is stored, and every problem is reported by row.
func (s *Store) ImportCSV(ctx context.Context, r io.Reader) (int, error) {
	rows, err := ParseCSV(r)
	if err != nil {
		return 0, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		known, err := existing(tx)
		if err != nil {
			return err
		}
		errs := CheckRows(rows, known)
		if err := fault.Invalid(errs...); err != nil {
			return err
		}
		for _, in := range rows {
			reg := in.region()
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "code"}},
				DoUpdates: clause.AssignmentColumns([]string{"name", "kind", "parent_code", "updated_at"}),
			}).Create(&reg).Error; err != nil {
				return fmt.Errorf("store region %s: %w", in.Code, err)
			}
		}
		// Updated parents may now form a loop with regions already stored.
		for i, in := range rows {
			if in.ParentCode != "" && createsCycle(tx, in.Code, in.ParentCode) {
				errs = append(errs, fault.FieldError{Row: i + 2, Column: "parent", Code: "parent_cycle",
					Message: "上级关系形成环", MessageEn: "parent chain forms a cycle"})
			}
		}
		return fault.Invalid(errs...)
	})
	if err != nil {
		return 0, err
	}
	return len(rows), nil
}

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
		for _, fe := range in.check(known) {
			fe.Row, fe.Column, fe.Field = line, fe.Field, ""
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

// ParseCSV reads a regions file: a header naming the columns code, name,
// kind and optionally parent, then one region a row, UTF-8 (a BOM is
// allowed) or GB18030, at most 4 MiB. The rows come back normalised but
// unchecked (see CheckRows). The server's import and file mode read with it.
func ParseCSV(r io.Reader) ([]Input, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxImport+1))
	if err != nil {
		return nil, fmt.Errorf("read regions file: %w", err)
	}
	if len(raw) > maxImport {
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
		rows = append(rows, Input{Code: cell(rec, "code"), Name: cell(rec, "name"), Kind: kind.Kind(cell(rec, "kind")), ParentCode: cell(rec, "parent")}.normalised())
	}
	return rows, nil
}
