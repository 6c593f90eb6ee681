package render

import (
	"fmt"
	"io"
	"strconv"

	"github.com/ipeval/ipeval/internal/textenc"
)

// HandoverMissing is the status of a hand-over row whose region had no
// usable value in the run.
const HandoverMissing = "missing"

// HandoverRow is one region × indicator of the hand-over package for the
// business-environment evaluation (营商环境评价): the value the run
// scored, where it came from and how far it was checked, and the run that
// scored it.
type HandoverRow struct {
	CycleYear     int    `json:"cycle_year"`
	RunID         string `json:"run_id"`
	SchemeID      string `json:"scheme_id"`
	SchemeCode    string `json:"scheme_code"`
	SchemeVersion int    `json:"scheme_version"`
	RegionCode    string `json:"region_code"`
	RegionName    string `json:"region_name"`
	IndicatorCode string `json:"indicator_code"`
	IndicatorName string `json:"indicator_name"`
	// IndicatorNameEn is the indicator's English name.
	IndicatorNameEn string `json:"indicator_name_en"`
	// Value is nil when the region had no usable value or the indicator
	// does not apply to it (NotApplicable).
	Value         *float64 `json:"value"`
	NotApplicable bool     `json:"not_applicable"`
	Unit          string   `json:"unit"`
	// Source is the scheme's: "reported" by the region, or
	// "survey:<questionnaire>" for an index from the third-party survey.
	Source string `json:"source"`
	// Status is the review status the value had when the run read it
	// (draft, submitted, verified or rejected; an accepted survey index is
	// verified), or HandoverMissing.
	Status string `json:"status"`
}

// Handover lists the hand-over rows of a run: every region of the detail
// × every indicator of the scheme, in region and scheme order. The values,
// sources and statuses are those of the run's own snapshot — the value
// store may have changed since, and the package must show what was scored.
func Handover(d RunData) []HandoverRow {
	sc := d.Input.Scheme
	out := make([]HandoverRow, 0, len(d.Input.Regions)*len(sc.Indicators))
	for _, r := range d.Input.Regions {
		for _, ind := range sc.Indicators {
			row := HandoverRow{CycleYear: d.Info.CycleYear, RunID: d.Info.ID, SchemeID: d.Info.SchemeID,
				SchemeCode: sc.Code, SchemeVersion: d.Info.SchemeVersion, RegionCode: r.Code, RegionName: r.Name,
				IndicatorCode: ind.Code, IndicatorName: ind.Name, IndicatorNameEn: ind.NameEn, Unit: ind.Unit,
				Source: ind.Source, Status: HandoverMissing}
			if v, ok := d.Input.Values[r.Code][ind.Code]; ok {
				row.Status = string(v.Status)
				row.NotApplicable = v.NotApplicable
				if !v.NotApplicable {
					x := v.Number
					row.Value = &x
				}
			}
			out = append(out, row)
		}
	}
	return out
}

// handoverHeader is the CSV header, Chinese first.
var handoverHeader = []string{"考核年度 cycle_year", "评价运行 run_id", "方案编号 scheme_id", "方案代码 scheme_code",
	"方案版本 scheme_version", "地区代码 region_code", "地区名称 region_name", "指标代码 indicator_code",
	"指标名称 indicator_name", "指标英文名 indicator_name_en", "数值 value", "不适用 not_applicable", "单位 unit",
	"来源 source", "审核状态 status"}

// WriteHandoverCSV writes rows as CSV for Excel: UTF-8 with a byte-order
// mark (without one Excel reads Chinese as mojibake), a bilingual header,
// numbers as plain decimals and every text guarded against formula
// injection.
func WriteHandoverCSV(w io.Writer, rows []HandoverRow) error {
	cw, err := textenc.ExcelCSV(w)
	if err != nil {
		return fmt.Errorf("write hand-over csv: %w", err)
	}
	if err := cw.Write(handoverHeader); err != nil {
		return fmt.Errorf("write hand-over csv: %w", err)
	}
	for _, r := range rows {
		value := ""
		if r.Value != nil {
			value = strconv.FormatFloat(*r.Value, 'f', -1, 64)
		}
		rec := []string{strconv.Itoa(r.CycleYear), text(r.RunID), text(r.SchemeID), text(r.SchemeCode),
			strconv.Itoa(r.SchemeVersion), text(r.RegionCode), text(r.RegionName), text(r.IndicatorCode),
			text(r.IndicatorName), text(r.IndicatorNameEn), value, strconv.FormatBool(r.NotApplicable), text(r.Unit),
			text(r.Source), text(r.Status)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write hand-over csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write hand-over csv: %w", err)
	}
	return nil
}
