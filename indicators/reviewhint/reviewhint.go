// Package reviewhint holds the pure rules of the review queue's hints:
// why a provincial reviewer may want to look twice at a submitted value.
// Each hint says its reason in Chinese and English.
package reviewhint

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Hint codes.
const (
	LastCycle       = "last_cycle"       // far from the region's value of the previous cycle
	Peers           = "peers"            // outside the interquartile fences of regions of the same kind
	RangeEdge       = "range_edge"       // at the indicator's declared minimum or maximum
	EvidenceMissing = "evidence_missing" // the indicator requires evidence and none backs the value
	AfterReturn     = "after_return"     // entered again after a reviewer returned it
)

// MaxChange is the relative change from last cycle's value beyond which a
// value is flagged (0.5: more than 50%).
const MaxChange = 0.5

// MinPeers is the number of peer values the fences need to be meaningful.
const MinPeers = 4

// Hint is one reason to look twice at a value, said in both languages.
type Hint struct {
	Code      string
	Message   string
	MessageEn string
}

// Input is what the rules read about one value.
type Input struct {
	// Number is the value's number; nil when it is declared not applicable.
	Number *float64
	// Previous is the region's number for the indicator in the previous
	// cycle, nil if none.
	Previous *float64
	// Peers are the numbers of the other regions of the same kind for the
	// indicator in this cycle.
	Peers []float64
	// Min and Max are the indicator's declared bounds, nil when open.
	Min, Max *float64
	// EvidenceRequired is the indicator's; Evidence counts the live files.
	EvidenceRequired bool
	Evidence         int
	// Returned is set when a reviewer returned the value before, with the
	// comment given then.
	Returned      bool
	ReturnComment string
}

// For applies every rule to in, in a fixed order.
func For(in Input) []Hint {
	var out []Hint
	if in.Number != nil {
		n := *in.Number
		if h, ok := lastCycle(n, in.Previous); ok {
			out = append(out, h)
		}
		if lo, hi, ok := Fences(in.Peers); ok && (n < lo || n > hi) {
			out = append(out, Hint{Code: Peers,
				Message:   fmt.Sprintf("超出同类地区的四分位围栏（%s～%s）", num(lo), num(hi)),
				MessageEn: fmt.Sprintf("outside the interquartile fences of regions of the same kind (%s to %s)", num(lo), num(hi))})
		}
		switch {
		case in.Min != nil && n == *in.Min:
			out = append(out, Hint{Code: RangeEdge, Message: "等于指标规定的下限 " + num(n), MessageEn: "at the indicator's declared minimum " + num(n)})
		case in.Max != nil && n == *in.Max:
			out = append(out, Hint{Code: RangeEdge, Message: "等于指标规定的上限 " + num(n), MessageEn: "at the indicator's declared maximum " + num(n)})
		}
		if in.EvidenceRequired && in.Evidence == 0 {
			out = append(out, Hint{Code: EvidenceMissing, Message: "该指标须上传佐证材料，尚无材料",
				MessageEn: "the indicator requires evidence and none is attached"})
		}
	}
	if in.Returned {
		out = append(out, Hint{Code: AfterReturn, Message: "退回后重新填报，退回意见：" + in.ReturnComment,
			MessageEn: "entered again after a return; the comment was: " + in.ReturnComment})
	}
	return out
}

// lastCycle flags a change of more than MaxChange from prev; from a
// previous 0, any other number is flagged.
func lastCycle(n float64, prev *float64) (Hint, bool) {
	if prev == nil {
		return Hint{}, false
	}
	p := *prev
	if p == 0 {
		if n == 0 {
			return Hint{}, false
		}
		return Hint{Code: LastCycle, Message: "上一周期为 0，本期为 " + num(n),
			MessageEn: "last cycle's value was 0, this one is " + num(n)}, true
	}
	change := (n - p) / math.Abs(p)
	if math.Abs(change) <= MaxChange {
		return Hint{}, false
	}
	pct := strconv.FormatFloat(math.Round(change*100), 'f', -1, 64)
	if change > 0 {
		pct = "+" + pct
	}
	return Hint{Code: LastCycle, Message: fmt.Sprintf("较上一周期（%s）变化 %s%%", num(p), pct),
		MessageEn: fmt.Sprintf("changed by %s%% from last cycle's %s", pct, num(p))}, true
}

// Median is the median of xs; ok is false for none.
func Median(xs []float64) (m float64, ok bool) {
	if len(xs) == 0 {
		return 0, false
	}
	return quantile(sorted(xs), 0.5), true
}

// Fences are Tukey's fences of xs, Q1 − 1.5·IQR and Q3 + 1.5·IQR, with
// quartiles interpolated linearly; ok is false below MinPeers values.
func Fences(xs []float64) (lo, hi float64, ok bool) {
	if len(xs) < MinPeers {
		return 0, 0, false
	}
	s := sorted(xs)
	q1, q3 := quantile(s, 0.25), quantile(s, 0.75)
	iqr := q3 - q1
	return q1 - 1.5*iqr, q3 + 1.5*iqr, true
}

// quantile is the q-quantile of sorted s, interpolated linearly between
// order statistics.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(s) {
		return s[i]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

func sorted(xs []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s
}

// num shows a number with at most four decimals and no trailing zeros.
func num(x float64) string {
	return strconv.FormatFloat(math.Round(x*1e4)/1e4, 'f', -1, 64)
}
