package responsefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/internal/xlsxguard"
)

// Limits on a workbook. An xlsx is a zip of XML; a sheet of a million
// survey rows unzips to about a gigabyte. excelize keeps parts up to
// unzipXMLSizeLimit in memory and spills larger sheets to temporary files.
const (
	unzipSizeLimit    = 2 << 30
	unzipXMLSizeLimit = 16 << 20
)

func errNotXLSX() error {
	return errBad("the file is not an xlsx workbook (or it is damaged or incomplete); save it again from Excel or WPS as .xlsx",
		"文件不是有效的 Excel（xlsx）工作簿，或文件已损坏、不完整；请用 Excel 或 WPS 重新另存为 .xlsx", nil)
}

func errCSVAsXLSX() error {
	return errBad("the file is a text (CSV) file, not an xlsx workbook; upload it with the .csv extension",
		"该文件是文本（CSV）文件而不是 xlsx 工作簿，请以 .csv 扩展名上传", nil)
}

// guard turns a panic inside excelize on a malformed workbook into a 400:
// the library parses untrusted XML, and one bad file must not take down
// the worker with it.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errNotXLSX()
		}
	}()
	return fn()
}

// seekReaderAt lets archive/zip read the directory of an upload that is
// only an io.ReadSeeker.
type seekReaderAt struct{ r io.ReadSeeker }

func (s seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// readXLSX reads the first sheet of a workbook, streaming its rows.
func readXLSX(r io.ReadSeeker, size int64, rr *rowReader) error {
	if size <= 0 {
		return errEmpty()
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("responsefile: seek: %w", err)
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || !bytes.Equal(magic, []byte("PK\x03\x04")) {
		if err == nil && bytes.IndexByte(magic, 0) < 0 && !bytes.Equal(magic, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
			return errCSVAsXLSX()
		}
		return errNotXLSX()
	}
	ra, ok := r.(io.ReaderAt)
	if !ok {
		ra = seekReaderAt{r}
	}
	if err := xlsxguard.Check(ra, size, xlsxguard.Limits{Total: unzipSizeLimit, Part: unzipXMLSizeLimit, Streamed: unzipSizeLimit}); err != nil {
		return err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("responsefile: seek: %w", err)
	}
	var f *excelize.File
	err := guard(func() (err error) {
		opts := excelize.Options{UnzipSizeLimit: unzipSizeLimit, UnzipXMLSizeLimit: unzipXMLSizeLimit}
		// excelize.OpenReader copies the whole compressed file into
		// memory; a file on disk is opened in place instead.
		if file, ok := r.(*os.File); ok {
			f, err = excelize.OpenFile(file.Name(), opts)
			return err
		}
		f, err = excelize.OpenReader(io.LimitReader(r, size), opts)
		return err
	})
	if f != nil {
		defer func() { _ = f.Close() }()
	}
	if err != nil {
		return errNotXLSX()
	}
	var sheet string
	var total int
	if err := guard(func() error {
		list := f.GetSheetList()
		if len(list) == 0 {
			return errNotXLSX()
		}
		sheet = list[0]
		dim, _ := f.GetSheetDimension(sheet)
		total = dimensionRows(dim)
		return nil
	}); err != nil {
		return err
	}
	var rows *excelize.Rows
	if err := guard(func() (err error) { rows, err = f.Rows(sheet); return err }); err != nil {
		return errNotXLSX()
	}
	defer func() { _ = rows.Close() }()
	rr.times.twoDigitYears = true
	rr.utcTimes.twoDigitYears = true
	for n := 1; ; n++ {
		if n&8191 == 0 {
			if err := rr.ctx.Err(); err != nil {
				return fmt.Errorf("responsefile: %w", err)
			}
			if total > 0 {
				rr.report(size * int64(min(n, total)) / int64(total))
			}
		}
		var cells []string
		more := false
		if err := guard(func() (err error) {
			if more = rows.Next(); !more {
				return nil
			}
			cells, err = rows.Columns()
			return err
		}); err != nil {
			return errNotXLSX()
		}
		if !more {
			break
		}
		if rr.lay == nil && len(cells) > maxColumns {
			return errTooManyColumns(n)
		}
		if err := rr.row(n, cells); err != nil {
			return err
		}
	}
	if rows.Error() != nil {
		return errNotXLSX()
	}
	return rr.finish()
}

// dimensionRows reads the last row of a sheet's dimension ("A1:Z1000"), to
// estimate progress; 0 when unknown.
func dimensionRows(ref string) int {
	_, last, ok := strings.Cut(ref, ":")
	if !ok {
		return 0
	}
	i := strings.IndexFunc(last, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(last[i:])
	if err != nil {
		return 0
	}
	return n
}
