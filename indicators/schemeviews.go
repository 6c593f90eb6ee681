package indicators

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// SchemeViews assembles the manager's scheme pages: the list of stored
// versions, one version as the office's 细则 table, and what changed
// between two versions.
type SchemeViews struct {
	schemes *SchemeStore
	cycles  CycleLister
}

// NewSchemeViews returns the scheme pages' view models over the stores.
func NewSchemeViews(schemes *SchemeStore, cs CycleLister) *SchemeViews {
	return &SchemeViews{schemes: schemes, cycles: cs}
}

// SchemeRow is a stored version as the list shows it: the cycles assessed
// with it and whether one of them has been scored, which makes the version
// immutable (an edit becomes a new version).
type SchemeRow struct {
	StoredScheme
	Cycles []cycles.Cycle
	Scored bool
}

// List returns every stored version, by code and newest version first,
// with the cycles that use each.
func (v *SchemeViews) List(ctx context.Context) ([]SchemeRow, error) {
	ss, err := v.schemes.List(ctx)
	if err != nil {
		return nil, err
	}
	uses, err := v.uses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SchemeRow, len(ss))
	for i, st := range ss {
		out[i] = rowOf(st, uses[st.ID])
	}
	return out, nil
}

// uses maps scheme ids to the cycles assessed with them.
func (v *SchemeViews) uses(ctx context.Context) (map[string][]cycles.Cycle, error) {
	cs, err := v.cycles.List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]cycles.Cycle{}
	for _, cy := range cs {
		if cy.SchemeID != nil {
			out[*cy.SchemeID] = append(out[*cy.SchemeID], cy)
		}
	}
	return out, nil
}

func rowOf(st StoredScheme, cs []cycles.Cycle) SchemeRow {
	r := SchemeRow{StoredScheme: st, Cycles: cs}
	r.Scored = slices.ContainsFunc(cs, func(cy cycles.Cycle) bool {
		return cy.Status != cycles.Draft && cy.Status != cycles.Collecting
	})
	return r
}

// SchemeDetail is one version as the office's 细则 (detailed rules) table:
// 一级指标 with their weights, each with its 二级指标, then the indicators
// collected only for rules, the grade bands and the rules.
type SchemeDetail struct {
	SchemeRow
	Scheme     scheme.Scheme
	Dimensions []DimensionView
	// Unscored are indicators of weight 0: collected for the rules only.
	Unscored []IndicatorView
	Grades   []GradeView
	Rules    []RuleView
	// Others are the other stored versions, to compare this one with.
	Others []StoredScheme
}

// DimensionView is a 一级指标: its weight as written and its share of the
// total score in points (of 100).
type DimensionView struct {
	scheme.Dimension
	Points     float64
	Indicators []IndicatorView
}

// IndicatorView is a 二级指标 in words: its weight as written, its share of
// the total in points when it applies to a region (regions to which some
// indicators do not apply share their weight among the rest), and its
// scoring rule, valid range, source, missing-data policy and kinds of
// region in Chinese and English.
type IndicatorView struct {
	scheme.Indicator
	Points    float64
	Rule      scheme.Words
	Range     scheme.Words
	Source    scheme.Words
	Missing   scheme.Words
	AppliesTo scheme.Words
}

// GradeView is a grade band: from Min up to (not including) Max, the
// next band's Min; the top band has no Max.
type GradeView struct {
	scheme.Grade
	Max    float64
	HasMax bool
}

// RuleView is a rule with its effects in words.
type RuleView struct {
	scheme.Rule
	Effects scheme.Words
}

// Detail returns the version id as the 细则 table.
func (v *SchemeViews) Detail(ctx context.Context, id string) (SchemeDetail, error) {
	st, err := v.schemes.Get(ctx, id)
	if err != nil {
		return SchemeDetail{}, err
	}
	sc, err := v.schemes.Decode(st)
	if err != nil {
		return SchemeDetail{}, err
	}
	uses, err := v.uses(ctx)
	if err != nil {
		return SchemeDetail{}, err
	}
	all, err := v.schemes.List(ctx)
	if err != nil {
		return SchemeDetail{}, err
	}
	d := DetailOf(sc)
	d.SchemeRow = rowOf(st, uses[st.ID])
	d.Others = slices.DeleteFunc(all, func(o StoredScheme) bool { return o.ID == st.ID })
	return d, nil
}

// DetailOf lays out sc as the 细则 table; the stored version's facts
// (SchemeRow, Others) are left for Detail.
func DetailOf(sc scheme.Scheme) SchemeDetail {
	d := SchemeDetail{Scheme: sc}
	dimTotal, indTotal := 0.0, map[string]float64{}
	for _, dim := range sc.Dimensions {
		dimTotal += dim.Weight
	}
	for _, ind := range sc.Indicators {
		indTotal[ind.Dimension] += ind.Weight
	}
	at := map[string]int{}
	for i, dim := range sc.Dimensions {
		at[dim.Code] = i
		d.Dimensions = append(d.Dimensions, DimensionView{Dimension: dim, Points: points(dim.Weight, dimTotal, 100)})
	}
	for _, ind := range sc.Indicators {
		i, ok := at[ind.Dimension]
		if !ok || ind.Weight == 0 {
			d.Unscored = append(d.Unscored, indicatorView(sc, ind, 0))
			continue
		}
		dv := &d.Dimensions[i]
		dv.Indicators = append(dv.Indicators, indicatorView(sc, ind, points(ind.Weight, indTotal[ind.Dimension], dv.Points)))
	}
	for i, g := range sc.Grades { // highest first, as Parse orders them
		gv := GradeView{Grade: g}
		if i > 0 {
			gv.Max, gv.HasMax = sc.Grades[i-1].Min, true
		}
		d.Grades = append(d.Grades, gv)
	}
	for _, r := range sc.Rules {
		d.Rules = append(d.Rules, RuleView{Rule: r, Effects: scheme.EffectWords(r.Effects, sc.Grades)})
	}
	return d
}

// points is part's share of total, out of of, to two decimals.
func points(part, total, of float64) float64 {
	if total <= 0 {
		return 0
	}
	return math.Round(part/total*of*100) / 100
}

func indicatorView(sc scheme.Scheme, ind scheme.Indicator, pts float64) IndicatorView {
	iv := IndicatorView{Indicator: ind, Points: pts,
		Rule:   scheme.ScoringRule(ind, sc.OutlierTreatment),
		Range:  scheme.RangeWords(ind),
		Source: scheme.SourceWords(ind.Source), Missing: scheme.MissingRule(ind.Missing)}
	if len(ind.AppliesTo) > 0 {
		zh, en := make([]string, len(ind.AppliesTo)), make([]string, len(ind.AppliesTo))
		for i, k := range ind.AppliesTo {
			zh[i], en[i] = k.Name(), string(k)
		}
		iv.AppliesTo = scheme.Words{Zh: strings.Join(zh, "、"), En: strings.Join(en, ", ")}
	}
	return iv
}

// SchemeDiff is what changed from one stored version to another.
type SchemeDiff struct {
	From, To StoredScheme
	Changes  []scheme.Change
	// Others are the versions the page offers to compare From with.
	Others []StoredScheme
}

// Diff compares version from with version to.
func (v *SchemeViews) Diff(ctx context.Context, from, to string) (SchemeDiff, error) {
	var d SchemeDiff
	var scs [2]scheme.Scheme
	for i, id := range []string{from, to} {
		st, err := v.schemes.Get(ctx, id)
		if err != nil {
			return d, err
		}
		if scs[i], err = v.schemes.Decode(st); err != nil {
			return d, err
		}
		if i == 0 {
			d.From = st
		} else {
			d.To = st
		}
	}
	all, err := v.schemes.List(ctx)
	if err != nil {
		return d, err
	}
	d.Changes = scheme.Diff(scs[0], scs[1])
	d.Others = slices.DeleteFunc(all, func(o StoredScheme) bool { return o.ID == from })
	return d, nil
}
