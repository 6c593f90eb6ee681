package indicators_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
)

const testRegions = "code,name,kind,parent\n" +
	"140000,山西省,province,\n" +
	"140100,太原市,prefecture_city,140000\n" +
	"140200,大同市,prefecture_city,140000\n" +
	"149900,山西转型综合改革示范区,reform_zone,140000\n"

var (
	admin      = auth.Principal{UserID: "u-admin", Username: "admin", Role: auth.RoleAdmin}
	taiyuan    = auth.Principal{UserID: "u-ty", Username: "taiyuan", Role: auth.RoleCity, RegionCode: "140100"}
	datong     = auth.Principal{UserID: "u-dt", Username: "datong", Role: auth.RoleCity, RegionCode: "140200"}
	contractor = auth.Principal{UserID: "u-co", Username: "survey", Role: auth.RoleContractor, OrganisationID: "org"}
)

// fixture is a database with Shanxi's test regions and one cycle.
type fixture struct {
	db       *gorm.DB
	values   *indicators.ValueStore
	evidence *indicators.EvidenceStore
	blobDir  string
	cycles   *cycles.Store
	cycle    string
}

// testScheme is the default scheme with C2 limited to prefecture cities,
// so that the reform zone has a not-applicable indicator.
func testScheme() scheme.Scheme {
	sc := scheme.Default()
	for i := range sc.Indicators {
		if sc.Indicators[i].Code == "C2" {
			sc.Indicators[i].AppliesTo = []kind.Kind{kind.PrefectureCity}
		}
	}
	return sc
}

// newFixture sets up regions and a cycle with the test scheme, moved to
// collecting.
func newFixture(tb testing.TB, db *gorm.DB) fixture {
	tb.Helper()
	f := newBareFixture(tb, db)
	ctx := context.Background()
	schemes := indicators.NewSchemeStore(db)
	st, err := schemes.Create(ctx, testScheme(), "")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.cycles.SetScheme(ctx, f.cycle, st.ID); err != nil {
		tb.Fatal(err)
	}
	f.transition(tb, cycles.Collecting)
	return f
}

// newBareFixture sets up regions and a draft cycle without a scheme.
func newBareFixture(tb testing.TB, db *gorm.DB) fixture {
	tb.Helper()
	ctx := context.Background()
	if _, err := regions.NewStore(db).ImportCSV(ctx, strings.NewReader(testRegions)); err != nil {
		tb.Fatal(err)
	}
	cs := cycles.NewStore(db)
	c, err := cs.Create(ctx, cycles.Input{Year: 2025})
	if err != nil {
		tb.Fatal(err)
	}
	values := indicators.NewValueStore(db, indicators.NewSchemeStore(db))
	dir := tb.TempDir()
	files, err := blobs.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{db: db, values: values, evidence: indicators.NewEvidenceStore(db, values, files, testEvidenceLimit),
		blobDir: dir, cycles: cs, cycle: c.ID}
}

func (f fixture) transition(tb testing.TB, to cycles.Status) {
	tb.Helper()
	if _, err := f.cycles.Transition(context.Background(), f.cycle, to); err != nil {
		tb.Fatal(err)
	}
}

// set writes one value and fails the test on error.
func (f fixture) set(tb testing.TB, by auth.Principal, in indicators.ValueInput) indicators.Value {
	tb.Helper()
	v, err := f.values.Set(context.Background(), by, f.cycle, in)
	if err != nil {
		tb.Fatalf("Set(%+v): %v", in, err)
	}
	return v
}

func (f fixture) history(tb testing.TB, valueID string) []indicators.Revision {
	tb.Helper()
	h, err := f.values.History(context.Background(), admin, valueID)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func num(x float64) *float64 { return &x }

// fieldCodes returns "field=code" for every problem of a validation error.
func fieldCodes(tb testing.TB, err error) []string {
	tb.Helper()
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("err = %v, want a validation error", err)
	}
	var out []string
	for _, fe := range ve.Errors {
		out = append(out, fe.Field+"="+fe.Code)
	}
	return out
}

func conflictExt(tb testing.TB, err error) map[string]any {
	tb.Helper()
	var d *fault.Detailed
	if !errors.Is(err, fault.ErrConflict) || !errors.As(err, &d) {
		tb.Fatalf("err = %v, want a detailed conflict", err)
	}
	return d.Ext
}

func TestSetRefusesBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		for _, tc := range []struct {
			name string
			in   indicators.ValueInput
			want string
		}{
			{"unknown region", indicators.ValueInput{RegionCode: "149999", IndicatorCode: "A2", Number: num(1)}, "region_code=unknown_region"},
			{"unknown indicator", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "Z9", Number: num(1)}, "indicator_code=unknown_indicator"},
			{"survey-sourced indicator", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "D1", Number: num(90)}, "indicator_code=survey_sourced"},
			{"NaN", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2", Number: num(math.NaN())}, "number=not_finite"},
			{"+Inf", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2", Number: num(math.Inf(1))}, "number=not_finite"},
			{"-Inf", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2", Number: num(math.Inf(-1))}, "number=not_finite"},
			{"negative count", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(-1)}, "number=below_min"},
			{"fractional count", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(1.5)}, "number=not_integer"},
			{"percent over 100", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C4", Number: num(100.5)}, "number=above_max"},
			{"yes/no out of range", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A1", Number: num(2)}, "number=not_binary"},
			{"not applicable to kind", indicators.ValueInput{RegionCode: "149900", IndicatorCode: "C2", Number: num(3)}, "number=not_applicable"},
			{"number and not applicable", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2", Number: num(3), NotApplicable: true}, "number=number_and_not_applicable"},
			{"neither number nor not applicable", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2"}, "number=required"},
			{"note too long", indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2", Number: num(1), Note: strings.Repeat("注", 1001)}, "note=too_long"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.values.Set(context.Background(), admin, f.cycle, tc.in)
				if got := fieldCodes(t, err); len(got) != 1 || got[0] != tc.want {
					t.Fatalf("problems %v, want [%s]", got, tc.want)
				}
			})
		}
		vals, err := f.values.List(context.Background(), admin, f.cycle, "")
		if err != nil || len(vals) != 0 {
			t.Fatalf("refused writes stored %d values (%v)", len(vals), err)
		}
		// Declaring a not-applicable indicator not applicable is fine.
		if v := f.set(t, admin, indicators.ValueInput{RegionCode: "149900", IndicatorCode: "C2", NotApplicable: true}); !v.NotApplicable || v.Number != nil {
			t.Fatalf("not applicable stored as %+v", v)
		}
	})
}

func TestSetAuthorisation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		in := indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(3)}
		for _, tc := range []struct {
			name string
			by   auth.Principal
			want error
		}{
			{"anonymous", auth.Principal{}, fault.ErrForbidden},
			{"contractor", contractor, fault.ErrForbidden},
			{"city, another region", datong, fault.ErrForbidden},
			{"city without region", auth.Principal{UserID: "u-x", Role: auth.RoleCity}, fault.ErrForbidden},
			{"city, own region", taiyuan, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.values.Set(ctx, tc.by, f.cycle, in)
				if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
		// A batch with one item of another region is refused whole.
		_, err := f.values.SetBatch(ctx, taiyuan, f.cycle, []indicators.ValueInput{
			{RegionCode: "140100", IndicatorCode: "A3", Number: num(1)},
			{RegionCode: "140200", IndicatorCode: "A3", Number: num(1)},
		})
		if !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("mixed-region batch by a city: %v", err)
		}
		// Admins write any region.
		f.set(t, admin, indicators.ValueInput{RegionCode: "140200", IndicatorCode: "A2", Number: num(4)})
	})
}

func TestSetNeedsCollectingCycleWithScheme(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		in := indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(3)}

		bare := newBareFixture(t, db)
		_, err := bare.values.Set(ctx, admin, bare.cycle, in)
		if ext := conflictExt(t, err); ext["cycle_status"] != cycles.Draft {
			t.Fatalf("draft cycle: ext %v", ext)
		}
		// A cycle cannot leave draft without a scheme; one collecting
		// without (data from before that rule) takes no values either.
		if err := db.Model(&cycles.Cycle{}).Where("id = ?", bare.cycle).Update("status", cycles.Collecting).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := bare.values.Set(ctx, admin, bare.cycle, in); !errors.Is(err, fault.ErrConflict) || !strings.Contains(err.Error(), "no scheme") {
			t.Fatalf("cycle without scheme: %v", err)
		}
		if _, err := bare.values.Set(ctx, admin, "no-such-cycle", in); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("unknown cycle: %v", err)
		}
	})
}

func TestValuesLockWhenCollectingEnds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		v := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(3)})
		if _, err := f.values.Submit(ctx, taiyuan, f.cycle, "140100", nil); err != nil {
			t.Fatal(err)
		}
		f.transition(t, cycles.Scoring)
		// Values lock: every write is refused.
		_, err := f.values.Set(ctx, admin, f.cycle, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(4), Version: 1})
		if ext := conflictExt(t, err); ext["cycle_status"] != cycles.Scoring {
			t.Fatalf("set in scoring: ext %v", ext)
		}
		if _, err := f.values.Review(ctx, admin, f.cycle, v.ID, true, "", 2); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("review in scoring: %v", err)
		}
		if _, err := f.values.Submit(ctx, taiyuan, f.cycle, "140100", nil); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("submit in scoring: %v", err)
		}
		// Reading still works.
		if vals, err := f.values.List(ctx, taiyuan, f.cycle, ""); err != nil || len(vals) != 1 {
			t.Fatalf("list in scoring: %v, %v", vals, err)
		}
	})
}

func TestStaleVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		v1 := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C3", Number: num(10)})
		v2 := f.set(t, admin, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C3", Number: num(12), Version: 1, Reason: "核对台账"})
		if v2.Version != 2 {
			t.Fatalf("version after change = %d, want 2", v2.Version)
		}
		// The city official still holds version 1.
		_, err := f.values.Set(ctx, taiyuan, f.cycle, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C3", Number: num(11), Version: v1.Version, Reason: "补录"})
		ext := conflictExt(t, err)
		if ext["current_version"] != 2 {
			t.Fatalf("current_version = %v, want 2", ext["current_version"])
		}
		if cur, ok := ext["current"].(indicators.Value); !ok || *cur.Number != 12 {
			t.Fatalf("current = %#v, want the stored value 12", ext["current"])
		}
		// Version 0 on an existing value is the same conflict.
		_, err = f.values.Set(ctx, taiyuan, f.cycle, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C3", Number: num(13)})
		if ext := conflictExt(t, err); ext["current_version"] != 2 {
			t.Fatalf("version 0 on existing: ext %v", ext)
		}
		// A version for a value that does not exist yet is a conflict too.
		_, err = f.values.Set(ctx, taiyuan, f.cycle, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C1", Number: num(1), Version: 3})
		if ext := conflictExt(t, err); ext["current_version"] != 0 {
			t.Fatalf("version for a missing value: ext %v", ext)
		}

		h := f.history(t, v1.ID)
		var actions []string
		for _, r := range h {
			actions = append(actions, r.Action+"/"+r.Username)
		}
		if got := strings.Join(actions, " "); got != "set/taiyuan set/admin conflict/taiyuan conflict/taiyuan" {
			t.Fatalf("history %s", got)
		}
		c := h[2]
		if c.Version != 2 || *c.OldNumber != 12 || *c.NewNumber != 11 || c.Reason != "补录" {
			t.Fatalf("conflict revision %+v", c)
		}
		if h[1].Reason != "核对台账" || *h[1].OldNumber != 10 || *h[1].NewNumber != 12 {
			t.Fatalf("set revision %+v", h[1])
		}
		if vals, _ := f.values.List(ctx, admin, f.cycle, "140100"); len(vals) != 1 || *vals[0].Number != 12 || vals[0].Version != 2 {
			t.Fatalf("stored after conflicts: %+v", vals)
		}
	})
}

func TestIdenticalSetIsNoop(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		in := indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2", Number: num(1.25), Note: "见附件"}
		v1 := f.set(t, taiyuan, in)
		in.Version = 1
		again := f.set(t, taiyuan, in)
		in.Version = 0 // an import that carries no versions
		third := f.set(t, taiyuan, in)
		if again.Version != 1 || third.Version != 1 || !again.UpdatedAt.Equal(v1.UpdatedAt) {
			t.Fatalf("identical re-set changed the value: %+v, %+v", again, third)
		}
		if h := f.history(t, v1.ID); len(h) != 1 {
			t.Fatalf("identical re-set wrote %d revisions, want 1", len(h))
		}
		// A changed note is a change.
		in.Version, in.Note = 1, "见附件2"
		if v := f.set(t, taiyuan, in); v.Version != 2 {
			t.Fatalf("note change: version %d", v.Version)
		}
	})
}

func TestSetBatchIsAtomic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		items := []indicators.ValueInput{
			{RegionCode: "140100", IndicatorCode: "A1", Number: num(1)},
			{RegionCode: "140100", IndicatorCode: "A2", Number: num(-2)},
			{RegionCode: "140100", IndicatorCode: "A3", Number: num(2)},
			{RegionCode: "140100", IndicatorCode: "C4", Number: num(101)},
			{RegionCode: "140100", IndicatorCode: "X1", Number: num(1)},
			{RegionCode: "140100", IndicatorCode: "A1", Number: num(0)},
		}
		_, err := f.values.SetBatch(ctx, taiyuan, f.cycle, items)
		var ve *fault.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v, want validation error", err)
		}
		type loc struct {
			row          int
			field, colum string
		}
		var got []loc
		for _, fe := range ve.Errors {
			got = append(got, loc{fe.Row, fe.Field, fe.Indicator})
		}
		want := []loc{{2, "items[1].number", "A2"}, {4, "items[3].number", "C4"}, {5, "items[4].indicator_code", "X1"}, {6, "items[5].indicator_code", "A1"}}
		if len(got) != len(want) {
			t.Fatalf("problems %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("problem %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		if vals, _ := f.values.List(ctx, admin, f.cycle, ""); len(vals) != 0 {
			t.Fatalf("a refused batch stored %d values", len(vals))
		}

		good := []indicators.ValueInput{items[0], items[2], {RegionCode: "140100", IndicatorCode: "F1", Number: num(50)}}
		out, err := f.values.SetBatch(ctx, taiyuan, f.cycle, good)
		if err != nil || len(out) != 3 || out[2].IndicatorCode != "F1" {
			t.Fatalf("good batch: %+v, %v", out, err)
		}
		// One stale item refuses the whole batch and is recorded.
		good[0].Number, good[1].Number = num(0), num(3)
		good[0].Version, good[1].Version = 1, 7
		_, err = f.values.SetBatch(ctx, taiyuan, f.cycle, good[:2])
		conflicts, _ := conflictExt(t, err)["conflicts"].([]map[string]any)
		if len(conflicts) != 1 || conflicts[0]["row"] != 2 || conflicts[0]["current_version"] != 1 {
			t.Fatalf("conflicts %v", conflicts)
		}
		vals, _ := f.values.List(ctx, admin, f.cycle, "")
		for _, v := range vals {
			if v.Version != 1 {
				t.Fatalf("a refused batch changed %s", v.IndicatorCode)
			}
		}
		if h := f.history(t, out[1].ID); len(h) != 2 || h[1].Action != indicators.ActionConflict {
			t.Fatalf("history of the stale item %+v", h)
		}
	})
}

func TestWorkflow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		v := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "F1", Number: num(120), Note: "财政预算文件"})
		if v.Status != indicators.StatusDraft || v.Version != 1 {
			t.Fatalf("new value %+v", v)
		}
		if _, err := f.values.Submit(ctx, datong, f.cycle, "140100", nil); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("submit for another region: %v", err)
		}
		if _, err := f.values.Submit(ctx, taiyuan, f.cycle, "140100", []string{"A2"}); !errors.Is(err, fault.ErrBadRequest) {
			t.Fatalf("submit of a missing value: %v", err)
		}
		sub, err := f.values.Submit(ctx, taiyuan, f.cycle, "140100", []string{"F1"})
		if err != nil || len(sub) != 1 || sub[0].Status != indicators.StatusSubmitted || sub[0].Version != 2 {
			t.Fatalf("submit: %+v, %v", sub, err)
		}
		if _, err := f.values.Review(ctx, taiyuan, f.cycle, v.ID, true, "", 2); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("city verifies: %v", err)
		}
		if _, err := f.values.Review(ctx, admin, f.cycle, v.ID, false, " ", 2); !errors.Is(err, fault.ErrBadRequest) {
			t.Fatalf("reject without comment: %v", err)
		}
		if _, err := f.values.Review(ctx, admin, f.cycle, v.ID, true, "", 1); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("review with stale version: %v", err)
		}
		if _, err := f.values.Review(ctx, admin, f.cycle, v.ID, true, "", 2); conflictExt(t, err)["code"] != "evidence_required" {
			t.Fatalf("verify F1 without evidence: %v", err)
		}
		f.attach(t, taiyuan, "140100", "F1")
		got, err := f.values.Review(ctx, admin, f.cycle, v.ID, true, "与预算一致", 2)
		if err != nil || got.Status != indicators.StatusVerified || got.Version != 3 || got.ReviewerComment != "与预算一致" {
			t.Fatalf("verify: %+v, %v", got, err)
		}
		if _, err := f.values.Review(ctx, admin, f.cycle, v.ID, true, "", 3); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("verify a verified value: %v", err)
		}

		var steps []string
		for _, r := range f.history(t, v.ID) {
			steps = append(steps, r.Action+"/"+r.Username+"/"+string(r.OldStatus)+">"+string(r.NewStatus))
		}
		want := "set/taiyuan/>draft submit/taiyuan/draft>submitted conflict/admin/submitted>submitted verify/admin/submitted>verified"
		if got := strings.Join(steps, " "); got != want {
			t.Fatalf("history %s", got)
		}

		// Rejection, then a change goes back to draft and can be resubmitted.
		w := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(3)})
		if _, err := f.values.Submit(ctx, taiyuan, f.cycle, "140100", nil); err != nil {
			t.Fatal(err)
		}
		rej, err := f.values.Review(ctx, admin, f.cycle, w.ID, false, "请附网点名单", 2)
		if err != nil || rej.Status != indicators.StatusRejected {
			t.Fatalf("reject: %+v, %v", rej, err)
		}
		w = f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(4), Version: 3})
		if w.Status != indicators.StatusDraft || w.ReviewerComment != "请附网点名单" {
			t.Fatalf("changed after rejection: %+v", w)
		}
		// Changing a verified value puts it back to draft too.
		x := f.set(t, admin, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "F1", Number: num(130), Version: 3})
		if x.Status != indicators.StatusDraft {
			t.Fatalf("changed verified value is %s", x.Status)
		}
	})
}

func TestConcurrentSetsOneWins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		v := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "B2", Number: num(5)})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, by := range []auth.Principal{taiyuan, admin} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.values.Set(ctx, by, f.cycle, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "B2", Number: num(float64(6 + i)), Version: 1})
			}()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, fault.ErrConflict):
				conflicts++
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("%d won and %d conflicted, want one each", ok, conflicts)
		}
		h := f.history(t, v.ID)
		if len(h) != 3 || h[1].Action != indicators.ActionSet || h[2].Action != indicators.ActionConflict {
			t.Fatalf("history %+v", h)
		}
	})
}

func TestVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		ty := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(3)})
		f.set(t, datong, indicators.ValueInput{RegionCode: "140200", IndicatorCode: "A2", Number: num(5)})

		if vals, err := f.values.List(ctx, taiyuan, f.cycle, ""); err != nil || len(vals) != 1 || vals[0].RegionCode != "140100" {
			t.Fatalf("city list: %+v, %v", vals, err)
		}
		if vals, err := f.values.List(ctx, admin, f.cycle, ""); err != nil || len(vals) != 2 {
			t.Fatalf("admin list: %+v, %v", vals, err)
		}
		if vals, err := f.values.List(ctx, admin, f.cycle, "140200"); err != nil || len(vals) != 1 {
			t.Fatalf("admin list of one region: %+v, %v", vals, err)
		}
		for _, tc := range []struct {
			name   string
			by     auth.Principal
			region string
		}{{"city, another region", taiyuan, "140200"}, {"contractor", contractor, ""}, {"anonymous", auth.Principal{}, "140100"}} {
			if _, err := f.values.List(ctx, tc.by, f.cycle, tc.region); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("List by %s: %v, want forbidden", tc.name, err)
			}
		}
		if _, err := f.values.List(ctx, admin, "no-such-cycle", ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("List of unknown cycle: %v", err)
		}
		if h, err := f.values.History(ctx, taiyuan, ty.ID); err != nil || len(h) != 1 {
			t.Fatalf("own history: %+v, %v", h, err)
		}
		if _, err := f.values.History(ctx, datong, ty.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("another region's history: %v, want not found", err)
		}
		if _, err := f.values.History(ctx, contractor, ty.ID); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("contractor history: %v, want forbidden", err)
		}
		if _, err := f.values.Completeness(ctx, contractor, f.cycle); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("contractor completeness: %v, want forbidden", err)
		}
	})
}

func TestRevisionsAreAppendOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		v := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(3)})
		if err := db.Exec("UPDATE indicator_value_revisions SET reason = 'x' WHERE value_id = ?", v.ID).Error; err == nil {
			t.Error("a revision was updated")
		}
		if err := db.Exec("DELETE FROM indicator_value_revisions WHERE value_id = ?", v.ID).Error; err == nil {
			t.Error("a revision was deleted")
		}
	})
}

func TestCompleteness(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C2", Number: num(1.5)})
		f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C3", Number: num(8)})
		sub, err := f.values.Submit(ctx, taiyuan, f.cycle, "140100", []string{"C3"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.values.Review(ctx, admin, f.cycle, sub[0].ID, true, "", sub[0].Version); err != nil {
			t.Fatal(err)
		}
		f.set(t, admin, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "C4", Number: num(80)})
		if _, err := f.values.Submit(ctx, admin, f.cycle, "140100", []string{"C4"}); err != nil {
			t.Fatal(err)
		}

		all, err := f.values.Completeness(ctx, admin, f.cycle)
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]indicators.Completeness{}
		for _, c := range all {
			rows[c.RegionCode+"/"+c.Dimension] = c
		}
		if len(all) != 3*5 || rows["140000/A"].RegionCode != "" {
			t.Fatalf("admin sees %d rows (want 3 regions × 5 groups, no province)", len(all))
		}
		c := rows["140100/C"]
		if c.Total != 5 || c.Verified != 1 || c.Submitted != 1 || c.Draft != 1 || c.Missing != 2 || c.NotApplicable != 0 {
			t.Fatalf("Taiyuan C: %+v", c)
		}
		if z := rows["149900/C"]; z.NotApplicable != 1 || z.Missing != 4 {
			t.Fatalf("reform zone C: %+v", z)
		}
		if fz := rows["140100/"]; fz.Total != 1 || fz.Missing != 1 || len(fz.EvidenceMissing) != 1 || fz.EvidenceMissing[0] != "F1" {
			t.Fatalf("Taiyuan unscored group: %+v", fz)
		}
		f.attach(t, taiyuan, "140100", "F1")
		after, err := f.values.Completeness(ctx, admin, f.cycle)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range after {
			if c.Dimension == "" && (c.RegionCode == "140100") != (len(c.EvidenceMissing) == 0) {
				t.Fatalf("with evidence for Taiyuan's F1 only: %+v", c)
			}
		}

		own, err := f.values.Completeness(ctx, taiyuan, f.cycle)
		if err != nil || len(own) != 5 {
			t.Fatalf("city completeness: %d rows, %v", len(own), err)
		}
		for _, c := range own {
			if c.RegionCode != "140100" {
				t.Fatalf("city sees region %s", c.RegionCode)
			}
		}
	})
}

// TestHistories reads the revisions of a whole region at once, with List's
// access rule, and SetForm writes and submits in one go, naming problems
// by field and indicator rather than by item row.
func TestHistories(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a2 := f.set(t, taiyuan, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(3)})
		a2 = f.set(t, admin, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A2", Number: num(4), Version: a2.Version, Reason: "更正"})
		vals, submitted, err := f.values.SetForm(ctx, taiyuan, f.cycle, []indicators.ValueInput{
			{RegionCode: "140100", IndicatorCode: "B3", Number: num(2)}}, true)
		if err != nil || submitted != 1 || vals[0].Status != indicators.StatusSubmitted {
			t.Fatalf("SetForm with submit: %+v, %d, %v", vals, submitted, err)
		}
		dt := f.set(t, datong, indicators.ValueInput{RegionCode: "140200", IndicatorCode: "A2", Number: num(5)})

		h, err := f.values.Histories(ctx, taiyuan, f.cycle, "140100")
		if err != nil {
			t.Fatal(err)
		}
		if got := h[a2.ID]; len(got) != 2 || got[0].Username != "taiyuan" || got[1].Username != "admin" ||
			*got[1].OldNumber != 3 || *got[1].NewNumber != 4 || got[1].Reason != "更正" {
			t.Fatalf("A2 history: %+v", got)
		}
		if got := h[vals[0].ID]; len(got) != 2 || got[1].Action != indicators.ActionSubmit {
			t.Fatalf("B3 history: %+v", got)
		}
		if _, ok := h[dt.ID]; ok || len(h) != 2 {
			t.Fatalf("histories of 140100 hold %d values, another region's included: %v", len(h), ok)
		}
		if h, err := f.values.Histories(ctx, admin, f.cycle, "140200"); err != nil || len(h[dt.ID]) != 1 {
			t.Fatalf("admin reads another region: %v, %v", h, err)
		}
		for _, tc := range []struct {
			name string
			by   auth.Principal
		}{{"city, another region", datong}, {"contractor", contractor}} {
			if _, err := f.values.Histories(ctx, tc.by, f.cycle, "140100"); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("Histories by %s: %v, want forbidden", tc.name, err)
			}
		}

		_, _, err = f.values.SetForm(ctx, taiyuan, f.cycle, []indicators.ValueInput{
			{RegionCode: "140100", IndicatorCode: "C4", Number: num(101)}}, false)
		var ve *fault.ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Row != 0 || ve.Errors[0].Field != "number" || ve.Errors[0].Indicator != "C4" {
			t.Fatalf("SetForm out of range: %v", err)
		}
	})
}
