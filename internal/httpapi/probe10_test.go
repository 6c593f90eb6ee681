package httpapi_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/surveys"
)

// TestProbe10ZipGuard: workbooks that the values import used to accept —
// a sheet whose CRC-32 is wrong (a damaged file read as a shorter one),
// and a part that expands a thousandfold (a zip bomb below the size
// limits) — are refused by the values import with a bilingual problem and
// nothing stored, and by the survey reader with the same words: one guard
// serves every workbook reader. On SQLite and MariaDB.
func TestProbe10ZipGuard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		testProbe10(t, newFixtureOn(t, db, web.Options{LoginRate: 1000}))
	})
}

func testProbe10(t *testing.T, f *fixture) {
	cy := f.collectingCycle()
	base := "/api/v1/cycles/" + cy.ID
	values := f.filledTemplate(base, func(code string) string {
		if code == "A2" {
			return "3"
		}
		return ""
	})
	survey := xlsxFile(t, [][]string{strings.Split(surveyHeader, ","), strings.Split(goodRows("140100", "z", 1)[0], ",")})
	project := f.surveyProject(f.sharedCycle().ID, f.org, "140100")
	for _, tc := range []struct {
		name   string
		damage func(testing.TB, []byte) []byte
		want   string
	}{
		{"wrong CRC of the sheet", wrongSheetCRC, "damaged"},
		{"part expanding a thousandfold", withPaddingPart, "unzipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			before := f.tableState("indicator_values")
			resp, body := f.do(f.as("city", upload("POST", base+"/values/import", nil, "file", "values.xlsx", tc.damage(t, values))))
			wantProblem(t, resp, body, http.StatusBadRequest)
			var p struct {
				Detail   string `json:"detail"`
				DetailZh string `json:"detail_zh"`
			}
			_ = json.Unmarshal(body, &p)
			if !strings.Contains(p.Detail, tc.want) || p.DetailZh == "" {
				t.Fatalf("values import: detail %q (zh %q), want one naming %q", p.Detail, p.DetailZh, tc.want)
			}
			if f.tableState("indicator_values") != before {
				t.Fatal("the refused workbook stored values")
			}

			b := f.surveyBatch("contractor", project, "survey.xlsx", tc.damage(t, survey), nil)
			if b.Status != surveys.BatchFailed || b.Error != p.Detail {
				t.Fatalf("survey batch %s with %q; want failed with the values import's %q", b.Status, b.Error, p.Detail)
			}
			if f.quality("contractor", project)["140100"] != 0 {
				t.Fatal("the refused survey workbook stored responses")
			}
		})
	}
	t.Run("the undamaged workbooks are read", func(t *testing.T) {
		f.t = t
		f.do(f.as("city", upload("POST", base+"/values/import", nil, "file", "values.xlsx", values)))
		if v := f.storedValue(cy.ID, "140100", "A2"); v.Number == nil || *v.Number != 3 {
			t.Fatalf("A2 stored as %+v", v)
		}
		if b := f.surveyBatch("contractor", project, "survey.xlsx", survey, nil); b.Status != surveys.BatchValid {
			t.Fatalf("survey batch %s: %q %+v", b.Status, b.Error, b.Problems)
		}
	})
}

// rezip copies a zip part by part, compressed bytes as they are, letting
// edit change each header, and then lets add write more parts.
func rezip(tb testing.TB, data []byte, edit func(*zip.FileHeader), add func(*zip.Writer)) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		fh := zf.FileHeader
		edit(&fh)
		raw, err := zf.OpenRaw()
		if err != nil {
			tb.Fatal(err)
		}
		w, err := zw.CreateRaw(&fh)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(w, raw); err != nil {
			tb.Fatal(err)
		}
	}
	add(zw)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// wrongSheetCRC declares a wrong CRC-32 for the first worksheet.
func wrongSheetCRC(tb testing.TB, data []byte) []byte {
	return rezip(tb, data, func(fh *zip.FileHeader) {
		if fh.Name == "xl/worksheets/sheet1.xml" {
			fh.CRC32 ^= 0xdeadbeef
		}
	}, func(*zip.Writer) {})
}

// withPaddingPart adds a part of 2 MiB of zeros, which deflate packs about
// a thousandfold: far below the size limits, far above the ratio of XML.
func withPaddingPart(tb testing.TB, data []byte) []byte {
	return rezip(tb, data, func(*zip.FileHeader) {}, func(zw *zip.Writer) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "xl/media/padding.bin", Method: zip.Deflate})
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = w.Write(make([]byte, 2<<20))
	})
}
