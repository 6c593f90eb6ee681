// Package jobstest gives tests a job queue on a broker of their own — an
// in-process one, or a throwaway redis-server — closed when the test ends,
// and the workers and sweeper that run its jobs.
package jobstest

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/broker"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/testing/testproc"
	"github.com/ipeval/ipeval/jobs"
)

// Broker is a broker started for one test, with a queue on it. Tests that
// run workers connect them with Opt; tests of outages restart the broker.
type Broker struct {
	// Embedded is the in-process broker; nil when the broker is a
	// redis-server process.
	*broker.Embedded
	Opt   asynq.RedisConnOpt
	Queue *jobs.Queue

	restart func()
}

// Start starts an embedded broker and a queue on db that uses it; both
// close when the test ends.
func Start(tb testing.TB, db *gorm.DB) Broker {
	tb.Helper()
	emb, err := broker.StartEmbedded("")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(emb.Close)
	b := on(tb, db, emb.Addr())
	b.Embedded = emb
	b.restart = func() {
		if err := emb.Restart(); err != nil {
			tb.Fatalf("restart the embedded broker: %v", err)
		}
	}
	return b
}

// StartRedis starts a throwaway redis-server (testproc.StartRedis) and a
// queue on db that uses it. Without redis-server the test skips, or fails
// under CI=true.
func StartRedis(tb testing.TB, db *gorm.DB) Broker {
	tb.Helper()
	r := testproc.StartRedis(tb)
	b := on(tb, db, r.Addr)
	b.restart = r.Restart
	return b
}

func on(tb testing.TB, db *gorm.DB, addr string) Broker {
	tb.Helper()
	opt, err := jobs.RedisOpt(addr)
	if err != nil {
		tb.Fatal(err)
	}
	q := jobs.NewQueue(db, opt, nil)
	tb.Cleanup(func() { _ = q.Close() })
	return Broker{Opt: opt, Queue: q}
}

// Restart takes the broker away and brings it back on the same address
// with nothing in it, as a Redis server without persistence comes back
// after a crash: every task it held is gone.
func (b Broker) Restart() { b.restart() }

// NewQueue returns a queue on db whose broker is an embedded one started
// for this test.
func NewQueue(tb testing.TB, db *gorm.DB) *jobs.Queue {
	tb.Helper()
	return Start(tb, db).Queue
}

// EachMode runs fn in both of ipeval's modes: "embedded", a SQLite
// database and an in-process broker, and "distributed", a fresh MariaDB
// database (dbtest.NewMySQL) and a throwaway redis-server, which skips on
// a laptop without them and fails under CI=true.
func EachMode(t *testing.T, fn func(t *testing.T, db *gorm.DB, b Broker)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) {
		db := dbtest.New(t)
		fn(t, db, Start(t, db))
	})
	t.Run("distributed", func(t *testing.T) {
		db := dbtest.NewMySQL(t)
		fn(t, db, StartRedis(t, db))
	})
}

// Test timings of Work: the production wiring, with intervals that let a
// test see lost jobs found again in well under a second.
const (
	pollInterval  = 50 * time.Millisecond
	heartbeat     = 100 * time.Millisecond
	sweepInterval = 100 * time.Millisecond
	sweepGrace    = 300 * time.Millisecond
	staleAfter    = 2 * time.Second
)

// Work starts what runs the jobs of reg in production — a jobs.Worker of
// the given concurrency and a jobs.Sweeper — on db and the broker, with
// short intervals. Both stop when the test ends.
func Work(tb testing.TB, db *gorm.DB, b Broker, reg *jobs.Registry, concurrency int) *jobs.Worker {
	tb.Helper()
	w := jobs.NewWorker(db, b.Opt, reg, concurrency, nil)
	w.PollInterval, w.Heartbeat = pollInterval, heartbeat
	w.RetryDelay = func(int) time.Duration { return 10 * time.Millisecond }
	w.ShutdownTimeout = 2 * time.Second
	if err := w.Start(); err != nil {
		tb.Fatal(err)
	}
	sw := jobs.NewSweeper(db, b.Opt, reg, nil, sweepInterval)
	sw.Grace, sw.StaleAfter = sweepGrace, staleAfter
	ctx, cancel := context.WithCancel(context.Background())
	swept := make(chan struct{})
	go func() { defer close(swept); sw.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-swept
		w.Shutdown()
	})
	return w
}

// Wait polls the job until it has finished, succeeded or failed, and
// returns it; it fails the test after within.
func Wait(tb testing.TB, q *jobs.Queue, id string, within time.Duration) jobs.Job {
	tb.Helper()
	return WaitFor(tb, q, id, "finish", within, jobs.Job.Done)
}

// WaitFor polls the job until cond holds and returns it; it fails the test
// after within, or when the job finishes without cond holding.
func WaitFor(tb testing.TB, q *jobs.Queue, id, what string, within time.Duration, cond func(jobs.Job) bool) jobs.Job {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		job, err := q.Get(context.Background(), id)
		if err != nil {
			tb.Fatal(err)
		}
		switch {
		case cond(job):
			return job
		case job.Done():
			tb.Fatalf("job %s %s (%s) before it could %s", id, job.Status, job.Error, what)
		case time.Now().After(deadline):
			tb.Fatalf("job %s did not %s within %v: %+v", id, what, within, job)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
