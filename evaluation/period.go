package evaluation

import (
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
)

// ErrPeriodChanged means the cycle is no longer in the scoring period a run
// was requested in: it went back to collecting (and perhaps scored again)
// or was published meanwhile. The run is not stored and never will be, so
// a job that meets it fails at once (it wraps asynq.SkipRetry) with its
// reason.
var ErrPeriodChanged = errors.New("the cycle left the scoring period of the run")

// lockCycle takes the cycle's row lock (the database's write lock on
// SQLite) with a no-op update, before anything is read, and reads the
// cycle: a transition waits until the caller's transaction ends, so what
// is read stays true until then.
func lockCycle(tx *gorm.DB, cycleID string) (cycles.Cycle, error) {
	var c cycles.Cycle
	if err := tx.Exec("UPDATE cycles SET status = status WHERE id = ?", cycleID).Error; err != nil {
		return c, fmt.Errorf("lock cycle: %w", err)
	}
	if err := tx.Where("id = ?", cycleID).Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return c, fmt.Errorf("cycle %s: %w", cycleID, fault.ErrNotFound)
		}
		return c, fmt.Errorf("get cycle: %w", err)
	}
	return c, nil
}

// scorable refuses a run of a cycle that is not scoring or has no scheme.
func scorable(c cycles.Cycle) error {
	if c.Status != cycles.Scoring {
		return fault.With(fault.ErrConflict, fmt.Sprintf("a cycle is evaluated while scoring; it is %s", c.Status),
			fmt.Sprintf("考核周期须处于评分阶段才能运行评价（当前状态：%s）", c.Status), map[string]any{"cycle_status": c.Status})
	}
	if c.SchemeID == nil {
		return fault.With(fault.ErrConflict, "the cycle has no scheme to be evaluated with",
			"考核周期尚未指定评价方案，不能运行评价", map[string]any{"missing": "scheme_id"})
	}
	return nil
}

// inPeriod checks that c is still scoring in period, the scoring period a
// run was requested in. Otherwise the error, caller-safe and in both
// languages, wraps ErrPeriodChanged and asynq.SkipRetry.
func inPeriod(c cycles.Cycle, period int) error {
	if c.Status == cycles.Scoring && c.ScoringPeriod == period {
		return nil
	}
	d := fault.With(fault.ErrConflict,
		fmt.Sprintf("the cycle left the scoring period this run was requested in (it is %s, period %d; the run's period %d): request a new run",
			c.Status, c.ScoringPeriod, period),
		fmt.Sprintf("考核周期已离开本次评价请求时的评分阶段（当前状态：%s，第 %d 次评分；本次评价属第 %d 次）：请重新运行评价",
			c.Status, c.ScoringPeriod, period),
		map[string]any{"cycle_status": c.Status, "scoring_period": c.ScoringPeriod, "run_scoring_period": period})
	return fmt.Errorf("%w (%w, %w)", d, ErrPeriodChanged, asynq.SkipRetry)
}

// store writes a run in one transaction with the check that its cycle is
// still in the run's scoring period, under the cycle's lock, so that no
// transition slips in between the check and the write.
func storeRun(tx *gorm.DB, run *Run) error {
	return tx.Transaction(func(tx *gorm.DB) error {
		c, err := lockCycle(tx, run.CycleID)
		if err != nil {
			return err
		}
		if err := inPeriod(c, run.ScoringPeriod); err != nil {
			return err
		}
		if err := tx.Create(run).Error; err != nil {
			return fmt.Errorf("store run: %w", err)
		}
		return nil
	})
}

// unpublishable explains, within the publishing transaction, why run r
// could not be published: its cycle is not scoring, or is scoring in a
// later period than the run's.
func unpublishable(tx *gorm.DB, r Run) error {
	var c cycles.Cycle
	if err := tx.Where("id = ?", r.CycleID).Take(&c).Error; err != nil {
		return fmt.Errorf("get cycle: %w", err)
	}
	if c.Status == cycles.Scoring {
		return fault.With(fault.ErrConflict,
			fmt.Sprintf("the run was computed in an earlier scoring period of the cycle (period %d, now %d): publish a run of the current period",
				r.ScoringPeriod, c.ScoringPeriod),
			fmt.Sprintf("该评价结果属于考核周期此前的评分阶段（第 %d 次评分，当前为第 %d 次），请发布本阶段的评价结果",
				r.ScoringPeriod, c.ScoringPeriod),
			map[string]any{"scoring_period": c.ScoringPeriod, "run_scoring_period": r.ScoringPeriod})
	}
	return fault.With(fault.ErrConflict, "a run is published while its cycle is scoring",
		"考核周期须处于评分阶段才能发布评价结果", map[string]any{"cycle_status": c.Status})
}
