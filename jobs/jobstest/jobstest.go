// Package jobstest gives tests a job queue on an in-process broker, one
// per test, closed when the test ends.
package jobstest

import (
	"testing"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/broker"
	"github.com/ipeval/ipeval/jobs"
)

// Broker is an embedded broker started for one test, with a queue on it.
// Tests that run workers connect them with Opt; tests of outages stop and
// restart the broker itself.
type Broker struct {
	*broker.Embedded
	Opt   asynq.RedisConnOpt
	Queue *jobs.Queue
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
	opt, err := jobs.RedisOpt(emb.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	q := jobs.NewQueue(db, opt, nil)
	tb.Cleanup(func() { _ = q.Close() })
	return Broker{Embedded: emb, Opt: opt, Queue: q}
}

// NewQueue returns a queue on db whose broker is an embedded one started
// for this test.
func NewQueue(tb testing.TB, db *gorm.DB) *jobs.Queue {
	tb.Helper()
	return Start(tb, db).Queue
}
