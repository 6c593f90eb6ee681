package reports

import (
	"context"
	"slices"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports/render"
)

// Overview is the province overview of one run of a cycle.
type Overview struct {
	Cycle cycles.Cycle
	Run   evaluation.Run
	// Runs the caller may choose from: every run for admins, the
	// published one for city officials.
	Runs []evaluation.Run
	// Admin is set for provincial managers, who may compare runs and see
	// the rank intervals.
	Admin bool
	// ECharts options, as JSON. Sensitivity is empty unless the caller
	// may see the run's sensitivity analysis of every region.
	Map, Ranking, Grades, Heatmap, Sensitivity string
	// Draws is the number of draws of the sensitivity analysis.
	Draws int
	Rows  []OverviewRow
	// FailedJobs are the cycle's failed run jobs, for admins: they store
	// no run, so only their reasons tell that a run was tried.
	FailedJobs []jobs.Job
}

// OverviewRow is one region of the ranking table.
type OverviewRow struct {
	Code   string
	Rank   int
	Name   string
	Score  string
	Grade  string
	Capped string // the band grade a rule took away, if any
}

// Overview builds the overview of the chosen run, in English when en is
// set: the map, ranking, grade and dimension charts and, for admins, the
// rank intervals of the run's sensitivity analysis. Runs and FailedJobs
// are left to the caller: they change with every new run, so a cached
// overview of a published run cannot hold them.
func (v *Views) Overview(ctx context.Context, by auth.Principal, ch RunChoice, en bool) (Overview, error) {
	run, res, sc, err := v.results(ctx, by, ch)
	if err != nil {
		return Overview{}, err
	}
	d := Overview{Cycle: ch.Cycle, Run: run, Admin: by.Is(auth.RoleAdmin), Rows: overviewRows(res, en)}
	slots := []chartSlot{
		{&d.Map, func() ([]byte, error) { return render.MapOption(res) }},
		{&d.Ranking, func() ([]byte, error) { return render.RankingOption(res) }},
		{&d.Grades, func() ([]byte, error) { return render.GradesOption(res) }},
		{&d.Heatmap, func() ([]byte, error) { return render.HeatmapOption(sc, res) }},
	}
	// evaluation.Store shows a city official the analysis of its own
	// region only; a chart of one region's interval would say little on
	// the province's page, so the intervals are the managers'.
	if d.Admin {
		sens, err := v.runs.Sensitivity(ctx, by, run.ID)
		if err != nil {
			return Overview{}, err
		}
		if slices.ContainsFunc(sens.Regions, func(r engine.RegionSensitivity) bool { return r.RankedDraws > 0 }) {
			d.Draws = sens.Draws
			slots = append(slots, chartSlot{&d.Sensitivity, func() ([]byte, error) { return render.SensitivityOption(sens) }})
		}
	}
	return d, fillCharts(slots...)
}

// overviewRows lists every region, ranked ones first in rank order.
func overviewRows(res engine.Result, en bool) []OverviewRow {
	name := scheme.GradeNames(res.Grades, en)
	var rows []OverviewRow
	for _, r := range res.Ranked() {
		row := OverviewRow{Code: r.Code, Rank: r.Rank, Name: r.Name, Grade: name[r.Grade], Score: score(r.Score)}
		if r.BandGrade != "" && r.BandGrade != r.Grade {
			row.Capped = name[r.BandGrade]
		}
		rows = append(rows, row)
	}
	return rows
}
