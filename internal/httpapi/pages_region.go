package httpapi

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/reports/render"
	"github.com/ipeval/ipeval/surveys"
)

// regionData is one region's dashboard in a run of a cycle.
type regionData struct {
	Cycle  cycles.Cycle
	Run    evaluation.Run
	Region engine.RegionResult
	Graded int
	// Grade names, in the page's language.
	Grade, BandGrade, PathTarget string
	Sentences                    []string
	Rules                        []regionRule
	Steps                        []regionStep
	Blocked                      []string
	// ECharts options, as JSON; Satisfaction and Items are empty without
	// a survey index of the region.
	Radar, Contributions, Trend, Satisfaction, Items string
	// Survey is the region's satisfaction index in the cycle, nil when
	// no accepted survey measured the region.
	Survey *regionSurvey
	// Values are the region's indicator values in the cycle now, in
	// scheme order; Completeness is how far their collection has got, by
	// dimension, and Verified and Applicable sum it up.
	Values               []regionValue
	Completeness         []indicators.Completeness
	Verified, Applicable int
}

// regionSurvey is the region's satisfaction index as the page shows it.
type regionSurvey struct {
	Index, Low, High, Province string
	N, MinSample               int
	// Counts is set when the index rests on a sufficient sample, and so
	// became the region's value.
	Counts bool
}

// regionValue is one indicator of the region with its stored value.
type regionValue struct {
	Code, Name, Unit string
	// Source is the message key of where the value comes from.
	Source string
	// Value is the value as shown (valueText), "" when there is none.
	Value string
	// Status is the message key of the value's state.
	Status, Note, Changed string
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
// Beside the run's results it shows the region's satisfaction survey and
// the state of its indicator values in the cycle as they are now.
func (s *Server) regionPage(c *fiber.Ctx, p auth.Principal) error {
	code := param(c, "code")
	if !p.CanAccessRegion(code) {
		return fault.With(fault.ErrForbidden, "you may see only your own region", "只能查看本地区的评价结果", nil)
	}
	ch, err := s.chooseRun(c, p)
	if err != nil {
		return err
	}
	d, err := cachedView(s, c, p, ch, "region:"+code, func() (regionData, error) { return s.regionView(c, p, ch, code) })
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "region", "region.title", d)
}

// regionView builds the dashboard of a region in the chosen run.
func (s *Server) regionView(c *fiber.Ctx, p auth.Principal, ch runChoice, code string) (regionData, error) {
	cy := ch.Cycle
	run, res, err := s.chosenResults(c, p, ch)
	if err != nil {
		return regionData{}, err
	}
	rr, ok := res.Region(code)
	if !ok {
		return regionData{}, fmt.Errorf("region %s in run %s: %w", code, run.ID, fault.ErrNotFound)
	}
	sc, err := s.runScheme(c, run)
	if err != nil {
		return regionData{}, err
	}
	en := lang(c) == "en"
	d := regionData{Cycle: cy, Run: run, Region: *rr}
	gradeName := scheme.GradeNames(res.Grades, en)
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
		return regionData{}, err
	}
	slots := []chartSlot{
		{&d.Radar, func() ([]byte, error) { return render.RadarOption(sc, res, code) }},
		{&d.Contributions, func() ([]byte, error) { return render.ContributionsOption(sc, *rr) }},
		{&d.Trend, func() ([]byte, error) { return render.TrendOption(trend) }},
	}
	sat, err := s.satisfaction(c, p, cy.ID, *rr, en)
	if err != nil {
		return regionData{}, err
	}
	if sat != nil {
		d.Survey = sat.survey
		slots = append(slots,
			chartSlot{&d.Satisfaction, func() ([]byte, error) { return render.SatisfactionOption(sat.chart) }},
			chartSlot{&d.Items, func() ([]byte, error) { return render.ItemMeansOption(rr.Name, sat.items) }})
	}
	if err := fillCharts(slots...); err != nil {
		return regionData{}, err
	}
	return d, s.regionValues(c, p, cy.ID, sc, *rr, &d)
}

// satisfied is a region's satisfaction index for its page and its
// charts.
type satisfied struct {
	survey *regionSurvey
	chart  render.Satisfaction
	items  []render.ItemMean
}

// satisfaction reads the region's satisfaction index in the cycle and the
// province means beside it, for the page and its two charts. It is nil,
// with no error, when no accepted survey gave the region a valid
// response.
func (s *Server) satisfaction(c *fiber.Ctx, p auth.Principal, cycleID string, rr engine.RegionResult, en bool) (*satisfied, error) {
	ctx := c.UserContext()
	all, err := s.deps.Surveys.CycleIndices(ctx, p, cycleID)
	if err != nil {
		return nil, err
	}
	own, ok := surveys.RegionOf(all, rr.Code)
	if !ok || own.Mean == nil {
		return nil, nil
	}
	prov, err := s.deps.Surveys.ProvinceIndex(ctx, p, cycleID)
	if err != nil {
		return nil, err
	}
	mean := *own.Mean
	low, high := cmp.Or(own.CILow, &mean), cmp.Or(own.CIHigh, &mean)
	out := &satisfied{
		survey: &regionSurvey{Index: fmt.Sprintf("%.1f", mean), Low: fmt.Sprintf("%.1f", *low), High: fmt.Sprintf("%.1f", *high),
			Province: "—", N: own.N, MinSample: own.MinSample, Counts: own.Counts()},
		chart: render.Satisfaction{Region: rr.Name, Index: mean, Low: *low, High: *high, Province: prov.Mean},
	}
	switch {
	case prov.Mean != nil:
		out.survey.Province = fmt.Sprintf("%.1f", *prov.Mean)
	case prov.Withheld:
		out.survey.Province = view{Lang: lang(c)}.T("region.toofew")
	}
	ownItem := make(map[string]*float64, len(own.Items))
	for _, im := range own.Items {
		ownItem[im.Code] = im.Mean
	}
	for _, it := range prov.Items {
		out.items = append(out.items, render.ItemMean{Label: pick(en, it.Text, it.TextEn), Region: ownItem[it.Code], Province: it.Mean})
	}
	return out, nil
}

// regionValues fills in the region's indicator values in the cycle as
// they stand now, and how complete they are.
func (s *Server) regionValues(c *fiber.Ctx, p auth.Principal, cycleID string, sc scheme.Scheme, rr engine.RegionResult, d *regionData) error {
	ctx := c.UserContext()
	comp, err := s.deps.Values.Completeness(ctx, p, cycleID)
	if err != nil {
		return err
	}
	for _, row := range comp {
		if row.RegionCode == rr.Code {
			d.Completeness = append(d.Completeness, row)
			d.Verified += row.Verified
			d.Applicable += row.Total - row.NotApplicable
		}
	}
	vals, err := s.deps.Values.List(ctx, p, cycleID, rr.Code)
	if err != nil {
		return err
	}
	byCode := make(map[string]indicators.Value, len(vals))
	for _, v := range vals {
		byCode[v.IndicatorCode] = v
	}
	en := lang(c) == "en"
	for _, ind := range sc.Indicators {
		row := regionValue{Code: ind.Code, Name: pick(en, ind.Name, ind.NameEn), Unit: ind.Unit, Source: "region.reported", Status: "collect.missing"}
		if ind.SurveySourced() {
			row.Source = "region.surveyed"
		}
		v, ok := byCode[ind.Code]
		switch {
		case ok:
			row.Status, row.Note, row.Changed = "value."+string(v.Status), v.Note, v.UpdatedAt.UTC().Format("2006-01-02 15:04")
			row.Value = valueText(c, v)
		case !sc.AppliesTo(ind, rr.Kind):
			row.Status = "collect.na"
		}
		d.Values = append(d.Values, row)
	}
	return nil
}

// valueText is a stored value as the dashboard shows it: the number as
// entered, or a survey index to two decimals with its confidence
// interval, or the region's statement that the indicator does not apply.
func valueText(c *fiber.Ctx, v indicators.Value) string {
	switch {
	case v.NotApplicable:
		return tr(c, "collect.na")
	case v.Number == nil:
		return ""
	case v.CILower != nil && v.CIUpper != nil:
		return fmt.Sprintf("%.2f [%.2f, %.2f]", *v.Number, *v.CILower, *v.CIUpper)
	default:
		return strconv.FormatFloat(*v.Number, 'f', -1, 64)
	}
}

// trend is a region's score in every cycle with a published run, oldest
// first.
func (s *Server) trend(c *fiber.Ctx, p auth.Principal, code string) ([]render.TrendPoint, error) {
	ctx := c.UserContext()
	cs, err := s.deps.Cycles.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []render.TrendPoint
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
				out = append(out, render.TrendPoint{Year: cy.Year, Score: rr.Score.Value, Grade: scheme.GradeNames(res.Grades, false)[rr.Grade]})
			}
		}
	}
	slices.SortFunc(out, func(a, b render.TrendPoint) int { return a.Year - b.Year })
	return out, nil
}

// pathSteps are the possible steps of a path, with indicator names and
// units; steps that cannot help are left out.
func pathSteps(sc scheme.Scheme, path *engine.Path, en bool) []regionStep {
	num := func(n engine.Number) string {
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
