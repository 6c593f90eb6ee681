package surveys_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/surveys"
)

// TestProbe03SurveyOutsideCollecting: survey batches, like indicator
// data, change only while their cycle is collecting. A contractor cannot
// upload to, withdraw from or submit a project of a cycle past collecting
// (nothing stored, not even the file), and a batch uploaded while
// collecting whose cycle moved on before its job ran fails with the
// reason.
func TestProbe03SurveyOutsideCollecting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		setStatus := func(t *testing.T, st cycles.Status) {
			t.Helper()
			if err := db.Model(&cycles.Cycle{}).Where("id = ?", f.cycle).Update("status", st).Error; err != nil {
				t.Fatal(err)
			}
		}
		p := f.project(t)
		valid := f.upload(t, p.ID, answers(), "")
		queued, _, err := f.store.Upload(ctx, f.contractor, p.ID, "more.csv",
			strings.NewReader(header+row("140200", "R10", 300, 4, 4, 4, 4, 4, 4)), "")
		if err != nil {
			t.Fatal(err)
		}
		countBatches := func(t *testing.T) int64 {
			t.Helper()
			var n int64
			if err := db.Model(&surveys.Batch{}).Where("project_id = ?", p.ID).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := countBatches(t)
		files := countFiles(t, f.blobDir)

		for _, st := range []cycles.Status{cycles.Scoring, cycles.Published, cycles.Archived, cycles.Draft} {
			t.Run(string(st), func(t *testing.T) {
				setStatus(t, st)
				_, _, err := f.store.Upload(ctx, f.contractor, p.ID, "late.csv",
					strings.NewReader(header+row("140300", "R11", 300, 3, 3, 3, 3, 3, 3)), "")
				if !errors.Is(err, fault.ErrConflict) {
					t.Fatalf("upload while the cycle is %s: %v, want a conflict", st, err)
				}
				if _, _, err := f.store.Move(ctx, f.contractor, p.ID, surveys.Submit, ""); !errors.Is(err, fault.ErrConflict) {
					t.Fatalf("submit while the cycle is %s: %v, want a conflict", st, err)
				}
				if _, err := f.store.Withdraw(ctx, f.contractor, valid.ID); !errors.Is(err, fault.ErrConflict) {
					t.Fatalf("withdraw while the cycle is %s: %v, want a conflict", st, err)
				}
				if n := countBatches(t); n != before {
					t.Fatalf("%d batches after the refused upload, want %d", n, before)
				}
				if n := countFiles(t, f.blobDir); n != files {
					t.Fatalf("%d stored files after the refused upload, want %d", n, files)
				}
			})
		}

		// The batch queued while collecting is read after the cycle moved
		// on: it fails, saying why, and adds no responses.
		setStatus(t, cycles.Published)
		job, err := f.queue.Get(ctx, *queued.JobID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Handler(slog.New(slog.DiscardHandler))(ctx, job, func(int, string) {}); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.GetBatch(ctx, f.contractor, queued.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != surveys.BatchFailed || !strings.Contains(got.Error, "collecting") {
			t.Fatalf("batch read after publication: %s %q, want failed, saying the cycle is no longer collecting", got.Status, got.Error)
		}
		pv, err := f.store.GetProject(ctx, f.contractor, p.ID)
		if err != nil || pv.Status != surveys.ProjectOpen {
			t.Fatalf("project %s (%v), want still open", pv.Status, err)
		}
	})
}

// countFiles counts the files under dir.
func countFiles(tb testing.TB, dir string) int {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
