package reports

import (
	"cmp"
	"context"
	"fmt"
	"strconv"

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

// Dashboard is one region's dashboard in a run of a cycle.
type Dashboard struct {
	Cycle  cycles.Cycle
	Run    evaluation.Run
	Region engine.RegionResult
	Graded int
	// Grade names, in the page's language.
	Grade, BandGrade, PathTarget string
	Sentences                    []string
	Rules                        []DashboardRule
	Steps                        []DashboardStep
	Blocked                      []string
	// ECharts options, as JSON; Satisfaction and Items are empty without
	// a survey index of the region.
	Radar, Contributions, Trend, Satisfaction, Items string
	// Survey is the region's satisfaction index in the cycle, nil when
	// no accepted survey measured the region.
	Survey *DashboardSurvey
	// Values are the region's indicator values in the cycle now, in
	// scheme order; Completeness is how far their collection has got, by
	// dimension, and Verified and Applicable sum it up.
	Values               []DashboardValue
	Completeness         []indicators.Completeness
	Verified, Applicable int
}

// DashboardSurvey is the region's satisfaction index as the page shows it.
type DashboardSurvey struct {
	Index, Low, High, Province string
	// ProvinceKey is the message key said instead of Province when the
	// province's mean is withheld; "" otherwise.
	ProvinceKey  string
	N, MinSample int
	// Counts is set when the index rests on a sufficient sample, and so
	// became the region's value.
	Counts bool
}

// DashboardValue is one indicator of the region with its stored value.
type DashboardValue struct {
	Code, Name, Unit string
	// Source is the message key of where the value comes from.
	Source string
	// Value is the value as shown (valueText), "" when there is none;
	// ValueKey is the message key said instead, when the region stated
	// that the indicator does not apply.
	Value, ValueKey string
	// Status is the message key of the value's state.
	Status, Note, Changed string
}

// DashboardRule is a fired rule as the page shows it.
type DashboardRule struct{ ID, Basis, Message string }

// DashboardStep is one step of the path to the next grade.
type DashboardStep struct {
	Indicator, Unit      string
	From, Target, Change string
	Possible             bool
}

// Dashboard builds the dashboard of a region in the chosen run, in
// English when en is set: the run's result of the region, its trend over
// the published runs, its satisfaction survey and the state of its
// indicator values in the cycle as they are now. The caller has checked
// that by may see the region.
func (v *Views) Dashboard(ctx context.Context, by auth.Principal, ch RunChoice, code string, en bool) (Dashboard, error) {
	run, res, sc, err := v.results(ctx, by, ch)
	if err != nil {
		return Dashboard{}, err
	}
	rr, ok := res.Region(code)
	if !ok {
		return Dashboard{}, fmt.Errorf("region %s in run %s: %w", code, run.ID, fault.ErrNotFound)
	}
	d := Dashboard{Cycle: ch.Cycle, Run: run, Region: *rr}
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
		d.Rules = append(d.Rules, DashboardRule{ID: fr.ID, Basis: pick(en, fr.Basis, fr.BasisEn), Message: pick(en, fr.Message, fr.MessageEn)})
	}
	if rr.Path != nil {
		d.PathTarget = gradeName[rr.Path.Target]
		d.Steps = pathSteps(sc, rr.Path, en)
		for _, b := range rr.Path.Blocked {
			d.Blocked = append(d.Blocked, pick(en, b.Statement, b.StatementEn))
		}
	}
	trend, err := v.trend(ctx, by, code)
	if err != nil {
		return Dashboard{}, err
	}
	slots := []chartSlot{
		{&d.Radar, func() ([]byte, error) { return render.RadarOption(sc, res, code) }},
		{&d.Contributions, func() ([]byte, error) { return render.ContributionsOption(sc, *rr) }},
		{&d.Trend, func() ([]byte, error) { return render.TrendOption(trend) }},
	}
	sat, err := v.satisfaction(ctx, by, ch.Cycle.ID, *rr, en)
	if err != nil {
		return Dashboard{}, err
	}
	if sat != nil {
		d.Survey = sat.survey
		slots = append(slots,
			chartSlot{&d.Satisfaction, func() ([]byte, error) { return render.SatisfactionOption(sat.chart) }},
			chartSlot{&d.Items, func() ([]byte, error) { return render.ItemMeansOption(rr.Name, sat.items) }})
	}
	if err := fillCharts(slots...); err != nil {
		return Dashboard{}, err
	}
	return d, v.regionValues(ctx, by, ch.Cycle.ID, sc, *rr, en, &d)
}

// satisfied is a region's satisfaction index for its page and its
// charts.
type satisfied struct {
	survey *DashboardSurvey
	chart  render.Satisfaction
	items  []render.ItemMean
}

// satisfaction reads the region's satisfaction index in the cycle and the
// province means beside it, for the page and its two charts. It is nil,
// with no error, when no accepted survey gave the region a valid
// response.
func (v *Views) satisfaction(ctx context.Context, by auth.Principal, cycleID string, rr engine.RegionResult, en bool) (*satisfied, error) {
	all, err := v.surveys.CycleIndices(ctx, by, cycleID)
	if err != nil {
		return nil, err
	}
	own, ok := surveys.RegionOf(all, rr.Code)
	if !ok || own.Mean == nil {
		return nil, nil
	}
	prov, err := v.surveys.ProvinceIndex(ctx, by, cycleID)
	if err != nil {
		return nil, err
	}
	mean := *own.Mean
	low, high := cmp.Or(own.CILow, &mean), cmp.Or(own.CIHigh, &mean)
	out := &satisfied{
		survey: &DashboardSurvey{Index: fmt.Sprintf("%.1f", mean), Low: fmt.Sprintf("%.1f", *low), High: fmt.Sprintf("%.1f", *high),
			Province: "—", N: own.N, MinSample: own.MinSample, Counts: own.Counts()},
		chart: render.Satisfaction{Region: rr.Name, Index: mean, Low: *low, High: *high, Province: prov.Mean},
	}
	switch {
	case prov.Mean != nil:
		out.survey.Province = fmt.Sprintf("%.1f", *prov.Mean)
	case prov.Withheld:
		out.survey.ProvinceKey = "region.toofew"
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
func (v *Views) regionValues(ctx context.Context, by auth.Principal, cycleID string, sc scheme.Scheme, rr engine.RegionResult, en bool, d *Dashboard) error {
	comp, err := v.values.Completeness(ctx, by, cycleID)
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
	vals, err := v.values.List(ctx, by, cycleID, rr.Code)
	if err != nil {
		return err
	}
	byCode := make(map[string]indicators.Value, len(vals))
	for _, val := range vals {
		byCode[val.IndicatorCode] = val
	}
	for _, ind := range sc.Indicators {
		row := DashboardValue{Code: ind.Code, Name: pick(en, ind.Name, ind.NameEn), Unit: ind.Unit, Source: "region.reported", Status: "collect.missing"}
		if ind.SurveySourced() {
			row.Source = "region.surveyed"
		}
		val, ok := byCode[ind.Code]
		switch {
		case ok:
			row.Status, row.Note, row.Changed = "value."+string(val.Status), val.Note, val.UpdatedAt.UTC().Format("2006-01-02 15:04")
			row.Value = valueText(val)
			if val.NotApplicable {
				row.ValueKey = "collect.na"
			}
		case !sc.AppliesTo(ind, rr.Kind):
			row.Status = "collect.na"
		}
		d.Values = append(d.Values, row)
	}
	return nil
}

// valueText is a stored number as the dashboard shows it: as entered, or
// a survey index to two decimals with its confidence interval; "" for
// none, or for the region's statement that the indicator does not apply
// (which the page says in words).
func valueText(v indicators.Value) string {
	switch {
	case v.NotApplicable, v.Number == nil:
		return ""
	case v.CILower != nil && v.CIUpper != nil:
		return fmt.Sprintf("%.2f [%.2f, %.2f]", *v.Number, *v.CILower, *v.CIUpper)
	default:
		return strconv.FormatFloat(*v.Number, 'f', -1, 64)
	}
}

// trend is a region's score in every cycle with a published run, oldest
// first, from one read of the published runs.
func (v *Views) trend(ctx context.Context, by auth.Principal, code string) ([]render.TrendPoint, error) {
	hist, err := v.runs.RegionHistory(ctx, by, code)
	if err != nil {
		return nil, err
	}
	var out []render.TrendPoint
	for _, y := range hist {
		if y.Region.Score.Valid {
			out = append(out, render.TrendPoint{Year: y.Year, Score: y.Region.Score.Value, Grade: scheme.GradeNames(y.Grades, false)[y.Region.Grade]})
		}
	}
	return out, nil
}

// pathSteps are the possible steps of a path, with indicator names and
// units; steps that cannot help are left out.
func pathSteps(sc scheme.Scheme, path *engine.Path, en bool) []DashboardStep {
	num := func(n engine.Number) string {
		if !n.Valid {
			return "—"
		}
		return fmt.Sprintf("%.2f", n.Value)
	}
	var out []DashboardStep
	for _, st := range path.Steps {
		if !st.Possible {
			continue
		}
		step := DashboardStep{Indicator: st.Indicator, From: num(st.From), Target: num(st.Target), Change: num(st.Change), Possible: true}
		if ind, ok := sc.Indicator(st.Indicator); ok {
			step.Indicator = st.Indicator + " " + pick(en, ind.Name, ind.NameEn)
			step.Unit = ind.Unit
		}
		out = append(out, step)
	}
	return out
}
