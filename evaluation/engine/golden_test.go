package engine

import (
	"testing"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// The golden example, worked by hand (and checked by an independent
// calculation): five prefecture cities, two dimensions X (weight 60) and
// Y (40); I1 (X, weight 2), I2 (X, 1), I3 (Y, 1), I4 (Y, 1, less is
// better). Every indicator uses the normalisation under test.
//
//	region  I1  I2  I3  I4      binary data: I1 I2 I3 I4
//	r1      10   4  70   5                    1  0  1  0
//	r2      25   4  85   2                    1  1  0  0
//	r3      40   8  60   8                    0  0  1  1
//	r4       5   1  95   3                    1  1  1  0
//	r5      20   6  85   0                    0  1  0  1
//
// Goalposts: I1 0–50, I2 0–10, I3 50–100, I4 0–10 (0 best).
// Distance to frontier: I1 worst 0 best 40, I2 0/8, I3 50/100, I4 10/0.
//
// For example r1 under goalposts: I1 (10−0)/50 = 20, I2 40, I3 (70−50)/50 =
// 40, I4 (10−5)/10 = 50. X = (2·20 + 40)/3 = 26.667, Y = (40 + 50)/2 = 45,
// composite 0.6·26.667 + 0.4·45 = 34. Geometric: X = (21²·41)^(1/3) − 1 =
// 25.247, Y = √(41·51) − 1 = 44.727, composite 26.247^0.6·45.727^0.4 − 1
// = 31.773. Minmax r1 I1: (10−5)/(40−5) = 14.286. Rank r1 I2 (4, tied with
// r2; r4 below): (1 + 0.5)/4 = 37.5. Zscore r1 I1: mean 20, sample sd
// 13.693, z = −0.7303, score 50 + 50·z/3 = 37.828. Binary arithmetic: r1
// and r2 both score exactly 80 (the independent calculation gets
// 79.99999999999999 for r2): both are 良好 and share rank 2; r3 and r5
// share rank 4 the same way.

type goldenAgg struct {
	dims      [5][2]float64
	composite [5]float64
	ranks     [5]int
	grades    [5]string
}

type goldenCase struct {
	scores                [5][4]float64
	z                     [5][4]float64
	arithmetic, geometric goldenAgg
}

var goldenRegions = [5]string{"r1", "r2", "r3", "r4", "r5"}

func goldenInput(method, aggregation string) Input {
	norm := func(j int) scheme.Normalisation {
		gp := [4][2]float64{{0, 50}, {0, 10}, {50, 100}, {0, 10}}
		dtf := [4][2]float64{{0, 40}, {0, 8}, {50, 100}, {10, 0}}
		switch method {
		case scheme.MethodGoalposts:
			return scheme.Normalisation{Method: method, Lower: ptr(gp[j][0]), Upper: ptr(gp[j][1])}
		case scheme.MethodDTF:
			return scheme.Normalisation{Method: method, Worst: ptr(dtf[j][0]), Best: ptr(dtf[j][1])}
		}
		return scheme.Normalisation{Method: method}
	}
	s := newScheme(
		[]scheme.Dimension{{Code: "X", Weight: 60}, {Code: "Y", Weight: 40}},
		[]scheme.Indicator{
			{Code: "I1", Dimension: "X", Weight: 2, Normalisation: norm(0)},
			{Code: "I2", Dimension: "X", Weight: 1, Normalisation: norm(1)},
			{Code: "I3", Dimension: "Y", Weight: 1, Normalisation: norm(2)},
			{Code: "I4", Dimension: "Y", Weight: 1, Normalisation: norm(3), Direction: scheme.DirectionDown},
		})
	s.Aggregation = aggregation
	data := [5][4]float64{{10, 4, 70, 5}, {25, 4, 85, 2}, {40, 8, 60, 8}, {5, 1, 95, 3}, {20, 6, 85, 0}}
	if method == scheme.MethodBinary {
		data = [5][4]float64{{1, 0, 1, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}, {1, 1, 1, 0}, {0, 1, 0, 1}}
	}
	in := Input{Scheme: s, Values: map[string]map[string]Value{}}
	// Listed out of order on purpose: results come back by code.
	for _, i := range []int{3, 0, 4, 2, 1} {
		code := goldenRegions[i]
		in.Regions = append(in.Regions, region(code))
		in.Values[code] = map[string]Value{}
		for j, ind := range s.Indicators {
			in.Values[code][ind.Code] = verified(data[i][j])
		}
	}
	return in
}

var golden = map[string]goldenCase{
	"goalposts": {
		scores: [5][4]float64{
			{20.0, 40.0, 40.0, 50.0},
			{50.0, 40.0, 70.0, 80.0},
			{80.0, 80.0, 20.0, 20.0},
			{10.0, 10.0, 90.0, 70.0},
			{40.0, 60.0, 70.0, 100.0},
		},
		arithmetic: goldenAgg{
			dims:      [5][2]float64{{26.666666666666664, 45.0}, {46.66666666666666, 75.0}, {80.0, 20.0}, {10.0, 80.0}, {46.666666666666664, 85.0}},
			composite: [5]float64{34.0, 57.99999999999999, 56.0, 38.0, 62.0},
			ranks:     [5]int{5, 2, 3, 4, 1},
			grades:    [5]string{"fail", "fail", "fail", "fail", "pass"},
		},
		geometric: goldenAgg{
			dims:      [5][2]float64{{25.246666243296634, 44.7274534606947}, {46.42143985493828, 74.83534795858725}, {79.99999999999996, 20.0}, {10.000000000000002, 79.38034585643436}, {45.805747218314785, 83.68175718535842}},
			composite: [5]float64{31.772931919034512, 56.21811092154586, 46.20399212303755, 23.372246353528496, 58.33288339072889},
			ranks:     [5]int{4, 2, 3, 5, 1},
			grades:    [5]string{"fail", "fail", "fail", "fail", "fail"},
		},
	},
	"dtf": {
		scores: [5][4]float64{
			{25.0, 50.0, 40.0, 50.0},
			{62.5, 50.0, 70.0, 80.0},
			{100.0, 100.0, 20.0, 20.0},
			{12.5, 12.5, 90.0, 70.0},
			{50.0, 75.0, 70.0, 100.0},
		},
		arithmetic: goldenAgg{
			dims:      [5][2]float64{{33.33333333333333, 45.0}, {58.33333333333333, 75.0}, {99.99999999999999, 20.0}, {12.499999999999998, 80.0}, {58.33333333333333, 85.0}},
			composite: [5]float64{38.0, 65.0, 67.99999999999999, 39.5, 69.0},
			ranks:     [5]int{5, 3, 2, 4, 1},
			grades:    [5]string{"fail", "pass", "pass", "fail", "pass"},
		},
		geometric: goldenAgg{
			dims:      [5][2]float64{{31.546599818022905, 44.7274534606947}, {58.02543670018099, 74.83534795858725}, {99.99999999999993, 20.0}, {12.5, 79.38034585643436}, {57.252957784810945, 83.68175718535842}},
			composite: [5]float64{36.288437113705385, 64.24875041210414, 52.88657018572291, 26.558794051297372, 66.6560647768346},
			ranks:     [5]int{4, 2, 3, 5, 1},
			grades:    [5]string{"fail", "pass", "fail", "fail", "pass"},
		},
	},
	"binary": {
		scores: [5][4]float64{
			{100.0, 0.0, 100.0, 100.0},
			{100.0, 100.0, 0.0, 100.0},
			{0.0, 0.0, 100.0, 0.0},
			{100.0, 100.0, 100.0, 100.0},
			{0.0, 100.0, 0.0, 0.0},
		},
		arithmetic: goldenAgg{
			dims:      [5][2]float64{{66.66666666666666, 100.0}, {99.99999999999999, 50.0}, {0.0, 50.0}, {99.99999999999999, 100.0}, {33.33333333333333, 0.0}},
			composite: [5]float64{80.0, 79.99999999999999, 20.0, 99.99999999999999, 19.999999999999996},
			ranks:     [5]int{2, 2, 4, 1, 4},
			grades:    [5]string{"good", "good", "fail", "excellent", "fail"},
		},
		geometric: goldenAgg{
			dims:      [5][2]float64{{20.68773755577532, 100.00000000000003}, {99.99999999999993, 9.049875621120892}, {0.0, 9.049875621120892}, {99.99999999999993, 100.00000000000003}, {3.657009507803835, 0.0}},
			composite: [5]float64{39.128885573036875, 39.128885573036854, 1.516890229014066, 99.99999999999993, 1.5168902290140651},
			ranks:     [5]int{2, 2, 4, 1, 4},
			grades:    [5]string{"fail", "fail", "fail", "excellent", "fail"},
		},
	},
	"minmax": {
		scores: [5][4]float64{
			{14.285714285714285, 42.857142857142854, 28.57142857142857, 37.5},
			{57.14285714285714, 42.857142857142854, 71.42857142857143, 75.0},
			{100.0, 100.0, 0.0, 0.0},
			{0.0, 0.0, 100.0, 62.5},
			{42.857142857142854, 71.42857142857143, 71.42857142857143, 100.0},
		},
		arithmetic: goldenAgg{
			dims:      [5][2]float64{{23.809523809523807, 33.035714285714285}, {52.38095238095237, 73.21428571428572}, {99.99999999999999, 0.0}, {0.0, 81.25}, {52.38095238095238, 85.71428571428572}},
			composite: [5]float64{27.5, 60.714285714285715, 59.999999999999986, 32.5, 65.71428571428572},
			ranks:     [5]int{5, 2, 3, 4, 1},
			grades:    [5]string{"fail", "pass", "pass", "fail", "pass"},
		},
		geometric: goldenAgg{
			dims:      [5][2]float64{{20.720539271925052, 32.74166563760599}, {51.92705035851385, 73.19279903448466}, {99.99999999999993, 0.0}, {0.0, 79.08433055223722}, {50.83982539397383, 84.52944355183028}},
			composite: [5]float64{24.905320465043957, 59.58307558089111, 14.943836211226593, 4.7732321281593295, 62.33508776082158},
			ranks:     [5]int{3, 2, 4, 5, 1},
			grades:    [5]string{"fail", "fail", "fail", "fail", "pass"},
		},
	},
	"zscore": {
		scores: [5][4]float64{
			{37.82838761099631, 46.16517505576315, 39.18875044765329, 42.34869858252055},
			{56.08580619450184, 46.16517505576315, 57.20749970156447, 58.74434447711937},
			{74.34322477800738, 71.73067468400883, 27.17625094504584, 25.953052687921726},
			{31.742581416494463, 26.991050334578887, 69.21999920417193, 53.27912917891977},
			{50.0, 58.947924869885995, 57.20749970156447, 69.67477507351859},
		},
		z: [5][4]float64{
			{-0.7302967433402214, -0.230089496654211, -0.6486749731408025, 0.459078085048767},
			{0.3651483716701107, -0.230089496654211, 0.4324499820938683, -0.5246606686271623},
			{1.4605934866804429, 1.30384048104053, -1.3694249432972496, 1.4428168387246965},
			{-1.0954451150103321, -1.3805369799252667, 1.1531999522503154, -0.1967477507351859},
			{0.0, 0.5368754921931594, 0.4324499820938683, -1.1804865044111152},
		},
		arithmetic: goldenAgg{
			dims:      [5][2]float64{{40.60731675925192, 40.768724515086916}, {52.77892914825561, 57.97592208934192}, {73.47237474667453, 26.56465181648378}, {30.158737722522602, 61.24956419154584}, {52.98264162329532, 63.44113738754153}},
			composite: [5]float64{40.67187986158592, 54.857726324690134, 54.70928557459823, 42.5950683101319, 57.166039928993804},
			ranks:     [5]int{5, 2, 3, 4, 1},
			grades:    [5]string{"fail", "fail", "fail", "fail", "fail"},
		},
		geometric: goldenAgg{
			dims:      [5][2]float64{{40.42921660102118, 40.73883119546427}, {52.566414312780026, 57.97091582570251}, {73.46211057484327, 26.55786596001085}, {30.075277040653795, 60.7371882073268}, {52.823446314004364, 63.13892693988548}},
			composite: [5]float64{40.55278587756183, 54.66608707828074, 49.033333441339096, 39.89476753655171, 56.733990607865046},
			ranks:     [5]int{4, 2, 3, 5, 1},
			grades:    [5]string{"fail", "fail", "fail", "fail", "fail"},
		},
	},
	"rank": {
		scores: [5][4]float64{
			{25.0, 37.5, 25.0, 25.0},
			{75.0, 37.5, 62.5, 75.0},
			{100.0, 100.0, 0.0, 0.0},
			{0.0, 0.0, 100.0, 50.0},
			{50.0, 75.0, 62.5, 100.0},
		},
		arithmetic: goldenAgg{
			dims:      [5][2]float64{{29.166666666666664, 25.0}, {62.5, 68.75}, {99.99999999999999, 0.0}, {0.0, 75.0}, {58.33333333333333, 81.25}},
			composite: [5]float64{27.499999999999996, 65.0, 59.999999999999986, 30.0, 67.5},
			ranks:     [5]int{5, 2, 3, 4, 1},
			grades:    [5]string{"fail", "pass", "pass", "fail", "pass"},
		},
		geometric: goldenAgg{
			dims:      [5][2]float64{{28.634832381133577, 25.000000000000004}, {59.58465484452116, 68.46941773183362}, {99.99999999999993, 0.0}, {0.0, 70.77046746399245}, {57.252957784810945, 79.08433055223722}},
			composite: [5]float64{27.12359429563684, 62.99337955848603, 14.943836211226593, 4.5255855843941895, 65.16218033737275},
			ranks:     [5]int{3, 2, 4, 5, 1},
			grades:    [5]string{"fail", "pass", "fail", "fail", "pass"},
		},
	},
}

func TestGolden(t *testing.T) {
	methods := []string{scheme.MethodGoalposts, scheme.MethodDTF, scheme.MethodBinary, scheme.MethodMinMax, scheme.MethodZScore, scheme.MethodRank}
	for _, method := range methods {
		want := golden[method]
		for _, agg := range []string{scheme.AggregationArithmetic, scheme.AggregationGeometric} {
			t.Run(method+"/"+agg, func(t *testing.T) {
				res := mustEvaluate(t, goldenInput(method, agg), Options{})
				wantAgg := want.arithmetic
				if agg == scheme.AggregationGeometric {
					wantAgg = want.geometric
				}
				if len(res.Regions) != 5 {
					t.Fatalf("got %d regions, want 5", len(res.Regions))
				}
				for i, code := range goldenRegions {
					rr := &res.Regions[i]
					if rr.Code != code {
						t.Fatalf("region %d is %s, want %s (results are ordered by code)", i, rr.Code, code)
					}
					for j, ir := range rr.Indicators {
						assertNear(t, code+" "+ir.Code+" score", ir.Score.Value, want.scores[i][j])
						if method == scheme.MethodZScore {
							assertNear(t, code+" "+ir.Code+" z", ir.Z.Value, want.z[i][j])
						} else if ir.Z.Valid {
							t.Errorf("%s %s: z reported for method %s", code, ir.Code, method)
						}
					}
					for d := range 2 {
						assertNear(t, code+" "+rr.Dimensions[d].Code+" score", rr.Dimensions[d].Score.Value, wantAgg.dims[i][d])
					}
					assertNear(t, code+" composite", rr.Score.Value, wantAgg.composite[i])
					if rr.Rank != wantAgg.ranks[i] {
						t.Errorf("%s rank = %d, want %d", code, rr.Rank, wantAgg.ranks[i])
					}
					if rr.BandGrade != wantAgg.grades[i] || rr.Grade != wantAgg.grades[i] {
						t.Errorf("%s grade = %s/%s, want %s", code, rr.BandGrade, rr.Grade, wantAgg.grades[i])
					}
					assertNear(t, code+" weight X", rr.Dimensions[0].Weight, 0.6)
					assertNear(t, code+" weight I1", rr.Indicators[0].Weight, 0.4)
					assertNear(t, code+" weight I4", rr.Indicators[3].Weight, 0.2)
					assertContributions(t, rr)
				}
			})
		}
	}
}
