package retention_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles/cyclestest"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/retention"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/surveys"
)

var admin = auth.Principal{UserID: "u-admin", Username: "admin", Role: auth.RoleAdmin}

// fixture is a collecting cycle whose evidence is kept in a blob
// directory of the test's.
type fixture struct {
	db       *gorm.DB
	evidence *indicators.EvidenceStore
	files    *blobs.Store
	dir      string
	cycle    string
	codes    []string // two indicators that take evidence
}

func newFixture(tb testing.TB, db *gorm.DB) fixture {
	tb.Helper()
	c, _ := cyclestest.Collecting(tb, db, nil, 2026)
	schemes := indicators.NewSchemeStore(db)
	dir := tb.TempDir()
	files, err := blobs.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var codes []string
	for _, ind := range scheme.Default().Indicators {
		if !ind.SurveySourced() && len(codes) < 2 {
			codes = append(codes, ind.Code)
		}
	}
	return fixture{db: db, evidence: indicators.NewEvidenceStore(db, indicators.NewValueStore(db, schemes), files, 1<<20),
		files: files, dir: dir, cycle: c.ID, codes: codes}
}

func (f fixture) attach(tb testing.TB, region, code string, data []byte) indicators.Evidence {
	tb.Helper()
	ev, _, err := f.evidence.Add(context.Background(), admin, f.cycle,
		indicators.Upload{RegionCode: region, IndicatorCode: code, FileName: "证明.pdf", Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

func (f fixture) withdraw(tb testing.TB, ev indicators.Evidence) {
	tb.Helper()
	if _, err := f.evidence.Withdraw(context.Background(), admin, f.cycle, ev.ID); err != nil {
		tb.Fatal(err)
	}
}

// stored reports whether the blob directory holds sum.
func (f fixture) stored(tb testing.TB, sum string) bool {
	tb.Helper()
	_, err := os.Stat(filepath.Join(f.dir, sum[:2], sum))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatal(err)
	}
	return err == nil
}

func (f fixture) purgedAt(tb testing.TB, id string) *time.Time {
	tb.Helper()
	var ev indicators.Evidence
	if err := f.db.Where("id = ?", id).Take(&ev).Error; err != nil {
		tb.Fatal(err)
	}
	return ev.PurgedAt
}

func pdf(text string) []byte {
	return []byte("%PDF-1.7\n% " + text + "\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
}

// TestProbe12ResidualInformation: the content of a withdrawn evidence file
// is removed once the retention has passed, not before; its row stays,
// marked purged, and the purge is audited with the object and the hash.
// Content that another file not purged shares stays until that one is
// purged too.
func TestProbe12ResidualInformation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		start := time.Now().UTC()
		gone := f.attach(t, "140100", f.codes[0], pdf("withdrawn"))
		sharedA := f.attach(t, "140100", f.codes[1], pdf("shared"))
		sharedB := f.attach(t, "140200", f.codes[1], pdf("shared"))
		live := f.attach(t, "140200", f.codes[0], pdf("live"))
		f.withdraw(t, gone)
		f.withdraw(t, sharedA)

		p := retention.New(db, f.files, audit.RecordSystem, 30*24*time.Hour, nil)
		at := start
		p.Now = func() time.Time { return at }
		purge := func(t *testing.T, after time.Duration, want int) {
			t.Helper()
			at = start.Add(after)
			n, err := p.PurgeOnce(ctx)
			if err != nil || n != want {
				t.Fatalf("purge after %v: %d purged (%v), want %d", after, n, err, want)
			}
		}

		purge(t, 29*24*time.Hour, 0)
		if !f.stored(t, gone.SHA256) || f.purgedAt(t, gone.ID) != nil {
			t.Fatal("a withdrawn file was purged within its retention")
		}

		purge(t, 31*24*time.Hour, 2)
		if f.stored(t, gone.SHA256) {
			t.Error("the withdrawn file is still on disk after the retention")
		}
		if f.purgedAt(t, gone.ID) == nil || f.purgedAt(t, sharedA.ID) == nil {
			t.Error("a purged file's row does not say purged")
		}
		if !f.stored(t, sharedB.SHA256) {
			t.Fatal("content still backing a live file was removed")
		}
		if _, data, err := f.evidence.Open(ctx, admin, f.cycle, sharedB.ID); err != nil || len(data) == 0 {
			t.Fatalf("the live file sharing the content: %v", err)
		}
		if _, _, err := f.evidence.Open(ctx, admin, f.cycle, gone.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("opening a purged file: %v, want not found", err)
		}
		if f.purgedAt(t, live.ID) != nil || !f.stored(t, live.SHA256) {
			t.Fatal("a live file was purged")
		}

		// The last file holding the shared content goes too: now the
		// content is removed. A second pass finds nothing.
		f.withdraw(t, sharedB)
		purge(t, 31*24*time.Hour+time.Hour, 1)
		if f.stored(t, sharedB.SHA256) {
			t.Error("shared content still on disk once every file holding it is purged")
		}
		purge(t, 32*24*time.Hour, 0)

		entries, err := audit.NewLog(db).List(ctx, audit.Filter{Action: retention.Action})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"evidence:" + gone.ID: gone.SHA256, "evidence:" + sharedA.ID: sharedA.SHA256, "evidence:" + sharedB.ID: sharedB.SHA256}
		if len(entries) != len(want) {
			t.Fatalf("%d purge audit entries, want %d: %+v", len(entries), len(want), entries)
		}
		for _, e := range entries {
			if sum, ok := want[e.Object]; !ok || !strings.Contains(e.Detail, sum) || e.Result != audit.Success {
				t.Errorf("audit entry %+v, want one per purged file with its hash", e)
			}
		}
	})
}

// TestProbe12ResidualInformationSurveyBatch: the file of a refused survey
// batch is removed once the retention has passed; the batch stays, with
// its problems, marked purged, and the purge is audited.
func TestProbe12ResidualInformationSurveyBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		start := time.Now().UTC()
		org, err := auth.NewStore(db, nil).CreateOrganisation(ctx, "调查中心", auth.OrgKindContractor)
		if err != nil {
			t.Fatal(err)
		}
		sv := surveys.NewStore(db, nil, indicators.NewValueStore(db, indicators.NewSchemeStore(db)), f.files,
			[]byte("test-contact-key-0123456789abcdefgh"), 1<<20)
		p, err := sv.CreateProject(ctx, admin, f.cycle, surveys.ProjectInput{OrganisationID: org.ID, Name: "满意度调查",
			Minimum: 1, Target: 10, Regions: []surveys.ProjectRegion{{Code: "140100"}},
			FieldworkStart: "2026-09-01", FieldworkEnd: "2026-10-31"})
		if err != nil {
			t.Fatal(err)
		}
		contractor := auth.Principal{UserID: "u-survey", Username: "survey", Role: auth.RoleContractor, OrganisationID: org.ID}
		bad := "region,respondent_type,respondent_id,phone,seconds,submitted_at,convenience,efficiency,information,consultation,attitude,overall\n" +
			"999999,enterprise,R1,,300,2026-09-15 10:00:00,9,9,9,9,9,9\n"
		b, err := sv.IngestNow(ctx, contractor, p.ID, "answers.csv", strings.NewReader(bad))
		if err != nil || b.Status != surveys.BatchInvalid {
			t.Fatalf("refused batch: %s (%v), want invalid", b.Status, err)
		}

		pr := retention.New(db, f.files, audit.RecordSystem, 30*24*time.Hour, nil)
		pr.Now = func() time.Time { return start.Add(31 * 24 * time.Hour) }
		if n, err := pr.PurgeOnce(ctx); err != nil || n != 1 {
			t.Fatalf("purge: %d (%v), want the refused batch", n, err)
		}
		if f.stored(t, b.SHA256) {
			t.Error("the refused batch's file is still on disk")
		}
		v, err := sv.GetBatch(ctx, contractor, b.ID)
		if err != nil || v.PurgedAt == nil || len(v.Problems) == 0 {
			t.Fatalf("purged batch %+v (%v), want it on record, purged, with its problems", v.Batch, err)
		}
		entries, err := audit.NewLog(db).List(ctx, audit.Filter{Action: retention.Action, Object: "survey_batch:" + b.ID})
		if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, b.SHA256) {
			t.Fatalf("audit %+v (%v), want one entry with the hash", entries, err)
		}
	})
}
