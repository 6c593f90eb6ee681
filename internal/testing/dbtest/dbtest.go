// Package dbtest gives tests a fresh, migrated database: always a SQLite
// file, and a throwaway MariaDB/MySQL database when IPEVAL_TEST_MYSQL_DSN
// points at a server.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// New returns a migrated SQLite database in a temporary directory.
func New(tb testing.TB) *gorm.DB {
	tb.Helper()
	return open(tb, filepath.Join(tb.TempDir(), "ipeval.db"))
}

// NewMySQL returns a migrated, freshly created MySQL database that is dropped
// when the test ends. It skips or fails per testenv.Require.
func NewMySQL(tb testing.TB) *gorm.DB {
	tb.Helper()
	return open(tb, EmptyMySQL(tb))
}

// EmptyMySQL creates a throwaway MySQL database, unmigrated, and returns
// its DSN, for tests that start the whole program. It is dropped when the
// test ends.
func EmptyMySQL(tb testing.TB) string {
	tb.Helper()
	dsn := testenv.Require(tb, testenv.MySQLDSN)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("parse %s: %v", testenv.MySQLDSN, err)
	}
	name := "ipeval_t_" + randomHex(6)
	admin, err := database.Parse(serverDSN(cfg))
	if err != nil {
		tb.Fatal(err)
	}
	adb, err := database.Open(context.Background(), admin, nil)
	if err != nil {
		tb.Fatalf("connect to MySQL at %s: %v", cfg.Addr, err)
	}
	if err := adb.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci").Error; err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		_ = adb.Exec("DROP DATABASE IF EXISTS " + name).Error
		_ = database.Close(adb)
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// Each runs fn against SQLite and, when configured, against MySQL, as
// subtests named after the dialect.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run(database.SQLite, func(t *testing.T) { fn(t, New(t)) })
	t.Run(database.MySQL, func(t *testing.T) { fn(t, NewMySQL(t)) })
}

func serverDSN(cfg *mysql.Config) string {
	c := cfg.Clone()
	c.DBName = ""
	return c.FormatDSN()
}

func open(tb testing.TB, raw string) *gorm.DB {
	tb.Helper()
	target, err := database.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	db, err := database.Open(ctx, target, nil)
	if err != nil {
		tb.Fatalf("open %s: %v", target.Dialect, err)
	}
	tb.Cleanup(func() { _ = database.Close(db) })
	if err := database.Migrate(ctx, db); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
