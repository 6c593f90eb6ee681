package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ipeval/ipeval/internal/app"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
)

// worker runs job workers only, against a shared Redis: the distributed mode.
func worker(ctx context.Context, e env, args []string) error {
	cfg, fs, err := flags(e, "worker", args, config.CommandSettings("worker")...)
	if err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if strings.TrimSpace(cfg.Redis) == "" {
		return errors.New("worker needs --redis (or IPEVAL_REDIS): the embedded broker lives inside `ipeval serve`")
	}
	if cfg.Concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1, got %d", cfg.Concurrency)
	}
	log := newLogger(e, cfg.LogFormat)
	db, err := app.OpenDB(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer database.Close(db)
	a, err := app.New(cfg, db, log, cfg.Concurrency)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return err
	}
	log.Info("worker started", "concurrency", cfg.Concurrency, "database", db.Dialector.Name(), "version", version)
	<-ctx.Done()
	log.Info("worker stopping")
	a.Close()
	log.Info("worker stopped")
	return nil
}
