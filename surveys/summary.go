package surveys

import (
	"context"
	"fmt"
	"time"

	"github.com/ipeval/ipeval/auth"
)

// ProjectSummary is a project as a list of projects shows it: with its
// questionnaire's name and version and how far its uploads are.
type ProjectSummary struct {
	Project
	QuestionnaireName    string `json:"questionnaire_name"`
	QuestionnaireVersion int    `json:"questionnaire_version"`
	// Batches counts the project's batches by status; a status without
	// batches is absent.
	Batches map[BatchStatus]int `json:"batches"`
	// Responses is the number of rows of its valid batches: what its
	// indices are computed from.
	Responses int `json:"responses"`
}

// Summaries returns the projects the caller may see, as ListProjects does,
// each with its counts. It reads them in three queries however many
// projects there are, so that a list page stays cheap.
func (s *Store) Summaries(ctx context.Context, by auth.Principal, cycleID string) ([]ProjectSummary, error) {
	ps, err := s.ListProjects(ctx, by, cycleID)
	if err != nil || len(ps) == 0 {
		return []ProjectSummary{}, err
	}
	ids := make([]string, len(ps))
	qids := make([]string, 0, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
		qids = append(qids, p.QuestionnaireID)
	}
	db := s.db.WithContext(ctx)
	var counts []struct {
		ProjectID string
		Status    BatchStatus
		N         int
		ValidRows int
	}
	if err := db.Model(&Batch{}).Select("project_id, status, COUNT(*) AS n, COALESCE(SUM(valid_rows), 0) AS valid_rows").
		Where("project_id IN ?", ids).Group("project_id, status").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("count batches: %w", err)
	}
	var qs []StoredQuestionnaire
	if err := db.Omit("body").Where("id IN ?", qids).Find(&qs).Error; err != nil {
		return nil, fmt.Errorf("list questionnaires: %w", err)
	}
	out := make([]ProjectSummary, len(ps))
	at := make(map[string]*ProjectSummary, len(ps))
	for i, p := range ps {
		out[i] = ProjectSummary{Project: p, Batches: map[BatchStatus]int{}}
		at[p.ID] = &out[i]
	}
	for _, c := range counts {
		sum := at[c.ProjectID]
		sum.Batches[c.Status] = c.N
		if c.Status == BatchValid {
			sum.Responses = c.ValidRows
		}
	}
	byID := make(map[string]StoredQuestionnaire, len(qs))
	for _, q := range qs {
		byID[q.ID] = q
	}
	for i := range out {
		q := byID[out[i].QuestionnaireID]
		out[i].QuestionnaireName, out[i].QuestionnaireVersion = q.Name, q.Version
	}
	return out, nil
}

// Day writes an instant as the calendar day it falls on in China time:
// how fieldwork dates are given, and so how they are shown.
func Day(t time.Time) string { return t.In(china()).Format(dateLayout) }
