package database

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// Migrations are append-only: a released migration is never edited. Each
// one declares frozen copies of the structs it creates, so that later changes
// to the live models cannot change what an old migration does.
func migrations() []*gormigrate.Migration {
	return []*gormigrate.Migration{
		m0001Core(),
		m0002Schemes(),
		m0003Values(),
		m0004Evidence(),
		m0005Runs(),
		m0006Surveys(),
		m0007Reports(),
		m0008ScoringPeriods(),
		m0009PurgedFiles(),
		m0010JobKinds(),
		m0011CollectionDeadline(),
	}
}

const migrationTable = "schema_migrations"

func migrator(db *gorm.DB) *gormigrate.Gormigrate {
	return gormigrate.New(db, &gormigrate.Options{
		TableName:      migrationTable,
		IDColumnName:   "id",
		IDColumnSize:   64,
		UseTransaction: false,
	}, migrations())
}

// Migrate applies every pending migration.
func Migrate(ctx context.Context, db *gorm.DB) error {
	if err := migrator(db.WithContext(ctx)).Migrate(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrationState is one known migration and whether it has been applied.
type MigrationState struct {
	ID      string
	Applied bool
}

// Status lists every migration this binary knows, in order, with its state.
func Status(ctx context.Context, db *gorm.DB) ([]MigrationState, error) {
	var applied []string
	db = db.WithContext(ctx)
	if db.Migrator().HasTable(migrationTable) {
		if err := db.Table(migrationTable).Pluck("id", &applied).Error; err != nil {
			return nil, fmt.Errorf("read migrations: %w", err)
		}
	}
	var out []MigrationState
	for _, m := range migrations() {
		out = append(out, MigrationState{ID: m.ID, Applied: slices.Contains(applied, m.ID)})
	}
	return out, nil
}

// Pending returns the ids of migrations not yet applied.
func Pending(ctx context.Context, db *gorm.DB) ([]string, error) {
	states, err := Status(ctx, db)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range states {
		if !s.Applied {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// m0001Core creates the core tables: regions, organisations, users, API
// tokens, sessions, cycles, jobs and the append-only audit log.
func m0001Core() *gormigrate.Migration {
	models := []any{&regionV1{}, &organisationV1{}, &userV1{}, &apiTokenV1{}, &sessionV1{}, &cycleV1{}, &jobV1{}, &auditEntryV1{}}
	return &gormigrate.Migration{
		ID: "0001_core",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(models...); err != nil {
				return fmt.Errorf("create core tables: %w", err)
			}
			return appendOnly(tx, "audit_log")
		},
		Rollback: func(tx *gorm.DB) error {
			for i := len(models) - 1; i >= 0; i-- {
				if err := tx.Migrator().DropTable(models[i]); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// m0002Schemes stores assessment schemes as versioned documents and lets a
// cycle name the scheme it is assessed with.
func m0002Schemes() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0002_schemes",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&schemeV2{}); err != nil {
				return fmt.Errorf("create schemes: %w", err)
			}
			if err := tx.AutoMigrate(&cycleV2{}); err != nil {
				return fmt.Errorf("link cycles to schemes: %w", err)
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Migrator().DropConstraint(&cycleV2{}, "Scheme"); err != nil {
				return err
			}
			if err := tx.Migrator().DropColumn(&cycleV2{}, "scheme_id"); err != nil {
				return err
			}
			return tx.Migrator().DropTable(&schemeV2{})
		},
	}
}

// m0003Values stores indicator values per cycle, region and indicator, with
// an optimistic-lock version, and their append-only revision history.
func m0003Values() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0003_values",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&indicatorValueV3{}, &indicatorValueRevisionV3{}); err != nil {
				return fmt.Errorf("create indicator values: %w", err)
			}
			return appendOnly(tx, "indicator_value_revisions")
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Migrator().DropTable(&indicatorValueRevisionV3{}); err != nil {
				return err
			}
			return tx.Migrator().DropTable(&indicatorValueV3{})
		},
	}
}

// m0004Evidence records the evidence files attached to indicator values.
// The files themselves live in the blob directory, named by checksum; a
// withdrawn file keeps its row (withdrawn_at, withdrawn_by) so that what a
// reviewer once saw stays on record.
func m0004Evidence() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0004_evidence",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&evidenceV4{}); err != nil {
				return fmt.Errorf("create evidence: %w", err)
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Migrator().DropTable(&evidenceV4{})
		},
	}
}

// m0005Runs stores evaluation runs. A run row is written once, whole, when
// its job has scored the cycle: readers never see half a run. Results are
// kept as the engine's JSON, which is byte-identical for identical inputs.
func m0005Runs() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0005_runs",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&runV5{}); err != nil {
				return fmt.Errorf("create runs: %w", err)
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Migrator().DropTable(&runV5{})
		},
	}
}

// m0006Surveys stores satisfaction surveys: questionnaires (immutable
// documents, versioned by code), survey projects, uploaded batches, the
// responses of valid batches and each region's computed index. Indicator
// values gain the confidence interval of a survey-sourced index, so that
// a run's snapshot reads value and interval together.
func m0006Surveys() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0006_surveys",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&questionnaireV6{}, &surveyProjectV6{}, &surveyBatchV6{},
				&surveyResponseV6{}, &surveyIndexV6{}); err != nil {
				return fmt.Errorf("create surveys: %w", err)
			}
			for _, col := range []string{"CILower", "CIUpper"} {
				if err := tx.Migrator().AddColumn(&indicatorValueV6{}, col); err != nil {
					return fmt.Errorf("add %s to indicator values: %w", col, err)
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, col := range []string{"CILower", "CIUpper"} {
				if err := tx.Migrator().DropColumn(&indicatorValueV6{}, col); err != nil {
					return err
				}
			}
			return tx.Migrator().DropTable(&surveyIndexV6{}, &surveyResponseV6{}, &surveyBatchV6{},
				&surveyProjectV6{}, &questionnaireV6{})
		},
	}
}

// m0007Reports stores the rendered business-environment report of a run:
// one row per run, written whole by the job that rendered it, with the
// SHA-256 and size of the document, when and by which job it was
// rendered, and whether the run was published then. The document itself is
// a column beside the run, not a file in the blob directory: it is small
// (about 0.7 MB for 120 regions), belongs to the run like its results, is
// written in one transaction with its metadata, and needs no directory
// shared by every server.
func m0007Reports() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0007_reports",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&runReportV7{}); err != nil {
				return fmt.Errorf("create run reports: %w", err)
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Migrator().DropTable(&runReportV7{})
		},
	}
}
