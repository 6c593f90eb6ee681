package render

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/disclosure"
)

// Where a region stands among its peers, for its report page: the
// percentile of each reported score and the strengths and weaknesses.

// percentiles holds, per scored indicator, the sorted normalised scores of
// the regions whose verified (or survey) value was used, and their raw
// values: a region is placed among its peers by what it reported, never
// by an imputed value.
type percentiles struct {
	scores map[string][]float64
	raws   map[string][]float64
}

// observed reports whether ir is a reported value that was scored.
func observed(ir engine.IndicatorResult) bool {
	return ir.Scored && ir.Observed && !ir.NotApplicable && ir.Score.Valid && ir.Raw.Valid
}

func newPercentiles(res engine.Result) percentiles {
	p := percentiles{scores: map[string][]float64{}, raws: map[string][]float64{}}
	for _, r := range res.Regions {
		for _, ir := range r.Indicators {
			if observed(ir) {
				p.scores[ir.Code] = append(p.scores[ir.Code], ir.Score.Value)
				p.raws[ir.Code] = append(p.raws[ir.Code], ir.Raw.Value)
			}
		}
	}
	for code := range p.scores {
		slices.Sort(p.scores[code])
		slices.Sort(p.raws[code])
	}
	return p
}

// tooFew stands where a figure is withheld because too few regions
// reported the indicator.
const tooFew = "参与比较的地区不足"

// percentile places score among the other regions that reported the
// indicator: the share of them it beats, a tie counting half, from 0 (the
// lowest) to 100 (the highest). ok is false when fewer than
// disclosure.MinRegionsForAggregate regions reported it: among two or
// three, a region's percentile is the order of the others, which its
// edition of the report would give away.
func (p percentiles) percentile(code string, score float64) (float64, bool) {
	all := p.scores[code]
	if !disclosure.Enough(len(all)) {
		return 0, false
	}
	lo, _ := slices.BinarySearch(all, score)
	hi := lo
	for hi < len(all) && all[hi] == score {
		hi++
	}
	// The region itself is one of the ties.
	ties := hi - lo - 1
	return (float64(lo) + 0.5*float64(ties)) / float64(len(all)-1) * 100, true
}

// strengthsAndWeaknesses are a region's best and worst reported
// indicators by percentile among the regions: at most k strengths, above
// the middle (percentile over 50), and k weaknesses, below it, so that a
// leader's "weakness" is never an indicator on which it beats most
// regions. Ties go to the higher (strength) or lower (weakness) score,
// then to scheme order. compared is the number of indicators placed, few
// the number of reported ones too few regions reported to place.
func (p percentiles) strengthsAndWeaknesses(sc scheme.Scheme, r engine.RegionResult, k int) (strengths, weaknesses []indicatorRow, compared, few int) {
	type placed struct {
		i          int // in r.Indicators, which is in scheme order
		pct, score float64
	}
	var all []placed
	for i, ir := range r.Indicators {
		if !observed(ir) {
			continue
		}
		if pc, ok := p.percentile(ir.Code, ir.Score.Value); ok {
			all = append(all, placed{i: i, pct: pc, score: ir.Score.Value})
		} else {
			few++
		}
	}
	row := func(x placed) indicatorRow {
		ir := r.Indicators[x.i]
		ind, _ := sc.Indicator(ir.Code)
		return indicatorRow{Code: ir.Code, Name: cmp.Or(ind.Name, ir.Code), Value: valueText(ind, ir.Raw.Value),
			Score: fmt.Sprintf("%.1f", ir.Score.Value), Percentile: fmt.Sprintf("%.0f", x.pct), Province: p.province(ind)}
	}
	slices.SortFunc(all, func(a, b placed) int {
		return cmp.Or(cmp.Compare(b.pct, a.pct), cmp.Compare(b.score, a.score), cmp.Compare(a.i, b.i))
	})
	for _, x := range all {
		if x.pct <= 50 || len(strengths) == k {
			break
		}
		strengths = append(strengths, row(x))
	}
	// The weakest first, breaking ties the other way round.
	slices.SortFunc(all, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.pct, b.pct), cmp.Compare(a.score, b.score), cmp.Compare(a.i, b.i))
	})
	for _, x := range all {
		if x.pct >= 50 || len(weaknesses) == k {
			break
		}
		weaknesses = append(weaknesses, row(x))
	}
	return strengths, weaknesses, len(all), few
}

// province is the typical value of an indicator among the regions that
// reported it: the share answering yes for a yes/no indicator, else the
// median. Over fewer than disclosure.MinRegionsForAggregate regions it is
// withheld: the median of three is another region's own value.
func (p percentiles) province(ind scheme.Indicator) string {
	raws := p.raws[ind.Code]
	if len(raws) == 0 {
		return "—"
	}
	if !disclosure.Enough(len(raws)) {
		return tooFew
	}
	if ind.Normalisation.Method == scheme.MethodBinary {
		yes := 0
		for _, x := range raws {
			if x >= 0.5 {
				yes++
			}
		}
		return "“是”占 " + share(yes, len(raws))
	}
	n := len(raws)
	med := raws[n/2]
	if n%2 == 0 {
		med = (raws[n/2-1] + raws[n/2]) / 2
	}
	return "中位数 " + valueText(ind, med)
}

// valueText is a reported value with its unit: 是/否 for a yes/no
// indicator, at most two decimals otherwise.
func valueText(ind scheme.Indicator, x float64) string {
	if ind.Normalisation.Method == scheme.MethodBinary {
		if x >= 0.5 {
			return "是"
		}
		return "否"
	}
	s := strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
	switch ind.Unit {
	case "", "是/否":
		return s
	case "%":
		return s + "%"
	}
	return s + " " + ind.Unit
}
