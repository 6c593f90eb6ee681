package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"
)

// Sweeper defaults.
const (
	DefaultSweepInterval = 30 * time.Second
	DefaultGrace         = time.Minute
	DefaultStaleAfter    = 2 * time.Minute
	sweepBatch           = 100
)

// Sweeper repairs what the broker lost, so that no job is lost with it.
// Every Interval it
//
//   - re-enqueues queued jobs older than Grace whose task the broker no
//     longer holds (a Redis restart without persistence, an Enqueue that
//     failed during an outage or was never called after SubmitTx);
//   - puts back to queued, and re-enqueues, running jobs whose heartbeat is
//     older than StaleAfter and whose task the broker no longer holds (the
//     broker lost it while a worker ran it, and the worker died). Such a job
//     that has already been started MaxRetry+1 times (its kind's) is failed
//     instead, so that a job that kills its worker cannot loop.
//
// A broker error ends the sweep; the next tick tries again. Any number of
// processes may sweep at once: every change is a guarded update and the
// broker refuses a second task with the same id.
//
// Set the exported fields before Run.
type Sweeper struct {
	Interval time.Duration
	// Grace is how old a queued job must be before the sweeper enqueues it:
	// time for the Enqueue that follows its insert.
	Grace time.Duration
	// StaleAfter is how old a running job's heartbeat must be before the
	// job counts as lost; keep it well above the workers' Heartbeat.
	StaleAfter time.Duration

	q         *Queue
	reg       *Registry
	closeOnce sync.Once
}

// NewSweeper returns a Sweeper of the jobs in db against the broker at
// redisOpt, sweeping every interval (≤ 0: DefaultSweepInterval). reg gives
// each kind's MaxRetry; log may be nil.
func NewSweeper(db *gorm.DB, redisOpt asynq.RedisConnOpt, reg *Registry, log *slog.Logger, interval time.Duration) *Sweeper {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	return &Sweeper{
		Interval: interval, Grace: DefaultGrace, StaleAfter: DefaultStaleAfter,
		q: NewQueue(db, redisOpt, log), reg: reg,
	}
}

// Close releases the sweeper's connection to the broker.
func (s *Sweeper) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.q.Close() })
	return err
}

// Run sweeps at once and then every Interval until ctx ends; then it
// closes the sweeper.
func (s *Sweeper) Run(ctx context.Context) {
	defer s.Close()
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		n, err := s.SweepOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.q.log.Warn("job sweep incomplete; retrying next tick", "err", err, "re_enqueued", n)
		case n > 0:
			s.q.log.Info("jobs re-enqueued", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepOnce makes one pass and returns how many jobs it handed to the
// broker again.
func (s *Sweeper) SweepOnce(ctx context.Context) (int, error) {
	t := now()
	db := s.q.db.WithContext(ctx)
	var queued, running []Job
	if err := db.Where("status = ? AND updated_at < ?", StatusQueued, t.Add(-s.Grace)).
		Order("updated_at").Limit(sweepBatch).Find(&queued).Error; err != nil {
		return 0, fmt.Errorf("find queued jobs: %w", err)
	}
	stale := t.Add(-s.StaleAfter)
	if err := db.Where("status = ? AND (heartbeat_at IS NULL OR heartbeat_at < ?)", StatusRunning, stale).
		Order("updated_at").Limit(sweepBatch).Find(&running).Error; err != nil {
		return 0, fmt.Errorf("find running jobs: %w", err)
	}
	n := 0
	for _, job := range append(queued, running...) {
		held, err := s.held(job)
		if err != nil {
			return n, err
		}
		if held {
			continue
		}
		ok, err := s.reclaim(ctx, job, stale)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		if err := s.q.enqueue(ctx, job); err != nil {
			return n, err
		}
		s.q.log.Info("job re-enqueued", "job_id", job.ID, "kind", job.Kind, "was", job.Status)
		n++
	}
	return n, nil
}

// held reports whether the broker holds a task for the job that will run.
// An archived or completed task does not count: it is deleted, to make room
// for a new one with the same id.
func (s *Sweeper) held(job Job) (bool, error) {
	info, err := s.q.inspector.GetTaskInfo(DefaultQueue, job.ID)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up task of job %s: %w", job.ID, err)
	}
	switch info.State {
	case asynq.TaskStateArchived, asynq.TaskStateCompleted:
		if err := s.q.inspector.DeleteTask(DefaultQueue, job.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete %s task of job %s: %w", info.State, job.ID, err)
		}
		return false, nil
	}
	return true, nil
}

// reclaim claims the job for re-enqueueing with a guarded update: a queued
// job's updated_at is touched (restarting its grace period), a stale running
// job goes back to queued — or to failed when it has used up its attempts.
// It reports false when the row changed meanwhile or the job failed.
func (s *Sweeper) reclaim(ctx context.Context, job Job, stale time.Time) (bool, error) {
	t := now()
	db := s.q.db.WithContext(ctx).Model(&Job{}).Where("id = ? AND status = ? AND attempts = ?", job.ID, job.Status, job.Attempts)
	cols := map[string]any{"updated_at": t}
	if job.Status == StatusRunning {
		db = db.Where("heartbeat_at IS NULL OR heartbeat_at < ?", stale)
		cols["status"], cols["progress"], cols["message"] = StatusQueued, 0, "worker lost; will resume"
		if maxRetry := s.reg.specOf(job.Kind).maxRetry; job.Attempts > maxRetry {
			msg := fmt.Sprintf("worker lost %d times; giving up", job.Attempts)
			cols["status"], cols["message"], cols["error"], cols["finished_at"] = StatusFailed, msg, msg, t
		}
	}
	res := db.UpdateColumns(cols)
	if res.Error != nil {
		return false, fmt.Errorf("reclaim job %s: %w", job.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	if cols["status"] == StatusFailed {
		s.q.log.Warn("job failed: its workers kept vanishing", "job_id", job.ID, "kind", job.Kind, "attempts", job.Attempts)
		return false, nil
	}
	return true, nil
}
