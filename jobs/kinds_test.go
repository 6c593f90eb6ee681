package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ipeval/ipeval/jobs"
)

// TestFormerKindsStillRun enqueues tasks as a version of ipeval from before
// the kinds were named "domain:action" did — a task whose type is the old
// name, its job id as task id — and checks that a worker registering the
// kind under its new name runs them: with the job row renamed by migration
// 0010, and with a row still of the old name, as a process of the older
// version records it. List finds such jobs by either name.
func TestFormerKindsStillRun(t *testing.T) {
	const oldKind, newKind = "evaluation.run", "evaluation:run"
	eachBroker(t, func(t *testing.T, b *testBroker) {
		h := newHarness(t, nil, b)
		h.reg.Register(newKind, func(_ context.Context, job jobs.Job, _ jobs.Progress) (string, error) {
			return "ran " + job.ID, nil
		})
		h.startWorker()
		client := asynq.NewClient(b.opt)
		t.Cleanup(func() { _ = client.Close() })

		for _, rowKind := range []string{newKind, oldKind} {
			t.Run("row "+rowKind, func(t *testing.T) {
				now := time.Now().UTC()
				job := jobs.Job{ID: "old-task-" + rowKind, Kind: rowKind, Payload: "{}", Status: jobs.StatusQueued, CreatedAt: now, UpdatedAt: now}
				if err := h.db.Create(&job).Error; err != nil {
					t.Fatal(err)
				}
				task := asynq.NewTask(oldKind, []byte(job.Payload))
				if _, err := client.Enqueue(task, asynq.TaskID(job.ID), asynq.Queue(jobs.DefaultQueue)); err != nil {
					t.Fatalf("enqueue a task of type %s: %v", oldKind, err)
				}
				done := h.waitStatus(job.ID, jobs.StatusSucceeded)
				if done.Result != "ran "+job.ID || done.Attempts != 1 {
					t.Errorf("job = %+v, want it run once by the %s handler", done, newKind)
				}
			})
		}
		for _, kind := range []string{newKind, oldKind} {
			got, err := h.q.List(context.Background(), jobs.Filter{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Errorf("List(kind %s) = %d jobs, want both, under either name", kind, len(got))
			}
		}
	})
}
