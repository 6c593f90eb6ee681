package surveys

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/regions"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// maxProblems bounds the problems a batch keeps for its report: enough
// to fix a file by, small enough to store with the batch.
const maxProblems = 10_000

// payload is what an ingestion job carries.
type payload struct {
	BatchID string `json:"batch_id"`
}

// Upload stores an uploaded file as a batch of a project and queues its
// ingestion. The same file uploaded again to the project, while its first
// copy is queued or valid, returns that batch with created false.
// replaces, when not empty, names a valid batch of the project that the
// new one replaces once it has been read without problems. The file is
// streamed to the blob store, never held whole in memory; one over the
// size limit is refused with nothing stored.
func (s *Store) Upload(ctx context.Context, by auth.Principal, projectID, name string, r io.Reader, replaces string) (Batch, bool, error) {
	b, created, err := s.store(ctx, by, projectID, name, r, replaces, func(tx *gorm.DB, b *Batch) error {
		job, err := s.queue.SubmitTx(tx, JobKind, payload{BatchID: b.ID}, by.UserID)
		b.JobID = &job.ID
		return err
	})
	if err != nil || !created {
		return b, created, err
	}
	// The job row is committed: if enqueueing fails, the sweeper enqueues
	// it later.
	if job, err := s.queue.Get(ctx, *b.JobID); err == nil {
		_ = s.queue.Enqueue(ctx, job)
	}
	return b, created, nil
}

// IngestNow stores an upload as a batch and reads it within the caller's
// process, without a job: for the demo data and for tools that already
// run in a worker. It returns the batch as its reading left it.
func (s *Store) IngestNow(ctx context.Context, by auth.Principal, projectID, name string, r io.Reader) (Batch, error) {
	b, created, err := s.store(ctx, by, projectID, name, r, "", func(*gorm.DB, *Batch) error { return nil })
	if err != nil || !created {
		return b, err
	}
	return s.ingest(ctx, b, func(int, string) {})
}

// store keeps an upload's file and records its batch, queued; submit
// starts its reading within the recording transaction.
func (s *Store) store(ctx context.Context, by auth.Principal, projectID, name string, r io.Reader, replaces string,
	submit func(tx *gorm.DB, b *Batch) error) (Batch, bool, error) {
	db := s.db.WithContext(ctx)
	p, err := getProject(db, by, projectID)
	if err != nil {
		return Batch{}, false, err
	}
	if err := uploadable(p); err != nil {
		return Batch{}, false, err
	}
	format, err := responsefile.FormatOf(name)
	if err != nil {
		return Batch{}, false, err
	}
	// Checked again under the lock below; checked here too so that a
	// refused replacement leaves no file behind.
	if replaces != "" {
		if _, err := replaced(db, projectID, replaces); err != nil {
			return Batch{}, false, err
		}
	}
	limit := s.maxBytes
	if limit <= 0 {
		limit = -1 // a worker's store, which only reads
	}
	sum, size, err := s.files.PutReader(r, limit)
	if errors.Is(err, fault.ErrTooLarge) {
		return Batch{}, false, fault.With(fault.ErrTooLarge,
			"the file exceeds "+sizeText(s.maxBytes), "文件超过 "+sizeText(s.maxBytes), nil)
	}
	if err != nil {
		return Batch{}, false, err
	}
	var b Batch
	created := false
	err = db.Transaction(func(tx *gorm.DB) error {
		p, err := lockProject(tx, by, projectID)
		if err != nil {
			return err
		}
		if err := uploadable(p); err != nil {
			return err
		}
		var same []Batch
		if err := tx.Where("project_id = ? AND sha256 = ? AND status IN ?", projectID, sum,
			[]BatchStatus{BatchQueued, BatchValid}).Limit(1).Find(&same).Error; err != nil {
			return fmt.Errorf("find batch: %w", err)
		}
		if len(same) == 1 {
			b = same[0]
			return nil
		}
		b = Batch{ID: uuid.Must(uuid.NewV7()).String(), ProjectID: projectID, FileName: textenc.FileName(name), Format: format,
			SHA256: sum, Size: size, Status: BatchQueued, Problems: "[]", UploadedBy: by.UserID, CreatedAt: now()}
		if replaces != "" {
			old, err := replaced(tx, projectID, replaces)
			if err != nil {
				return err
			}
			b.Replaces = &old.ID
		}
		if err := submit(tx, &b); err != nil {
			return err
		}
		if err := tx.Create(&b).Error; err != nil {
			return fmt.Errorf("create batch: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return Batch{}, false, err
	}
	return b, created, nil
}

// replaced reads the batch an upload replaces: a valid batch of the same
// project.
func replaced(db *gorm.DB, projectID, id string) (Batch, error) {
	var old Batch
	err := db.Where("id = ? AND project_id = ?", id, projectID).Take(&old).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return old, fault.Invalid(fault.Field("replaces", "unknown_batch", "要替换的批次不属于此项目", "the batch to replace is not in this project"))
	case err != nil:
		return old, fmt.Errorf("get batch: %w", err)
	case old.Status != BatchValid:
		return old, fault.With(fault.ErrConflict, fmt.Sprintf("only a valid batch can be replaced; this one is %s", old.Status),
			fmt.Sprintf("只能替换有效的批次（该批次状态：%s）", old.Status), map[string]any{"batch_status": old.Status})
	}
	return old, nil
}

// sizeText writes a byte count for people: MiB, or KiB below one MiB.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<10), 'f', -1, 64) + " KiB"
}

// Handler is the ingestion job. It reads a queued batch and, in one
// transaction, stores all its responses, marks it valid and recomputes the
// project's indices — or, if any row has a problem, stores nothing and
// marks it invalid with its problems. It is idempotent: a batch that is no
// longer queued is left as it is, and a retried attempt starts again from
// a rolled-back transaction.
func (s *Store) Handler(log *slog.Logger) jobs.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
		var pl payload
		if err := job.Decode(&pl); err != nil {
			return "", err
		}
		var b Batch
		if err := s.db.WithContext(ctx).Where("id = ?", pl.BatchID).Take(&b).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return "", fmt.Errorf("batch %s: %w", pl.BatchID, asynq.SkipRetry)
			}
			return "", fmt.Errorf("get batch: %w", err)
		}
		if b.Status == BatchQueued {
			var err error
			if b, err = s.ingest(ctx, b, progress); err != nil {
				return "", err
			}
			log.Info("survey batch read", "batch", b.ID, "project", b.ProjectID, "status", b.Status,
				"rows", b.Rows, "problems", b.ProblemCount)
		}
		out, err := json.Marshal(map[string]any{"batch_id": b.ID, "status": b.Status, "rows": b.Rows,
			"valid_rows": b.ValidRows, "problem_count": b.ProblemCount})
		return string(out), err
	}
}

// errRefused rolls back an ingestion whose file has problems; errDone
// one that finds its batch already read.
var (
	errRefused = errors.New("batch refused")
	errDone    = errors.New("batch already read")
)

// system is the principal a job acts as: it was authorised when queued.
func system() auth.Principal {
	return auth.Principal{UserID: "system", Username: "system", Role: auth.RoleAdmin}
}

func (s *Store) ingest(ctx context.Context, b Batch, progress jobs.Progress) (Batch, error) {
	f, err := s.files.Open(b.SHA256)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, blobs.ErrCorrupt) {
		// The upload is gone or damaged on disk: no retry brings it back,
		// and a batch left queued would block its project's review.
		return s.fail(ctx, b, fault.With(fault.ErrUnavailable, "the uploaded file is missing or damaged on the server; upload it again",
			"服务器上的上传文件已丢失或损坏，请重新上传", nil))
	}
	if err != nil {
		return b, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return b, fmt.Errorf("stat upload: %w", err)
	}
	var sum responsefile.Summary
	var fileErr error
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		p, err := lockProject(tx, system(), b.ProjectID)
		if err != nil {
			return err
		}
		// Another delivery of this job may have read the batch while this
		// one waited for the lock.
		var cur Batch
		if err := tx.Select("status").Where("id = ?", b.ID).Take(&cur).Error; err != nil {
			return fmt.Errorf("get batch: %w", err)
		}
		if cur.Status != BatchQueued {
			b.Status = cur.Status
			return errDone
		}
		if err := uploadable(p); err != nil {
			fileErr = err
			return errRefused
		}
		sq, err := getQuestionnaire(tx, p.QuestionnaireID)
		if err != nil {
			return err
		}
		rules, err := s.rules(tx, p, sq.Questionnaire)
		if err != nil {
			return err
		}
		w := &writer{tx: tx, batch: b, items: len(sq.Questionnaire.Items)}
		sum, err = responsefile.Read(ctx, f, fi.Size(), b.Format, rules, p.Mapping, w.add, func(done, total int64) {
			progress(5+int(80*done/max(total, 1)), "reading")
		})
		var ve *fault.ValidationError
		switch {
		case errors.As(err, &ve) || errors.Is(err, fault.ErrBadRequest) || errors.Is(err, fault.ErrUnsupportedMedia):
			fileErr = err
			return errRefused
		case err != nil:
			return err
		case sum.ProblemCount > 0:
			return errRefused
		}
		if err := w.flush(); err != nil {
			return err
		}
		progress(88, "screening")
		if b.Replaces != nil {
			// Another upload may have replaced it, or it was withdrawn,
			// since this one was queued: replacing it twice would count
			// both replacements.
			if _, err := replaced(tx, b.ProjectID, *b.Replaces); err != nil {
				fileErr = err
				return errRefused
			}
			if err := tx.Where("batch_id = ?", *b.Replaces).Delete(&response{}).Error; err != nil {
				return fmt.Errorf("delete replaced responses: %w", err)
			}
			if err := tx.Model(&Batch{}).Where("id = ?", *b.Replaces).
				Updates(map[string]any{"status": BatchReplaced, "replaced_by": b.ID}).Error; err != nil {
				return fmt.Errorf("mark replaced batch: %w", err)
			}
		}
		if err := recompute(tx, p, sq.Questionnaire); err != nil {
			return err
		}
		at := now()
		b.Status, b.Rows, b.ValidRows, b.ProcessedAt = BatchValid, sum.Rows, sum.Valid, &at
		return tx.Model(&Batch{}).Where("id = ?", b.ID).Updates(map[string]any{"status": b.Status,
			"rows": b.Rows, "valid_rows": b.ValidRows, "processed_at": at}).Error
	})
	if errors.Is(err, errDone) {
		var done Batch
		if err := s.db.WithContext(ctx).Omit("problems").Where("id = ?", b.ID).Take(&done).Error; err != nil {
			return b, fmt.Errorf("get batch: %w", err)
		}
		return done, nil
	}
	if !errors.Is(err, errRefused) {
		return b, err
	}
	return s.refuse(ctx, b, sum, fileErr)
}

// fail marks a batch that can never be read as failed, with why.
func (s *Store) fail(ctx context.Context, b Batch, why error) (Batch, error) {
	return s.refuse(ctx, b, responsefile.Summary{}, why)
}

// refuse records a batch that was not imported: invalid with its rows'
// problems, or failed with the reason the file as a whole was refused.
func (s *Store) refuse(ctx context.Context, b Batch, sum responsefile.Summary, fileErr error) (Batch, error) {
	problems := sum.Problems
	status := BatchInvalid
	var ve *fault.ValidationError
	var d *fault.Detailed
	switch {
	case errors.As(fileErr, &ve):
		problems = ve.Errors
	case errors.As(fileErr, &d):
		// The file could not be read as a whole (empty, damaged, not of
		// its type) or the project no longer takes it: one problem, in
		// both languages, for the report.
		status = BatchFailed
		b.Error = textenc.Clip(d.Detail, 1000)
		problems = []fault.FieldError{fault.Field("file", "unreadable_file", d.DetailZh, d.Detail)}
	case fileErr != nil:
		status = BatchFailed
		b.Error = textenc.Clip(fileErr.Error(), 1000)
		problems = []fault.FieldError{fault.Field("file", "unreadable_file", "无法读取文件："+b.Error, "cannot read the file: "+b.Error)}
	}
	body, jerr := json.Marshal(problems)
	if jerr != nil {
		return b, fmt.Errorf("encode problems: %w", jerr)
	}
	at := now()
	b.Status, b.Rows, b.ValidRows, b.ProcessedAt = status, sum.Rows, 0, &at
	b.ProblemCount, b.Problems = max(sum.ProblemCount, len(problems)), string(body)
	err := s.db.WithContext(ctx).Model(&Batch{}).Where("id = ? AND status = ?", b.ID, BatchQueued).
		Updates(map[string]any{"status": b.Status, "rows": b.Rows, "valid_rows": 0, "problem_count": b.ProblemCount,
			"problems": b.Problems, "error": b.Error, "processed_at": at}).Error
	if err != nil {
		return b, fmt.Errorf("mark batch %s: %w", status, err)
	}
	return b, nil
}

// rules are what the rows of a project's uploads are checked against.
func (s *Store) rules(tx *gorm.DB, p Project, q questionnaire.Questionnaire) (responsefile.Rules, error) {
	var all []regions.Region
	if err := tx.Find(&all).Error; err != nil {
		return responsefile.Rules{}, fmt.Errorf("list regions: %w", err)
	}
	known := make(map[string]string, len(all))
	for _, r := range all {
		known[r.Code] = r.Name
	}
	project := make(map[string]bool, len(p.Regions))
	for _, r := range p.Regions {
		project[r.Code] = true
	}
	return responsefile.Rules{Questionnaire: q, Project: project, Known: known,
		WindowStart: p.FieldworkStart, WindowEnd: p.FieldworkEnd.Add(24 * time.Hour),
		Location: china(), ContactKey: s.contactKey, MaxProblems: maxProblems}, nil
}

// writer inserts the responses of a batch in multi-row statements. It
// holds a window of rows and writes it, grouped by region (in upload
// order within each region), while the reader fills the next window: so
// that reading the file and inserting overlap, and that a region's
// responses lie close together in the table, as recompute reads them
// region by region. At most one window is being written at a time; a
// failed write's error is returned by the next add or by flush.
type writer struct {
	tx    *gorm.DB
	batch Batch
	items int

	fill    []pending    // the window being filled
	spare   []pending    // a written window, for reuse
	writing chan written // the outcome of the window being written; nil when none
	err     error        // the first failed write

	// Used only by the write in progress.
	stmt  *sql.Stmt // the prepared statement of a full INSERT
	order []int32
	args  []any
}

// pending is a response held until its window is written. Its strings are
// the reader's, which emit may keep; its answers are encoded.
type pending struct {
	region, respondentType, respondentID, contactHash, answers string
	row, attention                                             int
	seconds, at                                                any // float64 and time.Time, or nil
}

// written is the outcome of writing a window.
type written struct {
	rows []pending
	err  error
}

// insertWindow is the rows a writer holds before writing them: a few MB,
// at most two windows at a time.
const insertWindow = 16_384

const insertHead = "INSERT INTO survey_responses (project_id, region_code, batch_id, row_no, respondent_type, " +
	"respondent_id, contact_hash, seconds, submitted_at, answers, attention, flags) VALUES "

// insertRows is the responses per INSERT statement, 11 placeholders each.
// MySQL takes 65,535 placeholders in a statement, and fewer, larger
// statements save round trips. The SQLite driver binds each placeholder
// by a linear search of the arguments, in time quadratic in a statement's
// size, so there small statements are fastest.
func (w *writer) insertRows() int {
	if w.tx.Dialector.Name() == "sqlite" {
		return 32
	}
	return 4096
}

func (w *writer) add(r *questionnaire.Response) error {
	if w.err != nil {
		return w.err
	}
	if w.fill == nil {
		w.fill = make([]pending, 0, insertWindow)
	}
	p := pending{region: r.Region, respondentType: r.RespondentType, respondentID: r.RespondentID,
		contactHash: r.ContactHash, answers: encodeAnswers(r.Answers), row: r.Row, attention: int(r.Attention)}
	if r.Seconds >= 0 {
		p.seconds = r.Seconds
	}
	if !r.SubmittedAt.IsZero() {
		p.at = r.SubmittedAt.UTC()
	}
	w.fill = append(w.fill, p)
	if len(w.fill) < insertWindow {
		return nil
	}
	if err := w.wait(); err != nil {
		return err
	}
	rows := w.fill
	w.fill, w.spare = w.spare, nil
	done := make(chan written, 1)
	w.writing = done
	go func() { done <- written{rows: rows, err: w.write(rows)} }()
	return nil
}

// wait waits for the window being written, if any.
func (w *writer) wait() error {
	if w.writing == nil {
		return w.err
	}
	res := <-w.writing
	w.writing = nil
	clear(res.rows) // let go of the strings
	w.spare = res.rows[:0]
	if res.err != nil && w.err == nil {
		w.err = fmt.Errorf("insert responses: %w", res.err)
	}
	return w.err
}

// flush writes what is left and returns once every response is stored.
func (w *writer) flush() error {
	if err := w.wait(); err != nil {
		return err
	}
	if err := w.write(w.fill); err != nil {
		w.err = fmt.Errorf("insert responses: %w", err)
		return w.err
	}
	clear(w.fill)
	w.fill = w.fill[:0]
	if w.stmt != nil {
		err := w.stmt.Close()
		w.stmt = nil
		if err != nil {
			return fmt.Errorf("insert responses: %w", err)
		}
	}
	return nil
}

// write stores a window of responses, grouped by region.
func (w *writer) write(rows []pending) error {
	order := w.order[:0]
	for i := range rows {
		order = append(order, int32(i))
	}
	slices.SortStableFunc(order, func(a, b int32) int { return strings.Compare(rows[a].region, rows[b].region) })
	w.order = order
	per := w.insertRows()
	ctx, pool := w.tx.Statement.Context, w.tx.Statement.ConnPool
	for len(order) > 0 {
		n := min(len(order), per)
		args := w.args[:0]
		for _, i := range order[:n] {
			r := &rows[i]
			args = append(args, w.batch.ProjectID, r.region, w.batch.ID, r.row, r.respondentType, r.respondentID,
				r.contactHash, r.seconds, r.at, r.answers, r.attention)
		}
		var err error
		if n == per {
			// Full statements reuse one prepared statement.
			if w.stmt == nil {
				w.stmt, err = pool.PrepareContext(ctx, insertSQL(n))
			}
			if err == nil {
				_, err = w.stmt.ExecContext(ctx, args...)
			}
		} else {
			_, err = pool.ExecContext(ctx, insertSQL(n), args...)
		}
		clear(args)
		w.args = args
		if err != nil {
			return err
		}
		order = order[n:]
	}
	return nil
}

// insertSQL is the INSERT statement of n responses.
func insertSQL(n int) string {
	const values = "(?,?,?,?,?,?,?,?,?,?,?,0)"
	var b strings.Builder
	b.Grow(len(insertHead) + n*(len(values)+1))
	b.WriteString(insertHead)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(values)
	}
	return b.String()
}

// encodeAnswers writes one character per answer, '0' + answer.
func encodeAnswers(a []uint8) string {
	b := make([]byte, len(a))
	for i, x := range a {
		b[i] = '0' + x
	}
	return string(b)
}

// decodeAnswers is encodeAnswers backwards, into dst.
func decodeAnswers[S ~string | ~[]byte](dst []uint8, s S) []uint8 {
	dst = dst[:0]
	for i := 0; i < len(s); i++ {
		dst = append(dst, s[i]-'0')
	}
	return dst
}

// ListBatches returns a project's batches, newest first.
func (s *Store) ListBatches(ctx context.Context, by auth.Principal, projectID string) ([]Batch, error) {
	db := s.db.WithContext(ctx)
	if _, err := getProject(db, by, projectID); err != nil {
		return nil, err
	}
	var out []Batch
	if err := db.Omit("problems").Where("project_id = ?", projectID).Order("created_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	return out, nil
}

// BatchView is a batch with the first of its problems.
type BatchView struct {
	Batch
	Problems []fault.FieldError `json:"problems"`
	// Job is the ingestion job, for its progress.
	Job *jobs.Job `json:"job,omitempty"`
}

// problemsShown bounds the problems a batch view lists; the report has
// all that were kept.
const problemsShown = 100

// GetBatch returns a batch the caller may see, with its first problems and
// its job.
func (s *Store) GetBatch(ctx context.Context, by auth.Principal, id string) (BatchView, error) {
	b, problems, err := s.batch(ctx, by, id)
	if err != nil {
		return BatchView{}, err
	}
	v := BatchView{Batch: b, Problems: problems[:min(len(problems), problemsShown)]}
	if b.JobID != nil {
		if j, err := s.queue.Get(ctx, *b.JobID); err == nil {
			v.Job = &j
		}
	}
	return v, nil
}

// batch reads a batch and its kept problems, checking the caller may see
// its project.
func (s *Store) batch(ctx context.Context, by auth.Principal, id string) (Batch, []fault.FieldError, error) {
	db := s.db.WithContext(ctx)
	if !by.Is(auth.RoleAdmin, auth.RoleContractor) {
		return Batch{}, nil, forbidden()
	}
	var b Batch
	if err := db.Where("id = ?", id).Take(&b).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return b, nil, fmt.Errorf("batch %s: %w", id, fault.ErrNotFound)
		}
		return b, nil, fmt.Errorf("get batch: %w", err)
	}
	if _, err := getProject(db, by, b.ProjectID); err != nil {
		return Batch{}, nil, err
	}
	problems := []fault.FieldError{}
	if err := json.Unmarshal([]byte(b.Problems), &problems); err != nil {
		return b, nil, fmt.Errorf("decode problems of batch %s: %w", id, err)
	}
	return b, problems, nil
}

// Report writes a batch's validation report as CSV or XLSX.
func (s *Store) Report(ctx context.Context, by auth.Principal, id, format string, w io.Writer) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	_, problems, err := s.batch(ctx, by, id)
	if err != nil {
		return err
	}
	return responsefile.WriteReport(w, format, problems)
}

// Template writes an empty upload template for a project.
func (s *Store) Template(ctx context.Context, by auth.Principal, projectID, format string, w io.Writer) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	p, err := getProject(db, by, projectID)
	if err != nil {
		return err
	}
	sq, err := getQuestionnaire(db, p.QuestionnaireID)
	if err != nil {
		return err
	}
	var rs []regions.Region
	if err := db.Where("code IN ?", p.regionCodes()).Order("code").Find(&rs).Error; err != nil {
		return fmt.Errorf("list regions: %w", err)
	}
	list := make([]responsefile.Region, len(rs))
	for i, r := range rs {
		list[i] = responsefile.Region{Code: r.Code, Name: r.Name}
	}
	return responsefile.WriteTemplate(w, format, sq.Questionnaire, list)
}

// checkFormat refuses a download format other than CSV and XLSX.
func checkFormat(format string) error {
	if format == responsefile.FormatCSV || format == responsefile.FormatXLSX {
		return nil
	}
	return fault.Invalid(fault.Field("format", "unknown_format", "格式须为 csv 或 xlsx", "the format must be csv or xlsx"))
}

// Withdraw takes a batch back: its responses are deleted and the indices
// recomputed; the batch stays on record as withdrawn. Possible until the
// project is accepted.
func (s *Store) Withdraw(ctx context.Context, by auth.Principal, id string) (Batch, error) {
	var b Batch
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if !by.Is(auth.RoleAdmin, auth.RoleContractor) {
			return forbidden()
		}
		// The project's lock first, then every read, so that on MySQL
		// they see what was committed before the lock.
		if err := tx.Exec("UPDATE survey_projects SET status = status WHERE id = (SELECT project_id FROM survey_batches WHERE id = ?)", id).Error; err != nil {
			return fmt.Errorf("lock survey project: %w", err)
		}
		if err := tx.Where("id = ?", id).Take(&b).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("batch %s: %w", id, fault.ErrNotFound)
			}
			return fmt.Errorf("get batch: %w", err)
		}
		p, err := getProject(tx, by, b.ProjectID)
		if err != nil {
			return err
		}
		if err := uploadable(p); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Take(&b).Error; err != nil {
			return fmt.Errorf("get batch: %w", err)
		}
		switch b.Status {
		case BatchWithdrawn:
			return nil
		case BatchQueued, BatchReplaced:
			return fault.With(fault.ErrConflict, fmt.Sprintf("a %s batch cannot be withdrawn", b.Status),
				fmt.Sprintf("批次状态为 %s，不能撤回", b.Status), map[string]any{"batch_status": b.Status})
		}
		wasValid := b.Status == BatchValid
		at := now()
		b.Status, b.WithdrawnAt, b.WithdrawnBy = BatchWithdrawn, &at, by.UserID
		if err := tx.Model(&Batch{}).Where("id = ?", id).Updates(map[string]any{"status": b.Status,
			"withdrawn_at": at, "withdrawn_by": by.UserID}).Error; err != nil {
			return fmt.Errorf("withdraw batch: %w", err)
		}
		if !wasValid {
			return nil
		}
		if err := tx.Where("batch_id = ?", id).Delete(&response{}).Error; err != nil {
			return fmt.Errorf("delete responses: %w", err)
		}
		sq, err := getQuestionnaire(tx, p.QuestionnaireID)
		if err != nil {
			return err
		}
		return recompute(tx, p, sq.Questionnaire)
	})
	return b, err
}
