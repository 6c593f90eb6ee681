package questionnaire

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipeval/ipeval/internal/fault"
)

// codePattern is the form of every code in a questionnaire. Codes become
// column names of the upload template and keys of reports, so they are
// kept lower-case ASCII identifiers.
var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Bounds of an answer scale. Two points is the least that can express an
// opinion; eleven is the 0–10 scale of net-promoter questions. Answers are
// stored as uint8, far above either bound.
const (
	MinScale = 2
	MaxScale = 11
)

// problems collects the FieldErrors of one validation.
type problems []fault.FieldError

func (p *problems) add(path, code, zh, en string) {
	*p = append(*p, fault.Field(path, code, zh, en))
}

// Validate checks the questionnaire as a whole and returns a
// *fault.ValidationError listing every problem, each with its path
// (items[2].code, labels[0].value), a stable code and a message in Chinese
// and English; or nil. It checks the questionnaire as given: Parse applies
// defaults first, Validate does not, so a Questionnaire built in code must
// set Scale and every item's Weight.
func (q Questionnaire) Validate() error {
	var p problems
	checkCode(&p, "code", q.Code)
	required(&p, "name", q.Name, "名称不能为空", "name is required")
	if n := utf8.RuneCountInString(q.Name); n > MaxName {
		p.add("name", "too_long", fmt.Sprintf("名称不超过 %d 字", MaxName), fmt.Sprintf("the name takes at most %d characters", MaxName))
	}
	scaleOK := checkScale(&p, "scale", q.Scale)
	q.checkLabels(&p, scaleOK)
	q.checkTypes(&p)
	items := q.checkItems(&p)
	q.checkAttention(&p, items, scaleOK)
	q.checkText(&p)
	return fault.Invalid(p...)
}

func (q Questionnaire) checkLabels(p *problems, scaleOK bool) {
	values := map[int]int{}
	texts := map[string]int{}
	for i, l := range q.Labels {
		path := fmt.Sprintf("labels[%d]", i)
		switch {
		case scaleOK && (l.Value < 1 || l.Value > q.Scale):
			p.add(path+".value", "out_of_range",
				fmt.Sprintf("标签取值须在 1 到 %d 之间", q.Scale), fmt.Sprintf("label value must be between 1 and %d", q.Scale))
		default:
			if j, dup := values[l.Value]; dup {
				p.add(path+".value", "duplicate_value",
					fmt.Sprintf("取值 %d 已由 labels[%d] 命名", l.Value, j), fmt.Sprintf("value %d is already named by labels[%d]", l.Value, j))
			} else {
				values[l.Value] = i
			}
		}
		required(p, path+".text", l.Text, "标签文字不能为空", "label text is required")
		uniqueText(p, texts, i, path+".text", l.Text, "labels")
		uniqueText(p, texts, i, path+".text_en", l.TextEn, "labels")
		for _, f := range []struct{ field, text string }{{"text", l.Text}, {"text_en", l.TextEn}} {
			if _, err := strconv.Atoi(strings.TrimSpace(f.text)); err == nil {
				p.add(path+"."+f.field, "numeric_text", "标签文字不能是数字（否则与按数字填写的答案混淆）",
					"label text must not be a number (it would be confused with answers given as numbers)")
			}
		}
	}
}

func (q Questionnaire) checkTypes(p *problems) {
	if len(q.RespondentTypes) == 0 {
		p.add("respondent_types", "required", "至少需要一种受访者类型", "at least one respondent type is required")
	}
	codes := map[string]int{}
	texts := map[string]int{}
	for i, rt := range q.RespondentTypes {
		path := fmt.Sprintf("respondent_types[%d]", i)
		uniqueCode(p, codes, i, path+".code", rt.Code, "respondent_types")
		required(p, path+".name", rt.Name, "名称不能为空", "name is required")
		uniqueText(p, texts, i, path+".name", rt.Name, "respondent_types")
		uniqueText(p, texts, i, path+".name_en", rt.NameEn, "respondent_types")
	}
}

// Bounds of a questionnaire that storage relies on: a stored answer sheet
// keeps one character per item, and names fit their columns.
const (
	MaxItems = 200
	MaxName  = 191
)

// checkItems checks the items and returns the index of each item code.
func (q Questionnaire) checkItems(p *problems) map[string]int {
	if len(q.Items) == 0 {
		p.add("items", "required", "至少需要一个题目", "at least one item is required")
	}
	if len(q.Items) > MaxItems {
		p.add("items", "too_many", fmt.Sprintf("题目不超过 %d 个", MaxItems), fmt.Sprintf("at most %d items", MaxItems))
	}
	codes := map[string]int{}
	for i, it := range q.Items {
		path := fmt.Sprintf("items[%d]", i)
		uniqueCode(p, codes, i, path+".code", it.Code, "items")
		required(p, path+".text", it.Text, "题目文字不能为空", "item text is required")
		if it.Scale != 0 {
			checkScale(p, path+".scale", it.Scale)
		}
		switch {
		case math.IsNaN(it.Weight) || math.IsInf(it.Weight, 0):
			p.add(path+".weight", "not_finite", "权重必须是有限数值", "weight must be a finite number")
		case it.Weight <= 0:
			p.add(path+".weight", "out_of_range", "权重必须大于0", "weight must be greater than 0")
		}
		if it.Group != "" && !codePattern.MatchString(it.Group) {
			p.add(path+".group", "invalid_code",
				"题组代码须以小写字母开头，只含小写字母、数字或下划线（最多32位）："+it.Group,
				"group must start with a lower-case letter and hold only a-z, 0-9 or _ (at most 32): "+it.Group)
		}
	}
	return codes
}

func (q Questionnaire) checkAttention(p *problems, items map[string]int, scaleOK bool) {
	a := q.Attention
	if a == nil {
		return
	}
	if checkCode(p, "attention_check.code", a.Code) {
		if j, clash := items[a.Code]; clash {
			p.add("attention_check.code", "duplicate_code",
				fmt.Sprintf("注意力检测题代码 %s 与 items[%d] 重复", a.Code, j), fmt.Sprintf("attention check code %s repeats items[%d]", a.Code, j))
		}
	}
	required(p, "attention_check.text", a.Text, "注意力检测题文字不能为空", "attention check text is required")
	if scaleOK && (a.Expect < 1 || a.Expect > q.Scale) {
		p.add("attention_check.expect", "out_of_range",
			fmt.Sprintf("期望答案须在 1 到 %d 之间", q.Scale), fmt.Sprintf("expected answer must be between 1 and %d", q.Scale))
	}
}

// checkCode reports an empty or malformed code and returns whether it is
// well formed.
func checkCode(p *problems, path, code string) bool {
	switch {
	case strings.TrimSpace(code) == "":
		p.add(path, "required", "代码不能为空", "code is required")
		return false
	case !codePattern.MatchString(code):
		p.add(path, "invalid_code", "代码须以小写字母开头，只含小写字母、数字或下划线（最多32位）："+code,
			"code must start with a lower-case letter and hold only a-z, 0-9 or _ (at most 32): "+code)
		return false
	}
	return true
}

// checkScale reports a scale outside MinScale..MaxScale and returns whether
// it may bound answers.
func checkScale(p *problems, path string, k int) bool {
	if k < MinScale || k > MaxScale {
		p.add(path, "out_of_range",
			fmt.Sprintf("量表点数须在 %d 到 %d 之间", MinScale, MaxScale), fmt.Sprintf("scale must have between %d and %d points", MinScale, MaxScale))
		return false
	}
	return true
}

func required(p *problems, path, text, zh, en string) {
	if strings.TrimSpace(text) == "" {
		p.add(path, "required", zh, en)
	}
}

// uniqueCode checks code and records it as element i of list, or reports
// that an earlier element has it.
func uniqueCode(p *problems, seen map[string]int, i int, path, code, list string) {
	if !checkCode(p, path, code) {
		return
	}
	if j, dup := seen[code]; dup {
		p.add(path, "duplicate_code",
			fmt.Sprintf("代码 %s 与 %s[%d] 重复", code, list, j), fmt.Sprintf("code %s repeats %s[%d]", code, list, j))
		return
	}
	seen[code] = i
}

// uniqueText reports text (if any) when another element i of list already
// uses it. Uploads may give an answer or a respondent type by any of its
// texts, Chinese or English, so two elements sharing one would make such an
// answer ambiguous.
func uniqueText(p *problems, seen map[string]int, i int, path, text, list string) {
	key := fold(text)
	if key == "" {
		return
	}
	if j, ok := seen[key]; ok && j != i {
		p.add(path, "duplicate_text",
			fmt.Sprintf("文字“%s”已由 %s[%d] 使用", strings.TrimSpace(text), list, j),
			fmt.Sprintf("text %q is already used by %s[%d]", strings.TrimSpace(text), list, j))
		return
	}
	seen[key] = i
}

// fold is the form in which texts are matched: trimmed and, for the
// English texts, case-insensitive (Chinese has no case).
func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
