package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions"
)

// Capped is the strong region that, in the last past cycle, allocated no
// funding (F1 = 0): rule R1 caps its 优秀 at 良好 for everyone to see.
const Capped = "140100"

// pastCycle creates a finished cycle of year: plausible verified values
// for every region, scored and published. lastPast marks the cycle in
// which the Capped region reported no funding.
func pastCycle(ctx context.Context, tx *gorm.DB, sch indicators.StoredScheme, manager auth.Principal, year int, lastPast bool) (cycles.Cycle, error) {
	cys := cycles.NewStore(tx)
	cy, err := cys.Create(ctx, cycles.Input{Year: year})
	if err != nil {
		return cy, err
	}
	if _, err := cys.SetScheme(ctx, cy.ID, sch.ID); err != nil {
		return cy, err
	}
	if _, err := cys.Transition(ctx, cy.ID, cycles.Collecting); err != nil {
		return cy, err
	}
	var rs []regions.Region
	if err := tx.Scopes(regions.Assessed).Order("code").Find(&rs).Error; err != nil {
		return cy, fmt.Errorf("list regions: %w", err)
	}
	sc := scheme.Default()
	rng := rand.New(rand.NewPCG(uint64(year), 2026))
	at := time.Date(year+1, 2, 28, 9, 0, 0, 0, time.UTC)
	for i, r := range rs {
		s := strength(i, len(rs), year)
		for _, ind := range sc.Indicators {
			if !sc.AppliesTo(ind, r.Kind) {
				continue
			}
			x := Plausible(ind, s, rng)
			if fe := ind.CheckValue(x); fe != nil {
				return cy, fmt.Errorf("demo value %s of %s: %s", ind.Code, r.Code, fe.MessageEn)
			}
			if err := verifiedValue(tx, manager, cy.ID, r.Code, ind.Code, x, at); err != nil {
				return cy, err
			}
		}
	}
	if _, err := cys.Transition(ctx, cy.ID, cycles.Scoring); err != nil {
		return cy, err
	}
	store := evaluation.NewStore(tx, nil, indicators.NewSchemeStore(tx))
	if lastPast {
		// The office's first run of that year scored the Capped region's
		// funding as reported; a check found the figure was the year
		// before's, so collection was reopened, the value corrected to 0
		// and the cycle scored again. The first run stays unpublished:
		// the run diff shows what the correction changed, and it is the
		// demo's run that city officials may not see.
		if _, err := store.RunNow(ctx, manager, cy.ID); err != nil {
			return cy, fmt.Errorf("demo trial run %d: %w", year, err)
		}
		if err := correctFunding(ctx, tx, cys, manager, cy.ID, at.AddDate(0, 0, 14)); err != nil {
			return cy, err
		}
	}
	run, err := store.RunNow(ctx, manager, cy.ID)
	if err != nil {
		return cy, fmt.Errorf("demo run %d: %w", year, err)
	}
	if _, err := store.Publish(ctx, manager, run.ID); err != nil {
		return cy, fmt.Errorf("demo run %d: %w", year, err)
	}
	return cys.Get(ctx, cy.ID)
}

// strength places region i of n on a 0.35–0.95 scale, the same order every
// year (Taiyuan first and strongest) with a small rise over the years.
func strength(i, n, year int) float64 {
	base := 0.95 - 0.6*float64(i)/float64(max(n-1, 1))
	return math.Min(0.97, base+0.01*float64(year%10))
}

// Plausible is a value of ind for a region of strength s: near the upper
// goalpost for a strong region, on the indicator's own scale otherwise.
func Plausible(ind scheme.Indicator, s float64, rng *rand.Rand) float64 {
	s = math.Max(0.05, math.Min(1, s+(rng.Float64()-0.5)*0.08))
	n := ind.Normalisation
	var x float64
	switch {
	case n.Method == scheme.MethodBinary:
		if s > 0.45 {
			return 1
		}
		return 0
	case ind.Code == "F1":
		x = 50 + 450*s
	case n.Lower != nil && n.Upper != nil:
		x = *n.Lower + (*n.Upper-*n.Lower)*s
	case ind.Unit == "亿元":
		x = math.Round((0.5+20*s)*100) / 100
	default:
		x = 20 + 400*s
	}
	if ind.Integer {
		x = math.Round(x)
	}
	if ind.Max != nil {
		x = math.Min(x, *ind.Max)
	}
	return math.Round(x*100) / 100
}

// verifiedValue stores a value as the review workflow would leave it, with
// a revision that says where it came from.
func verifiedValue(tx *gorm.DB, manager auth.Principal, cycleID, region, code string, x float64, at time.Time) error {
	return storeValue(tx, manager, cycleID, region, code, x, at, indicators.StatusVerified, "演示数据：往年已审核数据")
}

// storeValue stores a value with status, version 1, and the revision that
// says where it came from.
func storeValue(tx *gorm.DB, by auth.Principal, cycleID, region, code string, x float64, at time.Time, status indicators.Status, reason string) error {
	v := indicators.Value{ID: uuid.Must(uuid.NewV7()).String(), CycleID: cycleID, RegionCode: region, IndicatorCode: code,
		Number: &x, Note: "演示数据", Status: status, Version: 1, UpdatedBy: by.UserID,
		UpdatedAt: at, CreatedAt: at}
	if err := tx.Create(&v).Error; err != nil {
		return fmt.Errorf("demo value: %w", err)
	}
	rev := indicators.Revision{ValueID: v.ID, Version: 1, At: at, UserID: by.UserID, Username: by.Username,
		Action: indicators.ActionSet, NewNumber: &x, NewNote: v.Note, NewStatus: status,
		Reason: reason}
	if err := tx.Create(&rev).Error; err != nil {
		return fmt.Errorf("demo revision: %w", err)
	}
	return nil
}

// correctFunding reopens collection of a cycle in scoring, sets the Capped
// region's funding (F1) to 0 as a reviewed correction with its revision,
// and moves the cycle back to scoring.
func correctFunding(ctx context.Context, tx *gorm.DB, cys *cycles.Store, manager auth.Principal, cycleID string, at time.Time) error {
	if _, err := cys.Transition(ctx, cycleID, cycles.Collecting); err != nil {
		return err
	}
	var v indicators.Value
	if err := tx.Where("cycle_id = ? AND region_code = ? AND indicator_code = ?", cycleID, Capped, "F1").Take(&v).Error; err != nil {
		return fmt.Errorf("demo funding value: %w", err)
	}
	old, zero := v.Number, 0.0
	rev := indicators.Revision{ValueID: v.ID, Version: v.Version + 1, At: at, UserID: manager.UserID, Username: manager.Username,
		Action: indicators.ActionSet, OldNumber: old, NewNumber: &zero, OldNote: v.Note, NewNote: v.Note,
		OldStatus: v.Status, NewStatus: indicators.StatusVerified,
		Reason: "演示数据：复核发现误填上年资金数，更正为本年未安排资金"}
	if err := tx.Model(&v).Updates(map[string]any{"number": zero, "version": rev.Version, "updated_at": at}).Error; err != nil {
		return fmt.Errorf("demo funding correction: %w", err)
	}
	if err := tx.Create(&rev).Error; err != nil {
		return fmt.Errorf("demo revision: %w", err)
	}
	_, err := cys.Transition(ctx, cycleID, cycles.Scoring)
	return err
}

// Submitted are the regions whose values of the current cycle the demo
// has already submitted, so that the manager's review queue has work in
// it; the city official (Capped's) enters their own.
var Submitted = []string{"140200", "140300"}

// submittedValues stores, for each of the Submitted regions, a submitted
// value of every indicator that applies to it and is entered by hand, as
// plausible as the past years' — but the first region's second indicator
// triples, so that the review queue flags it as far from last year's.
func submittedValues(ctx context.Context, tx *gorm.DB, manager auth.Principal, cycleID string, year int, at time.Time) error {
	var rs []regions.Region
	if err := tx.WithContext(ctx).Scopes(regions.Assessed).Order("code").Find(&rs).Error; err != nil {
		return fmt.Errorf("list regions: %w", err)
	}
	sc := scheme.Default()
	rng := rand.New(rand.NewPCG(uint64(year), 2026))
	for i, r := range rs {
		if !slices.Contains(Submitted, r.Code) {
			continue
		}
		s := strength(i, len(rs), year)
		for j, ind := range sc.Indicators {
			if !sc.AppliesTo(ind, r.Kind) || ind.SurveySourced() {
				continue
			}
			x := Plausible(ind, s, rng)
			if r.Code == Submitted[0] && j == 1 && ind.Max == nil {
				x *= 3
			}
			if fe := ind.CheckValue(x); fe != nil {
				return fmt.Errorf("demo value %s of %s: %s", ind.Code, r.Code, fe.MessageEn)
			}
			if err := storeValue(tx, manager, cycleID, r.Code, ind.Code, x, at, indicators.StatusSubmitted, "演示数据：市级报送，待审核"); err != nil {
				return err
			}
		}
	}
	return nil
}
