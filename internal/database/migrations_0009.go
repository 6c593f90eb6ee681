package database

import (
	"fmt"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// m0009PurgedFiles marks the upload files whose content was removed after
// the retention period (evidence withdrawn, survey batches refused,
// withdrawn or replaced): the row stays on record, with when it was
// purged.
func m0009PurgedFiles() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0009_purged_files",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().AddColumn(&evidenceV9{}, "PurgedAt"); err != nil {
				return fmt.Errorf("add purged_at to evidence files: %w", err)
			}
			if err := tx.Migrator().AddColumn(&surveyBatchV9{}, "PurgedAt"); err != nil {
				return fmt.Errorf("add purged_at to survey batches: %w", err)
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Migrator().DropColumn(&surveyBatchV9{}, "PurgedAt"); err != nil {
				return err
			}
			return tx.Migrator().DropColumn(&evidenceV9{}, "PurgedAt")
		},
	}
}

// Frozen models of migration 0009.
type evidenceV9 struct {
	ID       string `gorm:"primaryKey;size:36"`
	PurgedAt *time.Time
}

func (evidenceV9) TableName() string { return "evidence_files" }

type surveyBatchV9 struct {
	ID       string `gorm:"primaryKey;size:36"`
	PurgedAt *time.Time
}

func (surveyBatchV9) TableName() string { return "survey_batches" }
