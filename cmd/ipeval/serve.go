package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/ipeval/ipeval/internal/app"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/reports/static"
)

// shutdownGrace bounds the draining of requests and then of workers.
const shutdownGrace = 25 * time.Second

func serve(ctx context.Context, e env, args []string) error {
	cfg, fs, err := flags(e, "serve", args, config.CommandSettings("serve")...)
	if err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	// An upload reaches the server only from an authenticated caller and
	// is streamed to a temporary file (web.Edge.admitBody); evidence files
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
	db, err := app.OpenDB(ctx, cfg, log, cfg.Migrate)
	if err != nil {
		return err
	}
	defer database.Close(db)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	a, err := app.New(cfg, db, log, cfg.Workers)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer a.Close()
	if cfg.Demo {
		if err := loadDemo(ctx, e, a.Stores, app.BaseURL(ln.Addr())); err != nil {
			_ = ln.Close()
			return err
		}
	}
	if err := a.Start(); err != nil {
		_ = ln.Close()
		return err
	}
	srv, err := a.Server(version)
	if err != nil {
		_ = ln.Close()
		return err
	}
	stopMetrics, err := app.StartMetrics(cfg.MetricsListenAddr(), srv.MetricsHandler(), log, e.stdout)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopMetrics()
	go a.Housekeep(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "database", db.Dialector.Name(), "broker", a.BrokerName, "workers", cfg.Workers, "version", version)
	fmt.Fprintf(e.stdout, "ipeval %s listening on %s\n", version, app.BaseURL(ln.Addr()))

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
	a.Close()
	log.Info("stopped")
	return nil
}
