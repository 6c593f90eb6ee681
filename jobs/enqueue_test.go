package jobs_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
)

// TestEnqueueFailureLogged pins what the stores that ignore Enqueue's
// error after committing a job (evaluation.Store.Publish, reports.Store,
// surveys) rely on: a broker that is down is logged, with the job, by the
// queue itself, and the job stays queued for the sweeper.
func TestEnqueueFailureLogged(t *testing.T) {
	db := dbtest.New(t)
	logs := &lockedBuffer{}
	q := jobs.NewQueue(db, asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(func() { _ = q.Close() })
	job, err := q.SubmitTx(db, "test.enqueue", map[string]string{"x": "y"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(context.Background(), job); err == nil {
		t.Fatal("enqueueing on a broker that is down succeeded")
	}
	if got := logs.String(); !strings.Contains(got, "job not enqueued") || !strings.Contains(got, "job_id="+job.ID) {
		t.Fatalf("log %q, want the failed enqueue of job %s", got, job.ID)
	}
	if j, err := q.Get(context.Background(), job.ID); err != nil || j.Status != jobs.StatusQueued {
		t.Fatalf("job %+v, %v; want it still queued for the sweeper", j, err)
	}
}
