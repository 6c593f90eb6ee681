package evaluation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/jobs/jobstest"
)

// runStored writes x straight into the table as the value of id, as if
// stored before today's checks, and runs the cycle through a worker as in
// production; it returns the store and the finished job.
func runStored(t *testing.T, f fixture, b jobstest.Broker, id string, x float64) (*evaluation.Store, jobs.Job) {
	t.Helper()
	if err := f.db.Model(&indicators.Value{}).Where("id = ?", id).Update("number", x).Error; err != nil {
		t.Fatal(err)
	}
	rs := evaluation.NewStore(f.db, b.Queue, indicators.NewSchemeStore(f.db))
	reg := jobs.NewRegistry()
	reg.Register(evaluation.JobKind, rs.Handler())
	jobstest.Work(t, f.db, b, reg, 1)
	job, err := rs.Request(context.Background(), f.admin, f.cycle, evaluation.Settings{Draws: 20})
	if err != nil {
		t.Fatal(err)
	}
	return rs, jobstest.Wait(t, b.Queue, job.ID, 30*time.Second)
}

// TestProbe01PoisonStoredBeforeBound: a value of 1e308 stored before
// values were bounded (here written straight into the table) no longer
// stops the cycle: the run job succeeds at its first attempt, the region
// is unscorable with a problem naming the indicator, the others are
// graded. In both modes.
func TestProbe01PoisonStoredBeforeBound(t *testing.T) {
	jobstest.EachMode(t, func(t *testing.T, db *gorm.DB, b jobstest.Broker) {
		f := newFixture(t, db)
		rs, done := runStored(t, f, b, "140200-B1", 1e308)
		if done.Status != jobs.StatusSucceeded || done.Attempts != 1 {
			t.Fatalf("job %s after %d attempts: %s", done.Status, done.Attempts, done.Error)
		}
		_, res, err := rs.Get(context.Background(), f.admin, f.runOf(t, done.ID).ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range res.Regions {
			switch {
			case rr.Code == "140200":
				if rr.Status != engine.StatusUnscorable || rr.Error == nil || !strings.Contains(rr.Error.MessageEn, "B1") {
					t.Errorf("140200: %s %+v, want unscorable naming B1", rr.Status, rr.Error)
				}
			case rr.Status == engine.StatusUnscorable:
				t.Errorf("%s unscorable: %+v", rr.Code, rr.Error)
			}
		}
	})
}

// TestProbe01PermanentFailureShown: a run whose inputs the engine refuses
// (a count of 2.5 written straight into the table) fails at its first
// attempt instead of being retried, and the cycle's failures list it with
// the reason; only admins see them.
func TestProbe01PermanentFailureShown(t *testing.T) {
	jobstest.EachMode(t, func(t *testing.T, db *gorm.DB, b jobstest.Broker) {
		f := newFixture(t, db)
		ctx := context.Background()
		rs, done := runStored(t, f, b, "140200-A2", 2.5)
		if done.Status != jobs.StatusFailed || done.Attempts != 1 || !strings.Contains(done.Error, "whole number") {
			t.Fatalf("job %s after %d attempts (%q), want failed at once with the reason", done.Status, done.Attempts, done.Error)
		}
		failed, err := rs.Failures(ctx, f.admin, f.cycle)
		if err != nil || len(failed) != 1 || failed[0].ID != done.ID || failed[0].Error != done.Error {
			t.Fatalf("failures %+v, %v; want the job with its reason", failed, err)
		}
		if _, err := rs.Failures(ctx, taiyuan, f.cycle); err == nil {
			t.Error("a city official sees failed runs")
		}
	})
}
