package indicators

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/sheet"
	"github.com/ipeval/ipeval/indicators/valuecheck"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
)

// maxImportBytes bounds an uploaded spreadsheet. A full province of values
// is well under 1 MiB; anything much larger is not a filled-in template.
const maxImportBytes = 16 << 20

// MaxImportBytes is the largest spreadsheet Import accepts.
func (s *ValueStore) MaxImportBytes() int64 { return maxImportBytes }

// Template formats.
const (
	FormatXLSX = "xlsx"
	FormatCSV  = "csv"
)

// File is a generated download.
type File struct {
	Name      string
	MediaType string
	Data      []byte
}

// Template returns a template to fill in for a cycle, pre-filled with the
// stored values: for one region (one row per indicator), or, for an admin
// naming no region, for every region (one row per region). A city official
// naming no region gets its own. format is FormatXLSX (the default) or
// FormatCSV.
func (s *ValueStore) Template(ctx context.Context, by auth.Principal, cycleID, regionCode, format string) (File, error) {
	regionCode, err := readScope(by, regionCode)
	if err != nil {
		return File{}, err
	}
	format = strings.ToLower(cmp.Or(strings.TrimSpace(format), FormatXLSX))
	if format != FormatXLSX && format != FormatCSV {
		return File{}, fault.Invalid(fault.Field("format", "unknown_format", "格式须为 xlsx 或 csv", "format must be xlsx or csv"))
	}
	db := s.db.WithContext(ctx)
	c, err := getCycle(db, cycleID)
	if err != nil {
		return File{}, err
	}
	st, sc, err := s.storedScheme(db, c)
	if err != nil {
		return File{}, err
	}
	var rs []regions.Region
	q := db.Order("code")
	if regionCode != "" {
		q = q.Where("code = ?", regionCode)
	} else {
		q = q.Scopes(regions.Assessed)
	}
	if err := q.Find(&rs).Error; err != nil {
		return File{}, fmt.Errorf("list regions: %w", err)
	}
	if regionCode != "" && len(rs) == 0 {
		return File{}, fmt.Errorf("region %s: %w", regionCode, fault.ErrNotFound)
	}
	var vals []Value
	vq := db.Where("cycle_id = ?", cycleID)
	if regionCode != "" {
		vq = vq.Where("region_code = ?", regionCode)
	}
	if err := vq.Find(&vals).Error; err != nil {
		return File{}, fmt.Errorf("list indicator values: %w", err)
	}

	t := sheet.Template{
		Meta: sheet.Meta{CycleID: c.ID, CycleName: c.Name, Year: c.Year, SchemeCode: st.Code, SchemeVersion: st.Version,
			Layout: sheet.ByRegion, RegionCode: regionCode, Generated: now()},
		Scheme: sc,
		Values: make(map[[2]string]sheet.Current, len(vals)),
	}
	if regionCode != "" {
		t.Meta.Layout = sheet.ByIndicator
	}
	for _, r := range rs {
		t.Regions = append(t.Regions, sheet.Region{Code: r.Code, Name: r.Name, Kind: r.Kind})
	}
	for _, v := range vals {
		t.Values[[2]string{v.RegionCode, v.IndicatorCode}] = sheet.Current{Number: v.Number, NotApplicable: v.NotApplicable,
			Note: v.Note, Status: string(v.Status), Version: v.Version}
	}
	subject := "全部地区"
	if regionCode != "" {
		subject = rs[0].Name
	}
	out := File{Name: fmt.Sprintf("%d年度指标填报-%s.%s", c.Year, subject, format)}
	var buf bytes.Buffer
	if format == FormatCSV {
		out.MediaType = "text/csv; charset=utf-8"
		err = sheet.WriteCSV(&buf, t)
	} else {
		out.MediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		err = sheet.WriteXLSX(&buf, t)
	}
	if err != nil {
		return File{}, fmt.Errorf("write template: %w", err)
	}
	out.Data = buf.Bytes()
	return out, nil
}

// ImportResult summarises an import.
type ImportResult struct {
	// Entries counts the value cells read from the file, pre-filled ones
	// included.
	Entries int `json:"entries"`
	// Changed counts the values created or changed.
	Changed int `json:"changed"`
	// Submitted counts the values handed to review by this import.
	Submitted int `json:"submitted"`
	// Values are the stored values of the entries, in file order.
	Values []Value `json:"values"`
}

// Import stores the values of a filled-in template (xlsx or CSV; name's
// extension tells which) in one transaction, and with submit also submits
// them for review. It is all or nothing: any bad cell and the error lists
// every problem with its row, column and indicator code; a stale version
// is a conflict listing the rows. Empty cells are skipped (missing), and
// values identical to the stored ones change nothing, so uploading the
// same file twice stores it once.
func (s *ValueStore) Import(ctx context.Context, by auth.Principal, cycleID, name string, data []byte, submit bool) (ImportResult, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return ImportResult{}, forbidden()
	}
	if len(data) > maxImportBytes {
		return ImportResult{}, fault.With(fault.ErrTooLarge, fmt.Sprintf("a spreadsheet is at most %d MiB", maxImportBytes>>20),
			fmt.Sprintf("导入文件不能超过 %d MiB", maxImportBytes>>20), nil)
	}
	f, err := sheet.Parse(data, name)
	if err != nil {
		return ImportResult{}, err
	}
	if f.Meta != nil && f.Meta.CycleID != cycleID {
		return ImportResult{}, fault.Invalid(fault.Field("file", "wrong_cycle",
			fmt.Sprintf("该模板属于另一考核周期（%s），请下载本周期的模板", f.Meta.CycleName),
			fmt.Sprintf("the template belongs to another cycle (%s); download this cycle's template", f.Meta.CycleName)))
	}
	if len(f.Entries) == 0 && len(f.Problems) == 0 {
		return ImportResult{}, fault.Invalid(fault.Field("file", "empty", "文件中没有填写任何数据", "the file holds no values"))
	}
	for _, e := range f.Entries {
		if !by.CanAccessRegion(valuecheck.NormRegion(e.RegionCode)) {
			return ImportResult{}, forbidden()
		}
	}
	res := ImportResult{Entries: len(f.Entries)}
	var stales []stale
	var loc locator
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, sc, err := s.openCycle(tx, cycleID)
		if err != nil {
			return err
		}
		items, cells, errs := valuecheck.Interpret(sc, f.Entries)
		errs = append(errs, f.Problems...)
		if items, err = prepare(by, items); err != nil {
			return err
		}
		kinds, err := regionKinds(tx, items)
		if err != nil {
			return err
		}
		loc = locator{cell: func(i int) (int, string) { return cells[i].Row, cells[i].Column }}
		var ve *fault.ValidationError
		if err := checkItems(sc, kinds, items, loc); errors.As(err, &ve) {
			errs = append(errs, ve.Errors...)
		}
		if len(errs) > 0 {
			valuecheck.SortByCell(errs)
			return fault.Invalid(errs...)
		}
		existing, err := valuesOf(tx, cycleID, items)
		if err != nil {
			return err
		}
		items, cells = keepMeant(sc, kinds, existing, items, cells, f.Notes)
		vals, st, err := writeItems(tx, by, cycleID, items, existing)
		if err != nil {
			return err
		}
		if len(st) > 0 {
			stales = st
			return errStale
		}
		for _, v := range vals {
			if v.Version != existing[[2]string{v.RegionCode, v.IndicatorCode}].Version {
				res.Changed++
			}
		}
		if submit {
			if vals, res.Submitted, err = submitAll(tx, by, sc, cycleID, vals); err != nil {
				return err
			}
		}
		res.Values = vals
		return nil
	})
	if errors.Is(err, errStale) {
		return ImportResult{}, s.refuse(ctx, by, cycleID, stales, loc)
	}
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// keepMeant drops from a file's items what the file says without the
// user having said it: the 不适用 a template pre-fills for an indicator
// that does not apply to the region's kind, when nothing is stored (the
// indicator counts as not applicable anyway). Without a note column it
// keeps the stored notes, which the file cannot show.
func keepMeant(sc scheme.Scheme, kinds map[string]kind.Kind, existing map[[2]string]Value,
	items []ValueInput, cells []sheet.Entry, notes bool) ([]ValueInput, []sheet.Entry) {
	var outItems []ValueInput
	var outCells []sheet.Entry
	for i, in := range items {
		cur, stored := existing[[2]string{in.RegionCode, in.IndicatorCode}]
		ind, _ := sc.Indicator(in.IndicatorCode)
		if in.NotApplicable && !stored && !sc.AppliesTo(ind, kinds[in.RegionCode]) {
			continue
		}
		if !notes && stored {
			in.Note = cur.Note
		}
		outItems, outCells = append(outItems, in), append(outCells, cells[i])
	}
	return outItems, outCells
}

// submitAll submits the given values, region by region, and returns them
// updated with the number that changed state.
func submitAll(tx *gorm.DB, by auth.Principal, sc scheme.Scheme, cycleID string, vals []Value) ([]Value, int, error) {
	byRegion := map[string][]string{}
	var order []string
	for _, v := range vals {
		if _, ok := byRegion[v.RegionCode]; !ok {
			order = append(order, v.RegionCode)
		}
		byRegion[v.RegionCode] = append(byRegion[v.RegionCode], v.IndicatorCode)
	}
	after := map[string]Value{}
	for _, r := range order {
		sub, err := submitTx(tx, by, sc, cycleID, r, byRegion[r])
		if err != nil {
			return nil, 0, err
		}
		for _, v := range sub {
			after[v.ID] = v
		}
	}
	n := 0
	out := make([]Value, len(vals))
	for i, v := range vals {
		out[i] = after[v.ID]
		if out[i].Version != v.Version {
			n++
		}
	}
	return out, n, nil
}
