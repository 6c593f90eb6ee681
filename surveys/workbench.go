// The assessment manager's side of surveys: what commissioning offers,
// how far each project is, and what accepting one would write.

package surveys

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
)

// Progress is how far a project's sample is: what the manager follows
// across projects.
type Progress struct {
	// Valid counts the valid respondents over the project's regions;
	// Target sums their targets.
	Valid, Target int
	// BelowMinimum counts the regions whose valid sample is below their
	// minimum, a region without data included.
	BelowMinimum int
	// Latest is the status of the project's newest batch, "" without one.
	Latest BatchStatus
}

// Progresses returns the progress of the given projects (admins), keyed
// by project id, in two queries however many projects there are.
func (s *Store) Progresses(ctx context.Context, by auth.Principal, ps []Project) (map[string]Progress, error) {
	if !by.Is(auth.RoleAdmin) {
		return nil, forbidden()
	}
	out := make(map[string]Progress, len(ps))
	if len(ps) == 0 {
		return out, nil
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	db := s.db.WithContext(ctx)
	var stored []storedIndex
	if err := db.Where("project_id IN ?", ids).Find(&stored).Error; err != nil {
		return nil, fmt.Errorf("read indices: %w", err)
	}
	type sample struct {
		N            int  `json:"n"`
		Insufficient bool `json:"insufficient"`
	}
	got := map[[2]string]sample{}
	for _, si := range stored {
		var sm sample
		if err := json.Unmarshal([]byte(si.Body), &sm); err != nil {
			return nil, fmt.Errorf("decode index: %w", err)
		}
		got[[2]string{si.ProjectID, si.RegionCode}] = sm
	}
	var batches []Batch
	if err := db.Select("project_id, status, created_at, id").Where("project_id IN ?", ids).
		Order("created_at, id").Find(&batches).Error; err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	latest := map[string]BatchStatus{}
	for _, b := range batches {
		latest[b.ProjectID] = b.Status
	}
	for _, p := range ps {
		pr := Progress{Latest: latest[p.ID]}
		for _, r := range p.Regions {
			pr.Target += r.Target
			sm, ok := got[[2]string{p.ID, r.Code}]
			pr.Valid += sm.N
			if !ok || sm.Insufficient {
				pr.BelowMinimum++
			}
		}
		out[p.ID] = pr
	}
	return out, nil
}

// Preview is what accepting a project would write now: a value per
// region and survey-sourced indicator, each with the value it replaces,
// and the regions that get none, with the reason.
type Preview struct {
	Writes  []indicators.SurveyWrite
	Names   map[string]string
	Skipped map[string]string
}

// AcceptPreview computes, without writing anything, what accepting the
// project writes into its cycle (admins): the same values Move(Accept)
// writes, from the same indices, as long as no batch changes in between.
func (s *Store) AcceptPreview(ctx context.Context, by auth.Principal, id string) (Preview, error) {
	if !by.Is(auth.RoleAdmin) {
		return Preview{}, forbidden()
	}
	db := s.db.WithContext(ctx)
	p, err := getProject(db, by, id)
	if err != nil {
		return Preview{}, err
	}
	sq, err := getQuestionnaire(db, p.QuestionnaireID)
	if err != nil {
		return Preview{}, err
	}
	idx, err := readIndices(db, p)
	if err != nil {
		return Preview{}, err
	}
	vals, acc := acceptanceValues(p, idx)
	writes, err := s.values.SurveyPreview(ctx, by, p.CycleID, sq.Code, vals)
	if err != nil {
		return Preview{}, err
	}
	names := make(map[string]string, len(idx))
	for _, ri := range idx {
		names[ri.RegionCode] = ri.RegionName
	}
	return Preview{Writes: writes, Names: names, Skipped: acc.Skipped}, nil
}
