package indicators

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/valuecheck"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
)

// Writes of indicator values: one, a JSON batch or a page's form, each
// checked whole and applied in one transaction, a stale version refused.

// Set writes one value; see SetBatch. Validation problems name the field
// ("number") and the indicator code as column.
func (s *ValueStore) Set(ctx context.Context, by auth.Principal, cycleID string, in ValueInput) (Value, error) {
	out, _, err := s.set(ctx, by, cycleID, []ValueInput{in}, locator{single: true}, false)
	if err != nil {
		return Value{}, err
	}
	return out[0], nil
}

// SetBatch writes values in one transaction, and returns them in input
// order. Nothing is stored unless every item is valid: the error then lists
// every problem, with Row the 1-based item number, Field like
// "items[3].number" and Indicator the indicator code.
//
// The cycle must be collecting and have a scheme (else a conflict); the
// region must exist and the indicator be in the scheme; a number must pass
// the indicator's checks and the indicator must apply to the region's kind
// (declaring it not applicable is always allowed). A changed value goes back
// to draft, gets version+1 and one "set" revision. A value identical to the
// stored one (same number, not-applicable flag and note) is a no-op whatever
// version the caller names, so re-uploading the same file changes nothing.
// A stale version is a conflict whose problem carries the current version
// and value; the refused attempt is recorded as a "conflict" revision.
func (s *ValueStore) SetBatch(ctx context.Context, by auth.Principal, cycleID string, items []ValueInput) ([]Value, error) {
	out, _, err := s.set(ctx, by, cycleID, items, locator{}, false)
	return out, err
}

// SetForm is SetBatch for the values of a page's form, where items have no
// row the user could look for: problems name the field ("number", "note")
// and the indicator code, and conflicts list the indicators. With submit,
// the written values are also submitted for review in the same transaction.
// It returns the values and how many of them it submitted.
func (s *ValueStore) SetForm(ctx context.Context, by auth.Principal, cycleID string, items []ValueInput, submit bool) ([]Value, int, error) {
	return s.set(ctx, by, cycleID, items, locator{form: true}, submit)
}

// stale is one item refused for its version.
type stale struct {
	row   int // 0-based
	in    ValueInput
	value *Value // the stored value, nil when there is none
}

// locator places the problems of item i of a write: a single write names
// only the field; a JSON batch the item ("items[3].number", row 4); a file
// the row and column of the cell.
type locator struct {
	single bool
	form   bool // a page's form: the field and, set by the caller, the indicator
	cell   func(i int) (row int, column string)
}

func (l locator) place(i int, field string) fault.FieldError {
	switch {
	case l.single, l.form:
		return fault.FieldError{Field: field}
	case l.cell != nil:
		row, col := l.cell(i)
		return fault.FieldError{Row: row, Column: col, Field: field}
	}
	return fault.FieldError{Row: i + 1, Field: fmt.Sprintf("items[%d].%s", i, field)}
}

func (s *ValueStore) set(ctx context.Context, by auth.Principal, cycleID string, items []ValueInput, loc locator, submit bool) ([]Value, int, error) {
	if len(items) == 0 || len(items) > maxBatch {
		return nil, 0, fault.Invalid(fault.Field("items", "batch_size",
			fmt.Sprintf("每批须有 1 至 %d 项", maxBatch), fmt.Sprintf("a batch takes 1 to %d items", maxBatch)))
	}
	items, err := prepare(by, items)
	if err != nil {
		return nil, 0, err
	}
	var out []Value
	var stales []stale
	submitted := 0
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, sc, err := s.openCycle(tx, cycleID)
		if err != nil {
			return err
		}
		if out, stales, err = setTx(tx, by, sc, cycleID, items, loc); err != nil || !submit {
			return err
		}
		out, submitted, err = submitAll(tx, by, sc, cycleID, out)
		return err
	})
	if errors.Is(err, errStale) {
		return nil, 0, s.refuse(ctx, by, cycleID, stales, loc)
	}
	if err != nil {
		return nil, 0, err
	}
	return out, submitted, nil
}

// prepare authorises a write of items and returns them normalised: codes
// trimmed and upper-cased, notes trimmed with Windows line ends made
// Unix, so that the same note arrives the same way by JSON, xlsx or CSV.
func prepare(by auth.Principal, items []ValueInput) ([]ValueInput, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return nil, forbidden()
	}
	items = slices.Clone(items)
	for i := range items {
		items[i] = items[i].Normalised()
		if !by.CanAccessRegion(items[i].RegionCode) {
			return nil, forbidden()
		}
	}
	return items, nil
}

// setTx checks and writes prepared items inside a transaction that holds
// the cycle (openCycle). Stale items make it return errStale with them, so
// that the caller rolls back and records the conflicts.
func setTx(tx *gorm.DB, by auth.Principal, sc scheme.Scheme, cycleID string, items []ValueInput, loc locator) ([]Value, []stale, error) {
	kinds, err := regionKinds(tx, items)
	if err != nil {
		return nil, nil, err
	}
	if err := checkItems(sc, kinds, items, loc); err != nil {
		return nil, nil, err
	}
	existing, err := valuesOf(tx, cycleID, items)
	if err != nil {
		return nil, nil, err
	}
	out, stales, err := writeItems(tx, by, cycleID, items, existing)
	if err != nil {
		return nil, nil, err
	}
	if len(stales) > 0 {
		return nil, stales, errStale
	}
	return out, nil, nil
}

// errStale rolls a write back so that its conflicts can be recorded.
var errStale = errors.New("stale version")

// regionCodes lists the distinct regions of items.
func regionCodes(items []ValueInput) []string {
	seen := make(map[string]bool)
	var codes []string
	for _, in := range items {
		if !seen[in.RegionCode] {
			seen[in.RegionCode] = true
			codes = append(codes, in.RegionCode)
		}
	}
	return codes
}

func regionKinds(tx *gorm.DB, items []ValueInput) (map[string]kind.Kind, error) {
	var rs []regions.Region
	if err := tx.Where("code IN ?", regionCodes(items)).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("read regions: %w", err)
	}
	kinds := make(map[string]kind.Kind, len(rs))
	for _, r := range rs {
		kinds[r.Code] = r.Kind
	}
	return kinds, nil
}

// checkItems lists every problem of items.
func checkItems(sc scheme.Scheme, kinds map[string]kind.Kind, items []ValueInput, loc locator) error {
	return fault.Invalid(valuecheck.Check(sc, kinds, items, loc.place)...)
}

// writeItems applies checked items. Items whose version is stale are
// returned instead of written; the caller then rolls back.
func writeItems(tx *gorm.DB, by auth.Principal, cycleID string, items []ValueInput, existing map[[2]string]Value) ([]Value, []stale, error) {
	out := make([]Value, 0, len(items))
	var stales []stale
	var created []Value
	var revs []Revision
	for i, in := range items {
		cur, found := existing[[2]string{in.RegionCode, in.IndicatorCode}]
		switch {
		case found && same(cur, in):
			out = append(out, cur)
			continue
		case found && in.Version != cur.Version, !found && in.Version != 0:
			stales = append(stales, stale{row: i, in: in})
			continue
		}
		at := now()
		rev := Revision{At: at, UserID: by.UserID, Username: by.Username, Action: ActionSet,
			NewNumber: in.Number, NewNA: in.NotApplicable, NewNote: in.Note, NewStatus: StatusDraft, Reason: in.Reason}
		if !found {
			v := Value{ID: uuid.Must(uuid.NewV7()).String(), CycleID: cycleID, RegionCode: in.RegionCode,
				IndicatorCode: in.IndicatorCode, Number: in.Number, NotApplicable: in.NotApplicable, Note: in.Note,
				Status: StatusDraft, Version: 1, UpdatedBy: by.UserID, UpdatedAt: at, CreatedAt: at}
			rev.ValueID, rev.Version = v.ID, v.Version
			created, revs = append(created, v), append(revs, rev)
			out = append(out, v)
			continue
		}
		rev.ValueID, rev.Version = cur.ID, cur.Version+1
		rev.OldNumber, rev.OldNA, rev.OldNote, rev.OldStatus = cur.Number, cur.NotApplicable, cur.Note, cur.Status
		v := cur
		v.Number, v.NotApplicable, v.Note, v.Status = in.Number, in.NotApplicable, in.Note, StatusDraft
		v.Version, v.UpdatedBy, v.UpdatedAt = cur.Version+1, by.UserID, at
		ok, err := update(tx, cur, map[string]any{"number": v.Number, "not_applicable": v.NotApplicable,
			"note": v.Note, "status": v.Status, "version": v.Version, "updated_by": v.UpdatedBy, "updated_at": v.UpdatedAt})
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			stales = append(stales, stale{row: i, in: in})
			continue
		}
		revs = append(revs, rev)
		out = append(out, v)
	}
	if len(stales) > 0 {
		return nil, stales, nil
	}
	// Inserted in batches: an import of a whole province is one statement
	// per few hundred rows, not one per value.
	if err := tx.CreateInBatches(created, insertBatch).Error; err != nil {
		// The cycle lock makes this impossible; kept so that a lost lock
		// would show as a conflict, not as a 500.
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, nil, fault.With(fault.ErrConflict, "stale version", "数据已被他人修改", nil)
		}
		return nil, nil, fmt.Errorf("create indicator values: %w", err)
	}
	if err := tx.CreateInBatches(revs, insertBatch).Error; err != nil {
		return nil, nil, fmt.Errorf("record revisions: %w", err)
	}
	return out, nil, nil
}

// insertBatch is the rows per INSERT statement, well below SQLite's limit
// of 32766 bound parameters for the widest table.
const insertBatch = 200

// valuesOf reads the stored values of the regions of items in one query,
// keyed by region and indicator code. The caller holds the cycle
// (openCycle), so they cannot change before it writes.
func valuesOf(tx *gorm.DB, cycleID string, items []ValueInput) (map[[2]string]Value, error) {
	var vals []Value
	if err := tx.Where("cycle_id = ? AND region_code IN ?", cycleID, regionCodes(items)).Find(&vals).Error; err != nil {
		return nil, fmt.Errorf("read indicator values: %w", err)
	}
	out := make(map[[2]string]Value, len(vals))
	for _, v := range vals {
		out[[2]string{v.RegionCode, v.IndicatorCode}] = v
	}
	return out, nil
}

// update writes cols to cur's row if it is still at cur.Version, and
// reports whether it was.
func update(tx *gorm.DB, cur Value, cols map[string]any) (bool, error) {
	res := tx.Model(&Value{}).Where("id = ? AND version = ?", cur.ID, cur.Version).Updates(cols)
	if res.Error != nil {
		return false, fmt.Errorf("update indicator value: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

func same(v Value, in ValueInput) bool {
	sameNumber := (v.Number == nil && in.Number == nil) ||
		(v.Number != nil && in.Number != nil && *v.Number == *in.Number)
	return sameNumber && v.NotApplicable == in.NotApplicable && v.Note == in.Note
}

func findValue(tx *gorm.DB, cycleID, region, code string) (Value, bool, error) {
	var v Value
	err := tx.Where("cycle_id = ? AND region_code = ? AND indicator_code = ?", cycleID, region, code).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("read indicator value: %w", err)
	}
	return v, true, nil
}

// refuse records each stale attempt as a conflict revision, in its own
// transaction so that the refused write stays in the history, and returns
// the conflict. A single write's problem carries current_version and
// current; a batch's lists them per row under "conflicts".
func (s *ValueStore) refuse(ctx context.Context, by auth.Principal, cycleID string, stales []stale, loc locator) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i, st := range stales {
			cur, found, err := findValue(tx, cycleID, st.in.RegionCode, st.in.IndicatorCode)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			stales[i].value = &cur
			rev := Revision{ValueID: cur.ID, Version: cur.Version, At: now(), UserID: by.UserID,
				Username: by.Username, Action: ActionConflict,
				OldNumber: cur.Number, OldNA: cur.NotApplicable, OldNote: cur.Note, OldStatus: cur.Status,
				NewNumber: st.in.Number, NewNA: st.in.NotApplicable, NewNote: st.in.Note, NewStatus: cur.Status,
				Reason: st.in.Reason}
			if err := tx.Create(&rev).Error; err != nil {
				return fmt.Errorf("record conflict: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	current := func(st stale) (int, any) {
		if st.value == nil {
			return 0, nil
		}
		return st.value.Version, *st.value
	}
	if loc.single {
		n, v := current(stales[0])
		return fault.With(fault.ErrConflict, "stale version", "数据已被他人修改",
			map[string]any{"current_version": n, "current": v})
	}
	list := make([]map[string]any, 0, len(stales))
	for _, st := range stales {
		n, v := current(st)
		at := loc.place(st.row, "")
		c := map[string]any{"row": at.Row, "region_code": st.in.RegionCode,
			"indicator_code": st.in.IndicatorCode, "current_version": n, "current": v}
		if at.Column != "" {
			c["column"] = at.Column
		}
		list = append(list, c)
	}
	return fault.With(fault.ErrConflict, "stale version", "数据已被他人修改", map[string]any{"conflicts": list})
}
