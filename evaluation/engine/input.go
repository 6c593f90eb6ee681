package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
)

// EngineVersion identifies the scoring semantics. A run records it; it
// changes whenever the same inputs could give different results.
const EngineVersion = "1"

// Region is one assessed region (评价对象).
type Region struct {
	Code string    `json:"code"`
	Name string    `json:"name"`
	Kind kind.Kind `json:"kind"`
	// Group, when set, is the peer group used by the group_mean missing-data
	// policy instead of Kind (for example the counties of one city).
	Group string `json:"group,omitempty"`
}

// Value is one indicator value of one region. A value that is absent from
// Input.Values is missing.
type Value struct {
	// Number is the reported value in the indicator's unit; it is ignored
	// when NotApplicable is set.
	Number float64 `json:"number"`
	// NotApplicable is the region's (reviewed) statement that the indicator
	// does not apply to it, for example no industrial park to put a
	// workstation in.
	NotApplicable bool `json:"not_applicable,omitempty"`
	// Status is the review status. Only StatusVerified counts, except for
	// survey-sourced indicators, whose values come from accepted survey
	// batches rather than the review workflow and count whenever given.
	Status ValueStatus `json:"status"`
}

// Input is everything one evaluation reads.
type Input struct {
	Scheme  scheme.Scheme `json:"scheme"`
	Regions []Region      `json:"regions"`
	// Values holds region code → indicator code → value.
	Values map[string]map[string]Value `json:"values"`
	// Intervals holds, for survey-sourced values, region code → indicator
	// code → the 95% confidence interval of the index. Scoring ignores
	// them; a sensitivity analysis may draw the values from them
	// (SensitivityOptions.SurveyIntervals).
	Intervals map[string]map[string]Interval `json:"intervals,omitempty"`
}

// SetInterval records the confidence interval of a region's survey-sourced
// value.
func (in *Input) SetInterval(region, indicator string, iv Interval) {
	if in.Intervals == nil {
		in.Intervals = map[string]map[string]Interval{}
	}
	if in.Intervals[region] == nil {
		in.Intervals[region] = map[string]Interval{}
	}
	in.Intervals[region][indicator] = iv
}

// cell states fixed by Prepare: what the data say, before any option.
const (
	cellAbsent     uint8 = iota // no usable value given
	cellObserved                // a usable number
	cellUnverified              // a number or mark that is not verified: missing
	cellNAMark                  // a verified not-applicable mark
	cellNAKind                  // the indicator does not apply to the region's kind
)

type cell struct {
	x      float64
	state  uint8
	status uint8 // statusCode of an unverified value
}

// Prepared is an input checked and laid out for scoring, with its rules
// already evaluated (rules read the data, which no Option changes). Evaluate
// may be called on it any number of times, concurrently, with different
// Options — the sensitivity analysis does exactly that. A Prepared is never
// modified after Prepare returns.
type Prepared struct {
	scheme  scheme.Scheme
	grades  []scheme.Grade // by Min, highest first
	regions []Region       // by code
	ni, nr  int
	cells   []cell // indicator-major: cells[j*nr+r]
	group   []int  // peer group index of each region
	ngroups int
	fired   [][]FiredRule // per region, in scheme order
	// unscorable lists, per region, the indicators whose values lie beyond
	// ±scheme.MaxMagnitude, in scheme order; nil when there are none
	unscorable [][]string
	// ruleFailed lists, per region, the rules that could not be evaluated
	// for it, in scheme order; nil when there are none
	ruleFailed [][]string
}

// Evaluate scores in with opt; it is Prepare followed by Prepared.Evaluate.
func Evaluate(in Input, opt Options) (Result, error) {
	p, err := Prepare(in)
	if err != nil {
		return Result{}, err
	}
	return p.Evaluate(opt)
}

// Prepare checks in and lays it out for scoring. The scheme must be valid
// (its rules are compiled here); region codes must be unique and non-empty;
// every value must belong to a listed region and a scheme indicator, and a
// value the engine would use must be a finite number that passes the
// indicator's own checks (range, 0/1 for binary, whole counts). Every
// problem is reported in one *fault.ValidationError. The Prepared keeps
// in.Scheme, whose slices the caller must not modify afterwards.
func Prepare(in Input) (*Prepared, error) {
	rules, err := in.Scheme.CompileRules()
	if err != nil {
		return nil, fmt.Errorf("evaluation scheme: %w", err)
	}
	var errs []fault.FieldError
	regions := slices.Clone(in.Regions)
	slices.SortStableFunc(regions, func(a, b Region) int { return strings.Compare(a.Code, b.Code) })
	index := make(map[string]int, len(regions))
	for i, r := range regions {
		switch {
		case strings.TrimSpace(r.Code) == "":
			errs = append(errs, fault.Field("regions", "required", "地区代码不能为空", "region code is required"))
		case i > 0 && regions[i-1].Code == r.Code:
			errs = append(errs, fault.Field("regions["+r.Code+"]", "duplicate_code", "地区代码重复："+r.Code, "duplicate region code: "+r.Code))
		case !r.Kind.Valid():
			errs = append(errs, fault.Field("regions["+r.Code+"].kind", "unknown_kind",
				fmt.Sprintf("未知的地区类型 %q", r.Kind), fmt.Sprintf("unknown region kind %q", r.Kind)))
		}
		index[r.Code] = i
	}
	s := in.Scheme
	ni, nr := len(s.Indicators), len(regions)
	p := &Prepared{scheme: s, regions: regions, ni: ni, nr: nr, cells: make([]cell, nr*ni)}
	p.grades = slices.Clone(s.Grades)
	slices.SortStableFunc(p.grades, func(a, b scheme.Grade) int { return cmp.Compare(b.Min, a.Min) })
	// Applicability depends on the kind only: work it out once per kind.
	applies := map[kind.Kind][]bool{}
	for r, reg := range regions {
		ap, ok := applies[reg.Kind]
		if !ok {
			ap = make([]bool, ni)
			for j := range s.Indicators {
				ap[j] = s.AppliesTo(s.Indicators[j], reg.Kind)
			}
			applies[reg.Kind] = ap
		}
		for j := range ni {
			if !ap[j] {
				p.cells[j*nr+r].state = cellNAKind
			}
		}
	}
	survey := make([]bool, ni)
	for j := range s.Indicators {
		survey[j] = s.Indicators[j].SurveySourced()
	}
	// The outer map is walked in no particular order; only errors are
	// collected on the way, and they are sorted before they are reported.
	for rc, vals := range in.Values {
		r, ok := index[rc]
		if !ok {
			errs = append(errs, fault.Field("values["+rc+"]", "unknown_region", "数据中的地区不在评价对象中："+rc, "values for a region that is not assessed: "+rc))
			continue
		}
		found := 0
		for j := range s.Indicators {
			ind := &s.Indicators[j]
			v, ok := vals[ind.Code]
			if !ok {
				continue
			}
			found++
			c := &p.cells[j*nr+r]
			if c.state == cellNAKind {
				continue // a value for an indicator that cannot apply is ignored
			}
			switch {
			case v.Status != StatusVerified && !survey[j]:
				*c = cell{state: cellUnverified, status: statusCode(v.Status)}
			case v.NotApplicable:
				*c = cell{state: cellNAMark}
			default:
				fe := ind.CheckValue(v.Number)
				if fe != nil && fe.Code == scheme.CodeOutOfScale {
					// Such a value is refused wherever values enter, but
					// one already stored must cost its region, not the run.
					p.markUnscorable(r, j)
					continue
				}
				if fe != nil {
					fe.Field, fe.Indicator = "values["+rc+"]["+ind.Code+"]", ind.Code
					errs = append(errs, *fe)
					continue
				}
				*c = cell{x: v.Number, state: cellObserved}
			}
		}
		if found < len(vals) {
			for ic := range vals {
				if _, ok := s.Indicator(ic); !ok {
					errs = append(errs, fault.FieldError{Field: "values[" + rc + "][" + ic + "]", Indicator: ic, Code: "unknown_indicator",
						Message: "方案中没有该指标：" + ic, MessageEn: "the scheme has no indicator " + ic})
				}
			}
		}
	}
	slices.SortStableFunc(errs, func(a, b fault.FieldError) int { return strings.Compare(a.Field, b.Field) })
	if err := fault.Invalid(errs...); err != nil {
		return nil, fmt.Errorf("evaluation input: %w", err)
	}
	p.groupRegions()
	if err := p.evalRules(rules); err != nil {
		return nil, err
	}
	return p, nil
}

// markUnscorable records that the value of indicator j for region r is
// beyond ±scheme.MaxMagnitude; its cell stays absent.
func (p *Prepared) markUnscorable(r, j int) {
	if p.unscorable == nil {
		p.unscorable = make([][]string, p.nr)
	}
	// Indicators are walked in scheme order, so the list is in it too.
	p.unscorable[r] = append(p.unscorable[r], p.scheme.Indicators[j].Code)
}

// groupRegions numbers the peer groups of group_mean imputation: Group when
// set, otherwise Kind.
func (p *Prepared) groupRegions() {
	p.group = make([]int, len(p.regions))
	ids := map[string]int{}
	for r, reg := range p.regions {
		key := "k:" + string(reg.Kind)
		if reg.Group != "" {
			key = "g:" + reg.Group
		}
		id, ok := ids[key]
		if !ok {
			id = len(ids)
			ids[key] = id
		}
		p.group[r] = id
	}
	p.ngroups = len(ids)
}

// evalRules runs every rule for every region once. A rule sees the data as
// the engine does: a verified (or survey) number, not applicable, or
// missing — an unverified value is missing, and an imputed value is never
// shown to a rule.
func (p *Prepared) evalRules(rules []scheme.CompiledRule) error {
	p.fired = make([][]FiredRule, len(p.regions))
	if len(rules) == 0 {
		return nil
	}
	reads := ruleReads(p.scheme, rules)
	for r := range p.regions {
		fired, failed := p.regionRules(rules, reads, r)
		p.fired[r] = fired
		if len(failed) > 0 {
			if p.ruleFailed == nil {
				p.ruleFailed = make([][]string, len(p.regions))
			}
			p.ruleFailed[r] = failed
		}
	}
	return nil
}

// regionRules evaluates the rules for region r, handing them the
// indicators at reads as evalRules describes. It returns the rules that
// fired and the ids of those that failed (ran out of their budget, say),
// which cost the region its grade, not the run.
func (p *Prepared) regionRules(rules []scheme.CompiledRule, reads []int, r int) (fired []FiredRule, failed []string) {
	reg := p.regions[r]
	in := scheme.RuleInput{RegionCode: reg.Code, Kind: reg.Kind, Values: make(map[string]scheme.Value, len(reads))}
	for _, j := range reads {
		c := p.cells[j*p.nr+r]
		v := scheme.Value{}
		switch c.state {
		case cellObserved:
			v.Number = c.x
		case cellNAKind, cellNAMark:
			v.NotApplicable = true
		default:
			v.Missing = true
		}
		in.Values[p.scheme.Indicators[j].Code] = v
	}
	for _, rule := range rules {
		ok, read, err := rule.Eval(in)
		if err != nil {
			failed = append(failed, rule.ID)
			continue
		}
		if ok {
			fired = append(fired, FiredRule{ID: rule.ID, Basis: rule.Basis, BasisEn: rule.BasisEn,
				Message: rule.Message, MessageEn: rule.MessageEn, Effects: rule.Effects, Read: read})
		}
	}
	return fired, failed
}

// ruleReads returns the indexes of the indicators whose codes occur as a
// word in some rule's condition: a superset of what the rules read, since a
// rule can name an indicator only literally (scheme validation refuses
// computed names and $env). Only these are handed to the rules, so that a
// region's rule input is small.
func ruleReads(s scheme.Scheme, rules []scheme.CompiledRule) []int {
	words := map[string]bool{}
	for _, r := range rules {
		for _, w := range strings.FieldsFunc(r.When, func(c rune) bool {
			return !(c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')
		}) {
			words[w] = true
		}
	}
	var out []int
	for j, ind := range s.Indicators {
		if words[ind.Code] {
			out = append(out, j)
		}
	}
	return out
}

// finite reports whether x is a real number.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
