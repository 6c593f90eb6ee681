package responsefile

import (
	"testing"
	"time"

	"github.com/ipeval/ipeval/surveys/questionnaire"
)

func testLabels(tb testing.TB) labelSet {
	tb.Helper()
	return newLabelSet([]labelText{
		{5, "非常满意", "Very satisfied"}, {4, "满意", "Satisfied"}, {3, "基本满意", "Fairly satisfied"},
		{2, "不满意", "Dissatisfied"}, {1, "非常不满意", "Very dissatisfied"},
	})
}

func TestAnswer(t *testing.T) {
	labels := testLabels(t)
	for _, tc := range []struct {
		in     string
		labels labelSet
		want   int
		code   int
	}{
		{"5", labels, 5, answerOK},
		{" 4 ", labels, 4, answerOK},
		{"5.0", labels, 5, answerOK},
		{"３", labels, 0, answerUnknownLabel}, // full-width digits are not folded for answers
		{"4分", labels, 4, answerOK},
		{"4.5", labels, 0, answerOutOfScale},
		{"6", labels, 0, answerOutOfScale},
		{"0", labels, 0, answerOutOfScale},
		{"-1", labels, 0, answerOutOfScale},
		{"", labels, 0, answerBlank},
		{"　", labels, 0, answerBlank},
		{"(跳过)", labels, 0, answerBlank},
		{"非常满意", labels, 5, answerOK},
		{"very SATISFIED", labels, 5, answerOK},
		{"Ｖｅｒｙ satisfied", labels, 5, answerOK},
		{"5 非常满意", labels, 5, answerOK},
		{"5.非常满意", labels, 5, answerOK},
		{"2、不满意", labels, 2, answerOK},
		{"非常满意(5)", labels, 5, answerOK},
		{"满意（4）", labels, 4, answerOK},
		{"满意 4", labels, 4, answerOK},
		{"5 不满意", labels, 0, answerMismatch},
		{"不满意(5)", labels, 0, answerMismatch},
		{"9 非常满意", labels, 0, answerOutOfScale},
		{"5 好", labels, 0, answerUnknownLabel},
		{"还行", labels, 0, answerUnknownLabel},
		{"非常满意", nil, 0, answerUnknownLabel}, // an item on another scale
		{"NaN", labels, 0, answerUnknownLabel},
		{"1e0", labels, 0, answerUnknownLabel},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, code := answer(tc.in, 5, tc.labels)
			if got != tc.want || code != tc.code {
				t.Fatalf("answer(%q) = %d, %d; want %d, %d", tc.in, got, code, tc.want, tc.code)
			}
		})
	}
	if v, code := answer("7", 7, nil); v != 7 || code != answerOK {
		t.Fatalf("7 on a 7-point item = %d, %d", v, code)
	}
}

func TestParseSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"125", 125, true},
		{"125.5", 125.5, true},
		{"125秒", 125, true},
		{"125 s", 125, true},
		{"2分5秒", 125, true},
		{"2分钟5秒", 125, true},
		{"1小时2分5秒", 3725, true},
		{"1时0分", 3600, true},
		{"2m5s", 125, true},
		{"00:02:05", 125, true},
		{"2:05", 125, true},
		{"1:00:00.5", 3600.5, true},
		{"-5", -5, true}, // negative is read, and refused by the caller
		{"00:61", 0, false},
		{"2分5", 0, false},
		{"很快", 0, false},
		{"5 apples", 0, false},
		{":", 0, false},
		{"1:-1", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseSeconds(tc.in)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("parseSeconds(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	at := func(y, mo, d, h, mi, s int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, s, 0, loc) }
	csv := timeParser{loc: loc}
	xlsx := timeParser{loc: loc, twoDigitYears: true}
	for _, tc := range []struct {
		in   string
		p    timeParser
		want time.Time
		ok   bool
	}{
		{"2024-05-01 10:30:00", csv, at(2024, 5, 1, 10, 30, 0), true},
		{"2024/5/1 9:05:07", csv, at(2024, 5, 1, 9, 5, 7), true},
		{"2024/5/1 9:05", csv, at(2024, 5, 1, 9, 5, 0), true},
		{"2024.05.01", csv, at(2024, 5, 1, 0, 0, 0), true},
		{"2024-05-01", csv, at(2024, 5, 1, 0, 0, 0), true},
		{"2024年5月1日", csv, at(2024, 5, 1, 0, 0, 0), true},
		{"2024年5月1日 10:30:00", csv, at(2024, 5, 1, 10, 30, 0), true},
		{"2024-05-01 10:30:00.250", csv, at(2024, 5, 1, 10, 30, 0).Add(250 * time.Millisecond), true},
		{"2024-05-01T02:30:00Z", csv, at(2024, 5, 1, 10, 30, 0), true},
		{"2024-05-01T10:30:00.000+08:00", csv, at(2024, 5, 1, 10, 30, 0), true},
		{"2024-05-01T10:30:00", csv, at(2024, 5, 1, 10, 30, 0), true},
		{"45413.4375", csv, at(2024, 5, 1, 10, 30, 0), true},
		{"45413", csv, at(2024, 5, 1, 0, 0, 0), true},
		{"05-01-24", xlsx, at(2024, 5, 1, 0, 0, 0), true},
		{"5/1/24 10:30", xlsx, at(2024, 5, 1, 10, 30, 0), true},
		{"05-01-24", csv, time.Time{}, false},
		{"2024-02-30", csv, time.Time{}, false},
		{"2024-13-01", csv, time.Time{}, false},
		{"2024-05-01 24:00:00", csv, time.Time{}, false},
		{"2024-05-01 10", csv, time.Time{}, false},
		{"-45413", csv, time.Time{}, false},
		{"0", csv, time.Time{}, false},
		{"tomorrow", csv, time.Time{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := tc.p.parse(tc.in)
			if ok != tc.ok || (ok && !got.Equal(tc.want)) {
				t.Fatalf("parse(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestHeaderMatch(t *testing.T) {
	q := questionnaire.Questionnaire{
		Scale: 5,
		Items: []questionnaire.Item{
			{Code: "convenience", Text: "服务便捷性", TextEn: "Convenience of service"},
			{Code: "hotline", Text: "12345热线服务"},
			{Code: "info", Text: "信息资源获取（检索、数据库等）"},
			{Code: "long", Text: "您对办理知识产权公共服务事项的便捷程度（办事渠道、手续、线上办理）是否满意？",
				TextEn: "How satisfied are you with how convenient it is to obtain IP public services (channels, procedures, online handling)?"},
		},
		Attention: &questionnaire.AttentionCheck{Code: "att", Text: "本题请选择“不满意”"},
	}
	mt := newMatcher(q, Mapping{Columns: map[string]string{"城市": "", "Q9": "info"}})
	for _, tc := range []struct{ header, want string }{
		{"convenience", "convenience"},
		{"CONVENIENCE", "convenience"},
		{"ｃｏｎｖｅｎｉｅｎｃｅ", "convenience"},
		{"服务便捷性", "convenience"},
		{"1、服务便捷性", "convenience"},
		{"1. 服务便捷性", "convenience"},
		{"Q1.服务便捷性", "convenience"},
		{"q1_服务便捷性", "convenience"},
		{"（1）服务便捷性", "convenience"},
		{"第1题 服务便捷性", "convenience"},
		{"第1题：服务便捷性", "convenience"},
		{"一、服务便捷性", "convenience"},
		{"1.2 服务便捷性", "convenience"},
		{"1、服务便捷性(单选)", "convenience"},
		{"1、服务便捷性（单选题）", "convenience"},
		{"1、服务便捷性【必答】*", "convenience"},
		{"Convenience of Service", "convenience"},
		{"5(服务便捷性)", "convenience"},
		{"q5[convenience]", "convenience"},
		{"7、请您评价以下方面—服务便捷性", "convenience"},
		{"group_sat/convenience", "convenience"},
		{"3、12345热线服务", "hotline"},
		{"12345热线服务", "hotline"},
		{"信息资源获取（检索、数据库等）", "info"},
		{"2、信息资源获取（检索、数据库等）", "info"},
		{"Q9", "info"},
		{"4、您对办理知识产权公共服务事项的便捷程度（办事渠道、手续、线上办理）是否满意？", "long"},
		{"4、您对办理知识产权公共服务事项的便捷程度(办事渠道、手续、线上办理)是否满意?(单选题)", "long"},
		{"How satisfied are you with how convenient it is to obtain IP public services (channels, procedures, online handling)?", "long"},
		{"q9", "info"},
		{"9、本题请选择“不满意”", "att"},
		{"region", TargetRegion},
		{"所属地区", TargetRegion},
		{"城市", ""}, // ignored by the mapping
		{"meta/instanceID", TargetRespondentID},
		{"meta-instanceID", TargetRespondentID},
		{"SubmissionDate", TargetSubmittedAt},
		{"Response ID", TargetRespondentID},
		{"interviewtime", TargetSeconds},
		{"联系电话", TargetContact},
		{"来源", ""},
		{"来自IP", ""},
		{"", ""},
	} {
		t.Run(tc.header, func(t *testing.T) {
			c, ok := mt.match(trim(tc.header))
			got := ""
			if ok {
				got = c.target.name
			}
			if got != tc.want {
				t.Fatalf("match(%q) = %q; want %q", tc.header, got, tc.want)
			}
		})
	}
}

func TestResolvePrefersBetterAlias(t *testing.T) {
	q := questionnaire.Questionnaire{Scale: 5, Items: []questionnaire.Item{{Code: "a", Text: "甲"}},
		RespondentTypes: []questionnaire.RespondentType{{Code: "x", Name: "X"}}}
	mt := newMatcher(q, Mapping{})
	lay, errs := mt.resolve(1, []string{"城市", "地区", "类型", "a", "end", "_submission_time", "_uuid", "_id"})
	if len(errs) != 0 {
		t.Fatalf("errors: %+v", errs)
	}
	want := map[string]string{"地区": TargetRegion, "类型": TargetRespondentType, "a": "a",
		"_submission_time": TargetSubmittedAt, "_id": TargetRespondentID}
	if len(lay.columns) != len(want) {
		t.Fatalf("columns = %v; want %v", lay.columns, want)
	}
	for h, tg := range want {
		if lay.columns[h] != tg {
			t.Fatalf("columns = %v; want %v", lay.columns, want)
		}
	}
	if !lay.utcSubmitted {
		t.Fatal("_submission_time is not read as UTC")
	}
	if _, errs := mt.resolve(1, []string{"地区", "类型", "a", "甲"}); len(errs) != 1 || errs[0].Code != "duplicate_column" {
		t.Fatalf("two columns for one item: %+v", errs)
	}
}

func TestNormaliseContact(t *testing.T) {
	for in, want := range map[string]string{
		"+86 138-0013-8000": "13800138000",
		"0086 13800138000":  "13800138000",
		"(0351) 1234567":    "03511234567",
		"861380013800":      "861380013800", // 12 digits: not a mobile with a country code
		" A@B.cn ":          "a@b.cn",
		"a＠b.cn":            "a@b.cn",
		"无":                 "",
	} {
		if got := string(normaliseContact(nil, in)); got != want {
			t.Errorf("normaliseContact(%q) = %q; want %q", in, got, want)
		}
	}
}
