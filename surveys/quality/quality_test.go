package quality

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/surveys/questionnaire"
)

const tol = 1e-9

// grid8 is a test questionnaire: eight five-point items on one grid, so
// that straight-lining applies, and an attention check expecting 2.
func grid8() questionnaire.Questionnaire {
	q := questionnaire.Questionnaire{
		Code: "grid", Name: "八题问卷", Scale: 5, Labels: questionnaire.DefaultLabels(),
		RespondentTypes: []questionnaire.RespondentType{
			{Code: "enterprise", Name: "企业"}, {Code: "institute", Name: "高校院所"},
			{Code: "agency", Name: "服务机构"}, {Code: "individual", Name: "个人"},
		},
		Attention: &questionnaire.AttentionCheck{Code: "check", Text: "本题请选择“不满意”", Expect: 2},
	}
	for i := range 8 {
		q.Items = append(q.Items, questionnaire.Item{
			Code: "q" + string(rune('1'+i)), Text: "题目", Weight: 1, Group: "grid",
		})
	}
	return q
}

// resp builds a response that passes the attention check.
func resp(typ string, seconds float64, answers ...uint8) questionnaire.Response {
	return questionnaire.Response{RespondentType: typ, Seconds: seconds, Answers: answers, Attention: 2}
}

func withID(r questionnaire.Response, id, contact string) questionnaire.Response {
	r.RespondentID, r.ContactHash = id, contact
	return r
}

// want is the expected index of one region, every number a literal.
type want struct {
	responses, duplicates, speeders, straightLiners, failed, excluded, n int
	mean, sd, se, lo, hi, neff                                           float64
	insufficient                                                         bool
	items                                                                []float64
	byType                                                               map[string]int
	flags                                                                []Flags
}

// TestHandComputedExample is the worked example of the satisfaction index:
// three regions, twelve respondents, exactly one speeder (region A), one
// duplicate (region B) and one straight-liner (region C). Thresholds are
// the defaults (30 s, a third of the median, grids of 8); minimum sample 3.
//
// With eight five-point items of weight 1, item score = 25(x−1), so a
// respondent's score is 25(Σx/8 − 1) = 3.125(Σx − 8).
//
// Region A, seconds 300, 240, 200, 60, 280: median 240, floor
// max(30, 240/3) = 80, so A4 (60 s) is a speeder; the others are valid.
//
//	A1 4 4 5 4 3 4 4 5  Σ33  78.125
//	A2 3 4 4 3 4 3 4 4  Σ29  65.625
//	A3 5 5 4 5 5 4 5 5  Σ38  93.75
//	A5 2 3 3 2 3 3 4 3  Σ23  46.875
//	n 4, mean 284.375/4 = 71.09375
//	deviations 7.03125, −5.46875, 22.65625, −24.21875; squares 49.4384765625,
//	29.9072265625, 513.3056640625, 586.5478515625, sum 1179.19921875
//	variance 1179.19921875/3 = 393.06640625, SD √393.06640625 = 19.825902406952377
//	SE = SD/√4 = 9.912951203476188, 1.96·SE = 19.42938435881329
//	CI 51.66436564118667 … 90.52313435881334
//	item means: q1 (75+50+100+25)/4 = 62.5, q2 (75+75+100+50)/4 = 75, q3 75,
//	q4 62.5, q5 68.75, q6 62.5, q7 81.25, q8 81.25
//
// Region B, seconds 200, 180, 190, 210: median 195, floor 65, no speeder.
// B3 shares B2's contact hash (with a new respondent id): a duplicate.
//
//	B1 4 4 4 4 4 4 4 5  Σ33  78.125
//	B2 3 3 4 3 3 3 3 3  Σ25  53.125
//	B4 4 5 4 5 4 5 4 5  Σ36  87.5
//	n 3, in 48ths: scores 3750, 2550, 4200, mean 3500 = 72.91666666666667
//	deviations 250, −950, 700 (/48), squares sum 1455000/2304 = 631.5104166…
//	variance 315.7552083…, SD 17.769502197116648, SE = SD/√3 = 10.259226876870944
//	CI 72.91666… ∓ 20.10808467866705 = 52.808581987999624 … 93.02475134533373
//	item means (3 respondents): 66.666…, 75, 75, 75, 66.666…, 75, 66.666…, 83.333…
//
// Region C, seconds 150, 120, 180: median 150, floor 50, no speeder. C1
// answers 5 on all eight grid items: a straight-liner.
//
//	C2 2 2 3 2 2 3 2 2  Σ18  31.25
//	C3 4 3 4 3 4 3 4 3  Σ28  62.5
//	n 2 (< 3: insufficient), mean 46.875, SD |62.5−31.25|/√2 = 22.09708691207961
//	SE = SD/√2 = 15.625, CI 46.875 ∓ 30.625 = 16.25 … 77.5
//	item means: 50, 37.5, 62.5, 37.5, 50, 50, 50, 37.5
func TestHandComputedExample(t *testing.T) {
	q := grid8()
	regions := []struct {
		name string
		rs   []questionnaire.Response
		want want
	}{
		{"A", []questionnaire.Response{
			withID(resp("enterprise", 300, 4, 4, 5, 4, 3, 4, 4, 5), "a-1", ""),
			withID(resp("enterprise", 240, 3, 4, 4, 3, 4, 3, 4, 4), "a-2", ""),
			withID(resp("individual", 200, 5, 5, 4, 5, 5, 4, 5, 5), "a-3", ""),
			withID(resp("agency", 60, 5, 5, 5, 5, 5, 5, 5, 4), "a-4", ""),
			withID(resp("institute", 280, 2, 3, 3, 2, 3, 3, 4, 3), "a-5", ""),
		}, want{
			responses: 5, speeders: 1, excluded: 1, n: 4,
			mean: 71.09375, sd: 19.825902406952377, se: 9.912951203476188,
			lo: 51.66436564118667, hi: 90.52313435881334, neff: 4,
			items:  []float64{62.5, 75, 75, 62.5, 68.75, 62.5, 81.25, 81.25},
			byType: map[string]int{"enterprise": 2, "individual": 1, "institute": 1},
			flags:  []Flags{0, 0, 0, FlagSpeeder, 0},
		}},
		{"B", []questionnaire.Response{
			withID(resp("enterprise", 200, 4, 4, 4, 4, 4, 4, 4, 5), "b-1", "h1"),
			withID(resp("agency", 180, 3, 3, 4, 3, 3, 3, 3, 3), "b-2", "h2"),
			withID(resp("agency", 190, 5, 5, 5, 5, 5, 5, 5, 4), "b-3", "h2"),
			withID(resp("individual", 210, 4, 5, 4, 5, 4, 5, 4, 5), "b-4", ""),
		}, want{
			responses: 4, duplicates: 1, excluded: 1, n: 3,
			mean: 72.91666666666667, sd: 17.769502197116648, se: 10.259226876870944,
			lo: 52.808581987999624, hi: 93.02475134533373, neff: 3,
			items:  []float64{66.66666666666667, 75, 75, 75, 66.66666666666667, 75, 66.66666666666667, 83.33333333333333},
			byType: map[string]int{"enterprise": 1, "agency": 1, "individual": 1},
			flags:  []Flags{0, 0, FlagDuplicate, 0},
		}},
		{"C", []questionnaire.Response{
			resp("enterprise", 150, 5, 5, 5, 5, 5, 5, 5, 5),
			resp("individual", 120, 2, 2, 3, 2, 2, 3, 2, 2),
			resp("individual", 180, 4, 3, 4, 3, 4, 3, 4, 3),
		}, want{
			responses: 3, straightLiners: 1, excluded: 1, n: 2, insufficient: true,
			mean: 46.875, sd: 22.09708691207961, se: 15.625, lo: 16.25, hi: 77.5, neff: 2,
			items:  []float64{50, 37.5, 62.5, 37.5, 50, 50, 50, 37.5},
			byType: map[string]int{"individual": 2},
			flags:  []Flags{FlagStraightLiner, 0, 0},
		}},
	}
	total := 0
	for _, region := range regions {
		t.Run(region.name, func(t *testing.T) {
			ix, flags := Compute(q, DefaultThresholds(), Options{MinSample: 3}, region.rs)
			checkIndex(t, ix, flags, region.want)
			if ix.MinSample != 3 || ix.Weighted || len(ix.Warnings) != 0 {
				t.Errorf("min_sample %d weighted %v warnings %+v", ix.MinSample, ix.Weighted, ix.Warnings)
			}
		})
		total += len(region.rs)
	}
	if total != 12 {
		t.Errorf("example has %d respondents, want a dozen", total)
	}
}

func checkIndex(t *testing.T, ix Index, flags []Flags, w want) {
	t.Helper()
	counts := [...][3]any{
		{"responses", ix.Responses, w.responses}, {"duplicates", ix.Duplicates, w.duplicates},
		{"speeders", ix.Speeders, w.speeders}, {"straight_liners", ix.StraightLiners, w.straightLiners},
		{"failed_attention", ix.FailedAttention, w.failed}, {"excluded", ix.Excluded, w.excluded}, {"n", ix.N, w.n},
	}
	for _, c := range counts {
		if c[1] != c[2] {
			t.Errorf("%s = %v, want %v", c[0], c[1], c[2])
		}
	}
	if ix.Insufficient != w.insufficient {
		t.Errorf("insufficient = %v, want %v", ix.Insufficient, w.insufficient)
	}
	if w.flags != nil && !reflect.DeepEqual(flags, w.flags) {
		t.Errorf("flags = %v, want %v", flags, w.flags)
	}
	if w.byType != nil && !reflect.DeepEqual(ix.ByType, w.byType) {
		t.Errorf("by_type = %v, want %v", ix.ByType, w.byType)
	}
	if w.n == 0 {
		if ix.Mean != nil || ix.SD != nil || ix.SE != nil || ix.CILow != nil || ix.CIHigh != nil || ix.EffectiveN != 0 {
			t.Errorf("index without respondents has numbers: %+v", ix)
		}
		return
	}
	for _, c := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"mean", ix.Mean, w.mean}, {"sd", ix.SD, w.sd}, {"se", ix.SE, w.se},
		{"ci_low", ix.CILow, w.lo}, {"ci_high", ix.CIHigh, w.hi}, {"effective_n", &ix.EffectiveN, w.neff},
	} {
		if c.got == nil || math.Abs(*c.got-c.want) > tol {
			t.Errorf("%s = %v, want %v", c.name, deref(c.got), c.want)
		}
	}
	if w.items != nil {
		if len(ix.Items) != len(w.items) {
			t.Fatalf("%d item means, want %d", len(ix.Items), len(w.items))
		}
		for i, m := range w.items {
			if got := ix.Items[i].Mean; got == nil || math.Abs(*got-m) > tol || ix.Items[i].N != w.n {
				t.Errorf("items[%d] = %s mean %v n %d, want %v n %d", i, ix.Items[i].Code, deref(got), ix.Items[i].N, m, w.n)
			}
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

// TestCases covers the screens and scoring rules one at a time, each with
// hand-computed numbers.
func TestCases(t *testing.T) {
	// twoItems: a five-point item and a reverse-coded one, off any grid.
	twoItems := questionnaire.Questionnaire{
		Code: "two", Name: "两题", Scale: 5,
		RespondentTypes: []questionnaire.RespondentType{{Code: "enterprise", Name: "企业"}},
		Items: []questionnaire.Item{
			{Code: "good", Text: "好吗", Weight: 1},
			{Code: "bad", Text: "差吗", Weight: 3, Reverse: true},
		},
	}
	optional := twoItems
	optional.Items = []questionnaire.Item{
		{Code: "good", Text: "好吗", Weight: 1},
		{Code: "extra", Text: "补充", Weight: 1, Optional: true, Scale: 3},
	}
	q := grid8()
	straight := func(typ string, x uint8) questionnaire.Response {
		return resp(typ, 100, x, x, x, x, x, x, x, x)
	}

	for _, tc := range []struct {
		name string
		q    questionnaire.Questionnaire
		th   Thresholds
		opts Options
		rs   []questionnaire.Response
		want want
	}{
		{
			// good 4 → 75; bad 2 reversed to 4 → 75; (75 + 3·75)/4 = 75.
			// good 5 → 100; bad 1 reversed to 5 → 100 → 100.
			// good 3 → 50; bad 5 reversed to 1 → 0 → (50 + 0)/4 = 12.5.
			// mean (75+100+12.5)/3 = 62.5; deviations 12.5, 37.5, −50;
			// squares 156.25 + 1406.25 + 2500 = 4062.5, /2 = 2031.25,
			// SD 45.069390943299865, SE = SD/√3 = 26.02082499332666,
			// 1.96·SE 51.0008169869203, CI 11.499183013079751 … 113.50081698692026.
			name: "reverse-coded item with weight 3",
			q:    twoItems, th: DefaultThresholds(),
			rs: []questionnaire.Response{resp("enterprise", -1, 4, 2), resp("enterprise", -1, 5, 1), resp("enterprise", -1, 3, 5)},
			want: want{responses: 3, n: 3, mean: 62.5, sd: 45.069390943299865, se: 26.02082499332666,
				lo: 11.499183013079751, hi: 113.50081698692026, neff: 3,
				items: nil, flags: []Flags{0, 0, 0}},
		},
		{
			// First respondent leaves the optional three-point item blank:
			// score = good only, 4 → 75. Second: good 2 → 25, extra 3 → 100,
			// (25 + 100)/2 = 62.5. Mean 68.75, SD |75 − 62.5|/√2 = 8.838834764831844,
			// SE 6.25, CI 68.75 ∓ 12.25.
			name: "optional item left blank",
			q:    optional, th: DefaultThresholds(),
			rs:   []questionnaire.Response{resp("enterprise", -1, 4, 0), resp("enterprise", -1, 2, 3)},
			want: want{responses: 2, n: 2, mean: 68.75, sd: 8.838834764831844, se: 6.25, lo: 56.5, hi: 81, neff: 2},
		},
		{
			// The second response repeats the first's id, takes 10 s, answers
			// 1 everywhere and misses the attention check: four flags, one
			// exclusion. The first alone remains: n 1, SD 0, CI a point.
			name: "several flags on one response, and n = 1",
			q:    q, th: DefaultThresholds(),
			rs: []questionnaire.Response{
				withID(resp("agency", 200, 4, 4, 4, 4, 4, 4, 4, 5), "x", ""),
				func() questionnaire.Response {
					r := withID(straight("agency", 1), "x", "")
					r.Seconds, r.Attention = 10, 5
					return r
				}(),
			},
			want: want{responses: 2, duplicates: 1, speeders: 1, straightLiners: 1, failed: 1, excluded: 1, n: 1,
				mean: 78.125, sd: 0, se: 0, lo: 78.125, hi: 78.125, neff: 1,
				byType: map[string]int{"agency": 1},
				flags:  []Flags{0, FlagDuplicate | FlagSpeeder | FlagStraightLiner | FlagFailedAttention}},
		},
		{
			name: "no responses",
			q:    q, th: DefaultThresholds(), opts: Options{MinSample: 1},
			want: want{insufficient: true, byType: map[string]int{}, flags: []Flags{}},
		},
		{
			// Both fail the attention check (no answer, wrong answer): n = 0.
			name: "failed attention checks leave n = 0",
			q:    q, th: DefaultThresholds(),
			rs: []questionnaire.Response{
				func() questionnaire.Response {
					r := resp("agency", 200, 4, 4, 4, 4, 4, 4, 4, 5)
					r.Attention = 0
					return r
				}(),
				func() questionnaire.Response {
					r := resp("agency", 200, 4, 4, 4, 4, 4, 4, 4, 5)
					r.Attention = 3
					return r
				}(),
			},
			want: want{responses: 2, failed: 2, excluded: 2, flags: []Flags{FlagFailedAttention, FlagFailedAttention}},
		},
		{
			// Straight-lined on 8 items, but the grid must have 9: valid.
			// Scores 100 and 0 (answers 5 and 1): mean 50, SD 70.71067811865476,
			// SE 50, CI −48 … 148 (not clamped).
			name: "straight-lining below the grid size, CI not clamped",
			q:    q, th: Thresholds{MinSeconds: 30, MedianFraction: 1.0 / 3, StraightLineItems: 9},
			rs:   []questionnaire.Response{straight("agency", 5), straight("agency", 1)},
			want: want{responses: 2, n: 2, mean: 50, sd: 70.71067811865476, se: 50, lo: -48, hi: 148, neff: 2},
		},
		{
			// No completion times at all: no median, no floor hit, no speeder.
			name: "all seconds unknown",
			q:    q, th: DefaultThresholds(),
			rs: []questionnaire.Response{
				resp("agency", -1, 4, 4, 4, 4, 4, 4, 4, 5),
				resp("agency", -1, 3, 4, 4, 3, 4, 3, 4, 4),
				resp("agency", math.NaN(), 3, 4, 4, 3, 4, 3, 4, 4),
			},
			// 78.125, 65.625, 65.625: mean 69.79166666666667, deviations
			// 8.3333…, −4.1666…, −4.1666…; squares sum 104.16666…, /2 52.083333…,
			// SD 7.216878364870322, SE 4.166666666666667, 1.96·SE 8.166666666666667.
			want: want{responses: 3, n: 3, mean: 69.79166666666667, sd: 7.216878364870322, se: 4.166666666666667,
				lo: 61.625, hi: 77.95833333333334, neff: 3, flags: []Flags{0, 0, 0}},
		},
		{
			// The median test is off (fraction 0): only the 30 s floor
			// applies, so 25 s is a speeder and 31 s is not, although 31 is
			// far below a third of the median 200. The unknown time is kept.
			// All score 78.125: SD 0.
			name: "speeders by the floor alone, unknown times kept",
			q:    q, th: Thresholds{MinSeconds: 30, MedianFraction: 0, StraightLineItems: 8},
			rs: []questionnaire.Response{
				resp("agency", 25, 4, 4, 4, 4, 4, 4, 4, 5),
				resp("agency", 31, 4, 4, 4, 4, 4, 4, 4, 5),
				resp("agency", 200, 4, 4, 4, 4, 4, 4, 4, 5),
				resp("agency", 220, 4, 4, 4, 4, 4, 4, 4, 5),
				resp("agency", -1, 4, 4, 4, 4, 4, 4, 4, 5),
			},
			want: want{responses: 5, speeders: 1, excluded: 1, n: 4, mean: 78.125, sd: 0, se: 0, lo: 78.125, hi: 78.125, neff: 4,
				flags: []Flags{FlagSpeeder, 0, 0, 0, 0}},
		},
		{
			name: "insufficient sample",
			q:    q, th: DefaultThresholds(), opts: Options{MinSample: 30},
			rs:   []questionnaire.Response{resp("agency", 200, 4, 4, 4, 4, 4, 4, 4, 5)},
			want: want{responses: 1, n: 1, insufficient: true, mean: 78.125, lo: 78.125, hi: 78.125, neff: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, flags := Compute(tc.q, tc.th, tc.opts, tc.rs)
			checkIndex(t, ix, flags, tc.want)
			if _, err := json.Marshal(ix); err != nil {
				t.Errorf("index does not encode: %v", err)
			}
		})
	}
}

// TestItemMeansReverse pins the per-item view on the reverse-coded example:
// good 4, 5, 3 → 75, 100, 50 → 75; bad 2, 1, 5 reversed → 75, 100, 0 → 58.33….
func TestItemMeansReverse(t *testing.T) {
	q := questionnaire.Questionnaire{
		Code: "two", Name: "两题", Scale: 5,
		RespondentTypes: []questionnaire.RespondentType{{Code: "enterprise", Name: "企业"}},
		Items: []questionnaire.Item{
			{Code: "good", Text: "好吗", Weight: 1},
			{Code: "bad", Text: "差吗", Weight: 3, Reverse: true},
		},
	}
	rs := []questionnaire.Response{resp("enterprise", -1, 4, 2), resp("enterprise", -1, 5, 1), resp("enterprise", -1, 3, 5), resp("enterprise", -1, 3, 0)}
	ix, _ := Compute(q, DefaultThresholds(), Options{}, rs)
	if ix.Items[0].Code != "good" || ix.Items[0].N != 4 || math.Abs(*ix.Items[0].Mean-68.75) > tol {
		t.Errorf("good = %+v %v", ix.Items[0], deref(ix.Items[0].Mean))
	}
	if ix.Items[1].Code != "bad" || ix.Items[1].N != 3 || math.Abs(*ix.Items[1].Mean-175.0/3) > tol {
		t.Errorf("bad = %+v %v", ix.Items[1], deref(ix.Items[1].Mean))
	}
}

// scale6 has one six-point item, so that answers 2, 4, 5, 6 score 20, 60,
// 80, 100.
func scale6() questionnaire.Questionnaire {
	return questionnaire.Questionnaire{
		Code: "six", Name: "六点", Scale: 6,
		RespondentTypes: []questionnaire.RespondentType{
			{Code: "enterprise", Name: "企业"}, {Code: "individual", Name: "个人"}, {Code: "agency", Name: "服务机构"},
		},
		Items: []questionnaire.Item{{Code: "all", Text: "总体", Weight: 1}},
	}
}

// TestPostStratification is the hand-worked weighted index. Three
// enterprises score 60, 80, 100 and one individual 20. Population shares
// enterprise 0.4, individual 0.4, agency 0.2; no agency answered, so the
// shares are renormalised over the two present types to 0.5 each.
//
//	w(enterprise) = 0.5/(3/4) = 2/3, w(individual) = 0.5/(1/4) = 2
//	Σw = 3·2/3 + 2 = 4; Σw² = 3·4/9 + 4 = 16/3; n_eff = 16/(16/3) = 3
//	mean = (2/3·240 + 2·20)/4 = 200/4 = 50 (unweighted: 65)
//	Σw(y−ȳ)² = 2/3·(100 + 900 + 2500) + 2·900 = 12400/3
//	variance = (12400/3)/(4 − (16/3)/4) = (12400/3)/(8/3) = 1550
//	SD = √1550 = 39.370039370059054, SE = √(1550/3) = 22.73030282830976
//	CI 50 ∓ 44.55139354348713 = 5.44860645651287 … 94.55139354348714
func TestPostStratification(t *testing.T) {
	rs := []questionnaire.Response{
		resp("enterprise", -1, 4), resp("individual", -1, 2), resp("enterprise", -1, 5), resp("enterprise", -1, 6),
	}
	opts := Options{Strata: map[string]float64{"enterprise": 0.4, "individual": 0.4, "agency": 0.2}}
	ix, _ := Compute(scale6(), DefaultThresholds(), opts, rs)
	checkIndex(t, ix, nil, want{responses: 4, n: 4, mean: 50, sd: 39.370039370059054, se: 22.73030282830976,
		lo: 5.44860645651287, hi: 94.55139354348714, neff: 3, byType: map[string]int{"enterprise": 3, "individual": 1}})
	if !ix.Weighted {
		t.Error("weighted = false")
	}
	// Item means are weighted like the index.
	if m := ix.Items[0].Mean; m == nil || math.Abs(*m-50) > tol {
		t.Errorf("item mean = %v, want 50", deref(m))
	}
	if len(ix.Warnings) != 1 || ix.Warnings[0].Code != "stratum_absent" || !strings.Contains(ix.Warnings[0].MessageEn, "agency") || ix.Warnings[0].Message == "" {
		t.Errorf("warnings = %+v, want one stratum_absent naming agency", ix.Warnings)
	}
}

func TestPostStratificationEdges(t *testing.T) {
	rs := []questionnaire.Response{resp("enterprise", -1, 4), resp("individual", -1, 2), resp("enterprise", -1, 6)}
	t.Run("type without a share weighs 0", func(t *testing.T) {
		// Only enterprises count: (60 + 100)/2 = 80; equal weights 1.5 each,
		// n_eff 2, SD |100 − 60|/√2 = 28.284271247461902, SE 20.
		ix, _ := Compute(scale6(), DefaultThresholds(), Options{Strata: map[string]float64{"enterprise": 1}}, rs)
		checkIndex(t, ix, nil, want{responses: 3, n: 3, mean: 80, sd: 28.284271247461902, se: 20, lo: 40.8, hi: 119.2, neff: 2})
		if !ix.Weighted || len(ix.Warnings) != 1 || ix.Warnings[0].Code != "stratum_unshared" || !strings.Contains(ix.Warnings[0].MessageEn, "individual(1)") {
			t.Errorf("weighted %v warnings %+v", ix.Weighted, ix.Warnings)
		}
	})
	t.Run("no present type has a share", func(t *testing.T) {
		// Unweighted: 60, 20, 100 → mean 60, SD 40, SE 40/√3.
		ix, _ := Compute(scale6(), DefaultThresholds(), Options{Strata: map[string]float64{"agency": 1}}, rs)
		checkIndex(t, ix, nil, want{responses: 3, n: 3, mean: 60, sd: 40, se: 23.094010767585033,
			lo: 14.735738895533335, hi: 105.26426110446667, neff: 3})
		codes := []string{}
		for _, w := range ix.Warnings {
			codes = append(codes, w.Code)
		}
		if ix.Weighted || strings.Join(codes, ",") != "stratum_absent,strata_unusable" {
			t.Errorf("weighted %v warnings %v", ix.Weighted, codes)
		}
	})
}

// TestWeightedEqualsUnweightedAtSampleShares is the property that
// post-stratifying to the sample's own mix changes nothing: every weight is
// 1, so mean, SD, SE and n_eff are the unweighted ones.
func TestWeightedEqualsUnweightedAtSampleShares(t *testing.T) {
	q := questionnaire.Default()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(60)
		rs := make([]questionnaire.Response, n)
		shares := map[string]float64{}
		for i := range rs {
			typ := q.RespondentTypes[rng.IntN(len(q.RespondentTypes))].Code
			answers := make([]uint8, len(q.Items))
			for j := range answers {
				answers[j] = uint8(1 + rng.IntN(5))
			}
			rs[i] = questionnaire.Response{RespondentType: typ, Seconds: -1, Answers: answers}
			shares[typ] += 7 // any common scale: shares are renormalised
		}
		plain, _ := Compute(q, DefaultThresholds(), Options{}, rs)
		weighted, _ := Compute(q, DefaultThresholds(), Options{Strata: shares}, rs)
		if !weighted.Weighted || plain.Weighted {
			t.Fatalf("trial %d: weighted flags %v/%v", trial, plain.Weighted, weighted.Weighted)
		}
		for _, c := range [][3]any{
			{"mean", *plain.Mean, *weighted.Mean}, {"sd", *plain.SD, *weighted.SD}, {"se", *plain.SE, *weighted.SE},
			{"effective_n", plain.EffectiveN, weighted.EffectiveN}, {"ci_low", *plain.CILow, *weighted.CILow},
		} {
			if math.Abs(c[1].(float64)-c[2].(float64)) > tol {
				t.Fatalf("trial %d (n %d): %s unweighted %v, weighted %v", trial, n, c[0], c[1], c[2])
			}
		}
		if plain.EffectiveN != float64(n) {
			t.Fatalf("trial %d: unweighted n_eff %v, want %d", trial, plain.EffectiveN, n)
		}
	}
}

func TestDuplicates(t *testing.T) {
	q := grid8()
	rs := []questionnaire.Response{
		withID(resp("agency", -1, 4), "r1", "c1"),
		withID(resp("agency", -1, 4), "", ""),     // no id, no contact: never a duplicate
		withID(resp("agency", -1, 4), "", ""),     //   …even twice
		withID(resp("agency", -1, 4), "r2", "c1"), // contact of r1
		withID(resp("agency", -1, 4), "r3", "c3"),
		withID(resp("agency", -1, 4), " r3 ", ""), // id of the previous, with spaces
		withID(resp("agency", -1, 4), "r4", "c4"),
		withID(resp("agency", -1, 4), "c4", "r4"), // ids and contacts are separate spaces
		withID(resp("agency", -1, 4), "r5", ""),
		withID(resp("agency", -1, 4), "r5", "c5"), // duplicate by id…
		withID(resp("agency", -1, 4), "r6", "c5"), // …whose contact still counts
	}
	got := Screen(q, DefaultThresholds(), rs)
	want := []Flags{0, 0, 0, FlagDuplicate, 0, FlagDuplicate, 0, 0, 0, FlagDuplicate, FlagDuplicate}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flags = %v, want %v", got, want)
	}
}

func TestStraightLiningNeedsEveryItem(t *testing.T) {
	q := grid8()
	q.Items = append(q.Items, questionnaire.Item{Code: "open", Text: "其他", Weight: 1}) // off the grid
	for _, tc := range []struct {
		name    string
		answers []uint8
		want    Flags
	}{
		{"all eight alike, off-grid item differs", []uint8{3, 3, 3, 3, 3, 3, 3, 3, 5}, FlagStraightLiner},
		{"one grid item blank", []uint8{3, 3, 3, 3, 3, 3, 3, 0, 3}, 0},
		{"short answer sheet", []uint8{3, 3, 3, 3}, 0},
		{"one differs", []uint8{3, 3, 3, 3, 3, 3, 3, 4, 3}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Screen(q, DefaultThresholds(), []questionnaire.Response{resp("agency", -1, tc.answers...)}); got[0] != tc.want {
				t.Errorf("flags = %v, want %v", got[0], tc.want)
			}
		})
	}
}

// TestNoNumbersWithoutRespondents checks that an index with n = 0 encodes
// with nulls, never NaN (which encoding/json refuses) or a made-up 0.
func TestNoNumbersWithoutRespondents(t *testing.T) {
	ix, _ := Compute(grid8(), DefaultThresholds(), Options{MinSample: 5}, nil)
	b, err := json.Marshal(ix)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mean":null`, `"ci_low":null`, `"n":0`, `"insufficient":true`, `"by_type":{}`, `{"code":"q1","mean":null,"n":0}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

func TestFlagsCodes(t *testing.T) {
	for _, tc := range []struct {
		f    Flags
		want string
	}{
		{0, ""}, {FlagDuplicate, "duplicate"}, {FlagSpeeder | FlagFailedAttention, "speeder,failed_attention"},
		{FlagDuplicate | FlagSpeeder | FlagStraightLiner | FlagFailedAttention, "duplicate,speeder,straight_liner,failed_attention"},
	} {
		codes := tc.f.Codes()
		if codes == nil || strings.Join(codes, ",") != tc.want {
			t.Errorf("%08b.Codes() = %#v, want %s", uint8(tc.f), codes, tc.want)
		}
	}
	if Flags(0).String() != "valid" || (FlagSpeeder|FlagDuplicate).String() != "duplicate|speeder" {
		t.Error("String")
	}
	if !(FlagSpeeder | FlagDuplicate).Has(FlagSpeeder) || FlagSpeeder.Has(FlagSpeeder|FlagDuplicate) {
		t.Error("Has")
	}
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name  string
		th    Thresholds
		field string
	}{
		{"negative floor", Thresholds{MinSeconds: -1, MedianFraction: 0.3, StraightLineItems: 8}, "min_seconds"},
		{"NaN floor", Thresholds{MinSeconds: math.NaN(), MedianFraction: 0.3, StraightLineItems: 8}, "min_seconds"},
		{"fraction 1", Thresholds{MinSeconds: 30, MedianFraction: 1, StraightLineItems: 8}, "median_fraction"},
		{"negative fraction", Thresholds{MinSeconds: 30, MedianFraction: -0.1, StraightLineItems: 8}, "median_fraction"},
		{"grid of 1", Thresholds{MinSeconds: 30, MedianFraction: 0.3, StraightLineItems: 1}, "straight_line_items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireField(t, tc.th.Validate(), tc.field)
		})
	}
	if err := (Thresholds{StraightLineItems: 2}).Validate(); err != nil {
		t.Errorf("zero floor and fraction refused: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	q := questionnaire.Default()
	if err := (Options{MinSample: 30, Strata: map[string]float64{"enterprise": 0.6, "individual": 0.4, "agency": 0}}).Validate(q); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, tc := range []struct {
		name  string
		opts  Options
		field string
	}{
		{"negative sample", Options{MinSample: -1}, "min_sample"},
		{"unknown type", Options{Strata: map[string]float64{"government": 1}}, "strata.government"},
		{"negative share", Options{Strata: map[string]float64{"enterprise": -1, "agency": 1}}, "strata.enterprise"},
		{"infinite share", Options{Strata: map[string]float64{"enterprise": math.Inf(1)}}, "strata.enterprise"},
		{"shares sum to 0", Options{Strata: map[string]float64{"enterprise": 0}}, "strata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireField(t, tc.opts.Validate(q), tc.field)
		})
	}
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a problem at %s, got nil", field)
	}
	if !strings.Contains(err.Error(), field+":") {
		t.Errorf("error %q does not name %s", err, field)
	}
}

// BenchmarkCompute is one large region: 8,500 responses to 20 items.
func BenchmarkCompute(b *testing.B) {
	q := grid8()
	q.Items = nil
	for i := range 20 {
		q.Items = append(q.Items, questionnaire.Item{Code: "q" + string(rune('a'+i)), Text: "题目", Weight: 1, Group: "grid"})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rs := make([]questionnaire.Response, 8500)
	for i := range rs {
		answers := make([]uint8, len(q.Items))
		for j := range answers {
			answers[j] = uint8(1 + rng.IntN(5))
		}
		rs[i] = questionnaire.Response{
			RespondentType: q.RespondentTypes[rng.IntN(4)].Code,
			RespondentID:   "r" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)),
			Seconds:        20 + rng.Float64()*600, Answers: answers, Attention: 2,
		}
	}
	opts := Options{MinSample: 100, Strata: map[string]float64{"enterprise": 0.5, "institute": 0.1, "agency": 0.1, "individual": 0.3}}
	b.ReportAllocs()
	for b.Loop() {
		Compute(q, DefaultThresholds(), opts, rs)
	}
}

// TestSpeederMedian pins the median of an even number of times as the mean
// of the middle two: of 240, 300, 400 and the tested time, the median is
// 270 and the floor 90, where the lower middle would give 80 and the upper
// 100. Odd counts take the middle time.
func TestSpeederMedian(t *testing.T) {
	q := grid8()
	for _, tc := range []struct {
		name  string
		times []float64
		want  Flags
	}{
		{"85 of an even set is below 90", []float64{85, 240, 300, 400}, FlagSpeeder},
		{"95 of an even set is above 90", []float64{95, 240, 300, 400}, 0},
		{"89 of an odd set is below 300/3", []float64{89, 240, 300, 400, 500}, FlagSpeeder},
		{"exactly the floor is not below it", []float64{100, 240, 300, 400, 500}, 0},
		{"unknown times do not count", []float64{85, 240, 300, 400, -1, -1, math.Inf(1)}, FlagSpeeder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rs []questionnaire.Response
			for _, s := range tc.times {
				rs = append(rs, resp("agency", s, 4))
			}
			if got := Screen(q, DefaultThresholds(), rs)[0]; got != tc.want {
				t.Errorf("flags = %v, want %v", got, tc.want)
			}
		})
	}
}
