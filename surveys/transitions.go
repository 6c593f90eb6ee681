// A project's status moves: submission, return, acceptance (which writes the
// indices as the cycle's survey values) and locking.

package surveys

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
)

// Transition names a move of a project's status.
type Transition string

// The moves. Submit: open or returned → submitted (its contractor or an
// admin). Accept: submitted → accepted, which writes the indices as the
// cycle's survey-sourced values; Return: submitted → returned, with a
// reason; Lock: accepted → locked (admins).
const (
	Submit Transition = "submit"
	Accept Transition = "accept"
	Return Transition = "return"
	Lock   Transition = "lock"
)

// Acceptance reports what accepting a project wrote.
type Acceptance struct {
	// Indicators are the survey-sourced indicators that received values.
	Indicators []string `json:"indicators"`
	// Regions received a value; Skipped did not, with the reason.
	Regions []string          `json:"regions"`
	Skipped map[string]string `json:"skipped"`
}

// maxReason bounds a transition's reason, as its column does.
const maxReason = 1000

// Move applies a transition to a project. reason is required to return a
// project (the contractor reads it) and recorded for the others.
func (s *Store) Move(ctx context.Context, by auth.Principal, id string, t Transition, reason string) (Project, *Acceptance, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > maxReason {
		return Project{}, nil, fault.Invalid(fault.Field("reason", "too_long",
			fmt.Sprintf("理由不超过 %d 字", maxReason), fmt.Sprintf("the reason takes at most %d characters", maxReason)))
	}
	if fe := textguard.Check("reason", reason, textguard.Text); fe != nil {
		return Project{}, nil, fault.Invalid(*fe)
	}
	var p Project
	var acc *Acceptance
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if t == Accept {
			// Accepting writes the cycle's values: its lock comes first, as
			// for every value write, and before anything is read, so that
			// MySQL's snapshot of the cycle is taken under the lock.
			if err := tx.Exec("UPDATE cycles SET status = status WHERE id = (SELECT cycle_id FROM survey_projects WHERE id = ?)", id).Error; err != nil {
				return fmt.Errorf("lock cycle: %w", err)
			}
		}
		var err error
		if p, err = lockProject(tx, by, id); err != nil {
			return err
		}
		from := p.Status
		var to ProjectStatus
		switch t {
		case Submit:
			if !p.Submittable() {
				return projectConflict(p, "only an open or returned project is submitted", "只有进行中或被退回的项目可以提交")
			}
			if err := editable(tx, p); err != nil {
				return err
			}
			to = ProjectSubmitted
		case Accept, Return, Lock:
			if !by.Is(auth.RoleAdmin) {
				return forbidden()
			}
			switch {
			case t == Lock && from == ProjectAccepted:
				to = ProjectLocked
			case t == Accept && from == ProjectSubmitted:
				to = ProjectAccepted
			case t == Return && from == ProjectSubmitted:
				if reason == "" {
					return fault.Invalid(fault.Field("reason", "reason_required", "退回须说明理由", "a returned project needs a reason"))
				}
				to = ProjectReturned
			default:
				return projectConflict(p, fmt.Sprintf("cannot %s", t), fmt.Sprintf("当前状态不允许此操作（%s）", t))
			}
		default:
			return fault.Invalid(fault.Field("action", "unknown_action", "未知的操作："+string(t), "unknown action: "+string(t)))
		}
		if t == Submit || t == Accept {
			if err := readyForReview(tx, p); err != nil {
				return err
			}
		}
		if t == Accept {
			if acc, err = s.accept(tx, by, p); err != nil {
				return err
			}
		}
		p.Status, p.StatusReason, p.UpdatedAt = to, reason, now()
		return tx.Model(&Project{}).Where("id = ?", id).
			Updates(map[string]any{"status": to, "status_reason": reason, "updated_at": p.UpdatedAt}).Error
	})
	if err != nil {
		return Project{}, nil, err
	}
	return p, acc, nil
}

// readyForReview requires a project with data and nothing still queued or
// loading.
func readyForReview(tx *gorm.DB, p Project) error {
	var counts []struct {
		Status BatchStatus
		N      int
	}
	if err := tx.Model(&Batch{}).Select("status, COUNT(*) AS n").Where("project_id = ?", p.ID).
		Group("status").Scan(&counts).Error; err != nil {
		return fmt.Errorf("count batches: %w", err)
	}
	n := map[BatchStatus]int{}
	for _, c := range counts {
		n[c.Status] = c.N
	}
	if n[BatchQueued]+n[BatchLoading] > 0 {
		return projectConflict(p, "batches are still being read", "仍有上传批次正在处理")
	}
	if n[BatchValid] == 0 {
		return projectConflict(p, "the project has no valid batch", "项目尚无有效的上传批次")
	}
	return nil
}

// accept writes the project's indices as the cycle's survey-sourced
// values. A region whose index is missing or rests on too small a sample
// gets no value: the engine then treats it as missing data, which is
// visible, rather than scoring an unreliable number.
func (s *Store) accept(tx *gorm.DB, by auth.Principal, p Project) (*Acceptance, error) {
	sq, err := getQuestionnaire(tx, p.QuestionnaireID)
	if err != nil {
		return nil, err
	}
	idx, err := readIndices(tx, p)
	if err != nil {
		return nil, err
	}
	vals, acc := acceptanceValues(p, idx)
	codes, err := s.values.SetSurveyTx(tx, by, p.CycleID, sq.Code, vals)
	if err != nil {
		return nil, err
	}
	if len(codes) == 0 {
		// Checked when the project was made; the cycle's scheme changed since.
		return nil, fault.With(fault.ErrConflict, "the cycle's scheme takes no values from this questionnaire",
			"考核周期的评价方案没有取自本问卷的指标", nil)
	}
	acc.Indicators = codes
	return acc, nil
}

// acceptanceValues are the values accepting p writes from its indices
// idx, one per region, and the Acceptance naming the regions written and
// skipped (Indicators left for the writer to fill). Accepting and its
// preview share it.
func acceptanceValues(p Project, idx []RegionIndex) ([]indicators.SurveyValue, *Acceptance) {
	acc := &Acceptance{Regions: []string{}, Skipped: map[string]string{}}
	var vals []indicators.SurveyValue
	for _, ri := range idx {
		switch {
		case ri.Mean == nil:
			acc.Skipped[ri.RegionCode] = "no valid response"
		case ri.Insufficient:
			acc.Skipped[ri.RegionCode] = fmt.Sprintf("sample %d below the minimum %d", ri.N, ri.MinSample)
		default:
			acc.Regions = append(acc.Regions, ri.RegionCode)
			vals = append(vals, indicators.SurveyValue{RegionCode: ri.RegionCode, Number: round(*ri.Mean),
				CILower: round(*ri.CILow), CIUpper: round(*ri.CIHigh),
				Note: fmt.Sprintf("第三方满意度调查「%s」：有效样本 %d，95%%置信区间 [%.2f, %.2f]", p.Name, ri.N, *ri.CILow, *ri.CIHigh)})
		}
	}
	return vals, acc
}

// round keeps six decimals: an index is reported to two, and six keep
// the stored value independent of the last bits of a float sum.
func round(x float64) float64 {
	const k = 1e6
	if x < 0 {
		return -float64(int64(-x*k+0.5)) / k
	}
	return float64(int64(x*k+0.5)) / k
}
