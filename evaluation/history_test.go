package evaluation_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

// TestRegionHistory reads a region's ranking row from the published runs
// only, with its cycle's year, the same for an admin and a city official
// of another region; other roles read none.
func TestRegionHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		r := f.run(t)
		if h, err := f.runs.RegionHistory(ctx, f.admin, "140200"); err != nil || len(h) != 0 {
			t.Fatalf("history before publication: %+v, %v", h, err)
		}
		if _, err := f.runs.Publish(ctx, f.admin, r.ID); err != nil {
			t.Fatal(err)
		}
		_, res, err := f.runs.Get(ctx, f.admin, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := res.Region("140200")
		for _, by := range []auth.Principal{f.admin, taiyuan} {
			h, err := f.runs.RegionHistory(ctx, by, "140200")
			if err != nil || len(h) != 1 {
				t.Fatalf("history for %s: %+v, %v", by.Role, h, err)
			}
			got := h[0]
			if got.Year != 2025 || got.Region.Score != want.Score || got.Region.Grade != want.Grade || len(got.Region.Indicators) != 0 || len(got.Grades) == 0 {
				t.Errorf("history for %s: year %d, score %v, grade %q, %d indicators, %d grades",
					by.Role, got.Year, got.Region.Score, got.Region.Grade, len(got.Region.Indicators), len(got.Grades))
			}
		}
		if h, err := f.runs.RegionHistory(ctx, f.admin, "149900"); err != nil || len(h) != 0 {
			t.Fatalf("history of a region no run scored: %+v, %v", h, err)
		}
		auditor := auth.Principal{UserID: "u-au", Role: auth.RoleAuditor}
		if _, err := f.runs.RegionHistory(ctx, auditor, "140200"); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("an auditor reads a region's history: %v", err)
		}
	})
}
