package indicators

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/valuecheck"
	"github.com/ipeval/ipeval/internal/fault"
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
