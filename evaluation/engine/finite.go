package engine

import (
	"fmt"
	"slices"
	"strings"
)

// The engine never lets a non-finite number out: encoding/json refuses NaN
// and ±Inf, so one would make a whole run unstorable. Values beyond
// ±scheme.MaxMagnitude (which every entry path refuses, but which a file
// or an older database may still hold) make their region unscorable in
// Prepare; whatever else overflows on the way is caught by the checks
// here and costs the region it concerns, never the run.

// problemUnscorable is the code of the Problem of an unscorable region.
const problemUnscorable = "unscorable"

// unscorableProblem names the indicators whose numbers could not be scored.
func unscorableProblem(codes []string) *Problem {
	list := strings.Join(codes, ", ")
	return &Problem{Code: problemUnscorable,
		Message: fmt.Sprintf("指标 %s 的数值超出可计分范围（绝对值大于 1e15，或计算中溢出），该地区不计算得分、不排名、不评定等次；请核对该数据",
			strings.Join(codes, "、")),
		MessageEn: fmt.Sprintf("the value of indicator %s cannot be scored (its magnitude exceeds 1e15, or a computation overflowed), so the region gets no score, rank or grade; check that value",
			list)}
}

// unscorableRegion reports whether Prepare found region r unscorable: a
// value out of scale or a rule that failed for it.
func (p *Prepared) unscorableRegion(r int) bool {
	return len(p.unscorable) > 0 && len(p.unscorable[r]) > 0 || len(p.ruleFailed) > 0 && len(p.ruleFailed[r]) > 0
}

// markUnscorable records that indicator code makes region r unscorable in
// this run.
func (e *run) markUnscorable(r int, code string) {
	if e.bad == nil {
		e.bad = make([][]string, len(e.res))
	}
	if !slices.Contains(e.bad[r], code) {
		e.bad[r] = append(e.bad[r], code)
	}
}

// unscorableCodes lists what makes region r unscorable: the indicators
// Prepare found out of scale and those whose numbers overflowed in this
// run, in scheme order; nil when the region can be scored.
func (e *run) unscorableCodes(r int) []string {
	var bad []string
	if e.bad != nil {
		bad = e.bad[r]
	}
	if len(e.p.unscorable) == 0 || len(e.p.unscorable[r]) == 0 {
		return bad
	}
	if len(bad) == 0 {
		return e.p.unscorable[r]
	}
	out := slices.Clone(e.p.unscorable[r])
	for _, c := range bad {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// ruleProblem names the rules that could not be evaluated for a region.
func ruleProblem(ids []string) *Problem {
	return &Problem{Code: "rule_failed",
		Message: fmt.Sprintf("规则 %s 无法对该地区求值（超出计算资源预算或求值出错），该地区不计算得分、不排名、不评定等次；请检查并简化该规则",
			strings.Join(ids, "、")),
		MessageEn: fmt.Sprintf("rule %s could not be evaluated for this region (it exceeded its resource budget or failed), so the region gets no score, rank or grade; check and simplify the rule",
			strings.Join(ids, ", "))}
}

// setUnscorable gives region r no score, rank or grade, and problem; every
// number of its result is left finite.
func (e *run) setUnscorable(r int, problem *Problem) {
	rr := &e.res[r]
	rr.Status, rr.Error, rr.Score = StatusUnscorable, problem, Number{}
	e.comp[r], e.logComp[r], e.band[r], e.final[r] = 0, 0, -1, -1
	if !finite(rr.Coverage) {
		rr.Coverage = 0
	}
	for d := range rr.Dimensions {
		dr := &rr.Dimensions[d]
		dr.Weight, dr.Score, dr.Contribution = 0, Number{}, 0
	}
	for j := range rr.Indicators {
		ir := &rr.Indicators[j]
		ir.Weight, ir.Contribution = 0, 0
		ir.Raw, ir.Value, ir.Z, ir.Score = finiteOr(ir.Raw), finiteOr(ir.Value), finiteOr(ir.Z), finiteOr(ir.Score)
	}
}

// finiteOr returns n, or null when n is not a finite number.
func finiteOr(n Number) Number {
	if n.Valid && !finite(n.Value) {
		return Number{}
	}
	return n
}

// checkRegion makes region r unscorable, after its aggregation, when
// Prepare or normalising found it so, when any of its numbers is not
// finite (the indicators whose numbers overflowed are named), or when a
// rule could not be evaluated for it (the rules are named).
func (e *run) checkRegion(r int) {
	rr := &e.res[r]
	codes := e.unscorableCodes(r)
	for j := range rr.Indicators {
		ir := &rr.Indicators[j]
		if !finite(ir.Weight) || !finite(ir.Contribution) || !finiteNum(ir.Raw) || !finiteNum(ir.Value) ||
			!finiteNum(ir.Z) || !finiteNum(ir.Score) {
			if !slices.Contains(codes, ir.Code) {
				codes = append(slices.Clip(codes), ir.Code)
			}
		}
	}
	whole := finite(rr.Coverage) && finiteNum(rr.Score)
	for _, dr := range rr.Dimensions {
		whole = whole && finite(dr.Weight) && finiteNum(dr.Score) && finite(dr.Contribution)
	}
	if !whole && len(codes) == 0 {
		// The composite overflowed without one indicator to blame: name
		// the scored ones.
		for _, ir := range rr.Indicators {
			if ir.Weight > 0 {
				codes = append(codes, ir.Code)
			}
		}
	}
	switch {
	case len(codes) > 0 || !whole:
		e.setUnscorable(r, unscorableProblem(codes))
	case len(e.p.ruleFailed) > 0 && len(e.p.ruleFailed[r]) > 0:
		// Grading without a rule that may veto would be wrong.
		e.setUnscorable(r, ruleProblem(e.p.ruleFailed[r]))
	}
}

func finiteNum(n Number) bool { return !n.Valid || finite(n.Value) }

// finite reports whether normalising can use the statistics of an
// indicator: its range, mean and sum of squares must be finite.
func (st *indStats) finite() bool {
	return st.n == 0 || finite(st.max1-st.min1) && finite(st.mean) && finite(st.ss)
}

// checkPath turns a path step whose numbers overflowed into an impossible
// one: the value it would need lies beyond any valid value.
func checkPath(p *Path) {
	if p == nil {
		return
	}
	if !finite(p.Gap) {
		p.Gap = 0
	}
	for k := range p.Steps {
		s := &p.Steps[k]
		if finiteNum(s.From) && finiteNum(s.Target) && finiteNum(s.Change) && finiteNum(s.Score) && finite(s.ScoreNow) {
			continue
		}
		s.Possible, s.Reason, s.Exceed = false, ReasonOutOfRange, false
		s.From, s.Target, s.Change, s.Score = finiteOr(s.From), Number{}, Number{}, finiteOr(s.Score)
		if !finite(s.ScoreNow) {
			s.ScoreNow = 0
		}
	}
}

// checkSummary clears the statistics of an indicator that are not finite
// (never expected with values within ±scheme.MaxMagnitude).
func checkSummary(s *IndicatorSummary) {
	s.Min, s.Max, s.Mean, s.SD = finiteOr(s.Min), finiteOr(s.Max), finiteOr(s.Mean), finiteOr(s.SD)
	if t := s.Treatment; t != nil {
		for _, f := range []*float64{&t.Skewness, &t.Kurtosis, &t.SkewnessAfter, &t.KurtosisAfter} {
			if !finite(*f) {
				*f = 0
			}
		}
		t.Points = slices.DeleteFunc(t.Points, func(p TreatedPoint) bool { return !finite(p.Raw) || !finite(p.Treated) })
	}
}

// checkRead replaces a number a rule read that is not finite by null.
func checkRead(read map[string]any) {
	for k, v := range read {
		if x, ok := v.(float64); ok && !finite(x) {
			read[k] = nil
		}
	}
}
