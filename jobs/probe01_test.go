package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
)

// TestProbe01SkipRetryFailsOnce: a handler error that wraps
// asynq.SkipRetry, with or without a caller-safe reason, fails the job at
// its first attempt although its kind allows retries; a sweep does not
// bring it back; the job shows why (its own reason, or that it is not
// retried), in both broker modes.
func TestProbe01SkipRetryFailsOnce(t *testing.T) {
	eachBroker(t, func(t *testing.T, b *testBroker) {
		h := newHarness(t, nil, b)
		var calls counter
		reason := fault.With(fault.ErrFailed, "results cannot be encoded", "结果无法编码", nil)
		tests := []struct {
			kind           string
			err            error
			error, message string // substrings of the job's Error and Message
		}{
			{"skip:reason", fmt.Errorf("encode results: %w: %w", reason, asynq.SkipRetry), "results cannot be encoded", "结果无法编码"},
			{"skip:plain", fmt.Errorf("cycle left scoring: %w", asynq.SkipRetry), "not retried", "不再重试"},
		}
		for _, tt := range tests {
			h.reg.Register(tt.kind, func(_ context.Context, job jobs.Job, _ jobs.Progress) (string, error) {
				calls.add(job.ID)
				return "", tt.err
			}, jobs.MaxRetry(5))
		}
		h.startWorker()
		for _, tt := range tests {
			t.Run(tt.kind, func(t *testing.T) {
				id := h.submit(tt.kind, nil).ID
				job := h.waitStatus(id, jobs.StatusFailed)
				if _, err := h.sweeper().SweepOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond) // time for a retry, were one due
				job = h.waitStatus(id, jobs.StatusFailed)
				if job.Attempts != 1 || calls.get(id) != 1 {
					t.Errorf("%d attempts, %d calls; want 1", job.Attempts, calls.get(id))
				}
				if !strings.Contains(job.Error, tt.error) || !strings.Contains(job.Message, tt.message) {
					t.Errorf("error %q, message %q; want %q and %q", job.Error, job.Message, tt.error, tt.message)
				}
				if s := h.taskState(id); s != "" && s != "archived" {
					t.Errorf("task %s, want archived or gone", s)
				}
			})
		}
	})
}
