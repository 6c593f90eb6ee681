package site

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
)

// runsData is a cycle's runs page (reports.RunsView) with the settings
// form as posted and the outcome of the form just posted.
type runsData struct {
	reports.RunsView
	Form runForm
	// Notice is the message key of what the form just posted did.
	Notice string
	formProblem
}

// runForm is the settings form's fields as typed.
type runForm struct {
	Draws, WeightSpread                                                   string
	SwapNormalisation, SwapAggregation, ToggleImputation, SurveyIntervals bool
}

// runsNotices are the outcomes a form reports back with ?notice=.
var runsNotices = map[string]bool{"queued": true, "published": true}

// RunsPage shows a cycle's runs, the run under way, the form that starts
// one and the compare form. While a run is under way the page asks the
// browser to reload it every few seconds (a Refresh header: no script).
func (h *Handlers) RunsPage(c *fiber.Ctx, p auth.Principal) error {
	d := runsData{}
	if n := web.Query(c, "notice"); runsNotices[n] {
		d.Notice = "runs.notice." + n
	}
	return h.renderRuns(c, p, fiber.StatusOK, d)
}

// RunStartForm queues an evaluation of the cycle with the form's
// settings, through the store call and the checks of the API's
// runs.request; refused settings queue nothing and come back by field.
func (h *Handlers) RunStartForm(c *fiber.Ctx, p auth.Principal) error {
	form := runForm{Draws: strings.TrimSpace(web.FormValue(c, "draws")), WeightSpread: strings.TrimSpace(web.FormValue(c, "weight_spread")),
		SwapNormalisation: web.FormValue(c, "swap_normalisation") != "", SwapAggregation: web.FormValue(c, "swap_aggregation") != "",
		ToggleImputation: web.FormValue(c, "toggle_imputation") != "", SurveyIntervals: web.FormValue(c, "survey_intervals") != ""}
	st, err := form.settings()
	if err == nil {
		var job jobs.Job
		job, err = h.deps.Runs.Request(c.UserContext(), p, web.Param(c, "id"), st)
		if err == nil {
			web.SetAuditObject(c, "job:"+job.ID)
			return c.Redirect("/cycles/"+url.PathEscape(web.Param(c, "id"))+"/runs?notice=queued", fiber.StatusSeeOther)
		}
	}
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return h.renderRuns(c, p, status, runsData{Form: form, formProblem: fp})
}

// settings reads the form into the API's settings: what does not parse
// is a field error, and the rest is checked by Settings.Validate, so that
// the page and the API refuse the same settings with the same words.
func (f runForm) settings() (evaluation.Settings, error) {
	st := evaluation.Settings{SwapNormalisation: f.SwapNormalisation, SwapAggregation: f.SwapAggregation,
		ToggleImputation: f.ToggleImputation, SurveyIntervals: f.SurveyIntervals}
	var errs []fault.FieldError
	if f.Draws != "" {
		n, err := strconv.Atoi(f.Draws)
		if err != nil {
			errs = append(errs, fault.Field("draws", "invalid_draws", "抽样次数须为整数", "draws must be a whole number"))
		}
		st.Draws = n
	}
	if f.WeightSpread != "" {
		w, err := strconv.ParseFloat(f.WeightSpread, 64)
		if err != nil {
			errs = append(errs, fault.Field("weight_spread", "invalid_spread", "权重扰动幅度必须是 [0, 1) 内的数", "the weight spread must be a number in [0, 1)"))
		} else {
			st.WeightSpread = &w
		}
	}
	var ve *fault.ValidationError
	if err := st.Validate(); errors.As(err, &ve) {
		errs = append(errs, ve.Errors...)
	} else if err != nil {
		return st, err
	}
	return st, fault.Invalid(errs...)
}

// RunPublishForm publishes the path's run of the path's cycle through
// the store call of the API's runs.publish; a run the store refuses (of
// an earlier scoring period, a cycle not scoring) comes back with the
// store's reason.
func (h *Handlers) RunPublishForm(c *fiber.Ctx, p auth.Principal) error {
	ctx, cycleID, runID := c.UserContext(), web.Param(c, "id"), web.Param(c, "run")
	web.SetAuditObject(c, "run:"+runID)
	err := h.runs.RunOf(ctx, p, cycleID, runID)
	if err == nil {
		_, err = h.deps.Runs.Publish(ctx, p, runID)
	}
	if err != nil {
		fp, status, ok := formProblemOf(c, err)
		if !ok {
			return err
		}
		return h.renderRuns(c, p, status, runsData{formProblem: fp})
	}
	return c.Redirect("/cycles/"+url.PathEscape(cycleID)+"/runs?notice=published", fiber.StatusSeeOther)
}

// renderRuns shows the path's cycle's runs page with d's form and outcome.
func (h *Handlers) renderRuns(c *fiber.Ctx, p auth.Principal, status int, d runsData) error {
	v, err := h.runs.Page(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	d.RunsView = v
	if v.Active != nil {
		c.Set("Refresh", "3")
	}
	return h.pages.render(c, status, "runs", "runs.title", d)
}
