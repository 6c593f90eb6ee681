package regions_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
	"github.com/ipeval/ipeval/regions/spec"
)

const shanxi = "\ufeffcode,name,kind,parent\n140000,山西省,province,\n140100,太原市,prefecture_city,140000\n140200,大同市,prefecture_city,140000\n"

func TestImportCSV(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := regions.NewStore(db)
		n, err := s.ImportCSV(ctx, strings.NewReader(shanxi))
		if err != nil || n != 3 {
			t.Fatalf("import = %d, %v", n, err)
		}
		r, err := s.Get(ctx, "140100")
		if err != nil || r.Name != "太原市" || r.ParentCode == nil || *r.ParentCode != "140000" {
			t.Fatalf("Get(140100) = %+v, %v", r, err)
		}
		// Re-import updates in place.
		if _, err := s.ImportCSV(ctx, strings.NewReader("code,name,kind,parent\n140100,太原市（更新）,prefecture_city,140000\n")); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Get(ctx, "140100"); r.Name != "太原市（更新）" {
			t.Fatalf("re-import did not update: %+v", r)
		}
		t.Run("a bad row stores nothing", func(t *testing.T) {
			_, err := s.ImportCSV(ctx, strings.NewReader("code,name,kind,parent\n140300,阳泉市,prefecture_city,140000\n140400,长治市,moon,140000\n140300,重复,county,140000\n"))
			var ve *fault.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want validation error", err)
			}
			rows := map[int]string{}
			for _, fe := range ve.Errors {
				rows[fe.Row] = fe.Code
			}
			if rows[3] != "unknown_kind" || rows[4] != "duplicate_code" {
				t.Fatalf("row errors %v, want row 3 unknown_kind and row 4 duplicate_code", rows)
			}
			if _, err := s.Get(ctx, "140300"); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("valid row of a refused file was stored: %v", err)
			}
		})
		t.Run("a parent loop through stored regions is refused", func(t *testing.T) {
			_, err := s.ImportCSV(ctx, strings.NewReader("code,name,kind,parent\n140000,山西省,province,140100\n"))
			if !errors.Is(err, fault.ErrBadRequest) || !strings.Contains(err.Error(), "cycle") {
				t.Fatalf("err = %v, want a parent_cycle problem", err)
			}
			if r, _ := s.Get(ctx, "140000"); r.ParentCode != nil {
				t.Fatalf("refused import changed the province's parent to %v", *r.ParentCode)
			}
		})
		t.Run("codes are case-insensitive", func(t *testing.T) {
			if _, err := s.ImportCSV(ctx, strings.NewReader("code,name,kind,parent\np9,园区,pilot_park,140100\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "P9"); err != nil {
				t.Fatalf("lower-case code not stored upper-case: %v", err)
			}
			if _, err := s.Create(ctx, spec.Input{Code: "P9", Name: "x", Kind: kind.Park}); !errors.Is(err, fault.ErrConflict) {
				t.Fatalf("same code in other case: %v, want conflict", err)
			}
		})
		t.Run("GBK file", func(t *testing.T) {
			gbk, _ := simplifiedchinese.GBK.NewEncoder().String("code,name,kind,parent\n140500,晋城市,prefecture_city,140000\n")
			if _, err := s.ImportCSV(ctx, strings.NewReader(gbk)); err != nil {
				t.Fatal(err)
			}
			if r, _ := s.Get(ctx, "140500"); r.Name != "晋城市" {
				t.Fatalf("GBK name read as %q", r.Name)
			}
		})
		t.Run("missing columns", func(t *testing.T) {
			_, err := s.ImportCSV(ctx, strings.NewReader("code,title\n1,x\n"))
			if !errors.Is(err, fault.ErrBadRequest) || !strings.Contains(err.Error(), "missing column") {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestCreateAndUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := regions.NewStore(db)
		if _, err := s.ImportCSV(ctx, strings.NewReader(shanxi)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, spec.Input{Code: "140100", Name: "x", Kind: kind.County}); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("duplicate create: %v, want conflict", err)
		}
		if _, err := s.Create(ctx, spec.Input{Code: "P01", Name: "太原高新区", Kind: kind.PilotPark, ParentCode: "140100"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Update(ctx, "140100", spec.Input{Name: "太原市", Kind: kind.PrefectureCity, ParentCode: "P01"})
		if !errors.Is(err, fault.ErrBadRequest) {
			t.Fatalf("parent cycle accepted: %v", err)
		}
		if _, err := s.Update(ctx, "999999", spec.Input{Name: "x", Kind: kind.County}); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("update of unknown region: %v", err)
		}
	})
}

// TestWriteTemplate: on an empty database the template holds example rows
// that import as they are; with regions stored it holds them, each after
// its parent even where a child's code sorts first, a name a spreadsheet
// would run as a formula guarded, and it imports into an empty database.
func TestWriteTemplate(t *testing.T) {
	ctx := context.Background()
	s := regions.NewStore(dbtest.New(t))
	var b bytes.Buffer
	if err := s.WriteTemplate(ctx, &b); err != nil {
		t.Fatal(err)
	}
	rows, err := spec.ParseCSV(bytes.NewReader(b.Bytes()))
	if err != nil || !slices.Equal(rows, spec.Example()) {
		t.Fatalf("empty database: template rows %v, %v; want the examples", rows, err)
	}
	if _, err := s.ImportCSV(ctx, bytes.NewReader(b.Bytes())); err != nil {
		t.Fatalf("the examples do not import: %v", err)
	}
	// A park under the reform zone, with a formula-like name.
	if _, err := s.ImportCSV(ctx, strings.NewReader("code,name,kind,parent\n149900,示范区,reform_zone,140000\n149901,\"=HYPERLINK(\"\"x\"\")\",pilot_park,149900\n")); err != nil {
		t.Fatal(err)
	}
	// 140100 sorts before 149900, now its parent.
	if _, err := s.Update(ctx, "140100", spec.Input{Name: "太原市", Kind: kind.PrefectureCity, ParentCode: "149900"}); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := s.WriteTemplate(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "'=HYPERLINK") {
		t.Errorf("a formula-like name is not guarded: %s", b.String())
	}
	rows, err = spec.ParseCSV(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if errs := spec.CheckRows(rows, map[string]bool{}); len(errs) > 0 {
		t.Errorf("the template does not import into an empty database: %v\n%s", errs, b.String())
	}
	stored, _ := s.List(ctx)
	if len(rows) != len(stored) {
		t.Errorf("the template holds %d regions, the database %d", len(rows), len(stored))
	}
	for _, r := range rows {
		if r.Code == "149901" && r.Name != `=HYPERLINK("x")` {
			t.Errorf("the name read back is %q", r.Name)
		}
	}
}

// FuzzImportCSV feeds arbitrary bytes to the importer: it must either store
// every row or report a validation error, and never panic or fail otherwise.
func FuzzImportCSV(f *testing.F) {
	f.Add(shanxi)
	f.Add("code,name,kind,parent\n\"14\n0000\",\"x\"\"y\",county,\n")
	f.Add("code,name,kind\n")
	f.Add("\ufeff")
	f.Add("code,name,kind,parent\n140100,太原市,prefecture_city,140100\n")
	db := dbtest.New(f)
	s := regions.NewStore(db)
	f.Fuzz(func(t *testing.T, in string) {
		_, err := s.ImportCSV(context.Background(), strings.NewReader(in))
		if err != nil && !errors.Is(err, fault.ErrBadRequest) {
			t.Fatalf("import failed with a non-validation error: %v", err)
		}
	})
}
