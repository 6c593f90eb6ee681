package httpapi

import (
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/runs"
	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/reports"
)

// overviewData is the province overview of one run of a cycle.
type overviewData struct {
	Cycle cycles.Cycle
	Run   runs.Run
	// Runs the caller may choose from: every run for admins, the
	// published one for city officials.
	Runs []runs.Run
	// ECharts options, as JSON.
	Map, Ranking, Grades string
	Rows                 []overviewRow
}

// overviewRow is one region of the ranking table.
type overviewRow struct {
	Code   string
	Rank   int
	Name   string
	Score  string
	Grade  string
	Capped string // the band grade a rule took away, if any
}

// overviewPage shows a cycle's run (?run=ID, else the published run, else
// for admins the newest) as a map, a ranking and the grade distribution.
func (s *Server) overviewPage(c *fiber.Ctx, p auth.Principal) error {
	cy, list, run, res, err := s.cycleRun(c, p)
	if err != nil {
		return err
	}
	d := overviewData{Cycle: cy, Run: run, Runs: list, Rows: overviewRows(res, lang(c))}
	for _, ch := range []struct {
		dst *string
		fn  func(evaluation.Result) ([]byte, error)
	}{{&d.Map, reports.MapOption}, {&d.Ranking, reports.RankingOption}, {&d.Grades, reports.GradesOption}} {
		b, err := ch.fn(res)
		if err != nil {
			return err
		}
		*ch.dst = string(b)
	}
	return s.render(c, fiber.StatusOK, "overview", "overview.title", d)
}

// cycleRun reads the cycle of the path's :id, the runs the caller may
// choose from, and the chosen one (?run=ID, else the published run, else
// for admins the newest) as Overview shows it to the caller.
func (s *Server) cycleRun(c *fiber.Ctx, p auth.Principal) (cycles.Cycle, []runs.Run, runs.Run, evaluation.Result, error) {
	ctx := c.UserContext()
	cy, err := s.deps.Cycles.Get(ctx, param(c, "id"))
	if err != nil {
		return cy, nil, runs.Run{}, evaluation.Result{}, err
	}
	list, err := s.deps.Runs.List(ctx, p, cy.ID)
	if err != nil {
		return cy, nil, runs.Run{}, evaluation.Result{}, err
	}
	id := query(c, "run")
	if id == "" {
		id = chooseRun(list)
	}
	if id == "" {
		return cy, nil, runs.Run{}, evaluation.Result{},
			fault.With(fault.ErrNotFound, "the cycle has no published results yet", "该考核周期尚无已发布的评价结果", nil)
	}
	run, res, err := s.deps.Runs.Overview(ctx, p, id)
	if err == nil && run.CycleID != cy.ID {
		err = fmt.Errorf("run %s of another cycle: %w", id, fault.ErrNotFound)
	}
	return cy, list, run, res, err
}

// chooseRun is the run a page opens with: the published one, else the
// newest (list is newest first).
func chooseRun(list []runs.Run) string {
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

// gradeNames maps grade codes to their names in the page's language.
func gradeNames(res evaluation.Result, en bool) map[string]string {
	out := make(map[string]string, len(res.Grades))
	for _, g := range res.Grades {
		out[g.Code] = pick(en, g.Name, g.NameEn)
	}
	return out
}

// overviewRows lists every region, ranked ones first in rank order.
func overviewRows(res evaluation.Result, lang string) []overviewRow {
	name := gradeNames(res, lang == "en")
	var ranked, rest []overviewRow
	for _, r := range res.Regions {
		row := overviewRow{Code: r.Code, Rank: r.Rank, Name: r.Name, Grade: name[r.Grade], Score: "—"}
		if r.Score.Valid {
			row.Score = fmt.Sprintf("%.1f", r.Score.Value)
		}
		if r.BandGrade != "" && r.BandGrade != r.Grade {
			row.Capped = name[r.BandGrade]
		}
		if r.Rank > 0 {
			ranked = append(ranked, row)
		} else {
			rest = append(rest, row)
		}
	}
	slices.SortStableFunc(ranked, func(a, b overviewRow) int { return a.Rank - b.Rank })
	return append(ranked, rest...)
}
