// Package archive keeps the rendered business-environment report of each
// run (知识产权营商环境评价报告): a job renders it with package reports when
// the run is published, or when an admin asks, and stores the document
// whole beside the run, with its SHA-256, size, the job that rendered it
// and when. Readers get the province report (admins) or a region's
// edition cut from it (that region's city official): the front, the
// region's own page and the back, never another region's page.
//
// The document is kept in a table column rather than in internal/blobs:
// it is small (about 0.7 MB for 120 regions), belongs to its run like the
// run's results, is written in one transaction with its metadata, and
// needs no directory shared by every server and worker.
package archive

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

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/runs"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
)

// JobKind is the job that renders a run's report.
const JobKind = "reports.render"

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
	runs    *runs.Store
	schemes *indicators.SchemeStore
	cycles  *cycles.Store
}

// NewStore returns a Store on db that submits render jobs to queue and
// reads what it renders from runs, schemes and cycles.
func NewStore(db *gorm.DB, queue *jobs.Queue, rs *runs.Store, schemes *indicators.SchemeStore, cs *cycles.Store) *Store {
	return &Store{db: db, queue: queue, runs: rs, schemes: schemes, cycles: cs}
}

// PublishHook is the runs.PublishHook that queues the rendering of a
// run's report when the run is published, inside the publishing
// transaction: the job exists if and only if the publication commits.
func PublishHook(queue *jobs.Queue) runs.PublishHook {
	return func(tx *gorm.DB, by auth.Principal, r runs.Run) ([]jobs.Job, error) {
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
	if err := s.db.WithContext(ctx).Model(&runs.Run{}).Where("id = ?", runID).Count(&n).Error; err != nil {
		return jobs.Job{}, fmt.Errorf("find run: %w", err)
	}
	if n == 0 {
		return jobs.Job{}, fmt.Errorf("run %s: %w", runID, fault.ErrNotFound)
	}
	return s.enqueue(ctx, runID, by.UserID)
}

// Ensure queues the rendering of a published run's report that has none,
// or only a draft, unless a render is already queued or running: a run
// published without the hook (the demo data) gets its report the first
// time somebody opens it. The job is the system's, not the reader's.
func (s *Store) Ensure(ctx context.Context, r runs.Run) (jobs.Job, error) {
	if r.PublishedAt == nil {
		return jobs.Job{}, fmt.Errorf("ensure report of unpublished run %s: %w", r.ID, fault.ErrConflict)
	}
	return s.enqueue(ctx, r.ID, "")
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
		// The job row is committed: if enqueueing fails, the sweeper
		// enqueues it later.
		_ = s.queue.Enqueue(ctx, job)
	}
	return job, nil
}

// submit records a render job of the run in tx, or returns the one queued
// or running; fresh says which. Two requests that race may both submit:
// rendering is idempotent, so the second job stores nothing.
func submit(tx *gorm.DB, queue *jobs.Queue, runID, createdBy string) (job jobs.Job, fresh bool, err error) {
	var active []jobs.Job
	if err := tx.Where("kind = ? AND status IN ?", JobKind, []jobs.Status{jobs.StatusQueued, jobs.StatusRunning}).
		Order("created_at").Find(&active).Error; err != nil {
		return jobs.Job{}, false, fmt.Errorf("find report job: %w", err)
	}
	for _, j := range active {
		var p payload
		if j.Decode(&p) == nil && p.RunID == runID {
			return j, false, nil
		}
	}
	job, err = queue.SubmitTx(tx, JobKind, payload{RunID: runID}, createdBy)
	return job, err == nil, err
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
			rep, err := reports.RenderReport(in)
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
func (s *Store) input(ctx context.Context, runID string) (reports.ReportInput, error) {
	r, res, err := s.runs.Overview(ctx, system(), runID)
	if errors.Is(err, fault.ErrNotFound) {
		// A run is never deleted: one that is not there never will be.
		return reports.ReportInput{}, fmt.Errorf("report of run %s: %w: %w", runID, err, asynq.SkipRetry)
	}
	if err != nil {
		return reports.ReportInput{}, err
	}
	in := reports.ReportInput{Result: res,
		Run: reports.ReportRun{ID: r.ID, CreatedAt: r.CreatedAt, PublishedAt: r.PublishedAt, InputsHash: r.InputsHash, ResultsHash: r.ResultsHash}}
	if r.Sensitivity != "" {
		var sens evaluation.SensitivityResult
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
	in.Cycle = reports.ReportCycle{Year: cy.Year, Name: cy.Name}
	return in, nil
}

// store keeps a rendered report unless the same bytes are already stored.
func (s *Store) store(ctx context.Context, jobID, runID string, published *time.Time, rep reports.Report) (Stored, error) {
	layout, err := json.Marshal(rep.Layout)
	if err != nil {
		return Stored{}, fmt.Errorf("encode report layout: %w", err)
	}
	sum := sha256.Sum256(rep.HTML)
	row := Stored{RunID: runID, JobID: &jobID, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(rep.HTML)),
		RenderedAt: time.Now().UTC().Truncate(time.Millisecond), RunPublishedAt: published, Layout: string(layout), Body: rep.HTML}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var run runs.Run
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
			if err := tx.Create(&row).Error; err != nil {
				return fmt.Errorf("store report: %w", err)
			}
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

// Read returns the report of run as by may read it: the province report
// (code empty) for admins, a region's edition for admins and for that
// region's city official once the run is published. run is as
// runs.Store.List gave it to by. It fails with ErrNotRendered when the run
// has no report yet, or only a draft while the run is published.
func (s *Store) Read(ctx context.Context, by auth.Principal, run runs.Run, code string) (Document, error) {
	switch {
	case code == "" && !by.Is(auth.RoleAdmin):
		return Document{}, fault.With(fault.ErrForbidden, "the province report with every region's page is for provincial managers",
			"全省报告（含各地区评价页）仅限省级管理员查看", nil)
	case code != "" && !by.CanAccessRegion(code):
		return Document{}, fault.With(fault.ErrForbidden, "you may read only your own region's report", "只能查看本地区的评价报告", nil)
	case !by.Is(auth.RoleAdmin) && run.PublishedAt == nil:
		return Document{}, fmt.Errorf("run %s: %w", run.ID, fault.ErrNotFound)
	}
	var rows []Stored
	if err := s.db.WithContext(ctx).Where("run_id = ?", run.ID).Limit(1).Find(&rows).Error; err != nil {
		return Document{}, fmt.Errorf("read report: %w", err)
	}
	if len(rows) == 0 || (run.PublishedAt != nil && rows[0].RunPublishedAt == nil) {
		return Document{}, fmt.Errorf("run %s: %w", run.ID, ErrNotRendered)
	}
	st := rows[0]
	doc := Document{Stored: st, Region: code, HTML: st.Body}
	if code != "" {
		var layout reports.Layout
		if err := json.Unmarshal([]byte(st.Layout), &layout); err != nil {
			return Document{}, fmt.Errorf("decode layout of report of run %s: %w", run.ID, err)
		}
		html, ok := reports.Report{HTML: st.Body, Layout: layout}.Region(code)
		if !ok {
			return Document{}, fault.With(fault.ErrNotFound, "the region is not in this run's report", "该地区不在本次评价报告中", nil)
		}
		doc.HTML = html
	}
	doc.Body, doc.Layout = nil, ""
	return doc, nil
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
		return Stored{}, fmt.Errorf("run %s: %w", runID, ErrNotRendered)
	}
	return rows[0], nil
}
