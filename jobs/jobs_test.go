package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
)

const kindEcho = "test:echo"

type echoPayload struct {
	Name string `json:"name"`
}

func TestSubmitRunsToSuccess(t *testing.T) {
	eachBroker(t, func(t *testing.T, b *testBroker) {
		dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
			h := newHarness(t, db, b)
			release := make(chan struct{})
			h.reg.Register(kindEcho, func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
				var p echoPayload
				if err := job.Decode(&p); err != nil {
					return "", err
				}
				progress(40, "halfway")
				select {
				case <-release:
				case <-ctx.Done():
					return "", ctx.Err()
				}
				progress(90, "almost")
				return "hello " + p.Name, nil
			}, jobs.MaxRetry(1), jobs.Timeout(time.Minute))
			h.startWorker()

			job := h.submit(kindEcho, echoPayload{Name: "shanxi"})
			if job.Status != jobs.StatusQueued || job.Attempts != 0 || job.ID == "" || job.CreatedBy != nil {
				t.Fatalf("submitted job = %+v, want a queued job with an id", job)
			}
			if job.Payload != `{"name":"shanxi"}` {
				t.Errorf("payload = %s", job.Payload)
			}

			mid := h.wait(job.ID, "halfway", func(j jobs.Job) bool { return j.Progress == 40 })
			if mid.Status != jobs.StatusRunning || mid.Message != "halfway" || mid.Attempts != 1 || mid.StartedAt == nil || mid.HeartbeatAt == nil {
				t.Errorf("mid-run job = %+v", mid)
			}
			close(release)

			done := h.waitStatus(job.ID, jobs.StatusSucceeded)
			if done.Result != "hello shanxi" || done.Progress != 100 || done.Attempts != 1 || done.Error != "" || done.FinishedAt == nil || !done.Done() {
				t.Errorf("finished job = %+v", done)
			}
			if done.Message != "almost" {
				t.Errorf("message = %q, want the final report %q", done.Message, "almost")
			}
			if done.FinishedAt.Before(*done.StartedAt) || done.StartedAt.Before(done.CreatedAt) {
				t.Errorf("timestamps out of order: created %v started %v finished %v", done.CreatedAt, done.StartedAt, done.FinishedAt)
			}
			ctx := context.Background()
			if err := jobs.Ping(ctx, b.opt); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if err := h.q.Ping(ctx); err != nil {
				t.Errorf("Queue.Ping: %v", err)
			}
			eventually(t, 5*time.Second, "task gone", func() bool { return h.taskState(job.ID) == "" })
		})
	})
}

func TestFinishedJobDeliveredAgainDoesNothing(t *testing.T) {
	eachBroker(t, func(t *testing.T, b *testBroker) {
		h := newHarness(t, nil, b)
		var calls counter
		h.reg.Register(kindEcho, func(_ context.Context, job jobs.Job, _ jobs.Progress) (string, error) {
			calls.add(job.ID)
			var p echoPayload
			if err := job.Decode(&p); err != nil {
				return "", err
			}
			if p.Name == "bad" {
				return "", fmt.Errorf("refused: %w", asynq.SkipRetry)
			}
			return "ok", nil
		})
		h.startWorker()
		tests := []struct {
			name string
			want jobs.Status
		}{
			{"good", jobs.StatusSucceeded},
			{"bad", jobs.StatusFailed},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				job := h.submit(kindEcho, echoPayload{Name: tt.name})
				first := h.waitStatus(job.ID, tt.want)
				eventually(t, 5*time.Second, "first task gone", func() bool {
					s := h.taskState(job.ID)
					return s == "" || s == "archived"
				})
				if h.taskState(job.ID) == "archived" { // a failed job leaves its task archived
					in := asynq.NewInspector(b.opt)
					defer in.Close()
					if err := in.DeleteTask(jobs.DefaultQueue, job.ID); err != nil {
						t.Fatal(err)
					}
				}

				if err := h.q.Enqueue(context.Background(), first); err != nil {
					t.Fatalf("re-enqueue: %v", err)
				}
				eventually(t, 5*time.Second, "duplicate processed", func() bool { return h.taskState(job.ID) == "" })
				if n := calls.get(job.ID); n != 1 {
					t.Errorf("handler called %d times, want 1", n)
				}
				again, err := h.q.Get(context.Background(), job.ID)
				if err != nil {
					t.Fatal(err)
				}
				if again.Status != first.Status || again.Attempts != first.Attempts || !again.UpdatedAt.Equal(first.UpdatedAt) {
					t.Errorf("job changed by a duplicate delivery:\n got %+v\nwant %+v", again, first)
				}
			})
		}
	})
}

func TestRetries(t *testing.T) {
	eachBroker(t, func(t *testing.T, b *testBroker) {
		h := newHarness(t, nil, b)
		var calls counter
		tests := []struct {
			kind     string
			handler  func(attempt int, job jobs.Job) (string, error)
			opts     []jobs.Option
			want     jobs.Status
			attempts int
			errText  string
		}{
			{
				kind: "retry:once",
				handler: func(n int, _ jobs.Job) (string, error) {
					if n == 1 {
						return "", failing(n)
					}
					return "second time lucky", nil
				},
				want: jobs.StatusSucceeded, attempts: 2,
			},
			{
				kind:    "retry:skip",
				handler: func(int, jobs.Job) (string, error) { return "", fmt.Errorf("region unknown: %w", asynq.SkipRetry) },
				want:    jobs.StatusFailed, attempts: 1, errText: serverLog,
			},
			{
				kind: "retry:undecodable",
				handler: func(_ int, job jobs.Job) (string, error) {
					var p struct{ Name int }
					return "", job.Decode(&p)
				},
				want: jobs.StatusFailed, attempts: 1, errText: serverLog,
			},
			{
				kind:    "retry:exhausted",
				handler: func(n int, _ jobs.Job) (string, error) { return "", failing(n) },
				opts:    []jobs.Option{jobs.MaxRetry(2)},
				want:    jobs.StatusFailed, attempts: 3, errText: serverLog,
			},
			{
				kind:    "retry:never",
				handler: func(n int, _ jobs.Job) (string, error) { return "", failing(n) },
				opts:    []jobs.Option{jobs.MaxRetry(0)},
				want:    jobs.StatusFailed, attempts: 1, errText: serverLog,
			},
			{
				kind: "retry:panic",
				handler: func(n int, _ jobs.Job) (string, error) {
					if n == 1 {
						panic("nil map")
					}
					return "recovered", nil
				},
				want: jobs.StatusSucceeded, attempts: 2,
			},
			{
				kind:    "retry:timeout-once",
				handler: nil, // registered below: blocks until its ctx ends on the first attempt
				opts:    []jobs.Option{jobs.Timeout(200 * time.Millisecond)},
				want:    jobs.StatusSucceeded, attempts: 2,
			},
			{
				kind:     "retry:unregistered", // no worker knows it: retried, then failed
				want:     jobs.StatusFailed,
				attempts: jobs.DefaultMaxRetry + 1, errText: `no handler registered for kind "retry:unregistered"`,
			},
			{
				kind:    "retry:panic-always",
				handler: func(int, jobs.Job) (string, error) { panic("always") },
				opts:    []jobs.Option{jobs.MaxRetry(1)},
				want:    jobs.StatusFailed, attempts: 2, errText: serverLog,
			},
		}
		for _, tt := range tests {
			switch tt.kind {
			case "retry:unregistered":
			case "retry:timeout-once":
				h.reg.Register(tt.kind, func(ctx context.Context, job jobs.Job, _ jobs.Progress) (string, error) {
					if calls.add(job.ID) == 1 {
						<-ctx.Done()
						return "", ctx.Err()
					}
					return "in time", nil
				}, tt.opts...)
			default:
				h.reg.Register(tt.kind, func(_ context.Context, job jobs.Job, _ jobs.Progress) (string, error) {
					return tt.handler(calls.add(job.ID), job)
				}, tt.opts...)
			}
		}
		h.startWorker()
		ids := make([]string, len(tests))
		for i, tt := range tests {
			ids[i] = h.submit(tt.kind, echoPayload{Name: "x"}).ID
		}
		for i, tt := range tests {
			t.Run(tt.kind, func(t *testing.T) {
				job := h.wait(ids[i], string(tt.want), jobs.Job.Done)
				wantCalls := tt.attempts
				if tt.kind == "retry:unregistered" {
					wantCalls = 0
				}
				if job.Status != tt.want || job.Attempts != tt.attempts || calls.get(job.ID) != wantCalls {
					t.Errorf("status %s after %d attempts (%d calls), want %s after %d", job.Status, job.Attempts, calls.get(job.ID), tt.want, tt.attempts)
				}
				if !strings.Contains(job.Error, tt.errText) || (tt.errText == "") != (job.Error == "") {
					t.Errorf("error = %q, want it to contain %q", job.Error, tt.errText)
				}
				if job.Status == jobs.StatusFailed && job.FinishedAt == nil {
					t.Error("failed job without finished_at")
				}
			})
		}
	})
}

// TestBrokerOutage stops the broker, submits while it is down, brings it
// back empty and expects the sweeper to get the job run exactly once.
func TestBrokerOutage(t *testing.T) {
	eachStoppableBroker(t, func(t *testing.T, b *testBroker) {
		h := newHarness(t, nil, b)
		var calls counter
		h.reg.Register(kindEcho, func(_ context.Context, job jobs.Job, _ jobs.Progress) (string, error) {
			calls.add(job.ID)
			return "ran", nil
		})
		h.startWorker()
		ctx := context.Background()
		// The worker is connected before the outage and must reconnect.
		h.waitStatus(h.submit(kindEcho, echoPayload{Name: "before"}).ID, jobs.StatusSucceeded)

		b.stop()
		if err := jobs.Ping(ctx, b.opt); !errors.Is(err, fault.ErrUnavailable) {
			t.Fatalf("Ping with the broker down: %v, want ErrUnavailable", err)
		}
		if err := h.q.Ping(ctx); !errors.Is(err, fault.ErrUnavailable) {
			t.Fatalf("Queue.Ping with the broker down: %v, want ErrUnavailable", err)
		}
		begun := time.Now()
		job, err := h.q.Submit(ctx, kindEcho, echoPayload{Name: "outage"}, "")
		if err != nil {
			t.Fatalf("Submit with the broker down: %v", err)
		}
		if took := time.Since(begun); took > 5*time.Second {
			t.Errorf("Submit with the broker down took %v", took)
		}
		if job.Status != jobs.StatusQueued {
			t.Fatalf("status %s, want queued", job.Status)
		}
		sw := h.sweeper()
		if _, err := sw.SweepOnce(ctx); err == nil {
			t.Error("SweepOnce with the broker down: no error")
		}

		b.restart()
		eventually(t, 10*time.Second, "sweeper re-enqueues", func() bool {
			n, err := sw.SweepOnce(ctx)
			if n > 1 {
				t.Fatalf("re-enqueued %d jobs, want 1", n)
			}
			return err == nil && n == 1
		})
		done := h.waitStatus(job.ID, jobs.StatusSucceeded)
		if done.Attempts != 1 || calls.get(job.ID) != 1 {
			t.Errorf("attempts %d, calls %d; want the job run exactly once", done.Attempts, calls.get(job.ID))
		}
		if n, err := sw.SweepOnce(ctx); n != 0 || err != nil {
			t.Errorf("second sweep: %d, %v; want nothing to do", n, err)
		}
	})
}

// TestSweeper sets up rows in every situation the sweeper meets and checks
// what one sweep does with each; then a worker finishes the reclaimed ones.
func TestSweeper(t *testing.T) {
	eachBroker(t, func(t *testing.T, b *testBroker) {
		dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
			h := newHarness(t, db, b)
			h.reg.Register(kindEcho, func(context.Context, jobs.Job, jobs.Progress) (string, error) { return "done", nil }, jobs.MaxRetry(2))
			ctx := context.Background()
			long := time.Now().UTC().Add(-time.Hour)
			tests := []struct {
				name     string
				status   jobs.Status
				attempts int
				age      time.Time // updated_at and heartbeat_at
				inBroker bool
				// after the sweep
				want     jobs.Status
				enqueued bool
			}{
				{name: "queued within grace", status: jobs.StatusQueued, age: time.Now().UTC(), want: jobs.StatusQueued},
				{name: "queued, held", status: jobs.StatusQueued, age: long, inBroker: true, want: jobs.StatusQueued, enqueued: true},
				{name: "queued, lost", status: jobs.StatusQueued, age: long, want: jobs.StatusQueued, enqueued: true},
				{name: "running, fresh heartbeat", status: jobs.StatusRunning, attempts: 1, age: time.Now().UTC(), want: jobs.StatusRunning},
				{name: "running, stale, held", status: jobs.StatusRunning, attempts: 1, age: long, inBroker: true, want: jobs.StatusRunning, enqueued: true},
				{name: "running, stale, lost", status: jobs.StatusRunning, attempts: 1, age: long, want: jobs.StatusQueued, enqueued: true},
				{name: "running, stale, lost too often", status: jobs.StatusRunning, attempts: 3, age: long, want: jobs.StatusFailed},
				{name: "succeeded", status: jobs.StatusSucceeded, attempts: 1, age: long, want: jobs.StatusSucceeded},
				{name: "failed", status: jobs.StatusFailed, attempts: 1, age: long, want: jobs.StatusFailed},
			}
			ids := make([]string, len(tests))
			wantSwept := 0
			for i, tt := range tests {
				job, err := h.q.SubmitTx(db, kindEcho, echoPayload{Name: tt.name}, "")
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = job.ID
				if err := db.Model(&jobs.Job{}).Where("id = ?", job.ID).UpdateColumns(map[string]any{
					"status": tt.status, "attempts": tt.attempts, "updated_at": tt.age, "heartbeat_at": tt.age,
				}).Error; err != nil {
					t.Fatal(err)
				}
				if tt.inBroker {
					if err := h.q.Enqueue(ctx, job); err != nil {
						t.Fatal(err)
					}
				} else if tt.enqueued {
					wantSwept++
				}
			}

			sw := h.sweeper()
			sw.Grace = time.Minute
			n, err := sw.SweepOnce(ctx)
			if err != nil || n != wantSwept {
				t.Fatalf("SweepOnce = %d, %v; want %d", n, err, wantSwept)
			}
			for i, tt := range tests {
				job, err := h.q.Get(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				state := h.taskState(job.ID)
				if job.Status != tt.want || (state == "pending") != tt.enqueued {
					t.Errorf("%s: status %s, task %q; want %s, enqueued %v", tt.name, job.Status, state, tt.want, tt.enqueued)
				}
			}

			h.startWorker()
			for i, tt := range tests {
				if tt.enqueued {
					job := h.waitStatus(ids[i], jobs.StatusSucceeded)
					if job.Attempts != tt.attempts+1 {
						t.Errorf("%s: attempts %d, want %d", tt.name, job.Attempts, tt.attempts+1)
					}
				}
			}
		})
	})
}

func TestGracefulShutdown(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		// handler's first attempt: true → stops only when ctx is cancelled
		ignoresRelease bool
		want           jobs.Status
	}{
		{name: "finishes within the timeout", timeout: 5 * time.Second, want: jobs.StatusSucceeded},
		{name: "handed back after the timeout", timeout: 300 * time.Millisecond, ignoresRelease: true, want: jobs.StatusQueued},
	}
	eachBroker(t, func(t *testing.T, b *testBroker) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, nil, b)
				var calls counter
				var sawCancel atomic.Bool
				started, release := make(chan struct{}, 1), make(chan struct{})
				h.reg.Register(kindEcho, func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
					if calls.add(job.ID) > 1 {
						return "resumed", nil
					}
					progress(10, "working")
					started <- struct{}{}
					if tt.ignoresRelease {
						<-ctx.Done()
						sawCancel.Store(true)
						return "", ctx.Err()
					}
					<-release
					return "finished", nil
				})
				w := h.startWorker(func(w *jobs.Worker) { w.ShutdownTimeout = tt.timeout })
				job := h.submit(kindEcho, nil)
				<-started

				stopped := make(chan struct{})
				go func() { w.Shutdown(); close(stopped) }()
				time.Sleep(100 * time.Millisecond) // let Shutdown begin
				select {
				case <-stopped:
					t.Fatal("Shutdown returned while a handler was running")
				default:
				}
				close(release)
				select {
				case <-stopped:
				case <-time.After(tt.timeout + 10*time.Second):
					t.Fatal("Shutdown did not return")
				}

				got, err := h.q.Get(context.Background(), job.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tt.want {
					t.Fatalf("after shutdown: %s (%q), want %s", got.Status, got.Message, tt.want)
				}
				if tt.want != jobs.StatusQueued {
					return
				}
				if !sawCancel.Load() {
					t.Error("handler's ctx was not cancelled")
				}
				if got.Progress != 0 || got.Error != "" || !strings.Contains(got.Message, "shutdown") {
					t.Errorf("handed-back job = %+v", got)
				}
				if s := h.taskState(job.ID); s != "pending" {
					t.Fatalf("task state %q after hand-back, want pending", s)
				}
				h.startWorker()
				done := h.waitStatus(job.ID, jobs.StatusSucceeded)
				if done.Result != "resumed" || done.Attempts != 2 {
					t.Errorf("resumed job = %+v", done)
				}
			})
		}
	})
}

func TestTimeoutCancelsHandler(t *testing.T) {
	eachBroker(t, func(t *testing.T, b *testBroker) {
		h := newHarness(t, nil, b)
		seen := make(chan error, 1)
		h.reg.Register(kindEcho, func(ctx context.Context, _ jobs.Job, _ jobs.Progress) (string, error) {
			select {
			case <-ctx.Done():
				seen <- ctx.Err()
				return "", ctx.Err()
			case <-time.After(30 * time.Second):
				return "too late", nil
			}
		}, jobs.Timeout(300*time.Millisecond), jobs.MaxRetry(0))
		h.startWorker()
		begun := time.Now()
		job := h.submit(kindEcho, nil)
		select {
		case err := <-seen:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("ctx.Err() = %v, want DeadlineExceeded", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("handler's ctx not cancelled at the timeout")
		}
		if took := time.Since(begun); took < 300*time.Millisecond {
			t.Errorf("cancelled after %v, before the timeout", took)
		}
		failed := h.waitStatus(job.ID, jobs.StatusFailed)
		if failed.Attempts != 1 || failed.Error != "job timed out after 300ms" || !strings.Contains(failed.Message, "超时") {
			t.Errorf("error = %q, message = %q", failed.Error, failed.Message)
		}
	})
}

func TestGetAndList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db, embeddedBroker(t))
		for _, k := range []string{"a", "b"} {
			h.reg.Register(k, func(context.Context, jobs.Job, jobs.Progress) (string, error) { return "", nil })
		}
		ctx := context.Background()
		user := "11111111-1111-1111-1111-111111111111"
		if err := db.Exec(`INSERT INTO users (id, username, display_name, role, password_hash, password_changed_at, created_at, updated_at)
			VALUES (?, 'alice', 'Alice', 'admin', 'x', ?, ?, ?)`, user, time.Now(), time.Now(), time.Now()).Error; err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i, k := range []string{"a", "b", "a"} {
			by := ""
			if i > 0 {
				by = user
			}
			job, err := h.q.Submit(ctx, k, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), by)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, job.ID)
			time.Sleep(2 * time.Millisecond) // distinct created_at
		}
		if err := db.Model(&jobs.Job{}).Where("id = ?", ids[1]).Update("status", jobs.StatusFailed).Error; err != nil {
			t.Fatal(err)
		}

		got, err := h.q.Get(ctx, ids[2])
		if err != nil || got.Payload != `{"n":2}` || got.CreatedBy == nil || *got.CreatedBy != user {
			t.Errorf("Get = %+v, %v", got, err)
		}
		if _, err := h.q.Get(ctx, "no-such-job"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("Get of an unknown id: %v, want ErrNotFound", err)
		}

		tests := []struct {
			name string
			f    jobs.Filter
			want []string
		}{
			{"all, newest first", jobs.Filter{}, []string{ids[2], ids[1], ids[0]}},
			{"by kind", jobs.Filter{Kind: "a"}, []string{ids[2], ids[0]}},
			{"by creator", jobs.Filter{CreatedBy: user}, []string{ids[2], ids[1]}},
			{"by status", jobs.Filter{Status: jobs.StatusFailed}, []string{ids[1]}},
			{"combined", jobs.Filter{CreatedBy: user, Kind: "a", Status: jobs.StatusQueued}, []string{ids[2]}},
			{"limit", jobs.Filter{Limit: 1}, []string{ids[2]}},
			{"none", jobs.Filter{Kind: "c"}, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				list, err := h.q.List(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, j := range list {
					got = append(got, j.ID)
				}
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("List(%+v) = %v, want %v", tt.f, got, tt.want)
				}
			})
		}
		if _, err := h.q.List(ctx, jobs.Filter{Status: "paused"}); !errors.Is(err, fault.ErrBadRequest) {
			t.Errorf("List with an unknown status: %v, want ErrBadRequest", err)
		}
	})
}

func TestSubmitRejects(t *testing.T) {
	h := newHarness(t, nil, embeddedBroker(t))
	h.reg.Register(kindEcho, func(context.Context, jobs.Job, jobs.Progress) (string, error) { return "", nil })
	ctx := context.Background()
	tests := []struct {
		name    string
		kind    string
		payload any
	}{
		{"empty kind", "", nil},
		{"kind too long", strings.Repeat("k", 65), nil},
		{"invalid raw JSON", kindEcho, json.RawMessage(`{"a":`)},
		{"unencodable payload", kindEcho, map[string]any{"f": func() {}}},
		{"unknown creator", kindEcho, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			by := ""
			if tt.name == "unknown creator" {
				by = "no-such-user"
			}
			if _, err := h.q.Submit(ctx, tt.kind, tt.payload, by); err == nil {
				t.Error("Submit succeeded")
			}
		})
	}
	if list, _ := h.q.List(ctx, jobs.Filter{}); len(list) != 0 {
		t.Errorf("rejected submissions stored %d jobs", len(list))
	}
}

func TestSubmitTxFollowsTheTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db, embeddedBroker(t))
		h.reg.Register(kindEcho, func(context.Context, jobs.Job, jobs.Progress) (string, error) { return "done", nil })
		ctx := context.Background()
		var rolledBack jobs.Job
		err := db.Transaction(func(tx *gorm.DB) error {
			var err error
			rolledBack, err = h.q.SubmitTx(tx, kindEcho, nil, "")
			if err != nil {
				return err
			}
			return errors.New("upload invalid")
		})
		if err == nil {
			t.Fatal("transaction committed")
		}
		if _, err := h.q.Get(ctx, rolledBack.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("job of a rolled-back transaction: %v, want ErrNotFound", err)
		}

		var job jobs.Job
		if err := db.Transaction(func(tx *gorm.DB) error {
			var err error
			job, err = h.q.SubmitTx(tx, kindEcho, echoPayload{Name: "tx"}, "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if s := h.taskState(job.ID); s != "" {
			t.Fatalf("task %q enqueued before Enqueue", s)
		}
		if err := h.q.Enqueue(ctx, job); err != nil {
			t.Fatal(err)
		}
		if err := h.q.Enqueue(ctx, job); err != nil {
			t.Errorf("second Enqueue of a held job: %v", err)
		}
		h.startWorker()
		h.waitStatus(job.ID, jobs.StatusSucceeded)
	})
}

func TestRedisOpt(t *testing.T) {
	tests := []struct {
		in      string
		want    asynq.RedisClientOpt
		wantErr bool
	}{
		{in: "127.0.0.1:6379", want: asynq.RedisClientOpt{Addr: "127.0.0.1:6379"}},
		{in: "redis:6379", want: asynq.RedisClientOpt{Addr: "redis:6379"}},
		{in: "redis://redis:6380/2", want: asynq.RedisClientOpt{Addr: "redis:6380", DB: 2}},
		{in: "redis://:secret@redis/3", want: asynq.RedisClientOpt{Addr: "redis:6379", Password: "secret", DB: 3}},
		{in: "redis://ipeval:secret@10.0.0.5:6379", want: asynq.RedisClientOpt{Addr: "10.0.0.5:6379", Username: "ipeval", Password: "secret"}},
		{in: "", wantErr: true},
		{in: "redis", wantErr: true},
		{in: "redis://", wantErr: true},
		{in: "redis://host/notanumber", wantErr: true},
		{in: "http://host:6379", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := jobs.RedisOpt(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("RedisOpt(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := got.(asynq.RedisClientOpt)
			if o.Addr != tt.want.Addr || o.DB != tt.want.DB || o.Username != tt.want.Username || o.Password != tt.want.Password || o.DialTimeout <= 0 {
				t.Errorf("RedisOpt(%q) = %+v, want %+v", tt.in, o, tt.want)
			}
		})
	}
}

func TestRegisterPanicsOnWiringBugs(t *testing.T) {
	h := func(context.Context, jobs.Job, jobs.Progress) (string, error) { return "", nil }
	tests := []struct {
		name string
		reg  func(r *jobs.Registry)
	}{
		{"empty kind", func(r *jobs.Registry) { r.Register("", h) }},
		{"nil handler", func(r *jobs.Registry) { r.Register("k", nil) }},
		{"twice", func(r *jobs.Registry) { r.Register("k", h); r.Register("k", h) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.reg(jobs.NewRegistry())
		})
	}
}
