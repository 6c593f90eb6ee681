package indicators

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

// The revision history of indicator values.

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
