// Package database owns the connection to the store — a SQLite file in the
// embedded default, MySQL/MariaDB in production — and the versioned
// migrations that shape it. Every other package receives a *gorm.DB from here.
package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names, as reported by (*gorm.DB).Dialector.Name().
const (
	SQLite = "sqlite"
	MySQL  = "mysql"
)

// Target is a parsed --db value.
type Target struct {
	Dialect string
	// DSN is the driver's data source name, with the options ipeval relies on.
	DSN string
	// Path is the SQLite file ("" for MySQL).
	Path string
}

// Parse interprets a --db value: a MySQL DSN (user:pass@tcp(host:3306)/db,
// optionally prefixed with mysql://, or a mysql://user:pass@host/db URL) or
// a SQLite file path (optionally prefixed with sqlite: or file:).
func Parse(raw string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Target{}, errors.New("empty database address")
	}
	if s, ok := strings.CutPrefix(raw, "mysql://"); ok {
		if strings.Contains(s, "@tcp(") || strings.Contains(s, "@unix(") {
			return mysqlTarget(s)
		}
		u, err := url.Parse(raw)
		if err != nil {
			return Target{}, fmt.Errorf("parse mysql url: %w", err)
		}
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net = "tcp"
		cfg.Addr = u.Host
		if u.Port() == "" {
			cfg.Addr = u.Host + ":3306"
		}
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		return mysqlTarget(cfg.FormatDSN())
	}
	if strings.Contains(raw, "@tcp(") || strings.Contains(raw, "@unix(") {
		return mysqlTarget(raw)
	}
	path := raw
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		path = strings.TrimPrefix(path, p)
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return sqliteTarget(path), nil
}

func mysqlTarget(dsn string) (Target, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return Target{}, fmt.Errorf("parse mysql dsn: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_unicode_ci"
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return Target{Dialect: MySQL, DSN: cfg.FormatDSN()}, nil
}

func sqliteTarget(path string) Target {
	q := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	// BEGIN IMMEDIATE takes the write lock up front, so two writers queue on
	// busy_timeout instead of one failing with SQLITE_BUSY on upgrade. (The
	// driver stops reading options at _time_format, so that one is not set.)
	q.Set("_txlock", "immediate")
	// SQLite reads the name as a URI: escape what would end the path.
	escaped := strings.NewReplacer("%", "%25", "#", "%23", "?", "%3F").Replace(path)
	return Target{Dialect: SQLite, Path: path, DSN: "file:" + escaped + "?" + q.Encode()}
}

// Open connects to the target. It creates the directory of a SQLite file.
// All times are written and read in UTC.
func Open(ctx context.Context, t Target, log *slog.Logger) (*gorm.DB, error) {
	var dialector gorm.Dialector
	switch t.Dialect {
	case SQLite:
		if dir := filepath.Dir(t.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		dialector = sqlite.Open(t.DSN)
	case MySQL:
		dialector = gormmysql.New(gormmysql.Config{DSN: t.DSN, DefaultStringSize: 191})
	default:
		return nil, fmt.Errorf("unknown dialect %q", t.Dialect)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger: logger.NewSlogLogger(log, logger.Config{
			SlowThreshold:             500 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.Dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	switch t.Dialect {
	case SQLite:
		sqlDB.SetMaxOpenConns(4)
		if t.Path == ":memory:" {
			sqlDB.SetMaxOpenConns(1)
		}
	case MySQL:
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(16)
		sqlDB.SetConnMaxLifetime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("ping %s: %w", t.Dialect, err)
	}
	return db.WithContext(context.Background()), nil
}

// Close releases the pool behind db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping reports whether the database answers within ctx.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// IsUnavailable reports whether err means the database could not be
// reached (as opposed to a query failing), so that callers answer 503 and
// retry later instead of reporting a bug.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var netErr *net.OpError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "sql: database is closed")
}
