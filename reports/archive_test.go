package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/cycles/cyclestest"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/jobs/jobstest"
	"github.com/ipeval/ipeval/reports/render"
)

var (
	taiyuan = auth.Principal{UserID: "u-ty", Username: "taiyuan", Role: auth.RoleCity, RegionCode: "140100"}
	datong  = auth.Principal{UserID: "u-dt", Username: "datong", Role: auth.RoleCity, RegionCode: "140200"}
)

// fixture is three cities with verified values in a cycle in scoring, a
// runs store whose publications queue a render, and the archive.
type fixture struct {
	db      *gorm.DB
	admin   auth.Principal
	runs    *evaluation.Store
	reports *Store
	cycle   string
}

func newFixture(tb testing.TB, db *gorm.DB) fixture {
	tb.Helper()
	ctx := context.Background()
	c, _ := cyclestest.Collecting(tb, db, nil, 2025)
	cs := cycles.NewStore(db)
	schemes := indicators.NewSchemeStore(db)
	now := time.Now().UTC()
	for i, region := range []string{"140100", "140200", "140300"} {
		for j, ind := range scheme.Default().Indicators {
			if ind.SurveySourced() {
				continue
			}
			x := float64((i*7+j*3)%10 + 1)
			if n := ind.Normalisation; n.Method == scheme.MethodBinary {
				x = float64((i + j) % 2)
			} else if ind.Max != nil {
				x = math.Min(x*10, *ind.Max)
			}
			if err := db.Create(&indicators.Value{ID: fmt.Sprintf("%s-%s", region, ind.Code), CycleID: c.ID, RegionCode: region,
				IndicatorCode: ind.Code, Number: &x, Status: indicators.StatusVerified, Version: 1, UpdatedBy: "u-admin",
				UpdatedAt: now, CreatedAt: now}).Error; err != nil {
				tb.Fatal(err)
			}
		}
	}
	if _, err := cs.Transition(ctx, c.ID, cycles.Scoring); err != nil {
		tb.Fatal(err)
	}
	u, _, err := auth.NewStore(db, nil).CreateUser(ctx, auth.NewUser{Username: "admin", DisplayName: "admin", Role: auth.RoleAdmin})
	if err != nil {
		tb.Fatal(err)
	}
	q := jobstest.NewQueue(tb, db)
	rs := evaluation.NewStore(db, q, schemes, evaluation.WithPublishHook(PublishHook(q)))
	return fixture{db: db, admin: auth.Principal{UserID: u.ID, Username: u.Username, Role: auth.RoleAdmin},
		runs: rs, reports: NewStore(db, q, rs, schemes, cs), cycle: c.ID}
}

// run scores the cycle, running the job in the test as a worker would.
func (f fixture) run(tb testing.TB) evaluation.Run {
	tb.Helper()
	ctx := context.Background()
	job, err := f.runs.Request(ctx, f.admin, f.cycle, evaluation.Settings{Draws: 100})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.runs.Handler()(ctx, job, func(int, string) {}); err != nil {
		tb.Fatal(err)
	}
	list, err := f.runs.List(ctx, f.admin, f.cycle)
	if err != nil || len(list) == 0 {
		tb.Fatalf("runs: %v, %v", list, err)
	}
	return list[0]
}

// render runs a render job in the test and marks it done, as a worker would.
func (f fixture) render(tb testing.TB, job jobs.Job) Stored {
	tb.Helper()
	if _, err := f.reports.Handler()(context.Background(), job, func(int, string) {}); err != nil {
		tb.Fatal(err)
	}
	if err := f.db.Model(&jobs.Job{}).Where("id = ?", job.ID).Update("status", jobs.StatusSucceeded).Error; err != nil {
		tb.Fatal(err)
	}
	var p payload
	if err := job.Decode(&p); err != nil {
		tb.Fatal(err)
	}
	st, err := f.reports.Get(context.Background(), f.admin, p.RunID)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// queued is the render job of a run waiting in the jobs table.
func (f fixture) queued(tb testing.TB, runID string) jobs.Job {
	tb.Helper()
	var js []jobs.Job
	if err := f.db.Where("kind = ? AND status = ?", JobKind, jobs.StatusQueued).Find(&js).Error; err != nil {
		tb.Fatal(err)
	}
	for _, j := range js {
		if strings.Contains(j.Payload, runID) {
			return j
		}
	}
	tb.Fatalf("no queued render job of run %s among %d", runID, len(js))
	return jobs.Job{}
}

// TestPublishRendersReport follows a report through a run's life: a draft
// rendered on request, the render queued by publication, the published
// report replacing the draft, an identical render storing nothing, and
// who reads which edition.
func TestPublishRendersReport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		run := f.run(t)

		if _, err := f.reports.Request(ctx, taiyuan, run.ID); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a city official asks for a render: %v", err)
		}
		if _, err := f.reports.Request(ctx, f.admin, "no-such-run"); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("a render of no run: %v", err)
		}
		if _, err := f.reports.Read(ctx, f.admin, f.cycle, run.ID, ""); !errors.Is(err, ErrNotRendered) {
			t.Fatalf("a report before any render: %v", err)
		}
		job, err := f.reports.Request(ctx, f.admin, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := f.reports.Request(ctx, f.admin, run.ID); err != nil || again.ID != job.ID {
			t.Fatalf("a second request while the first is queued: %s, %v; want job %s", again.ID, err, job.ID)
		}
		draft := f.render(t, job)
		if draft.RunPublishedAt != nil || *draft.JobID != job.ID || draft.Size == 0 || len(draft.SHA256) != 64 {
			t.Fatalf("draft %+v", draft)
		}
		doc, err := f.reports.Read(ctx, f.admin, f.cycle, run.ID, "")
		if err != nil || !bytes.Contains(doc.HTML, []byte("未发布（草稿）")) || int64(len(doc.HTML)) != draft.Size {
			t.Fatalf("the admin's draft: %d bytes, %v", len(doc.HTML), err)
		}
		if _, err := f.reports.Read(ctx, taiyuan, f.cycle, run.ID, "140100"); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("a city official reads a draft: %v", err)
		}

		// Publication queues a render in its own transaction; until it
		// has run, the draft is not served as the published report.
		published, err := f.runs.Publish(ctx, f.admin, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		pj := f.queued(t, run.ID)
		if pj.CreatedBy == nil || *pj.CreatedBy != f.admin.UserID {
			t.Errorf("the render queued by publication is not the publisher's: %v", pj.CreatedBy)
		}
		if _, err := f.reports.Read(ctx, f.admin, f.cycle, published.ID, ""); !errors.Is(err, ErrNotRendered) {
			t.Fatalf("the draft served for a published run: %v", err)
		}
		if j, err := f.reports.Ensure(ctx, f.admin, f.cycle, published.ID); err != nil || j.ID != pj.ID {
			t.Fatalf("ensure while the render is queued: %s, %v; want %s", j.ID, err, pj.ID)
		}
		final := f.render(t, pj)
		if final.RunPublishedAt == nil || *final.JobID != pj.ID || final.SHA256 == draft.SHA256 {
			t.Fatalf("the published report did not replace the draft: %+v", final)
		}
		full, err := f.reports.Read(ctx, f.admin, f.cycle, published.ID, "")
		if err != nil || bytes.Contains(full.HTML, []byte("未发布")) {
			t.Fatalf("the published report: %v", err)
		}

		// Rendering again stores nothing: same bytes, first job and time.
		again, err := f.reports.Request(ctx, f.admin, run.ID)
		if err != nil || again.ID == pj.ID {
			t.Fatalf("a new render after the last finished: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
		same := f.render(t, again)
		if same.SHA256 != final.SHA256 || *same.JobID != pj.ID || !same.RenderedAt.Equal(final.RenderedAt) {
			t.Fatalf("an identical render changed the stored report: %+v, was %+v", same, final)
		}
		if doc, _ := f.reports.Read(ctx, f.admin, f.cycle, published.ID, ""); !bytes.Equal(doc.HTML, full.HTML) {
			t.Fatal("the stored bytes changed")
		}

		// Editions: a city official reads its own region's, nothing else.
		own, err := f.reports.Read(ctx, taiyuan, f.cycle, published.ID, "140100")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(own.HTML, []byte(`id="region-140100"`)) || bytes.Contains(own.HTML, []byte(`id="region-140200"`)) ||
			!bytes.Contains(own.HTML, []byte("附录 评价方法")) {
			t.Error("Taiyuan's edition does not hold exactly Taiyuan's page")
		}
		for _, c := range []struct {
			name string
			by   auth.Principal
			code string
		}{{"another region", taiyuan, "140200"}, {"the province report", datong, ""}, {"a contractor", auth.Principal{UserID: "c", Role: auth.RoleContractor}, "140100"}} {
			if _, err := f.reports.Read(ctx, c.by, f.cycle, published.ID, c.code); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("%s: %v, want forbidden", c.name, err)
			}
		}
		if _, err := f.reports.Read(ctx, f.admin, f.cycle, published.ID, "999999"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a region not in the run: %v", err)
		}
	})
}

// TestRenderAcrossPublication refuses to store a rendering that calls a
// run published meanwhile a draft, and fails a render of no run for good.
func TestRenderAcrossPublication(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	run := f.run(t)
	in, err := f.reports.input(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.runs.Publish(ctx, f.admin, run.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := render.RenderReport(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.reports.store(ctx, "j", run.ID, nil, rep); !errors.Is(err, errPublishedMeanwhile) {
		t.Fatalf("a draft stored for a published run: %v", err)
	}
	// The job itself reads the run again and stores the published report.
	st := f.render(t, f.queued(t, run.ID))
	if st.RunPublishedAt == nil {
		t.Fatal("the job stored a draft")
	}
	_, err = f.reports.Handler()(ctx, jobs.Job{ID: "x", Kind: JobKind, Payload: `{"run_id":"missing"}`}, func(int, string) {})
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a render of no run: %v, want a failure without retry", err)
	}
}

// TestReadChecksTheRun has Read load the run itself: a run is read only
// under its own cycle, a city official reads only a published one, and a
// run that is not there is not found in both languages. A stored layout
// that does not fit its document is an internal error, not a missing page.
func TestReadChecksTheRun(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	run := f.run(t)
	if _, err := f.runs.Publish(ctx, f.admin, run.ID); err != nil {
		t.Fatal(err)
	}
	f.render(t, f.queued(t, run.ID))
	if _, err := f.reports.Read(ctx, taiyuan, f.cycle, run.ID, "140100"); err != nil {
		t.Fatalf("Taiyuan reads its edition of the published run: %v", err)
	}
	for _, c := range []struct {
		name               string
		by                 auth.Principal
		cycle, run, region string
	}{
		{"another cycle, admin", f.admin, "other-cycle", run.ID, ""},
		{"another cycle, city official", taiyuan, "other-cycle", run.ID, "140100"},
		{"no such run", f.admin, f.cycle, "no-such-run", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.reports.Read(ctx, c.by, c.cycle, c.run, c.region)
			var d *fault.Detailed
			if !errors.Is(err, fault.ErrNotFound) || !errors.As(err, &d) || d.Detail == "" || d.DetailZh == "" {
				t.Fatalf("%v, want not found in English and Chinese", err)
			}
		})
	}
	var d *fault.Detailed
	if _, err := f.reports.Request(ctx, f.admin, "no-such-run"); !errors.Is(err, fault.ErrNotFound) || !errors.As(err, &d) || d.DetailZh == "" {
		t.Errorf("a render of no run: %v, want not found in English and Chinese", err)
	}

	if err := f.db.Model(&Stored{}).Where("run_id = ?", run.ID).Update("layout", `{"front":0,"back":999999999,"regions":[]}`).Error; err != nil {
		t.Fatal(err)
	}
	_, err := f.reports.Read(ctx, taiyuan, f.cycle, run.ID, "140100")
	if err == nil || errors.Is(err, fault.ErrNotFound) || errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("a broken layout: %v, want an internal error", err)
	}
}

// TestEnsureQueuesOnce lets a reader's visit queue a render only when the
// published run has never had one: while it is queued the same job comes
// back, after it failed an error says so and nothing is queued, and an
// admin's Request renders again. A city official cannot reach an
// unpublished run through it.
func TestEnsureQueuesOnce(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	run := f.run(t)
	if _, err := f.reports.Ensure(ctx, taiyuan, f.cycle, run.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("a city official ensures an unpublished run's report: %v", err)
	}
	if _, err := f.reports.Ensure(ctx, f.admin, f.cycle, run.ID); !errors.Is(err, ErrNotRendered) {
		t.Fatalf("an admin ensures an unpublished run's report: %v", err)
	}
	// Published without the hook, as the demo data is.
	if err := f.db.Model(&evaluation.Run{}).Where("id = ?", run.ID).Update("published_at", time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		var js []jobs.Job
		if err := f.db.Where("kind = ?", JobKind).Find(&js).Error; err != nil {
			t.Fatal(err)
		}
		return len(js)
	}
	first, err := f.reports.Ensure(ctx, taiyuan, f.cycle, run.ID)
	if err != nil || first.Status != jobs.StatusQueued || count() != 1 {
		t.Fatalf("the first visit: %+v, %v, %d jobs; want one queued", first, err, count())
	}
	if again, err := f.reports.Ensure(ctx, f.admin, f.cycle, run.ID); err != nil || again.ID != first.ID || count() != 1 {
		t.Fatalf("a visit while queued: %s, %v, %d jobs; want %s alone", again.ID, err, count(), first.ID)
	}
	if err := f.db.Model(&jobs.Job{}).Where("id = ?", first.ID).Update("status", jobs.StatusFailed).Error; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := f.reports.Ensure(ctx, taiyuan, f.cycle, run.ID)
		var d *fault.Detailed
		if !errors.Is(err, fault.ErrFailed) || !errors.As(err, &d) || !strings.Contains(d.Detail, "POST /api/v1/runs/"+run.ID+"/report") || d.DetailZh == "" {
			t.Fatalf("a visit after the render failed: %v, want it to say the render failed and how to render again", err)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("visits after a failed render queued %d more jobs", n-1)
	}
	re, err := f.reports.Request(ctx, f.admin, run.ID)
	if err != nil || re.ID == first.ID || count() != 2 {
		t.Fatalf("an admin renders again: %+v, %v, %d jobs", re, err, count())
	}
	f.render(t, re)
	if _, err := f.reports.Read(ctx, taiyuan, f.cycle, run.ID, "140100"); err != nil {
		t.Fatalf("the report rendered again: %v", err)
	}
}

// TestConcurrentRenders stores the first report of a run from renders
// that race: both find no row, and the second insert must not fail on
// the key. put is called twice as the two would; then four stores run at
// once.
func TestConcurrentRenders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		run := f.run(t)
		in, err := f.reports.input(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := render.RenderReport(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, job := range []string{"j1", "j2"} {
			if err := put(db, Stored{RunID: run.ID, JobID: &job, SHA256: "x", Size: 1, RenderedAt: time.Now().UTC(), Body: []byte("x")}); err != nil {
				t.Fatalf("store by %s of a report both found missing: %v", job, err)
			}
		}
		if st, err := f.reports.Get(ctx, f.admin, run.ID); err != nil || *st.JobID != "j2" {
			t.Fatalf("after two stores: %+v, %v; want the later", st, err)
		}
		if err := db.Where("run_id = ?", run.ID).Delete(&Stored{}).Error; err != nil {
			t.Fatal(err)
		}

		errs := make(chan error, 4)
		for i := range 4 {
			go func() {
				_, err := f.reports.store(ctx, fmt.Sprintf("race-%d", i), run.ID, nil, rep)
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Errorf("a racing render: %v", err)
			}
		}
		if st, err := f.reports.Get(ctx, f.admin, run.ID); err != nil || st.Size != int64(len(rep.HTML)) {
			t.Fatalf("after the race: %+v, %v", st, err)
		}
	})
}
