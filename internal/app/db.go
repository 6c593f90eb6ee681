package app

import (
	"context"
	"fmt"
	"log/slog"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
)

// OpenDB connects to the configured database. The embedded SQLite default
// migrates itself; MySQL must be migrated explicitly (ipeval migrate, or
// --migrate) so that several processes never race to change the schema.
func OpenDB(ctx context.Context, cfg *config.Config, log *slog.Logger, autoMigrate bool) (*gorm.DB, error) {
	db, target, err := connect(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if target.Dialect == database.SQLite || autoMigrate {
		if err := database.Migrate(ctx, db); err != nil {
			_ = database.Close(db)
			return nil, err
		}
		return db, nil
	}
	pending, err := database.Pending(ctx, db)
	if err != nil {
		_ = database.Close(db)
		return nil, err
	}
	if len(pending) > 0 {
		_ = database.Close(db)
		return nil, fmt.Errorf("%d pending migration(s) %v: run `ipeval migrate` or pass --migrate", len(pending), pending)
	}
	return db, nil
}

// Migrate applies the configured database's pending migrations, or only
// reads their state when statusOnly, and returns the state of every one.
func Migrate(ctx context.Context, cfg *config.Config, log *slog.Logger, statusOnly bool) ([]database.MigrationState, error) {
	db, _, err := connect(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer database.Close(db)
	if !statusOnly {
		if err := database.Migrate(ctx, db); err != nil {
			return nil, err
		}
	}
	return database.Status(ctx, db)
}

// connect opens the configured database as it is, migrating nothing.
func connect(ctx context.Context, cfg *config.Config, log *slog.Logger) (*gorm.DB, database.Target, error) {
	target, err := database.Parse(cfg.DatabaseAddr())
	if err != nil {
		return nil, target, err
	}
	db, err := database.Open(ctx, target, log)
	return db, target, err
}
