package site

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
)

// JobsPage lists the background jobs the user may see (reports.Jobs,
// the API's jobs.list rule), filtered by state and kind. While one is
// queued or running the page asks the browser to reload it every few
// seconds (a Refresh header, as the runs page does: no script).
func (h *Handlers) JobsPage(c *fiber.Ctx, p auth.Principal) error {
	f := reports.JobsFilter{State: jobs.Status(web.Query(c, "state")), Kind: web.Query(c, "kind")}
	v, err := h.jobs.Page(c.UserContext(), p, f)
	if err != nil {
		return err
	}
	if v.Active {
		c.Set("Refresh", "5")
	}
	return h.pages.render(c, fiber.StatusOK, "jobs", "jobs.title", v)
}
