// The ingestion job: claim, load and finish a batch (see Store.ingest).

package surveys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

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
