package responsefile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// Read streams an upload row by row: it resolves the header row (Mapping
// first, then automatic matching), checks every row against rules and
// calls emit for each valid row. The *Response passed to emit and its
// Answers slice are reused: emit must copy what it keeps (its strings may
// be kept as they are). A row with problems is not emitted; the caller
// (which stores a batch atomically) treats Summary.ProblemCount > 0 as
// refusal of the whole batch. progress (may be nil) is called now and then
// with bytes consumed and size.
//
// Read returns an error — a *fault.ValidationError, or an error wrapping
// fault.ErrBadRequest — for file-level failures: not a CSV/XLSX of the
// claimed format, truncated or corrupt XLSX, zip bomb, text that is neither
// UTF-8 nor GB18030, an empty file, a file with only a header row, a header
// row that matches no mapping (the error names the columns it expected),
// too many columns. An emit error stops the read and is returned wrapped,
// as is ctx's error when it is cancelled. The Summary is returned in every
// case, for what was read.
//
// m is validated first. Of two columns that match one metadata target
// automatically, the better-ranked alias is used (KoboToolbox exports both
// _id and _uuid); columns of equal rank, or two for one item, are an
// error. A file with a contact column needs Rules.ContactKey; without one
// Read fails with a plain (server-side) error rather than store a hash
// anyone could reverse.
func Read(ctx context.Context, r io.ReadSeeker, size int64, format string, rules Rules, m Mapping,
	emit func(*questionnaire.Response) error, progress func(done, total int64)) (Summary, error) {
	if err := m.Validate(rules.Questionnaire); err != nil {
		return Summary{}, err
	}
	rr, err := newRowReader(ctx, rules, m, emit, progress, size)
	if err != nil {
		return Summary{}, err
	}
	switch format {
	case FormatCSV:
		err = readCSV(r, rr)
	case FormatXLSX:
		err = readXLSX(r, size, rr)
	default:
		return Summary{}, fault.With(fault.ErrUnsupportedMedia, fmt.Sprintf("unknown file format %q", format),
			fmt.Sprintf("未知的文件格式“%s”", textenc.Clip(format, 20)), nil)
	}
	if err == nil && rr.progress != nil {
		rr.progress(size, size)
	}
	return rr.summary(), err
}

// rowReader checks rows, whatever file they come from.
type rowReader struct {
	ctx      context.Context
	mt       *matcher
	q        questionnaire.Questionnaire
	emit     func(*questionnaire.Response) error
	progress func(done, total int64)
	size     int64

	scales     []int      // per item, its k
	itemLabels []labelSet // per item, nil when the labels do not fit its scale
	attScale   int
	attLabels  labelSet
	regions    map[string]string   // code or unique name → code
	ambiguous  map[string][]string // name of several regions → their codes
	project    map[string]bool
	knownNames map[string]string // code → name
	types      map[string]string // code or name (as written and lower case) → code
	typeList   string            // for messages
	times      timeParser
	utcTimes   timeParser
	loc        *time.Location // for messages
	start, end time.Time
	hasher     *contactHasher

	// Header state: lay is nil until the header row is found.
	lay      *layout
	attempts int
	best     layout
	bestErrs []fault.FieldError

	csv         bool
	resp        questionnaire.Response
	sum         Summary
	maxProblems int
}

func newRowReader(ctx context.Context, rules Rules, m Mapping, emit func(*questionnaire.Response) error,
	progress func(done, total int64), size int64) (*rowReader, error) {
	q := rules.Questionnaire
	if len(q.Items) == 0 {
		return nil, errors.New("responsefile: the questionnaire has no items")
	}
	if emit == nil {
		emit = func(*questionnaire.Response) error { return nil }
	}
	rr := &rowReader{ctx: ctx, mt: newMatcher(q, m), q: q, emit: emit, progress: progress, size: size,
		project: rules.Project, knownNames: rules.Known, start: rules.WindowStart, end: rules.WindowEnd,
		maxProblems: rules.MaxProblems}
	if rr.maxProblems <= 0 {
		rr.maxProblems = defaultMaxProblems
	}
	base := q.Scale
	if base == 0 {
		base = 5
	}
	var texts []labelText
	for _, l := range q.Labels {
		if l.Value >= 1 && l.Value <= base {
			texts = append(texts, labelText{value: uint8(l.Value), text: l.Text, textEn: l.TextEn})
		}
	}
	labels := newLabelSet(texts)
	for _, it := range q.Items {
		k := it.Scale
		if k == 0 {
			k = base
		}
		if k < 2 || k > 100 {
			return nil, fmt.Errorf("responsefile: item %s has a scale of %d points", it.Code, k)
		}
		rr.scales = append(rr.scales, k)
		if k == base {
			rr.itemLabels = append(rr.itemLabels, labels)
		} else {
			rr.itemLabels = append(rr.itemLabels, nil)
		}
	}
	rr.attScale, rr.attLabels = base, labels
	rr.regions = make(map[string]string, 2*len(rules.Known))
	rr.ambiguous = map[string][]string{}
	for code, name := range rules.Known {
		if name = trim(name); name == "" {
			continue
		}
		if other, dup := rr.regions[name]; dup {
			rr.ambiguous[name] = append(rr.ambiguous[name], other)
		}
		if _, dup := rr.ambiguous[name]; dup {
			rr.ambiguous[name] = append(rr.ambiguous[name], code)
			delete(rr.regions, name)
			continue
		}
		rr.regions[name] = code
	}
	for code := range rules.Known {
		rr.regions[code] = code
	}
	rr.types = map[string]string{}
	var names []string
	for _, t := range q.RespondentTypes {
		for _, s := range []string{t.NameEn, t.Name, t.Code} {
			if s != "" {
				rr.types[s] = t.Code
				rr.types[strings.ToLower(s)] = t.Code
			}
		}
		names = append(names, t.Name)
	}
	rr.typeList = strings.Join(names, "/")
	loc := rules.Location
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation("Asia/Shanghai"); err != nil {
			loc = time.FixedZone("CST", 8*3600)
		}
	}
	rr.loc = loc
	rr.times = timeParser{loc: loc}
	rr.utcTimes = timeParser{loc: time.UTC}
	if len(rules.ContactKey) > 0 {
		rr.hasher = newContactHasher(rules.ContactKey)
	}
	rr.resp.Answers = make([]uint8, len(q.Items))
	return rr, nil
}

func (rr *rowReader) summary() Summary {
	s := rr.sum
	if rr.lay != nil {
		s.Columns = rr.lay.columns
	}
	return s
}

// blank reports whether every cell is empty.
func blank(cells []string) bool {
	for _, c := range cells {
		if trim(c) != "" {
			return false
		}
	}
	return true
}

// row takes one row of the file; n is its row number as a spreadsheet
// shows it (the header of a plain export is 1).
func (rr *rowReader) row(n int, cells []string) error {
	if blank(cells) {
		return nil
	}
	if rr.lay == nil {
		return rr.header(n, cells)
	}
	if rr.sum.Rows++; rr.sum.Rows > maxDataRows {
		return errTooManyRows()
	}
	if rr.sum.Rows&1023 == 0 {
		if err := rr.ctx.Err(); err != nil {
			return fmt.Errorf("responsefile: %w", err)
		}
	}
	if rr.check(n, cells) {
		rr.sum.Valid++
		if err := rr.emit(&rr.resp); err != nil {
			return fmt.Errorf("responsefile: row %d: %w", n, err)
		}
	}
	return nil
}

// header tries a row as the header. Rows that do not resolve every
// required column may be titles above it, so up to headerScan rows are
// tried; if none fits, the problems of the best fit are the error.
func (rr *rowReader) header(n int, cells []string) error {
	if len(cells) > maxColumns {
		return errTooManyColumns(n)
	}
	lay, errs := rr.mt.resolve(n, cells)
	missing := false
	for _, e := range errs {
		missing = missing || e.Code == "missing_columns"
	}
	if !missing {
		if len(errs) > 0 {
			return fault.Invalid(errs...)
		}
		if lay.hasContact && rr.hasher == nil {
			return errors.New("responsefile: the file has a contact column but Rules.ContactKey is empty")
		}
		if lay.utcSubmitted {
			rr.times = rr.utcTimes
		}
		rr.lay = &lay
		return nil
	}
	if rr.attempts == 0 || lay.matched > rr.best.matched {
		rr.best, rr.bestErrs = lay, errs
	}
	if rr.attempts++; rr.attempts >= headerScan {
		return fault.Invalid(rr.bestErrs...)
	}
	return nil
}

// finish reports a file that ended before a header or a data row.
func (rr *rowReader) finish() error {
	switch {
	case rr.lay == nil && rr.attempts == 0:
		return errEmpty()
	case rr.lay == nil:
		return fault.Invalid(rr.bestErrs...)
	case rr.sum.Rows == 0:
		return errNoData()
	}
	return nil
}

// problem records a problem of the current row. It builds the problem
// only while the list has room: past that the problem is only counted, so
// that a file with millions of bad cells formats no millions of messages.
func (rr *rowReader) problem(build func() fault.FieldError) {
	rr.sum.ProblemCount++
	if len(rr.sum.Problems) < rr.maxProblems {
		rr.sum.Problems = append(rr.sum.Problems, build())
	}
}

// check reads one data row into rr.resp and reports whether it is valid.
func (rr *rowReader) check(n int, cells []string) bool {
	lay := rr.lay
	resp := &rr.resp
	answers := resp.Answers
	clear(answers)
	*resp = questionnaire.Response{Row: n, Seconds: -1, Answers: answers}
	before := rr.sum.ProblemCount
	if rr.csv && len(cells) != lay.width && !(len(cells) > lay.width && blank(cells[lay.width:])) {
		rr.problem(func() fault.FieldError {
			return fault.FieldError{Row: n, Code: "column_count",
				Message:   fmt.Sprintf("本行有 %d 列，表头有 %d 列（可能有未加引号的逗号），本行未读取", len(cells), lay.width),
				MessageEn: fmt.Sprintf("the row has %d cells but the header has %d (an unquoted comma?); the row was not read", len(cells), lay.width)}
		})
		return false
	}
	for i := range lay.cols {
		c := &lay.cols[i]
		s := ""
		if c.idx < len(cells) {
			s = cells[c.idx]
		}
		if len(s) > maxCell {
			rr.problem(func() fault.FieldError {
				return rr.fe(n, c, "cell_too_long",
					fmt.Sprintf("单元格超过 %d 字节", maxCell), fmt.Sprintf("the cell is longer than %d bytes", maxCell))
			})
			continue
		}
		// Text, not Line: a spreadsheet cell may hold a line break, which
		// the cell parsers trim or refuse as they would any white space.
		if fe := textguard.Check(c.target.name, s, textguard.Text); fe != nil {
			rr.problem(func() fault.FieldError { return rr.fe(n, c, fe.Code, fe.Message, fe.MessageEn) })
			continue
		}
		switch c.target.kind {
		case colItem:
			it := c.target.item
			v, code := answer(s, rr.scales[it], rr.itemLabels[it])
			if code == answerBlank && rr.q.Items[it].Optional {
				continue
			}
			if code != answerOK {
				rr.answerProblem(n, c, s, code, rr.scales[it], rr.q.Items[it].Text)
				continue
			}
			answers[it] = uint8(v)
		case colAttention:
			v, code := answer(s, rr.attScale, rr.attLabels)
			if code == answerBlank {
				continue // an unanswered check is flagged by the quality screens
			}
			if code != answerOK {
				rr.answerProblem(n, c, s, code, rr.attScale, rr.q.Attention.Text)
				continue
			}
			resp.Attention = uint8(v)
		case colRegion:
			resp.Region = rr.region(n, c, s)
		case colType:
			resp.RespondentType = rr.respondentType(n, c, s)
		case colID:
			id := trim(s)
			if len(id) > maxRespondentID {
				rr.problem(func() fault.FieldError {
					return rr.fe(n, c, "bad_respondent_id",
						fmt.Sprintf("答卷编号超过 %d 个字符", maxRespondentID),
						fmt.Sprintf("the respondent id is longer than %d characters", maxRespondentID))
				})
				continue
			}
			// A copy, so that a caller keeping ids does not keep each
			// row's whole line with them.
			resp.RespondentID = strings.Clone(id)
		case colContact:
			resp.ContactHash = rr.hasher.hash(s)
		case colSeconds:
			rr.seconds(n, c, s)
		case colSubmitted:
			rr.submitted(n, c, s)
		}
	}
	return rr.sum.ProblemCount == before
}

// fe builds a problem located at a cell.
func (rr *rowReader) fe(n int, c *column, code, zh, en string) fault.FieldError {
	fe := fault.FieldError{Row: n, Column: c.header, Field: c.target.name, Code: code, Message: zh, MessageEn: en}
	if c.target.kind == colItem || c.target.kind == colAttention {
		fe.Indicator = c.target.name
	}
	return fe
}

func clip(s string) string { return textenc.Clip(trim(s), 40) }

func (rr *rowReader) answerProblem(n int, c *column, s string, code, k int, text string) {
	what := text
	if what == "" {
		what = c.target.name
	}
	v := clip(s)
	switch code {
	case answerBlank:
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "missing_item",
				fmt.Sprintf("必答题“%s”未作答", what),
				fmt.Sprintf("required item %s has no answer", c.target.name))
		})
	case answerOutOfScale:
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "out_of_scale",
				fmt.Sprintf("“%s”的答案“%s”不在量表 1–%d 内（应为 1–%d 的整数或选项文字）", what, v, k, k),
				fmt.Sprintf("answer %q to %s is not on the 1–%d scale (give a whole number 1–%d or an answer label)", v, c.target.name, k, k))
		})
	case answerMismatch:
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "label_mismatch",
				fmt.Sprintf("“%s”的答案“%s”中的数字与选项文字不一致", what, v),
				fmt.Sprintf("answer %q to %s gives a number and a label that disagree", v, c.target.name))
		})
	default:
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "unknown_label",
				fmt.Sprintf("“%s”的答案“%s”不是有效选项（应为 1–%d 的整数或量表的选项文字）", what, v, k),
				fmt.Sprintf("answer %q to %s is not an answer label of the scale or a number 1–%d", v, c.target.name, k))
		})
	}
}

func (rr *rowReader) region(n int, c *column, s string) string {
	t := trim(s)
	if t == "" {
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "missing_region", "未填写地区", "the region is empty")
		})
		return ""
	}
	code, ok := rr.regions[t]
	if !ok && len(rr.ambiguous[t]) > 0 {
		// A name that several regions share (two counties of different
		// cities) is taken only if the project has just one of them.
		var in []string
		for _, cand := range rr.ambiguous[t] {
			if rr.project[cand] {
				in = append(in, cand)
			}
		}
		if len(in) == 1 {
			return in[0]
		}
		rr.problem(func() fault.FieldError {
			v := clip(s)
			return rr.fe(n, c, "ambiguous_region",
				fmt.Sprintf("地区名称“%s”对应多个地区，请填写地区代码", v),
				fmt.Sprintf("region name %q is shared by several regions; give the region code", v))
		})
		return ""
	}
	if !ok {
		rr.problem(func() fault.FieldError {
			v := clip(s)
			return rr.fe(n, c, "unknown_region",
				fmt.Sprintf("地区“%s”不是系统中的地区代码或名称", v),
				fmt.Sprintf("region %q is not a known region code or name", v))
		})
		return ""
	}
	if len(rr.project) > 0 && !rr.project[code] {
		name := rr.knownNames[code]
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "region_outside_project",
				fmt.Sprintf("地区“%s”（%s）不属于本调查项目", name, code),
				fmt.Sprintf("region %s (%s) is not one of this survey project's regions", code, name))
		})
		return ""
	}
	return code
}

func (rr *rowReader) respondentType(n int, c *column, s string) string {
	t := trim(s)
	if t == "" {
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "missing_respondent_type", "未填写受访者类型", "the respondent type is empty")
		})
		return ""
	}
	code, ok := rr.types[t]
	if !ok {
		code, ok = rr.types[strings.ToLower(t)]
	}
	if !ok {
		rr.problem(func() fault.FieldError {
			v := clip(s)
			return rr.fe(n, c, "unknown_respondent_type",
				fmt.Sprintf("受访者类型“%s”无效（应为 %s 之一）", v, rr.typeList),
				fmt.Sprintf("respondent type %q is not one of the questionnaire's types (%s)", v, rr.typeList))
		})
		return ""
	}
	return code
}

func (rr *rowReader) seconds(n int, c *column, s string) {
	if trim(s) == "" {
		return
	}
	x, ok := parseSeconds(s)
	switch {
	case !ok:
		rr.problem(func() fault.FieldError {
			v := clip(s)
			return rr.fe(n, c, "bad_duration",
				fmt.Sprintf("答题用时“%s”无法识别（应为秒数，如 125、125秒、2分5秒 或 00:02:05）", v),
				fmt.Sprintf("completion time %q is not a duration (seconds such as 125, 125秒, 2分5秒 or 00:02:05)", v))
		})
	case x < 0:
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "bad_duration", "答题用时不能为负数", "the completion time is negative")
		})
	default:
		rr.resp.Seconds = x
	}
}

func (rr *rowReader) submitted(n int, c *column, s string) {
	if trim(s) == "" {
		return
	}
	t, ok := rr.times.parse(s)
	if !ok {
		rr.problem(func() fault.FieldError {
			v := clip(s)
			return rr.fe(n, c, "bad_timestamp",
				fmt.Sprintf("提交时间“%s”无法识别（应如 2024-05-01 10:30:00）", v),
				fmt.Sprintf("submission time %q is not a date and time such as 2024-05-01 10:30:00", v))
		})
		return
	}
	if (!rr.start.IsZero() && t.Before(rr.start)) || (!rr.end.IsZero() && !t.Before(rr.end)) {
		const layout = "2006-01-02 15:04"
		loc := rr.loc
		from, to := "…", "…"
		if !rr.start.IsZero() {
			from = rr.start.In(loc).Format(layout)
		}
		if !rr.end.IsZero() {
			to = rr.end.In(loc).Format(layout)
		}
		at := t.In(loc).Format("2006-01-02 15:04:05")
		rr.problem(func() fault.FieldError {
			return rr.fe(n, c, "outside_window",
				fmt.Sprintf("提交时间 %s 不在调查期（%s 至 %s）内", at, from, to),
				fmt.Sprintf("submission time %s is outside the fieldwork window (%s to %s)", at, from, to))
		})
		return
	}
	rr.resp.SubmittedAt = t
}

// report calls progress now and then.
func (rr *rowReader) report(done int64) {
	if rr.progress != nil {
		rr.progress(min(done, rr.size), rr.size)
	}
}
