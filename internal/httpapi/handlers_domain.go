package httpapi

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/regions/spec"
)

func (s *Server) listRegions(c *fiber.Ctx, _ auth.Principal) error {
	rs, err := s.deps.Regions.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(rs))
}

func (s *Server) getRegion(c *fiber.Ctx, _ auth.Principal) error {
	r, err := s.deps.Regions.Get(c.UserContext(), web.Param(c, "code"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) createRegion(c *fiber.Ctx, _ auth.Principal) error {
	var in spec.Input
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := s.deps.Regions.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "region:"+r.Code)
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (s *Server) updateRegion(c *fiber.Ctx, _ auth.Principal) error {
	var in spec.Input
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	code := web.Param(c, "code")
	if in.Code != "" && in.Code != code {
		return fault.Invalid(fault.Field("code", "code_mismatch", "请求体中的代码与地址不一致", "code in the body differs from the URL"))
	}
	r, err := s.deps.Regions.Update(c.UserContext(), code, in)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

type importResult struct {
	Imported int `json:"imported"`
}

// importRegions takes a CSV body in UTF-8 (with or without BOM) or in
// GB18030/GBK, as Excel on a Chinese Windows saves it.
func (s *Server) importRegions(c *fiber.Ctx, _ auth.Principal) error {
	ct := string(c.Request().Header.ContentType())
	if !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, fiber.MIMEOctetStream) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Content-Type must be text/csv")
	}
	n, err := s.deps.Regions.ImportCSV(c.UserContext(), web.BodyReader(c))
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "imported "+strconv.Itoa(n))
	return c.JSON(importResult{Imported: n})
}

// cycleView is a cycle with the states it may move to next.
type cycleView struct {
	cycles.Cycle
	Allowed []cycles.Status `json:"allowed_transitions"`
}

func viewCycle(cy cycles.Cycle) cycleView { return cycleView{Cycle: cy, Allowed: cy.Status.Next()} }

type transitionRequest struct {
	To cycles.Status `json:"to"`
}

func (s *Server) listCycles(c *fiber.Ctx, _ auth.Principal) error {
	cs, err := s.deps.Cycles.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(cs))
}

func (s *Server) getCycle(c *fiber.Ctx, _ auth.Principal) error {
	cy, err := s.deps.Cycles.Get(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(viewCycle(cy))
}

func (s *Server) createCycle(c *fiber.Ctx, _ auth.Principal) error {
	var in cycles.Input
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	cy, err := s.deps.Cycles.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "cycle:"+cy.ID)
	return c.Status(fiber.StatusCreated).JSON(viewCycle(cy))
}

func (s *Server) transitionCycle(c *fiber.Ctx, _ auth.Principal) error {
	var req transitionRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	cy, err := s.deps.Cycles.Transition(c.UserContext(), web.Param(c, "id"), req.To)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "to "+string(req.To))
	return c.JSON(viewCycle(cy))
}

type schemeAssignment struct {
	SchemeID string `json:"scheme_id"`
}

// setCycleScheme names the scheme a cycle is assessed with; only before
// scoring starts.
func (s *Server) setCycleScheme(c *fiber.Ctx, _ auth.Principal) error {
	var req schemeAssignment
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	if _, err := s.deps.Schemes.Get(ctx, req.SchemeID); err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return fault.Invalid(fault.Field("scheme_id", "unknown_scheme", "评价方案不存在", "no such scheme"))
		}
		return err
	}
	cy, err := s.deps.Cycles.SetScheme(ctx, web.Param(c, "id"), req.SchemeID)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "scheme "+req.SchemeID)
	return c.JSON(viewCycle(cy))
}
