package surveys

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions"
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
// upload order: those of the project's valid batches, listed as the last
// argument. The responses of a batch still loading, or refused and not yet
// deleted, are not read. The index on the region comes first, and gives
// the rows in id order: the list of batches only filters them.
const selectResponses = "SELECT id, row_no, respondent_type, respondent_id, contact_hash, seconds, answers, attention, flags " +
	"FROM survey_responses WHERE project_id = ? AND region_code = ? AND batch_id IN ? ORDER BY id"

// recompute screens regions of a project and stores their indices, within
// tx (which holds the project): every region when only is nil, otherwise
// those in only and those without an index yet; the others' indices
// stand, since the screens and the index look at one region at a time.
// The screens look at a region's responses across the project's valid
// batches, in upload order, so that a duplicate in a later batch is the
// one flagged; each response's flags are rewritten where they change.
func recompute(tx *gorm.DB, p Project, q questionnaire.Questionnaire, only map[string]bool) error {
	todo, err := toScreen(tx, p, only)
	if err != nil || len(todo) == 0 {
		return err
	}
	valid, err := validBatches(tx, p.ID)
	if err != nil {
		return err
	}
	sc, err := screen(tx, p, q, todo, valid)
	if err != nil {
		return err
	}
	return sc.store(tx, p, only == nil)
}

// toScreen returns the regions of p to screen: all of them when only is
// nil, otherwise those in only and those without an index yet.
func toScreen(db *gorm.DB, p Project, only map[string]bool) ([]ProjectRegion, error) {
	if only == nil {
		return p.Regions, nil
	}
	var have []string
	if err := db.Model(&storedIndex{}).Where("project_id = ?", p.ID).Pluck("region_code", &have).Error; err != nil {
		return nil, fmt.Errorf("list indices: %w", err)
	}
	stored := make(map[string]bool, len(have))
	for _, c := range have {
		stored[c] = true
	}
	var todo []ProjectRegion
	for _, pr := range p.Regions {
		if only[pr.Code] || !stored[pr.Code] {
			todo = append(todo, pr)
		}
	}
	return todo, nil
}

// validBatches lists the ids of a project's valid batches, in order.
func validBatches(db *gorm.DB, projectID string) ([]string, error) {
	var ids []string
	if err := db.Model(&Batch{}).Where("project_id = ? AND status = ?", projectID, BatchValid).Order("id").
		Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("list valid batches: %w", err)
	}
	return ids, nil
}

// screening is what screening regions of a project found: each region's
// index, and the responses whose stored flags change.
type screening struct {
	regions []string
	indices []quality.Index
	change  map[quality.Flags][]uint64
}

// screen reads the responses of the given batches in each region of todo,
// and screens them. One region's responses are in memory at a time.
func screen(db *gorm.DB, p Project, q questionnaire.Questionnaire, todo []ProjectRegion, batches []string) (screening, error) {
	sc := screening{change: map[quality.Flags][]uint64{}}
	var (
		rs    []questionnaire.Response
		ids   []uint64
		old   []quality.Flags
		arena []uint8
		types = map[string]string{} // respondent types, kept once
	)
	for _, pr := range todo {
		rs, ids, old = rs[:0], ids[:0], old[:0]
		if len(batches) > 0 {
			var err error
			if rs, ids, old, arena, err = readResponses(db, p.ID, pr.Code, batches, types, rs, ids, old, arena); err != nil {
				return sc, err
			}
		}
		idx, flags := quality.Compute(q, p.Thresholds, quality.Options{MinSample: pr.Minimum, Strata: p.Strata}, rs)
		clear(rs) // let go of the strings
		for i, f := range flags {
			if f != old[i] {
				sc.change[f] = append(sc.change[f], ids[i])
			}
		}
		sc.regions, sc.indices = append(sc.regions, pr.Code), append(sc.indices, idx)
	}
	return sc, nil
}

// store writes a screening within tx: the changed flags, and the indices
// of its regions in place of those stored — of every region of the
// project, with all.
func (sc screening) store(tx *gorm.DB, p Project, all bool) error {
	for f, list := range sc.change {
		for rest := list; len(rest) > 0; {
			n := min(len(rest), flagChunk(tx))
			if err := tx.Model(&response{}).Where("id IN ?", rest[:n]).Update("flags", int(f)).Error; err != nil {
				return fmt.Errorf("flag responses: %w", err)
			}
			rest = rest[n:]
		}
	}
	stale := tx.Where("project_id = ?", p.ID)
	if !all {
		stale = stale.Where("region_code IN ?", sc.regions)
	}
	if err := stale.Delete(&storedIndex{}).Error; err != nil {
		return fmt.Errorf("clear indices: %w", err)
	}
	at := now()
	for i, code := range sc.regions {
		body, err := json.Marshal(sc.indices[i])
		if err != nil {
			return fmt.Errorf("encode index: %w", err)
		}
		if err := tx.Create(&storedIndex{ProjectID: p.ID, RegionCode: code, Body: string(body), ComputedAt: at}).Error; err != nil {
			return fmt.Errorf("store index: %w", err)
		}
	}
	return nil
}

// readResponses appends to rs, ids and old the responses of a region in
// the valid batches, their ids and their stored flags; their answers are
// decoded into arena, and their respondent types kept once in types.
func readResponses(tx *gorm.DB, projectID, region string, valid []string, types map[string]string,
	rs []questionnaire.Response, ids []uint64, old []quality.Flags, arena []uint8) (
	[]questionnaire.Response, []uint64, []quality.Flags, []uint8, error) {
	rows, err := tx.Raw(selectResponses, projectID, region, valid).Rows()
	if err != nil {
		return rs, ids, old, arena, fmt.Errorf("read responses: %w", err)
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
			return rs, ids, old, arena, fmt.Errorf("read responses: %w", err)
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
		r := questionnaire.Response{Row: rowNo, Region: region, RespondentType: t, RespondentID: respondent,
			ContactHash: contact, Seconds: -1, Answers: a[:len(a):len(a)], Attention: uint8(att)}
		if seconds.Valid {
			r.Seconds = seconds.Float64
		}
		rs, ids, old = append(rs, r), append(ids, id), append(old, quality.Flags(flag))
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return rs, ids, old, arena, fmt.Errorf("read responses: %w", err)
	}
	return rs, ids, old, arena, nil
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
	ps, err := acceptedProjects(db, by, cycleID)
	if err != nil {
		return nil, err
	}
	out := []RegionIndex{}
	for _, p := range ps {
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

// acceptedProjects lists a cycle's accepted (or locked) projects, oldest
// first, for a caller who may read the cycle's survey results: admins
// always, city officials once the cycle is published.
func acceptedProjects(db *gorm.DB, by auth.Principal, cycleID string) ([]Project, error) {
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
	for i := range ps {
		if err := ps[i].decode(); err != nil {
			return nil, err
		}
	}
	return ps, nil
}
