package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
)

// TestProgressDoesNotWaitForTheDatabase holds every write to the jobs
// table while a handler reports progress often: the reports must all
// return while the writes are held (a report that waited for one would
// never return), and once the writes go through the job ends with the
// latest report. No clock is read: a report either waits or it does not.
func TestProgressDoesNotWaitForTheDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db, embeddedBroker(t))
		var held atomic.Bool
		release := make(chan struct{})
		var releaseOnce sync.Once
		letGo := func() { releaseOnce.Do(func() { close(release) }) }
		t.Cleanup(letGo) // a failed test must not leave the worker stuck
		if err := db.Callback().Update().Before("gorm:update").Register("test:held", func(*gorm.DB) {
			if held.Load() {
				<-release
			}
		}); err != nil {
			t.Fatal(err)
		}
		reported := make(chan struct{})
		h.reg.Register(kindEcho, func(_ context.Context, _ jobs.Job, progress jobs.Progress) (string, error) {
			held.Store(true)
			for i := range 150 { // a write at once, throttled ones, heartbeats
				progress(i*100/150, fmt.Sprintf("step %d", i))
				time.Sleep(2 * time.Millisecond)
			}
			progress(99, "last")
			close(reported)
			return "done", nil
		})
		h.startWorker()
		job := h.submit(kindEcho, nil)
		select {
		case <-reported:
		case <-time.After(time.Minute):
			t.Fatal("progress reports did not return while the database's writes were held: a report waits for a write")
		}
		held.Store(false)
		letGo()
		done := h.waitStatus(job.ID, jobs.StatusSucceeded)
		if done.Message != "last" || done.Progress != 100 {
			t.Errorf("finished job: progress %d, message %q; want 100, %q", done.Progress, done.Message, "last")
		}
	})
}
