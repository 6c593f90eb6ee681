// Reading runs and their results, each caller seeing what its role allows.

package evaluation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/internal/fault"
)

// List returns the runs of a cycle, newest first: all for admins, the
// published one for others.
func (s *Store) List(ctx context.Context, by auth.Principal, cycleID string) ([]Run, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return nil, forbidden()
	}
	q := s.db.WithContext(ctx).Omit("inputs", "results", "sensitivity").Where("cycle_id = ?", cycleID)
	if !by.Is(auth.RoleAdmin) {
		q = q.Where("published_at IS NOT NULL")
	}
	var out []Run
	if err := q.Order("created_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// Get returns a run with its results. City officials see only a published
// run, and only their own region in it; an unpublished run is not found
// for them, so that its existence leaks nothing.
func (s *Store) Get(ctx context.Context, by auth.Principal, runID string) (Run, engine.Result, error) {
	r, res, err := s.results(ctx, by, runID)
	if err != nil {
		return Run{}, engine.Result{}, err
	}
	res.Regions = visible(by, res.Regions, func(rr engine.RegionResult) string { return rr.Code })
	if !by.Is(auth.RoleAdmin) {
		dropOthers(&res, by.CanAccessRegion)
	}
	return r, res, nil
}

// Overview returns a run's results for the province overview. Admins get
// every region in full. City officials, for a published run only, get the
// province-wide ranking — every region's score, rank, grades and dimension
// scores — and the detail (indicators, rules, path, explanation) of their
// own region alone (DESIGN.md section 2). The run comes without its
// inputs, which no overview shows.
func (s *Store) Overview(ctx context.Context, by auth.Principal, runID string) (Run, engine.Result, error) {
	r, res, err := s.results(ctx, by, runID, "inputs")
	if err != nil {
		return Run{}, engine.Result{}, err
	}
	if by.Is(auth.RoleAdmin) {
		return r, res, nil
	}
	for i, rr := range res.Regions {
		if !by.CanAccessRegion(rr.Code) {
			res.Regions[i] = rankingRow(rr)
		}
	}
	dropOthers(&res, by.CanAccessRegion)
	return r, res, nil
}

// dropOthers removes from the province-wide parts of res what they say
// about single regions other than those own accepts: the raw values that
// outlier treatment changed, and warnings about a region. The indicators'
// statistics stay; they name no region.
func dropOthers(res *engine.Result, own func(code string) bool) {
	for i, ind := range res.Indicators {
		if ind.Treatment == nil {
			continue
		}
		t := *ind.Treatment
		t.Points = keep(slices.Clone(t.Points), func(p engine.TreatedPoint) bool { return own(p.Region) })
		res.Indicators[i].Treatment = &t
	}
	res.Warnings = keep(res.Warnings, func(w engine.Warning) bool { return w.Region == "" || own(w.Region) })
}

// rankingRow is what everyone who may see a run's ranking sees of a
// region: its place in the ranking, not its detail.
func rankingRow(rr engine.RegionResult) engine.RegionResult {
	return engine.RegionResult{Code: rr.Code, Name: rr.Name, Kind: rr.Kind, Group: rr.Group, Status: rr.Status,
		Score: rr.Score, Rank: rr.Rank, BandGrade: rr.BandGrade, Grade: rr.Grade, GradeRule: rr.GradeRule,
		AwardEligible: rr.AwardEligible, Dimensions: rr.Dimensions}
}

// results reads a run the caller may see with its results, every region;
// omit names columns the caller does not need (inputs can be megabytes).
func (s *Store) results(ctx context.Context, by auth.Principal, runID string, omit ...string) (Run, engine.Result, error) {
	r, err := s.load(ctx, by, runID, omit...)
	if err != nil {
		return Run{}, engine.Result{}, err
	}
	var res engine.Result
	if err := json.Unmarshal([]byte(r.Results), &res); err != nil {
		return Run{}, engine.Result{}, fmt.Errorf("decode results of run %s: %w", r.ID, err)
	}
	return r, res, nil
}

// load reads a run the caller may see, without the columns omit names:
// any for admins, a published one for city officials; an unpublished run
// is not found for them.
func (s *Store) load(ctx context.Context, by auth.Principal, runID string, omit ...string) (Run, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return Run{}, forbidden()
	}
	var r Run
	q := s.db.WithContext(ctx)
	if len(omit) > 0 {
		q = q.Omit(omit...)
	}
	err := q.Where("id = ?", runID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !by.Is(auth.RoleAdmin) && r.PublishedAt == nil) {
		return Run{}, fmt.Errorf("run %s: %w", runID, fault.ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("get run: %w", err)
	}
	return r, nil
}

// visible keeps the items of the regions the caller may see.
func visible[T any](by auth.Principal, items []T, code func(T) string) []T {
	if by.Is(auth.RoleAdmin) {
		return items
	}
	return keep(items, func(it T) bool { return by.CanAccessRegion(code(it)) })
}

// Region returns a run (without its columns) and one region's result in
// it, with its explanation: a region the caller may see, of a run the
// caller may see.
func (s *Store) Region(ctx context.Context, by auth.Principal, runID, regionCode string) (Run, engine.RegionResult, error) {
	r, res, err := s.results(ctx, by, runID, "inputs", "sensitivity")
	if err != nil {
		return Run{}, engine.RegionResult{}, err
	}
	rr, ok := res.Region(regionCode)
	if !ok || !by.CanAccessRegion(regionCode) {
		return Run{}, engine.RegionResult{}, fmt.Errorf("region %s in run %s: %w", regionCode, runID, fault.ErrNotFound)
	}
	r.Results = ""
	return r, *rr, nil
}

// Sensitivity returns the sensitivity analysis of a run, seen as Get sees
// the run: a city official only its region of a published run.
func (s *Store) Sensitivity(ctx context.Context, by auth.Principal, runID string) (engine.SensitivityResult, error) {
	r, err := s.load(ctx, by, runID, "inputs", "results")
	if err != nil {
		return engine.SensitivityResult{}, err
	}
	var sens engine.SensitivityResult
	if err := json.Unmarshal([]byte(r.Sensitivity), &sens); err != nil {
		return sens, fmt.Errorf("decode sensitivity of run %s: %w", r.ID, err)
	}
	sens.Regions = visible(by, sens.Regions, func(rs engine.RegionSensitivity) string { return rs.Code })
	return sens, nil
}
