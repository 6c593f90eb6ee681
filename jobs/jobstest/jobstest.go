// Package jobstest gives tests a job queue on an in-process broker, one
// per test, closed when the test ends.
package jobstest

import (
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/broker"
	"github.com/ipeval/ipeval/jobs"
)

// NewQueue returns a queue on db whose broker is an embedded one started
// for this test.
func NewQueue(tb testing.TB, db *gorm.DB) *jobs.Queue {
	tb.Helper()
	emb, err := broker.StartEmbedded("")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(emb.Close)
	opt, err := jobs.RedisOpt(emb.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	q := jobs.NewQueue(db, opt, nil)
	tb.Cleanup(func() { _ = q.Close() })
	return q
}
