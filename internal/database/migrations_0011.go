package database

import (
	"fmt"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// m0011CollectionDeadline gives a cycle the day until which collection is
// announced open (nullable: a cycle opened without one, and every cycle
// before this version, has none). It is informational; nothing enforces it.
func m0011CollectionDeadline() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0011_collection_deadline",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().AddColumn(&cycleV11{}, "CollectionDeadline"); err != nil {
				return fmt.Errorf("add collection_deadline to cycles: %w", err)
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Migrator().DropColumn(&cycleV11{}, "CollectionDeadline")
		},
	}
}

// Frozen model of migration 0011.
type cycleV11 struct {
	ID                 string     `gorm:"primaryKey"`
	CollectionDeadline *time.Time `gorm:"type:date"`
}

func (cycleV11) TableName() string { return "cycles" }
