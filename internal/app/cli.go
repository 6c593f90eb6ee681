package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

// AuditCLI records a write made from the command line by the operating
// system user osUser (empty when unknown).
func (c *Core) AuditCLI(ctx context.Context, osUser, action, object, detail string) {
	name := "cli"
	if osUser != "" {
		name = "cli:" + osUser
	}
	_ = c.Audit.Record(ctx, audit.Entry{Username: name, Role: "system", Action: action, Object: object,
		Result: audit.Success, Status: 0, ClientIP: "local", RequestID: fmt.Sprintf("cli-%d", time.Now().UnixNano()), Detail: detail})
}

// ContractorOrganisation looks a contractor organisation up by name or id
// and creates it when neither matches, recording the creation as made from
// the command line by osUser; created says whether it did.
func (c *Core) ContractorOrganisation(ctx context.Context, osUser, nameOrID string) (o auth.Organisation, created bool, err error) {
	o, err = c.Auth.OrganisationByName(ctx, nameOrID)
	if !errors.Is(err, fault.ErrNotFound) {
		return o, false, err
	}
	if o, err = c.Auth.Organisation(ctx, nameOrID); !errors.Is(err, fault.ErrNotFound) {
		return o, false, err
	}
	if o, err = c.Auth.CreateOrganisation(ctx, nameOrID, auth.OrgKindContractor); err != nil {
		return o, false, err
	}
	c.AuditCLI(ctx, osUser, "organisations.create", "organisation:"+o.ID, o.Name)
	return o, true, nil
}
