// Package cyclestest sets up, for tests of the stores, the small world most
// of them start from: a province and three of its cities, the default
// scheme stored, and a cycle assessed with it. It is a test helper, used
// only by _test files.
package cyclestest

import (
	"context"
	"io"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions"
)

// Regions is Shanxi with three prefecture cities, as a regions CSV.
const Regions = "code,name,kind,parent\n" +
	"140000,山西省,province,\n" +
	"140100,太原市,prefecture_city,140000\n" +
	"140200,大同市,prefecture_city,140000\n" +
	"140300,阳泉市,prefecture_city,140000\n"

// Cycle imports regionsCSV (Regions when nil), stores the default scheme
// and returns a draft cycle of year assessed with it, with the scheme.
func Cycle(tb testing.TB, db *gorm.DB, regionsCSV io.Reader, year int) (cycles.Cycle, indicators.StoredScheme) {
	tb.Helper()
	ctx := context.Background()
	if regionsCSV == nil {
		regionsCSV = strings.NewReader(Regions)
	}
	if _, err := regions.NewStore(db).ImportCSV(ctx, regionsCSV); err != nil {
		tb.Fatalf("import regions: %v", err)
	}
	st, err := indicators.NewSchemeStore(db).Create(ctx, scheme.Default(), "")
	if err != nil {
		tb.Fatalf("store the default scheme: %v", err)
	}
	cs := cycles.NewStore(db)
	c, err := cs.Create(ctx, cycles.Input{Year: year})
	if err != nil {
		tb.Fatalf("create cycle: %v", err)
	}
	if c, err = cs.SetScheme(ctx, c.ID, st.ID); err != nil {
		tb.Fatalf("assign scheme: %v", err)
	}
	return c, st
}

// Collecting is Cycle moved on to collection.
func Collecting(tb testing.TB, db *gorm.DB, regionsCSV io.Reader, year int) (cycles.Cycle, indicators.StoredScheme) {
	tb.Helper()
	c, st := Cycle(tb, db, regionsCSV, year)
	c, err := cycles.NewStore(db).Transition(context.Background(), c.ID, cycles.Collecting)
	if err != nil {
		tb.Fatalf("open collection: %v", err)
	}
	return c, st
}
