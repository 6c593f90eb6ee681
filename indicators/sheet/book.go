package sheet

import (
	"github.com/xuri/excelize/v2"
)

// book builds a workbook, keeping the first error so that the many cell
// writes read as a plain sequence.
type book struct {
	f   *excelize.File
	err error
	st  styles
}

type styles struct {
	title, instruction, header, names          int
	readOnly, input, naReadOnly, naInput, code int
}

func (b *book) do(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

func cell(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

func colName(col int) string {
	name, _ := excelize.ColumnNumberToName(col)
	return name
}

func (b *book) set(sheet string, col, row int, v any) {
	if v == nil {
		return
	}
	if s, ok := v.(string); ok {
		if s == "" {
			return
		}
		// Always text: a region code like 140100 must not become a number.
		b.do(b.f.SetCellStr(sheet, cell(col, row), s))
		return
	}
	b.do(b.f.SetCellValue(sheet, cell(col, row), v))
}

func (b *book) style(sheet string, c1, r1, c2, r2, id int) {
	b.do(b.f.SetCellStyle(sheet, cell(c1, r1), cell(c2, r2), id))
}

func (b *book) newSheet(name string) {
	_, err := b.f.NewSheet(name)
	b.do(err)
}

func (b *book) newStyle(s *excelize.Style) int {
	id, err := b.f.NewStyle(s)
	b.do(err)
	return id
}

func (b *book) newStyles() {
	border := []excelize.Border{
		{Type: "left", Color: "BFBFBF", Style: 1}, {Type: "right", Color: "BFBFBF", Style: 1},
		{Type: "top", Color: "BFBFBF", Style: 1}, {Type: "bottom", Color: "BFBFBF", Style: 1},
	}
	fill := func(color string) excelize.Fill {
		return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}
	}
	locked := &excelize.Protection{Locked: true}
	unlocked := &excelize.Protection{Locked: false}
	middle := &excelize.Alignment{Vertical: "center", WrapText: true}
	b.st = styles{
		title: b.newStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}, Protection: locked}),
		instruction: b.newStyle(&excelize.Style{Font: &excelize.Font{Size: 10, Color: "595959"},
			Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}, Protection: locked}),
		header: b.newStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: fill("DDEBF7"), Border: border,
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}, Protection: locked}),
		names: b.newStyle(&excelize.Style{Font: &excelize.Font{Size: 9}, Fill: fill("F2F2F2"), Border: border,
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}, Protection: locked}),
		readOnly:   b.newStyle(&excelize.Style{Fill: fill("F2F2F2"), Border: border, Alignment: middle, Protection: locked}),
		code:       b.newStyle(&excelize.Style{Fill: fill("F2F2F2"), Border: border, Alignment: middle, Protection: locked, NumFmt: 49}),
		input:      b.newStyle(&excelize.Style{Border: border, Alignment: middle, Protection: unlocked}),
		naReadOnly: b.newStyle(&excelize.Style{Fill: fill("D9D9D9"), Border: border, Alignment: middle, Protection: locked}),
		naInput:    b.newStyle(&excelize.Style{Fill: fill("D9D9D9"), Border: border, Alignment: middle, Protection: unlocked}),
	}
}

// protect locks the sheet against accidental edits. There is no password:
// the lock only keeps users from typing into the wrong cells, and the
// server re-validates every upload anyway.
func (b *book) protect(sheet string) {
	b.do(b.f.ProtectSheet(sheet, &excelize.SheetProtectionOptions{
		SelectLockedCells: true, SelectUnlockedCells: true, FormatColumns: true, FormatRows: true,
	}))
}

func (b *book) widths(sheet string, widths []float64) {
	for i, w := range widths {
		b.do(b.f.SetColWidth(sheet, colName(i+1), colName(i+1), w))
	}
}

func (b *book) validate(sheet string, dv *excelize.DataValidation) {
	if dv != nil && dv.Sqref != "" {
		b.do(b.f.AddDataValidation(sheet, dv))
	}
}
