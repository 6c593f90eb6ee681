package surveys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/cycles/cyclestest"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/jobs/jobstest"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

const testRegions = "code,name,kind,parent\n" +
	"140000,山西省,province,\n" +
	"140100,太原市,prefecture_city,140000\n" +
	"140200,大同市,prefecture_city,140000\n" +
	"140300,阳泉市,prefecture_city,140000\n" +
	"140400,长治市,prefecture_city,140000\n" +
	"140500,晋城市,prefecture_city,140000\n" +
	"140600,朔州市,prefecture_city,140000\n"

// testMax is the fixture's upload limit, low so that the over-limit case
// needs no large file.
const testMax = 64 << 10

type fixture struct {
	db                *gorm.DB
	store             *surveys.Store
	queue             *jobs.Queue
	cycles            *cycles.Store
	admin, contractor auth.Principal
	outsider          auth.Principal // a contractor of another organisation
	city              auth.Principal
	cycle, org        string
	blobDir           string
}

func newFixture(tb testing.TB, db *gorm.DB) fixture {
	tb.Helper()
	ctx := context.Background()
	// The default scheme's D1 takes its values from the default
	// questionnaire, which a project's batches answer.
	c, _ := cyclestest.Collecting(tb, db, strings.NewReader(testRegions), 2026)
	schemes, cs := indicators.NewSchemeStore(db), cycles.NewStore(db)
	q := jobstest.NewQueue(tb, db)
	users := auth.NewStore(db, nil)
	org, err := users.CreateOrganisation(ctx, "调查中心", auth.OrgKindContractor)
	if err != nil {
		tb.Fatal(err)
	}
	other, err := users.CreateOrganisation(ctx, "另一调查公司", auth.OrgKindContractor)
	if err != nil {
		tb.Fatal(err)
	}
	principal := func(nu auth.NewUser) auth.Principal {
		u, _, err := users.CreateUser(ctx, nu)
		if err != nil {
			tb.Fatal(err)
		}
		return auth.Principal{UserID: u.ID, Username: u.Username, Role: nu.Role, RegionCode: nu.RegionCode, OrganisationID: nu.OrganisationID}
	}
	blobDir := tb.TempDir()
	files, err := blobs.New(blobDir)
	if err != nil {
		tb.Fatal(err)
	}
	values := indicators.NewValueStore(db, schemes)
	return fixture{db: db, queue: q, blobDir: blobDir, cycles: cs, cycle: c.ID, org: org.ID,
		store:      surveys.NewStore(db, q, values, files, []byte("test-contact-key-0123456789abcdefgh"), testMax),
		admin:      principal(auth.NewUser{Username: "admin", DisplayName: "admin", Role: auth.RoleAdmin}),
		contractor: principal(auth.NewUser{Username: "survey", DisplayName: "survey", Role: auth.RoleContractor, OrganisationID: org.ID}),
		outsider:   principal(auth.NewUser{Username: "other", DisplayName: "other", Role: auth.RoleContractor, OrganisationID: other.ID}),
		city:       principal(auth.NewUser{Username: "taiyuan", DisplayName: "taiyuan", Role: auth.RoleCity, RegionCode: "140100"}),
	}
}

// project commissions a survey of the three first cities, minimum sample 3.
func (f fixture) project(tb testing.TB) surveys.Project {
	tb.Helper()
	p, err := f.store.CreateProject(context.Background(), f.admin, f.cycle, surveys.ProjectInput{
		OrganisationID: f.org, Name: "满意度调查", Minimum: 3, Target: 10,
		Regions:        []surveys.ProjectRegion{{Code: "140100"}, {Code: "140200"}, {Code: "140300"}},
		FieldworkStart: "2026-09-01", FieldworkEnd: "2026-10-31",
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// upload uploads a CSV as the contractor and runs its job, as a worker would.
func (f fixture) upload(tb testing.TB, projectID, body, replaces string) surveys.Batch {
	tb.Helper()
	ctx := context.Background()
	b, _, err := f.store.Upload(ctx, f.contractor, projectID, "answers.csv", strings.NewReader(body), replaces)
	if err != nil {
		tb.Fatal(err)
	}
	job, err := f.queue.Get(ctx, *b.JobID)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.store.Handler(slog.New(slog.DiscardHandler))(ctx, job, func(int, string) {}); err != nil {
		tb.Fatal(err)
	}
	v, err := f.store.GetBatch(ctx, f.contractor, b.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return v.Batch
}

const header = "region,respondent_type,respondent_id,phone,seconds,submitted_at,convenience,efficiency,information,consultation,attitude,overall\n"

// row is one respondent answering every item with x.
func row(region, id string, seconds int, answers ...int) string {
	cells := []string{region, "enterprise", id, "", fmt.Sprint(seconds), "2026-09-15 10:00:00"}
	for _, a := range answers {
		cells = append(cells, fmt.Sprint(a))
	}
	return strings.Join(cells, ",") + "\n"
}

// answers is the file of TestAcceptFeedsEvaluation. Per region, item
// scores (x−1)/4·100 of the valid respondents:
//
//	140100: all 5 → 100; all 4 → 75; all 5 → 100; a speeder (10 s, all 1)
//	        and a duplicate of R1 (all 1) are excluded. n=3, mean 91.666…
//	140200: all 3 → 50; all 4 → 75; all 4 → 75. n=3, mean 66.666…
//	140300: all 2 → 25, all 3 → 50: n=2, below the minimum of 3.
func answers() string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString(row("140100", "R1", 300, 5, 5, 5, 5, 5, 5))
	b.WriteString(row("140100", "R2", 280, 4, 4, 4, 4, 4, 4))
	b.WriteString(row("140100", "R3", 320, 5, 5, 5, 5, 5, 5))
	b.WriteString(row("140100", "R4", 10, 1, 1, 1, 1, 1, 1))
	b.WriteString(row("140100", "R1", 290, 1, 1, 1, 1, 1, 1))
	b.WriteString(row("140200", "R5", 300, 3, 3, 3, 3, 3, 3))
	b.WriteString(row("140200", "R6", 300, 4, 4, 4, 4, 4, 4))
	b.WriteString(row("140200", "R7", 300, 4, 4, 4, 4, 4, 4))
	b.WriteString(row("140300", "R8", 300, 2, 2, 2, 2, 2, 2))
	b.WriteString(row("140300", "R9", 300, 3, 3, 3, 3, 3, 3))
	return b.String()
}

// TestAcceptFeedsEvaluation takes a survey from upload to an evaluation
// run: screens, indices, acceptance into D1 with the interval, and the
// run reading both.
func TestAcceptFeedsEvaluation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		p := f.project(t)
		b := f.upload(t, p.ID, answers(), "")
		if b.Status != surveys.BatchValid || b.Rows != 10 || b.ValidRows != 10 {
			t.Fatalf("batch %+v", b)
		}
		idx, err := f.store.Quality(ctx, f.contractor, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]surveys.RegionIndex{}
		for _, ri := range idx {
			got[ri.RegionCode] = ri
		}
		ty := got["140100"]
		if ty.Responses != 5 || ty.Speeders != 1 || ty.Duplicates != 1 || ty.N != 3 || ty.Mean == nil ||
			math.Abs(*ty.Mean-275.0/3) > 1e-9 {
			t.Fatalf("Taiyuan: %+v", ty.Index)
		}
		// SD of 100, 75, 100: sqrt(((25/3)²·2 + (50/3)²)/2) = 25/√3.
		if sd := 25 / math.Sqrt(3); math.Abs(*ty.SD-sd) > 1e-9 || math.Abs(*ty.SE-sd/math.Sqrt(3)) > 1e-9 ||
			math.Abs(*ty.CILow-(275.0/3-1.96*sd/math.Sqrt(3))) > 1e-9 {
			t.Fatalf("Taiyuan's spread: sd %v se %v ci [%v, %v]", *ty.SD, *ty.SE, *ty.CILow, *ty.CIHigh)
		}
		if yq := got["140300"]; !yq.Insufficient || yq.N != 2 {
			t.Fatalf("Yangquan: %+v", yq.Index)
		}

		if _, _, err := f.store.Move(ctx, f.contractor, p.ID, surveys.Accept, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a contractor accepts its own project: %v", err)
		}
		if _, _, err := f.store.Move(ctx, f.contractor, p.ID, surveys.Submit, ""); err != nil {
			t.Fatal(err)
		}
		_, acc, err := f.store.Move(ctx, f.admin, p.ID, surveys.Accept, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(acc.Indicators) != 1 || acc.Indicators[0] != "D1" || len(acc.Regions) != 2 || acc.Skipped["140300"] == "" {
			t.Fatalf("acceptance %+v", acc)
		}
		var d1 []indicators.Value
		if err := db.Where("cycle_id = ? AND indicator_code = ?", f.cycle, "D1").Order("region_code").Find(&d1).Error; err != nil {
			t.Fatal(err)
		}
		if len(d1) != 2 || d1[0].RegionCode != "140100" || math.Abs(*d1[0].Number-275.0/3) > 1e-6 ||
			d1[0].Status != indicators.StatusVerified || d1[0].CILower == nil || math.Abs(*d1[0].CILower-*ty.CILow) > 1e-6 {
			t.Fatalf("D1 values %+v", d1)
		}
		hist, err := indicators.NewValueStore(db, indicators.NewSchemeStore(db)).History(ctx, f.admin, d1[0].ID)
		if err != nil || len(hist) != 1 || hist[0].Action != indicators.ActionSurvey {
			t.Fatalf("history %+v, %v", hist, err)
		}

		// Evaluate the cycle: D1 reaches the engine, its interval the
		// sensitivity analysis.
		if _, err := f.cycles.Transition(ctx, f.cycle, cycles.Scoring); err != nil {
			t.Fatal(err)
		}
		rs := evaluation.NewStore(db, f.queue, indicators.NewSchemeStore(db))
		job, err := rs.Request(ctx, f.admin, f.cycle, evaluation.Settings{Draws: 20, SurveyIntervals: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Handler()(ctx, job, func(int, string) {}); err != nil {
			t.Fatal(err)
		}
		list, err := rs.List(ctx, f.admin, f.cycle)
		if err != nil || len(list) != 1 {
			t.Fatalf("runs %+v, %v", list, err)
		}
		_, region, err := rs.Region(ctx, f.admin, list[0].ID, "140100")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ind := range region.Indicators {
			if ind.Code == "D1" {
				found = ind.Observed && ind.Raw.Valid && math.Abs(ind.Raw.Value-275.0/3) < 1e-6
			}
		}
		if !found {
			t.Fatalf("Taiyuan's D1 in the run: %+v", region.Indicators)
		}
		sens, err := rs.Sensitivity(ctx, f.admin, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if iv := sens.Options.SurveyIntervals["140100"]["D1"]; math.Abs(iv.Lower-*ty.CILow) > 1e-6 {
			t.Fatalf("the analysis drew D1 from %+v, want the survey's interval", sens.Options.SurveyIntervals)
		}
	})
}

// TestBatches covers the life of uploads: refusal of a bad file with
// nothing stored, recognition of the same file, replacement, withdrawal,
// the size limit, another organisation, and the end of uploads.
func TestBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		p := f.project(t)
		responses := func() int {
			idx, err := f.store.Quality(ctx, f.admin, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, ri := range idx {
				n += ri.Responses
			}
			return n
		}

		bad := header + row("140100", "R1", 300, 5, 5, 5, 5, 5, 5) + row("140200", "R2", 300, 6, 5, 5, 5, 5, 5)
		b := f.upload(t, p.ID, bad, "")
		if b.Status != surveys.BatchInvalid || b.ProblemCount != 1 || responses() != 0 {
			t.Fatalf("a file with an answer 6: batch %+v, %d responses stored", b, responses())
		}
		v, err := f.store.GetBatch(ctx, f.contractor, b.ID)
		if err != nil || len(v.Problems) != 1 || v.Problems[0].Row != 3 || v.Problems[0].Code != "out_of_scale" {
			t.Fatalf("problems %+v, %v", v.Problems, err)
		}
		var report strings.Builder
		if err := f.store.Report(ctx, f.contractor, b.ID, "csv", &report); err != nil || !strings.Contains(report.String(), "out_of_scale") {
			t.Fatalf("report %q, %v", report.String(), err)
		}

		good := f.upload(t, p.ID, answers(), "")
		if good.Status != surveys.BatchValid || responses() != 10 {
			t.Fatalf("good batch %+v, %d responses", good, responses())
		}
		again, created, err := f.store.Upload(ctx, f.contractor, p.ID, "copy.csv", strings.NewReader(answers()), "")
		if err != nil || created || again.ID != good.ID {
			t.Fatalf("the same file again: %s (created %v), %v; want batch %s", again.ID, created, err, good.ID)
		}

		// A bad replacement leaves the data alone; a good one swaps it.
		if r := f.upload(t, p.ID, bad, good.ID); r.Status != surveys.BatchInvalid || responses() != 10 {
			t.Fatalf("bad replacement %+v, %d responses", r, responses())
		}
		smaller := header + row("140100", "R1", 300, 5, 5, 5, 5, 5, 5)
		r := f.upload(t, p.ID, smaller, good.ID)
		if r.Status != surveys.BatchValid || responses() != 1 {
			t.Fatalf("replacement %+v, %d responses", r, responses())
		}
		if old, _ := f.store.GetBatch(ctx, f.admin, good.ID); old.Status != surveys.BatchReplaced {
			t.Fatalf("replaced batch is %s", old.Status)
		}
		if w, err := f.store.Withdraw(ctx, f.contractor, r.ID); err != nil || w.Status != surveys.BatchWithdrawn || responses() != 0 {
			t.Fatalf("withdraw: %+v, %v, %d responses", w, err, responses())
		}

		t.Run("too large", func(t *testing.T) {
			var batches int64
			db.Model(&surveys.Batch{}).Count(&batches)
			big := header + strings.Repeat(row("140100", "R9", 300, 5, 5, 5, 5, 5, 5), testMax/40)
			if _, _, err := f.store.Upload(ctx, f.contractor, p.ID, "big.csv", strings.NewReader(big), ""); !errors.Is(err, fault.ErrTooLarge) {
				t.Fatalf("over the limit: %v", err)
			}
			var after int64
			db.Model(&surveys.Batch{}).Count(&after)
			if after != batches {
				t.Fatalf("a refused upload left a batch")
			}
		})
		t.Run("another organisation", func(t *testing.T) {
			// Another organisation's project is not found, as a missing one.
			if _, _, err := f.store.Upload(ctx, f.outsider, p.ID, "a.csv", strings.NewReader(answers()), ""); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("upload: %v", err)
			}
			if _, err := f.store.GetBatch(ctx, f.outsider, b.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("read a batch: %v", err)
			}
			if list, err := f.store.ListProjects(ctx, f.outsider, ""); err != nil || len(list) != 0 {
				t.Fatalf("another contractor lists %d projects (%v)", len(list), err)
			}
			if _, err := f.store.Quality(ctx, f.city, p.ID); !errors.Is(err, fault.ErrForbidden) {
				t.Fatalf("a city official reads the quality report: %v", err)
			}
		})
		t.Run("unsupported format", func(t *testing.T) {
			if _, _, err := f.store.Upload(ctx, f.contractor, p.ID, "a.pdf", strings.NewReader("%PDF"), ""); !errors.Is(err, fault.ErrUnsupportedMedia) {
				t.Fatalf("a PDF: %v", err)
			}
		})
		t.Run("after acceptance", func(t *testing.T) {
			f.upload(t, p.ID, answers(), "")
			if _, _, err := f.store.Move(ctx, f.contractor, p.ID, surveys.Submit, ""); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.store.Move(ctx, f.admin, p.ID, surveys.Accept, ""); err != nil {
				t.Fatal(err)
			}
			_, _, err := f.store.Upload(ctx, f.contractor, p.ID, "late.csv", strings.NewReader(smaller), "")
			var d *fault.Detailed
			if !errors.Is(err, fault.ErrConflict) || !errors.As(err, &d) || d.Ext["project_status"] != surveys.ProjectAccepted {
				t.Fatalf("upload after acceptance: %v", err)
			}
		})
	})
}

// TestIngestIsIdempotent runs an ingestion job twice, as a retried
// delivery would: the second run changes nothing.
func TestIngestIsIdempotent(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	p := f.project(t)
	b := f.upload(t, p.ID, answers(), "")
	job, err := f.queue.Get(ctx, *b.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Handler(slog.New(slog.DiscardHandler))(ctx, job, func(int, string) {}); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := f.db.Table("survey_responses").Count(&n).Error; err != nil || n != 10 {
		t.Fatalf("%d responses after a second delivery (%v), want 10", n, err)
	}
}

// TestCityIndices shows a city official its own region's index, and only
// once the cycle is published.
func TestCityIndices(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	p := f.project(t)
	f.upload(t, p.ID, answers(), "")
	for _, tr := range []surveys.Transition{surveys.Submit, surveys.Accept} {
		if _, _, err := f.store.Move(ctx, f.admin, p.ID, tr, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.CycleIndices(ctx, f.city, f.cycle); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("before publication: %v", err)
	}
	if all, err := f.store.CycleIndices(ctx, f.admin, f.cycle); err != nil || len(all) != 3 {
		t.Fatalf("an admin sees %d indices (%v)", len(all), err)
	}
	if err := f.db.Model(&cycles.Cycle{}).Where("id = ?", f.cycle).Update("status", cycles.Published).Error; err != nil {
		t.Fatal(err)
	}
	own, err := f.store.CycleIndices(ctx, f.city, f.cycle)
	if err != nil || len(own) != 1 || own[0].RegionCode != "140100" {
		t.Fatalf("a city official sees %+v (%v)", own, err)
	}
	if _, err := f.store.CycleIndices(ctx, f.contractor, f.cycle); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("a contractor reads the cycle's indices: %v", err)
	}
}

// TestProvinceIndex averages the regions whose index counts — 140100
// (91.67) and 140200 (66.67), not 140300 below its minimum sample — each
// once, overall and per item. Admins always get the means; a city
// official, once the cycle is published, only when at least
// disclosure.MinRegionsForAggregate regions count: with two, the mean
// would give the other region's index away.
func TestProvinceIndex(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	accept := func(t *testing.T, p surveys.Project, body string) {
		t.Helper()
		f.upload(t, p.ID, body, "")
		for _, tr := range []surveys.Transition{surveys.Submit, surveys.Accept} {
			if _, _, err := f.store.Move(ctx, f.admin, p.ID, tr, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	status := func(t *testing.T, st cycles.Status) {
		t.Helper()
		if err := f.db.Model(&cycles.Cycle{}).Where("id = ?", f.cycle).Update("status", st).Error; err != nil {
			t.Fatal(err)
		}
	}
	near := func(x *float64, want float64) bool { return x != nil && math.Abs(*x-want) < 1e-9 }
	accept(t, f.project(t), answers())

	t.Run("two regions", func(t *testing.T) {
		if _, err := f.store.ProvinceIndex(ctx, f.city, f.cycle); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("a city official before publication: %v", err)
		}
		if _, err := f.store.ProvinceIndex(ctx, f.contractor, f.cycle); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a contractor: %v", err)
		}
		want := (275.0/3 + 200.0/3) / 2
		admin, err := f.store.ProvinceIndex(ctx, f.admin, f.cycle)
		if err != nil {
			t.Fatal(err)
		}
		if admin.Regions != 2 || !near(admin.Mean, want) || admin.Withheld || len(admin.Items) != 6 {
			t.Fatalf("province index %+v, want 2 regions with mean %.4f and 6 items", admin, want)
		}
		for _, it := range admin.Items {
			if it.Text == "" || it.Regions != 2 || !near(it.Mean, want) {
				t.Errorf("item %+v, want its text and the mean %.4f of 2 regions", it, want)
			}
		}
		if admin.Items[0].Code != "convenience" || admin.Items[5].Code != "overall" {
			t.Errorf("items %+v, want the questionnaire's order", admin.Items)
		}
		status(t, cycles.Published)
		city, err := f.store.ProvinceIndex(ctx, f.city, f.cycle)
		if err != nil || city.Regions != 2 || city.Mean != nil || !city.Withheld || len(city.Items) != 6 {
			t.Fatalf("a city official after publication: %+v (%v), want the means withheld", city, err)
		}
		for _, it := range city.Items {
			if it.Mean != nil {
				t.Errorf("item %s: the city official gets the mean of %d regions", it.Code, it.Regions)
			}
		}
	})

	t.Run("five regions", func(t *testing.T) {
		status(t, cycles.Collecting)
		p, err := f.store.CreateProject(ctx, f.admin, f.cycle, surveys.ProjectInput{
			OrganisationID: f.org, Name: "满意度调查（二）", Minimum: 3, Target: 10,
			Regions:        []surveys.ProjectRegion{{Code: "140400"}, {Code: "140500"}, {Code: "140600"}},
			FieldworkStart: "2026-09-01", FieldworkEnd: "2026-10-31",
		})
		if err != nil {
			t.Fatal(err)
		}
		// Every respondent answers 4 (75) in 140400 and 140500, 3 (50) in
		// 140600.
		var b strings.Builder
		b.WriteString(header)
		for i, region := range []string{"140400", "140400", "140400", "140500", "140500", "140500", "140600", "140600", "140600"} {
			x := 4
			if region == "140600" {
				x = 3
			}
			b.WriteString(row(region, fmt.Sprintf("S%d", i), 300, x, x, x, x, x, x))
		}
		accept(t, p, b.String())
		status(t, cycles.Published)
		want := (275.0/3 + 200.0/3 + 75 + 75 + 50) / 5
		for _, who := range []auth.Principal{f.admin, f.city} {
			got, err := f.store.ProvinceIndex(ctx, who, f.cycle)
			if err != nil || got.Regions != 5 || !near(got.Mean, want) || got.Withheld {
				t.Fatalf("%s: %+v (%v), want 5 regions with mean %.4f", who.Username, got, err, want)
			}
			for _, it := range got.Items {
				if it.Regions != 5 || !near(it.Mean, want) {
					t.Errorf("%s: item %+v, want the mean %.4f of 5 regions", who.Username, it, want)
				}
			}
		}
	})
}

// TestLostUpload fails, rather than retries for ever, a batch whose file
// is gone from the server: a queued batch would block the project.
func TestLostUpload(t *testing.T) {
	f := newFixture(t, dbtest.New(t))
	ctx := context.Background()
	p := f.project(t)
	b, _, err := f.store.Upload(ctx, f.contractor, p.ID, "answers.csv", strings.NewReader(answers()), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.blobDir, b.SHA256[:2], b.SHA256)); err != nil {
		t.Fatal(err)
	}
	job, err := f.queue.Get(ctx, *b.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Handler(nil)(ctx, job, func(int, string) {}); err != nil {
		t.Fatalf("a lost file is retried: %v", err)
	}
	v, err := f.store.GetBatch(ctx, f.contractor, b.ID)
	if err != nil || v.Status != surveys.BatchFailed || len(v.Problems) != 1 || v.Problems[0].Message == "" {
		t.Fatalf("batch %+v, %v", v, err)
	}
}

// bigRows is the size of the files of the staged-ingestion tests: a few
// of the writer's windows, so that some responses are stored while the
// rest of the file is still being read.
const bigRows = 40_000

// bigAnswers is a file of n responses over the fixture project's three
// regions, with varied answers and durations; the row at index bad (none
// when negative) answers 6, which refuses the file.
func bigAnswers(n, bad int) string {
	regions := []string{"140100", "140200", "140300"}
	var b strings.Builder
	b.WriteString(header)
	for i := range n {
		a := make([]int, 6)
		for j := range a {
			a[j] = 1 + (i*7+j*3)%5
		}
		if i == bad {
			a[2] = 6
		}
		b.WriteString(row(regions[i%3], fmt.Sprintf("B%06d", i), 60+i%500, a...))
	}
	return b.String()
}

// bigStore is a store of the fixture's database without the fixture's low
// upload limit.
func (f fixture) bigStore(tb testing.TB) *surveys.Store {
	tb.Helper()
	return f.bigStoreOn(tb, f.queue)
}

// bigStoreOn is bigStore submitting its jobs to q.
func (f fixture) bigStoreOn(tb testing.TB, q *jobs.Queue) *surveys.Store {
	tb.Helper()
	files, err := blobs.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	values := indicators.NewValueStore(f.db, indicators.NewSchemeStore(f.db))
	return surveys.NewStore(f.db, q, values, files, []byte("test-contact-key-0123456789abcdefgh"), 0)
}

// uploadOnly uploads a file to a project through st and returns its
// batch and job, without running the job.
func (f fixture) uploadOnly(tb testing.TB, st *surveys.Store, projectID, body, replaces string) (surveys.Batch, jobs.Job) {
	tb.Helper()
	ctx := context.Background()
	b, created, err := st.Upload(ctx, f.contractor, projectID, "big.csv", strings.NewReader(body), replaces)
	if err != nil || !created {
		tb.Fatalf("upload: created %v, %v", created, err)
	}
	job, err := f.queue.Get(ctx, *b.JobID)
	if err != nil {
		tb.Fatal(err)
	}
	return b, job
}

// batchResponses counts the stored responses of a batch, seen or not.
func (f fixture) batchResponses(tb testing.TB, batchID string) int64 {
	tb.Helper()
	var n int64
	if err := f.db.Table("survey_responses").Where("batch_id = ?", batchID).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

// indices returns a project's indices by region, without the project and
// the times, for comparing two projects.
func (f fixture) indices(tb testing.TB, projectID string) map[string]string {
	tb.Helper()
	idx, err := f.store.Quality(context.Background(), f.admin, projectID)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, ri := range idx {
		body, err := json.Marshal(ri.Index)
		if err != nil {
			tb.Fatal(err)
		}
		out[ri.RegionCode] = string(body)
	}
	return out
}

// responsesCounted sums the responses of a project's indices.
func (f fixture) responsesCounted(tb testing.TB, projectID string) int {
	tb.Helper()
	idx, err := f.store.Quality(context.Background(), f.admin, projectID)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, ri := range idx {
		n += ri.Responses
	}
	return n
}

func sameIndices(tb testing.TB, got, want map[string]string) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d indices, want %d", len(got), len(want))
	}
	for code, w := range want {
		if got[code] != w {
			tb.Fatalf("region %s:\n got %s\nwant %s", code, got[code], w)
		}
	}
}

// TestIngestLeavesTheDatabaseWritable writes to the database while a
// batch is being read: on SQLite ingestion does not hold the one write
// lock for the whole read, and on MySQL not the project's row.
func TestIngestLeavesTheDatabaseWritable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		st := f.bigStore(t)
		p := f.project(t)
		b, job := f.uploadOnly(t, st, p.ID, bigAnswers(bigRows, -1), "")
		wrote := false
		progress := func(percent int, message string) {
			if wrote || message != "reading" || percent < 45 {
				return
			}
			wrote = true
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			began := time.Now()
			// A write elsewhere (SQLite's lock) and one on the project
			// being read (its row lock on MySQL).
			if _, err := f.store.CreateProject(wctx, f.admin, f.cycle, surveys.ProjectInput{OrganisationID: f.org,
				Name: "另一项目", Regions: []surveys.ProjectRegion{{Code: "140100"}},
				FieldworkStart: "2026-09-01", FieldworkEnd: "2026-10-31"}); err != nil {
				t.Errorf("create a project while a batch is read: %v", err)
			}
			if _, err := f.store.SetMapping(wctx, f.contractor, p.ID, responsefile.Mapping{}); err != nil {
				t.Errorf("change the project while its batch is read: %v", err)
			}
			if d := time.Since(began); d > 3*time.Second {
				t.Errorf("the writes took %v", d)
			}
			if v, err := f.store.GetBatch(ctx, f.admin, b.ID); err != nil || v.Status != surveys.BatchLoading {
				t.Errorf("batch being read: %s, %v", v.Status, err)
			}
		}
		if _, err := st.Handler(nil)(ctx, job, progress); err != nil {
			t.Fatal(err)
		}
		if !wrote {
			t.Fatal("the reader reported no progress")
		}
		v, err := f.store.GetBatch(ctx, f.admin, b.ID)
		if err != nil || v.Status != surveys.BatchValid || v.ValidRows != bigRows {
			t.Fatalf("batch %+v, %v", v.Batch, err)
		}
		if n := f.responsesCounted(t, p.ID); n != bigRows {
			t.Fatalf("%d responses counted, want %d", n, bigRows)
		}
	})
}

// TestRefusedBatchLeavesNoResponses refuses a file with a bad row near its
// end: the responses stored before the row was read are deleted again.
func TestRefusedBatchLeavesNoResponses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		st := f.bigStore(t)
		p := f.project(t)
		good := f.upload(t, p.ID, answers(), "")
		b, job := f.uploadOnly(t, st, p.ID, bigAnswers(bigRows, 3*bigRows/4), "")
		var stored int64
		progress := func(percent int, message string) {
			if message == "reading" && percent == 85 { // the file is read
				stored = f.batchResponses(t, b.ID)
			}
		}
		if _, err := st.Handler(nil)(ctx, job, progress); err != nil {
			t.Fatal(err)
		}
		if stored == 0 {
			t.Fatal("no responses were stored while the file was read")
		}
		v, err := f.store.GetBatch(ctx, f.admin, b.ID)
		if err != nil || v.Status != surveys.BatchInvalid || v.ProblemCount != 1 || v.Problems[0].Row != 3*bigRows/4+2 {
			t.Fatalf("batch %+v, problems %+v, %v", v.Batch, v.Problems, err)
		}
		if n := f.batchResponses(t, b.ID); n != 0 {
			t.Fatalf("%d responses of the refused batch left (%d while reading)", n, stored)
		}
		if n := f.responsesCounted(t, p.ID); n != good.ValidRows {
			t.Fatalf("%d responses counted, want the valid batch's %d", n, good.ValidRows)
		}
	})
}

// TestInterruptedIngestResumes stops an ingestion after part of the batch
// is stored, as a worker's crash would, and delivers the job again; and
// delivers a job twice at once. Both end as a clean run does.
func TestInterruptedIngestResumes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		st := f.bigStore(t)
		file := bigAnswers(bigRows, -1)
		clean := f.project(t)
		_, job := f.uploadOnly(t, st, clean.ID, file, "")
		if _, err := st.Handler(nil)(ctx, job, func(int, string) {}); err != nil {
			t.Fatal(err)
		}
		want := f.indices(t, clean.ID)

		p := f.project(t)
		b, job := f.uploadOnly(t, st, p.ID, file, "")
		stopped, stop := context.WithCancel(ctx)
		defer stop()
		var left int64
		_, err := st.Handler(nil)(stopped, job, func(percent int, message string) {
			if message == "reading" && percent == 85 {
				left = f.batchResponses(t, b.ID)
				stop()
			}
		})
		if err == nil {
			t.Fatal("an interrupted ingestion succeeded")
		}
		if v, err := f.store.GetBatch(ctx, f.admin, b.ID); err != nil || v.Status != surveys.BatchLoading || left == 0 {
			t.Fatalf("interrupted batch %s (%v) with %d responses", v.Status, err, left)
		}
		if n := f.responsesCounted(t, p.ID); n != 0 {
			t.Fatalf("%d responses of a loading batch counted", n)
		}
		if _, err := st.Handler(nil)(ctx, job, func(int, string) {}); err != nil {
			t.Fatal(err)
		}
		if v, err := f.store.GetBatch(ctx, f.admin, b.ID); err != nil || v.Status != surveys.BatchValid || v.ValidRows != bigRows {
			t.Fatalf("resumed batch %+v, %v", v.Batch, err)
		}
		if n := f.batchResponses(t, b.ID); n != bigRows {
			t.Fatalf("%d responses stored, want %d", n, bigRows)
		}
		sameIndices(t, f.indices(t, p.ID), want)

		// Two deliveries at once: one takes the batch over from the other,
		// which stops.
		twice := f.project(t)
		b, job = f.uploadOnly(t, st, twice.ID, file, "")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { _, errs[i] = st.Handler(nil)(ctx, job, func(int, string) {}) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if v, err := f.store.GetBatch(ctx, f.admin, b.ID); err != nil || v.Status != surveys.BatchValid || v.ValidRows != bigRows {
			t.Fatalf("batch delivered twice %+v, %v", v.Batch, err)
		}
		if n := f.batchResponses(t, b.ID); n != bigRows {
			t.Fatalf("%d responses stored after two deliveries, want %d", n, bigRows)
		}
		sameIndices(t, f.indices(t, twice.ID), want)
	})
}

// TestIngestSurvivesBrokerRestart restarts the broker, empty, while a
// worker ingests a large batch and a second upload waits in the broker's
// queue: the running ingestion finishes, the sweeper hands the lost one to
// the broker again, and each batch is stored once — its responses once,
// its project's indices as a clean ingestion's — by one attempt.
func TestIngestSurvivesBrokerRestart(t *testing.T) {
	jobstest.EachMode(t, func(t *testing.T, db *gorm.DB, b jobstest.Broker) {
		f := newFixture(t, db)
		ctx := context.Background()
		st := f.bigStoreOn(t, b.Queue)
		file := bigAnswers(bigRows, -1)
		clean := f.project(t)
		_, job := f.uploadOnly(t, st, clean.ID, file, "")
		if _, err := st.Handler(nil)(ctx, job, func(int, string) {}); err != nil {
			t.Fatal(err)
		}
		want := f.indices(t, clean.ID)
		small := f.project(t)
		f.upload(t, small.ID, answers(), "")
		wantSmall := f.indices(t, small.ID)

		reg := jobs.NewRegistry()
		reg.Register(surveys.JobKind, st.Handler(nil))
		jobstest.Work(t, db, b, reg, 1) // one at a time: the second job waits in the broker
		p, q := f.project(t), f.project(t)
		big, bigJob := f.uploadOnly(t, st, p.ID, file, "")
		jobstest.WaitFor(t, b.Queue, bigJob.ID, "report progress", 20*time.Second, func(j jobs.Job) bool {
			return j.Status == jobs.StatusRunning && j.Progress > 0
		})
		waiting, waitingJob := f.uploadOnly(t, st, q.ID, answers(), "")

		b.Restart()
		if v, err := f.store.GetBatch(ctx, f.admin, big.ID); err != nil || v.Status != surveys.BatchLoading {
			t.Fatalf("the batch was %s (%v) when the broker came back, want loading: make the file larger", v.Status, err)
		}

		for _, c := range []struct {
			batch, job string
			project    string
			rows       int
			want       map[string]string
		}{
			{big.ID, bigJob.ID, p.ID, bigRows, want},
			{waiting.ID, waitingJob.ID, q.ID, 0, wantSmall},
		} {
			done := jobstest.Wait(t, b.Queue, c.job, 30*time.Second)
			if done.Status != jobs.StatusSucceeded || done.Attempts != 1 {
				t.Fatalf("job %s: %s after %d attempts (%s), want succeeded at the first", c.job, done.Status, done.Attempts, done.Error)
			}
			v, err := f.store.GetBatch(ctx, f.admin, c.batch)
			if err != nil || v.Status != surveys.BatchValid {
				t.Fatalf("batch %+v, %v", v.Batch, err)
			}
			if c.rows > 0 && (v.ValidRows != c.rows || f.batchResponses(t, c.batch) != int64(c.rows)) {
				t.Fatalf("batch of %d rows: %d valid, %d stored", c.rows, v.ValidRows, f.batchResponses(t, c.batch))
			}
			sameIndices(t, f.indices(t, c.project), c.want)
		}
	})
}

// TestLoadingResponsesAreNotCounted leaves a batch loading with some
// responses stored, as an interrupted attempt does: screening other
// batches ignores them, the batch blocks submission and cannot be
// withdrawn, and its next delivery replaces them with the file's.
func TestLoadingResponsesAreNotCounted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		p := f.project(t)
		a := f.upload(t, p.ID, answers(), "")
		loadingFile := header + row("140100", "L1", 300, 2, 2, 2, 2, 2, 2) + row("140100", "L2", 300, 3, 3, 3, 3, 3, 3)
		b, job := f.uploadOnly(t, f.store, p.ID, loadingFile, "")
		at := time.Now().UTC().Truncate(time.Millisecond)
		if err := db.Exec("UPDATE survey_batches SET status = ?, processed_at = ? WHERE id = ?", surveys.BatchLoading, at, b.ID).Error; err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if err := db.Exec("INSERT INTO survey_responses (project_id, region_code, batch_id, row_no, respondent_type, "+
				"respondent_id, contact_hash, seconds, answers, attention, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
				p.ID, "140100", b.ID, i+2, "enterprise", fmt.Sprintf("X%d", i), "", 300, "111111", 0).Error; err != nil {
				t.Fatal(err)
			}
		}

		// Another batch in the same region is screened (before the lock),
		// and withdrawn (screened under the lock).
		c := f.upload(t, p.ID, header+row("140100", "C1", 300, 4, 4, 4, 4, 4, 4), "")
		if c.Status != surveys.BatchValid {
			t.Fatalf("batch %+v", c)
		}
		if n := f.responsesCounted(t, p.ID); n != a.ValidRows+1 {
			t.Fatalf("%d responses counted, want %d: a loading batch's were read", n, a.ValidRows+1)
		}
		if _, err := f.store.Withdraw(ctx, f.contractor, c.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.responsesCounted(t, p.ID); n != a.ValidRows {
			t.Fatalf("%d responses counted after a withdrawal, want %d", n, a.ValidRows)
		}
		_, err := f.store.Withdraw(ctx, f.contractor, b.ID)
		var d *fault.Detailed
		if !errors.Is(err, fault.ErrConflict) || !errors.As(err, &d) || d.Ext["batch_status"] != surveys.BatchLoading {
			t.Fatalf("withdraw a loading batch: %v", err)
		}
		if _, _, err := f.store.Move(ctx, f.contractor, p.ID, surveys.Submit, ""); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("submit with a batch loading: %v", err)
		}

		if _, err := f.store.Handler(nil)(ctx, job, func(int, string) {}); err != nil {
			t.Fatal(err)
		}
		if v, err := f.store.GetBatch(ctx, f.admin, b.ID); err != nil || v.Status != surveys.BatchValid || v.ValidRows != 2 {
			t.Fatalf("batch %+v, %v", v.Batch, err)
		}
		if n := f.batchResponses(t, b.ID); n != 2 {
			t.Fatalf("%d responses of the batch, want its file's 2", n)
		}
		if n := f.responsesCounted(t, p.ID); n != a.ValidRows+2 {
			t.Fatalf("%d responses counted, want %d", n, a.ValidRows+2)
		}
		if _, _, err := f.store.Move(ctx, f.contractor, p.ID, surveys.Submit, ""); err != nil {
			t.Fatal(err)
		}
	})
}

// TestIngestRescreensWhenTheProjectChanged reads a batch while another
// batch of the project becomes valid between the screening, done before
// the project's lock, and the lock: the regions are screened again under
// the lock, and the indices are those of the two batches read one after
// the other.
func TestIngestRescreensWhenTheProjectChanged(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		later := header + row("140100", "R1", 300, 2, 2, 2, 2, 2, 2) + row("140100", "R10", 300, 4, 4, 4, 4, 4, 4) +
			row("140200", "R11", 300, 5, 5, 5, 5, 5, 5)

		seq := f.project(t)
		f.upload(t, seq.ID, answers(), "")
		f.upload(t, seq.ID, later, "")
		want := f.indices(t, seq.ID)

		p := f.project(t)
		_, job := f.uploadOnly(t, f.store, p.ID, answers(), "")
		var other surveys.Batch
		progress := func(_ int, message string) {
			if message == "saving" && other.ID == "" {
				other = f.upload(t, p.ID, later, "")
			}
		}
		if _, err := f.store.Handler(nil)(ctx, job, progress); err != nil {
			t.Fatal(err)
		}
		if other.Status != surveys.BatchValid {
			t.Fatalf("the other batch is %+v", other)
		}
		sameIndices(t, f.indices(t, p.ID), want)
	})
}

// TestRegionOf picks a region's latest index that counts, else its
// latest, from indices in project order.
func TestRegionOf(t *testing.T) {
	mean := 80.0
	idx := func(project, region string, counts bool) surveys.RegionIndex {
		ri := surveys.RegionIndex{ProjectID: project, RegionCode: region}
		ri.Mean, ri.Insufficient = &mean, !counts
		return ri
	}
	for _, tc := range []struct {
		name    string
		indices []surveys.RegionIndex
		want    string // the project picked, "" for none
	}{
		{"none", []surveys.RegionIndex{idx("p1", "140200", true)}, ""},
		{"the only one, not counting", []surveys.RegionIndex{idx("p1", "140100", false)}, "p1"},
		{"the latest that counts", []surveys.RegionIndex{idx("p1", "140100", true), idx("p2", "140100", true)}, "p2"},
		{"a counting one before a later one that does not", []surveys.RegionIndex{idx("p1", "140100", true), idx("p2", "140100", false)}, "p1"},
		{"the latest when none counts", []surveys.RegionIndex{idx("p1", "140100", false), idx("p2", "140100", false)}, "p2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := surveys.RegionOf(tc.indices, "140100")
			if ok != (tc.want != "") || got.ProjectID != tc.want {
				t.Errorf("picked %q (%v), want %q", got.ProjectID, ok, tc.want)
			}
		})
	}
}
