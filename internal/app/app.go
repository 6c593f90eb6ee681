// Package app is the wiring of ipeval: the one place that builds every
// store, once, from the configuration and the connections, and assembles
// from them the HTTP server, the job runtime with its registry of job
// kinds, the retention purger and the housekeeping. The edges — the
// command line in cmd/ipeval — parse flags, call app and print; app holds
// no handler and parses nothing.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/broker"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/retention"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/surveys"
)

// sweepInterval is how often lost jobs are looked for.
const sweepInterval = 15 * time.Second

// App is a long-running process (serve or worker): its stores, each built
// once, and its job runtime — the queue client, the workers, the sweeper,
// the purger and, in the embedded mode, the in-process broker.
type App struct {
	*Stores
	// Queue is the client of the broker that every store queues jobs on.
	Queue *jobs.Queue
	// BrokerName is "redis" or "embedded".
	BrokerName string

	cfg       *config.Config
	log       *slog.Logger
	workers   int
	redis     asynq.RedisConnOpt
	registry  *jobs.Registry
	purger    *retention.Purger
	embedded  *broker.Embedded
	worker    *jobs.Worker
	stopSweep context.CancelFunc
	sweepDone chan struct{}
	closed    bool
}

// New connects to Redis (or starts the embedded broker), builds every
// store on db and that broker's queue, and registers every job kind. No
// job runs until Start, so that the demo data can be loaded first;
// Close releases what New and Start acquired.
func New(cfg *config.Config, db *gorm.DB, log *slog.Logger, workers int) (*App, error) {
	if cfg.RetentionDays < 1 || cfg.RetentionDays > 3650 {
		return nil, fmt.Errorf("--retention-days must be between 1 and 3650, got %d", cfg.RetentionDays)
	}
	a := &App{BrokerName: "redis", cfg: cfg, log: log, workers: workers}
	addr := strings.TrimSpace(cfg.Redis)
	if addr == "" {
		emb, err := broker.StartEmbedded("")
		if err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		a.embedded, a.BrokerName, addr = emb, "embedded", emb.Addr()
		if workers == 0 {
			log.Warn("embedded broker with --workers 0: jobs will wait until a worker runs in this process")
		}
	}
	opt, err := jobs.RedisOpt(addr)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.redis = opt
	a.Queue = jobs.NewQueue(db, opt, log)
	if a.Stores, err = NewStores(cfg, db, a.Queue); err != nil {
		a.Close()
		return nil, err
	}
	a.registry = a.jobKinds()
	a.purger = newPurger(cfg, db, a.Files, log)
	return a, nil
}

// newPurger returns the remover of dead uploads' content after
// --retention-days.
func newPurger(cfg *config.Config, db *gorm.DB, files *blobs.Store, log *slog.Logger) *retention.Purger {
	return retention.New(db, files, audit.RecordSystem, time.Duration(cfg.RetentionDays)*24*time.Hour, log)
}

// jobKinds lists every job kind ipeval runs, with its handler.
func (a *App) jobKinds() *jobs.Registry {
	reg := jobs.NewRegistry()
	reg.Register(audit.TypeExport, a.Audit.ExportHandler(a.cfg.DataDir))
	reg.Register(evaluation.JobKind, a.Runs.Handler())
	reg.Register(reports.JobKind, a.Reports.Handler())
	reg.Register(surveys.JobKind, a.Surveys.Handler(a.log))
	return reg
}

// Start starts the workers (when New was given workers > 0), the sweeper
// of lost jobs and, beside it, the purge of dead uploads.
func (a *App) Start() error {
	if a.workers > 0 {
		a.worker = jobs.NewWorker(a.DB, a.redis, a.registry, a.workers, a.log)
		if err := a.worker.Start(); err != nil {
			a.Close()
			return fmt.Errorf("start workers: %w", err)
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	a.stopSweep, a.sweepDone = cancel, make(chan struct{})
	sweeper := jobs.NewSweeper(a.DB, a.redis, a.registry, a.log, sweepInterval)
	go func() {
		defer close(a.sweepDone)
		// The purge of dead uploads runs beside the sweeper, wherever jobs
		// run: in serve and in every worker (a purge is a guarded update).
		var wg sync.WaitGroup
		wg.Go(func() { a.purger.Run(sctx, retention.DefaultInterval) })
		sweeper.Run(sctx)
		wg.Wait()
	}()
	return nil
}

// Close stops the sweeper, drains the workers and closes the queue and
// the embedded broker. It may be called more than once.
func (a *App) Close() {
	if a.closed {
		return
	}
	a.closed = true
	if a.stopSweep != nil {
		a.stopSweep()
		<-a.sweepDone
	}
	if a.worker != nil {
		a.worker.Shutdown()
	}
	if a.Queue != nil {
		_ = a.Queue.Close()
	}
	if a.embedded != nil {
		a.embedded.Close()
	}
}
