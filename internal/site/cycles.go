package site

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/reports"
)

// cyclesData is the manager's list of cycles (reports.CycleList) with the
// create form as posted and the outcome of a refused post.
type cyclesData struct {
	reports.CycleList
	Form cycleForm
	formProblem
}

// cycleForm is the create form's fields as typed.
type cycleForm struct {
	Year, Name, SchemeID string
}

// CyclesPage lists the cycles with the form that creates one.
func (h *Handlers) CyclesPage(c *fiber.Ctx, _ auth.Principal) error {
	return h.renderCycles(c, fiber.StatusOK, cyclesData{})
}

// CycleCreateForm creates a cycle in draft, assessed with the chosen
// scheme version, with the checks of the API's cycles.create; a refused
// form stores nothing and comes back with every problem by field.
func (h *Handlers) CycleCreateForm(c *fiber.Ctx, _ auth.Principal) error {
	ctx := c.UserContext()
	form := cycleForm{Year: strings.TrimSpace(web.FormValue(c, "year")), Name: web.FormValue(c, "name"), SchemeID: web.FormValue(c, "scheme_id")}
	var errs []fault.FieldError
	year, err := strconv.Atoi(form.Year)
	if err != nil {
		errs = append(errs, fault.Field("year", "invalid_year", "年度须为2000至2100之间的整数", "year must be a whole number between 2000 and 2100"))
	}
	in := cycles.Input{Year: year, Name: form.Name}
	for _, fe := range in.Problems() {
		if err == nil || fe.Field != "year" {
			errs = append(errs, fe)
		}
	}
	if strings.TrimSpace(form.Name) == "" {
		errs = append(errs, fault.Field("name", "required", "请填写名称", "enter a name"))
	}
	if form.SchemeID == "" {
		errs = append(errs, fault.Field("scheme_id", "required", "请选择评价方案版本", "choose a scheme version"))
	} else if _, serr := h.deps.Schemes.Get(ctx, form.SchemeID); errors.Is(serr, fault.ErrNotFound) {
		errs = append(errs, fault.Field("scheme_id", "unknown_scheme", "评价方案不存在", "no such scheme"))
	} else if serr != nil {
		return serr
	}
	if err := fault.Invalid(errs...); err != nil {
		return h.cyclesFailed(c, form, err)
	}
	cy, err := h.deps.Cycles.CreateWithScheme(ctx, in, form.SchemeID)
	if err != nil {
		return h.cyclesFailed(c, form, err)
	}
	web.SetAuditObject(c, "cycle:"+cy.ID)
	web.SetAuditDetail(c, "scheme "+form.SchemeID)
	return c.Redirect("/cycles/"+url.PathEscape(cy.ID)+"?notice=created", fiber.StatusSeeOther)
}

// cyclesFailed shows a refused create form on the list, when it is the
// user's to fix; other errors go to the error page.
func (h *Handlers) cyclesFailed(c *fiber.Ctx, form cycleForm, err error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return h.renderCycles(c, status, cyclesData{Form: form, formProblem: fp})
}

// renderCycles shows the list of cycles with d's create form and outcome.
func (h *Handlers) renderCycles(c *fiber.Ctx, status int, d cyclesData) error {
	list, err := h.checklists.List(c.UserContext())
	if err != nil {
		return err
	}
	d.CycleList = list
	return h.pages.render(c, status, "cycles", "cycles.title", d)
}

// cycleData is a cycle's home (reports.CycleHome) with the outcome of
// the form just posted.
type cycleData struct {
	reports.CycleHome
	// Notice is the message key of what the form just posted did.
	Notice string
	// Deadline is the collection deadline as typed in a refused form.
	Deadline string
	// Today is the earliest day the deadline input offers (YYYY-MM-DD).
	Today string
	formProblem
}

// cycleNotices are the outcomes a form reports back with ?notice=; any
// other value shows nothing.
var cycleNotices = map[string]bool{"created": true, "collecting": true, "scoring": true, "archived": true, "scheme": true}

// CycleHomePage shows a cycle's checklist and its state changes.
func (h *Handlers) CycleHomePage(c *fiber.Ctx, p auth.Principal) error {
	d := cycleData{}
	if n := web.Query(c, "notice"); cycleNotices[n] {
		d.Notice = "cycles.notice." + n
	}
	return h.renderCycle(c, p, fiber.StatusOK, d)
}

// CycleTransitionForm moves the cycle to the form's state, as the API's
// cycles.transition does, with the optional collection deadline of a move
// to collecting; a refused move (a bad deadline included) changes
// nothing and comes back to the cycle's home with the reason by field.
func (h *Handlers) CycleTransitionForm(c *fiber.Ctx, p auth.Principal) error {
	to := cycles.Status(web.FormValue(c, "to"))
	deadline := strings.TrimSpace(web.FormValue(c, "deadline"))
	cy, err := h.deps.Cycles.TransitionUntil(c.UserContext(), web.Param(c, "id"), to, deadline)
	if err != nil {
		fp, status, ok := formProblemOf(c, err)
		if !ok {
			return err
		}
		return h.renderCycle(c, p, status, cycleData{formProblem: fp, Deadline: deadline})
	}
	web.SetAuditDetail(c, "to "+string(to)+deadlineDetail(deadline))
	return c.Redirect("/cycles/"+url.PathEscape(cy.ID)+"?notice="+url.QueryEscape(string(cy.Status)), fiber.StatusSeeOther)
}

// renderCycle shows the path's cycle home with d's outcome of a form.
func (h *Handlers) renderCycle(c *fiber.Ctx, p auth.Principal, status int, d cycleData) error {
	home, err := h.checklists.Home(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	d.CycleHome = home
	d.Today = cycles.Today(time.Now()).Format(time.DateOnly)
	return h.pages.render(c, status, "cycle", "cycles.home", d)
}

// deadlineDetail is the audit detail's note of a deadline set, if any.
func deadlineDetail(deadline string) string {
	if deadline == "" {
		return ""
	}
	return ", collection until " + deadline
}
