package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
)

// Worker defaults.
const (
	DefaultShutdownTimeout = 25 * time.Second
	DefaultHeartbeat       = 30 * time.Second
)

// handbackWait is how long Shutdown waits, after asynq has handed the
// unfinished tasks back, for their handlers to return and their rows to be
// put back to queued. A row left running is still safe: the handed-back task
// takes it over.
const handbackWait = 3 * time.Second

// errSuperseded cancels an attempt whose row was handed to another attempt.
var errSuperseded = errors.New("job attempt superseded")

// Worker runs the handlers of a Registry as an asynq server. Set its
// exported fields before Start.
type Worker struct {
	// ShutdownTimeout is how long Shutdown lets running handlers finish
	// before their tasks are handed back to the broker and their ctx is
	// cancelled.
	ShutdownTimeout time.Duration
	// Heartbeat is how often a running job's heartbeat_at is refreshed
	// besides progress reports; keep it well below the Sweeper's StaleAfter.
	Heartbeat time.Duration
	// PollInterval is how often an idle worker looks for new tasks and for
	// retries that are due (0: asynq's defaults, 1s and 5s).
	PollInterval time.Duration
	// RetryDelay is the wait before retry number retried+1 (default Backoff).
	RetryDelay func(retried int) time.Duration

	db          *gorm.DB
	redis       asynq.RedisConnOpt
	reg         *Registry
	concurrency int
	log         *slog.Logger

	mu       sync.Mutex
	srv      *asynq.Server
	stopping atomic.Bool
	inflight sync.WaitGroup
}

// NewWorker returns a Worker that runs up to concurrency jobs at once
// (concurrency < 1: one per CPU) from the broker at redis.
func NewWorker(db *gorm.DB, redisOpt asynq.RedisConnOpt, reg *Registry, concurrency int, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{
		ShutdownTimeout: DefaultShutdownTimeout,
		Heartbeat:       DefaultHeartbeat,
		RetryDelay:      Backoff,
		db:              db,
		redis:           redisOpt,
		reg:             reg,
		concurrency:     concurrency,
		log:             log,
	}
}

// Backoff is the default retry delay: 10 s doubling with each retry, at
// most 10 minutes, plus up to 20 % jitter.
func Backoff(retried int) time.Duration {
	d := 10 * time.Second << min(max(retried, 0), 6)
	d = min(d, 10*time.Minute)
	return d + rand.N(d/5+1)
}

// Start starts processing in the background. A broker that is down is not
// an error: the worker connects when it comes back.
func (w *Worker) Start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.srv != nil {
		return errors.New("jobs: worker already started")
	}
	delay := w.RetryDelay
	if delay == nil {
		delay = Backoff
	}
	w.srv = asynq.NewServer(w.redis, asynq.Config{
		Concurrency:              w.concurrency,
		Queues:                   map[string]int{DefaultQueue: 1},
		ShutdownTimeout:          w.ShutdownTimeout,
		TaskCheckInterval:        w.PollInterval,
		DelayedTaskCheckInterval: w.PollInterval,
		RetryDelayFunc:           func(n int, _ error, _ *asynq.Task) time.Duration { return delay(n) },
		Logger:                   asynqLogger{w.log},
		LogLevel:                 asynq.InfoLevel,
	})
	if err := w.srv.Start(asynq.HandlerFunc(w.process)); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	w.log.Info("job worker started", "concurrency", w.concurrency, "kinds", w.reg.Kinds())
	return nil
}

// Shutdown stops taking tasks and waits up to ShutdownTimeout for running
// handlers to finish. Tasks still running then are handed back to the
// broker, their handlers' ctx is cancelled and their jobs return to queued,
// to be resumed by the next worker. It returns when done, at most a few
// seconds after ShutdownTimeout.
func (w *Worker) Shutdown() {
	w.mu.Lock()
	srv := w.srv
	w.mu.Unlock()
	if srv == nil || !w.stopping.CompareAndSwap(false, true) {
		return
	}
	srv.Shutdown()
	done := make(chan struct{})
	go func() { w.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(handbackWait):
		w.log.Warn("job handlers still running after shutdown")
	}
	w.log.Info("job worker stopped")
}

// process is the asynq handler of every task: it runs the job whose id is
// the task id, keeping the job's row in step.
func (w *Worker) process(ctx context.Context, task *asynq.Task) error {
	w.inflight.Add(1)
	defer w.inflight.Done()
	id := task.ResultWriter().TaskID()
	job, err := load(ctx, w.db, id)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		w.log.Warn("job task without a row dropped", "job_id", id, "kind", task.Type())
		return fmt.Errorf("job %s has no row: %w", id, asynq.SkipRetry)
	case err != nil:
		return err
	case job.Done():
		w.log.Info("finished job delivered again; ignored", "job_id", id, "kind", job.Kind, "status", job.Status)
		return nil
	}

	attempt := job.Attempts + 1
	log := w.log.With("job_id", id, "kind", job.Kind, "attempt", attempt)
	started, err := w.begin(ctx, job)
	if err != nil {
		return err
	}
	if !started {
		return w.lostRace(ctx, id, log)
	}
	log.Info("job started")
	begun := time.Now()

	s, known := w.reg.lookup(job.Kind)
	if !known {
		s = defaultSpec()
	}
	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The timeout is a caller-safe fault, so that the job's Error says why
	// it ended even when the handler's own error is not fit to show.
	timedOut := fault.With(context.DeadlineExceeded,
		fmt.Sprintf("job timed out after %v", s.timeout), fmt.Sprintf("任务超时（限时 %v）", s.timeout), nil)
	hctx, cancelTimeout := context.WithTimeoutCause(hctx, s.timeout, timedOut)
	defer cancelTimeout()
	rep := &reporter{db: w.db, id: id, attempt: attempt, log: w.log, lost: func() {
		log.Warn("job attempt superseded; cancelling its handler")
		cancel(errSuperseded)
	}}
	stopBeat := rep.beatEvery(w.heartbeat())
	var result string
	var herr error
	if known {
		result, herr = call(hctx, s.handler, job, rep.report, log)
	} else {
		herr = fault.With(fault.ErrUnavailable,
			fmt.Sprintf("no handler registered for kind %q", job.Kind), fmt.Sprintf("没有登记任务类型 %q 的处理程序", job.Kind), nil)
	}
	stopBeat()
	percent, message := rep.stop()
	if cause := context.Cause(hctx); herr != nil && cause != nil && ctx.Err() == nil && !errors.Is(herr, cause) {
		herr = fmt.Errorf("%w (%w)", herr, cause) // say why the handler's ctx ended
	}

	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer wcancel()
	t := now()
	row := ownRow(w.db.WithContext(wctx), id, attempt)
	if herr == nil {
		res := row.UpdateColumns(map[string]any{
			"status": StatusSucceeded, "progress": 100, "message": message, "result": result, "error": "",
			"finished_at": t, "heartbeat_at": t, "updated_at": t,
		})
		if res.Error != nil {
			// The handler will run again: asynq retries the task.
			return fmt.Errorf("record job %s success: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			log.Warn("job attempt superseded; its result is dropped")
			return nil
		}
		log.Info("job succeeded", "duration", time.Since(begun).Round(time.Millisecond))
		return nil
	}

	// The full error goes to the log only (log carries job_id, kind and
	// attempt); the row, which the API serves, gets the caller-safe text.
	errText, errZh := publicError(herr, id)
	errText = textenc.Clip(errText, maxError)
	retried, _ := asynq.GetRetryCount(ctx)
	ceiling, _ := asynq.GetMaxRetry(ctx)
	maxRetry := min(s.maxRetry, ceiling)
	cols := map[string]any{"progress": percent, "error": errText, "heartbeat_at": t, "updated_at": t}
	switch {
	case w.stopping.Load() && errors.Is(ctx.Err(), context.Canceled):
		// asynq handed the task back at shutdown.
		cols["status"], cols["progress"], cols["message"] = StatusQueued, 0, "interrupted by shutdown; will resume"
		cols["error"] = ""
		log.Info("job handed back at shutdown")
	case errors.Is(herr, asynq.SkipRetry) || retried >= maxRetry:
		// A failed job's message is its reason in Chinese, when known,
		// rather than the progress it had reached.
		if message == "" || errZh != "" {
			message = textenc.Clip(errZh, maxMessage)
		}
		cols["status"], cols["message"], cols["finished_at"] = StatusFailed, message, t
		log.Warn("job failed", "err", herr)
		if !errors.Is(herr, asynq.SkipRetry) {
			herr = fmt.Errorf("%w: %w", herr, asynq.SkipRetry) // the kind's retries, not asynq's ceiling
		}
	default:
		cols["status"], cols["progress"], cols["message"] = StatusQueued, 0, textenc.Clip("will retry after: "+errText, maxMessage)
		log.Warn("job attempt failed; will retry", "err", herr, "retries_left", maxRetry-retried)
	}
	if err := row.UpdateColumns(cols).Error; err != nil {
		log.Error("job outcome not saved", "err", err)
	}
	return herr
}

// begin moves the job to running as attempt job.Attempts+1. It reports
// false when the row changed since it was read.
func (w *Worker) begin(ctx context.Context, job Job) (bool, error) {
	t := now()
	res := w.db.WithContext(ctx).Model(&Job{}).
		Where("id = ? AND status IN ? AND attempts = ?", job.ID, []Status{StatusQueued, StatusRunning}, job.Attempts).
		UpdateColumns(map[string]any{
			"status": StatusRunning, "attempts": job.Attempts + 1, "progress": 0, "message": "",
			"started_at": t, "heartbeat_at": t, "finished_at": nil, "updated_at": t,
		})
	if res.Error != nil {
		return false, fmt.Errorf("start job %s: %w", job.ID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// publicError returns the text of a handler's error that API callers may
// see (DESIGN.md §7: no SQL, host:port or file paths reach them), in
// English and, where known, Chinese. Only texts built from our own messages
// qualify: the detail of a *fault.Detailed, or a *fault.ValidationError.
// Anything else — a driver's or the OS's error — is replaced by a pointer
// to the server log, which has the full error under the job id, saying
// also whether the job will not be retried (asynq.SkipRetry).
func publicError(err error, id string) (en, zh string) {
	if d, ok := errors.AsType[*fault.Detailed](err); ok && d.Detail != "" {
		return d.Detail, d.DetailZh
	}
	if v, ok := errors.AsType[*fault.ValidationError](err); ok {
		return v.Error(), ""
	}
	if errors.Is(err, asynq.SkipRetry) {
		// The handler knows the job can never succeed: say so, so that no
		// one waits for a retry or simply submits it again.
		return fmt.Sprintf("job failed and is not retried: it cannot succeed as submitted; details are in the server log (job id %s)", id),
			fmt.Sprintf("任务失败且不再重试：按所提交的内容无法完成；详情见服务器日志（任务编号 %s）", id)
	}
	return fmt.Sprintf("job failed; details are in the server log (job id %s)", id), ""
}

// lostRace handles a delivery whose row changed between read and start.
func (w *Worker) lostRace(ctx context.Context, id string, log *slog.Logger) error {
	job, err := load(ctx, w.db, id)
	if err == nil && job.Done() {
		return nil
	}
	log.Warn("job changed while starting; task retried")
	return fmt.Errorf("job %s changed while starting", id)
}

// call runs a handler, turning a panic into an error.
func call(ctx context.Context, h Handler, job Job, p Progress, log *slog.Logger) (result string, err error) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("job handler panicked", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return h(ctx, job, p)
}

func (w *Worker) heartbeat() time.Duration {
	if w.Heartbeat > 0 {
		return w.Heartbeat
	}
	return DefaultHeartbeat
}

// asynqLogger sends asynq's own log lines to slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug("asynq", "detail", fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info("asynq", "detail", fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn("asynq", "detail", fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error("asynq", "detail", fmt.Sprint(args...)) }

// Fatal logs at error level; unlike asynq's default logger it does not exit.
func (l asynqLogger) Fatal(args ...any) { l.log.Error("asynq", "detail", fmt.Sprint(args...)) }
