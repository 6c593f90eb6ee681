package surveys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/regions"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// maxProblems bounds the problems a batch keeps for its report: enough
// to fix a file by, small enough to store with the batch.
const maxProblems = 10_000

// insertRows is the responses per INSERT statement: 12 columns × 1,000
// rows stay below SQLite's and MySQL's limits of bound parameters.
const insertRows = 1000

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
		b = Batch{ID: uuid.Must(uuid.NewV7()).String(), ProjectID: projectID, FileName: cleanName(name), Format: format,
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
		return old, fault.Invalid(fault.Field("replaces", "not_valid", "只能替换有效的批次", "only a valid batch can be replaced"))
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

// cleanName keeps the last element of an uploaded file's name, so that a
// path in it never reaches storage or a download header.
func cleanName(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	if r := []rune(name); len(r) > 200 {
		name = string(r[len(r)-200:])
	}
	return name
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

// errRefused rolls back an ingestion whose file has problems.
var errRefused = errors.New("batch refused")

// system is the principal a job acts as: it was authorised when queued.
func system() auth.Principal {
	return auth.Principal{UserID: "system", Username: "system", Role: auth.RoleAdmin}
}

func (s *Store) ingest(ctx context.Context, b Batch, progress jobs.Progress) (Batch, error) {
	f, err := s.files.Open(b.SHA256)
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
	if !errors.Is(err, errRefused) {
		return b, err
	}
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
		b.Error = clip(d.Detail, 1000)
		problems = []fault.FieldError{fault.Field("file", "unreadable_file", d.DetailZh, d.Detail)}
	case fileErr != nil:
		status = BatchFailed
		b.Error = clip(fileErr.Error(), 1000)
		problems = []fault.FieldError{fault.Field("file", "unreadable_file", "无法读取文件："+b.Error, "cannot read the file: "+b.Error)}
	}
	body, jerr := json.Marshal(problems)
	if jerr != nil {
		return b, fmt.Errorf("encode problems: %w", jerr)
	}
	at := now()
	b.Status, b.Rows, b.ValidRows, b.ProcessedAt = status, sum.Rows, 0, &at
	b.ProblemCount, b.Problems = max(sum.ProblemCount, len(problems)), string(body)
	err = s.db.WithContext(ctx).Model(&Batch{}).Where("id = ? AND status = ?", b.ID, BatchQueued).
		Updates(map[string]any{"status": b.Status, "rows": b.Rows, "valid_rows": 0, "problem_count": b.ProblemCount,
			"problems": b.Problems, "error": b.Error, "processed_at": at}).Error
	if err != nil {
		return b, fmt.Errorf("mark batch %s: %w", status, err)
	}
	return b, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
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

// writer inserts the responses of a batch in multi-row statements.
type writer struct {
	tx    *gorm.DB
	batch Batch
	items int
	sql   strings.Builder
	args  []any
	n     int
}

const insertHead = "INSERT INTO survey_responses (project_id, region_code, batch_id, row_no, respondent_type, " +
	"respondent_id, contact_hash, seconds, submitted_at, answers, attention, flags) VALUES "

func (w *writer) add(r *questionnaire.Response) error {
	if w.n == 0 {
		w.sql.Reset()
		w.sql.WriteString(insertHead)
		w.args = w.args[:0]
	} else {
		w.sql.WriteByte(',')
	}
	w.sql.WriteString("(?,?,?,?,?,?,?,?,?,?,?,0)")
	var seconds, at any
	if r.Seconds >= 0 {
		seconds = r.Seconds
	}
	if !r.SubmittedAt.IsZero() {
		at = r.SubmittedAt.UTC()
	}
	w.args = append(w.args, w.batch.ProjectID, r.Region, w.batch.ID, r.Row, r.RespondentType, r.RespondentID,
		r.ContactHash, seconds, at, encodeAnswers(r.Answers), int(r.Attention))
	w.n++
	if w.n == insertRows {
		return w.flush()
	}
	return nil
}

func (w *writer) flush() error {
	if w.n == 0 {
		return nil
	}
	w.n = 0
	if err := w.tx.Exec(w.sql.String(), w.args...).Error; err != nil {
		return fmt.Errorf("insert responses: %w", err)
	}
	return nil
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
func decodeAnswers(dst []uint8, s string) []uint8 {
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
		if err := tx.Where("id = ?", id).Take(&b).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("batch %s: %w", id, fault.ErrNotFound)
			}
			return fmt.Errorf("get batch: %w", err)
		}
		p, err := lockProject(tx, by, b.ProjectID)
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
