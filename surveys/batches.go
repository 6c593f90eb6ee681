// Reads of batches, their report and template downloads, and withdrawal.

package surveys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// ListBatches returns a project's batches, newest first.
func (s *Store) ListBatches(ctx context.Context, by auth.Principal, projectID string) ([]Batch, error) {
	db := s.db.WithContext(ctx)
	if _, err := getProject(db, by, projectID); err != nil {
		return nil, err
	}
	var out []Batch
	if err := db.Omit("problems").Where("project_id = ?", projectID).Order("created_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	return out, nil
}

// BatchView is a batch with the first of its problems.
type BatchView struct {
	Batch
	Problems []fault.FieldError `json:"problems"`
	// Job is the ingestion job, for its progress.
	Job *jobs.Job `json:"job,omitempty"`
}

// problemsShown bounds the problems a batch view lists; the report has
// all that were kept.
const problemsShown = 100

// GetBatch returns a batch the caller may see, with its first problems and
// its job.
func (s *Store) GetBatch(ctx context.Context, by auth.Principal, id string) (BatchView, error) {
	b, problems, err := s.batch(ctx, by, id)
	if err != nil {
		return BatchView{}, err
	}
	v := BatchView{Batch: b, Problems: problems[:min(len(problems), problemsShown)]}
	if b.JobID != nil {
		if j, err := s.queue.Get(ctx, *b.JobID); err == nil {
			v.Job = &j
		}
	}
	return v, nil
}

// batch reads a batch and its kept problems, checking the caller may see
// its project.
func (s *Store) batch(ctx context.Context, by auth.Principal, id string) (Batch, []fault.FieldError, error) {
	db := s.db.WithContext(ctx)
	if !by.Is(auth.RoleAdmin, auth.RoleContractor) {
		return Batch{}, nil, forbidden()
	}
	var b Batch
	if err := db.Where("id = ?", id).Take(&b).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return b, nil, fmt.Errorf("batch %s: %w", id, fault.ErrNotFound)
		}
		return b, nil, fmt.Errorf("get batch: %w", err)
	}
	if _, err := getProject(db, by, b.ProjectID); err != nil {
		return Batch{}, nil, err
	}
	problems := []fault.FieldError{}
	if err := json.Unmarshal([]byte(b.Problems), &problems); err != nil {
		return b, nil, fmt.Errorf("decode problems of batch %s: %w", id, err)
	}
	return b, problems, nil
}

// Report writes a batch's validation report as CSV or XLSX.
func (s *Store) Report(ctx context.Context, by auth.Principal, id, format string, w io.Writer) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	_, problems, err := s.batch(ctx, by, id)
	if err != nil {
		return err
	}
	return responsefile.WriteReport(w, format, problems)
}

// Template writes an empty upload template for a project.
func (s *Store) Template(ctx context.Context, by auth.Principal, projectID, format string, w io.Writer) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	p, err := getProject(db, by, projectID)
	if err != nil {
		return err
	}
	sq, err := getQuestionnaire(db, p.QuestionnaireID)
	if err != nil {
		return err
	}
	var rs []regions.Region
	if err := db.Where("code IN ?", p.regionCodes()).Order("code").Find(&rs).Error; err != nil {
		return fmt.Errorf("list regions: %w", err)
	}
	list := make([]responsefile.Region, len(rs))
	for i, r := range rs {
		list[i] = responsefile.Region{Code: r.Code, Name: r.Name}
	}
	return responsefile.WriteTemplate(w, format, sq.Questionnaire, list)
}

// checkFormat refuses a download format other than CSV and XLSX.
func checkFormat(format string) error {
	if format == responsefile.FormatCSV || format == responsefile.FormatXLSX {
		return nil
	}
	return fault.Invalid(fault.Field("format", "unknown_format", "格式须为 csv 或 xlsx", "the format must be csv or xlsx"))
}

// Withdraw takes a batch back: its responses are deleted and the indices
// recomputed; the batch stays on record as withdrawn. Possible until the
// project is accepted.
func (s *Store) Withdraw(ctx context.Context, by auth.Principal, id string) (Batch, error) {
	var b Batch
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if !by.Is(auth.RoleAdmin, auth.RoleContractor) {
			return forbidden()
		}
		// The cycle's and the project's locks first (as lockProject), then
		// every read, so that on MySQL they see what was committed before
		// the lock.
		if err := lockCycleOf(tx, "SELECT cycle_id FROM survey_projects WHERE id = (SELECT project_id FROM survey_batches WHERE id = ?)", id); err != nil {
			return err
		}
		if err := tx.Exec("UPDATE survey_projects SET status = status WHERE id = (SELECT project_id FROM survey_batches WHERE id = ?)", id).Error; err != nil {
			return fmt.Errorf("lock survey project: %w", err)
		}
		if err := tx.Where("id = ?", id).Take(&b).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("batch %s: %w", id, fault.ErrNotFound)
			}
			return fmt.Errorf("get batch: %w", err)
		}
		p, err := getProject(tx, by, b.ProjectID)
		if err != nil {
			return err
		}
		if err := editable(tx, p); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Take(&b).Error; err != nil {
			return fmt.Errorf("get batch: %w", err)
		}
		switch b.Status {
		case BatchWithdrawn:
			return nil
		case BatchQueued, BatchLoading, BatchReplaced:
			return fault.With(fault.ErrConflict, fmt.Sprintf("a %s batch cannot be withdrawn", b.Status),
				fmt.Sprintf("批次状态为 %s，不能撤回", b.Status), map[string]any{"batch_status": b.Status})
		}
		wasValid := b.Status == BatchValid
		at := now()
		b.Status, b.WithdrawnAt, b.WithdrawnBy = BatchWithdrawn, &at, by.UserID
		if err := tx.Model(&Batch{}).Where("id = ?", id).Updates(map[string]any{"status": b.Status,
			"withdrawn_at": at, "withdrawn_by": by.UserID}).Error; err != nil {
			return fmt.Errorf("withdraw batch: %w", err)
		}
		if !wasValid {
			return nil
		}
		if err := tx.Where("batch_id = ?", id).Delete(&response{}).Error; err != nil {
			return fmt.Errorf("delete responses: %w", err)
		}
		sq, err := getQuestionnaire(tx, p.QuestionnaireID)
		if err != nil {
			return err
		}
		return recompute(tx, p, sq.Questionnaire, nil)
	})
	return b, err
}
