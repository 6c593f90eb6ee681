package evaluation

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
)

// cannotSucceed marks an error of the engine on a snapshot as permanent:
// the same inputs fail the same way every time, so the job fails at once
// (asynq.SkipRetry) instead of being retried, and its Error says why. A
// cancelled or timed-out context is not the inputs' fault and is left to
// the job's retries.
func cannotSucceed(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	_, invalid := errors.AsType[*fault.ValidationError](err)
	_, detailed := errors.AsType[*fault.Detailed](err)
	if !invalid && !detailed {
		err = fmt.Errorf("%w: %w", fault.With(fault.ErrFailed,
			"the engine cannot score this cycle's inputs; the run is not retried (details are in the server log)",
			"评价引擎无法对本周期的数据计分，本次运行不再重试（详情见服务器日志）", nil), err)
	}
	return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
}

// maxFailures is how many failed run jobs of a cycle Failures returns.
const maxFailures = 10

// Failures returns the run jobs of a cycle that failed, newest first (at
// most maxFailures): a failed run stores no run, so the run list would
// not otherwise show that it was tried, nor why it failed. Each job's
// Error and Message carry the caller-safe reason. Only admins, who alone
// request runs, see them.
func (s *Store) Failures(ctx context.Context, by auth.Principal, cycleID string) ([]jobs.Job, error) {
	if !by.Is(auth.RoleAdmin) {
		return nil, forbidden()
	}
	// The payload is our own JSON of the cycle id; it is matched in Go, not
	// in SQL, and the scan is bounded.
	var failed []jobs.Job
	if err := s.db.WithContext(ctx).Where("kind = ? AND status = ?", JobKind, jobs.StatusFailed).
		Order("created_at DESC, id DESC").Limit(20 * maxFailures).Find(&failed).Error; err != nil {
		return nil, fmt.Errorf("list failed runs: %w", err)
	}
	out := []jobs.Job{}
	for _, j := range failed {
		var p payload
		if j.Decode(&p) == nil && p.CycleID == cycleID && len(out) < maxFailures {
			out = append(out, j)
		}
	}
	return out, nil
}

// Active returns the run job of a cycle that is queued or running, if
// any: one run at a time per cycle (Request), so there is at most one.
// Only admins, who alone request runs, see it.
func (s *Store) Active(ctx context.Context, by auth.Principal, cycleID string) (*jobs.Job, error) {
	if !by.Is(auth.RoleAdmin) {
		return nil, forbidden()
	}
	var open []jobs.Job
	if err := s.db.WithContext(ctx).Where("kind = ? AND status IN ?", JobKind, []jobs.Status{jobs.StatusQueued, jobs.StatusRunning}).
		Order("created_at DESC, id DESC").Limit(100).Find(&open).Error; err != nil {
		return nil, fmt.Errorf("list open runs: %w", err)
	}
	for _, j := range open {
		var p payload
		if j.Decode(&p) == nil && p.CycleID == cycleID {
			return &j, nil
		}
	}
	return nil, nil
}
