// Package demo owns the demonstration data set: Shanxi's eleven prefecture
// cities and the comprehensive-reform zone, the default assessment scheme,
// two past cycles with verified values and published runs (in the later
// one Taiyuan allocated no funding, so rule R1 caps it), the current cycle
// collecting data, a survey contractor and one user of each role.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/surveys"
)

//go:embed regions-shanxi.csv
var regionsCSV []byte

// RegionsCSV returns Shanxi's regions in the format of the region import
// (code,name,kind,parent): the demo's, and file mode's default.
func RegionsCSV() []byte { return bytes.Clone(regionsCSV) }

// Account is a demo user and its one-time password.
type Account struct {
	Username, Password string
	Role               auth.Role
	Note               string
}

// Result is what Load created.
type Result struct {
	Regions int
	Scheme  indicators.StoredScheme
	Cycle   cycles.Cycle
	// PastCycles are the two published years before Cycle.
	PastCycles []cycles.Cycle
	Accounts   []Account
	// Survey is the current cycle's accepted survey project, when
	// Options.Surveys was set.
	Survey surveys.Project
}

// Contractor is the name of the demo survey organisation.
const Contractor = "山西省知识产权公共服务满意度调查中心（演示）"

// Empty reports whether the database holds no users yet: demo data only ever
// goes into an empty database.
func Empty(ctx context.Context, db *gorm.DB) (bool, error) {
	var n int64
	if err := db.WithContext(ctx).Model(&auth.User{}).Count(&n).Error; err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	return n == 0, nil
}

// Options tune Load.
type Options struct {
	// Year is the current cycle's year; 0 means this year.
	Year int
	// Surveys, when set, runs the current cycle's satisfaction survey
	// through it, accepted, so that the cycle has D1 values.
	Surveys *surveys.Store
}

// Load creates the demo data set in one transaction, so that an
// interrupted load leaves an empty database to try again. The passwords are
// generated and returned once; they are not stored anywhere in clear.
func Load(ctx context.Context, db *gorm.DB, opts Options) (Result, error) {
	year := opts.Year
	if year == 0 {
		year = time.Now().UTC().Year()
	}
	var res Result
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res = Result{}
		users, regs, cys := auth.NewStore(tx, nil), regions.NewStore(tx), cycles.NewStore(tx)
		n, err := regs.ImportCSV(ctx, bytes.NewReader(regionsCSV))
		if err != nil {
			return fmt.Errorf("demo regions: %w", err)
		}
		res.Regions = n
		sch, err := indicators.NewSchemeStore(tx).Create(ctx, scheme.Default(), "")
		if err != nil {
			return fmt.Errorf("demo scheme: %w", err)
		}
		res.Scheme = sch
		var manager, contractor auth.Principal
		org, err := users.CreateOrganisation(ctx, Contractor, auth.OrgKindContractor)
		if err != nil {
			return fmt.Errorf("demo organisation: %w", err)
		}
		for _, u := range []struct {
			nu   auth.NewUser
			note string
		}{
			{auth.NewUser{Username: "admin", DisplayName: "省知识产权局考核管理员", Role: auth.RoleAdmin}, "assessment manager / 考核管理员"},
			{auth.NewUser{Username: "secadmin", DisplayName: "安全管理员", Role: auth.RoleSecAdmin}, "security administrator: users, resets, unlocking / 安全管理员"},
			{auth.NewUser{Username: "auditor", DisplayName: "审计管理员", Role: auth.RoleAuditor}, "auditor: the audit log / 审计管理员"},
			{auth.NewUser{Username: "survey", DisplayName: "满意度调查员", Role: auth.RoleContractor, OrganisationID: org.ID}, "survey contractor / 第三方调查机构"},
			{auth.NewUser{Username: "taiyuan", DisplayName: "太原市知识产权局", Role: auth.RoleCity, RegionCode: "140100"}, "city official of 太原市 / 市级用户"},
		} {
			user, pw, err := users.CreateUser(ctx, u.nu)
			if err != nil {
				return fmt.Errorf("demo user %s: %w", u.nu.Username, err)
			}
			switch u.nu.Role {
			case auth.RoleAdmin:
				manager = auth.Principal{UserID: user.ID, Username: user.Username, Role: auth.RoleAdmin}
			case auth.RoleContractor:
				contractor = auth.Principal{UserID: user.ID, Username: user.Username, Role: auth.RoleContractor, OrganisationID: org.ID}
			}
			res.Accounts = append(res.Accounts, Account{Username: u.nu.Username, Password: pw, Role: u.nu.Role, Note: u.note})
		}
		// Two finished years, so that grades, trends and rule R1 are there
		// to see at once; the current year stays open for data entry.
		for _, y := range []int{year - 2, year - 1} {
			cy, err := pastCycle(ctx, tx, sch, manager, y, y == year-1)
			if err != nil {
				return fmt.Errorf("demo cycle %d: %w", y, err)
			}
			res.PastCycles = append(res.PastCycles, cy)
		}
		cy, err := cys.Create(ctx, cycles.Input{Year: year})
		if err != nil {
			return fmt.Errorf("demo cycle: %w", err)
		}
		if _, err := cys.SetScheme(ctx, cy.ID, sch.ID); err != nil {
			return fmt.Errorf("demo cycle: %w", err)
		}
		if res.Cycle, err = cys.Transition(ctx, cy.ID, cycles.Collecting); err != nil {
			return fmt.Errorf("demo cycle: %w", err)
		}
		if err := submittedValues(ctx, tx, manager, cy.ID, year, time.Now().UTC()); err != nil {
			return err
		}
		if opts.Surveys != nil {
			if res.Survey, err = survey(ctx, tx, opts.Surveys, res.Cycle, org, manager, contractor); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}
