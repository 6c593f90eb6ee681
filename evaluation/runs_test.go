package evaluation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/cycles/cyclestest"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/jobs/jobstest"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
)

var taiyuan = auth.Principal{UserID: "u-ty", Username: "taiyuan", Role: auth.RoleCity, RegionCode: "140100"}

type fixture struct {
	admin  auth.Principal // a stored user: jobs name their creator
	db     *gorm.DB
	runs   *evaluation.Store
	queue  *jobs.Queue
	redis  asynq.RedisConnOpt
	cycles *cycles.Store
	cycle  string
}

// newFixture sets up three cities with verified values for every reported
// indicator of the default scheme (Taiyuan strong but without funding), a
// cycle in scoring, and a queue on an embedded broker.
func newFixture(tb testing.TB, db *gorm.DB) fixture {
	tb.Helper()
	ctx := context.Background()
	c, _ := cyclestest.Cycle(tb, db, nil, 2025)
	cs := cycles.NewStore(db)
	schemes := indicators.NewSchemeStore(db)
	b := jobstest.Start(tb, db)
	q, opt := b.Queue, b.Opt
	u, _, err := auth.NewStore(db, nil).CreateUser(ctx, auth.NewUser{Username: "admin", DisplayName: "admin", Role: auth.RoleAdmin})
	if err != nil {
		tb.Fatal(err)
	}
	f := fixture{admin: auth.Principal{UserID: u.ID, Username: u.Username, Role: auth.RoleAdmin},
		db: db, runs: evaluation.NewStore(db, q, schemes), queue: q, redis: opt, cycles: cs, cycle: c.ID}
	for i, region := range []string{"140100", "140200", "140300"} {
		for _, ind := range scheme.Default().Indicators {
			if ind.SurveySourced() {
				continue
			}
			x := strength(ind, 3-i)
			if ind.Code == "F1" && region == "140100" {
				x = 0
			}
			f.verified(tb, region, ind.Code, x)
		}
	}
	f.transition(tb, cycles.Collecting)
	f.transition(tb, cycles.Scoring)
	return f
}

// strength is a plausible value of ind for a region of strength s (1–3):
// a strong region comes close to the goalposts' upper bound.
func strength(ind scheme.Indicator, s int) float64 {
	n := ind.Normalisation
	switch {
	case n.Method == scheme.MethodBinary:
		return 1
	case ind.Code == "F1":
		return 100
	case n.Lower != nil && n.Upper != nil:
		return math.Round(*n.Lower + (*n.Upper-*n.Lower)*(0.3*float64(s)+0.05))
	}
	return 3 * float64(s)
}

// verified stores a verified value directly: the review workflow is
// tested in package indicators.
func (f fixture) verified(tb testing.TB, region, code string, x float64) {
	tb.Helper()
	now := time.Now().UTC()
	if err := f.db.Create(&indicators.Value{ID: fmt.Sprintf("%s-%s", region, code), CycleID: f.cycle, RegionCode: region,
		IndicatorCode: code, Number: &x, Status: indicators.StatusVerified, Version: 3, UpdatedBy: "u-admin",
		UpdatedAt: now, CreatedAt: now}).Error; err != nil {
		tb.Fatal(err)
	}
}

func (f fixture) transition(tb testing.TB, to cycles.Status) {
	tb.Helper()
	if _, err := f.cycles.Transition(context.Background(), f.cycle, to); err != nil {
		tb.Fatal(err)
	}
}

// run requests a run and executes its job in the test, as a worker would.
func (f fixture) run(tb testing.TB) evaluation.Run {
	tb.Helper()
	ctx := context.Background()
	job, err := f.runs.Request(ctx, f.admin, f.cycle, evaluation.Settings{})
	if err != nil {
		tb.Fatal(err)
	}
	out, err := f.runs.Handler()(ctx, job, func(int, string) {})
	if err != nil {
		tb.Fatal(err)
	}
	// A worker marks the job done; here the test does.
	if err := f.db.Model(&jobs.Job{}).Where("id = ?", job.ID).Updates(map[string]any{"status": jobs.StatusSucceeded, "result": out}).Error; err != nil {
		tb.Fatal(err)
	}
	list, err := f.runs.List(ctx, f.admin, f.cycle)
	if err != nil || len(list) == 0 {
		tb.Fatalf("runs after a run: %v, %v", list, err)
	}
	r, _, err := f.runs.Get(ctx, f.admin, list[0].ID)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestRunIsReproducibleAndCapped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first := f.run(t)
		second := f.run(t)
		if first.ID == second.ID || first.Results != second.Results || first.ResultsHash != second.ResultsHash || first.InputsHash != second.InputsHash {
			t.Fatalf("a rerun on unchanged inputs differs: %s vs %s", first.ResultsHash, second.ResultsHash)
		}
		if first.Sensitivity == "" || first.Sensitivity != second.Sensitivity || first.Seed != second.Seed {
			t.Fatal("a rerun on unchanged inputs drew other sensitivity intervals")
		}
		sens, err := f.runs.Sensitivity(ctx, f.admin, first.ID)
		if err != nil || sens.Draws != 1000 || len(sens.Regions) != 3 || uint64(first.Seed) != sens.Seed {
			t.Fatalf("sensitivity: %d draws, %d regions, seed %d/%d, %v", sens.Draws, len(sens.Regions), first.Seed, sens.Seed, err)
		}
		_, ty, err := f.runs.Region(ctx, f.admin, first.ID, "140100")
		if err != nil {
			t.Fatal(err)
		}
		if ty.BandGrade != "excellent" || ty.Grade != "good" || ty.AwardEligible {
			t.Fatalf("Taiyuan without funding: band %s, grade %s, award %v", ty.BandGrade, ty.Grade, ty.AwardEligible)
		}
		if text := ty.Explanation.Text("zh"); !strings.Contains(text, "R1") {
			t.Fatalf("explanation does not cite R1: %s", text)
		}
	})
}

func TestRunRequests(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		if _, err := f.runs.Request(ctx, taiyuan, f.cycle, evaluation.Settings{}); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a city official runs: %v", err)
		}
		// Two requests at once: one job.
		ids := make([]string, 2)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				job, err := f.runs.Request(ctx, f.admin, f.cycle, evaluation.Settings{})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = job.ID
			})
		}
		wg.Wait()
		if ids[0] == "" || ids[0] != ids[1] {
			t.Fatalf("two requests made jobs %q and %q, want one", ids[0], ids[1])
		}
		// A retried job finds the run its first attempt stored.
		job, err := f.queue.Get(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.runs.Handler()(ctx, job, func(int, string) {})
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.runs.Handler()(ctx, job, func(int, string) {})
		if err != nil || a != b {
			t.Fatalf("retry stored %s, first attempt %s (%v)", b, a, err)
		}

		f.transition(t, cycles.Collecting)
		if _, err := f.runs.Request(ctx, f.admin, f.cycle, evaluation.Settings{}); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("run while collecting: %v", err)
		}
	})
}

func TestPublish(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		r := f.run(t)
		if _, _, err := f.runs.Get(ctx, taiyuan, r.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("a city official reads an unpublished run: %v", err)
		}
		if list, err := f.runs.List(ctx, taiyuan, f.cycle); err != nil || len(list) != 0 {
			t.Fatalf("a city official lists unpublished runs: %v, %v", list, err)
		}
		if _, err := f.runs.Publish(ctx, taiyuan, r.ID); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a city official publishes: %v", err)
		}
		before, err := f.runs.PublishedStamp(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.runs.Publish(ctx, f.admin, r.ID)
		if err != nil || p.PublishedAt == nil {
			t.Fatalf("publish: %+v, %v", p, err)
		}
		if after, err := f.runs.PublishedStamp(ctx); err != nil || after == before {
			t.Fatalf("the publication stamp stays %q after publishing (%v)", after, err)
		}
		c, err := f.cycles.Get(ctx, f.cycle)
		if err != nil || c.Status != cycles.Published {
			t.Fatalf("cycle after publishing: %s, %v", c.Status, err)
		}
		if _, err := f.runs.Publish(ctx, f.admin, r.ID); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("publish twice: %v", err)
		}
		_, res, err := f.runs.Get(ctx, taiyuan, r.ID)
		if err != nil || len(res.Regions) != 1 || res.Regions[0].Code != "140100" {
			t.Fatalf("a city official sees %d regions of the published run (%v)", len(res.Regions), err)
		}
		if _, _, err := f.runs.Region(ctx, taiyuan, r.ID, "140200"); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("a city official reads another region: %v", err)
		}
		// The overview shows the whole ranking, but only Taiyuan's detail.
		_, ov, err := f.runs.Overview(ctx, taiyuan, r.ID)
		if err != nil || len(ov.Regions) != 3 {
			t.Fatalf("overview for a city official: %d regions (%v)", len(ov.Regions), err)
		}
		for _, rr := range ov.Regions {
			own := rr.Code == "140100"
			if own != (len(rr.Indicators) > 0) || (!own && (len(rr.Explanation.Sentences) > 0 || len(rr.Rules) > 0)) || rr.Rank == 0 {
				t.Errorf("region %s in a city official's overview: %d indicators, rank %d", rr.Code, len(rr.Indicators), rr.Rank)
			}
		}
	})
}

// TestPublishHook runs the store's publish hooks in the publishing
// transaction: a hook that fails undoes the publication, one that
// succeeds sees the published run and its job is committed with it.
func TestPublishHook(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	r := f.run(t)
	failing := evaluation.NewStore(f.db, f.queue, indicators.NewSchemeStore(f.db), evaluation.WithPublishHook(
		func(*gorm.DB, auth.Principal, evaluation.Run) ([]jobs.Job, error) {
			return nil, errors.New("hook failed")
		}))
	if _, err := failing.Publish(ctx, f.admin, r.ID); err == nil {
		t.Fatal("a failing hook did not fail the publication")
	}
	if c, _ := f.cycles.Get(ctx, f.cycle); c.Status != cycles.Scoring {
		t.Fatalf("a failed publication left the cycle %s", c.Status)
	}
	var seen []evaluation.Run
	hooked := evaluation.NewStore(f.db, f.queue, indicators.NewSchemeStore(f.db), evaluation.WithPublishHook(
		func(tx *gorm.DB, by auth.Principal, pr evaluation.Run) ([]jobs.Job, error) {
			seen = append(seen, pr)
			j, err := f.queue.SubmitTx(tx, "test.after_publish", map[string]string{"run_id": pr.ID}, by.UserID)
			return []jobs.Job{j}, err
		}))
	p, err := hooked.Publish(ctx, f.admin, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].ID != r.ID || seen[0].PublishedAt == nil || !seen[0].PublishedAt.Equal(*p.PublishedAt) {
		t.Fatalf("the hook saw %+v", seen)
	}
	if js, err := f.queue.List(ctx, jobs.Filter{Kind: "test.after_publish"}); err != nil || len(js) != 1 {
		t.Fatalf("the hook's job: %v, %v", js, err)
	}
}

func TestDiff(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a := f.run(t)
		// The manager reopens collection and a value changes.
		f.transition(t, cycles.Collecting)
		if err := db.Model(&indicators.Value{}).Where("region_code = ? AND indicator_code = ?", "140300", "A2").
			Update("number", 10).Error; err != nil {
			t.Fatal(err)
		}
		// Datong leaves the assessed set and a new zone joins it.
		if err := db.Model(&regions.Region{}).Where("code = ?", "140200").Update("kind", kind.Province).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&regions.Region{Code: "140900", Name: "新区", Kind: "reform_zone"}).Error; err != nil {
			t.Fatal(err)
		}
		f.transition(t, cycles.Scoring)
		b := f.run(t)
		d, err := f.runs.Diff(ctx, f.admin, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Yangquan's A2 changed; Datong's values are no longer inputs.
		for _, c := range d.Inputs {
			switch {
			case c.RegionCode == "140300" && c.IndicatorCode == "A2" && c.B != nil && c.B.Number == 10:
			case c.RegionCode == "140200" && c.A != nil && c.B == nil:
			default:
				t.Errorf("unexpected input change %+v", c)
			}
		}
		if len(d.Inputs) < 2 {
			t.Errorf("input changes %+v lack Yangquan's A2 or Datong's values", d.Inputs)
		}
		presence := map[string]evaluation.Presence{}
		for _, r := range d.Regions {
			presence[r.Code] = r.Presence
			if r.Code == "140300" && !(r.ScoreB.Value > r.ScoreA.Value) {
				t.Fatalf("Yangquan's score did not rise: %+v", r)
			}
		}
		want := map[string]evaluation.Presence{"140300": evaluation.PresenceBoth, "140200": evaluation.PresenceRemoved, "140900": evaluation.PresenceAdded}
		for code, p := range want {
			if presence[code] != p {
				t.Errorf("region %s: presence %q, want %q (changes %+v)", code, presence[code], p, d.Regions)
			}
		}
		if same, err := f.runs.Diff(ctx, f.admin, a.ID, a.ID); err != nil || len(same.Inputs)+len(same.Regions) != 0 {
			t.Fatalf("a run against itself: %+v, %v", same, err)
		}
		if _, err := f.runs.Diff(ctx, taiyuan, a.ID, b.ID); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a city official compares runs: %v", err)
		}
	})
}

// TestRunSurvivesWorkerShutdown stops a worker in the middle of a run, in
// the sensitivity analysis: the job goes back to the queue, another worker
// finishes it, and the stored run is the same, byte for byte, as a run that
// was never interrupted.
func TestRunSurvivesWorkerShutdown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		want, err := f.runs.RunNow(ctx, f.admin, f.cycle)
		if err != nil {
			t.Fatal(err)
		}

		interrupted := make(chan struct{})
		var once sync.Once
		first := jobs.NewRegistry()
		first.Register(evaluation.JobKind, func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
			return f.runs.Handler()(ctx, job, func(pct int, msg string) {
				progress(pct, msg)
				if msg == "sensitivity analysis" {
					once.Do(func() { close(interrupted) })
					<-ctx.Done() // held here until the worker gives the task up
				}
			})
		})
		w1 := jobs.NewWorker(db, f.redis, first, 1, nil)
		w1.ShutdownTimeout, w1.PollInterval = 200*time.Millisecond, 50*time.Millisecond
		if err := w1.Start(); err != nil {
			t.Fatal(err)
		}
		job, err := f.runs.Request(ctx, f.admin, f.cycle, evaluation.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-interrupted:
		case <-time.After(20 * time.Second):
			t.Fatal("the first worker never reached the sensitivity analysis")
		}
		w1.Shutdown()
		if got, err := f.queue.Get(ctx, job.ID); err != nil || got.Status != jobs.StatusQueued {
			t.Fatalf("after the shutdown the job is %s (%v), want queued", got.Status, err)
		}

		second := jobs.NewRegistry()
		second.Register(evaluation.JobKind, f.runs.Handler())
		w2 := jobs.NewWorker(db, f.redis, second, 1, nil)
		w2.PollInterval = 50 * time.Millisecond
		if err := w2.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w2.Shutdown)
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := f.queue.Get(ctx, job.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == jobs.StatusSucceeded {
				break
			}
			if got.Status == jobs.StatusFailed || time.Now().After(deadline) {
				t.Fatalf("resumed job: %+v", got)
			}
			time.Sleep(50 * time.Millisecond)
		}
		list, err := f.runs.List(ctx, f.admin, f.cycle)
		if err != nil || len(list) != 2 {
			t.Fatalf("runs %d (%v), want the uninterrupted one and the resumed one", len(list), err)
		}
		for _, r := range list {
			full, _, err := f.runs.Get(ctx, f.admin, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if full.Results != want.Results || full.Sensitivity != want.Sensitivity {
				t.Fatalf("run %s differs from the uninterrupted run", r.ID)
			}
		}
	})
}

// TestRunSurvivesBrokerRestart restarts the broker, empty, twice: while a
// run waits in its queue, and while a worker is in the run's sensitivity
// analysis, which the test holds there until the broker is back. The
// sweeper hands the lost task to the broker again, the running job
// finishes, and the job stores one run, by one attempt, equal to a run of
// the same settings that nothing interrupted.
func TestRunSurvivesBrokerRestart(t *testing.T) {
	jobstest.EachMode(t, func(t *testing.T, db *gorm.DB, b jobstest.Broker) {
		f := newFixture(t, db)
		ctx := context.Background()
		rs := evaluation.NewStore(db, b.Queue, indicators.NewSchemeStore(db))
		set := evaluation.Settings{Draws: 5000, SwapNormalisation: true, ToggleImputation: true}
		clean, err := rs.Request(ctx, f.admin, f.cycle, set)
		if err != nil {
			t.Fatal(err)
		}
		out, err := rs.Handler()(ctx, clean, func(int, string) {})
		if err != nil {
			t.Fatal(err)
		}
		// The job ran here, not in a worker: let the next request start
		// another.
		if err := db.Model(&jobs.Job{}).Where("id = ?", clean.ID).Updates(map[string]any{"status": jobs.StatusSucceeded, "result": out}).Error; err != nil {
			t.Fatal(err)
		}
		want := f.runOf(t, clean.ID)

		job, err := rs.Request(ctx, f.admin, f.cycle, set)
		if err != nil {
			t.Fatal(err)
		}
		b.Restart() // the task is gone; the row stays queued

		// The production handler, held in its sensitivity analysis (a few
		// milliseconds here) until the broker is back.
		inAnalysis, resume := make(chan struct{}), make(chan struct{})
		var once sync.Once
		reg := jobs.NewRegistry()
		reg.Register(evaluation.JobKind, func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
			return rs.Handler()(ctx, job, func(pct int, msg string) {
				progress(pct, msg)
				if msg == "sensitivity analysis" {
					once.Do(func() { close(inAnalysis) })
					select {
					case <-resume:
					case <-ctx.Done():
					}
				}
			})
		})
		jobstest.Work(t, db, b, reg, 1)
		select {
		case <-inAnalysis:
		case <-time.After(20 * time.Second):
			t.Fatal("the lost run was not started again")
		}
		b.Restart()
		time.Sleep(300 * time.Millisecond) // the worker's heartbeats and the sweeper meet the empty broker
		close(resume)

		done := jobstest.Wait(t, b.Queue, job.ID, 30*time.Second)
		if done.Status != jobs.StatusSucceeded || done.Attempts != 1 {
			t.Fatalf("job: %s after %d attempts (%s), want succeeded at the first", done.Status, done.Attempts, done.Error)
		}
		got := f.runOf(t, job.ID)
		if got.Results != want.Results || got.Sensitivity != want.Sensitivity || got.ResultsHash != want.ResultsHash {
			t.Fatal("the run differs from the uninterrupted run")
		}
	})
}

// runOf returns the one run a job stored, failing unless there is exactly one.
func (f fixture) runOf(tb testing.TB, jobID string) evaluation.Run {
	tb.Helper()
	var rs []evaluation.Run
	if err := f.db.Where("job_id = ?", jobID).Find(&rs).Error; err != nil {
		tb.Fatal(err)
	}
	if len(rs) != 1 {
		tb.Fatalf("job %s stored %d runs, want 1", jobID, len(rs))
	}
	return rs[0]
}

// TestRunUsesItsSnapshot changes a value while a run is scoring: the run
// stores what it read when it started.
func TestRunUsesItsSnapshot(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		job, err := f.runs.Request(ctx, f.admin, f.cycle, evaluation.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		scoring, proceed := make(chan struct{}), make(chan struct{})
		var once sync.Once
		done := make(chan error, 1)
		go func() {
			_, err := f.runs.Handler()(ctx, job, func(_ int, msg string) {
				if msg == "scoring" {
					once.Do(func() { close(scoring); <-proceed })
				}
			})
			done <- err
		}()
		<-scoring
		var before float64
		if err := db.Model(&indicators.Value{}).Select("number").Where("region_code = ? AND indicator_code = ?", "140300", "A2").
			Scan(&before).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Model(&indicators.Value{}).Where("region_code = ? AND indicator_code = ?", "140300", "A2").
			Update("number", before+1).Error; err != nil {
			t.Fatal(err)
		}
		close(proceed)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		list, err := f.runs.List(ctx, f.admin, f.cycle)
		if err != nil || len(list) != 1 {
			t.Fatalf("runs %v, %v", list, err)
		}
		r, _, err := f.runs.Get(ctx, f.admin, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var in engine.Input
		if err := json.Unmarshal([]byte(r.Inputs), &in); err != nil {
			t.Fatal(err)
		}
		if got := in.Values["140300"]["A2"].Number; got != before {
			t.Fatalf("the run stored A2 = %v, want %v as read when it started", got, before)
		}
	})
}
