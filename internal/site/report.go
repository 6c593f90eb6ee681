package site

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
)

// reportRefresh is how often, in seconds, the page of a report being
// prepared reloads itself (a Refresh header: no script needed).
const reportRefresh = "5"

// reportPending is the page shown while a report is rendered.
type reportPending struct {
	Cycle cycles.Cycle
	Job   jobs.Job
	// Again is the address to reload.
	Again string
}

// ReportPage serves the province report of a cycle's published run, every
// region's page included: admins only (?run=ID for another run that has
// a report). A city official is pointed at their region's report.
func (h *Handlers) ReportPage(c *fiber.Ctx, p auth.Principal) error {
	if !p.Is(auth.RoleAdmin) {
		return fault.With(fault.ErrForbidden,
			fmt.Sprintf("the province report with every region's page is for provincial managers; yours is /cycles/%s/regions/%s/report", web.Param(c, "id"), p.RegionCode),
			fmt.Sprintf("全省报告（含各地区评价页）仅限省级管理员查看；本地区报告见 /cycles/%s/regions/%s/report", web.Param(c, "id"), p.RegionCode), nil)
	}
	return h.serveReport(c, p, "")
}

// RegionReportPage serves a region's edition of the report: the province
// summary, ranking and map, that region's page and the methodology. A
// city official reads only their own region'h.
func (h *Handlers) RegionReportPage(c *fiber.Ctx, p auth.Principal) error {
	if !p.CanAccessRegion(web.Param(c, "code")) {
		return fault.With(fault.ErrForbidden, "you may read only your own region's report", "只能查看本地区的评价报告", nil)
	}
	return h.serveReport(c, p, web.Param(c, "code"))
}

// serveReport sends the stored report of the cycle's run, or, while a
// published run's report is being rendered, a page that says so and
// reloads itself. The archive decides who reads what, and when a reader's
// visit queues a render.
func (h *Handlers) serveReport(c *fiber.Ctx, p auth.Principal, code string) error {
	ctx := c.UserContext()
	ch, err := h.reportRun(c, p)
	if err != nil {
		return err
	}
	doc, err := h.deps.Reports.Read(ctx, p, ch.Cycle.ID, ch.RunID, code)
	if errors.Is(err, reports.ErrNotRendered) {
		job, err := h.deps.Reports.Ensure(ctx, p, ch.Cycle.ID, ch.RunID)
		if err != nil {
			return err
		}
		c.Set("Refresh", reportRefresh)
		return h.pages.render(c, fiber.StatusAccepted, "report_pending", "report.pending",
			reportPending{Cycle: ch.Cycle, Job: job, Again: c.OriginalURL()})
	}
	if err != nil {
		return err
	}
	pageHeaders(c)
	return c.Send(doc.HTML)
}

// reportRun chooses the run whose report is asked for as the other pages
// of a cycle do (?run=ID), except that without ?run it is the published
// run for admins too: the report is of published results.
func (h *Handlers) reportRun(c *fiber.Ctx, p auth.Principal) (reports.RunChoice, error) {
	ch, err := h.chooseRun(c, p)
	if err != nil && ch.Cycle.ID == "" {
		return ch, err
	}
	if err != nil || (web.Query(c, "run") == "" && !ch.Published) {
		return ch, fault.With(fault.ErrNotFound, "the cycle has no published results yet, so it has no report",
			"该考核周期尚无已发布的评价结果，暂无评价报告", nil)
	}
	return ch, nil
}
