package surveys

import (
	"context"
	"database/sql"
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

// flagChunk bounds the ids of one flag UPDATE: SQLite's driver binds
// placeholders in time quadratic in their number.
func flagChunk(tx *gorm.DB) int {
	if tx.Dialector.Name() == "sqlite" {
		return 500
	}
	return 5000
}

// answerArena is how many answers recompute decodes into one allocation.
const answerArena = 64 << 10

// selectResponses reads what the screens need of a region's responses, in
// upload order.
const selectResponses = "SELECT id, row_no, respondent_type, respondent_id, contact_hash, seconds, answers, attention, flags " +
	"FROM survey_responses WHERE project_id = ? AND region_code = ? ORDER BY id"

// recompute screens every region of a project and stores its index,
// within tx (which holds the project). The screens look at a region's
// responses across batches, in upload order, so that a duplicate in a
// later batch is the one flagged; each response's flags are rewritten
// where they change. One region's responses are in memory at a time.
func recompute(tx *gorm.DB, p Project, q questionnaire.Questionnaire) error {
	if err := tx.Where("project_id = ?", p.ID).Delete(&storedIndex{}).Error; err != nil {
		return fmt.Errorf("clear indices: %w", err)
	}
	at := now()
	var (
		rs     []questionnaire.Response
		ids    []uint64
		old    []quality.Flags
		arena  []uint8
		types  = map[string]string{} // respondent types, kept once
		change = map[quality.Flags][]uint64{}
	)
	for _, pr := range p.Regions {
		rs, ids, old = rs[:0], ids[:0], old[:0]
		rows, err := tx.Raw(selectResponses, p.ID, pr.Code).Rows()
		if err != nil {
			return fmt.Errorf("read responses: %w", err)
		}
		var (
			id                  uint64
			rowNo, att, flag    int
			rtype, answers      sql.RawBytes
			respondent, contact string
			seconds             sql.NullFloat64
		)
		for rows.Next() {
			if err := rows.Scan(&id, &rowNo, &rtype, &respondent, &contact, &seconds, &answers, &att, &flag); err != nil {
				_ = rows.Close()
				return fmt.Errorf("read responses: %w", err)
			}
			t, ok := types[string(rtype)]
			if !ok {
				t = string(rtype)
				types[t] = t
			}
			if cap(arena)-len(arena) < len(answers) {
				arena = make([]uint8, 0, max(answerArena, len(answers)))
			}
			a := decodeAnswers(arena[len(arena):], answers)
			arena = arena[:len(arena)+len(a)]
			r := questionnaire.Response{Row: rowNo, Region: pr.Code, RespondentType: t, RespondentID: respondent,
				ContactHash: contact, Seconds: -1, Answers: a[:len(a):len(a)], Attention: uint8(att)}
			if seconds.Valid {
				r.Seconds = seconds.Float64
			}
			rs, ids, old = append(rs, r), append(ids, id), append(old, quality.Flags(flag))
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("read responses: %w", err)
		}
		idx, flags := quality.Compute(q, p.Thresholds, quality.Options{MinSample: pr.Minimum, Strata: p.Strata}, rs)
		clear(rs) // let go of the strings
		for i, f := range flags {
			if f != old[i] {
				change[f] = append(change[f], ids[i])
			}
		}
		for f, list := range change {
			for rest := list; len(rest) > 0; {
				n := min(len(rest), flagChunk(tx))
				if err := tx.Model(&response{}).Where("id IN ?", rest[:n]).Update("flags", int(f)).Error; err != nil {
					return fmt.Errorf("flag responses: %w", err)
				}
				rest = rest[n:]
			}
			change[f] = list[:0]
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
