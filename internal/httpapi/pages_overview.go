package httpapi

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports/render"
)

// overviewData is the province overview of one run of a cycle.
type overviewData struct {
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
	Rows  []overviewRow
	// FailedJobs are the cycle's failed run jobs, for admins: they store
	// no run, so only their reasons tell that a run was tried.
	FailedJobs []jobs.Job
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
// for admins the newest) as a map, a ranking, the grade distribution and
// the regions' dimension scores; admins also see the rank intervals of
// the run's sensitivity analysis.
func (s *Server) overviewPage(c *fiber.Ctx, p auth.Principal) error {
	ch, err := s.chooseRun(c, p)
	if err != nil {
		return s.noRunYet(c, p, ch, err)
	}
	d, err := cachedView(s, c, p, ch, "overview", func() (overviewData, error) { return s.overview(c, p, ch) })
	if err != nil {
		return err
	}
	// The runs to choose from change with every new run, published or not.
	d.Runs = ch.Runs
	if p.Is(auth.RoleAdmin) {
		if d.FailedJobs, err = s.deps.Runs.Failures(c.UserContext(), p, ch.Cycle.ID); err != nil {
			return err
		}
	}
	return s.render(c, fiber.StatusOK, "overview", "overview.title", d)
}

// noRunYet adds, for an admin, the reason of the latest failed run to the
// error of a cycle with no run to show.
func (s *Server) noRunYet(c *fiber.Ctx, p auth.Principal, ch runChoice, err error) error {
	if ch.Cycle.ID == "" || len(ch.Runs) > 0 || !p.Is(auth.RoleAdmin) {
		return err
	}
	failed, ferr := s.deps.Runs.Failures(c.UserContext(), p, ch.Cycle.ID)
	if ferr != nil || len(failed) == 0 {
		return err
	}
	j := failed[0]
	return fault.With(fault.ErrNotFound, "the cycle has no run yet; its latest run failed: "+j.Error,
		"该考核周期尚无评价结果；最近一次评价运行失败："+cmp.Or(j.Message, j.Error), nil)
}

// overview builds the overview of the chosen run.
func (s *Server) overview(c *fiber.Ctx, p auth.Principal, ch runChoice) (overviewData, error) {
	ctx := c.UserContext()
	run, res, err := s.chosenResults(c, p, ch)
	if err != nil {
		return overviewData{}, err
	}
	sc, err := s.runScheme(c, run)
	if err != nil {
		return overviewData{}, err
	}
	d := overviewData{Cycle: ch.Cycle, Run: run, Admin: p.Is(auth.RoleAdmin), Rows: overviewRows(res, lang(c))}
	slots := []chartSlot{
		{&d.Map, func() ([]byte, error) { return render.MapOption(res) }},
		{&d.Ranking, func() ([]byte, error) { return render.RankingOption(res) }},
		{&d.Grades, func() ([]byte, error) { return render.GradesOption(res) }},
		{&d.Heatmap, func() ([]byte, error) { return render.HeatmapOption(sc, res) }},
	}
	// runs.Store shows a city official the analysis of its own region
	// only; a chart of one region's interval would say little on the
	// province's page, so the intervals are the managers'.
	if d.Admin {
		sens, err := s.deps.Runs.Sensitivity(ctx, p, run.ID)
		if err != nil {
			return overviewData{}, err
		}
		if slices.ContainsFunc(sens.Regions, func(r engine.RegionSensitivity) bool { return r.RankedDraws > 0 }) {
			d.Draws = sens.Draws
			slots = append(slots, chartSlot{&d.Sensitivity, func() ([]byte, error) { return render.SensitivityOption(sens) }})
		}
	}
	return d, fillCharts(slots...)
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

// runScheme is the scheme a run was scored with.
func (s *Server) runScheme(c *fiber.Ctx, run evaluation.Run) (scheme.Scheme, error) {
	st, err := s.deps.Schemes.Get(c.UserContext(), run.SchemeID)
	if err != nil {
		return scheme.Scheme{}, err
	}
	return s.deps.Schemes.Decode(st)
}

// runChoice is the run a page of a cycle shows, chosen from the runs the
// caller may see.
type runChoice struct {
	Cycle cycles.Cycle
	// Runs are the runs the caller may choose from, newest first: every
	// run for admins, the published one for city officials.
	Runs []evaluation.Run
	// RunID is the chosen run: ?run=ID, else the published run, else for
	// admins the newest.
	RunID string
	// Published is set when the chosen run is published: its results never
	// change again, so pages of it may be cached.
	Published bool
}

// chooseRun reads the cycle of the path's :id and the runs the caller may
// choose from, and picks the run to show, without reading any results.
func (s *Server) chooseRun(c *fiber.Ctx, p auth.Principal) (runChoice, error) {
	ctx := c.UserContext()
	cy, err := s.deps.Cycles.Get(ctx, param(c, "id"))
	if err != nil {
		return runChoice{}, err
	}
	list, err := s.deps.Runs.List(ctx, p, cy.ID)
	if err != nil {
		return runChoice{}, err
	}
	ch := runChoice{Cycle: cy, Runs: list, RunID: cmp.Or(query(c, "run"), defaultRun(list))}
	if ch.RunID == "" {
		return ch, fault.With(fault.ErrNotFound, "the cycle has no published results yet", "该考核周期尚无已发布的评价结果", nil)
	}
	i := slices.IndexFunc(list, func(r evaluation.Run) bool { return r.ID == ch.RunID })
	ch.Published = i >= 0 && list[i].PublishedAt != nil
	return ch, nil
}

// chosenResults reads the chosen run as Overview shows it to the caller.
func (s *Server) chosenResults(c *fiber.Ctx, p auth.Principal, ch runChoice) (evaluation.Run, engine.Result, error) {
	run, res, err := s.deps.Runs.Overview(c.UserContext(), p, ch.RunID)
	if err == nil && run.CycleID != ch.Cycle.ID {
		err = fmt.Errorf("run %s of another cycle: %w", ch.RunID, fault.ErrNotFound)
	}
	return run, res, err
}

// cachedView returns what build makes of the chosen run, from the cache of
// published pages when the run is published. The key holds everything the
// view depends on besides the run: the page, the cycle's state (it may be
// archived), the language and who looks (a city official sees its own
// region's detail only); entries go stale when another run is published,
// which a region's trend would show.
func cachedView[T any](s *Server, c *fiber.Ctx, p auth.Principal, ch runChoice, page string, build func() (T, error)) (T, error) {
	if !ch.Published || s.views == nil {
		return build()
	}
	stamp, err := s.deps.Runs.PublishedStamp(c.UserContext())
	if err != nil {
		var zero T
		return zero, err
	}
	key := strings.Join([]string{page, ch.Cycle.ID, string(ch.Cycle.Status), ch.RunID, lang(c), string(p.Role), p.RegionCode}, "|")
	v, ok := s.views.Get(key, stamp)
	s.countView(ok)
	if ok {
		return v.(T), nil
	}
	built, err := build()
	if err == nil {
		s.views.Put(key, stamp, built)
	}
	return built, err
}

// countView counts a lookup in the view cache for the metrics.
func (s *Server) countView(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	s.metrics.viewCache.WithLabelValues(result).Inc()
}

// defaultRun is the run a page opens with: the published one, else the
// newest (list is newest first).
func defaultRun(list []evaluation.Run) string {
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

// overviewRows lists every region, ranked ones first in rank order.
func overviewRows(res engine.Result, lang string) []overviewRow {
	name := scheme.GradeNames(res.Grades, lang == "en")
	var rows []overviewRow
	for _, r := range res.Ranked() {
		row := overviewRow{Code: r.Code, Rank: r.Rank, Name: r.Name, Grade: name[r.Grade], Score: score(r.Score)}
		if r.BandGrade != "" && r.BandGrade != r.Grade {
			row.Capped = name[r.BandGrade]
		}
		rows = append(rows, row)
	}
	return rows
}

// diffData compares two runs of a cycle.
type diffData struct {
	Cycle    cycles.Cycle
	Runs     []evaluation.Run
	From, To evaluation.Run
	// SchemeChanged is set when the runs were scored with different
	// schemes.
	SchemeChanged bool
	Regions       []diffRegion
	Inputs        []diffInput
	// Chart is the score changes of the regions in both runs, as an
	// ECharts option; empty when no score changed.
	Chart string
}

// diffRegion is a region whose result differs, as the page shows it.
type diffRegion struct {
	Code, Name string
	// Presence is both, added (only in To) or removed (only in From).
	Presence                                     evaluation.Presence
	ScoreA, ScoreB, RankA, RankB, GradeA, GradeB string
}

// diffInput is an input value that differs.
type diffInput struct {
	Region, Indicator string
	A, B              string
}

// diffPage compares two runs of a cycle (?from=RUN&to=RUN; by default the
// run the overview opens with and the one before it): the regions whose
// score, rank or grade changed, the regions added or removed, and the
// inputs that changed. Only admins compare runs: city officials see the
// published one alone.
func (s *Server) diffPage(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	cy, err := s.deps.Cycles.Get(ctx, param(c, "id"))
	if err != nil {
		return err
	}
	list, err := s.deps.Runs.List(ctx, p, cy.ID)
	if err != nil {
		return err
	}
	to, from, err := diffPair(list, query(c, "to"), query(c, "from"))
	if err != nil {
		return err
	}
	d := diffData{Cycle: cy, Runs: list, From: from, To: to}
	if from.ID == "" {
		// A single run: nothing to compare it with; the page says so.
		return s.render(c, fiber.StatusOK, "diff", "diff.title", d)
	}
	diff, err := s.deps.Runs.Diff(ctx, p, from.ID, to.ID)
	if err != nil {
		return err
	}
	d.SchemeChanged = diff.SchemeChanged
	en := lang(c) == "en"
	names, err := s.diffNames(c, en, from, to)
	if err != nil {
		return err
	}
	var changes []render.ScoreChange
	for _, r := range diff.Regions {
		d.Regions = append(d.Regions, diffRegion{Code: r.Code, Name: r.Name, Presence: r.Presence,
			ScoreA: score(r.ScoreA), ScoreB: score(r.ScoreB), RankA: rank(r.RankA), RankB: rank(r.RankB),
			GradeA: names.grade(r.GradeA), GradeB: names.grade(r.GradeB)})
		if r.Presence == evaluation.PresenceBoth && r.ScoreA.Valid && r.ScoreB.Valid && r.ScoreA.Value != r.ScoreB.Value {
			changes = append(changes, render.ScoreChange{Name: r.Name, From: r.ScoreA.Value, To: r.ScoreB.Value})
		}
	}
	for _, in := range diff.Inputs {
		d.Inputs = append(d.Inputs, diffInput{Region: names.region(in.RegionCode), Indicator: names.indicator(in.IndicatorCode),
			A: inputValue(c, in.A), B: inputValue(c, in.B)})
	}
	if len(changes) > 0 {
		b, err := render.ScoreChangesOption(changes)
		if err != nil {
			return err
		}
		d.Chart = string(b)
	}
	return s.render(c, fiber.StatusOK, "diff", "diff.title", d)
}

// diffPair picks the runs to compare from a cycle's runs (newest first):
// to is the named run, else the one the overview opens with; from is the
// named run, else the run before to (after it when to is the oldest), and
// empty when the cycle has a single run. A named run not of the cycle is
// not found.
func diffPair(list []evaluation.Run, toID, fromID string) (to, from evaluation.Run, err error) {
	find := func(id string) (int, error) {
		i := slices.IndexFunc(list, func(r evaluation.Run) bool { return r.ID == id })
		if i < 0 {
			return i, fault.With(fault.ErrNotFound, fmt.Sprintf("run %s is not a run of this cycle", id),
				fmt.Sprintf("本考核周期没有评价运行 %s", id), nil)
		}
		return i, nil
	}
	if toID == "" {
		toID = defaultRun(list)
	}
	if toID == "" {
		return to, from, fault.With(fault.ErrNotFound, "the cycle has no run yet", "该考核周期尚无评价运行", nil)
	}
	ti, err := find(toID)
	if err != nil {
		return to, from, err
	}
	fi := -1
	switch {
	case fromID != "":
		if fi, err = find(fromID); err != nil {
			return to, from, err
		}
	case ti+1 < len(list):
		fi = ti + 1
	case ti > 0:
		fi = ti - 1
	}
	if fi >= 0 {
		from = list[fi]
	}
	return list[ti], from, nil
}

// diffNames names the regions, indicators and grades of two runs in the
// page's language, the later run's names first.
type diffNames struct {
	regions, indicators, grades map[string]string
}

func (n diffNames) region(code string) string    { return cmp.Or(n.regions[code], code) }
func (n diffNames) indicator(code string) string { return cmp.Or(n.indicators[code], code) }
func (n diffNames) grade(code string) string {
	if code == "" {
		return "—"
	}
	return cmp.Or(n.grades[code], code)
}

// diffNames reads the names of the regions and of what the schemes of
// two runs define.
func (s *Server) diffNames(c *fiber.Ctx, en bool, from, to evaluation.Run) (diffNames, error) {
	n := diffNames{regions: map[string]string{}, indicators: map[string]string{}, grades: map[string]string{}}
	rs, err := s.deps.Regions.List(c.UserContext())
	if err != nil {
		return n, err
	}
	for _, r := range rs {
		n.regions[r.Code] = r.Name
	}
	for _, run := range []evaluation.Run{to, from} {
		sc, err := s.runScheme(c, run)
		if err != nil {
			return n, err
		}
		for _, ind := range sc.Indicators {
			if _, ok := n.indicators[ind.Code]; !ok {
				n.indicators[ind.Code] = ind.Code + " " + pick(en, ind.Name, ind.NameEn)
			}
		}
		for code, name := range scheme.GradeNames(sc.Grades, en) {
			if _, ok := n.grades[code]; !ok {
				n.grades[code] = name
			}
		}
	}
	return n, nil
}

// score is a composite score as tables show it.
func score(n engine.Number) string {
	if !n.Valid {
		return "—"
	}
	return fmt.Sprintf("%.1f", n.Value)
}

// rank is a rank as tables show it; 0 is no rank.
func rank(r int) string {
	if r == 0 {
		return "—"
	}
	return strconv.Itoa(r)
}

// inputValue is a run's input value with its review status; nil is
// absent from the run.
func inputValue(c *fiber.Ctx, in *engine.Value) string {
	switch {
	case in == nil:
		return "—"
	case in.NotApplicable:
		return tr(c, "collect.na") + "（" + tr(c, "value."+string(in.Status)) + "）"
	default:
		return strconv.FormatFloat(in.Number, 'f', -1, 64) + "（" + tr(c, "value."+string(in.Status)) + "）"
	}
}
