package site

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/surveys"
)

// SurveysPage lists a contractor's projects, or every project for an
// admin (surveys.ProjectList) with the form that commissions one.
func (h *Handlers) SurveysPage(c *fiber.Ctx, p auth.Principal) error {
	return h.renderSurveys(c, p, fiber.StatusOK, surveysData{Form: defaultCommissionForm()})
}

// surveyData is one survey project's page (surveys.ProjectPage) with the
// outcome of the form just posted.
type surveyData struct {
	surveys.ProjectPage
	// Notice is the message key of what the form just posted did.
	Notice string
	// Reason is the return form's reason as typed, kept when refused.
	Reason string
	formProblem
}

// surveyNotices are the outcomes a form reports back with ?notice=; any
// other value shows nothing.
var surveyNotices = map[string]bool{"uploaded": true, "duplicate": true, "submitted": true,
	"created": true, "accepted": true, "returned": true, "locked": true}

// SurveyPage shows a project to its contractor and to admins (?batch=ID
// names a batch of it to show with its problems).
func (h *Handlers) SurveyPage(c *fiber.Ctx, p auth.Principal) error {
	d := surveyData{}
	if n := web.Query(c, "notice"); surveyNotices[n] {
		d.Notice = "survey.notice." + n
	}
	return h.renderSurvey(c, p, fiber.StatusOK, d)
}

// SurveyUploadForm stores a file from the page's form, as the API does,
// and goes back to the project page, which follows the batch's reading.
func (h *Handlers) SurveyUploadForm(c *fiber.Ctx, p auth.Principal) error {
	b, created, err := h.edge.SurveyUpload(c, p)
	if err != nil {
		return h.surveyFailed(c, p, err)
	}
	notice := "uploaded"
	if !created {
		notice = "duplicate"
	}
	return h.backToSurvey(c, url.Values{"batch": {b.ID}, "notice": {notice}})
}

// SurveySubmitForm submits the project for acceptance from the page.
func (h *Handlers) SurveySubmitForm(c *fiber.Ctx, p auth.Principal) error {
	if _, _, err := h.deps.Surveys.Move(c.UserContext(), p, web.Param(c, "id"), surveys.Submit, ""); err != nil {
		return h.surveyFailed(c, p, err)
	}
	return h.backToSurvey(c, url.Values{"notice": {"submitted"}})
}

// backToSurvey answers a form post with a redirect to the project page, so
// that reloading the page does not post the form again.
func (h *Handlers) backToSurvey(c *fiber.Ctx, q url.Values) error {
	return c.Redirect("/surveys/"+url.PathEscape(web.Param(c, "id"))+"?"+q.Encode(), fiber.StatusSeeOther)
}

// surveyFailed shows a refused form on the project page, when it is the
// user's to fix; other errors go to the error page.
func (h *Handlers) surveyFailed(c *fiber.Ctx, p auth.Principal, err error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return h.renderSurvey(c, p, status, surveyData{formProblem: fp})
}

// renderSurvey shows the path's project (?batch=ID names a batch of it to
// show with its problems), with d's outcome of a form.
func (h *Handlers) renderSurvey(c *fiber.Ctx, p auth.Principal, status int, d surveyData) error {
	page, err := h.surveyViews.Project(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "batch"), lang(c) == "en")
	if err != nil {
		return err
	}
	d.ProjectPage = page
	return h.pages.render(c, status, "survey", "survey.title", d)
}
