package cycles_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

func TestTransitions(t *testing.T) {
	all := []cycles.Status{cycles.Draft, cycles.Collecting, cycles.Scoring, cycles.Published, cycles.Archived}
	legal := map[[2]cycles.Status]bool{
		{cycles.Draft, cycles.Collecting}:   true,
		{cycles.Collecting, cycles.Scoring}: true,
		{cycles.Scoring, cycles.Collecting}: true,
		{cycles.Published, cycles.Archived}: true,
	}
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := cycles.NewStore(db)
		sch, err := indicators.NewSchemeStore(db).Create(ctx, scheme.Default(), "")
		if err != nil {
			t.Fatal(err)
		}
		year := 2000
		// at creates a cycle with a scheme and walks it to state.
		at := func(t *testing.T, state cycles.Status) cycles.Cycle {
			t.Helper()
			year++
			c, err := s.Create(ctx, cycles.Input{Year: year})
			if err != nil {
				t.Fatal(err)
			}
			if c, err = s.SetScheme(ctx, c.ID, sch.ID); err != nil {
				t.Fatal(err)
			}
			for _, st := range all[1:] {
				if c.Status == state {
					break
				}
				if st == cycles.Published {
					// Publication belongs to runs; the test sets it.
					if err := db.Model(&cycles.Cycle{}).Where("id = ?", c.ID).Update("status", st).Error; err != nil {
						t.Fatal(err)
					}
					c.Status = st
					continue
				}
				if c, err = s.Transition(ctx, c.ID, st); err != nil {
					t.Fatal(err)
				}
			}
			return c
		}
		for _, from := range all {
			for _, to := range all {
				t.Run(string(from)+"→"+string(to), func(t *testing.T) {
					c := at(t, from)
					got, err := s.Transition(ctx, c.ID, to)
					if legal[[2]cycles.Status{from, to}] {
						if err != nil || got.Status != to {
							t.Fatalf("legal transition: %+v, %v", got, err)
						}
						return
					}
					var d *fault.Detailed
					if !errors.Is(err, fault.ErrConflict) || !errors.As(err, &d) || d.Ext["allowed"] == nil {
						t.Fatalf("illegal transition: err %v, want conflict listing the allowed states", err)
					}
					if again, _ := s.Get(ctx, c.ID); again.Status != from {
						t.Fatalf("state changed to %s by a refused transition", again.Status)
					}
				})
			}
		}
		t.Run("one of two concurrent transitions wins", func(t *testing.T) {
			c := at(t, cycles.Scoring)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, to := range []cycles.Status{cycles.Collecting, cycles.Collecting} {
				wg.Add(1)
				go func() { defer wg.Done(); _, errs[i] = s.Transition(ctx, c.ID, to) }()
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("both or neither succeeded: %v", errs)
			}
		})
		t.Run("one cycle per year", func(t *testing.T) {
			if _, err := s.Create(ctx, cycles.Input{Year: 2001}); !errors.Is(err, fault.ErrConflict) {
				t.Fatalf("second cycle for a year: %v", err)
			}
		})
	})
}

// TestCreateWithScheme creates a cycle assessed with a scheme in one
// insert: with a stored scheme it is a draft with it; with a scheme that
// does not exist, or bad input, nothing is stored.
func TestCreateWithScheme(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := cycles.NewStore(db)
		sch, err := indicators.NewSchemeStore(db).Create(ctx, scheme.Default(), "")
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateWithScheme(ctx, cycles.Input{Year: 2031, Name: " 考核 "}, sch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != cycles.Draft || c.Name != "考核" || c.SchemeID == nil || *c.SchemeID != sch.ID {
			t.Errorf("created %+v, want a draft named 考核 with scheme %s", c, sch.ID)
		}
		if _, err := s.CreateWithScheme(ctx, cycles.Input{Year: 2032}, "no-such-scheme"); err == nil {
			t.Error("a cycle with an unknown scheme was created")
		}
		var invalid *fault.ValidationError
		if _, err := s.CreateWithScheme(ctx, cycles.Input{Year: 1999}, sch.ID); !errors.As(err, &invalid) {
			t.Errorf("year 1999: %v, want invalid", err)
		}
		if n := len(cycles.Input{Year: 3000, Name: "a\x00b"}.Problems()); n != 2 {
			t.Errorf("%d problems of a bad year and name, want 2", n)
		}
		var count int64
		db.Model(&cycles.Cycle{}).Count(&count)
		if count != 1 {
			t.Errorf("%d cycles stored, want 1", count)
		}
	})
}
