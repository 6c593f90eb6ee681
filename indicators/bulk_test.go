package indicators_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

// fillTemplate opens an xlsx template and sets cells of the data sheet by
// address ("H4"); it returns the saved workbook.
func fillTemplate(tb testing.TB, data []byte, cells func(f *excelize.File) map[string]string) []byte {
	tb.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	for addr, v := range cells(f) {
		if err := f.SetCellStr("指标数据", addr, v); err != nil {
			tb.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := f.Write(&out); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// byIndicatorCells fills the 数值 column (H) of a per-region template with
// value(code), skipping codes for which it returns "".
func byIndicatorCells(tb testing.TB, value func(code string) string) func(f *excelize.File) map[string]string {
	return func(f *excelize.File) map[string]string {
		rows, err := f.GetRows("指标数据")
		if err != nil {
			tb.Fatal(err)
		}
		out := map[string]string{}
		for i, r := range rows {
			if i < 3 || len(r) < 3 {
				continue
			}
			if v := value(r[2]); v != "" {
				out["H"+itoa(i+1)] = v
			}
		}
		return out
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// filled is what a city official types into its template.
func filled(code string) string {
	switch code {
	case "A1", "A4":
		return "是"
	case "C4":
		return "85%"
	case "C2":
		return "1.25"
	case "B4":
		return "" // left empty: stays missing
	case "F1":
		return "120"
	}
	return "3"
}

func TestImportTemplateRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tpl, err := f.values.Template(ctx, taiyuan, f.cycle, "", indicators.FormatXLSX)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(tpl.Name, ".xlsx") || !strings.Contains(tpl.Name, "太原市") {
			t.Fatalf("template name %q", tpl.Name)
		}
		file := fillTemplate(t, tpl.Data, byIndicatorCells(t, filled))
		res, err := f.values.Import(ctx, taiyuan, f.cycle, tpl.Name, file, true)
		if err != nil {
			t.Fatal(err)
		}
		// 17 indicators reported by hand (D1 comes from surveys), B4 empty.
		if res.Entries != 16 || res.Changed != 16 || res.Submitted != 16 || len(res.Values) != 16 {
			t.Fatalf("import result: %d entries, %d changed, %d submitted", res.Entries, res.Changed, res.Submitted)
		}
		vals, err := f.values.List(ctx, taiyuan, f.cycle, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]indicators.Value{}
		for _, v := range vals {
			if v.Status != indicators.StatusSubmitted {
				t.Fatalf("%s is %s after import with submit", v.IndicatorCode, v.Status)
			}
			got[v.IndicatorCode] = v
		}
		for code, want := range map[string]float64{"A1": 1, "C4": 85, "C2": 1.25, "F1": 120, "A2": 3} {
			if v := got[code]; v.Number == nil || *v.Number != want {
				t.Fatalf("%s stored as %+v, want %v", code, v, want)
			}
		}
		if _, ok := got["B4"]; ok {
			t.Fatal("an empty cell was stored")
		}

		again, err := f.values.Import(ctx, taiyuan, f.cycle, tpl.Name, file, true)
		if err != nil || again.Changed != 0 || again.Submitted != 0 {
			t.Fatalf("identical re-upload: %+v, %v", again, err)
		}
		if h := f.history(t, got["A2"].ID); len(h) != 2 || h[0].Action != indicators.ActionSet || h[1].Action != indicators.ActionSubmit {
			t.Fatalf("history after two identical uploads: %+v", h)
		}

		// A fresh template carries the new versions: editing one value of it
		// changes that value only.
		tpl, err = f.values.Template(ctx, taiyuan, f.cycle, "140100", indicators.FormatXLSX)
		if err != nil {
			t.Fatal(err)
		}
		edit := fillTemplate(t, tpl.Data, byIndicatorCells(t, func(code string) string {
			if code == "A2" {
				return "5"
			}
			return ""
		}))
		res, err = f.values.Import(ctx, taiyuan, f.cycle, tpl.Name, edit, false)
		if err != nil || res.Changed != 1 {
			t.Fatalf("edit one value: %+v, %v", res, err)
		}
		// The old file now holds a stale version of A2: a conflict naming
		// its row, and nothing stored.
		_, err = f.values.Import(ctx, taiyuan, f.cycle, "old.xlsx", file, false)
		conflicts, _ := conflictExt(t, err)["conflicts"].([]map[string]any)
		if len(conflicts) != 1 || conflicts[0]["indicator_code"] != "A2" || conflicts[0]["row"] == 0 || conflicts[0]["column"] != "H" {
			t.Fatalf("stale upload conflicts: %v", conflicts)
		}
	})
}

func TestImportPerCycleGrid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		if _, err := f.values.Template(ctx, taiyuan, f.cycle, "140200", ""); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("city downloads another region's template: %v", err)
		}
		// A value with a note, which the grid has no column for; its
		// trailing space is trimmed on the way in.
		noted := f.set(t, admin, indicators.ValueInput{RegionCode: "140100", IndicatorCode: "A3", Number: num(2), Note: "见附件 \r\n"})
		if noted.Note != "见附件" {
			t.Fatalf("note stored as %q", noted.Note)
		}
		tpl, err := f.values.Template(ctx, admin, f.cycle, "", "")
		if err != nil {
			t.Fatal(err)
		}
		file := fillTemplate(t, tpl.Data, func(x *excelize.File) map[string]string {
			rows, err := x.GetRows("指标数据")
			if err != nil {
				t.Fatal(err)
			}
			cells := map[string]string{}
			for i, r := range rows {
				if i < 3 || len(r) == 0 {
					continue
				}
				for j, code := range rows[2] {
					col, _ := excelize.ColumnNumberToName(j + 1)
					switch {
					case code == "A2":
						cells[col+itoa(i+1)] = "4"
					case code == "C2" && r[0] == "149900":
						cells[col+itoa(i+1)] = "不适用"
					}
				}
			}
			return cells
		})
		res, err := f.values.Import(ctx, admin, f.cycle, "grid.xlsx", file, false)
		if err != nil {
			t.Fatal(err)
		}
		// A2 of three regions. The reform zone's C2 does not apply to its
		// kind: the 不适用 the template shows is not a value to review.
		if res.Changed != 3 {
			t.Fatalf("grid import changed %d values, want 3", res.Changed)
		}
		vals, err := f.values.List(ctx, admin, f.cycle, "149900")
		if err != nil || len(vals) != 1 || vals[0].IndicatorCode != "A2" {
			t.Fatalf("reform zone values %+v, %v", vals, err)
		}
		kept, err := f.values.List(ctx, admin, f.cycle, "140100")
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range kept {
			if v.IndicatorCode == "A3" && (v.Version != noted.Version || v.Note != "见附件") {
				t.Fatalf("the grid changed a value it shows unchanged: %+v", v)
			}
		}
	})
}

func TestImportRefusesBadFiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		csv := "地区代码,指标代码,数值,不适用,说明\n" +
			"140100,A2,3,,\n" + // fine
			"140100,B2,abc,,\n" + // text in a number cell
			"140100,B3,NaN,,\n" +
			"140100,A3,-1,,\n" + // negative count
			"140100,C4,120,,\n" + // percentage over 100
			"140100,C5,,,只有说明\n" + // a note without a value
			"140100,Z9,1,,\n" + // unknown indicator
			"149999,A2,1,,\n" + // unknown region
			"149900,C2,2,,\n" + // not applicable to a reform zone
			"140100,D1,90,,\n" + // survey-sourced
			"140100,A2,4,,\n" // duplicate
		_, err := f.values.Import(ctx, admin, f.cycle, "values.csv", []byte(csv), false)
		var ve *fault.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v, want a validation error", err)
		}
		var got []string
		for _, fe := range ve.Errors {
			if fe.Row == 0 || fe.Column == "" || fe.Message == "" || fe.MessageEn == "" {
				t.Fatalf("problem without row, column or messages: %+v", fe)
			}
			got = append(got, itoa(fe.Row)+fe.Column+":"+fe.Indicator+"="+fe.Code)
		}
		want := "3C:B2=not_a_number 4C:B3=not_finite 5C:A3=below_min 6C:C4=above_max 7C:C5=required " +
			"8C:Z9=unknown_indicator 9C:A2=unknown_region 10C:C2=not_applicable 11C:D1=survey_sourced 12C:A2=duplicate_entry"
		if strings.Join(got, " ") != want {
			t.Fatalf("problems\n got %s\nwant %s", strings.Join(got, " "), want)
		}
		if vals, err := f.values.List(ctx, admin, f.cycle, ""); err != nil || len(vals) != 0 {
			t.Fatalf("a refused import stored %d values (%v)", len(vals), err)
		}

		// A blank template, before anything is stored.
		blank, err := f.values.Template(ctx, taiyuan, f.cycle, "", "")
		if err != nil {
			t.Fatal(err)
		}
		// 0 is a value; an empty cell is no value at all.
		zero, err := f.values.Import(ctx, taiyuan, f.cycle, "zero.csv", []byte("地区代码,指标代码,数值\n140100,B2,0\n140100,B3,\n"), false)
		if err != nil || len(zero.Values) != 1 || zero.Values[0].IndicatorCode != "B2" || zero.Values[0].Number == nil || *zero.Values[0].Number != 0 {
			t.Fatalf("0 and empty: %+v, %v", zero, err)
		}

		gbk, err := simplifiedchinese.GB18030.NewEncoder().String("地区代码,指标代码,数值,说明\n140100,A2,3,网点名单见附件\n")
		if err != nil {
			t.Fatal(err)
		}
		if res, err := f.values.Import(ctx, taiyuan, f.cycle, "gbk.CSV", []byte(gbk), false); err != nil || res.Values[0].Note != "网点名单见附件" {
			t.Fatalf("GB18030 CSV: %+v, %v", res, err)
		}

		for _, tc := range []struct {
			name string
			call func() error
			want error
		}{
			{"city writes another region", func() error {
				_, err := f.values.Import(ctx, taiyuan, f.cycle, "x.csv", []byte("地区代码,指标代码,数值\n140200,A2,1\n"), false)
				return err
			}, fault.ErrForbidden},
			{"contractor", func() error {
				_, err := f.values.Import(ctx, contractor, f.cycle, "x.csv", []byte("地区代码,指标代码,数值\n140100,A2,1\n"), false)
				return err
			}, fault.ErrForbidden},
			{"xlsx that is not a zip", func() error {
				_, err := f.values.Import(ctx, taiyuan, f.cycle, "x.xlsx", []byte("地区代码,指标代码,数值\n"), false)
				return err
			}, fault.ErrBadRequest},
			{"unknown extension", func() error {
				_, err := f.values.Import(ctx, taiyuan, f.cycle, "x.txt", []byte("a"), false)
				return err
			}, fault.ErrUnsupportedMedia},
			{"nothing filled in", func() error {
				_, err := f.values.Import(ctx, taiyuan, f.cycle, blank.Name, blank.Data, false)
				return err
			}, fault.ErrBadRequest},
			{"template of another cycle", func() error {
				_, err := f.values.Import(ctx, taiyuan, "another-cycle", blank.Name, fillTemplate(t, blank.Data, byIndicatorCells(t, filled)), false)
				return err
			}, fault.ErrBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.call(); !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}

		f.transition(t, cycles.Scoring)
		if _, err := f.values.Import(ctx, taiyuan, f.cycle, "x.csv", []byte("地区代码,指标代码,数值\n140100,A2,7\n"), false); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("import after collecting: %v", err)
		}
	})
}
