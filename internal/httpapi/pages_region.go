package httpapi

import (
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/runs"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/reports"
)

// regionData is one region's dashboard in a run of a cycle.
type regionData struct {
	Cycle  cycles.Cycle
	Run    runs.Run
	Region evaluation.RegionResult
	Graded int
	// Grade names, in the page's language.
	Grade, BandGrade, PathTarget string
	Sentences                    []string
	Rules                        []regionRule
	Steps                        []regionStep
	Blocked                      []string
	// ECharts options, as JSON.
	Radar, Contributions, Trend string
}

// regionRule is a fired rule as the page shows it.
type regionRule struct{ ID, Basis, Message string }

// regionStep is one step of the path to the next grade.
type regionStep struct {
	Indicator, Unit      string
	From, Target, Change string
	Possible             bool
}

// regionPage shows a region's dashboard: a city official only its own
// region, of a published run; admins any region of any run (?run=ID).
func (s *Server) regionPage(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	code := param(c, "code")
	if !p.CanAccessRegion(code) {
		return fault.With(fault.ErrForbidden, "you may see only your own region", "只能查看本地区的评价结果", nil)
	}
	cy, _, run, res, err := s.cycleRun(c, p)
	if err != nil {
		return err
	}
	rr, ok := res.Region(code)
	if !ok {
		return fmt.Errorf("region %s in run %s: %w", code, run.ID, fault.ErrNotFound)
	}
	st, err := s.deps.Schemes.Get(ctx, run.SchemeID)
	if err != nil {
		return err
	}
	sc, err := s.deps.Schemes.Decode(st)
	if err != nil {
		return err
	}
	en := lang(c) == "en"
	d := regionData{Cycle: cy, Run: run, Region: *rr}
	gradeName := gradeNames(res, en)
	d.Grade, d.BandGrade = gradeName[rr.Grade], gradeName[rr.BandGrade]
	for _, r := range res.Regions {
		if r.Rank > 0 {
			d.Graded++
		}
	}
	for _, snt := range rr.Explanation.Sentences {
		d.Sentences = append(d.Sentences, pick(en, snt.Zh, snt.En))
	}
	for _, fr := range rr.Rules {
		d.Rules = append(d.Rules, regionRule{ID: fr.ID, Basis: pick(en, fr.Basis, fr.BasisEn), Message: pick(en, fr.Message, fr.MessageEn)})
	}
	if rr.Path != nil {
		d.PathTarget = gradeName[rr.Path.Target]
		d.Steps = pathSteps(sc, rr.Path, en)
		for _, b := range rr.Path.Blocked {
			d.Blocked = append(d.Blocked, pick(en, b.Statement, b.StatementEn))
		}
	}
	trend, err := s.trend(c, p, code)
	if err != nil {
		return err
	}
	for _, ch := range []struct {
		dst *string
		fn  func() ([]byte, error)
	}{
		{&d.Radar, func() ([]byte, error) { return reports.RadarOption(sc, res, code) }},
		{&d.Contributions, func() ([]byte, error) { return reports.ContributionsOption(sc, *rr) }},
		{&d.Trend, func() ([]byte, error) { return reports.TrendOption(trend) }},
	} {
		b, err := ch.fn()
		if err != nil {
			return err
		}
		*ch.dst = string(b)
	}
	return s.render(c, fiber.StatusOK, "region", "region.title", d)
}

// trend is a region's score in every cycle with a published run, oldest
// first.
func (s *Server) trend(c *fiber.Ctx, p auth.Principal, code string) ([]reports.TrendPoint, error) {
	ctx := c.UserContext()
	cs, err := s.deps.Cycles.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []reports.TrendPoint
	for _, cy := range cs {
		list, err := s.deps.Runs.List(ctx, p, cy.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if r.PublishedAt == nil {
				continue
			}
			_, res, err := s.deps.Runs.Overview(ctx, p, r.ID)
			if err != nil {
				return nil, err
			}
			if rr, ok := res.Region(code); ok && rr.Score.Valid {
				out = append(out, reports.TrendPoint{Year: cy.Year, Score: rr.Score.Value, Grade: gradeNames(res, false)[rr.Grade]})
			}
		}
	}
	slices.SortFunc(out, func(a, b reports.TrendPoint) int { return a.Year - b.Year })
	return out, nil
}

// pathSteps are the possible steps of a path, with indicator names and
// units; steps that cannot help are left out.
func pathSteps(sc scheme.Scheme, path *evaluation.Path, en bool) []regionStep {
	num := func(n evaluation.Number) string {
		if !n.Valid {
			return "—"
		}
		return fmt.Sprintf("%.2f", n.Value)
	}
	var out []regionStep
	for _, st := range path.Steps {
		if !st.Possible {
			continue
		}
		step := regionStep{Indicator: st.Indicator, From: num(st.From), Target: num(st.Target), Change: num(st.Change), Possible: true}
		if ind, ok := sc.Indicator(st.Indicator); ok {
			step.Indicator = st.Indicator + " " + pick(en, ind.Name, ind.NameEn)
			step.Unit = ind.Unit
		}
		out = append(out, step)
	}
	return out
}

// pick is the English text when asked for and present, else the Chinese.
func pick(en bool, zh, eng string) string {
	if en && eng != "" {
		return eng
	}
	return zh
}
