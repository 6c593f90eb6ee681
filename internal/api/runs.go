package api

import (
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
)

// RunView is a run with its results.
type RunView struct {
	Run     evaluation.Run `json:"run"`
	Results engine.Result  `json:"results"`
}

// RequestRun answers runs.request (Evaluate a cycle in scoring (a job; a
// second request while one runs returns it)).
func (h *Handlers) RequestRun(c *fiber.Ctx, p auth.Principal) error {
	// The body is optional: no body asks for the default analysis.
	var set evaluation.Settings
	if len(c.Body()) > 0 {
		if err := web.DecodeJSON(c, &set); err != nil {
			return err
		}
	}
	job, err := h.deps.Runs.Request(c.UserContext(), p, web.Param(c, "id"), set)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "job:"+job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(job)
}

// RunList is a cycle's runs and, for admins, its failed run jobs, which
// store no run but must not fail unseen: each carries its reason.
type RunList struct {
	Items      []evaluation.Run `json:"items"`
	FailedJobs []jobs.Job       `json:"failed_jobs,omitempty"`
}

// ListRuns answers runs.list (Runs of a cycle (city officials: the
// published one)).
func (h *Handlers) ListRuns(c *fiber.Ctx, p auth.Principal) error {
	ctx, cycleID := c.UserContext(), web.Param(c, "id")
	rs, err := h.deps.Runs.List(ctx, p, cycleID)
	if err != nil {
		return err
	}
	out := RunList{Items: web.ListOf(rs).Items}
	if p.Is(auth.RoleAdmin) {
		if out.FailedJobs, err = h.deps.Runs.Failures(ctx, p, cycleID); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

// GetRun answers runs.get (A run with its results (city officials: their
// region of the published run)).
func (h *Handlers) GetRun(c *fiber.Ctx, p auth.Principal) error {
	r, res, err := h.deps.Runs.Get(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(RunView{Run: r, Results: res})
}

// RunRegion answers one region's result of a run: what a region's
// dashboard shows, and so the API's busiest read. Its JSON is kept in the
// view cache and served from there without a query or an encoding.
//
// Nothing in such an entry goes stale: a run's results never change once
// stored and a published run stays published (runs.Store.Publish). What
// can change is an unpublished run becoming published, so an entry records
// whether its run was published when read, and serves a city official,
// who may see only published runs, only if it was. Who may see which
// region is checked on every request, the same way the store checks it.
func (h *Handlers) RunRegion(c *fiber.Ctx, p auth.Principal) error {
	runID, code := web.Param(c, "id"), web.Param(c, "code")
	key := "api.region|" + runID + "|" + code
	if h.edge.Views() != nil && p.CanAccessRegion(code) {
		v, ok := h.edge.Views().Get(key, "")
		ok = ok && (v.(encodedRegion).published || p.Is(auth.RoleAdmin))
		h.edge.CountView(ok)
		if ok {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Send(v.(encodedRegion).body)
		}
	}
	run, rr, err := h.deps.Runs.Region(c.UserContext(), p, runID, code)
	if err != nil {
		return err
	}
	body, err := json.Marshal(rr)
	if err != nil {
		return fmt.Errorf("encode region %s of run %s: %w", code, runID, err)
	}
	if h.edge.Views() != nil {
		h.edge.Views().Put(key, "", encodedRegion{body: body, published: run.PublishedAt != nil})
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

// encodedRegion is a region's result as runRegion answers it.
type encodedRegion struct {
	body      []byte
	published bool
}

// PublishRun answers runs.publish (Publish a run: the cycle moves to
// published).
func (h *Handlers) PublishRun(c *fiber.Ctx, p auth.Principal) error {
	r, err := h.deps.Runs.Publish(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// DiffRuns answers runs.diff (What changed from run :id to run :other:
// inputs, scores, ranks, grades).
func (h *Handlers) DiffRuns(c *fiber.Ctx, p auth.Principal) error {
	d, err := h.deps.Runs.Diff(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "other"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// RunSensitivity answers runs.sensitivity (Sensitivity analysis of a run:
// rank intervals and grade probabilities).
func (h *Handlers) RunSensitivity(c *fiber.Ctx, p auth.Principal) error {
	sens, err := h.deps.Runs.Sensitivity(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(sens)
}

// RequestReport asks for a run's business-environment report to be
// rendered (again), as a job.
func (h *Handlers) RequestReport(c *fiber.Ctx, p auth.Principal) error {
	job, err := h.deps.Reports.Request(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "job "+job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(job)
}
