package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ipeval/ipeval/internal/textenc"
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
//
// The mutex guards only the reporter's fields, never a database write: a
// write runs on its own goroutine from a snapshot, so that a handler calling
// Progress does not wait for the database (a write may take up to
// writeTimeout). At most one write is in flight; reports that arrive during
// it are folded into one follow-up write carrying the latest values.
type reporter struct {
	db      *gorm.DB
	id      string
	attempt int
	log     *slog.Logger
	lost    func()

	mu      sync.Mutex
	stopped bool
	percent int
	message string
	seq     uint64    // counts reports
	saved   uint64    // the seq of the last report written
	last    time.Time // when the last progress write began
	timer   *time.Timer
	writing bool // a write is in flight
	again   bool // write again when the one in flight is done
	writer  sync.WaitGroup
}

// report is the attempt's Progress: a write at once when the last one is a
// second old, otherwise one when the second is up, carrying the latest report.
func (r *reporter) report(percent int, message string) {
	percent = min(max(percent, 0), 100)
	message = textenc.Clip(message, maxMessage)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.percent, r.message = percent, message
	r.seq++
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
	if !r.stopped && r.seq != r.saved {
		r.writeLocked()
	}
}

// beat refreshes the heartbeat, with any pending progress. A write in
// flight refreshes it anyway, so a beat then adds nothing.
func (r *reporter) beat() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped && !r.writing {
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

// stop silences the reporter, waits for a write in flight, and returns the
// latest report, which the attempt's final write carries. Waiting keeps the
// writes of one attempt in order: no progress write lands after the final
// one (the row guard would refuse it, but would also mistake the refusal
// for a lost row).
func (r *reporter) stop() (percent int, message string) {
	r.mu.Lock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	percent, message = r.percent, r.message
	r.mu.Unlock()
	r.writer.Wait()
	return percent, message
}

// writeLocked starts a write, or, when one is in flight, asks it to write
// once more when done. r.mu must be held; the write itself runs without it.
func (r *reporter) writeLocked() {
	if r.writing {
		r.again = true
		return
	}
	r.writing = true
	r.writer.Add(1) // never after stop's Wait: stopped is set under r.mu first
	go r.writeLoop()
}

// writeLoop writes snapshots until no newer write was asked for.
func (r *reporter) writeLoop() {
	defer r.writer.Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	for !r.stopped {
		r.again = false
		seq, percent, message := r.seq, r.percent, r.message
		progress := seq != r.saved
		if progress {
			r.last = time.Now()
		}
		r.mu.Unlock()
		saved, gone := r.write(progress, percent, message)
		r.mu.Lock()
		if saved && progress {
			r.saved = max(r.saved, seq)
		}
		if gone && !r.stopped {
			r.stopped = true
			r.mu.Unlock()
			r.lost()
			r.mu.Lock()
			break
		}
		if !r.again {
			break
		}
	}
	r.writing = false
}

// write saves the heartbeat and, when progress is set, the given report.
// It reports whether the row took the write, and whether the row has moved
// on to another attempt or outcome.
func (r *reporter) write(progress bool, percent int, message string) (saved, gone bool) {
	t := now()
	cols := map[string]any{"heartbeat_at": t}
	if progress {
		cols["progress"], cols["message"], cols["updated_at"] = percent, message, t
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	res := ownRow(r.db.WithContext(ctx), r.id, r.attempt).UpdateColumns(cols)
	if res.Error != nil {
		r.log.Warn("job progress not saved", "job_id", r.id, "attempt", r.attempt, "err", res.Error)
		return false, false
	}
	if res.RowsAffected > 0 {
		return true, false
	}
	// MySQL counts changed rows, not matched ones: make sure the row
	// really has moved on before giving up.
	var n int64
	if err := ownRow(r.db.WithContext(ctx), r.id, r.attempt).Count(&n).Error; err != nil || n > 0 {
		return err == nil, false
	}
	return false, true
}

// ownRow scopes a query to the job's row while it belongs to the attempt.
func ownRow(db *gorm.DB, id string, attempt int) *gorm.DB {
	return db.Model(&Job{}).Where("id = ? AND status = ? AND attempts = ?", id, StatusRunning, attempt)
}
