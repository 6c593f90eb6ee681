package database

import (
	"fmt"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// m0008ScoringPeriods numbers each stay of a cycle in scoring (a cycle
// may go back to collecting and score again) and records on each run the
// period it was scored in, so that a run computed before a reopening can
// neither be stored into nor published in a later period. Existing cycles
// that have scored count as in their first period; an existing run belongs
// to it unless it is older than its scoring cycle's last transition (which
// is when the cycle last entered scoring: a scoring cycle changes no
// other way), in which case it is of an earlier period.
func m0008ScoringPeriods() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0008_scoring_periods",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().AddColumn(&cycleV8{}, "ScoringPeriod"); err != nil {
				return fmt.Errorf("add scoring period to cycles: %w", err)
			}
			if err := tx.Migrator().AddColumn(&runV8{}, "ScoringPeriod"); err != nil {
				return fmt.Errorf("add scoring period to runs: %w", err)
			}
			for _, stmt := range []string{
				"UPDATE cycles SET scoring_period = 1 WHERE status IN ('scoring', 'published', 'archived')",
				"UPDATE runs SET scoring_period = 1 WHERE cycle_id IN (SELECT id FROM cycles WHERE status IN ('published', 'archived'))",
				"UPDATE runs SET scoring_period = 1 WHERE cycle_id IN (SELECT id FROM cycles WHERE status = 'scoring' AND cycles.updated_at <= runs.created_at)",
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("number scoring periods: %w", err)
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Migrator().DropColumn(&runV8{}, "ScoringPeriod"); err != nil {
				return err
			}
			return tx.Migrator().DropColumn(&cycleV8{}, "ScoringPeriod")
		},
	}
}

// Frozen models of migration 0008.
type cycleV8 struct {
	ID            string `gorm:"primaryKey;size:36"`
	ScoringPeriod int    `gorm:"not null;default:0"`
}

func (cycleV8) TableName() string { return "cycles" }

type runV8 struct {
	ID            string `gorm:"primaryKey;size:36"`
	ScoringPeriod int    `gorm:"not null;default:0"`
}

func (runV8) TableName() string { return "runs" }
