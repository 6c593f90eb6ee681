package evaluation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/internal/fault"
)

// Export is a run as one caller may take it away in a file: the
// province-wide ranking, and the detail of the regions the caller may
// see. Files outlive the page they were downloaded from, so an export is
// cut on the server, never by the writer.
type Export struct {
	Run   Run
	Cycle cycles.Cycle
	// Input is the snapshot the run scored, with its regions, values and
	// intervals cut to the regions of the detail. Its scheme is whole.
	Input engine.Input
	// Result holds every region's ranking row — score, rank, grades,
	// capping rule, award eligibility and dimension scores, as the
	// province overview shows them — and the indicators, fired rules, path
	// and explanation of the regions of the detail only.
	Result engine.Result
	// Sensitivity is the run's analysis cut to the regions of the detail;
	// nil when the run has none.
	Sensitivity *engine.SensitivityResult
	// Region is the one region of the detail; empty for every region.
	Region string
}

// Export returns a run for an export by by. Admins export any run, whole
// or (region set) with one region's detail. City officials export only a
// published run and only with their own region's detail. Another region
// is refused with 403 (regions are public); an unpublished run is not
// found, with the very error of a missing one, so that an official cannot
// tell which run ids exist (TestProbe07ExistenceOracle).
func (s *Store) Export(ctx context.Context, by auth.Principal, runID, region string) (Export, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return Export{}, forbidden()
	}
	region = strings.TrimSpace(region)
	if !by.Is(auth.RoleAdmin) {
		if region == "" {
			region = by.RegionCode
		}
		if !by.CanAccessRegion(region) {
			return Export{}, fault.With(fault.ErrForbidden, "a city official exports only its own region's detail",
				"市级用户只能导出本地区的评价明细", map[string]any{"region": region})
		}
	}
	notFound := fault.With(fault.ErrNotFound, "no such evaluation run", "评价运行不存在", nil)
	var r Run
	if err := s.db.WithContext(ctx).Where("id = ?", runID).Take(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Export{}, notFound
		}
		return Export{}, fmt.Errorf("get run: %w", err)
	}
	if r.PublishedAt == nil && !by.Is(auth.RoleAdmin) {
		return Export{}, notFound
	}
	ex := Export{Run: r, Region: region}
	if err := s.db.WithContext(ctx).Where("id = ?", r.CycleID).Take(&ex.Cycle).Error; err != nil {
		return Export{}, fmt.Errorf("get cycle of run %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Inputs), &ex.Input); err != nil {
		return Export{}, fmt.Errorf("decode inputs of run %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Results), &ex.Result); err != nil {
		return Export{}, fmt.Errorf("decode results of run %s: %w", r.ID, err)
	}
	if r.Sensitivity != "" {
		ex.Sensitivity = new(engine.SensitivityResult)
		if err := json.Unmarshal([]byte(r.Sensitivity), ex.Sensitivity); err != nil {
			return Export{}, fmt.Errorf("decode sensitivity of run %s: %w", r.ID, err)
		}
	}
	if region == "" {
		return ex, nil
	}
	if _, ok := ex.Result.Region(region); !ok {
		return Export{}, fault.With(fault.ErrNotFound, "the region is not assessed in this run",
			"该地区不在本次评价范围内", map[string]any{"region": region})
	}
	ex.cut(region)
	return ex, nil
}

// cut keeps the detail of region alone.
func (ex *Export) cut(region string) {
	for i, rr := range ex.Result.Regions {
		if rr.Code != region {
			ex.Result.Regions[i] = rankingRow(rr)
		}
	}
	own := func(code string) bool { return code == region }
	dropOthers(&ex.Result, own)
	ex.Input.Regions = keep(ex.Input.Regions, func(r engine.Region) bool { return own(r.Code) })
	maps.DeleteFunc(ex.Input.Values, func(code string, _ map[string]engine.Value) bool { return !own(code) })
	maps.DeleteFunc(ex.Input.Intervals, func(code string, _ map[string]engine.Interval) bool { return !own(code) })
	if ex.Sensitivity != nil {
		ex.Sensitivity.Regions = keep(ex.Sensitivity.Regions, func(rs engine.RegionSensitivity) bool { return own(rs.Code) })
	}
}

// keep returns the items for which ok holds, in order.
func keep[T any](items []T, ok func(T) bool) []T {
	out := items[:0]
	for _, it := range items {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}
