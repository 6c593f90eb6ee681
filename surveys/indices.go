package surveys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/regions"
	"github.com/ipeval/ipeval/surveys/quality"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// flagChunk bounds the ids of one flag UPDATE.
const flagChunk = 500

// recompute screens every region of a project and stores its index,
// within tx (which holds the project). The screens look at a region's
// responses across batches, in upload order, so that a duplicate in a
// later batch is the one flagged; each response's flags are rewritten.
func recompute(tx *gorm.DB, p Project, q questionnaire.Questionnaire) error {
	if err := tx.Model(&response{}).Where("project_id = ? AND flags <> 0", p.ID).Update("flags", 0).Error; err != nil {
		return fmt.Errorf("reset flags: %w", err)
	}
	if err := tx.Where("project_id = ?", p.ID).Delete(&storedIndex{}).Error; err != nil {
		return fmt.Errorf("clear indices: %w", err)
	}
	at := now()
	for _, pr := range p.Regions {
		var rows []response
		if err := tx.Where("project_id = ? AND region_code = ?", p.ID, pr.Code).Order("id").Find(&rows).Error; err != nil {
			return fmt.Errorf("read responses: %w", err)
		}
		rs := make([]questionnaire.Response, len(rows))
		for i, r := range rows {
			rs[i] = questionnaire.Response{Row: r.RowNo, Region: r.RegionCode, RespondentType: r.RespondentType,
				RespondentID: r.RespondentID, ContactHash: r.ContactHash, Seconds: -1,
				Answers: decodeAnswers(nil, r.Answers), Attention: uint8(r.Attention)}
			if r.Seconds != nil {
				rs[i].Seconds = *r.Seconds
			}
		}
		idx, flags := quality.Compute(q, p.Thresholds, quality.Options{MinSample: pr.Minimum, Strata: p.Strata}, rs)
		byFlag := map[quality.Flags][]uint64{}
		for i, f := range flags {
			if f != 0 {
				byFlag[f] = append(byFlag[f], rows[i].ID)
			}
		}
		for f, ids := range byFlag {
			for len(ids) > 0 {
				n := min(len(ids), flagChunk)
				if err := tx.Model(&response{}).Where("id IN ?", ids[:n]).Update("flags", int(f)).Error; err != nil {
					return fmt.Errorf("flag responses: %w", err)
				}
				ids = ids[n:]
			}
		}
		body, err := json.Marshal(idx)
		if err != nil {
			return fmt.Errorf("encode index: %w", err)
		}
		if err := tx.Create(&storedIndex{ProjectID: p.ID, RegionCode: pr.Code, Body: string(body), ComputedAt: at}).Error; err != nil {
			return fmt.Errorf("store index: %w", err)
		}
	}
	return nil
}

// readIndices returns a project's stored indices in the project's region
// order; a region without responses yet has an empty index.
func readIndices(db *gorm.DB, p Project) ([]RegionIndex, error) {
	var stored []storedIndex
	if err := db.Where("project_id = ?", p.ID).Find(&stored).Error; err != nil {
		return nil, fmt.Errorf("read indices: %w", err)
	}
	byRegion := make(map[string]storedIndex, len(stored))
	for _, si := range stored {
		byRegion[si.RegionCode] = si
	}
	var names []regions.Region
	if err := db.Where("code IN ?", p.regionCodes()).Find(&names).Error; err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	name := make(map[string]string, len(names))
	for _, r := range names {
		name[r.Code] = r.Name
	}
	out := make([]RegionIndex, 0, len(p.Regions))
	for _, pr := range p.Regions {
		ri := RegionIndex{ProjectID: p.ID, RegionCode: pr.Code, RegionName: name[pr.Code], Target: pr.Target}
		if si, ok := byRegion[pr.Code]; ok {
			if err := json.Unmarshal([]byte(si.Body), &ri.Index); err != nil {
				return nil, fmt.Errorf("decode index: %w", err)
			}
			ri.ComputedAt = si.ComputedAt
		} else {
			ri.MinSample, ri.Insufficient, ri.Items, ri.ByType = pr.Minimum, true, []quality.ItemMean{}, map[string]int{}
		}
		out = append(out, ri)
	}
	return out, nil
}

// Quality returns the per-region quality summary and index of a project,
// for its contractor and the admins.
func (s *Store) Quality(ctx context.Context, by auth.Principal, projectID string) ([]RegionIndex, error) {
	db := s.db.WithContext(ctx)
	p, err := getProject(db, by, projectID)
	if err != nil {
		return nil, err
	}
	return readIndices(db, p)
}

// CycleIndices returns the indices of a cycle's accepted (or locked)
// projects. Admins see every region; a city official only its own, and
// only once the cycle's results are published; contractors read their
// projects' Quality instead.
func (s *Store) CycleIndices(ctx context.Context, by auth.Principal, cycleID string) ([]RegionIndex, error) {
	db := s.db.WithContext(ctx)
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return nil, forbidden()
	}
	var c cycles.Cycle
	if err := db.Where("id = ?", cycleID).Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, fmt.Errorf("cycle %s: %w", cycleID, fault.ErrNotFound)
		}
		return nil, fmt.Errorf("get cycle: %w", err)
	}
	if by.Is(auth.RoleCity) && c.Status != cycles.Published && c.Status != cycles.Archived {
		return nil, fault.With(fault.ErrNotFound, "the cycle's results are not published yet", "考核结果尚未发布", nil)
	}
	var ps []Project
	if err := db.Where("cycle_id = ? AND status IN ?", cycleID, []ProjectStatus{ProjectAccepted, ProjectLocked}).
		Order("created_at, id").Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("list survey projects: %w", err)
	}
	out := []RegionIndex{}
	for _, p := range ps {
		if err := p.decode(); err != nil {
			return nil, err
		}
		idx, err := readIndices(db, p)
		if err != nil {
			return nil, err
		}
		for _, ri := range idx {
			if by.CanAccessRegion(ri.RegionCode) {
				out = append(out, ri)
			}
		}
	}
	return out, nil
}
