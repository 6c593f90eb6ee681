// Package retention removes the content of upload files that no longer
// back anything — evidence withdrawn, survey batches refused (invalid or
// failed), withdrawn or replaced — once a retention period has passed
// (等保2.0 剩余信息保护, residual information protection). Each file's row
// stays on record, marked purged with the time, and each purge is
// audited with the object and the content's SHA-256. Files are stored by
// content (package blobs), so the same bytes may back several rows: the
// content is removed only when no other row that is not purged refers to
// it.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/blobs"
)

// Defaults.
const (
	// DefaultDays is the default retention: longer than a notice period
	// and the review of the objections raised in it, during which a
	// withdrawn or refused file may still be asked about; short enough
	// that what its uploader took back does not linger.
	DefaultDays = 30
	// DefaultInterval is how often files are looked for.
	DefaultInterval = time.Hour
	// fence spares content put again within it: an upload of the same
	// bytes whose row is not committed yet (see blobs.Store.Remove).
	fence = time.Hour
	batch = 200
)

// Action is the audit action of a purge.
const Action = "file.purge"

// source is one table of upload files: which of its rows are dead, and
// since when.
type source struct {
	// object prefixes the audit object, "<object>:<id>".
	object string
	table  string
	// dead restricts a query to rows whose file backs nothing since
	// before cutoff.
	dead func(q *gorm.DB, cutoff time.Time) *gorm.DB
}

// sources lists every table whose rows refer to blobs.
func sources() []source {
	return []source{
		{object: "evidence", table: "evidence_files", dead: func(q *gorm.DB, cutoff time.Time) *gorm.DB {
			return q.Where("withdrawn_at IS NOT NULL AND withdrawn_at < ?", cutoff)
		}},
		{object: "survey_batch", table: "survey_batches", dead: func(q *gorm.DB, cutoff time.Time) *gorm.DB {
			// A replaced batch is dead since its replacement was read.
			return q.Where("(status IN ('invalid', 'failed') AND processed_at < ?) OR (status = 'withdrawn' AND withdrawn_at < ?)"+
				" OR (status = 'replaced' AND replaced_by IN (SELECT nb.id FROM survey_batches nb WHERE nb.processed_at < ?))",
				cutoff, cutoff, cutoff)
		}},
	}
}

// Purger removes the content of dead upload files after the retention.
// Any number of processes may purge at once: a row is marked purged, and
// audited, by one guarded update. Set Now before Run.
type Purger struct {
	// Now is the clock (UTC); tests move it forward.
	Now func() time.Time

	db        *gorm.DB
	files     *blobs.Store
	record    Recorder
	retention time.Duration
	log       *slog.Logger
}

// Recorder writes the audit entry of something the system did itself
// with tx, so that a purge's mark and its entry commit together. The
// wiring passes the audit log's (audit.RecordSystem): this package imports
// no domain package.
type Recorder func(ctx context.Context, tx *gorm.DB, at time.Time, action, object, requestID, detail string) error

// New returns a Purger of the files in db and files, keeping a dead file's
// content for retention and auditing each purge with record; log may be
// nil.
func New(db *gorm.DB, files *blobs.Store, record Recorder, retention time.Duration, log *slog.Logger) *Purger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Purger{Now: func() time.Time { return time.Now().UTC() }, db: db, files: files, record: record, retention: retention, log: log}
}

// Run purges at once and then every interval until ctx ends.
func (p *Purger) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := p.PurgeOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.log.Warn("file purge incomplete; retrying next tick", "err", err, "purged", n)
		case n > 0:
			p.log.Info("dead upload files purged", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dead is a row whose file backs nothing.
type dead struct {
	ID     string
	SHA256 string `gorm:"column:sha256"`
	Size   int64
}

// PurgeOnce purges what is due and returns how many rows it marked.
func (p *Purger) PurgeOnce(ctx context.Context) (int, error) {
	now := p.Now().UTC().Truncate(time.Millisecond)
	cutoff := now.Add(-p.retention)
	n := 0
	for _, src := range sources() {
		for {
			var rows []dead
			q := p.db.WithContext(ctx).Table(src.table).Select("id", "sha256", "size").Where("purged_at IS NULL")
			if err := src.dead(q, cutoff).Order("id").Limit(batch).Scan(&rows).Error; err != nil {
				return n, fmt.Errorf("find dead %s files: %w", src.object, err)
			}
			done := 0
			for _, r := range rows {
				ok, err := p.purge(ctx, src, r, now)
				if err != nil {
					return n, err
				}
				if ok {
					done++
				}
			}
			n += done
			// A full page of which nothing was purged would be read again.
			if len(rows) < batch || done == 0 {
				break
			}
		}
	}
	return n, nil
}

// purge removes one dead row's content, unless another row refers to it,
// and marks the row purged with its audit entry. It reports false when the
// content was put again lately, or another process purged the row first.
func (p *Purger) purge(ctx context.Context, src source, r dead, now time.Time) (bool, error) {
	others, err := p.references(ctx, r.SHA256, src.table, r.ID)
	if err != nil {
		return false, err
	}
	detail := fmt.Sprintf("sha256=%s size=%d; content removed after %d days", r.SHA256, r.Size, int(p.retention/(24*time.Hour)))
	if others > 0 {
		detail = fmt.Sprintf("sha256=%s size=%d; content kept: the same content backs %d other file(s)", r.SHA256, r.Size, others)
	} else {
		gone, err := p.files.Remove(r.SHA256, now.Add(-fence))
		if err != nil {
			return false, fmt.Errorf("purge %s %s: %w", src.object, r.ID, err)
		}
		if !gone {
			return false, nil
		}
	}
	marked := false
	err = p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Table(src.table).Where("id = ? AND purged_at IS NULL", r.ID).Update("purged_at", now)
		if res.Error != nil {
			return fmt.Errorf("mark %s %s purged: %w", src.object, r.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		marked = true
		return p.record(ctx, tx, now, Action, src.object+":"+r.ID, fmt.Sprintf("retention-%d", now.UnixMilli()), detail)
	})
	if err != nil {
		return false, err
	}
	if marked {
		p.log.Info("upload file purged", "object", src.object, "id", r.ID, "sha256", r.SHA256, "content_removed", others == 0)
	}
	return marked, nil
}

// references counts the rows other than (table, id), in every table of
// upload files, that refer to sum and are not purged: live, or dead but
// still within their retention.
func (p *Purger) references(ctx context.Context, sum, table, id string) (int64, error) {
	var total int64
	for _, src := range sources() {
		q := p.db.WithContext(ctx).Table(src.table).Where("sha256 = ? AND purged_at IS NULL", sum)
		if src.table == table {
			q = q.Where("id <> ?", id)
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			return 0, fmt.Errorf("count references to %s: %w", sum, err)
		}
		total += n
	}
	return total, nil
}
