package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/reports/render"
)

// Comparison compares two runs of a cycle.
type Comparison struct {
	Cycle    cycles.Cycle
	Runs     []evaluation.Run
	From, To evaluation.Run
	// SchemeChanged is set when the runs were scored with different
	// schemes.
	SchemeChanged bool
	Regions       []ComparedRegion
	Inputs        []ComparedInput
	// Chart is the score changes of the regions in both runs, as an
	// ECharts option; empty when no score changed.
	Chart string
}

// ComparedRegion is a region whose result differs, as the page shows it.
type ComparedRegion struct {
	Code, Name string
	// Presence is both, added (only in To) or removed (only in From).
	Presence                                     evaluation.Presence
	ScoreA, ScoreB, RankA, RankB, GradeA, GradeB string
}

// ComparedInput is an input value that differs.
type ComparedInput struct {
	Region, Indicator string
	A, B              InputText
}

// InputText is a run's input value as the page shows it. Number is the
// number, or "—" when the value is absent from the run; NAKey is the
// message key said instead of the number when the region stated that the
// indicator does not apply; StatusKey is the message key of the value's
// review status, "" when absent.
type InputText struct {
	Number, NAKey, StatusKey string
}

// Compare compares two runs of a cycle, in English when en is set: toID,
// else the run a page opens with, and fromID, else the run before it (see
// comparedPair). The regions whose score, rank or grade changed, the
// regions added or removed, and the inputs that changed. With a single
// run, From is empty and nothing is compared.
func (v *Views) Compare(ctx context.Context, by auth.Principal, cycleID, toID, fromID string, en bool) (Comparison, error) {
	cy, err := v.cycles.Get(ctx, cycleID)
	if err != nil {
		return Comparison{}, err
	}
	list, err := v.runs.List(ctx, by, cy.ID)
	if err != nil {
		return Comparison{}, err
	}
	to, from, err := comparedPair(list, toID, fromID)
	if err != nil {
		return Comparison{}, err
	}
	d := Comparison{Cycle: cy, Runs: list, From: from, To: to}
	if from.ID == "" {
		return d, nil
	}
	diff, err := v.runs.Diff(ctx, by, from.ID, to.ID)
	if err != nil {
		return Comparison{}, err
	}
	d.SchemeChanged = diff.SchemeChanged
	names, err := v.diffNames(ctx, en, from, to)
	if err != nil {
		return Comparison{}, err
	}
	var changes []render.ScoreChange
	for _, r := range diff.Regions {
		d.Regions = append(d.Regions, ComparedRegion{Code: r.Code, Name: r.Name, Presence: r.Presence,
			ScoreA: score(r.ScoreA), ScoreB: score(r.ScoreB), RankA: rank(r.RankA), RankB: rank(r.RankB),
			GradeA: names.grade(r.GradeA), GradeB: names.grade(r.GradeB)})
		if r.Presence == evaluation.PresenceBoth && r.ScoreA.Valid && r.ScoreB.Valid && r.ScoreA.Value != r.ScoreB.Value {
			changes = append(changes, render.ScoreChange{Name: r.Name, From: r.ScoreA.Value, To: r.ScoreB.Value})
		}
	}
	for _, in := range diff.Inputs {
		d.Inputs = append(d.Inputs, ComparedInput{Region: names.region(in.RegionCode), Indicator: names.indicator(in.IndicatorCode),
			A: inputText(in.A), B: inputText(in.B)})
	}
	if len(changes) > 0 {
		b, err := render.ScoreChangesOption(changes)
		if err != nil {
			return Comparison{}, err
		}
		d.Chart = string(b)
	}
	return d, nil
}

// comparedPair picks the runs to compare from a cycle's runs (newest
// first): to is the named run, else the one a page opens with; from is the
// named run, else the run before to (after it when to is the oldest), and
// empty when the cycle has a single run. A named run not of the cycle is
// not found.
func comparedPair(list []evaluation.Run, toID, fromID string) (to, from evaluation.Run, err error) {
	find := func(id string) (int, error) {
		i := slices.IndexFunc(list, func(r evaluation.Run) bool { return r.ID == id })
		if i < 0 {
			return i, fault.With(fault.ErrNotFound, fmt.Sprintf("run %s is not a run of this cycle", id),
				fmt.Sprintf("本考核周期没有评价运行 %s", id), nil)
		}
		return i, nil
	}
	if toID == "" {
		toID = DefaultRun(list)
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
func (v *Views) diffNames(ctx context.Context, en bool, from, to evaluation.Run) (diffNames, error) {
	n := diffNames{regions: map[string]string{}, indicators: map[string]string{}, grades: map[string]string{}}
	rs, err := v.regions.List(ctx)
	if err != nil {
		return n, err
	}
	for _, r := range rs {
		n.regions[r.Code] = r.Name
	}
	for _, run := range []evaluation.Run{to, from} {
		sc, err := v.runScheme(ctx, run)
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

// rank is a rank as tables show it; 0 is no rank.
func rank(r int) string {
	if r == 0 {
		return "—"
	}
	return strconv.Itoa(r)
}

// inputText is a run's input value with its review status; nil is absent
// from the run.
func inputText(in *engine.Value) InputText {
	switch {
	case in == nil:
		return InputText{Number: "—"}
	case in.NotApplicable:
		return InputText{NAKey: "collect.na", StatusKey: "value." + string(in.Status)}
	default:
		return InputText{Number: strconv.FormatFloat(in.Number, 'f', -1, 64), StatusKey: "value." + string(in.Status)}
	}
}
