package xlsxguard_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/xlsxguard"
)

// part is one entry of a test zip; raw entries carry their header as given.
type part struct {
	name   string
	data   []byte
	method uint16
	crc    *uint32 // a wrong CRC-32 to declare; nil for the right one
	size   *uint64 // a wrong uncompressed size to declare
}

func zipOf(tb testing.TB, parts ...part) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		known := p.method == zip.Store || p.method == zip.Deflate
		if p.crc == nil && p.size == nil && known {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: p.method})
			if err != nil {
				tb.Fatal(err)
			}
			_, _ = w.Write(p.data)
			continue
		}
		fh := &zip.FileHeader{Name: p.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(p.data),
			CompressedSize64: uint64(len(p.data)), UncompressedSize64: uint64(len(p.data))}
		if p.crc != nil {
			fh.CRC32 = *p.crc
		}
		if p.size != nil {
			fh.UncompressedSize64, fh.CompressedSize64 = *p.size, *p.size
		}
		if !known {
			fh.Method = p.method
		}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = w.Write(p.data)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheck(t *testing.T) {
	workbook := part{name: "xl/workbook.xml", data: []byte("<workbook/>"), method: zip.Deflate}
	sheet := part{name: "xl/worksheets/sheet1.xml", data: []byte("<worksheet/>"), method: zip.Deflate}
	zeros := func(n int) []byte { return make([]byte, n) }
	wrong := uint32(12345)
	short := uint64(4)
	limits := xlsxguard.Limits{Total: 64 << 20, Part: 16 << 20}
	entries := []part{workbook}
	for i := range xlsxguard.MaxEntries {
		entries = append(entries, part{name: fmt.Sprintf("xl/p%d.xml", i), method: zip.Store})
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		limits xlsxguard.Limits
		bomb   bool // refused as too large rather than as no workbook
		ok     bool
	}{
		{"sound workbook", zipOf(t, workbook, sheet), limits, false, true},
		{"not a zip", []byte("PK\x03\x04 but no more"), limits, false, false},
		{"no workbook part", zipOf(t, sheet), limits, false, false},
		{"too many parts", zipOf(t, entries...), limits, false, false},
		{"unknown method", zipOf(t, workbook, part{name: "xl/x.xml", data: []byte("x"), method: 99}), limits, false, false},
		{"duplicate part", zipOf(t, workbook, sheet, part{name: "XL/Worksheets/Sheet1.xml", data: []byte("<other/>"), method: zip.Deflate}), limits, false, false},
		{"climbing name", zipOf(t, workbook, part{name: "../evil.xml", data: []byte("x"), method: zip.Deflate}), limits, false, false},
		{"Windows separators", zipOf(t, part{name: `xl\workbook.xml`, data: []byte("<workbook/>"), method: zip.Deflate}), limits, false, true},
		{"climbing Windows name", zipOf(t, workbook, part{name: `xl\..\..\evil.xml`, data: []byte("x"), method: zip.Deflate}), limits, false, false},
		{"absolute name", zipOf(t, workbook, part{name: "/xl/evil.xml", data: []byte("x"), method: zip.Deflate}), limits, false, false},
		{"wrong CRC", zipOf(t, workbook, part{name: "xl/worksheets/sheet1.xml", data: []byte("<worksheet/>"), crc: &wrong}), limits, false, false},
		{"longer than declared", zipOf(t, workbook, part{name: "xl/worksheets/sheet1.xml", data: []byte("<worksheet/>"), size: &short}), limits, false, false},
		{"ratio bomb", zipOf(t, workbook, part{name: "xl/worksheets/sheet1.xml", data: zeros(2 << 20), method: zip.Deflate}), limits, true, false},
		{"part over the limit", zipOf(t, workbook, part{name: "xl/styles.xml", data: zeros(2 << 20), method: zip.Store}), xlsxguard.Limits{Total: 64 << 20, Part: 1 << 20}, true, false},
		{"streamed part within its limit", zipOf(t, workbook, part{name: "xl/worksheets/sheet1.xml", data: zeros(2 << 20), method: zip.Store}),
			xlsxguard.Limits{Total: 64 << 20, Part: 1 << 20, Streamed: 4 << 20}, false, true},
		{"total over the limit", zipOf(t, workbook, part{name: "xl/a.xml", data: zeros(600 << 10), method: zip.Store}, part{name: "xl/b.xml", data: zeros(600 << 10), method: zip.Store}),
			xlsxguard.Limits{Total: 1 << 20, Part: 1 << 20}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := xlsxguard.Check(bytes.NewReader(tc.data), int64(len(tc.data)), tc.limits)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var d *fault.Detailed
			if !errors.Is(err, fault.ErrBadRequest) || !errors.As(err, &d) || d.Detail == "" || d.DetailZh == "" {
				t.Fatalf("err = %v, want a bilingual bad request", err)
			}
			if bomb := strings.Contains(d.Detail, "unzipped"); bomb != tc.bomb {
				t.Fatalf("err = %q, want bomb %v", d.Detail, tc.bomb)
			}
		})
	}
}
