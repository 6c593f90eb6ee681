package site

import (
	"cmp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/reports"
)

// OverviewPage shows a cycle's run (?run=ID, else the published run, else
// for admins the newest) as a map, a ranking, the grade distribution and
// the regions' dimension scores; admins also see the rank intervals of
// the run's sensitivity analysis (reports.Overview).
func (h *Handlers) OverviewPage(c *fiber.Ctx, p auth.Principal) error {
	ch, err := h.chooseRun(c, p)
	if err != nil {
		return h.noRunYet(c, p, ch, err)
	}
	d, err := cachedView(h, c, p, ch, "overview", func() (reports.Overview, error) {
		return h.viewModels.Overview(c.UserContext(), p, ch, lang(c) == "en")
	})
	if err != nil {
		return err
	}
	// The runs to choose from change with every new run, published or not.
	d.Runs = ch.Runs
	if p.Is(auth.RoleAdmin) {
		if d.FailedJobs, err = h.deps.Runs.Failures(c.UserContext(), p, ch.Cycle.ID); err != nil {
			return err
		}
	}
	return h.pages.render(c, fiber.StatusOK, "overview", "overview.title", d)
}

// noRunYet adds, for an admin, the reason of the latest failed run to the
// error of a cycle with no run to show.
func (h *Handlers) noRunYet(c *fiber.Ctx, p auth.Principal, ch reports.RunChoice, err error) error {
	if ch.Cycle.ID == "" || len(ch.Runs) > 0 || !p.Is(auth.RoleAdmin) {
		return err
	}
	failed, ferr := h.deps.Runs.Failures(c.UserContext(), p, ch.Cycle.ID)
	if ferr != nil || len(failed) == 0 {
		return err
	}
	j := failed[0]
	return fault.With(fault.ErrNotFound, "the cycle has no run yet; its latest run failed: "+j.Error,
		"该考核周期尚无评价结果；最近一次评价运行失败："+cmp.Or(j.Message, j.Error), nil)
}

// chooseRun picks the run a page of the path's cycle (:id) shows: ?run=ID,
// else the published run, else for admins the newest.
func (h *Handlers) chooseRun(c *fiber.Ctx, p auth.Principal) (reports.RunChoice, error) {
	return h.viewModels.Choose(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "run"))
}

// cachedView returns what build makes of the chosen run, from the cache of
// published pages when the run is published. The key holds everything the
// view depends on besides the run: the page, the cycle's state (it may be
// archived), the language and who looks (a city official sees its own
// region's detail only); entries go stale when another run is published,
// which a region's trend would show.
func cachedView[T any](h *Handlers, c *fiber.Ctx, p auth.Principal, ch reports.RunChoice, page string, build func() (T, error)) (T, error) {
	if !ch.Published || h.edge.Views() == nil {
		return build()
	}
	stamp, err := h.deps.Runs.PublishedStamp(c.UserContext())
	if err != nil {
		var zero T
		return zero, err
	}
	key := strings.Join([]string{page, ch.Cycle.ID, string(ch.Cycle.Status), ch.RunID, lang(c), string(p.Role), p.RegionCode}, "|")
	v, ok := h.edge.Views().Get(key, stamp)
	h.edge.CountView(ok)
	if ok {
		return v.(T), nil
	}
	built, err := build()
	if err == nil {
		h.edge.Views().Put(key, stamp, built)
	}
	return built, err
}

// DiffPage compares two runs of a cycle (?from=RUN&to=RUN; by default the
// run the overview opens with and the one before it): the regions whose
// score, rank or grade changed, the regions added or removed, and the
// inputs that changed (reports.Comparison). Only admins compare runs:
// city officials see the published one alone.
func (h *Handlers) DiffPage(c *fiber.Ctx, p auth.Principal) error {
	d, err := h.viewModels.Compare(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "to"), web.Query(c, "from"), lang(c) == "en")
	if err != nil {
		return err
	}
	return h.pages.render(c, fiber.StatusOK, "diff", "diff.title", d)
}
