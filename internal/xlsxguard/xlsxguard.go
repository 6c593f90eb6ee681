// Package xlsxguard inspects an uploaded xlsx before excelize unpacks it:
// the one zip guard of every workbook reader (the values import and the
// survey upload). A workbook is a zip of XML parts, and excelize trusts
// what the zip says, so a hostile or damaged file is refused here, without
// holding more than one part's inflate buffer:
//
//   - not a zip, more than MaxEntries parts, a compression method other
//     than store or deflate, no xl/workbook.xml, a part name that is
//     absolute, climbs with "..", or appears twice (two readers of the
//     archive could then see different parts);
//   - declared sizes above the caller's Limits (a zip bomb that says so);
//   - a part over 1 MiB that expands more than MaxRatio times its
//     compressed size: worksheet XML compresses 10–60 times, a bomb
//     about 1000;
//   - a part whose inflated bytes exceed its declared size or fail its
//     CRC-32: archive/zip stops at the declared size and checks the CRC,
//     but excelize ignores a read error inside a part and would silently
//     read a damaged sheet as a shorter one.
package xlsxguard

import (
	"archive/zip"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/ipeval/ipeval/internal/fault"
)

// Fixed bounds, the same for every reader.
const (
	// MaxEntries bounds the parts of a workbook; Excel writes a few dozen.
	MaxEntries = 10000
	// MaxRatio bounds how much a part larger than ratioFloor may expand.
	MaxRatio   = 250
	ratioFloor = 1 << 20
)

// Limits are what a reader lets a workbook unzip to.
type Limits struct {
	// Total bounds the declared sizes of all parts together.
	Total uint64
	// Part bounds each part that excelize holds in memory.
	Part uint64
	// Streamed bounds a worksheet or the shared strings, which excelize
	// reads as a stream (spilling them to a temporary file past Part);
	// 0 means Part.
	Streamed uint64
}

// NotWorkbook is the problem of a file that is not a readable xlsx.
func NotWorkbook() error {
	return fault.With(fault.ErrBadRequest,
		"the file is not an xlsx workbook (or it is damaged or incomplete); save it again from Excel or WPS as .xlsx",
		"文件不是有效的 Excel（xlsx）工作簿，或文件已损坏、不完整；请用 Excel 或 WPS 重新另存为 .xlsx", nil)
}

func tooLarge(l Limits) error {
	return fault.With(fault.ErrBadRequest,
		"the workbook expands to more than the allowed size when unzipped",
		"工作簿解压后超过允许的大小", map[string]any{"max_unzipped_bytes": l.Total})
}

// Check reads the zip directory of the size bytes at ra, then inflates
// each part once, and returns nil for a sound workbook within l, or a
// fault.ErrBadRequest problem in Chinese and English.
func Check(ra io.ReaderAt, size int64, l Limits) error {
	zr, err := zip.NewReader(ra, size)
	// An insecure name (with GODEBUG zipinsecurepath=0) is judged below
	// with the others, after backslashes are read as slashes.
	if err != nil && (zr == nil || !errors.Is(err, zip.ErrInsecurePath)) || len(zr.File) > MaxEntries {
		return NotWorkbook()
	}
	streamed := l.Streamed
	if streamed == 0 {
		streamed = l.Part
	}
	var total uint64
	workbook := false
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		name := strings.ToLower(strings.ReplaceAll(f.Name, `\`, "/"))
		if f.Method != zip.Store && f.Method != zip.Deflate || !cleanName(name) || seen[name] {
			return NotWorkbook()
		}
		seen[name] = true
		limit := l.Part
		if strings.HasPrefix(name, "xl/worksheets/") || name == "xl/sharedstrings.xml" {
			limit = streamed
		}
		if total += f.UncompressedSize64; total > l.Total || f.UncompressedSize64 > limit {
			return tooLarge(l)
		}
		if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64 > MaxRatio*max(f.CompressedSize64, 1) {
			return tooLarge(l)
		}
		workbook = workbook || name == "xl/workbook.xml"
	}
	if !workbook {
		return NotWorkbook()
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return NotWorkbook()
		}
		_, err = io.Copy(io.Discard, rc)
		_ = rc.Close()
		if err != nil {
			return NotWorkbook()
		}
	}
	return nil
}

// cleanName reports whether a part name (lower case, forward slashes) is
// relative and stays inside the archive.
func cleanName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return false
	}
	c := path.Clean(name)
	return c == strings.TrimSuffix(name, "/") && c != ".." && !strings.HasPrefix(c, "../")
}
