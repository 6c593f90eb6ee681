package site

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
)

// reviewData is the review queue (indicators.ReviewPage) with the
// outcome of the form just posted.
type reviewData struct {
	indicators.ReviewPage
	// StatusFilter is the status select's value ("all" for every status).
	StatusFilter string
	// Notice is the outcome of the form just posted.
	Notice string
	formProblem
}

// StatusOptions are the status select's values, the default first.
func (reviewData) StatusOptions() []string {
	return []string{"submitted", "verified", "rejected", "draft", "all"}
}

// reviewDone are the outcomes a redirect back to the queue may name.
var reviewDone = map[string]string{"verified": "review.done.verified", "returned": "review.done.returned", "bulk": "review.done.bulk"}

// ReviewPage shows the review queue of a cycle filtered as the query
// asks; after a form it says what was done (?done=, ?n=).
func (h *Handlers) ReviewPage(c *fiber.Ctx, p auth.Principal) error {
	var d reviewData
	if key, ok := reviewDone[web.Query(c, "done")]; ok {
		n, _ := strconv.Atoi(web.Query(c, "n"))
		d.Notice = fmt.Sprintf(tr(c, key), n)
	}
	return h.renderReview(c, p, fiber.StatusOK, web.Query, d)
}

// ReviewVerify verifies one value from the queue.
func (h *Handlers) ReviewVerify(c *fiber.Ctx, p auth.Principal) error {
	return h.reviewOne(c, p, true)
}

// ReviewReturn returns one value to its region with the reviewer's reason.
func (h *Handlers) ReviewReturn(c *fiber.Ctx, p auth.Principal) error {
	return h.reviewOne(c, p, false)
}

// reviewOne verifies or returns the path's value with the version the
// queue showed, as the JSON API's review does.
func (h *Handlers) reviewOne(c *fiber.Ctx, p auth.Principal, verify bool) error {
	version, err := strconv.Atoi(web.FormValue(c, "version"))
	if err != nil {
		err = fault.Invalid(fault.Field("version", "invalid_version", "版本号无效", "invalid version"))
	}
	var v indicators.Value
	if err == nil {
		v, err = h.deps.Values.Review(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "value"), verify,
			strings.ReplaceAll(web.FormValue(c, "comment"), "\r\n", "\n"), version)
	}
	if err != nil {
		return h.reviewFailed(c, p, err)
	}
	done := "returned"
	if verify {
		done = "verified"
	}
	web.SetAuditDetail(c, fmt.Sprintf("region %s, indicator %s: %s", v.RegionCode, v.IndicatorCode, done))
	return h.reviewBack(c, done, 1)
}

// ReviewVerifyRegion verifies every submitted value of the form's region;
// values the store refuses (such as those lacking required evidence) are
// listed with the reason, the others verified.
func (h *Handlers) ReviewVerifyRegion(c *fiber.Ctx, p auth.Principal) error {
	region := strings.ToUpper(strings.TrimSpace(web.FormValue(c, "region_code")))
	confirmed, err := web.FormBool(c, "confirm")
	if err == nil && !confirmed {
		err = fault.Invalid(fault.Field("confirm", "required", "请勾选确认后再批量审核", "tick the confirmation to verify in bulk"))
	}
	if err != nil {
		return h.reviewFailed(c, p, err)
	}
	n, refused, err := h.review.VerifyRegion(c.UserContext(), p, web.Param(c, "id"), region)
	if err != nil {
		return h.reviewFailed(c, p, err)
	}
	web.SetAuditDetail(c, fmt.Sprintf("region %s: %d verified, %d refused", region, n, len(refused)))
	if len(refused) > 0 {
		fp := formProblem{Problem: fmt.Sprintf(tr(c, "review.refused"), n, len(refused)), Problems: refused}
		return h.renderReview(c, p, fiber.StatusOK, formFilter, reviewData{formProblem: fp})
	}
	return h.reviewBack(c, "bulk", n)
}

// formFilter reads the queue's filters that a form carries as f_ fields.
func formFilter(c *fiber.Ctx, key string) string { return web.FormValue(c, "f_"+key) }

// reviewBack redirects to the queue with the form's filters kept and
// what was done.
func (h *Handlers) reviewBack(c *fiber.Ctx, done string, n int) error {
	q := url.Values{}
	for _, k := range []string{"region", "dimension", "indicator", "status"} {
		if v := web.FormValue(c, "f_"+k); v != "" {
			q.Set(k, v)
		}
	}
	q.Set("done", done)
	q.Set("n", strconv.Itoa(n))
	if lang(c) == "en" {
		q.Set("lang", "en")
	}
	return c.Redirect("/cycles/"+url.PathEscape(web.Param(c, "id"))+"/review?"+q.Encode(), fiber.StatusSeeOther)
}

// reviewFailed shows a refused form on the queue itself, with every
// problem listed; other errors go to the error page.
func (h *Handlers) reviewFailed(c *fiber.Ctx, p auth.Principal, err error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return h.renderReview(c, p, status, formFilter, reviewData{formProblem: fp})
}

// renderReview shows the queue of the path's cycle filtered as get reads
// the filters (the query, or a form's f_ fields); the status defaults to
// submitted.
func (h *Handlers) renderReview(c *fiber.Ctx, p auth.Principal, status int, get func(*fiber.Ctx, string) string, d reviewData) error {
	d.StatusFilter = strings.TrimSpace(get(c, "status"))
	if d.StatusFilter == "" {
		d.StatusFilter = string(indicators.StatusSubmitted)
	}
	st, err := indicators.StatusOf(d.StatusFilter)
	if err != nil {
		return err
	}
	f := indicators.ReviewFilter{Region: strings.ToUpper(strings.TrimSpace(get(c, "region"))),
		Dimension: strings.TrimSpace(get(c, "dimension")), Indicator: strings.TrimSpace(get(c, "indicator")), Status: st}
	page, err := h.review.Page(c.UserContext(), p, web.Param(c, "id"), f)
	if err != nil {
		return err
	}
	d.ReviewPage = page
	return h.pages.render(c, status, "review", "review.title", d)
}
