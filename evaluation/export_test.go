package evaluation_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

// TestExport cuts a run for its export: an admin gets everything, or one
// region's detail; a city official gets a published run only (an
// unpublished one is not found), with the whole ranking but its own
// region's detail alone (another region: 403).
func TestExport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		r := f.run(t)

		ex, err := f.runs.Export(ctx, f.admin, r.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if ex.Cycle.Year != 2025 || ex.Run.ID != r.ID || ex.Sensitivity == nil || len(ex.Sensitivity.Regions) != 3 ||
			len(ex.Input.Regions) != 3 || len(ex.Input.Values) != 3 || ex.Region != "" {
			t.Fatalf("an admin's export: year %d, %d regions, %d with values, sensitivity %v", ex.Cycle.Year,
				len(ex.Input.Regions), len(ex.Input.Values), ex.Sensitivity != nil)
		}
		if got := ex.Input.Values["140200"]["A2"]; got.Number != strength(mustIndicator(t, ex, "A2"), 2) || got.Status != "verified" {
			t.Errorf("the export's value of 140200/A2 is %+v, not the one the run scored", got)
		}

		for _, tc := range []struct {
			name   string
			by     auth.Principal
			region string
			want   error
		}{
			{"unpublished, city: not found, as a missing run", taiyuan, "", fault.ErrNotFound},
			{"contractor", auth.Principal{UserID: "u-c", Role: auth.RoleContractor, OrganisationID: "o"}, "", fault.ErrForbidden},
			{"region not in the run", f.admin, "999999", fault.ErrNotFound},
		} {
			if _, err := f.runs.Export(ctx, tc.by, r.ID, tc.region); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if _, err := f.runs.Export(ctx, f.admin, "no-such-run", ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("no such run: %v", err)
		}

		if _, err := f.runs.Publish(ctx, f.admin, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.runs.Export(ctx, taiyuan, r.ID, "140200"); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a city official exports another region: %v", err)
		}
		for _, tc := range []struct {
			by     auth.Principal
			region string
			own    string
		}{{taiyuan, "", "140100"}, {taiyuan, "140100", "140100"}, {f.admin, "140200", "140200"}} {
			ex, err := f.runs.Export(ctx, tc.by, r.ID, tc.region)
			if err != nil {
				t.Fatalf("%s exports %q: %v", tc.by.Username, tc.region, err)
			}
			if ex.Region != tc.own || len(ex.Result.Regions) != 3 {
				t.Fatalf("export of %s: region %q, %d ranking rows", tc.own, ex.Region, len(ex.Result.Regions))
			}
			for _, rr := range ex.Result.Regions {
				own := rr.Code == tc.own
				if rr.Rank == 0 || own != (len(rr.Indicators) > 0) || !own && len(rr.Rules) > 0 {
					t.Errorf("export of %s: region %s has rank %d, %d indicators, %d rules", tc.own, rr.Code, rr.Rank, len(rr.Indicators), len(rr.Rules))
				}
			}
			if len(ex.Input.Regions) != 1 || ex.Input.Regions[0].Code != tc.own ||
				!slices.Equal(slices.Collect(maps.Keys(ex.Input.Values)), []string{tc.own}) ||
				len(ex.Sensitivity.Regions) != 1 || ex.Sensitivity.Regions[0].Code != tc.own {
				t.Errorf("export of %s carries the detail of %v / %v", tc.own, ex.Input.Regions, slices.Collect(maps.Keys(ex.Input.Values)))
			}
		}
	})
}

func mustIndicator(tb testing.TB, ex evaluation.Export, code string) scheme.Indicator {
	tb.Helper()
	ind, ok := ex.Input.Scheme.Indicator(code)
	if !ok {
		tb.Fatalf("no indicator %s", code)
	}
	return ind
}
