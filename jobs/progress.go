package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"
)

// progressEvery is the least time between two progress writes of a job.
const progressEvery = time.Second

// writeTimeout bounds one bookkeeping write to the jobs table.
const writeTimeout = 10 * time.Second

// reporter persists one attempt's progress and heartbeat. Writes are
// guarded by the attempt number, so an attempt that has been superseded (its
// row was handed to another attempt) cannot write, and learns of it: lost is
// called once, and the reporter goes quiet.
type reporter struct {
	db      *gorm.DB
	id      string
	attempt int
	log     *slog.Logger
	lost    func()

	mu      sync.Mutex
	stopped bool
	dirty   bool // a report not written yet
	percent int
	message string
	last    time.Time // of the last progress write
	timer   *time.Timer
}

// report is the attempt's Progress: a write at once when the last one is a
// second old, otherwise one when the second is up, carrying the latest report.
func (r *reporter) report(percent int, message string) {
	percent = min(max(percent, 0), 100)
	message = clip(message, maxMessage)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.percent, r.message, r.dirty = percent, message, true
	if wait := progressEvery - time.Since(r.last); wait > 0 {
		if r.timer == nil {
			r.timer = time.AfterFunc(wait, r.flush)
		}
		return
	}
	r.writeLocked()
}

func (r *reporter) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if !r.stopped && r.dirty {
		r.writeLocked()
	}
}

// beat refreshes the heartbeat, with any pending progress.
func (r *reporter) beat() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.writeLocked()
	}
}

// beatEvery calls beat every d until the returned stop is called.
func (r *reporter) beatEvery(d time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.beat()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// stop silences the reporter and returns the latest report, which the
// attempt's final write carries.
func (r *reporter) stop() (percent int, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	return r.percent, r.message
}

func (r *reporter) writeLocked() {
	t := now()
	cols := map[string]any{"heartbeat_at": t}
	if r.dirty {
		cols["progress"], cols["message"], cols["updated_at"] = r.percent, r.message, t
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	res := ownRow(r.db.WithContext(ctx), r.id, r.attempt).UpdateColumns(cols)
	if res.Error != nil {
		r.log.Warn("job progress not saved", "job_id", r.id, "attempt", r.attempt, "err", res.Error)
		return
	}
	if r.dirty {
		r.dirty, r.last = false, time.Now()
	}
	if res.RowsAffected > 0 {
		return
	}
	// MySQL counts changed rows, not matched ones: make sure the row
	// really has moved on before giving up.
	var n int64
	if err := ownRow(r.db.WithContext(ctx), r.id, r.attempt).Count(&n).Error; err != nil || n > 0 {
		return
	}
	r.stopped = true
	r.lost()
}

// ownRow scopes a query to the job's row while it belongs to the attempt.
func ownRow(db *gorm.DB, id string, attempt int) *gorm.DB {
	return db.Model(&Job{}).Where("id = ? AND status = ? AND attempts = ?", id, StatusRunning, attempt)
}
