package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipeval/ipeval/jobs"
)

// TypeExport is the job kind that writes the audit log to a CSV file.
const TypeExport = "audit:export"

// ExportPayload is the payload of a TypeExport job.
type ExportPayload struct {
	Filter Filter `json:"filter"`
}

// ExportHandler returns the job handler that writes the entries matching
// the payload's filter to <dataDir>/exports/<job id>.csv. It writes to a
// temporary file and renames it, so that a retried or interrupted job never
// leaves half a file behind.
func (l *Log) ExportHandler(dataDir string) jobs.Handler {
	return func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
		var p ExportPayload
		if err := job.Decode(&p); err != nil {
			return "", err
		}
		rel := filepath.ToSlash(filepath.Join("exports", job.ID+".csv"))
		dst := filepath.Join(dataDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return "", fmt.Errorf("create export directory: %w", err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".export-*")
		if err != nil {
			return "", fmt.Errorf("create export file: %w", err)
		}
		defer os.Remove(tmp.Name())
		var total int64
		if err := p.Filter.apply(l.db.WithContext(ctx).Model(&Entry{})).Count(&total).Error; err != nil {
			_ = tmp.Close()
			return "", fmt.Errorf("count entries: %w", err)
		}
		rows, err := l.WriteCSV(ctx, tmp, p.Filter, func(n int) {
			if total > 0 {
				progress(min(99, int(int64(n)*100/total)), fmt.Sprintf("%d/%d", n, total))
			}
		})
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("write export: %w", err)
		}
		if err := os.Rename(tmp.Name(), dst); err != nil {
			return "", fmt.Errorf("store export: %w", err)
		}
		out, err := json.Marshal(jobs.Artifact{File: rel, Name: "audit-" + time.Now().UTC().Format("20060102-150405") + ".csv",
			ContentType: "text/csv; charset=utf-8", Rows: rows})
		return string(out), err
	}
}
