package site

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
)

// usersData is the security administrator's users page: every user, the
// create form with the regions and contractor organisations it offers, and
// the outcome of the form just posted.
type usersData struct {
	Users []web.UserView
	// Reset is the user whose password was just reset, with the new
	// password shown this once.
	Reset *web.UserCreated
	// Created is the user just created, with its password shown this once.
	Created *web.UserCreated
	// Updated says a user's edit was just stored (?notice=updated).
	Updated bool
	// Form is the create form as typed, kept when it is refused.
	Form          userForm
	Roles         []auth.Role
	Regions       []regions.Region
	Organisations []auth.Organisation
	// OrgNames names each organisation by id, for the users' scope column.
	OrgNames map[string]string
	formProblem
}

// Scope is the region code or the organisation's name a user is bound to.
func (d usersData) Scope(u web.UserView) string {
	switch {
	case u.RegionCode != nil:
		return *u.RegionCode
	case u.OrganisationID != nil && d.OrgNames[*u.OrganisationID] != "":
		return d.OrgNames[*u.OrganisationID]
	case u.OrganisationID != nil:
		return *u.OrganisationID
	}
	return ""
}

// UsersPage lists every user with the security administrator's actions
// and the form that creates a city official's or a contractor's account.
func (h *Handlers) UsersPage(c *fiber.Ctx, _ auth.Principal) error {
	return h.renderUsers(c, fiber.StatusOK, usersData{Updated: web.Query(c, "notice") == "updated"})
}

func (h *Handlers) renderUsers(c *fiber.Ctx, status int, d usersData) error {
	ctx := c.UserContext()
	us, err := h.deps.Auth.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range us {
		d.Users = append(d.Users, h.edge.ManagedUser(u))
	}
	if d.Regions, err = h.deps.Regions.List(ctx); err != nil {
		return err
	}
	orgs, err := h.deps.Auth.ListOrganisations(ctx)
	if err != nil {
		return err
	}
	d.OrgNames = make(map[string]string, len(orgs))
	for _, o := range orgs {
		d.OrgNames[o.ID] = o.Name
		if o.Kind == auth.OrgKindContractor {
			d.Organisations = append(d.Organisations, o)
		}
	}
	d.Roles = creatableRoles
	return h.pages.render(c, status, "users", "users.title", d)
}

// UserDisabledForm enables or disables a user from the users page.
func (h *Handlers) UserDisabledForm(c *fiber.Ctx, p auth.Principal) error {
	if err := h.edge.SetDisabledOf(c, p, web.Param(c, "id"), web.FormValue(c, "disabled") == "true"); err != nil {
		return err
	}
	return c.Redirect("/users", fiber.StatusSeeOther)
}

// UserPasswordForm resets a password from the users page and shows the new
// one once.
func (h *Handlers) UserPasswordForm(c *fiber.Ctx, _ auth.Principal) error {
	shown, err := h.edge.ResetPasswordOf(c)
	if err != nil {
		return err
	}
	return h.renderUsers(c, fiber.StatusOK, usersData{Reset: &shown})
}

// UserThrottleForm clears a user's sign-in throttle from the users page.
func (h *Handlers) UserThrottleForm(c *fiber.Ctx, _ auth.Principal) error {
	if _, err := h.edge.ClearThrottleOf(c); err != nil {
		return err
	}
	return c.Redirect("/users", fiber.StatusSeeOther)
}

// auditData is the auditor's audit-log page.
type auditData struct {
	Filter  audit.Filter
	Query   string
	Entries []audit.Entry
	// Exports are the caller's latest audit exports, newest first.
	Exports []jobs.Job
}

// AuditPage shows the audit log, filtered as the query asks, with the
// caller's CSV exports.
func (h *Handlers) AuditPage(c *fiber.Ctx, p auth.Principal) error {
	f, err := web.AuditFilter(func(key string) string { return web.Query(c, key) })
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	ctx := c.UserContext()
	es, err := h.deps.Audit.List(ctx, f)
	if err != nil {
		return err
	}
	exports, err := h.deps.Jobs.List(ctx, jobs.Filter{CreatedBy: p.UserID, Kind: audit.TypeExport, Limit: 10})
	if err != nil {
		return err
	}
	q := string(c.Request().URI().QueryString())
	return h.pages.render(c, fiber.StatusOK, "audit", "audit.title", auditData{Filter: f, Query: q, Entries: es, Exports: exports})
}

// AuditExportForm starts a CSV export of the audit log filtered as the
// page's form says, and goes back to the page, where it is listed.
func (h *Handlers) AuditExportForm(c *fiber.Ctx, p auth.Principal) error {
	f, err := web.AuditFilter(func(key string) string { return web.FormValue(c, key) })
	if err != nil {
		return err
	}
	f.Limit, f.Before = 0, 0
	j, err := h.deps.Jobs.Submit(c.UserContext(), audit.TypeExport, audit.ExportPayload{Filter: f}, p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "job:"+j.ID)
	back := url.Values{}
	for k, v := range map[string]string{"username": f.Username, "action": f.Action, "object": f.Object, "result": f.Result} {
		if v != "" {
			back.Set(k, v)
		}
	}
	for k, t := range map[string]time.Time{"from": f.From, "to": f.To} {
		if !t.IsZero() {
			back.Set(k, t.Format(time.RFC3339))
		}
	}
	return c.Redirect("/audit?"+back.Encode(), fiber.StatusSeeOther)
}
