package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/broker"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/httpapi"
	"github.com/ipeval/ipeval/internal/retention"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/reports/static"
	"github.com/ipeval/ipeval/surveys"
)

// shutdownGrace bounds the draining of requests and then of workers.
const shutdownGrace = 25 * time.Second

// multipartOverhead is what the server's body limit allows beyond the
// upload limit, for the form fields and boundaries around a file, so that
// an oversize file reaches the store and gets its explanatory 413.
const multipartOverhead = 1 << 20

// sweepInterval is how often lost jobs are looked for.
const sweepInterval = 15 * time.Second

func serve(ctx context.Context, e env, args []string) error {
	cfg, fs, err := flags(e, "serve", args, config.CommandSettings("serve")...)
	if err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	// An upload reaches the server only from an authenticated caller and
	// is streamed to a temporary file (httpapi admitBody); evidence files
	// are then read whole, so their limit stays modest.
	if cfg.UploadMaxMB < 1 || cfg.UploadMaxMB > 100 {
		return fmt.Errorf("--upload-max-mb must be between 1 and 100, got %d", cfg.UploadMaxMB)
	}
	if cfg.SurveyUploadMaxMB < 1 || cfg.SurveyUploadMaxMB > 1024 {
		return fmt.Errorf("--survey-upload-max-mb must be between 1 and 1024, got %d", cfg.SurveyUploadMaxMB)
	}
	log := newLogger(e, cfg.LogFormat)
	if missing := static.Missing(); len(missing) > 0 {
		log.Warn("chart assets missing from this build: charts will not draw; build with make", "missing", missing)
	}
	db, err := openDB(ctx, cfg, log, cfg.Migrate)
	if err != nil {
		return err
	}
	defer database.Close(db)
	svc := newServices(cfg, db)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.Demo {
		if err := loadDemo(ctx, e, svc, baseURL(ln.Addr())); err != nil {
			_ = ln.Close()
			return err
		}
	}

	rt, err := startJobs(ctx, cfg, svc, log, cfg.Workers)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer rt.close()

	files, err := blobs.New(cfg.EvidencePath())
	if err != nil {
		_ = ln.Close()
		return err
	}
	uploadMax := int64(cfg.UploadMaxMB) << 20
	surveyStore, err := svc.surveyStore(rt.queue)
	if err != nil {
		_ = ln.Close()
		return err
	}
	schemes := svc.schemes
	values := indicators.NewValueStore(db, schemes)
	runStore, reportStore := svc.runStores(rt.queue)
	srv, err := httpapi.New(httpapi.Deps{
		Auth: svc.auth, Regions: svc.regions, Cycles: svc.cycles, Schemes: schemes, Values: values,
		Evidence: indicators.NewEvidenceStore(db, values, files, uploadMax), Runs: runStore, Reports: reportStore,
		Surveys: surveyStore, Audit: svc.audit, Jobs: rt.queue,
		Checks: []httpapi.Check{
			{Name: "database", Fn: func(ctx context.Context) error { return database.Ping(ctx, db) }},
			{Name: "broker", Fn: rt.queue.Ping},
		},
		Log: log, Version: version, DataDir: cfg.DataDir,
	}, httpapi.Options{SecureCookies: cfg.SecureCookies, TrustedProxies: cfg.TrustedProxies,
		BodyLimit: int(max(uploadMax, int64(cfg.SurveyUploadMaxMB)<<20)) + multipartOverhead})
	if err != nil {
		_ = ln.Close()
		return err
	}
	stopMetrics, err := startMetrics(cfg.MetricsListenAddr(), srv.MetricsHandler(), log, e)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopMetrics()
	go housekeeping(ctx, svc, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "database", db.Dialector.Name(), "broker", rt.brokerName, "workers", cfg.Workers, "version", version)
	fmt.Fprintf(e.stdout, "ipeval %s listening on %s\n", version, baseURL(ln.Addr()))

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// Requests first, so that nothing new is enqueued; workers after.
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	rt.close()
	log.Info("stopped")
	return nil
}

// startMetrics serves the Prometheus metrics on addr, a listener apart from
// the public one, and returns what stops it; an empty addr serves nothing.
func startMetrics(addr string, h http.Handler, log *slog.Logger, e env) (stop func(), err error) {
	if addr == "" {
		log.Info("metrics not served (--metrics-addr is empty)")
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	fmt.Fprintf(e.stdout, "metrics on %s/metrics\n", baseURL(ln.Addr()))
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}, nil
}

func baseURL(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// jobRuntime is the queue client, the workers, the sweeper and, in the
// embedded mode, the in-process broker.
type jobRuntime struct {
	redis      asynq.RedisConnOpt
	brokerName string
	queue      *jobs.Queue
	worker     *jobs.Worker
	embedded   *broker.Embedded
	stopSweep  context.CancelFunc
	sweepDone  chan struct{}
	closed     bool
}

// startJobs connects to Redis (or starts the embedded broker), registers
// every job kind and starts workers (when workers > 0) and the sweeper.
func startJobs(ctx context.Context, cfg *config.Config, svc services, log *slog.Logger, workers int) (*jobRuntime, error) {
	purger, err := newPurger(cfg, svc, log)
	if err != nil {
		return nil, err
	}
	rt := &jobRuntime{brokerName: "redis"}
	addr := strings.TrimSpace(cfg.Redis)
	if addr == "" {
		emb, err := broker.StartEmbedded("")
		if err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		rt.embedded, rt.brokerName, addr = emb, "embedded", emb.Addr()
		if workers == 0 {
			log.Warn("embedded broker with --workers 0: jobs will wait until a worker runs in this process")
		}
	}
	opt, err := jobs.RedisOpt(addr)
	if err != nil {
		rt.close()
		return nil, err
	}
	rt.redis = opt
	rt.queue = jobs.NewQueue(svc.db, opt, log)
	reg, err := registry(svc, rt.queue, log)
	if err != nil {
		rt.close()
		return nil, err
	}
	if workers > 0 {
		rt.worker = jobs.NewWorker(svc.db, opt, reg, workers, log)
		if err := rt.worker.Start(); err != nil {
			rt.close()
			return nil, fmt.Errorf("start workers: %w", err)
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	rt.stopSweep, rt.sweepDone = cancel, make(chan struct{})
	sweeper := jobs.NewSweeper(svc.db, opt, reg, log, sweepInterval)
	go func() {
		defer close(rt.sweepDone)
		// The purge of dead uploads runs beside the sweeper, wherever jobs
		// run: in serve and in every worker (a purge is a guarded update).
		var wg sync.WaitGroup
		wg.Go(func() { purger.Run(sctx, retention.DefaultInterval) })
		sweeper.Run(sctx)
		wg.Wait()
	}()
	return rt, nil
}

// newPurger returns the remover of dead uploads' content after
// --retention-days.
func newPurger(cfg *config.Config, svc services, log *slog.Logger) (*retention.Purger, error) {
	if cfg.RetentionDays < 1 || cfg.RetentionDays > 3650 {
		return nil, fmt.Errorf("--retention-days must be between 1 and 3650, got %d", cfg.RetentionDays)
	}
	files, err := blobs.New(cfg.EvidencePath())
	if err != nil {
		return nil, err
	}
	return retention.New(svc.db, files, audit.RecordSystem, time.Duration(cfg.RetentionDays)*24*time.Hour, log), nil
}

// registry lists every job kind ipeval runs, with its handler.
func registry(svc services, queue *jobs.Queue, log *slog.Logger) (*jobs.Registry, error) {
	surveyStore, err := svc.surveyStore(queue)
	if err != nil {
		return nil, err
	}
	runStore, reportStore := svc.runStores(queue)
	reg := jobs.NewRegistry()
	reg.Register(audit.TypeExport, svc.audit.ExportHandler(svc.cfg.DataDir))
	reg.Register(evaluation.JobKind, runStore.Handler())
	reg.Register(reports.JobKind, reportStore.Handler())
	reg.Register(surveys.JobKind, surveyStore.Handler(log))
	return reg, nil
}

func (rt *jobRuntime) close() {
	if rt.closed {
		return
	}
	rt.closed = true
	if rt.stopSweep != nil {
		rt.stopSweep()
		<-rt.sweepDone
	}
	if rt.worker != nil {
		rt.worker.Shutdown()
	}
	if rt.queue != nil {
		_ = rt.queue.Close()
	}
	if rt.embedded != nil {
		rt.embedded.Close()
	}
}

// housekeeping removes expired browser sessions every few minutes, so that
// the sessions table does not grow with every sign-in.
func housekeeping(ctx context.Context, svc services, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := svc.auth.PurgeExpiredSessions(ctx); err != nil {
				log.Warn("session purge failed", "err", err)
			} else if n > 0 {
				log.Info("expired sessions purged", "count", n)
			}
		}
	}
}
