package database

import (
	"fmt"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// kindRenamesV10 are the job kinds migration 0010 renames, old name first:
// every kind is now named "domain:action" (the package jobs explains why).
// Frozen here, like the models of other migrations: the jobs package keeps
// its own copy to run tasks a broker still holds under the old names.
var kindRenamesV10 = [][2]string{
	{"evaluation.run", "evaluation:run"},
	{"survey.ingest", "surveys:ingest"},
	{"reports.render", "reports:render"},
}

// m0010JobKinds renames the job kinds of the stored jobs, queued, running
// and finished alike, so that queued jobs run and the stores find past
// jobs (failed runs, report jobs) under the names their kinds have now.
func m0010JobKinds() *gormigrate.Migration {
	rename := func(tx *gorm.DB, from, to int) error {
		for _, r := range kindRenamesV10 {
			if err := tx.Exec("UPDATE jobs SET kind = ? WHERE kind = ?", r[to], r[from]).Error; err != nil {
				return fmt.Errorf("rename job kind %s to %s: %w", r[from], r[to], err)
			}
		}
		return nil
	}
	return &gormigrate.Migration{
		ID:       "0010_job_kinds",
		Migrate:  func(tx *gorm.DB) error { return rename(tx, 0, 1) },
		Rollback: func(tx *gorm.DB) error { return rename(tx, 1, 0) },
	}
}
