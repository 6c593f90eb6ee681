package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/broker"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/internal/testing/testproc"
	"github.com/ipeval/ipeval/jobs"
)

// redisTestDB is the database index the tests use on the Redis server named
// by IPEVAL_TEST_REDIS; it is flushed at the start of every test.
const redisTestDB = 11

// testBroker is a broker a test may stop and bring back empty, as a Redis
// server without persistence comes back after a restart.
type testBroker struct {
	opt     asynq.RedisConnOpt
	stop    func() // nil: this broker cannot be stopped
	restart func()
}

// eachBroker runs fn against the embedded broker and, when IPEVAL_TEST_REDIS
// is set, against that real Redis.
func eachBroker(t *testing.T, fn func(t *testing.T, b *testBroker)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) { fn(t, embeddedBroker(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, realRedis(t)) })
}

// eachStoppableBroker is eachBroker with a real Redis this test owns: a
// throwaway redis-server process, which it may kill and start again.
func eachStoppableBroker(t *testing.T, fn func(t *testing.T, b *testBroker)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) { fn(t, embeddedBroker(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, throwawayRedis(t)) })
}

func embeddedBroker(t *testing.T) *testBroker {
	t.Helper()
	e, err := broker.StartEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return &testBroker{
		opt:  redisOpt(t, e.Addr()),
		stop: e.Close,
		restart: func() {
			if err := e.Restart(); err != nil {
				t.Fatalf("restart embedded broker: %v", err)
			}
		},
	}
}

func realRedis(t *testing.T) *testBroker {
	t.Helper()
	addr := testenv.Require(t, testenv.RedisAddr)
	opt, err := jobs.RedisOpt(addr)
	if err != nil {
		t.Fatalf("%s: %v", testenv.RedisAddr, err)
	}
	o := opt.(asynq.RedisClientOpt)
	o.DB = redisTestDB
	rc := redis.NewClient(&redis.Options{Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig})
	defer rc.Close()
	if err := rc.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush Redis db %d at %s: %v", o.DB, o.Addr, err)
	}
	return &testBroker{opt: o}
}

// throwawayRedis starts redis-server without persistence on a free port.
func throwawayRedis(t *testing.T) *testBroker {
	t.Helper()
	r := testproc.StartRedis(t)
	return &testBroker{opt: redisOpt(t, r.Addr), stop: r.Kill, restart: r.Restart}
}

func redisOpt(t *testing.T, addr string) asynq.RedisConnOpt {
	t.Helper()
	opt, err := jobs.RedisOpt(addr)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

// harness is one test's jobs setup: database, registry, queue, broker.
type harness struct {
	t      *testing.T
	db     *gorm.DB
	reg    *jobs.Registry
	q      *jobs.Queue
	broker *testBroker
	log    *slog.Logger
}

func newHarness(t *testing.T, db *gorm.DB, b *testBroker) *harness {
	t.Helper()
	if db == nil {
		db = dbtest.New(t)
	}
	log := testLogger(t)
	reg := jobs.NewRegistry()
	q := jobs.NewQueue(db, b.opt, log)
	t.Cleanup(func() { _ = q.Close() })
	return &harness{t: t, db: db, reg: reg, q: q, broker: b, log: log}
}

// startWorker starts a worker tuned for tests (fast polling and retries),
// adjusted by configure, and shuts it down when the test ends.
func (h *harness) startWorker(configure ...func(*jobs.Worker)) *jobs.Worker {
	h.t.Helper()
	w := jobs.NewWorker(h.db, h.broker.opt, h.reg, 4, h.log)
	w.PollInterval = 50 * time.Millisecond
	w.RetryDelay = func(int) time.Duration { return 10 * time.Millisecond }
	w.Heartbeat = 200 * time.Millisecond
	w.ShutdownTimeout = 2 * time.Second
	for _, c := range configure {
		c(w)
	}
	if err := w.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(w.Shutdown)
	return w
}

// sweeper returns a Sweeper with no grace period, for SweepOnce.
func (h *harness) sweeper() *jobs.Sweeper {
	h.t.Helper()
	sw := jobs.NewSweeper(h.db, h.broker.opt, h.reg, h.log, time.Hour)
	sw.Grace = 0
	h.t.Cleanup(func() { _ = sw.Close() })
	return sw
}

func (h *harness) submit(kind string, payload any) jobs.Job {
	h.t.Helper()
	job, err := h.q.Submit(context.Background(), kind, payload, "")
	if err != nil {
		h.t.Fatalf("submit %s: %v", kind, err)
	}
	return job
}

// wait polls the job until cond holds.
func (h *harness) wait(id, what string, cond func(jobs.Job) bool) jobs.Job {
	h.t.Helper()
	var job jobs.Job
	eventually(h.t, 15*time.Second, "job "+what, func() bool {
		var err error
		job, err = h.q.Get(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		return cond(job)
	})
	return job
}

func (h *harness) waitStatus(id string, s jobs.Status) jobs.Job {
	h.t.Helper()
	return h.wait(id, string(s), func(j jobs.Job) bool { return j.Status == s })
}

// taskState returns the broker's state of the job's task, or "" when the
// broker does not hold it.
func (h *harness) taskState(id string) string {
	h.t.Helper()
	in := asynq.NewInspector(h.broker.opt)
	defer in.Close()
	info, err := in.GetTaskInfo(jobs.DefaultQueue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return ""
	case err != nil:
		h.t.Fatalf("task %s: %v", id, err)
	}
	return info.State.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counter counts handler calls per job.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// testLogger collects log lines and prints them if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() && os.Getenv("JOBS_TEST_LOG") != "" {
			t.Logf("log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// failing is an error a handler returns, numbered by attempt.
func failing(n int) error { return fmt.Errorf("boom %d", n) }
