package indicators_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

// testEvidenceLimit is the fixture's evidence size limit, low so that the
// over-limit case needs no large buffer.
const testEvidenceLimit = 64 << 10

var pdf = []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")

// attach uploads a small PDF as evidence and fails the test on error.
func (f fixture) attach(tb testing.TB, by auth.Principal, region, indicator string) indicators.Evidence {
	tb.Helper()
	ev, _, err := f.evidence.Add(context.Background(), by, f.cycle,
		indicators.Upload{RegionCode: region, IndicatorCode: indicator, FileName: "资金安排文件.pdf", Data: pdf})
	if err != nil {
		tb.Fatalf("attach evidence: %v", err)
	}
	return ev
}

// zipWith returns a zip archive holding the named (empty) members.
func zipWith(tb testing.TB, names ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(bytes.Repeat([]byte("<x/>"), 2000)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// storedFiles counts the files in the fixture's blob directory.
func (f fixture) storedFiles(tb testing.TB) int {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(f.blobDir, func(_ string, d fs.DirEntry, err error) error {
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

func TestEvidenceUpload(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...)
	docx := zipWith(t, "[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml", "word/_rels/document.xml.rels", "word/document.xml")
	ofd := zipWith(t, "OFD.xml", "Doc_0/Document.xml")
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		cases := []struct {
			name      string
			by        auth.Principal
			region    string
			indicator string
			file      string
			data      []byte
			wantErr   error
			wantMedia string
		}{
			{"pdf", taiyuan, "140100", "F1", "预算.PDF", pdf, nil, "application/pdf"},
			{"png by admin", admin, "140200", "A2", "scan.png", png, nil, "image/png"},
			{"docx", taiyuan, "140100", "A1", "文件.docx", docx, nil, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
			{"ofd", taiyuan, "140100", "A1", "公文.ofd", ofd, nil, "application/ofd"},
			{"claims pdf but is text", taiyuan, "140100", "F1", "budget.pdf", []byte("just text, not a PDF"), fault.ErrUnsupportedMedia, ""},
			{"claims docx but is another zip", taiyuan, "140100", "F1", "x.docx", ofd, fault.ErrUnsupportedMedia, ""},
			{"executable", taiyuan, "140100", "F1", "setup.exe", []byte("MZ\x90\x00"), fault.ErrUnsupportedMedia, ""},
			{"no extension", taiyuan, "140100", "F1", "budget", pdf, fault.ErrUnsupportedMedia, ""},
			{"over the limit", taiyuan, "140100", "F1", "big.pdf", append(bytes.Clone(pdf), make([]byte, testEvidenceLimit)...), fault.ErrTooLarge, ""},
			{"empty", taiyuan, "140100", "F1", "empty.pdf", nil, fault.ErrBadRequest, ""},
			{"another region", taiyuan, "140200", "F1", "a.pdf", pdf, fault.ErrForbidden, ""},
			{"contractor", contractor, "140100", "F1", "a.pdf", pdf, fault.ErrForbidden, ""},
			{"unknown indicator", taiyuan, "140100", "Z9", "a.pdf", pdf, fault.ErrBadRequest, ""},
			{"survey-sourced indicator", taiyuan, "140100", "D1", "a.pdf", pdf, fault.ErrBadRequest, ""},
			{"unknown region", admin, "999999", "F1", "a.pdf", pdf, fault.ErrBadRequest, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := f.storedFiles(t)
				ev, _, err := f.evidence.Add(ctx, tc.by, f.cycle, indicators.Upload{RegionCode: tc.region,
					IndicatorCode: tc.indicator, FileName: `C:\Users\me\` + tc.file, Data: tc.data})
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					if after := f.storedFiles(t); after != before {
						t.Fatalf("a refused upload stored a file (%d → %d)", before, after)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.MediaType != tc.wantMedia || ev.FileName != tc.file || ev.Size != int64(len(tc.data)) || len(ev.SHA256) != 64 {
					t.Fatalf("evidence %+v", ev)
				}
				got, data, err := f.evidence.Open(ctx, tc.by, f.cycle, ev.ID)
				if err != nil || !bytes.Equal(data, tc.data) || got.ID != ev.ID {
					t.Fatalf("open: %v", err)
				}
			})
		}
		list, err := f.evidence.List(ctx, admin, f.cycle, "")
		if err != nil || len(list) != 4 {
			t.Fatalf("admin lists %d files, %v", len(list), err)
		}
	})
}

func TestEvidenceVisibilityAndWithdrawal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		ev := f.attach(t, taiyuan, "140100", "F1")
		again, created, err := f.evidence.Add(ctx, admin, f.cycle, indicators.Upload{RegionCode: "140100", IndicatorCode: "F1", FileName: "copy.pdf", Data: pdf})
		if err != nil || created || again.ID != ev.ID {
			t.Fatalf("a retried upload of the same file: %+v created=%v, %v", again, created, err)
		}
		if _, _, err := f.evidence.Open(ctx, datong, f.cycle, ev.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("another city opens: %v", err)
		}
		if _, _, err := f.evidence.Open(ctx, contractor, f.cycle, ev.ID); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("contractor opens: %v", err)
		}
		if _, err := f.evidence.List(ctx, datong, f.cycle, "140100"); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("another city lists: %v", err)
		}
		if own, err := f.evidence.List(ctx, datong, f.cycle, ""); err != nil || len(own) != 0 {
			t.Fatalf("Datong lists its own: %v, %v", own, err)
		}
		if _, err := f.evidence.Withdraw(ctx, datong, f.cycle, ev.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("another city withdraws: %v", err)
		}

		// Evidence of a verified value stays.
		v := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "F1", Number: num(50)})
		sub, err := f.values.Submit(ctx, taiyuan, f.cycle, "140100", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.values.Review(ctx, admin, f.cycle, v.ID, true, "", sub[0].Version); err != nil {
			t.Fatal(err)
		}
		if _, err := f.evidence.Withdraw(ctx, taiyuan, f.cycle, ev.ID); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("withdraw evidence of a verified value: %v", err)
		}

		other := f.attach(t, taiyuan, "140100", "A2")
		w, err := f.evidence.Withdraw(ctx, taiyuan, f.cycle, other.ID)
		if err != nil || w.WithdrawnAt == nil || w.WithdrawnBy != taiyuan.UserID {
			t.Fatalf("withdraw: %+v, %v", w, err)
		}
		if _, data, err := f.evidence.Open(ctx, admin, f.cycle, other.ID); err != nil || !bytes.Equal(data, pdf) {
			t.Fatalf("a withdrawn file stays on record: %v", err)
		}

		f.transition(t, cycles.Scoring)
		if _, _, err := f.evidence.Add(ctx, taiyuan, f.cycle, indicators.Upload{RegionCode: "140100", IndicatorCode: "A2",
			FileName: "late.pdf", Data: pdf}); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("upload after collecting: %v", err)
		}
		if _, _, err := f.evidence.Open(ctx, taiyuan, f.cycle, ev.ID); err != nil {
			t.Fatalf("evidence stays readable after collecting: %v", err)
		}
	})
}
