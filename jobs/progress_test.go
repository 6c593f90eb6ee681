package jobs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
)

// TestProgressDoesNotWaitForTheDatabase makes every write slow while a
// handler reports progress often: no report may wait for a write, and the
// job still ends with the latest report.
func TestProgressDoesNotWaitForTheDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db, embeddedBroker(t))
		const delay = 400 * time.Millisecond
		var slow atomic.Bool
		if err := db.Callback().Update().Before("gorm:update").Register("test:slow", func(*gorm.DB) {
			if slow.Load() {
				time.Sleep(delay)
			}
		}); err != nil {
			t.Fatal(err)
		}
		longest := make(chan time.Duration, 1)
		h.reg.Register(kindEcho, func(_ context.Context, _ jobs.Job, progress jobs.Progress) (string, error) {
			slow.Store(true)
			defer slow.Store(false)
			var worst time.Duration
			for i := range 150 { // 1.5 s: a write at once, throttled ones, heartbeats
				begun := time.Now()
				progress(i*100/150, fmt.Sprintf("step %d", i))
				worst = max(worst, time.Since(begun))
				time.Sleep(10 * time.Millisecond)
			}
			progress(99, "last")
			longest <- worst
			return "done", nil
		})
		h.startWorker()
		job := h.submit(kindEcho, nil)
		done := h.waitStatus(job.ID, jobs.StatusSucceeded)
		if worst := <-longest; worst > delay/4 {
			t.Errorf("a progress report took %v with writes taking %v", worst, delay)
		}
		if done.Message != "last" || done.Progress != 100 {
			t.Errorf("finished job: progress %d, message %q; want 100, %q", done.Progress, done.Message, "last")
		}
	})
}
