package demo_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/evaluation/runs"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/cycles"
	"github.com/ipeval/ipeval/internal/dbtest"
	"github.com/ipeval/ipeval/internal/demo"
)

// TestLoad checks the story the demo tells: two published years, Taiyuan
// excellent in the first and capped by rule R1 in the second for want of
// funding, and the current year open for data entry.
func TestLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		res, err := demo.Load(ctx, db, 2026)
		if err != nil {
			t.Fatal(err)
		}
		if res.Cycle.Status != cycles.Collecting || len(res.PastCycles) != 2 {
			t.Fatalf("current cycle %s, %d past cycles", res.Cycle.Status, len(res.PastCycles))
		}
		var manager auth.Principal
		if err := db.Model(&auth.User{}).Select("id").Where("username = ?", "admin").Scan(&manager.UserID).Error; err != nil {
			t.Fatal(err)
		}
		manager.Role = auth.RoleAdmin
		store := runs.NewStore(db, nil, indicators.NewSchemeStore(db))
		grades := map[int][2]string{}
		for _, cy := range res.PastCycles {
			if cy.Status != cycles.Published {
				t.Fatalf("past cycle %d is %s", cy.Year, cy.Status)
			}
			list, err := store.List(ctx, manager, cy.ID)
			if err != nil || len(list) != 1 || list[0].PublishedAt == nil {
				t.Fatalf("runs of %d: %+v, %v", cy.Year, list, err)
			}
			ty, err := store.Region(ctx, manager, list[0].ID, demo.Capped)
			if err != nil {
				t.Fatal(err)
			}
			grades[cy.Year] = [2]string{ty.BandGrade, ty.Grade}
			if cy.Year == 2025 && ty.AwardEligible {
				t.Fatal("Taiyuan without funding is award eligible")
			}
		}
		if grades[2024] != [2]string{"excellent", "excellent"} || grades[2025] != [2]string{"excellent", "good"} {
			t.Fatalf("Taiyuan's band and grade by year: %v", grades)
		}
	})
}
