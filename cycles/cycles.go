// Package cycles owns assessment cycles (考核周期) and their life cycle:
// draft → collecting → scoring → published → archived, and nothing else.
package cycles

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

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
)

// Status is the state of a cycle.
type Status string

// Cycle states in their normal order.
const (
	Draft      Status = "draft"
	Collecting Status = "collecting"
	Scoring    Status = "scoring"
	Published  Status = "published"
	Archived   Status = "archived"
)

// Next lists the states a cycle may move to from s. Scoring may go back to
// collecting, because managers reopen collection when scoring uncovers bad
// data; once published, results only move forward to the archive.
func (s Status) Next() []Status {
	switch s {
	case Draft:
		return []Status{Collecting}
	case Collecting:
		return []Status{Scoring}
	case Scoring:
		return []Status{Collecting, Published}
	case Published:
		return []Status{Archived}
	default:
		return []Status{}
	}
}

// Valid reports whether s is a known state.
func (s Status) Valid() bool {
	switch s {
	case Draft, Collecting, Scoring, Published, Archived:
		return true
	}
	return false
}

// Cycle is one assessment year.
type Cycle struct {
	ID        string    `json:"id" gorm:"primaryKey"`
	Year      int       `json:"year"`
	Name      string    `json:"name"`
	Status    Status    `json:"status"`
	SchemeID  *string   `json:"scheme_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// ScoringPeriod counts the cycle's entries into scoring: a run is of
	// the period it was requested in, and is stored and published only
	// while the cycle is still in that period (package evaluation).
	ScoringPeriod int `json:"scoring_period"`

	// CollectionDeadline is the day (midnight UTC standing for the
	// calendar day) until which collection is announced open, set when the
	// cycle moves to collecting; nil when none was given. It informs the
	// regions and the checklist and blocks nothing: values are accepted
	// until the manager closes collection.
	CollectionDeadline *time.Time `json:"collection_deadline" gorm:"type:date"`
}

// Store reads and writes cycles.
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// List returns every cycle, newest year first.
func (s *Store) List(ctx context.Context) ([]Cycle, error) {
	var out []Cycle
	if err := s.db.WithContext(ctx).Order("year DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list cycles: %w", err)
	}
	return out, nil
}

// Get returns the cycle with id.
func (s *Store) Get(ctx context.Context, id string) (Cycle, error) {
	var c Cycle
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, fmt.Errorf("cycle %s: %w", id, fault.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("get cycle: %w", err)
	}
	return c, nil
}

// Input is a new cycle as submitted.
type Input struct {
	Year int    `json:"year"`
	Name string `json:"name"`
}

// Problems lists what is wrong with in, field by field, as Create checks
// it: the year's range and the name's length and characters (an empty
// name stands for the year's default name).
func (in Input) Problems() []fault.FieldError {
	var errs []fault.FieldError
	if in.Year < 2000 || in.Year > 2100 {
		errs = append(errs, fault.Field("year", "invalid_year", "年度须在2000至2100之间", "year must be between 2000 and 2100"))
	}
	name := strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(name) > 191 {
		errs = append(errs, fault.Field("name", "invalid_name", "名称不超过191字", "name must be at most 191 characters"))
	}
	return append(errs, textguard.Fields(textguard.Line, "name", name)...)
}

// Create adds a cycle in draft. One cycle per year.
func (s *Store) Create(ctx context.Context, in Input) (Cycle, error) {
	return s.create(ctx, in, nil)
}

// CreateWithScheme adds a cycle in draft assessed with the scheme
// schemeID, in one insert: a scheme that does not exist stores nothing
// (a foreign key checks it; callers check it first to name the field).
func (s *Store) CreateWithScheme(ctx context.Context, in Input, schemeID string) (Cycle, error) {
	return s.create(ctx, in, &schemeID)
}

func (s *Store) create(ctx context.Context, in Input, schemeID *string) (Cycle, error) {
	if err := fault.Invalid(in.Problems()...); err != nil {
		return Cycle{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		in.Name = fmt.Sprintf("%d年度知识产权公共服务考核评估", in.Year)
	}
	c := Cycle{ID: uuid.Must(uuid.NewV7()).String(), Year: in.Year, Name: in.Name, Status: Draft, SchemeID: schemeID}
	err := s.db.WithContext(ctx).Create(&c).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Cycle{}, fault.With(fault.ErrConflict, fmt.Sprintf("a cycle for %d exists", in.Year), fmt.Sprintf("%d年度考核周期已存在", in.Year), nil)
	}
	if err != nil {
		return Cycle{}, fmt.Errorf("create cycle: %w", err)
	}
	return c, nil
}

// Transition moves a cycle to the state to. An illegal move is a conflict
// whose problem lists the allowed states. The update is guarded by the
// state read, so two concurrent transitions cannot both succeed. A cycle
// is never published by Transition: it is published with one of its
// evaluation runs (package evaluation), so that a published cycle
// always has its published result.
func (s *Store) Transition(ctx context.Context, id string, to Status) (Cycle, error) {
	return s.TransitionUntil(ctx, id, to, "")
}

// TransitionUntil is Transition with the collection deadline as typed
// (YYYY-MM-DD, "" for none), which only a move to collecting may carry —
// opening collection or reopening it from scoring, which sets a new
// deadline or, given none, clears the old one. A deadline that is not a
// real day or lies before today (in China) is refused by field before
// anything changes.
func (s *Store) TransitionUntil(ctx context.Context, id string, to Status, deadline string) (Cycle, error) {
	if !to.Valid() {
		return Cycle{}, fault.Invalid(fault.Field("to", "unknown_status", "未知状态："+string(to), "unknown status: "+string(to)))
	}
	day, err := ParseDeadline(deadline, time.Now())
	if err != nil {
		return Cycle{}, err
	}
	if day != nil && to != Collecting {
		return Cycle{}, fault.Invalid(fault.Field("deadline", "deadline_not_collecting", "只有开放数据填报时才能设定截止日期", "a deadline can be set only when collection opens"))
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return c, err
	}
	allowed := slices.DeleteFunc(c.Status.Next(), func(st Status) bool { return st == Published })
	if to == Published && c.Status == Scoring {
		return c, fault.With(fault.ErrConflict,
			"a cycle is published by publishing one of its runs: POST /api/v1/runs/{id}/publish",
			"考核周期须通过发布某次评价运行结果来发布：POST /api/v1/runs/{id}/publish",
			map[string]any{"from": c.Status, "to": to, "allowed": allowed})
	}
	if !slices.Contains(allowed, to) {
		return c, fault.With(fault.ErrConflict,
			fmt.Sprintf("cycle cannot move from %s to %s", c.Status, to),
			fmt.Sprintf("考核周期不能从 %s 变更为 %s", c.Status, to),
			map[string]any{"from": c.Status, "to": to, "allowed": allowed})
	}
	if c.SchemeID == nil && (to == Collecting || to == Scoring) {
		return c, fault.With(fault.ErrConflict,
			"the cycle has no scheme: set its scheme (PUT /api/v1/cycles/{id}/scheme) before it leaves draft",
			"考核周期尚未指定评价方案，须先指定方案才能进入数据填报", map[string]any{"from": c.Status, "to": to, "missing": "scheme_id"})
	}
	cols := map[string]any{"status": to, "updated_at": time.Now().UTC()}
	if to == Scoring {
		// A new scoring period: runs requested before it (before a
		// reopening) are of an earlier one.
		cols["scoring_period"] = gorm.Expr("scoring_period + 1")
	}
	if to == Collecting {
		cols["collection_deadline"] = day
	}
	// The guard on scheme_id keeps a cycle without a scheme from moving on
	// even if the read above is stale.
	res := s.db.WithContext(ctx).Model(&Cycle{}).Where("id = ? AND status = ? AND scheme_id IS NOT NULL", id, c.Status).
		Updates(cols)
	if res.Error != nil {
		return c, fmt.Errorf("transition cycle: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return c, fault.With(fault.ErrConflict, "cycle changed concurrently; reload and retry", "考核周期已被他人修改，请刷新后重试", nil)
	}
	return s.Get(ctx, id)
}

// deadlineLayout is how a collection deadline is typed and shown.
const deadlineLayout = "2006-01-02"

// china is the offices' time zone: "today" for a deadline is China's.
func china() *time.Location { return time.FixedZone("CST", 8*3600) }

// ParseDeadline reads a collection deadline as typed (YYYY-MM-DD) into the
// day it names, as stored (midnight UTC); "" is no deadline (nil). A text
// that is not a real day, or a day before now's day in China, is a
// problem of field "deadline".
func ParseDeadline(s string, now time.Time) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	day, err := time.Parse(deadlineLayout, s)
	if err != nil {
		return nil, fault.Invalid(fault.Field("deadline", "invalid_deadline", "截止日期须为有效日期（年-月-日）", "the deadline must be a real date (YYYY-MM-DD)"))
	}
	if day.Before(Today(now)) {
		return nil, fault.Invalid(fault.Field("deadline", "deadline_past", "截止日期不能早于今天", "the deadline cannot be before today"))
	}
	return &day, nil
}

// Today is now's calendar day in China, as a deadline is stored (midnight
// UTC), so that days compare and subtract whole.
func Today(now time.Time) time.Time {
	y, m, d := now.In(china()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// SetScheme names the scheme a cycle is assessed with. It may change only
// before scoring starts; the scheme must exist (a foreign key checks it).
func (s *Store) SetScheme(ctx context.Context, id, schemeID string) (Cycle, error) {
	res := s.db.WithContext(ctx).Model(&Cycle{}).Where("id = ? AND status IN ?", id, []Status{Draft, Collecting}).
		Updates(map[string]any{"scheme_id": schemeID, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return Cycle{}, fmt.Errorf("set scheme of cycle: %w", res.Error)
	}
	c, err := s.Get(ctx, id)
	if err == nil && res.RowsAffected == 0 {
		return c, fault.With(fault.ErrConflict, "the scheme can change only while the cycle is draft or collecting",
			"考核周期进入评分后不能更换评价方案", map[string]any{"cycle_status": c.Status})
	}
	return c, err
}
