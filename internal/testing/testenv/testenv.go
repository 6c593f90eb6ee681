// Package testenv decides, for tests, whether an outside server or program
// (MariaDB, Redis, Chromium, LibreOffice) is expected: a test skips when it
// is not configured on a laptop, and fails when it is not configured under
// CI=true.
package testenv

import (
	"os"
	"testing"
)

// Environment variables that point tests at real servers.
const (
	MySQLDSN  = "IPEVAL_TEST_MYSQL_DSN"
	RedisAddr = "IPEVAL_TEST_REDIS"
)

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the value of the variable name, skipping the test when it
// is unset on a developer machine and failing it when it is unset under CI.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		if InCI() {
			tb.Fatalf("%s must be set when CI=true", name)
		}
		tb.Skipf("%s not set", name)
	}
	return v
}
