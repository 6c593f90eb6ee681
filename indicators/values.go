package indicators

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/valuecheck"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
)

// Status is the review state of an indicator value.
type Status string

// Value states: a value is written as draft, submitted by its region,
// then verified or rejected by an admin. Any change of the value puts it
// back to draft.
const (
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
	StatusVerified  Status = "verified"
	StatusRejected  Status = "rejected"
)

// Revision actions.
const (
	ActionSet      = "set"      // the value (number, not applicable or note) changed
	ActionSubmit   = "submit"   // draft or rejected → submitted
	ActionVerify   = "verify"   // submitted → verified
	ActionReject   = "reject"   // submitted → rejected
	ActionConflict = "conflict" // a write refused for a stale version
	ActionSurvey   = "survey"   // set from an accepted survey project
)

// Limits on free text and batch size.
const (
	maxText  = valuecheck.MaxText
	maxBatch = 5000
)

// Value is the value of one indicator for one region in one cycle: a
// number, or NotApplicable; no row means missing. Version counts changes
// and is the optimistic lock: a write must name the version it last saw.
type Value struct {
	ID            string   `json:"id" gorm:"primaryKey"`
	CycleID       string   `json:"cycle_id"`
	RegionCode    string   `json:"region_code"`
	IndicatorCode string   `json:"indicator_code"`
	Number        *float64 `json:"number"`
	NotApplicable bool     `json:"not_applicable"`
	// CILower and CIUpper are the 95% confidence interval of a
	// survey-sourced value (a satisfaction index); nil for reported values.
	CILower         *float64  `json:"ci_lower,omitempty" gorm:"column:ci_lower"`
	CIUpper         *float64  `json:"ci_upper,omitempty" gorm:"column:ci_upper"`
	Note            string    `json:"note"`
	Status          Status    `json:"status"`
	ReviewerComment string    `json:"reviewer_comment"`
	Version         int       `json:"version"`
	UpdatedBy       string    `json:"updated_by"`
	UpdatedAt       time.Time `json:"updated_at"`
	CreatedAt       time.Time `json:"created_at"`
}

// TableName is the indicator_values table of migration 0003.
func (Value) TableName() string { return "indicator_values" }

// Revision is one entry of a value's history: who did what, when, the
// state before and after, and why. Revisions are append-only (database
// triggers refuse UPDATE and DELETE). For a conflict, Version is the stored
// version the attempt collided with, Old* the stored state and New* what
// the caller tried to write; nothing changed.
type Revision struct {
	ID        uint64    `json:"id" gorm:"primaryKey"`
	ValueID   string    `json:"value_id"`
	Version   int       `json:"version"`
	At        time.Time `json:"at"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Action    string    `json:"action"`
	OldNumber *float64  `json:"old_number"`
	NewNumber *float64  `json:"new_number"`
	OldNA     bool      `json:"old_not_applicable" gorm:"column:old_na"`
	NewNA     bool      `json:"new_not_applicable" gorm:"column:new_na"`
	OldNote   string    `json:"old_note"`
	NewNote   string    `json:"new_note"`
	OldStatus Status    `json:"old_status"`
	NewStatus Status    `json:"new_status"`
	Reason    string    `json:"reason"`
}

// TableName is the indicator_value_revisions table of migration 0003.
func (Revision) TableName() string { return "indicator_value_revisions" }

// ValueInput is one value as a caller writes it; its checks, shared with
// file mode, are in valuecheck.
type ValueInput = valuecheck.Input

// ValueStore keeps indicator values and their history. Every method
// authorises its caller itself, because who may see and change a value is
// a domain rule: admins any region, city officials only their own,
// contractors nothing (DESIGN.md section 2).
type ValueStore struct {
	db      *gorm.DB
	schemes *SchemeStore
}

// NewValueStore returns a ValueStore on db that reads cycles' schemes
// from schemes.
func NewValueStore(db *gorm.DB, schemes *SchemeStore) *ValueStore {
	return &ValueStore{db: db, schemes: schemes}
}

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

// openCycle starts a write: it locks the cycle, so that the cycle cannot
// leave collecting and other writes of the cycle wait until tx ends, and
// returns the cycle with its scheme. The lock is taken by a no-op UPDATE
// as the first statement of tx: on MySQL it holds the cycle's row lock,
// and on SQLite it takes the database write lock before anything is read,
// so that concurrent writers queue on busy_timeout instead of failing with
// SQLITE_BUSY when a read transaction tries to become a write.
func (s *ValueStore) openCycle(tx *gorm.DB, cycleID string) (cycles.Cycle, scheme.Scheme, error) {
	if err := tx.Exec("UPDATE cycles SET status = status WHERE id = ?", cycleID).Error; err != nil {
		return cycles.Cycle{}, scheme.Scheme{}, fmt.Errorf("lock cycle: %w", err)
	}
	c, err := getCycle(tx, cycleID)
	if err != nil {
		return c, scheme.Scheme{}, err
	}
	if c.Status != cycles.Collecting {
		return c, scheme.Scheme{}, fault.With(fault.ErrConflict,
			fmt.Sprintf("indicator values can change only while the cycle is collecting; it is %s", c.Status),
			fmt.Sprintf("考核周期不在数据填报阶段（当前状态：%s），指标数据已锁定", c.Status),
			map[string]any{"cycle_status": c.Status})
	}
	sc, err := s.cycleScheme(tx, c)
	return c, sc, err
}

// getCycle reads a cycle; an unknown id is not found.
func getCycle(db *gorm.DB, cycleID string) (cycles.Cycle, error) {
	var c cycles.Cycle
	err := db.Where("id = ?", cycleID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, fmt.Errorf("cycle %s: %w", cycleID, fault.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("get cycle: %w", err)
	}
	return c, nil
}

// cycleScheme returns the scheme of c, or a conflict when it has none.
func (s *ValueStore) cycleScheme(tx *gorm.DB, c cycles.Cycle) (scheme.Scheme, error) {
	_, sc, err := s.storedScheme(tx, c)
	return sc, err
}

// storedScheme is cycleScheme with the stored version.
func (s *ValueStore) storedScheme(tx *gorm.DB, c cycles.Cycle) (StoredScheme, scheme.Scheme, error) {
	var st StoredScheme
	if c.SchemeID == nil {
		return st, scheme.Scheme{}, fault.With(fault.ErrConflict, "the cycle has no scheme",
			"考核周期尚未指定评价方案", map[string]any{"cycle_status": c.Status})
	}
	if err := tx.Where("id = ?", *c.SchemeID).Take(&st).Error; err != nil {
		return st, scheme.Scheme{}, fmt.Errorf("get scheme of cycle: %w", err)
	}
	sc, err := s.schemes.Decode(st)
	return st, sc, err
}

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

// Submit hands values of a region to review: each named value in draft or
// rejected becomes submitted (version+1, a "submit" revision). Values
// already submitted or verified are left as they are. Empty codes means
// every draft or rejected value of the region. Admins may submit for any
// region, city officials for their own; the cycle must be collecting. It
// returns the named values (or, for empty codes, those it submitted).
func (s *ValueStore) Submit(ctx context.Context, by auth.Principal, cycleID, regionCode string, codes []string) ([]Value, error) {
	regionCode = valuecheck.NormRegion(regionCode)
	if !by.Is(auth.RoleAdmin, auth.RoleCity) || !by.CanAccessRegion(regionCode) {
		return nil, forbidden()
	}
	var out []Value
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, sc, err := s.openCycle(tx, cycleID)
		if err != nil {
			return err
		}
		out, err = submitTx(tx, by, sc, cycleID, regionCode, codes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// submitTx is Submit inside a transaction that holds the cycle.
func submitTx(tx *gorm.DB, by auth.Principal, sc scheme.Scheme, cycleID, regionCode string, codes []string) ([]Value, error) {
	var vals []Value
	if err := tx.Where("cycle_id = ? AND region_code = ?", cycleID, regionCode).Order("indicator_code").Find(&vals).Error; err != nil {
		return nil, fmt.Errorf("read indicator values: %w", err)
	}
	var targets []Value
	if len(codes) == 0 {
		for _, v := range vals {
			if v.Status == StatusDraft || v.Status == StatusRejected {
				targets = append(targets, v)
			}
		}
	} else {
		var errs []fault.FieldError
		for i, code := range codes {
			code = strings.TrimSpace(code)
			field := fmt.Sprintf("codes[%d]", i)
			if _, ok := sc.Indicator(code); !ok {
				errs = append(errs, fault.FieldError{Field: field, Indicator: code, Code: "unknown_indicator",
					Message: "评价方案中没有指标：" + code, MessageEn: "the scheme has no indicator " + code})
				continue
			}
			j := slices.IndexFunc(vals, func(v Value) bool { return v.IndicatorCode == code })
			if j < 0 {
				errs = append(errs, fault.FieldError{Field: field, Indicator: code, Code: "missing",
					Message: "指标 " + code + " 尚未填报，不能提交", MessageEn: "indicator " + code + " has no value to submit"})
				continue
			}
			targets = append(targets, vals[j])
		}
		if err := fault.Invalid(errs...); err != nil {
			return nil, err
		}
	}
	out := make([]Value, 0, len(targets))
	for _, cur := range targets {
		if cur.Status != StatusDraft && cur.Status != StatusRejected {
			out = append(out, cur)
			continue
		}
		v, err := changeStatus(tx, by, cur, StatusSubmitted, ActionSubmit, "", nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// changeStatus moves cur to status with one revision. comment, when not
// nil, becomes the reviewer comment.
func changeStatus(tx *gorm.DB, by auth.Principal, cur Value, status Status, action, reason string, comment *string) (Value, error) {
	v := cur
	v.Status, v.Version, v.UpdatedBy, v.UpdatedAt = status, cur.Version+1, by.UserID, now()
	cols := map[string]any{"status": v.Status, "version": v.Version, "updated_by": v.UpdatedBy, "updated_at": v.UpdatedAt}
	if comment != nil {
		v.ReviewerComment = *comment
		cols["reviewer_comment"] = v.ReviewerComment
	}
	ok, err := update(tx, cur, cols)
	if err != nil {
		return v, err
	}
	if !ok {
		// Impossible under the cycle lock, as in writeItems.
		return v, fault.With(fault.ErrConflict, "stale version", "数据已被他人修改", nil)
	}
	rev := Revision{ValueID: v.ID, Version: v.Version, At: v.UpdatedAt, UserID: by.UserID, Username: by.Username,
		Action: action, OldNumber: cur.Number, NewNumber: v.Number, OldNA: cur.NotApplicable, NewNA: v.NotApplicable,
		OldNote: cur.Note, NewNote: v.Note, OldStatus: cur.Status, NewStatus: v.Status, Reason: reason}
	if err := tx.Create(&rev).Error; err != nil {
		return v, fmt.Errorf("record revision: %w", err)
	}
	return v, nil
}

// Review verifies (verify) or rejects a submitted value; only admins
// review, and only while the cycle is collecting. A rejection needs a
// comment, which the region sees as the reviewer comment. version is the
// version the reviewer saw; a stale one is a conflict with the current
// version, recorded as a "conflict" revision.
// A number of an indicator marked EvidenceRequired is verified only when
// at least one evidence file backs it.
func (s *ValueStore) Review(ctx context.Context, by auth.Principal, cycleID, valueID string, verify bool, comment string, version int) (Value, error) {
	if !by.Is(auth.RoleAdmin) {
		return Value{}, forbidden()
	}
	comment = strings.TrimSpace(comment)
	switch {
	case !verify && comment == "":
		return Value{}, fault.Invalid(fault.Field("comment", "required", "退回时须填写审核意见", "a rejection needs a comment"))
	case utf8.RuneCountInString(comment) > maxText:
		return Value{}, fault.Invalid(fault.Field("comment", "too_long",
			fmt.Sprintf("审核意见不超过 %d 字", maxText), fmt.Sprintf("comment must be at most %d characters", maxText)))
	}
	if fe := textguard.Check("comment", comment, textguard.Text); fe != nil {
		return Value{}, fault.Invalid(*fe)
	}
	var out Value
	var conflict *Value
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, sc, err := s.openCycle(tx, cycleID)
		if err != nil {
			return err
		}
		var cur Value
		err = tx.Where("id = ? AND cycle_id = ?", valueID, cycleID).Take(&cur).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("indicator value %s: %w", valueID, fault.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read indicator value: %w", err)
		}
		if cur.Version != version {
			conflict = &cur
			return errStale
		}
		if cur.Status != StatusSubmitted {
			return fault.With(fault.ErrConflict, fmt.Sprintf("only a submitted value can be reviewed; it is %s", cur.Status),
				fmt.Sprintf("只能审核已提交的数据（当前状态：%s）", cur.Status), map[string]any{"value_status": cur.Status})
		}
		if verify {
			if err := requireEvidence(tx, sc, cur); err != nil {
				return err
			}
		}
		status, action := StatusVerified, ActionVerify
		if !verify {
			status, action = StatusRejected, ActionReject
		}
		out, err = changeStatus(tx, by, cur, status, action, comment, &comment)
		return err
	})
	if errors.Is(err, errStale) {
		cur := *conflict
		rev := Revision{ValueID: cur.ID, Version: cur.Version, At: now(), UserID: by.UserID,
			Username: by.Username, Action: ActionConflict, OldNumber: cur.Number, NewNumber: cur.Number,
			OldNA: cur.NotApplicable, NewNA: cur.NotApplicable, OldNote: cur.Note, NewNote: cur.Note,
			OldStatus: cur.Status, NewStatus: cur.Status, Reason: comment}
		if err := s.db.WithContext(ctx).Create(&rev).Error; err != nil {
			return Value{}, fmt.Errorf("record conflict: %w", err)
		}
		return Value{}, fault.With(fault.ErrConflict, "stale version", "数据已被他人修改",
			map[string]any{"current_version": cur.Version, "current": cur})
	}
	return out, err
}

// requireEvidence refuses to verify a number that its indicator says
// must be backed by evidence when no file backs it.
func requireEvidence(tx *gorm.DB, sc scheme.Scheme, v Value) error {
	ind, ok := sc.Indicator(v.IndicatorCode)
	if !ok || !ind.EvidenceRequired || v.NotApplicable {
		return nil
	}
	var n int64
	if err := live(tx, v.CycleID, v.RegionCode, v.IndicatorCode).Count(&n).Error; err != nil {
		return fmt.Errorf("count evidence: %w", err)
	}
	if n == 0 {
		return fault.With(fault.ErrConflict, "indicator "+ind.Code+" needs an evidence file before it can be verified",
			"指标 "+ind.Code+" 须上传佐证材料后才能审核通过", map[string]any{"code": "evidence_required"})
	}
	return nil
}

// List returns the values of a cycle, by region and indicator code. An
// empty regionCode means every region the caller may see: all for admins,
// their own for city officials. A city official naming another region is
// forbidden; contractors never see values.
func (s *ValueStore) List(ctx context.Context, by auth.Principal, cycleID, regionCode string) ([]Value, error) {
	return listOfCycle[Value](s.db.WithContext(ctx), by, cycleID, regionCode, "region_code, indicator_code")
}

// listOfCycle reads the rows of T (values or evidence) of a cycle in the
// region the caller asks for, or in every region it may read (readScope).
func listOfCycle[T any](db *gorm.DB, by auth.Principal, cycleID, regionCode, order string) ([]T, error) {
	regionCode, err := readScope(by, regionCode)
	if err != nil {
		return nil, err
	}
	if _, err := getCycle(db, cycleID); err != nil {
		return nil, err
	}
	q := db.Where("cycle_id = ?", cycleID)
	if regionCode != "" {
		q = q.Where("region_code = ?", regionCode)
	}
	var out []T
	if err := q.Order(order).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list %T: %w", out, err)
	}
	return out, nil
}

// History returns the revisions of a value, oldest first. A value of a
// region the caller may not see is reported as not found, so that ids
// reveal nothing; contractors are forbidden outright.
func (s *ValueStore) History(ctx context.Context, by auth.Principal, valueID string) ([]Revision, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return nil, forbidden()
	}
	db := s.db.WithContext(ctx)
	var v Value
	err := db.Where("id = ?", valueID).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !by.CanAccessRegion(v.RegionCode)) {
		return nil, fmt.Errorf("indicator value %s: %w", valueID, fault.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read indicator value: %w", err)
	}
	var out []Revision
	if err := db.Where("value_id = ?", valueID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return out, nil
}

// Histories returns the revisions of every value of a region in a cycle,
// oldest first, keyed by value id, in one query. Access is List's: admins
// any region, city officials only their own, contractors nothing.
func (s *ValueStore) Histories(ctx context.Context, by auth.Principal, cycleID, regionCode string) (map[string][]Revision, error) {
	regionCode, err := readScope(by, regionCode)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	if _, err := getCycle(db, cycleID); err != nil {
		return nil, err
	}
	ids := db.Model(&Value{}).Select("id").Where("cycle_id = ?", cycleID)
	if regionCode != "" {
		ids = ids.Where("region_code = ?", regionCode)
	}
	var revs []Revision
	if err := db.Where("value_id IN (?)", ids).Order("id").Find(&revs).Error; err != nil {
		return nil, fmt.Errorf("read histories: %w", err)
	}
	out := make(map[string][]Revision)
	for _, r := range revs {
		out[r.ValueID] = append(out[r.ValueID], r)
	}
	return out, nil
}

// Completeness is the state of one region's indicators in one dimension.
// Every indicator of the dimension is counted once: NotApplicable when it
// does not apply to the region's kind, Missing when it has no value, and
// otherwise by the status of its value (a value declared not applicable is
// counted by its status too, since that declaration is reviewed like a
// number).
type Completeness struct {
	RegionCode string    `json:"region_code"`
	RegionName string    `json:"region_name"`
	RegionKind kind.Kind `json:"region_kind"`
	// Dimension is the dimension code; "" groups the unscored indicators
	// (such as F1) that belong to no dimension.
	Dimension     string `json:"dimension"`
	Total         int    `json:"total"`
	Verified      int    `json:"verified"`
	Submitted     int    `json:"submitted"`
	Draft         int    `json:"draft"`
	Rejected      int    `json:"rejected"`
	Missing       int    `json:"missing"`
	NotApplicable int    `json:"not_applicable"`
	// EvidenceMissing lists the applicable indicators that require
	// evidence, whose value is not declared not applicable, and that no
	// evidence file (not withdrawn) backs.
	EvidenceMissing []string `json:"evidence_missing"`
}

// Completeness reports, per region and dimension, how far collection has
// got in a cycle: admins see every region except the province itself, city
// officials their own region.
func (s *ValueStore) Completeness(ctx context.Context, by auth.Principal, cycleID string) ([]Completeness, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) || (by.Is(auth.RoleCity) && !by.CanAccessRegion(by.RegionCode)) {
		return nil, forbidden()
	}
	db := s.db.WithContext(ctx)
	c, err := getCycle(db, cycleID)
	if err != nil {
		return nil, err
	}
	sc, err := s.cycleScheme(db, c)
	if err != nil {
		return nil, err
	}
	var rs []regions.Region
	rq := db.Order("code")
	if by.Is(auth.RoleCity) {
		rq = rq.Where("code = ?", by.RegionCode)
	} else {
		rq = rq.Scopes(regions.Assessed)
	}
	if err := rq.Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	var vals []Value
	vq := db.Where("cycle_id = ?", cycleID)
	if by.Is(auth.RoleCity) {
		vq = vq.Where("region_code = ?", by.RegionCode)
	}
	if err := vq.Find(&vals).Error; err != nil {
		return nil, fmt.Errorf("list indicator values: %w", err)
	}
	eq := db.Model(&Evidence{}).Distinct("region_code", "indicator_code").Where("cycle_id = ? AND withdrawn_at IS NULL", cycleID)
	if by.Is(auth.RoleCity) {
		eq = eq.Where("region_code = ?", by.RegionCode)
	}
	var pairs []struct{ RegionCode, IndicatorCode string }
	if err := eq.Find(&pairs).Error; err != nil {
		return nil, fmt.Errorf("list evidence: %w", err)
	}
	backed := make(map[[2]string]bool, len(pairs))
	for _, p := range pairs {
		backed[[2]string{p.RegionCode, p.IndicatorCode}] = true
	}
	byKey := make(map[[2]string]Value, len(vals))
	for _, v := range vals {
		byKey[[2]string{v.RegionCode, v.IndicatorCode}] = v
	}
	dims := make([]string, 0, len(sc.Dimensions)+1)
	for _, d := range sc.Dimensions {
		dims = append(dims, d.Code)
	}
	if slices.ContainsFunc(sc.Indicators, func(ind scheme.Indicator) bool { return ind.Dimension == "" }) {
		dims = append(dims, "")
	}
	var out []Completeness
	for _, r := range rs {
		for _, d := range dims {
			row := Completeness{RegionCode: r.Code, RegionName: r.Name, RegionKind: r.Kind, Dimension: d, EvidenceMissing: []string{}}
			for _, ind := range sc.Indicators {
				if ind.Dimension != d {
					continue
				}
				row.Total++
				v, ok := byKey[[2]string{r.Code, ind.Code}]
				switch {
				case !sc.AppliesTo(ind, r.Kind):
					row.NotApplicable++
					continue
				case !ok:
					row.Missing++
				case v.Status == StatusVerified:
					row.Verified++
				case v.Status == StatusSubmitted:
					row.Submitted++
				case v.Status == StatusRejected:
					row.Rejected++
				default:
					row.Draft++
				}
				if ind.EvidenceRequired && !(ok && v.NotApplicable) && !backed[[2]string{r.Code, ind.Code}] {
					row.EvidenceMissing = append(row.EvidenceMissing, ind.Code)
				}
			}
			out = append(out, row)
		}
	}
	return out, nil
}

// now is the time written to the database, at the millisecond precision
// MySQL keeps, so that a returned Value equals the stored one.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// readScope authorises reading a cycle's values (or their evidence) of
// regionCode, and returns the region to read: "" for every region, which
// only admins may; a city official naming none reads its own region.
// Contractors never read values.
func readScope(by auth.Principal, regionCode string) (string, error) {
	regionCode = valuecheck.NormRegion(regionCode)
	if regionCode == "" && by.Is(auth.RoleCity) {
		regionCode = by.RegionCode
	}
	if !by.Is(auth.RoleAdmin, auth.RoleCity) || (regionCode != "" && !by.CanAccessRegion(regionCode)) ||
		(regionCode == "" && !by.Is(auth.RoleAdmin)) {
		return "", forbidden()
	}
	return regionCode, nil
}

func forbidden() error {
	return fault.With(fault.ErrForbidden, "you may not access indicator values of this region",
		"无权访问该地区的指标数据", nil)
}
