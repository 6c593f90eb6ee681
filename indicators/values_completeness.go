package indicators

import (
	"context"
	"fmt"
	"slices"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
)

// How complete each region's values of a cycle are.

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
