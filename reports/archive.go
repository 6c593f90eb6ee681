package reports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports/render"
)

// JobKind is the job that renders a run's report.
const JobKind = "reports:render"

// ErrNotRendered means the run has no stored report yet, or only one
// rendered before the run was published.
var ErrNotRendered = fmt.Errorf("report not rendered yet: %w", fault.ErrNotFound)

// Stored is the rendered report of a run, a row of the table of migration
// 0007.
type Stored struct {
	RunID string `json:"run_id" gorm:"primaryKey"`
	// JobID is the job that rendered the stored bytes.
	JobID      *string   `json:"job_id"`
	SHA256     string    `json:"sha256" gorm:"column:sha256"`
	Size       int64     `json:"size"`
	RenderedAt time.Time `json:"rendered_at"`
	// RunPublishedAt is when the run was published, as the document says;
	// nil for a draft rendered before publication.
	RunPublishedAt *time.Time `json:"run_published_at"`
	// Layout is where each region's page lies in Body (reports.Layout).
	Layout string `json:"-"`
	Body   []byte `json:"-"`
}

// TableName is the table of migration 0007.
func (Stored) TableName() string { return "run_reports" }

// Document is a report as a reader gets it: the province report or a
// region's edition of it.
type Document struct {
	Stored
	// Region is the region of an edition; empty for the province report.
	Region string
	HTML   []byte
}

// payload is what a render job carries.
type payload struct {
	RunID string `json:"run_id"`
}

// Store keeps the rendered reports of runs.
type Store struct {
	db      *gorm.DB
	queue   *jobs.Queue
	runs    *evaluation.Store
	schemes *indicators.SchemeStore
	cycles  *cycles.Store
}

// NewStore returns a Store on db that submits render jobs to queue and
// reads what it renders from runs, schemes and cycles.
func NewStore(db *gorm.DB, queue *jobs.Queue, rs *evaluation.Store, schemes *indicators.SchemeStore, cs *cycles.Store) *Store {
	return &Store{db: db, queue: queue, runs: rs, schemes: schemes, cycles: cs}
}

// PublishHook is the runs.PublishHook that queues the rendering of a
// run's report when the run is published, inside the publishing
// transaction: the job exists if and only if the publication commits.
func PublishHook(queue *jobs.Queue) evaluation.PublishHook {
	return func(tx *gorm.DB, by auth.Principal, r evaluation.Run) ([]jobs.Job, error) {
		job, fresh, err := submit(tx, queue, r.ID, by.UserID)
		if err != nil || !fresh {
			return nil, err
		}
		return []jobs.Job{job}, nil
	}
}

// Request asks for the report of a run, published or not, to be rendered
// (again) as a job. While a render of the run is queued or running, it
// returns that job. Only admins ask.
func (s *Store) Request(ctx context.Context, by auth.Principal, runID string) (jobs.Job, error) {
	if !by.Is(auth.RoleAdmin) {
		return jobs.Job{}, fault.With(fault.ErrForbidden, "only provincial managers have reports rendered",
			"仅省级管理员可生成评价报告", nil)
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&evaluation.Run{}).Where("id = ?", runID).Count(&n).Error; err != nil {
		return jobs.Job{}, fmt.Errorf("find run: %w", err)
	}
	if n == 0 {
		return jobs.Job{}, noRun(runID)
	}
	return s.enqueue(ctx, runID, by.UserID)
}

// noRun is the error of a run that is not there, or not for the caller:
// both read alike, so that a run's existence leaks nothing.
func noRun(runID string) error {
	return fault.With(fault.ErrNotFound, fmt.Sprintf("run %s not found", runID), fmt.Sprintf("评价运行 %s 不存在", runID), nil)
}

// Ensure is what a reader of a run's report gets while Read finds none to
// serve: the render job to wait for. It queues one — the system's, not
// the reader's — only when the published run has never had one, so that a
// run published without the hook (the demo data) gets its report the
// first time somebody opens it, while reloading a page never piles up
// jobs. A render that failed, or whose report is out of date, is an error
// (fault.ErrFailed): rendering again is a provincial manager's decision
// (Request). by, cycleID and runID are checked as Read checks them; an
// unpublished run without a report is not found, with a word on how to
// render one.
func (s *Store) Ensure(ctx context.Context, by auth.Principal, cycleID, runID string) (jobs.Job, error) {
	run, err := s.visibleRun(ctx, by, cycleID, runID)
	if err != nil {
		return jobs.Job{}, err
	}
	if run.PublishedAt == nil {
		return jobs.Job{}, fault.With(ErrNotRendered,
			fmt.Sprintf("run %s has no report; POST /api/v1/runs/%s/report renders one", run.ID, run.ID),
			fmt.Sprintf("评价运行 %s 尚未生成报告；可通过 POST /api/v1/runs/%s/report 生成", run.ID, run.ID), nil)
	}
	var job jobs.Job
	fresh := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		last, found, err := latestJob(tx, run.ID)
		switch {
		case err != nil:
			return err
		case !found:
			job, fresh, err = submit(tx, s.queue, run.ID, "")
			return err
		case last.Status == jobs.StatusQueued || last.Status == jobs.StatusRunning:
			job = last
			return nil
		case last.Status == jobs.StatusSucceeded:
			// It may have finished since Read looked.
			var n int64
			if err := tx.Model(&Stored{}).Where("run_id = ? AND run_published_at IS NOT NULL", run.ID).Count(&n).Error; err != nil {
				return fmt.Errorf("find report: %w", err)
			}
			if n > 0 {
				job = last
				return nil
			}
		}
		return fault.With(fault.ErrFailed,
			fmt.Sprintf("the report of run %s could not be rendered (job %s); a provincial manager can render it again with POST /api/v1/runs/%s/report", run.ID, last.ID, run.ID),
			fmt.Sprintf("评价运行 %s 的报告未能生成（后台任务 %s）；省级管理员可通过 POST /api/v1/runs/%s/report 重新生成", run.ID, last.ID, run.ID), nil)
	})
	if err != nil {
		return jobs.Job{}, err
	}
	if fresh {
		// The job row is committed. Enqueue logs a failure, and the
		// sweeper enqueues the job later.
		_ = s.queue.Enqueue(ctx, job)
	}
	return job, nil
}

// latestJob is the newest render job of a run, whatever its status.
func latestJob(tx *gorm.DB, runID string) (jobs.Job, bool, error) {
	var js []jobs.Job
	// The pattern narrows the search; decoding decides.
	if err := tx.Where("kind = ? AND payload LIKE ?", JobKind, "%"+runID+"%").
		Order("created_at DESC, id DESC").Find(&js).Error; err != nil {
		return jobs.Job{}, false, fmt.Errorf("find report jobs: %w", err)
	}
	for _, j := range js {
		var p payload
		if j.Decode(&p) == nil && p.RunID == runID {
			return j, true, nil
		}
	}
	return jobs.Job{}, false, nil
}

func (s *Store) enqueue(ctx context.Context, runID, createdBy string) (jobs.Job, error) {
	var job jobs.Job
	fresh := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		job, fresh, err = submit(tx, s.queue, runID, createdBy)
		return err
	})
	if err != nil {
		return jobs.Job{}, err
	}
	if fresh {
		// The job row is committed. Enqueue logs a failure, and the
		// sweeper enqueues the job later.
		_ = s.queue.Enqueue(ctx, job)
	}
	return job, nil
}

// submit records a render job of the run in tx, or returns the one queued
// or running; fresh says which. Two requests that race may both submit:
// rendering is idempotent, so the second job stores nothing.
func submit(tx *gorm.DB, queue *jobs.Queue, runID, createdBy string) (job jobs.Job, fresh bool, err error) {
	return queue.SubmitOnceTx(tx, JobKind, payload{RunID: runID}, createdBy, func(j jobs.Job) bool {
		var p payload
		return j.Decode(&p) == nil && p.RunID == runID
	})
}

// system is the principal a job acts as: it was authorised when queued.
func system() auth.Principal {
	return auth.Principal{UserID: "system", Username: "system", Role: auth.RoleAdmin}
}

// errPublishedMeanwhile ends a rendering whose run was published while it
// was being rendered: the document would call a published run a draft.
var errPublishedMeanwhile = errors.New("run published during rendering")

// Handler is the job that renders a run's report and stores it. It is
// idempotent: the same run renders the same bytes, and a document equal
// to the stored one is not written again (the first rendering's job and
// time stay). A different document — the run was published since, or
// another version of ipeval renders it differently — replaces it.
func (s *Store) Handler() jobs.Handler {
	return func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
		var p payload
		if err := job.Decode(&p); err != nil {
			return "", err
		}
		for attempt := 1; ; attempt++ {
			progress(10, "reading the run")
			in, err := s.input(ctx, p.RunID)
			if err != nil {
				return "", err
			}
			progress(40, "rendering")
			rep, err := render.RenderReport(in)
			if err != nil {
				return "", fmt.Errorf("render report of run %s: %w", p.RunID, err)
			}
			progress(80, "storing")
			st, err := s.store(ctx, job.ID, p.RunID, in.Run.PublishedAt, rep)
			if errors.Is(err, errPublishedMeanwhile) && attempt < 3 {
				continue
			}
			if err != nil {
				return "", err
			}
			b, err := json.Marshal(st)
			return string(b), err
		}
	}
}

// input reads what the report of a run shows.
func (s *Store) input(ctx context.Context, runID string) (render.ReportInput, error) {
	r, res, err := s.runs.Overview(ctx, system(), runID)
	if errors.Is(err, fault.ErrNotFound) {
		// A run is never deleted: one that is not there never will be.
		return render.ReportInput{}, fmt.Errorf("report of run %s: %w: %w", runID, err, asynq.SkipRetry)
	}
	if err != nil {
		return render.ReportInput{}, err
	}
	in := render.ReportInput{Result: res,
		Run: render.ReportRun{ID: r.ID, CreatedAt: r.CreatedAt, PublishedAt: r.PublishedAt, InputsHash: r.InputsHash, ResultsHash: r.ResultsHash}}
	if r.Sensitivity != "" {
		var sens engine.SensitivityResult
		if err := json.Unmarshal([]byte(r.Sensitivity), &sens); err != nil {
			return in, fmt.Errorf("decode sensitivity of run %s: %w", r.ID, err)
		}
		in.Sensitivity = &sens
	}
	st, err := s.schemes.Get(ctx, r.SchemeID)
	if err != nil {
		return in, err
	}
	if in.Scheme, err = s.schemes.Decode(st); err != nil {
		return in, err
	}
	cy, err := s.cycles.Get(ctx, r.CycleID)
	if err != nil {
		return in, err
	}
	in.Cycle = render.ReportCycle{Year: cy.Year, Name: cy.Name}
	return in, nil
}

// store keeps a rendered report unless the same bytes are already stored.
func (s *Store) store(ctx context.Context, jobID, runID string, published *time.Time, rep render.Report) (Stored, error) {
	layout, err := json.Marshal(rep.Layout)
	if err != nil {
		return Stored{}, fmt.Errorf("encode report layout: %w", err)
	}
	sum := sha256.Sum256(rep.HTML)
	row := Stored{RunID: runID, JobID: &jobID, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(rep.HTML)),
		RenderedAt: time.Now().UTC().Truncate(time.Millisecond), RunPublishedAt: published, Layout: string(layout), Body: rep.HTML}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var run evaluation.Run
		if err := tx.Select("id", "published_at").Where("id = ?", runID).Take(&run).Error; err != nil {
			return fmt.Errorf("get run: %w", err)
		}
		if (run.PublishedAt == nil) != (published == nil) {
			return errPublishedMeanwhile
		}
		var cur []Stored
		if err := tx.Omit("layout", "body").Where("run_id = ?", runID).Limit(1).Find(&cur).Error; err != nil {
			return fmt.Errorf("find report: %w", err)
		}
		switch {
		case len(cur) == 0:
			return put(tx, row)
		case cur[0].SHA256 == row.SHA256:
			row = cur[0]
		default:
			if err := tx.Model(&Stored{}).Where("run_id = ?", runID).Updates(map[string]any{"job_id": jobID, "sha256": row.SHA256,
				"size": row.Size, "rendered_at": row.RenderedAt, "run_published_at": published, "layout": row.Layout, "body": row.Body}).Error; err != nil {
				return fmt.Errorf("replace report: %w", err)
			}
		}
		return nil
	})
	row.Layout, row.Body = "", nil
	return row, err
}

// put stores the first report of a run. Two jobs rendering the same run at
// once both find no row: the later insert replaces the earlier one rather
// than failing on the key, as the later of two sequential renders would.
func put(tx *gorm.DB, row Stored) error {
	err := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "run_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"job_id", "sha256", "size", "rendered_at", "run_published_at", "layout", "body"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store report: %w", err)
	}
	return nil
}

// Read returns the report of a cycle's run as by may read it: the
// province report (code empty) for admins, a region's edition for admins
// and for that region's city official. A city official reads only a
// published run; an admin any run of the cycle. It fails with
// ErrNotRendered when the run has no report yet, or only a draft while the
// run is published.
func (s *Store) Read(ctx context.Context, by auth.Principal, cycleID, runID, code string) (Document, error) {
	switch {
	case code == "" && !by.Is(auth.RoleAdmin):
		return Document{}, fault.With(fault.ErrForbidden, "the province report with every region's page is for provincial managers",
			"全省报告（含各地区评价页）仅限省级管理员查看", nil)
	case code != "" && !by.CanAccessRegion(code):
		return Document{}, fault.With(fault.ErrForbidden, "you may read only your own region's report", "只能查看本地区的评价报告", nil)
	}
	run, err := s.visibleRun(ctx, by, cycleID, runID)
	if err != nil {
		return Document{}, err
	}
	var rows []Stored
	if err := s.db.WithContext(ctx).Where("run_id = ?", run.ID).Limit(1).Find(&rows).Error; err != nil {
		return Document{}, fmt.Errorf("read report: %w", err)
	}
	if len(rows) == 0 || (run.PublishedAt != nil && rows[0].RunPublishedAt == nil) {
		return Document{}, fault.With(ErrNotRendered, fmt.Sprintf("run %s has no report yet", run.ID),
			fmt.Sprintf("评价运行 %s 尚未生成报告", run.ID), nil)
	}
	st := rows[0]
	doc := Document{Stored: st, Region: code, HTML: st.Body}
	if code != "" {
		var layout render.Layout
		if err := json.Unmarshal([]byte(st.Layout), &layout); err != nil {
			return Document{}, fmt.Errorf("decode layout of report of run %s: %w", run.ID, err)
		}
		html, ok, err := render.Report{HTML: st.Body, Layout: layout}.Region(code)
		if err != nil {
			return Document{}, fmt.Errorf("report of run %s: %w", run.ID, err)
		}
		if !ok {
			return Document{}, fault.With(fault.ErrNotFound, "the region is not in this run's report", "该地区不在本次评价报告中", nil)
		}
		doc.HTML = html
	}
	doc.Body, doc.Layout = nil, ""
	return doc, nil
}

// visibleRun reads a run of the cycle that by may read the report of:
// admins any, city officials a published one. Any other run is not found,
// so that an unpublished run's existence leaks nothing.
func (s *Store) visibleRun(ctx context.Context, by auth.Principal, cycleID, runID string) (evaluation.Run, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return evaluation.Run{}, fault.With(fault.ErrForbidden, "reports are for provincial managers and city officials",
			"评价报告仅限省级管理员和市级用户查看", nil)
	}
	var found []evaluation.Run
	if err := s.db.WithContext(ctx).Select("id", "cycle_id", "published_at").Where("id = ? AND cycle_id = ?", runID, cycleID).
		Limit(1).Find(&found).Error; err != nil {
		return evaluation.Run{}, fmt.Errorf("find run: %w", err)
	}
	if len(found) == 0 || (!by.Is(auth.RoleAdmin) && found[0].PublishedAt == nil) {
		return evaluation.Run{}, noRun(runID)
	}
	return found[0], nil
}

// Get returns what is stored of a run's report, without the document, for
// admins.
func (s *Store) Get(ctx context.Context, by auth.Principal, runID string) (Stored, error) {
	if !by.Is(auth.RoleAdmin) {
		return Stored{}, fault.With(fault.ErrForbidden, "only provincial managers see stored reports", "仅省级管理员可查看报告存档", nil)
	}
	var rows []Stored
	if err := s.db.WithContext(ctx).Omit("layout", "body").Where("run_id = ?", runID).Limit(1).Find(&rows).Error; err != nil {
		return Stored{}, fmt.Errorf("read report: %w", err)
	}
	if len(rows) == 0 {
		return Stored{}, fault.With(ErrNotRendered, fmt.Sprintf("run %s has no report yet", runID),
			fmt.Sprintf("评价运行 %s 尚未生成报告", runID), nil)
	}
	return rows[0], nil
}
