package demo_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/reviewhint"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/demo"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/surveys"
)

// TestLoad checks the story the demo tells: two published years, Taiyuan
// excellent in the first and capped by rule R1 in the second for want of
// funding, and the current year open for data entry.
func TestLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		files, err := blobs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		sv := surveys.NewStore(db, nil, indicators.NewValueStore(db, indicators.NewSchemeStore(db)), files,
			[]byte("demo-test-contact-key-0123456789abcdef"), 0)
		res, err := demo.Load(ctx, db, demo.Options{Year: 2026, Surveys: sv})
		if err != nil {
			t.Fatal(err)
		}
		if res.Cycle.Status != cycles.Collecting || len(res.PastCycles) != 2 {
			t.Fatalf("current cycle %s, %d past cycles", res.Cycle.Status, len(res.PastCycles))
		}
		// One account of each role, the three administrators apart.
		roles := map[auth.Role]int{}
		for _, a := range res.Accounts {
			roles[a.Role]++
			if err := auth.CheckPassword(a.Password, a.Username); err != nil {
				t.Errorf("demo password of %s: %v", a.Username, err)
			}
		}
		for _, r := range auth.Roles() {
			if roles[r] != 1 {
				t.Errorf("demo has %d accounts of role %s, want 1", roles[r], r)
			}
		}
		var manager auth.Principal
		if err := db.Model(&auth.User{}).Select("id").Where("username = ?", "admin").Scan(&manager.UserID).Error; err != nil {
			t.Fatal(err)
		}
		manager.Role = auth.RoleAdmin
		store := evaluation.NewStore(db, nil, indicators.NewSchemeStore(db))
		grades := map[int][2]string{}
		for _, cy := range res.PastCycles {
			if cy.Status != cycles.Published {
				t.Fatalf("past cycle %d is %s", cy.Year, cy.Status)
			}
			list, err := store.List(ctx, manager, cy.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The later year has a trial run before the funding correction,
			// never published; the newest run is the published one.
			want := map[int]int{2024: 1, 2025: 2}[cy.Year]
			if len(list) != want {
				t.Fatalf("runs of %d: %d, want %d", cy.Year, len(list), want)
			}
			var published string
			for _, r := range list {
				if r.PublishedAt != nil {
					published = r.ID
				}
			}
			if published == "" {
				t.Fatalf("no published run of %d", cy.Year)
			}
			if cy.Year == 2025 {
				trial := list[0].ID
				if trial == published {
					trial = list[1].ID
				}
				_, before, err := store.Region(ctx, manager, trial, demo.Capped)
				if err != nil {
					t.Fatal(err)
				}
				if before.Grade != "excellent" {
					t.Fatalf("Taiyuan in the trial run, before the correction: %s", before.Grade)
				}
			}
			_, ty, err := store.Region(ctx, manager, published, demo.Capped)
			if err != nil {
				t.Fatal(err)
			}
			grades[cy.Year] = [2]string{ty.BandGrade, ty.Grade}
			if cy.Year == 2025 && ty.AwardEligible {
				t.Fatal("Taiyuan without funding is award eligible")
			}
		}
		if grades[2024] != [2]string{"excellent", "excellent"} || grades[2025] != [2]string{"excellent", "good"} {
			t.Fatalf("Taiyuan's band and grade by year: %v", grades)
		}

		// The current cycle's survey is accepted: its junk was caught and
		// every region has its D1 value, with the interval, from it.
		if res.Survey.Status != surveys.ProjectAccepted {
			t.Fatalf("demo survey is %s", res.Survey.Status)
		}
		admin := auth.Principal{UserID: manager.UserID, Role: auth.RoleAdmin}
		idx, err := sv.Quality(ctx, admin, res.Survey.ID)
		if err != nil {
			t.Fatal(err)
		}
		speeders, duplicates := 0, 0
		for _, ri := range idx {
			speeders += ri.Speeders
			duplicates += ri.Duplicates
			if ri.Insufficient || ri.Mean == nil {
				t.Errorf("region %s: insufficient demo sample (n=%d)", ri.RegionCode, ri.N)
			}
		}
		if speeders == 0 || duplicates == 0 {
			t.Errorf("the screens caught %d speeders and %d duplicates, want some of each", speeders, duplicates)
		}
		var d1 []indicators.Value
		if err := db.Where("cycle_id = ? AND indicator_code = ?", res.Cycle.ID, "D1").Find(&d1).Error; err != nil {
			t.Fatal(err)
		}
		if len(d1) != len(idx) || len(d1) == 0 {
			t.Fatalf("%d D1 values for %d surveyed regions", len(d1), len(idx))
		}
		for _, v := range d1 {
			if v.Status != indicators.StatusVerified || v.Number == nil || v.CILower == nil || v.CIUpper == nil ||
				!(*v.CILower < *v.Number && *v.Number < *v.CIUpper) {
				t.Errorf("D1 of %s: %+v", v.RegionCode, v)
			}
		}

		// The manager's review queue has work: the Submitted regions'
		// values, one flagged as far from last year's; the city official
		// enters Capped's own.
		schemes := indicators.NewSchemeStore(db)
		values := indicators.NewValueStore(db, schemes)
		queue := indicators.NewReviewQueue(cycles.NewStore(db), schemes, values, indicators.NewEvidenceStore(db, values, files, 1<<20))
		page, err := queue.Page(ctx, admin, res.Cycle.ID, indicators.ReviewFilter{Status: indicators.StatusSubmitted})
		if err != nil {
			t.Fatal(err)
		}
		perRegion, lastYear := map[string]int{}, 0
		for _, row := range page.Rows {
			perRegion[row.Value.RegionCode]++
			for _, h := range row.Hints {
				if h.Code == reviewhint.LastCycle {
					lastYear++
				}
			}
		}
		for _, code := range demo.Submitted {
			if perRegion[code] == 0 {
				t.Errorf("review queue: no submitted value of %s", code)
			}
		}
		if perRegion[demo.Capped] != 0 || len(perRegion) != len(demo.Submitted) {
			t.Errorf("review queue by region: %v, want only %v", perRegion, demo.Submitted)
		}
		if lastYear == 0 {
			t.Error("review queue: no value flagged as far from last year's")
		}
	})
}
