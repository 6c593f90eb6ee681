package responsefile

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// colKind is what a column holds; the row reader switches on it instead
// of comparing target names per cell.
type colKind uint8

const (
	colIgnore colKind = iota
	colItem
	colAttention
	colRegion
	colType
	colID
	colContact
	colSeconds
	colSubmitted
)

// metaKind maps a metadata target to its kind.
func metaKind(target string) (colKind, bool) {
	switch target {
	case TargetRegion:
		return colRegion, true
	case TargetRespondentType:
		return colType, true
	case TargetRespondentID:
		return colID, true
	case TargetContact:
		return colContact, true
	case TargetSeconds:
		return colSeconds, true
	case TargetSubmittedAt:
		return colSubmitted, true
	}
	return colIgnore, false
}

// metaName names the metadata targets in Chinese and English, for
// messages and the template's notes.
func metaName(target string) (zh, en string) {
	switch target {
	case TargetRegion:
		return "地区", "region"
	case TargetRespondentType:
		return "受访者类型", "respondent type"
	case TargetRespondentID:
		return "答卷编号", "respondent id"
	case TargetContact:
		return "联系方式", "contact"
	case TargetSeconds:
		return "答题用时", "completion time"
	case TargetSubmittedAt:
		return "提交时间", "submission time"
	}
	return target, target
}

// metaAliases lists, per metadata target, the header texts the survey
// tools use, best first: when a file has two of them (KoboToolbox exports
// both _id and _uuid, both end and _submission_time) the better one is
// used and the other ignored.
func metaAliases() map[string][]string {
	return map[string][]string{
		TargetRegion:         {"region_code", "地区", "地区代码", "区域", "所属地区", "城市", "市"},
		TargetRespondentType: {"受访者类型", "类型", "单位类型", "身份"},
		TargetRespondentID:   {"id", "序号", "答卷编号", "编号", "response id", "_id", "_uuid", "instanceID"},
		TargetContact:        {"phone", "mobile", "email", "手机", "手机号", "电话", "联系电话", "邮箱"},
		TargetSeconds:        {"duration", "所用时间", "答题时长", "用时", "interviewtime"},
		TargetSubmittedAt:    {"submitted", "提交答卷时间", "提交时间", "submitdate", "submissiondate", "_submission_time", "end"},
	}
}

// kobotoolboxUTC is the KoboToolbox column whose zone-less timestamps are
// in UTC, not in the project's zone.
const kobotoolboxUTC = "_submission_time"

// target is a resolved column target.
type target struct {
	name string
	kind colKind
	item int // index in Questionnaire.Items for colItem
}

// candidate is how strongly a header matches a target: rank 0 is an exact
// code or canonical name, higher ranks weaker aliases; mapped columns win
// over any automatic match.
type candidate struct {
	target target
	rank   int
	mapped bool
}

// matcher resolves header texts for one questionnaire and mapping.
type matcher struct {
	q       questionnaire.Questionnaire
	targets map[string]target    // target name → target
	auto    map[string]candidate // normalised header → automatic match
	exact   map[string]string    // mapping by trimmed header
	folded  map[string]string    // mapping by normalised header
}

func newMatcher(q questionnaire.Questionnaire, m Mapping) *matcher {
	mt := &matcher{q: q, targets: map[string]target{}, auto: map[string]candidate{},
		exact: map[string]string{}, folded: map[string]string{}}
	for _, name := range metaTargets() {
		k, _ := metaKind(name)
		mt.targets[name] = target{name: name, kind: k}
	}
	for i, it := range q.Items {
		mt.targets[it.Code] = target{name: it.Code, kind: colItem, item: i}
	}
	if q.Attention != nil {
		mt.targets[q.Attention.Code] = target{name: q.Attention.Code, kind: colAttention}
	}
	add := func(key string, t target, rank int) {
		if key == "" {
			return
		}
		if old, ok := mt.auto[key]; ok && old.rank <= rank {
			return
		}
		mt.auto[key] = candidate{target: t, rank: rank}
	}
	// Codes and canonical names first, then texts, then aliases: on a
	// clash of keys the stronger match keeps the key.
	for _, name := range metaTargets() {
		add(norm(name), mt.targets[name], 0)
	}
	for _, it := range q.Items {
		add(norm(it.Code), mt.targets[it.Code], 0)
	}
	if q.Attention != nil {
		add(norm(q.Attention.Code), mt.targets[q.Attention.Code], 0)
	}
	for _, it := range q.Items {
		for _, text := range []string{it.Text, it.TextEn} {
			add(norm(text), mt.targets[it.Code], 1)
			add(strip(norm(text)), mt.targets[it.Code], 1)
		}
	}
	if a := q.Attention; a != nil {
		for _, text := range []string{a.Text, a.TextEn} {
			add(norm(text), mt.targets[a.Code], 1)
			add(strip(norm(text)), mt.targets[a.Code], 1)
		}
	}
	for name, aliases := range metaAliases() {
		for i, alias := range aliases {
			add(norm(alias), mt.targets[name], i+1)
		}
	}
	for h, t := range m.Columns {
		h = trim(h)
		mt.exact[h] = t
		mt.folded[norm(h)] = t
	}
	return mt
}

// match returns what a header cell maps to; ok is false for a column to
// ignore.
func (mt *matcher) match(header string) (candidate, bool) {
	if header == "" {
		return candidate{}, false
	}
	name, mapped := mt.exact[header]
	if !mapped {
		name, mapped = mt.folded[norm(header)]
	}
	if mapped {
		t, ok := mt.targets[name]
		return candidate{target: t, mapped: true}, ok && name != ""
	}
	for _, key := range headerCandidates(norm(header)) {
		if c, ok := mt.auto[key]; ok {
			return c, true
		}
	}
	return candidate{}, false
}

// layout is a resolved header: which column feeds what.
type layout struct {
	row     int // row of the header
	width   int // cells in the header row
	cols    []column
	columns map[string]string // Summary.Columns
	// utcSubmitted: the submission time is KoboToolbox's, in UTC.
	utcSubmitted bool
	hasContact   bool
	matched      int // targets resolved, to pick the best of several candidate rows
}

// column is one used column.
type column struct {
	idx    int
	header string
	target target
}

// resolve reads a header row. It returns the layout and the problems that
// make the row unusable as the header (missing or doubled columns).
func (mt *matcher) resolve(row int, cells []string) (layout, []fault.FieldError) {
	lay := layout{row: row, width: len(cells), columns: map[string]string{}}
	byTarget := map[string][]found{}
	var order []string
	for i, raw := range cells {
		h := trim(raw)
		c, ok := mt.match(h)
		if !ok {
			continue
		}
		if _, seen := byTarget[c.target.name]; !seen {
			order = append(order, c.target.name)
		}
		byTarget[c.target.name] = append(byTarget[c.target.name], found{idx: i, header: h, c: c})
	}
	var errs []fault.FieldError
	clashed := map[string]bool{}
	for _, name := range order {
		fs := byTarget[name]
		best := pick(fs)
		if len(best) > 1 {
			errs = append(errs, mt.duplicate(row, best[0].header, best[1].header, best[0].c.target))
			clashed[name] = true
			continue
		}
		f := best[0]
		lay.cols = append(lay.cols, column{idx: f.idx, header: f.header, target: f.c.target})
		lay.columns[f.header] = name
		if f.c.target.kind == colSubmitted && norm(f.header) == kobotoolboxUTC {
			lay.utcSubmitted = true
		}
		if f.c.target.kind == colContact {
			lay.hasContact = true
		}
	}
	slices.SortFunc(lay.cols, func(a, b column) int { return a.idx - b.idx })
	lay.matched = len(lay.cols) + len(clashed)
	if missing := mt.missing(lay, clashed); len(missing) > 0 {
		errs = append(errs, mt.missingError(row, missing))
	}
	return lay, errs
}

// pick chooses among the columns that resolve to one target: mapped
// columns beat automatic matches; among automatic matches of a metadata
// target the best-ranked alias wins. More than one left is a clash, as is
// any second column for an item, whose answers cannot be guessed.
func pick(fs []found) []found {
	var mapped []found
	for _, f := range fs {
		if f.c.mapped {
			mapped = append(mapped, f)
		}
	}
	if len(mapped) > 0 {
		return mapped
	}
	if !isMeta(fs[0].c.target) {
		return fs
	}
	minRank := fs[0].c.rank
	for _, f := range fs {
		minRank = min(minRank, f.c.rank)
	}
	var out []found
	for _, f := range fs {
		if f.c.rank == minRank {
			out = append(out, f)
		}
	}
	return out
}

// found is a header cell that resolved to a target.
type found struct {
	idx    int
	header string
	c      candidate
}

func isMeta(t target) bool {
	return t.kind != colItem && t.kind != colAttention
}

// required lists the targets every file must have.
func (mt *matcher) required() []string {
	out := []string{TargetRegion, TargetRespondentType}
	for _, it := range mt.q.Items {
		if !it.Optional {
			out = append(out, it.Code)
		}
	}
	if mt.q.Attention != nil {
		out = append(out, mt.q.Attention.Code)
	}
	return out
}

// missing lists the required targets no column resolves to; a target with
// clashing columns is not missing, it is doubled.
func (mt *matcher) missing(lay layout, clashed map[string]bool) []string {
	have := map[string]bool{}
	for name := range clashed {
		have[name] = true
	}
	for _, c := range lay.cols {
		have[c.target.name] = true
	}
	var out []string
	for _, name := range mt.required() {
		if !have[name] {
			out = append(out, name)
		}
	}
	return out
}

// describe names a target for people: "region" / "地区（region）" for
// metadata, "convenience (服务便捷性)" / "服务便捷性（convenience）" for items.
func (mt *matcher) describe(name string) (zh, en string) {
	if _, ok := metaKind(name); ok {
		zh, _ := metaName(name)
		return zh + "（" + name + "）", name
	}
	text := ""
	if t, ok := mt.targets[name]; ok && t.kind == colItem {
		text = mt.q.Items[t.item].Text
	} else if a := mt.q.Attention; a != nil && a.Code == name {
		text = a.Text
	}
	if text == "" {
		return name, name
	}
	return text + "（" + name + "）", name + " (" + text + ")"
}

func (mt *matcher) missingError(row int, missing []string) fault.FieldError {
	zh := make([]string, len(missing))
	en := make([]string, len(missing))
	for i, name := range missing {
		zh[i], en[i] = mt.describe(name)
	}
	return fault.FieldError{Row: row, Field: "columns", Code: "missing_columns",
		Message: "表头缺少以下列：" + strings.Join(zh, "、") +
			"。请核对列名（可使用模板中的列名、题目编码或题目文字），或为本项目保存列映射",
		MessageEn: "missing columns: " + strings.Join(en, ", ") +
			"; check the column names (the template's names, item codes or item texts work) or save a column mapping for the project"}
}

func (mt *matcher) duplicate(row int, a, b string, t target) fault.FieldError {
	zh, en := mt.describe(t.name)
	a, b = textenc.Clip(a, 60), textenc.Clip(b, 60)
	return fault.FieldError{Row: row, Column: b, Field: t.name, Code: "duplicate_column",
		Message:   fmt.Sprintf("“%s”和“%s”两列都对应 %s；请删除其中一列，或在列映射中忽略其一", a, b, zh),
		MessageEn: fmt.Sprintf("columns %q and %q both map to %s; remove one, or ignore one in the column mapping", a, b, en)}
}

// Validate checks a mapping before it is saved, so that a project never
// holds a mapping that would make every upload fail: every target must be
// known to the questionnaire and none mapped twice.
func (m Mapping) Validate(q questionnaire.Questionnaire) error {
	mt := newMatcher(q, Mapping{})
	headers := make([]string, 0, len(m.Columns))
	for h := range m.Columns {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	seen := map[string]string{}
	var errs []fault.FieldError
	for _, h := range headers {
		name := m.Columns[h]
		field := "columns[" + h + "]"
		hc := textenc.Clip(h, 60)
		// Text: a header written with Alt+Enter holds a line break.
		guard := textguard.Check(field, h, textguard.Text)
		switch _, known := mt.targets[name]; {
		case trim(h) == "":
			errs = append(errs, fault.Field(field, "empty_header", "列名不能为空", "the column name is empty"))
		case guard != nil:
			errs = append(errs, *guard)
		case name == "":
		case !known:
			errs = append(errs, fault.Field(field, "unknown_target",
				fmt.Sprintf("列“%s”映射到未知的目标“%s”（应为地区、受访者类型等字段名或题目编码）", hc, textenc.Clip(name, 60)),
				fmt.Sprintf("column %q maps to the unknown target %q (expected a field name such as region, or an item code)", hc, textenc.Clip(name, 60))))
		default:
			if prev, dup := seen[name]; dup {
				zh, en := mt.describe(name)
				errs = append(errs, fault.Field(field, "duplicate_target",
					fmt.Sprintf("列“%s”和“%s”都映射到 %s", textenc.Clip(prev, 60), hc, zh),
					fmt.Sprintf("columns %q and %q both map to %s", textenc.Clip(prev, 60), hc, en)))
				continue
			}
			seen[name] = h
		}
	}
	return fault.Invalid(errs...)
}
