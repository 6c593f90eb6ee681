package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/runs"
	"github.com/ipeval/ipeval/internal/auth"
)

// runView is a run with its results.
type runView struct {
	Run     runs.Run          `json:"run"`
	Results evaluation.Result `json:"results"`
}

func (s *Server) requestRun(c *fiber.Ctx, p auth.Principal) error {
	// The body is optional: no body asks for the default analysis.
	var set runs.Settings
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &set); err != nil {
			return err
		}
	}
	job, err := s.deps.Runs.Request(c.UserContext(), p, param(c, "id"), set)
	if err != nil {
		return err
	}
	setAuditObject(c, "job:"+job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(job)
}

func (s *Server) listRuns(c *fiber.Ctx, p auth.Principal) error {
	rs, err := s.deps.Runs.List(c.UserContext(), p, param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(listOf(rs))
}

func (s *Server) getRun(c *fiber.Ctx, p auth.Principal) error {
	r, res, err := s.deps.Runs.Get(c.UserContext(), p, param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(runView{Run: r, Results: res})
}

func (s *Server) runRegion(c *fiber.Ctx, p auth.Principal) error {
	rr, err := s.deps.Runs.Region(c.UserContext(), p, param(c, "id"), param(c, "code"))
	if err != nil {
		return err
	}
	return c.JSON(rr)
}

func (s *Server) publishRun(c *fiber.Ctx, p auth.Principal) error {
	r, err := s.deps.Runs.Publish(c.UserContext(), p, param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) diffRuns(c *fiber.Ctx, p auth.Principal) error {
	d, err := s.deps.Runs.Diff(c.UserContext(), p, param(c, "id"), param(c, "other"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) runSensitivity(c *fiber.Ctx, p auth.Principal) error {
	sens, err := s.deps.Runs.Sensitivity(c.UserContext(), p, param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(sens)
}

// requestReport asks for a run's business-environment report to be
// rendered (again), as a job.
func (s *Server) requestReport(c *fiber.Ctx, p auth.Principal) error {
	job, err := s.deps.Reports.Request(c.UserContext(), p, param(c, "id"))
	if err != nil {
		return err
	}
	setAuditDetail(c, "job "+job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(job)
}
