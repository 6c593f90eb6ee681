package runs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/ipeval/ipeval/internal/fault"
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
