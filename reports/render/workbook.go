package render

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// Sheet names of the run workbook, Chinese first. Tests and readers find
// the sheets by these names.
const (
	SheetResults     = "结果 Results"
	SheetIndicators  = "指标得分 Indicators"
	SheetRules       = "触发规则 Rules"
	SheetSensitivity = "敏感性 Sensitivity"
	SheetAbout       = "说明 About"
)

// Workbook writes the XLSX workbook of a run to w: the ranking with
// grades and dimension scores, the indicator scores, the fired rules, the
// sensitivity analysis and what the run was. Numbers are numeric cells at
// the full precision of the API's JSON (an absent number is an empty
// cell); every text cell is guarded against formula injection.
//
// The cells are set one by one rather than streamed: excelize's stream
// writer cuts every float to 15 significant digits, and a workbook whose
// numbers must equal the API's cannot lose the last ones.
func Workbook(w io.Writer, d RunData) error {
	x := excelize.NewFile()
	defer x.Close()
	wb := workbook{d: d, gradeZh: scheme.GradeNames(d.Result.Grades, false), gradeEn: scheme.GradeNames(d.Result.Grades, true)}
	header, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"#E7EEF7"}},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}})
	if err != nil {
		return fmt.Errorf("workbook style: %w", err)
	}
	for i, s := range []struct {
		name  string
		write func(*sheet) error
	}{
		{SheetResults, wb.results},
		{SheetIndicators, wb.indicators},
		{SheetRules, wb.rules},
		{SheetSensitivity, wb.sensitivity},
		{SheetAbout, wb.about},
	} {
		if i == 0 {
			err = x.SetSheetName(x.GetSheetName(0), s.name)
		} else {
			_, err = x.NewSheet(s.name)
		}
		if err == nil {
			err = s.write(&sheet{x: x, name: s.name, header: header})
		}
		if err != nil {
			return fmt.Errorf("workbook sheet %s: %w", s.name, err)
		}
	}
	if _, err := x.WriteTo(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// workbook is the run a workbook is written of.
type workbook struct {
	d RunData
	// gradeZh and gradeEn name the run's grades.
	gradeZh, gradeEn map[string]string
}

// sheet writes the rows of one sheet in order.
type sheet struct {
	x      *excelize.File
	name   string
	header int
	row    int
}

// head sets the column widths and writes the header row, frozen so that
// it stays in view.
func (s *sheet) head(widths []float64, cols ...string) error {
	for i, w := range widths {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		if err := s.x.SetColWidth(s.name, col, col, w); err != nil {
			return err
		}
	}
	if err := s.x.SetPanes(s.name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	cells := make([]any, len(cols))
	for i, c := range cols {
		cells[i] = c
	}
	if err := s.add(cells...); err != nil {
		return err
	}
	last, err := excelize.CoordinatesToCellName(len(cols), 1)
	if err != nil {
		return err
	}
	return s.x.SetCellStyle(s.name, "A1", last, s.header)
}

// add writes one row. A string is a text cell, guarded; a float64 a number
// at full precision; an int a number; nil an empty cell.
func (s *sheet) add(cells ...any) error {
	s.row++
	for i, c := range cells {
		ref, err := excelize.CoordinatesToCellName(i+1, s.row)
		if err != nil {
			return err
		}
		switch v := c.(type) {
		case nil:
		case string:
			err = s.x.SetCellStr(s.name, ref, text(v))
		case float64:
			err = s.x.SetCellFloat(s.name, ref, v, decimals(v), 64)
		case int:
			err = s.x.SetCellInt(s.name, ref, int64(v))
		default:
			err = fmt.Errorf("cell %s: unexpected %T", ref, c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// decimals is the number of decimals of the shortest decimal that reads
// back as x: what the API's JSON writes.
func decimals(x float64) int {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// widths repeats w n times.
func widths(w float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = w
	}
	return out
}

// grade is how the workbook writes a grade of the run: its bilingual name,
// or the code of a grade the run's bands do not list; empty for no grade.
func (wb *workbook) grade(code string) string {
	if zh, ok := wb.gradeZh[code]; ok {
		return bilingual(zh, wb.gradeEn[code])
	}
	return code
}

// statusLabels name the region statuses of evaluation.RegionResult.
var statusLabels = map[string]string{
	engine.StatusOK:               "已评定 graded",
	engine.StatusInsufficientData: "数据不足 insufficient data",
	engine.StatusNoWeight:         "无可计分数据 nothing to score",
	engine.StatusUnscorable:       "数值无法计分 value cannot be scored",
}

func (wb *workbook) results(s *sheet) error {
	dims := wb.d.Input.Scheme.Dimensions
	cols := []string{"排名 Rank", "地区代码 Region code", "地区名称 Region", "状态 Status", "得分 Score",
		"分数段等次 Band grade", "最终等次 Final grade", "等次规则 Rule that capped or set the grade", "可参评表彰 Award eligible"}
	w := []float64{8, 12, 24, 16, 20, 14, 14, 14, 12}
	for _, d := range dims {
		cols = append(cols, fmt.Sprintf("%s %s (%s)", d.Name, d.NameEn, d.Code))
		w = append(w, 20)
	}
	if err := s.head(w, cols...); err != nil {
		return err
	}
	for _, rr := range wb.d.Result.Ranked() {
		status := statusLabels[rr.Status]
		if status == "" {
			status = rr.Status
		}
		row := []any{rank(rr.Rank), rr.Code, rr.Name, status, number(rr.Score),
			wb.grade(rr.BandGrade), wb.grade(rr.Grade), rr.GradeRule, yesNo(rr.AwardEligible)}
		for _, d := range dims {
			var score any
			if i := slices.IndexFunc(rr.Dimensions, func(dr engine.DimensionResult) bool { return dr.Code == d.Code }); i >= 0 {
				score = number(rr.Dimensions[i].Score)
			}
			row = append(row, score)
		}
		if err := s.add(row...); err != nil {
			return err
		}
	}
	return nil
}

func (wb *workbook) indicators(s *sheet) error {
	sc := wb.d.Input.Scheme
	if err := s.head([]float64{12, 20, 10, 10, 36, 12, 18, 18, 18, 18, 22, 22, 30},
		"地区代码 Region code", "地区名称 Region", "维度 Dimension", "指标代码 Indicator", "指标名称 Indicator name", "单位 Unit",
		"原始值 Raw value", "计分值 Value scored", "Z 分数 Z-score", "标准化得分 Normalised score",
		"权重 Weight", "贡献 Contribution", "数据情况 Data"); err != nil {
		return err
	}
	for _, rr := range wb.d.Result.Regions {
		for _, ir := range rr.Indicators {
			ind, _ := sc.Indicator(ir.Code)
			if err := s.add(rr.Code, rr.Name, ind.Dimension, ir.Code, bilingual(ind.Name, ind.NameEn), ind.Unit,
				number(ir.Raw), number(ir.Value), number(ir.Z), number(ir.Score),
				ir.Weight, ir.Contribution, dataNote(ir)); err != nil {
				return err
			}
		}
	}
	return nil
}

// dataNote says in words how an indicator's value reached its score.
func dataNote(ir engine.IndicatorResult) string {
	var parts []string
	switch {
	case ir.NotApplicable:
		parts = append(parts, "不适用 not applicable")
	case ir.Unverified != "":
		parts = append(parts, fmt.Sprintf("未核实（%s），按缺失处理 unverified (%s), treated as missing", ir.Unverified, ir.Unverified))
	case ir.Missing:
		parts = append(parts, "缺失 missing")
	case ir.Observed:
		parts = append(parts, "已采用 observed")
	}
	if ir.Imputation != engine.ImputationNone {
		parts = append(parts, fmt.Sprintf("插补 imputation: %s", ir.Imputation))
	}
	if ir.Treated {
		parts = append(parts, fmt.Sprintf("异常值处理 outlier treatment: %s", ir.Treatment))
	}
	if !ir.Scored {
		parts = append(parts, "不计分，仅供规则使用 not scored, read by rules")
	}
	return strings.Join(parts, "；")
}

func (wb *workbook) rules(s *sheet) error {
	if err := s.head([]float64{12, 20, 8, 40, 60, 60, 30, 30},
		"地区代码 Region code", "地区名称 Region", "规则 Rule", "政策依据 Policy basis", "说明 Message", "Message (English)",
		"效果 Effects", "读取的数据 Values read"); err != nil {
		return err
	}
	for _, rr := range wb.d.Result.Regions {
		for _, fr := range rr.Rules {
			effects := make([]string, len(fr.Effects))
			for i, e := range fr.Effects {
				effects[i] = e.Type
				if e.Grade != "" {
					effects[i] += ": " + wb.grade(e.Grade)
				}
			}
			read, err := json.Marshal(fr.Read)
			if err != nil {
				return fmt.Errorf("rule %s of %s: %w", fr.ID, rr.Code, err)
			}
			if err := s.add(rr.Code, rr.Name, fr.ID, bilingual(fr.Basis, fr.BasisEn), fr.Message, fr.MessageEn,
				strings.Join(effects, "; "), string(read)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (wb *workbook) sensitivity(s *sheet) error {
	sens := wb.d.Sensitivity
	cols := []string{"地区代码 Region code", "地区名称 Region", "名义得分 Nominal score", "名义排名 Nominal rank", "名义等次 Nominal grade",
		"参与排名的抽样数 Ranked draws", "中位排名 Median rank", "第5百分位排名 5th percentile rank", "第95百分位排名 95th percentile rank"}
	var grades []scheme.Grade
	if sens != nil {
		grades = sens.Grades
	}
	for _, g := range grades {
		cols = append(cols, fmt.Sprintf("%s概率 P(%s)", g.Name, g.NameEn))
	}
	cols = append(cols, "未定等概率 P(ungraded)", "名义结果概率 P(nominal outcome)", "临界 Borderline")
	if err := s.head(widths(16, len(cols)), cols...); err != nil {
		return err
	}
	if sens == nil {
		return s.add("本次评价没有敏感性分析 This run has no sensitivity analysis")
	}
	for _, rs := range sens.Regions {
		row := []any{rs.Code, rs.Name, number(rs.NominalScore), rank(rs.NominalRank), wb.grade(rs.NominalGrade),
			rs.RankedDraws, rank(rs.MedianRank), rank(rs.RankP5), rank(rs.RankP95)}
		for _, g := range grades {
			var p any
			if i := slices.IndexFunc(rs.Grades, func(gp engine.GradeProbability) bool { return gp.Grade == g.Code }); i >= 0 {
				p = rs.Grades[i].Probability
			}
			row = append(row, p)
		}
		row = append(row, rs.Ungraded, rs.NominalProbability, yesNo(rs.Borderline))
		if err := s.add(row...); err != nil {
			return err
		}
	}
	return nil
}

func (wb *workbook) about(s *sheet) error {
	info, sc, res := wb.d.Info, wb.d.Input.Scheme, wb.d.Result
	if err := s.head([]float64{30, 70}, "项目 Item", "内容 Value"); err != nil {
		return err
	}
	published := "未发布 not published"
	if info.PublishedAt != nil {
		published = info.PublishedAt.UTC().Format(time.RFC3339)
	}
	scope := "全部地区 every region"
	if info.Region != "" {
		scope = fmt.Sprintf("排名为全省，明细仅含地区 %s province-wide ranking, detail of region %s only", info.Region, info.Region)
	}
	rows := [][2]any{
		{"评价运行 Run", info.ID},
		{"考核周期 Cycle", info.CycleName},
		{"考核年度 Cycle year", info.CycleYear},
		{"考核周期编号 Cycle id", info.CycleID},
		{"评价方案 Scheme", bilingual(sc.Name, sc.NameEn)},
		{"方案代码 Scheme code", sc.Code},
		{"方案编号 Scheme id", info.SchemeID},
		{"方案版本 Scheme version", info.SchemeVersion},
		{"评价引擎版本 Engine version", info.EngineVersion},
		{"创建时间 Created (UTC)", info.CreatedAt.UTC().Format(time.RFC3339)},
		{"发布时间 Published (UTC)", published},
		{"汇总方法 Aggregation", res.Aggregation},
		{"定等所需数据覆盖率 Coverage needed for a grade", res.CoverageThreshold},
		// The seed is 63 bits: as a number a spreadsheet would keep only
		// 15 digits of it.
		{"随机种子 Seed", fmt.Sprint(info.Seed)},
		{"输入摘要 Inputs hash (SHA-256)", info.InputsHash},
		{"结果摘要 Results hash (SHA-256)", info.ResultsHash},
		{"导出范围 Scope", scope},
	}
	if sens := wb.d.Sensitivity; sens != nil {
		o := sens.Options
		rows = append(rows, [2]any{"敏感性分析抽样数 Sensitivity draws", sens.Draws})
		if o.WeightSpread != nil {
			rows = append(rows, [2]any{"权重扰动幅度 Weight spread", *o.WeightSpread})
		}
		var on []string
		for _, opt := range []struct {
			set  bool
			name string
		}{{o.SwapNormalisation, "swap_normalisation"}, {o.SwapAggregation, "swap_aggregation"},
			{o.ToggleImputation, "toggle_imputation"}, {len(o.SurveyIntervals) > 0, "survey_intervals"}} {
			if opt.set {
				on = append(on, opt.name)
			}
		}
		rows = append(rows, [2]any{"其他扰动 Other perturbations", strings.Join(on, ", ")})
	}
	for _, g := range res.Grades {
		rows = append(rows, [2]any{fmt.Sprintf("等次 Grade: %s", bilingual(g.Name, g.NameEn)), fmt.Sprintf("≥ %g (%s)", g.Min, g.Code)})
	}
	rows = append(rows, [2]any{"说明 Note", "数值为完整精度，空白表示无数值；以 ' 开头的文字是为防止被当作公式执行而加的前缀。 " +
		"Numbers are at full precision, a blank cell has no value; a leading ' keeps text from being run as a formula."})
	for _, r := range rows {
		if err := s.add(r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}
