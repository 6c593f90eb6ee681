package evaluation_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
)

// TestProbe03RunOutsideItsScoringPeriod: a run job that runs after its
// cycle went back to collecting and scored again stores nothing and fails
// once, with its reason; a run stored before the reopening cannot be
// published in the new period; a run of the current period can.
func TestProbe03RunOutsideItsScoringPeriod(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		old := f.run(t)
		job, err := f.runs.Request(ctx, f.admin, f.cycle, evaluation.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		f.transition(t, cycles.Collecting)
		f.transition(t, cycles.Scoring)

		reg := jobs.NewRegistry()
		reg.Register(evaluation.JobKind, f.runs.Handler(), jobs.MaxRetry(3))
		w := jobs.NewWorker(db, f.redis, reg, 1, nil)
		w.PollInterval, w.RetryDelay = 50*time.Millisecond, func(int) time.Duration { return 10 * time.Millisecond }
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Shutdown)
		got := waitDone(t, f.queue, job.ID)
		if got.Status != jobs.StatusFailed || got.Attempts != 1 || !strings.Contains(got.Error, "scoring period") {
			t.Fatalf("job run after the reopening: %s after %d attempts, error %q; want failed once, saying why", got.Status, got.Attempts, got.Error)
		}
		// The test runs the next job itself (f.run): a worker still
		// polling would take it too, and the two would store one run twice.
		w.Shutdown()
		list, err := f.runs.List(ctx, f.admin, f.cycle)
		if err != nil || len(list) != 1 || list[0].ID != old.ID {
			t.Fatalf("runs %+v (%v), want only the run of the first period", list, err)
		}

		if _, err := f.runs.Publish(ctx, f.admin, old.ID); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("publishing a run of an earlier scoring period: %v, want a conflict", err)
		}
		if c, err := f.cycles.Get(ctx, f.cycle); err != nil || c.Status != cycles.Scoring {
			t.Fatalf("cycle %s (%v) after the refused publication, want scoring", c.Status, err)
		}
		cur := f.run(t)
		if _, err := f.runs.Publish(ctx, f.admin, cur.ID); err != nil {
			t.Fatalf("publishing a run of the current period: %v", err)
		}
	})
}

// TestProbe03RunWithoutScheme: a cycle without a scheme cannot leave
// draft, and a run of one that scores without a scheme (data from before
// the guard) is refused, no job queued.
func TestProbe03RunWithoutScheme(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		bare, err := f.cycles.Create(ctx, cycles.Input{Year: 2030})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.cycles.Transition(ctx, bare.ID, cycles.Collecting); !errors.Is(err, fault.ErrConflict) || !strings.Contains(err.Error(), "scheme") {
			t.Fatalf("draft → collecting without a scheme: %v, want a conflict naming the scheme", err)
		}
		if err := db.Model(&cycles.Cycle{}).Where("id = ?", bare.ID).Update("status", cycles.Scoring).Error; err != nil {
			t.Fatal(err)
		}
		if job, err := f.runs.Request(ctx, f.admin, bare.ID, evaluation.Settings{}); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("run of a cycle without a scheme: job %s, %v; want a conflict", job.ID, err)
		}
		var n int64
		if err := db.Model(&jobs.Job{}).Where("kind = ?", evaluation.JobKind).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("%d run jobs (%v), want none", n, err)
		}
	})
}

// waitDone waits for a job to finish.
func waitDone(tb testing.TB, q *jobs.Queue, id string) jobs.Job {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := q.Get(context.Background(), id)
		if err != nil {
			tb.Fatal(err)
		}
		if got.Done() {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("job %s still %s", id, got.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
