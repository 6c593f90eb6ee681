package evaluation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// RegionYear is a region's place in the published run of one cycle: what
// every admin and city official may see of it (its ranking row).
type RegionYear struct {
	Year   int
	Region engine.RegionResult
	// Grades are the bands of the run's scheme, highest first.
	Grades []scheme.Grade
}

// RegionHistory returns the region's ranking row in every published run
// that scored it, oldest cycle first, read in one query over the
// published runs joined with their cycles (a region's trend needs no
// more). Published results are the province's: an admin and every city
// official see the same rows, as Overview shows them.
func (s *Store) RegionHistory(ctx context.Context, by auth.Principal, regionCode string) ([]RegionYear, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return nil, forbidden()
	}
	var rows []struct {
		ID      string
		Year    int
		Results string
	}
	err := s.db.WithContext(ctx).Table("runs").Select("runs.id, cycles.year, runs.results").
		Joins("JOIN cycles ON cycles.id = runs.cycle_id").Where("runs.published_at IS NOT NULL").
		Order("cycles.year, runs.created_at, runs.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("published runs: %w", err)
	}
	var out []RegionYear
	for _, r := range rows {
		var res engine.Result
		if err := json.Unmarshal([]byte(r.Results), &res); err != nil {
			return nil, fmt.Errorf("decode results of run %s: %w", r.ID, err)
		}
		if rr, ok := res.Region(regionCode); ok {
			out = append(out, RegionYear{Year: r.Year, Region: rankingRow(*rr), Grades: res.Grades})
		}
	}
	return out, nil
}
