package surveys

import (
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
)

// lockCycleOf takes the row lock of the cycle that the subquery sub (with
// its argument) names, with a no-op update, before anything is read: a
// transition of the cycle then waits for the caller's transaction, and
// the caller's for a transition, so that what editable reads stays true
// until the caller commits. Every write that locks a cycle and a project
// takes the cycle first, as value writes and acceptance do.
func lockCycleOf(tx *gorm.DB, sub string, arg any) error {
	if err := tx.Exec("UPDATE cycles SET status = status WHERE id = ("+sub+")", arg).Error; err != nil {
		return fmt.Errorf("lock cycle: %w", err)
	}
	return nil
}

// editable refuses a change of a project's survey data — an upload, its
// reading, a withdrawal, a submission, a new mapping — unless the project
// still takes them (uploadable) and its cycle is collecting: survey batches,
// like indicator data, are editable only while collecting (DESIGN.md §3),
// so that what a run scores or a publication shows cannot change under it.
// Within a transaction the caller holds the cycle's lock (lockCycleOf).
func editable(db *gorm.DB, p Project) error {
	if err := uploadable(p); err != nil {
		return err
	}
	var c cycles.Cycle
	if err := db.Select("status").Where("id = ?", p.CycleID).Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("cycle %s: %w", p.CycleID, fault.ErrNotFound)
		}
		return fmt.Errorf("get cycle: %w", err)
	}
	if c.Status != cycles.Collecting {
		return fault.With(fault.ErrConflict,
			fmt.Sprintf("survey data can change only while the cycle is collecting; it is %s", c.Status),
			fmt.Sprintf("考核周期不在数据填报阶段（当前状态：%s），调查数据不能再上传、撤回或提交", c.Status),
			map[string]any{"cycle_status": c.Status})
	}
	return nil
}
