package httpapi

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

// runView is a run with its results.
type runView struct {
	Run     evaluation.Run `json:"run"`
	Results engine.Result  `json:"results"`
}

func (s *Server) requestRun(c *fiber.Ctx, p auth.Principal) error {
	// The body is optional: no body asks for the default analysis.
	var set evaluation.Settings
	if len(c.Body()) > 0 {
		if err := web.DecodeJSON(c, &set); err != nil {
			return err
		}
	}
	job, err := s.deps.Runs.Request(c.UserContext(), p, web.Param(c, "id"), set)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "job:"+job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(job)
}

// runList is a cycle's runs and, for admins, its failed run jobs, which
// store no run but must not fail unseen: each carries its reason.
type runList struct {
	Items      []evaluation.Run `json:"items"`
	FailedJobs []jobs.Job       `json:"failed_jobs,omitempty"`
}

func (s *Server) listRuns(c *fiber.Ctx, p auth.Principal) error {
	ctx, cycleID := c.UserContext(), web.Param(c, "id")
	rs, err := s.deps.Runs.List(ctx, p, cycleID)
	if err != nil {
		return err
	}
	out := runList{Items: web.ListOf(rs).Items}
	if p.Is(auth.RoleAdmin) {
		if out.FailedJobs, err = s.deps.Runs.Failures(ctx, p, cycleID); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

func (s *Server) getRun(c *fiber.Ctx, p auth.Principal) error {
	r, res, err := s.deps.Runs.Get(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(runView{Run: r, Results: res})
}

// runRegion answers one region's result of a run: what a region's
// dashboard shows, and so the API's busiest read. Its JSON is kept in the
// view cache and served from there without a query or an encoding.
//
// Nothing in such an entry goes stale: a run's results never change once
// stored and a published run stays published (runs.Store.Publish). What
// can change is an unpublished run becoming published, so an entry records
// whether its run was published when read, and serves a city official,
// who may see only published runs, only if it was. Who may see which
// region is checked on every request, the same way the store checks it.
func (s *Server) runRegion(c *fiber.Ctx, p auth.Principal) error {
	runID, code := web.Param(c, "id"), web.Param(c, "code")
	key := "api.region|" + runID + "|" + code
	if s.edge.Views() != nil && p.CanAccessRegion(code) {
		v, ok := s.edge.Views().Get(key, "")
		ok = ok && (v.(encodedRegion).published || p.Is(auth.RoleAdmin))
		s.edge.CountView(ok)
		if ok {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Send(v.(encodedRegion).body)
		}
	}
	run, rr, err := s.deps.Runs.Region(c.UserContext(), p, runID, code)
	if err != nil {
		return err
	}
	body, err := json.Marshal(rr)
	if err != nil {
		return fmt.Errorf("encode region %s of run %s: %w", code, runID, err)
	}
	if s.edge.Views() != nil {
		s.edge.Views().Put(key, "", encodedRegion{body: body, published: run.PublishedAt != nil})
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

// encodedRegion is a region's result as runRegion answers it.
type encodedRegion struct {
	body      []byte
	published bool
}

func (s *Server) publishRun(c *fiber.Ctx, p auth.Principal) error {
	r, err := s.deps.Runs.Publish(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) diffRuns(c *fiber.Ctx, p auth.Principal) error {
	d, err := s.deps.Runs.Diff(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "other"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) runSensitivity(c *fiber.Ctx, p auth.Principal) error {
	sens, err := s.deps.Runs.Sensitivity(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(sens)
}

// requestReport asks for a run's business-environment report to be
// rendered (again), as a job.
func (s *Server) requestReport(c *fiber.Ctx, p auth.Principal) error {
	job, err := s.deps.Reports.Request(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "job "+job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(job)
}
