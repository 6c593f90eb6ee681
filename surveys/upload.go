// Upload intake: a file becomes a queued batch of a project.

package surveys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

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
