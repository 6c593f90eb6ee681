package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/surveys"
)

// CycleReader reads cycles, as cycles.Store does.
type CycleReader interface {
	Get(ctx context.Context, id string) (cycles.Cycle, error)
}

// RunReader reads runs and their results as the caller may see them, as
// evaluation.Store does.
type RunReader interface {
	List(ctx context.Context, by auth.Principal, cycleID string) ([]evaluation.Run, error)
	Overview(ctx context.Context, by auth.Principal, runID string) (evaluation.Run, engine.Result, error)
	Sensitivity(ctx context.Context, by auth.Principal, runID string) (engine.SensitivityResult, error)
	RegionHistory(ctx context.Context, by auth.Principal, regionCode string) ([]evaluation.RegionYear, error)
	Diff(ctx context.Context, by auth.Principal, a, b string) (evaluation.Diff, error)
}

// RegionLister lists the regions, as regions.Store does.
type RegionLister interface {
	List(ctx context.Context) ([]regions.Region, error)
}

// SchemeReader reads the scheme a run was scored with, as
// indicators.SchemeStore does.
type SchemeReader interface {
	Get(ctx context.Context, id string) (indicators.StoredScheme, error)
	Decode(st indicators.StoredScheme) (scheme.Scheme, error)
}

// SurveyReader reads the satisfaction indices of a cycle, as
// surveys.Store does.
type SurveyReader interface {
	CycleIndices(ctx context.Context, by auth.Principal, cycleID string) ([]surveys.RegionIndex, error)
	ProvinceIndex(ctx context.Context, by auth.Principal, cycleID string) (surveys.ProvinceIndex, error)
}

// ValueReader reads a cycle's indicator values as they stand now, as
// indicators.ValueStore does.
type ValueReader interface {
	List(ctx context.Context, by auth.Principal, cycleID, regionCode string) ([]indicators.Value, error)
	Completeness(ctx context.Context, by auth.Principal, cycleID string) ([]indicators.Completeness, error)
}

// Views assembles the view models of the site's result pages — the
// province overview, a region's dashboard and the comparison of two runs — from the stores that hold
// their parts, so that a page handler only decodes, authorises, calls
// and renders. Texts come in the asked language; words the site
// translates are left as message keys.
type Views struct {
	cycles  CycleReader
	runs    RunReader
	schemes SchemeReader
	surveys SurveyReader
	values  ValueReader
	regions RegionLister
}

// NewViews returns the view assembler over the given stores.
func NewViews(cs CycleReader, rs RunReader, schemes SchemeReader, sv SurveyReader, values ValueReader, rg RegionLister) *Views {
	return &Views{cycles: cs, runs: rs, schemes: schemes, surveys: sv, values: values, regions: rg}
}

// RunChoice is the run a page of a cycle shows, chosen from the runs the
// caller may see.
type RunChoice struct {
	Cycle cycles.Cycle
	// Runs are the runs the caller may choose from, newest first: every
	// run for admins, the published one for city officials.
	Runs []evaluation.Run
	// RunID is the chosen run: the one asked for, else the published run,
	// else for admins the newest.
	RunID string
	// Published is set when the chosen run is published: its results never
	// change again, so pages of it may be cached.
	Published bool
}

// Choose reads the cycle and the runs the caller may choose from, and
// picks the run to show (runID, when given), without reading any results.
// A cycle with no run to show is not found; the choice then still holds
// the cycle (when it exists) and its runs.
func (v *Views) Choose(ctx context.Context, by auth.Principal, cycleID, runID string) (RunChoice, error) {
	cy, err := v.cycles.Get(ctx, cycleID)
	if err != nil {
		return RunChoice{}, err
	}
	list, err := v.runs.List(ctx, by, cy.ID)
	if err != nil {
		return RunChoice{}, err
	}
	ch := RunChoice{Cycle: cy, Runs: list, RunID: cmp.Or(runID, DefaultRun(list))}
	if ch.RunID == "" {
		return ch, fault.With(fault.ErrNotFound, "the cycle has no published results yet", "该考核周期尚无已发布的评价结果", nil)
	}
	i := slices.IndexFunc(list, func(r evaluation.Run) bool { return r.ID == ch.RunID })
	ch.Published = i >= 0 && list[i].PublishedAt != nil
	return ch, nil
}

// DefaultRun is the run a page opens with: the published one, else the
// newest (list is newest first).
func DefaultRun(list []evaluation.Run) string {
	for _, r := range list {
		if r.PublishedAt != nil {
			return r.ID
		}
	}
	if len(list) > 0 {
		return list[0].ID
	}
	return ""
}

// results reads the chosen run as Overview shows it to the caller, with
// the scheme it was scored with.
func (v *Views) results(ctx context.Context, by auth.Principal, ch RunChoice) (evaluation.Run, engine.Result, scheme.Scheme, error) {
	run, res, err := v.runs.Overview(ctx, by, ch.RunID)
	if err == nil && run.CycleID != ch.Cycle.ID {
		err = fmt.Errorf("run %s of another cycle: %w", ch.RunID, fault.ErrNotFound)
	}
	if err != nil {
		return evaluation.Run{}, engine.Result{}, scheme.Scheme{}, err
	}
	sc, err := v.runScheme(ctx, run)
	return run, res, sc, err
}

// runScheme is the scheme a run was scored with.
func (v *Views) runScheme(ctx context.Context, run evaluation.Run) (scheme.Scheme, error) {
	st, err := v.schemes.Get(ctx, run.SchemeID)
	if err != nil {
		return scheme.Scheme{}, err
	}
	return v.schemes.Decode(st)
}

// chartSlot is a chart of a page: where its option goes, and how it is
// made.
type chartSlot struct {
	dst *string
	fn  func() ([]byte, error)
}

// fillCharts encodes each chart's option into its place.
func fillCharts(slots ...chartSlot) error {
	for _, ch := range slots {
		b, err := ch.fn()
		if err != nil {
			return err
		}
		*ch.dst = string(b)
	}
	return nil
}

// pick is the English text when asked for and present, else the Chinese.
func pick(en bool, zh, eng string) string {
	if en && eng != "" {
		return eng
	}
	return zh
}

// score is a composite score as tables show it.
func score(n engine.Number) string {
	if !n.Valid {
		return "—"
	}
	return fmt.Sprintf("%.1f", n.Value)
}
