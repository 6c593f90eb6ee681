package site

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/kind"
	"github.com/ipeval/ipeval/regions/spec"
)

// regionsData is the assessment manager's regions page: every region
// (regions.Listing), the kinds a form offers, the create form as posted
// and the outcome of the form just posted.
type regionsData struct {
	Regions []regions.Row
	Kinds   []kind.Kind
	Form    regionForm
	// Notice is what the form just posted did, in the page's language.
	Notice string
	// Create and Import are the problems of a refused create form or
	// regions file, each shown beside its own form.
	Create, Import formProblem
}

// regionForm is a region form's fields as typed.
type regionForm struct {
	Code, Name, Kind, ParentCode string
}

// regionFormOf reads a region form; the code only where the form has one.
func regionFormOf(c *fiber.Ctx) regionForm {
	return regionForm{Code: web.FormValue(c, "code"), Name: web.FormValue(c, "name"),
		Kind: web.FormValue(c, "kind"), ParentCode: web.FormValue(c, "parent_code")}
}

func (f regionForm) input() spec.Input {
	return spec.Input{Code: f.Code, Name: f.Name, Kind: kind.Kind(f.Kind), ParentCode: f.ParentCode}
}

// RegionsPage lists the regions with the forms that create one and
// import a regions file; after a form it says what was done (?notice=,
// with ?n= the number of regions imported).
func (h *Handlers) RegionsPage(c *fiber.Ctx, _ auth.Principal) error {
	var d regionsData
	switch web.Query(c, "notice") {
	case "created":
		d.Notice = tr(c, "regions.notice.created")
	case "imported":
		n, _ := strconv.Atoi(web.Query(c, "n"))
		d.Notice = fmt.Sprintf(tr(c, "regions.notice.imported"), n)
	}
	return h.renderRegions(c, fiber.StatusOK, d)
}

// RegionCreateForm adds a region with the checks of the API's
// regions.create; a refused form stores nothing and comes back with every
// problem by field.
func (h *Handlers) RegionCreateForm(c *fiber.Ctx, _ auth.Principal) error {
	form := regionFormOf(c)
	r, err := h.deps.Regions.Create(c.UserContext(), form.input())
	if err != nil {
		return refused(c, err, func(fp formProblem, status int) error {
			return h.renderRegions(c, status, regionsData{Form: form, Create: fp})
		})
	}
	web.SetAuditObject(c, "region:"+r.Code)
	return c.Redirect("/regions?notice=created", fiber.StatusSeeOther)
}

// RegionImportForm imports the regions file of the page's upload form, all
// or nothing, as the API's regions.import does: a refused file stores
// nothing and comes back with every problem by row and column.
func (h *Handlers) RegionImportForm(c *fiber.Ctx, _ auth.Principal) error {
	n, err := h.importRegions(c)
	if err != nil {
		return refused(c, err, func(fp formProblem, status int) error {
			return h.renderRegions(c, status, regionsData{Import: fp})
		})
	}
	web.SetAuditDetail(c, "imported "+strconv.Itoa(n))
	return c.Redirect("/regions?notice=imported&n="+strconv.Itoa(n), fiber.StatusSeeOther)
}

func (h *Handlers) importRegions(c *fiber.Ctx) (int, error) {
	fh, err := web.FormUpload(c, "file")
	if err != nil {
		return 0, err
	}
	f, err := fh.Open()
	if err != nil {
		return 0, fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	return h.deps.Regions.ImportCSV(c.UserContext(), f)
}

// RegionsTemplate downloads the regions file to edit and import: the
// stored regions in the import's columns, or example rows when there are
// none yet.
func (h *Handlers) RegionsTemplate(c *fiber.Ctx, _ auth.Principal) error {
	var b bytes.Buffer
	if err := h.deps.Regions.WriteTemplate(c.UserContext(), &b); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="regions.csv"`)
	return c.Send(b.Bytes())
}

// renderRegions shows the regions page with d's forms and outcome.
func (h *Handlers) renderRegions(c *fiber.Ctx, status int, d regionsData) error {
	rows, err := h.deps.Regions.Listing(c.UserContext())
	if err != nil {
		return err
	}
	d.Regions, d.Kinds = rows, kind.All()
	return h.pages.render(c, status, "regions", "regions.title", d)
}

// regionData is a region's edit page: the region, its form as stored or
// as posted, the regions that may be its parent and the outcome.
type regionData struct {
	Region  regions.Region
	Form    regionForm
	Kinds   []kind.Kind
	Parents []regions.Region
	// Saved says the form was just stored (?notice=saved).
	Saved bool
	formProblem
}

// RegionEditPage shows the form that changes a region's name, kind and
// parent; its code, which data and users refer to, stays.
func (h *Handlers) RegionEditPage(c *fiber.Ctx, _ auth.Principal) error {
	r, err := h.deps.Regions.Get(c.UserContext(), web.Param(c, "code"))
	if err != nil {
		return err
	}
	form := regionForm{Code: r.Code, Name: r.Name, Kind: string(r.Kind)}
	if r.ParentCode != nil {
		form.ParentCode = *r.ParentCode
	}
	return h.renderRegion(c, fiber.StatusOK, regionData{Region: r, Form: form, Saved: web.Query(c, "notice") == "saved"})
}

// RegionUpdateForm stores the edit form with the checks of the API's
// regions.update; a refused form stores nothing and comes back with every
// problem by field.
func (h *Handlers) RegionUpdateForm(c *fiber.Ctx, _ auth.Principal) error {
	ctx := c.UserContext()
	r, err := h.deps.Regions.Get(ctx, web.Param(c, "code"))
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "region:"+r.Code)
	form := regionFormOf(c)
	form.Code = r.Code
	if _, err := h.deps.Regions.Update(ctx, r.Code, form.input()); err != nil {
		return refused(c, err, func(fp formProblem, status int) error {
			return h.renderRegion(c, status, regionData{Region: r, Form: form, formProblem: fp})
		})
	}
	return c.Redirect("/regions/"+url.PathEscape(r.Code)+"?notice=saved", fiber.StatusSeeOther)
}

// renderRegion shows a region's edit page with d's form and outcome.
func (h *Handlers) renderRegion(c *fiber.Ctx, status int, d regionData) error {
	rs, err := h.deps.Regions.List(c.UserContext())
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Code != d.Region.Code {
			d.Parents = append(d.Parents, r)
		}
	}
	d.Kinds = kind.All()
	return h.pages.render(c, status, "region_edit", "regions.edit", d)
}

// organisationsData is the security administrator's organisations page.
type organisationsData struct {
	Organisations []auth.OrganisationRow
	Form          organisationForm
	// Created says an organisation was just created (?notice=created).
	Created bool
	formProblem
}

// organisationForm is the create form's fields as typed.
type organisationForm struct {
	Name, Kind string
}

// OrganisationsPage lists the organisations, each with its number of
// users, and the form that creates one.
func (h *Handlers) OrganisationsPage(c *fiber.Ctx, _ auth.Principal) error {
	return h.renderOrganisations(c, fiber.StatusOK, organisationsData{Created: web.Query(c, "notice") == "created"})
}

// OrganisationCreateForm creates an organisation with the checks of the
// API's organisations.create; a refused form stores nothing and comes back
// with every problem by field.
func (h *Handlers) OrganisationCreateForm(c *fiber.Ctx, _ auth.Principal) error {
	form := organisationForm{Name: web.FormValue(c, "name"), Kind: web.FormValue(c, "kind")}
	o, err := h.deps.Auth.CreateOrganisation(c.UserContext(), form.Name, form.Kind)
	if err != nil {
		return refused(c, err, func(fp formProblem, status int) error {
			return h.renderOrganisations(c, status, organisationsData{Form: form, formProblem: fp})
		})
	}
	web.SetAuditObject(c, "organisation:"+o.ID)
	return c.Redirect("/organisations?notice=created", fiber.StatusSeeOther)
}

func (h *Handlers) renderOrganisations(c *fiber.Ctx, status int, d organisationsData) error {
	rows, err := h.deps.Auth.OrganisationDirectory(c.UserContext())
	if err != nil {
		return err
	}
	d.Organisations = rows
	return h.pages.render(c, status, "organisations", "orgs.title", d)
}

// userForm is the users page's create form as typed.
type userForm struct {
	Username, DisplayName, Role, RegionCode, OrganisationID string
}

// UserCreateForm creates a city official's or a contractor's account with
// a generated password, through the same step as the API's users.create
// (web.Edge.CreateAccount), and shows the password this once. A refused
// form stores nothing and comes back with every problem by field.
func (h *Handlers) UserCreateForm(c *fiber.Ctx, _ auth.Principal) error {
	form := userForm{Username: web.FormValue(c, "username"), DisplayName: web.FormValue(c, "display_name"),
		Role: web.FormValue(c, "role"), RegionCode: web.FormValue(c, "region_code"), OrganisationID: web.FormValue(c, "organisation_id")}
	// A form offers both selects; only the one of the chosen role counts,
	// so a region left chosen before switching to contractor is no error.
	switch auth.Role(form.Role) {
	case auth.RoleCity:
		form.OrganisationID = ""
	case auth.RoleContractor:
		form.RegionCode = ""
	}
	created, err := h.edge.CreateAccount(c, auth.NewUser{Username: strings.TrimSpace(form.Username), DisplayName: form.DisplayName,
		Role: auth.Role(form.Role), RegionCode: form.RegionCode, OrganisationID: form.OrganisationID})
	if err != nil {
		return refused(c, err, func(fp formProblem, status int) error {
			return h.renderUsers(c, status, usersData{Form: form, formProblem: fp})
		})
	}
	return h.renderUsers(c, fiber.StatusCreated, usersData{Created: &created})
}

// refused answers a form the store refused: the form's page again, drawn
// by again with the problem and its status, when the problem is the user's
// to fix (formProblemOf), the error page otherwise.
func refused(c *fiber.Ctx, err error, again func(fp formProblem, status int) error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return again(fp, status)
}

// creatableRoles are the roles the users page creates: the three
// administrative ones are made on the server (web.OnlyOnHost).
var creatableRoles = []auth.Role{auth.RoleCity, auth.RoleContractor}
