package site

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/reports"
)

// RegionPage shows a region's dashboard (reports.Dashboard): a city
// official only its own region, of a published run; admins any region of
// any run (?run=ID). Beside the run's results it shows the region's
// satisfaction survey and the state of its indicator values in the cycle
// as they are now.
func (h *Handlers) RegionPage(c *fiber.Ctx, p auth.Principal) error {
	code := web.Param(c, "code")
	if !p.CanAccessRegion(code) {
		return fault.With(fault.ErrForbidden, "you may see only your own region", "只能查看本地区的评价结果", nil)
	}
	ch, err := h.chooseRun(c, p)
	if err != nil {
		return err
	}
	d, err := cachedView(h, c, p, ch, "region:"+code, func() (reports.Dashboard, error) {
		return h.viewModels.Dashboard(c.UserContext(), p, ch, code, lang(c) == "en")
	})
	if err != nil {
		return err
	}
	return h.pages.render(c, fiber.StatusOK, "region", "region.title", d)
}
