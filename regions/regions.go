// Package regions owns the assessed regions (评价对象): their codes, names,
// kinds and the parent they belong to, and their import from CSV.
package regions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
	"github.com/ipeval/ipeval/regions/spec"
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

// toRegion is the stored form of a declared region.
func toRegion(in spec.Input) Region {
	r := Region{Code: in.Code, Name: strings.TrimSpace(in.Name), Kind: in.Kind}
	if in.ParentCode != "" {
		p := in.ParentCode
		r.ParentCode = &p
	}
	return r
}

// Create adds a region. A duplicate code is a conflict.
func (s *Store) Create(ctx context.Context, in spec.Input) (Region, error) {
	in = in.Normalised()
	var r Region
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		known, err := existing(tx)
		if err != nil {
			return err
		}
		if err := fault.Invalid(in.Check(known)...); err != nil {
			return err
		}
		if known[in.Code] {
			return taken(in.Code)
		}
		r = toRegion(in)
		return tx.Create(&r).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return r, taken(in.Code)
	}
	return r, err
}

// taken is the conflict of a new region whose code is already used, said
// so that a form can show it as it is.
func taken(code string) error {
	return fault.With(fault.ErrConflict, fmt.Sprintf("a region with code %s already exists", code),
		fmt.Sprintf("地区代码 %s 已存在", code), nil)
}

// Update replaces the name, kind and parent of an existing region.
func (s *Store) Update(ctx context.Context, code string, in spec.Input) (Region, error) {
	in.Code = code
	in = in.Normalised()
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
		if err := fault.Invalid(in.Check(known)...); err != nil {
			return err
		}
		if in.ParentCode != "" && createsCycle(tx, code, in.ParentCode) {
			return fault.Invalid(fault.Field("parent_code", "parent_cycle", "上级关系形成环", "parent chain would form a cycle"))
		}
		r = toRegion(in)
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

// ImportCSV reads rows of code,name,kind,parent (header required; UTF-8 or
// GB18030) and inserts or updates them in one transaction: with any invalid
// row nothing is stored, and every problem is reported by row.
func (s *Store) ImportCSV(ctx context.Context, r io.Reader) (int, error) {
	rows, err := spec.ParseCSV(r)
	if err != nil {
		return 0, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		known, err := existing(tx)
		if err != nil {
			return err
		}
		errs := spec.CheckRows(rows, known)
		if err := fault.Invalid(errs...); err != nil {
			return err
		}
		for _, in := range rows {
			reg := toRegion(in)
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

// Row is a region as the manager's list shows it: with its parent's name
// and whether assessments score it.
type Row struct {
	Region
	// ParentName is the name of the parent region, "" for none.
	ParentName string
	// Assessed is false for the province, which assesses the others (see
	// Assessed).
	Assessed bool
}

// Listing returns every region by code with its parent's name, for the
// assessment manager's regions page.
func (s *Store) Listing(ctx context.Context) ([]Row, error) {
	rs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(rs))
	for _, r := range rs {
		names[r.Code] = r.Name
	}
	out := make([]Row, len(rs))
	for i, r := range rs {
		out[i] = Row{Region: r, Assessed: r.Kind != kind.Province}
		if r.ParentCode != nil {
			out[i].ParentName = names[*r.ParentCode]
		}
	}
	return out, nil
}

// WriteTemplate writes the regions file an office edits and imports: the
// stored regions, each after its parent so that the file imports into an
// empty database too, or spec.Example's rows when none is stored yet.
func (s *Store) WriteTemplate(ctx context.Context, w io.Writer) error {
	rs, err := s.List(ctx)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return spec.WriteCSV(w, spec.Example())
	}
	children := map[string][]Region{}
	known := make(map[string]bool, len(rs))
	for _, r := range rs {
		known[r.Code] = true
	}
	var rows []spec.Input
	var visit func(r Region)
	visit = func(r Region) {
		in := spec.Input{Code: r.Code, Name: r.Name, Kind: r.Kind}
		if r.ParentCode != nil {
			in.ParentCode = *r.ParentCode
		}
		rows = append(rows, in)
		for _, ch := range children[r.Code] {
			visit(ch)
		}
	}
	var roots []Region
	for _, r := range rs { // by code, so children stay in code order
		if r.ParentCode == nil || !known[*r.ParentCode] {
			roots = append(roots, r)
			continue
		}
		children[*r.ParentCode] = append(children[*r.ParentCode], r)
	}
	for _, r := range roots {
		visit(r)
	}
	return spec.WriteCSV(w, rows)
}
