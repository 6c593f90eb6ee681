package site

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
)

// userEditData is a user's edit page: the user, the form as typed, and
// the regions or contractor organisations its role may be bound to.
type userEditData struct {
	User          web.UserView
	Form          userForm
	Regions       []regions.Region
	Organisations []auth.Organisation
	formProblem
}

// UserEditPage shows the form that changes a city official's or a
// contractor's display name and region or organisation. Administrative
// accounts are changed on the server (web.NotEditable).
func (h *Handlers) UserEditPage(c *fiber.Ctx, _ auth.Principal) error {
	u, err := h.deps.Auth.User(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	if err := web.NotEditable(u.Role); err != nil {
		return err
	}
	form := userForm{Username: u.Username, DisplayName: u.DisplayName, Role: string(u.Role)}
	if u.RegionCode != nil {
		form.RegionCode = *u.RegionCode
	}
	if u.OrganisationID != nil {
		form.OrganisationID = *u.OrganisationID
	}
	return h.renderUserEdit(c, fiber.StatusOK, userEditData{User: web.ViewUser(u), Form: form})
}

// UserUpdateForm stores the edit form through the step of the API's
// users.update (web.Edge.EditAccount). Only the select of the user's role
// is read; a refused form stores nothing and comes back with every problem
// by field.
func (h *Handlers) UserUpdateForm(c *fiber.Ctx, _ auth.Principal) error {
	ctx := c.UserContext()
	u, err := h.deps.Auth.User(ctx, web.Param(c, "id"))
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "user:"+u.ID)
	form := userForm{Username: u.Username, Role: string(u.Role), DisplayName: web.FormValue(c, "display_name")}
	ch := auth.UserChange{DisplayName: &form.DisplayName}
	switch u.Role {
	case auth.RoleCity:
		form.RegionCode = web.FormValue(c, "region_code")
		ch.RegionCode = &form.RegionCode
	case auth.RoleContractor:
		form.OrganisationID = web.FormValue(c, "organisation_id")
		ch.OrganisationID = &form.OrganisationID
	}
	if _, err := h.edge.EditAccount(c, u.ID, ch); err != nil {
		return refused(c, err, func(fp formProblem, status int) error {
			return h.renderUserEdit(c, status, userEditData{User: web.ViewUser(u), Form: form, formProblem: fp})
		})
	}
	return c.Redirect("/users?notice=updated", fiber.StatusSeeOther)
}

// renderUserEdit draws the edit page with the choices of d's role: the
// assessed regions for a city official, the contractor organisations for
// a contractor.
func (h *Handlers) renderUserEdit(c *fiber.Ctx, status int, d userEditData) error {
	ctx := c.UserContext()
	switch d.User.Role {
	case auth.RoleCity:
		rs, err := h.deps.Regions.List(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Kind != kind.Province { // as regions.Assessed
				d.Regions = append(d.Regions, r)
			}
		}
	case auth.RoleContractor:
		orgs, err := h.deps.Auth.ListOrganisations(ctx)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			if o.Kind == auth.OrgKindContractor {
				d.Organisations = append(d.Organisations, o)
			}
		}
	}
	return h.pages.render(c, status, "user_edit", "users.edit.title", d)
}
