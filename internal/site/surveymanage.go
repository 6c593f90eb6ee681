package site

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/quality"
)

// surveysData is the list of survey projects (surveys.ProjectList) with,
// for an admin, the commission form as posted and the outcome of a
// refused post.
type surveysData struct {
	surveys.ProjectList
	Form commissionForm
	formProblem
}

// commissionForm is the commission form's fields as typed.
type commissionForm struct {
	CycleID, OrganisationID, QuestionnaireID, Name string
	Target, Minimum, Start, End                    string
	MinSeconds, MedianFraction, StraightLineItems  string
}

// defaultCommissionForm fills the sample sizes with the defaults, which
// the office usually keeps.
func defaultCommissionForm() commissionForm {
	return commissionForm{Target: strconv.Itoa(surveys.DefaultTarget), Minimum: strconv.Itoa(surveys.DefaultMinimum)}
}

// maxSample bounds a region's sample as typed: larger is a typing slip,
// not a survey.
const maxSample = 1_000_000

// SurveyCommissionForm commissions a survey of a cycle from a contractor,
// with the checks of the API's survey_projects.create; a refused form
// stores nothing and comes back with every problem by field.
func (h *Handlers) SurveyCommissionForm(c *fiber.Ctx, p auth.Principal) error {
	form := commissionForm{}
	for _, f := range []struct {
		dst  *string
		name string
	}{{&form.CycleID, "cycle_id"}, {&form.OrganisationID, "organisation_id"}, {&form.QuestionnaireID, "questionnaire_id"},
		{&form.Name, "name"}, {&form.Target, "target"}, {&form.Minimum, "minimum"}, {&form.Start, "fieldwork_start"},
		{&form.End, "fieldwork_end"}, {&form.MinSeconds, "min_seconds"}, {&form.MedianFraction, "median_fraction"},
		{&form.StraightLineItems, "straight_line_items"}} {
		*f.dst = strings.TrimSpace(web.FormValue(c, f.name))
	}
	in, errs := form.input()
	if form.CycleID == "" {
		errs = append(errs, fault.Field("cycle_id", "required", "请选择考核周期", "choose a cycle"))
	}
	if err := fault.Invalid(errs...); err != nil {
		return h.commissionFailed(c, p, form, err)
	}
	pr, err := h.deps.Surveys.CreateProject(c.UserContext(), p, form.CycleID, in)
	if errors.Is(err, fault.ErrNotFound) {
		err = fault.Invalid(fault.Field("cycle_id", "unknown_cycle", "考核周期不存在", "no such cycle"))
	}
	if err != nil {
		return h.commissionFailed(c, p, form, err)
	}
	web.SetAuditObject(c, "survey_project:"+pr.ID)
	web.SetAuditDetail(c, "cycle "+form.CycleID+", organisation "+form.OrganisationID)
	return c.Redirect("/surveys/"+url.PathEscape(pr.ID)+"?notice=created", fiber.StatusSeeOther)
}

// input reads the typed form as the store's input, with a problem by
// field for each number that is not one.
func (f commissionForm) input() (surveys.ProjectInput, []fault.FieldError) {
	var errs []fault.FieldError
	in := surveys.ProjectInput{OrganisationID: f.OrganisationID, QuestionnaireID: f.QuestionnaireID, Name: f.Name,
		FieldworkStart: f.Start, FieldworkEnd: f.End}
	whole := func(field, text string, lo, hi int, zh, en string) int {
		if text == "" {
			return 0
		}
		n, err := strconv.Atoi(text)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fault.Field(field, "invalid_number",
				fmt.Sprintf("%s须为 %d 至 %d 之间的整数", zh, lo, hi), fmt.Sprintf("%s must be a whole number from %d to %d", en, lo, hi)))
		}
		return n
	}
	in.Target = whole("target", f.Target, 1, maxSample, "目标样本量", "the target sample")
	in.Minimum = whole("minimum", f.Minimum, 1, maxSample, "最低样本量", "the minimum sample")
	if f.MinSeconds == "" && f.MedianFraction == "" && f.StraightLineItems == "" {
		return in, errs
	}
	th := quality.DefaultThresholds()
	number := func(field, text string, dst *float64, zh, en string) {
		if text == "" {
			return
		}
		x, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			errs = append(errs, fault.Field(field, "invalid_number", zh+"须为数值", en+" must be a number"))
			return
		}
		*dst = x
	}
	number("thresholds.min_seconds", f.MinSeconds, &th.MinSeconds, "最短作答时间", "the completion-time floor")
	number("thresholds.median_fraction", f.MedianFraction, &th.MedianFraction, "中位数比例", "the median fraction")
	if f.StraightLineItems != "" {
		th.StraightLineItems = whole("thresholds.straight_line_items", f.StraightLineItems, 2, 1000,
			"直线作答判定的最少题数", "the straight-lining grid size")
	}
	if err := th.Validate(); err != nil {
		var ve *fault.ValidationError
		if errors.As(err, &ve) {
			for _, fe := range ve.Errors {
				fe.Field = "thresholds." + fe.Field
				errs = append(errs, fe)
			}
		}
	}
	in.Thresholds = &th
	return in, errs
}

// commissionFailed shows a refused commission form on the list, when it
// is the user's to fix; other errors go to the error page.
func (h *Handlers) commissionFailed(c *fiber.Ctx, p auth.Principal, form commissionForm, err error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return h.renderSurveys(c, p, status, surveysData{Form: form, formProblem: fp})
}

// renderSurveys shows the list of projects with d's commission form and
// outcome.
func (h *Handlers) renderSurveys(c *fiber.Ctx, p auth.Principal, status int, d surveysData) error {
	list, err := h.surveyViews.List(c.UserContext(), p, web.Query(c, "cycle"))
	if err != nil {
		return err
	}
	d.ProjectList = list
	return h.pages.render(c, status, "surveys", "surveys.title", d)
}

// SurveyAcceptForm accepts a submitted project from its page, as the
// API's survey_projects.accept: its indices become the cycle's
// survey-sourced values.
func (h *Handlers) SurveyAcceptForm(c *fiber.Ctx, p auth.Principal) error {
	return h.surveyMove(c, p, surveys.Accept, "accepted")
}

// SurveyReturnForm returns a submitted project to its contractor with the
// form's reason, as the API's survey_projects.return.
func (h *Handlers) SurveyReturnForm(c *fiber.Ctx, p auth.Principal) error {
	return h.surveyMove(c, p, surveys.Return, "returned")
}

// SurveyLockForm locks an accepted project for good, as the API's
// survey_projects.lock.
func (h *Handlers) SurveyLockForm(c *fiber.Ctx, p auth.Principal) error {
	return h.surveyMove(c, p, surveys.Lock, "locked")
}

// surveyMove applies t with the form's reason; a refused move comes back
// to the project page with the store's reason and the reason as typed.
func (h *Handlers) surveyMove(c *fiber.Ctx, p auth.Principal, t surveys.Transition, notice string) error {
	reason := web.FormValue(c, "reason")
	_, acc, err := h.deps.Surveys.Move(c.UserContext(), p, web.Param(c, "id"), t, reason)
	if err != nil {
		fp, status, ok := formProblemOf(c, err)
		if !ok {
			return err
		}
		return h.renderSurvey(c, p, status, surveyData{formProblem: fp, Reason: reason})
	}
	switch {
	case acc != nil:
		web.SetAuditDetail(c, fmt.Sprintf("indicators %s, %d regions written, %d skipped",
			strings.Join(acc.Indicators, ","), len(acc.Regions), len(acc.Skipped)))
	case t == surveys.Return:
		web.SetAuditDetail(c, "returned")
	}
	return h.backToSurvey(c, url.Values{"notice": {notice}})
}
