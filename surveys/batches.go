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
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
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
// copy is queued, loading or valid, returns that batch with created false.
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
	if err := editable(db, p); err != nil {
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
		if err := editable(tx, p); err != nil {
			return err
		}
		var same []Batch
		if err := tx.Where("project_id = ? AND sha256 = ? AND status IN ?", projectID, sum,
			[]BatchStatus{BatchQueued, BatchLoading, BatchValid}).Limit(1).Find(&same).Error; err != nil {
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

// Handler is the ingestion job. It reads a queued batch in stages, none of
// which holds a lock for long (see ingest): the batch's responses are
// stored a slice at a time while it is loading, unseen by readers, and
// then, in one short transaction, it is marked valid and the indices of
// the regions it touches are recomputed — or, if any row has a problem,
// its responses are deleted again and it is marked invalid with its
// problems. It is idempotent: a batch that was read is left as it is, and
// a retried or duplicate delivery of the job takes over a batch left
// loading and reads it again from the start.
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
		if err := s.db.WithContext(ctx).Omit("problems").Where("id = ?", pl.BatchID).Take(&b).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return "", fmt.Errorf("batch %s: %w", pl.BatchID, asynq.SkipRetry)
			}
			return "", fmt.Errorf("get batch: %w", err)
		}
		var err error
		switch b.Status {
		case BatchQueued, BatchLoading:
			if b, err = s.ingest(ctx, b, progress); err != nil {
				return "", err
			}
			if b.Status == BatchLoading {
				log.Info("survey batch taken over by another delivery of its job", "batch", b.ID, "project", b.ProjectID)
			} else {
				log.Info("survey batch read", "batch", b.ID, "project", b.ProjectID, "status", b.Status,
					"rows", b.Rows, "problems", b.ProblemCount)
			}
		default:
			if b, err = s.settle(ctx, b); err != nil {
				return "", err
			}
		}
		out, err := json.Marshal(map[string]any{"batch_id": b.ID, "status": b.Status, "rows": b.Rows,
			"valid_rows": b.ValidRows, "problem_count": b.ProblemCount})
		return string(out), err
	}
}

// errRefused ends an ingestion whose file has problems; errDone one that
// finds its batch already read; errSuperseded an attempt whose batch a
// later delivery of its job took over.
var (
	errRefused    = errors.New("batch refused")
	errDone       = errors.New("batch already read")
	errSuperseded = errors.New("batch taken over by another attempt")
)

// system is the principal a job acts as: it was authorised when queued.
func system() auth.Principal {
	return auth.Principal{UserID: "system", Username: "system", Role: auth.RoleAdmin}
}

// ingest reads a batch in three stages, so that no transaction lasts
// longer than a slice of the upload: on SQLite every other write of the
// system waits for the one write lock, and on MySQL every other change of
// the project for its row lock.
//
//  1. Claim (claim): a short transaction moves the batch from queued to
//     loading, with a token of this attempt.
//  2. Load (load): the responses an interrupted attempt left are deleted;
//     then the file is read and its responses are inserted, tagged with
//     the batch, each slice of them in a transaction of its own. Readers
//     do not see them: they read only the responses of valid batches.
//  3. Finish (finish): one short transaction under the project's lock
//     checks that the attempt still holds the batch and that the project
//     and the batch it replaces still allow it, marks the replaced batch
//     replaced and this one valid, and recomputes the indices of the
//     regions either has responses in. The responses of the replaced
//     batch, which no reader reads any more, are deleted after it.
//
// A file with problems, or one that cannot be read, has its responses
// deleted, a slice at a time, and is marked invalid or failed (refuse).
// Every write of an attempt begins by checking, within its transaction,
// that the batch is still loading under the attempt's token: an attempt
// that a later delivery took over stops at its next write, without
// touching the responses of the attempt that replaced it.
func (s *Store) ingest(ctx context.Context, b Batch, progress jobs.Progress) (Batch, error) {
	l, err := s.claim(ctx, b)
	if errors.Is(err, errDone) {
		return s.settle(ctx, b)
	}
	if err != nil {
		return b, err
	}
	out, err := s.load(ctx, l, progress)
	if errors.Is(err, errSuperseded) {
		// Another delivery of the job took the batch over: it finishes it.
		return s.current(ctx, b.ID)
	}
	return out, err
}

// loading is one attempt at reading a batch, which holds the batch by its
// token: the batch's processed_at while it is loading.
type loading struct {
	ctx   context.Context
	db    *gorm.DB // the store's, with ctx
	batch Batch
	token time.Time
	pace  *pacer
}

// claim takes a batch for one attempt. In a short transaction, a queued
// batch becomes loading, its processed_at set to the attempt's start:
// the attempt's token, which every later write of the attempt checks.
//
// A batch found loading was left by an earlier attempt of its job, and
// the claim takes it over with a new token. The jobs framework runs a job
// on one worker at a time: it starts a job again (a retry, or the
// sweeper's recovery of a worker that stopped sending heartbeats) only
// once the earlier attempt failed or is taken for lost, and it cancels an
// attempt whose job row was handed to another. So the earlier attempt is
// gone, or going: should it still be running, its next write finds the
// token changed and it stops (errSuperseded), leaving the responses alone.
// No other caller reaches a loading batch: IngestNow reads a batch it has
// just created, which has no job. A batch in any other status was read
// already: errDone.
func (s *Store) claim(ctx context.Context, b Batch) (*loading, error) {
	l := &loading{ctx: ctx, db: s.db.WithContext(ctx), batch: b}
	err := l.db.Transaction(func(tx *gorm.DB) error {
		cur, err := lockBatch(tx, b.ID)
		if err != nil {
			return err
		}
		if cur.Status != BatchQueued && cur.Status != BatchLoading {
			return errDone
		}
		l.token = now()
		if cur.ProcessedAt != nil && !l.token.After(*cur.ProcessedAt) {
			l.token = cur.ProcessedAt.Add(time.Millisecond)
		}
		if err := tx.Model(&Batch{}).Where("id = ?", b.ID).
			Updates(map[string]any{"status": BatchLoading, "processed_at": l.token}).Error; err != nil {
			return fmt.Errorf("claim batch: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.batch.Status, l.batch.ProcessedAt = BatchLoading, &l.token
	l.pace = s.pacer()
	return l, nil
}

// lockBatch reads a batch's status and processed_at within tx, locking
// its row on MySQL; a SQLite transaction holds the write lock from its
// BEGIN.
func lockBatch(tx *gorm.DB, id string) (Batch, error) {
	var cur Batch
	if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Select("status", "processed_at").
		Where("id = ?", id).Take(&cur).Error; err != nil {
		return cur, fmt.Errorf("get batch: %w", err)
	}
	return cur, nil
}

// own checks, within tx, that the attempt still holds its batch.
func (l *loading) own(tx *gorm.DB) error {
	cur, err := lockBatch(tx, l.batch.ID)
	if err != nil {
		return err
	}
	if cur.Status != BatchLoading || cur.ProcessedAt == nil || !cur.ProcessedAt.Equal(l.token) {
		return errSuperseded
	}
	return nil
}

// step runs fn in a short transaction of its own, once it has checked that
// the attempt still holds its batch (errSuperseded if not).
func (l *loading) step(fn func(tx *gorm.DB) error) error {
	began := time.Now()
	err := l.db.Transaction(func(tx *gorm.DB) error {
		if err := l.own(tx); err != nil {
			return err
		}
		return fn(tx)
	})
	l.pace.after(time.Since(began))
	return err
}

// pacer spaces the transactions of a long ingestion on SQLite, where each
// holds the database's one write lock. SQLite does not queue writers: one
// that finds the lock taken sleeps and tries again — every 100 ms once it
// has waited a little — until busy_timeout. An ingestion's transactions
// follow each other at once, since reading the file outpaces inserting,
// and such a writer would seldom find the lock free. So after every
// paceHold of transactions, the pacer leaves the lock free for paceGap,
// longer than a waiting writer sleeps: every writer then waiting gets its
// turn, and none waits much longer than paceHold. It costs the ingestion
// about a tenth of its time.
type pacer struct {
	mu   sync.Mutex
	held time.Duration
}

const (
	paceHold = time.Second
	paceGap  = 120 * time.Millisecond
)

// pacer returns the pacer of a long ingestion: nil, which does not pause,
// on MySQL, whose transactions lock only their rows, and within a caller's
// transaction (On), which holds the lock throughout anyway.
func (s *Store) pacer() *pacer {
	_, inTx := s.db.Statement.ConnPool.(gorm.TxCommitter)
	if s.db.Dialector.Name() != "sqlite" || inTx {
		return nil
	}
	return &pacer{}
}

// after counts a transaction that took d, and pauses when due.
func (p *pacer) after(d time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.held += d
	due := p.held >= paceHold
	if due {
		p.held = 0
	}
	p.mu.Unlock()
	if due {
		time.Sleep(paceGap)
	}
}

// current reads a batch as it is now, without its problems.
func (s *Store) current(ctx context.Context, id string) (Batch, error) {
	var b Batch
	if err := s.db.WithContext(ctx).Omit("problems").Where("id = ?", id).Take(&b).Error; err != nil {
		return b, fmt.Errorf("get batch: %w", err)
	}
	return b, nil
}

// settle returns a batch that an earlier attempt read, once the responses
// of the batch it replaced, if valid, are gone: that attempt may have
// stopped before deleting them.
func (s *Store) settle(ctx context.Context, b Batch) (Batch, error) {
	cur, err := s.current(ctx, b.ID)
	if err != nil {
		return b, err
	}
	return cur, s.purgeReplaced(ctx, cur, s.pacer())
}

// purgeReplaced deletes the responses of the batch that a valid batch
// replaced, which no reader reads since it was marked replaced.
func (s *Store) purgeReplaced(ctx context.Context, b Batch, pace *pacer) error {
	if b.Status != BatchValid || b.Replaces == nil {
		return nil
	}
	db := s.db.WithContext(ctx)
	var old Batch
	if err := db.Select("status").Where("id = ?", *b.Replaces).Take(&old).Error; err != nil {
		return fmt.Errorf("get replaced batch: %w", err)
	}
	if old.Status != BatchReplaced {
		return nil
	}
	return deleteResponses(db, *b.Replaces, func(fn func(tx *gorm.DB) error) error {
		began := time.Now()
		err := db.Transaction(fn)
		pace.after(time.Since(began))
		return err
	})
}

// deleteChunk is how many responses one transaction deletes.
const deleteChunk = 20_000

// deleteResponses deletes the responses of a batch, deleteChunk at a time,
// each chunk in a transaction of its own run by step.
func deleteResponses(db *gorm.DB, batchID string, step func(func(tx *gorm.DB) error) error) error {
	for {
		// The chunk's first and last ids, from the index on batch_id: with
		// both bounds, MySQL may read the chunk by the primary key without
		// reading the rows of other batches before or after it.
		var lo, hi []uint64
		err := db.Raw("SELECT id FROM survey_responses WHERE batch_id = ? ORDER BY id LIMIT 1", batchID).Scan(&lo).Error
		if err == nil && len(lo) > 0 {
			err = db.Raw("SELECT id FROM survey_responses WHERE batch_id = ? ORDER BY id LIMIT 1 OFFSET ?",
				batchID, deleteChunk-1).Scan(&hi).Error
		}
		if err == nil && len(lo) > 0 && len(hi) == 0 {
			err = db.Raw("SELECT MAX(id) FROM survey_responses WHERE batch_id = ?", batchID).Scan(&hi).Error
		}
		if err != nil {
			return fmt.Errorf("delete responses: %w", err)
		}
		if len(lo) == 0 || len(hi) == 0 {
			return nil
		}
		if err := step(func(tx *gorm.DB) error {
			return tx.Where("batch_id = ? AND id BETWEEN ? AND ?", batchID, lo[0], hi[0]).Delete(&response{}).Error
		}); err != nil {
			return fmt.Errorf("delete responses: %w", err)
		}
	}
}

// load reads the file of a batch that the attempt holds, stores its
// responses and finishes the batch: valid, or refused.
func (s *Store) load(ctx context.Context, l *loading, progress jobs.Progress) (Batch, error) {
	b := l.batch
	f, err := s.files.Open(b.SHA256)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, blobs.ErrCorrupt) {
		// The upload is gone or damaged on disk: no retry brings it back,
		// and a batch left loading would block its project's review.
		return s.refuse(l, responsefile.Summary{}, fault.With(fault.ErrUnavailable, "the uploaded file is missing or damaged on the server; upload it again",
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
	// An interrupted attempt may have left some of the batch's responses.
	if err := deleteResponses(l.db, b.ID, l.step); err != nil {
		return b, err
	}
	p, err := getProject(l.db, system(), b.ProjectID)
	if err != nil {
		return b, err
	}
	if err := editable(l.db, p); err != nil {
		return s.refuse(l, responsefile.Summary{}, err)
	}
	sq, err := getQuestionnaire(l.db, p.QuestionnaireID)
	if err != nil {
		return b, err
	}
	rules, err := s.rules(l.db, p, sq.Questionnaire)
	if err != nil {
		return b, err
	}
	w := &writer{l: l, items: len(sq.Questionnaire.Items)}
	sum, err := responsefile.Read(ctx, f, fi.Size(), b.Format, rules, p.Mapping, w.add, func(done, total int64) {
		progress(5+int(80*done/max(total, 1)), "reading")
	})
	// The window being written is written, or fails, before anything else
	// touches the batch's responses.
	werr := w.wait()
	var ve *fault.ValidationError
	switch {
	case errors.Is(err, errSuperseded) || errors.Is(werr, errSuperseded):
		return b, errSuperseded
	case errors.As(err, &ve) || errors.Is(err, fault.ErrBadRequest) || errors.Is(err, fault.ErrUnsupportedMedia):
		return s.refuse(l, sum, err)
	case err != nil:
		return b, err
	case werr != nil:
		return b, werr
	case sum.ProblemCount > 0:
		return s.refuse(l, sum, nil)
	}
	if err := w.flush(); err != nil {
		return b, err
	}
	progress(88, "screening")
	return s.finish(l, sq.Questionnaire, sum, w.regions, progress)
}

// finish makes a loaded batch valid, in one short transaction under the
// project's lock, with the indices of the regions that it and the batch
// it replaces have responses in; the other regions' indices stand, since
// the screens and the index look at one region at a time.
//
// Reading the responses is most of screening, and is done before the
// lock, over the batches that are to be valid: the valid ones, less the
// one replaced, with this one. Those batches' responses do not change,
// but for the flags that screening under the lock writes; so under the
// lock the screening is stored as it is if the project's valid batches
// are still those, and the regions are screened again there if another
// batch was read or withdrawn meanwhile.
func (s *Store) finish(l *loading, q questionnaire.Questionnaire, sum responsefile.Summary, touched map[string]bool,
	progress jobs.Progress) (Batch, error) {
	b := l.batch
	if touched == nil {
		touched = map[string]bool{}
	}
	if b.Replaces != nil {
		var codes []string
		if err := l.db.Model(&response{}).Distinct("region_code").Where("batch_id = ?", *b.Replaces).
			Pluck("region_code", &codes).Error; err != nil {
			return b, fmt.Errorf("list regions of the replaced batch: %w", err)
		}
		for _, c := range codes {
			touched[c] = true
		}
	}
	p, err := getProject(l.db, system(), b.ProjectID)
	if err != nil {
		return b, err
	}
	todo, err := toScreen(l.db, p, touched)
	if err != nil {
		return b, err
	}
	batches, err := validBatches(l.db, p.ID)
	if err != nil {
		return b, err
	}
	batches = slices.DeleteFunc(batches, func(id string) bool { return b.Replaces != nil && id == *b.Replaces })
	batches = append(batches, b.ID)
	slices.Sort(batches)
	sc, err := screen(l.db, p, q, todo, batches)
	if err != nil {
		return b, err
	}
	progress(95, "saving")
	var fileErr error
	began := time.Now()
	err = l.db.Transaction(func(tx *gorm.DB) error {
		p, err := lockProject(tx, system(), b.ProjectID)
		if err != nil {
			return err
		}
		if err := l.own(tx); err != nil {
			return err
		}
		if err := editable(tx, p); err != nil {
			fileErr = err
			return errRefused
		}
		if b.Replaces != nil {
			// Another upload may have replaced it, or it was withdrawn,
			// since this one was queued: replacing it twice would count
			// both replacements.
			if _, err := replaced(tx, b.ProjectID, *b.Replaces); err != nil {
				fileErr = err
				return errRefused
			}
			if err := tx.Model(&Batch{}).Where("id = ?", *b.Replaces).
				Updates(map[string]any{"status": BatchReplaced, "replaced_by": b.ID}).Error; err != nil {
				return fmt.Errorf("mark replaced batch: %w", err)
			}
		}
		at := now()
		b.Status, b.Rows, b.ValidRows, b.ProcessedAt = BatchValid, sum.Rows, sum.Valid, &at
		if err := tx.Model(&Batch{}).Where("id = ?", b.ID).Updates(map[string]any{"status": b.Status,
			"rows": b.Rows, "valid_rows": b.ValidRows, "processed_at": at}).Error; err != nil {
			return fmt.Errorf("mark batch valid: %w", err)
		}
		valid, err := validBatches(tx, p.ID)
		if err != nil {
			return err
		}
		slices.Sort(valid)
		if !slices.Equal(valid, batches) {
			return recompute(tx, p, q, touched)
		}
		return sc.store(tx, p, false)
	})
	l.pace.after(time.Since(began))
	switch {
	case errors.Is(err, errRefused):
		return s.refuse(l, sum, fileErr)
	case err != nil:
		return l.batch, err
	}
	return b, s.purgeReplaced(l.ctx, b, l.pace)
}

// refuse records a batch that is not imported, once the responses stored
// so far are deleted: invalid with its rows' problems, or failed with the
// reason the file as a whole was refused.
func (s *Store) refuse(l *loading, sum responsefile.Summary, fileErr error) (Batch, error) {
	b := l.batch
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
		return l.batch, fmt.Errorf("encode problems: %w", jerr)
	}
	if err := deleteResponses(l.db, b.ID, l.step); err != nil {
		return l.batch, err
	}
	at := now()
	b.Status, b.Rows, b.ValidRows, b.ProcessedAt = status, sum.Rows, 0, &at
	b.ProblemCount, b.Problems = max(sum.ProblemCount, len(problems)), string(body)
	err := l.step(func(tx *gorm.DB) error {
		return tx.Model(&Batch{}).Where("id = ?", b.ID).Updates(map[string]any{"status": b.Status, "rows": b.Rows,
			"valid_rows": 0, "problem_count": b.ProblemCount, "problems": b.Problems, "error": b.Error, "processed_at": at}).Error
	})
	if err != nil {
		return l.batch, fmt.Errorf("mark batch %s: %w", status, err)
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
// region by region. A window is written in one or more short
// transactions of the attempt (txRows), never in one that lasts the whole
// read. At most one window is being written at a time; a failed write's
// error is returned by the next add or by flush.
type writer struct {
	l     *loading
	items int

	fill    []pending    // the window being filled
	spare   []pending    // a written window, for reuse
	writing chan written // the outcome of the window being written; nil when none
	err     error        // the first failed write

	// Used only by the write in progress; regions is read once the last
	// write is done.
	regions map[string]bool // the regions of the responses written
	order   []int32
	args    []any
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
	if w.l.db.Dialector.Name() == "sqlite" {
		return 32
	}
	return 4096
}

// txRows is the responses per transaction. On SQLite a transaction holds
// the database's one write lock, which every other write of the system
// waits for: a few thousand rows take some tens of milliseconds. On MySQL
// it holds only the batch's row, and a window is one transaction.
func (w *writer) txRows() int {
	if w.l.db.Dialector.Name() == "sqlite" {
		return sqliteTxRows
	}
	return insertWindow
}

// sqliteTxRows is the responses per transaction on SQLite.
const sqliteTxRows = 4096

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
	return nil
}

// write stores a window of responses, grouped by region, txRows to a
// transaction of the attempt.
func (w *writer) write(rows []pending) error {
	order := w.order[:0]
	for i := range rows {
		order = append(order, int32(i))
	}
	slices.SortStableFunc(order, func(a, b int32) int { return strings.Compare(rows[a].region, rows[b].region) })
	w.order = order
	if w.regions == nil {
		w.regions = map[string]bool{}
	}
	for k, i := range order {
		if k == 0 || rows[i].region != rows[order[k-1]].region {
			w.regions[rows[i].region] = true
		}
	}
	for len(order) > 0 {
		n := min(len(order), w.txRows())
		if err := w.l.step(func(tx *gorm.DB) error { return w.insert(tx, rows, order[:n]) }); err != nil {
			return err
		}
		order = order[n:]
	}
	return nil
}

// insert stores rows[i], for each i of order, within tx.
func (w *writer) insert(tx *gorm.DB, rows []pending, order []int32) (err error) {
	per := w.insertRows()
	ctx, pool := tx.Statement.Context, tx.Statement.ConnPool
	// Full statements reuse one prepared statement.
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			err = errors.Join(err, stmt.Close())
		}
	}()
	for len(order) > 0 {
		n := min(len(order), per)
		args := w.args[:0]
		for _, i := range order[:n] {
			r := &rows[i]
			args = append(args, w.l.batch.ProjectID, r.region, w.l.batch.ID, r.row, r.respondentType, r.respondentID,
				r.contactHash, r.seconds, r.at, r.answers, r.attention)
		}
		if n == per {
			if stmt == nil {
				stmt, err = pool.PrepareContext(ctx, insertSQL(n))
			}
			if err == nil {
				_, err = stmt.ExecContext(ctx, args...)
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
		// The cycle's and the project's locks first (as lockProject), then
		// every read, so that on MySQL they see what was committed before
		// the lock.
		if err := lockCycleOf(tx, "SELECT cycle_id FROM survey_projects WHERE id = (SELECT project_id FROM survey_batches WHERE id = ?)", id); err != nil {
			return err
		}
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
		if err := editable(tx, p); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Take(&b).Error; err != nil {
			return fmt.Errorf("get batch: %w", err)
		}
		switch b.Status {
		case BatchWithdrawn:
			return nil
		case BatchQueued, BatchLoading, BatchReplaced:
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
		return recompute(tx, p, sq.Questionnaire, nil)
	})
	return b, err
}
