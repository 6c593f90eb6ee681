package httpapi

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/ipeval/ipeval/evaluation/runs"
	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports/archive"
)

// reportRefresh is how often, in seconds, the page of a report being
// prepared reloads itself (a Refresh header: no script needed).
const reportRefresh = "5"

// reportPending is the page shown while a report is rendered.
type reportPending struct {
	Cycle cycles.Cycle
	Run   runs.Run
	Job   jobs.Job
	// Again is the address to reload.
	Again string
}

// reportPage serves the province report of a cycle's published run, every
// region's page included: admins only (?run=ID for another run that has
// a report). A city official is pointed at their region's report.
func (s *Server) reportPage(c *fiber.Ctx, p auth.Principal) error {
	if !p.Is(auth.RoleAdmin) {
		return fault.With(fault.ErrForbidden,
			fmt.Sprintf("the province report with every region's page is for provincial managers; yours is /cycles/%s/regions/%s/report", param(c, "id"), p.RegionCode),
			fmt.Sprintf("全省报告（含各地区评价页）仅限省级管理员查看；本地区报告见 /cycles/%s/regions/%s/report", param(c, "id"), p.RegionCode), nil)
	}
	return s.serveReport(c, p, "")
}

// regionReportPage serves a region's edition of the report: the province
// summary, ranking and map, that region's page and the methodology. A
// city official reads only their own region's.
func (s *Server) regionReportPage(c *fiber.Ctx, p auth.Principal) error {
	if !p.CanAccessRegion(param(c, "code")) {
		return fault.With(fault.ErrForbidden, "you may read only your own region's report", "只能查看本地区的评价报告", nil)
	}
	return s.serveReport(c, p, param(c, "code"))
}

// serveReport sends the stored report of the cycle's run, or, while a
// published run's report is being rendered, a page that says so and
// reloads itself (queuing the render if nothing has).
func (s *Server) serveReport(c *fiber.Ctx, p auth.Principal, code string) error {
	ctx := c.UserContext()
	cy, run, err := s.reportRun(c, p)
	if err != nil {
		return err
	}
	doc, err := s.deps.Reports.Read(ctx, p, run, code)
	if errors.Is(err, archive.ErrNotRendered) {
		if run.PublishedAt == nil {
			return fault.With(fault.ErrNotFound,
				fmt.Sprintf("run %s has no report; POST /api/v1/runs/%s/report renders one", run.ID, run.ID),
				fmt.Sprintf("评价运行 %s 尚未生成报告；可通过 POST /api/v1/runs/%s/report 生成", run.ID, run.ID), nil)
		}
		job, err := s.deps.Reports.Ensure(ctx, run)
		if err != nil {
			return err
		}
		c.Set("Refresh", reportRefresh)
		return s.render(c, fiber.StatusAccepted, "report_pending", "report.pending",
			reportPending{Cycle: cy, Run: run, Job: job, Again: utils.CopyString(c.OriginalURL())})
	}
	if err != nil {
		return err
	}
	pageHeaders(c)
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	return c.Send(doc.HTML)
}

// reportRun reads the cycle of the path's :id and the run whose report is
// asked for: ?run=ID among the runs the caller may see, else the
// published one.
func (s *Server) reportRun(c *fiber.Ctx, p auth.Principal) (cycles.Cycle, runs.Run, error) {
	ctx := c.UserContext()
	cy, err := s.deps.Cycles.Get(ctx, param(c, "id"))
	if err != nil {
		return cy, runs.Run{}, err
	}
	list, err := s.deps.Runs.List(ctx, p, cy.ID)
	if err != nil {
		return cy, runs.Run{}, err
	}
	want := query(c, "run")
	for _, r := range list {
		if (want == "" && r.PublishedAt != nil) || (want != "" && r.ID == want) {
			return cy, r, nil
		}
	}
	if want != "" {
		return cy, runs.Run{}, fmt.Errorf("run %s of cycle %s: %w", want, cy.ID, fault.ErrNotFound)
	}
	return cy, runs.Run{}, fault.With(fault.ErrNotFound, "the cycle has no published results yet, so it has no report",
		"该考核周期尚无已发布的评价结果，暂无评价报告", nil)
}
