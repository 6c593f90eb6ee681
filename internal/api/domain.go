package api

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

// ListRegions answers regions.list (List regions).
func (h *Handlers) ListRegions(c *fiber.Ctx, _ auth.Principal) error {
	rs, err := h.deps.Regions.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(rs))
}

// GetRegion answers regions.get (A region).
func (h *Handlers) GetRegion(c *fiber.Ctx, _ auth.Principal) error {
	r, err := h.deps.Regions.Get(c.UserContext(), web.Param(c, "code"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// CreateRegion answers regions.create (Create a region).
func (h *Handlers) CreateRegion(c *fiber.Ctx, _ auth.Principal) error {
	var in spec.Input
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.deps.Regions.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "region:"+r.Code)
	return c.Status(fiber.StatusCreated).JSON(r)
}

// UpdateRegion answers regions.update (Update a region).
func (h *Handlers) UpdateRegion(c *fiber.Ctx, _ auth.Principal) error {
	var in spec.Input
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	code := web.Param(c, "code")
	if in.Code != "" && in.Code != code {
		return fault.Invalid(fault.Field("code", "code_mismatch", "请求体中的代码与地址不一致", "code in the body differs from the URL"))
	}
	r, err := h.deps.Regions.Update(c.UserContext(), code, in)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// ImportResult is the answer to an import of regions.
type ImportResult struct {
	Imported int `json:"imported"`
}

// RegionsFileForm documents the multipart form of the regions page's
// import: a regions CSV (code,name,kind,parent).
type RegionsFileForm struct {
	File string `json:"file" jsonschema:"format=binary"`
}

// ImportRegions takes a CSV body in UTF-8 (with or without BOM) or in
// GB18030/GBK, as Excel on a Chinese Windows saves it.
func (h *Handlers) ImportRegions(c *fiber.Ctx, _ auth.Principal) error {
	ct := string(c.Request().Header.ContentType())
	if !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, fiber.MIMEOctetStream) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Content-Type must be text/csv")
	}
	n, err := h.deps.Regions.ImportCSV(c.UserContext(), web.BodyReader(c))
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "imported "+strconv.Itoa(n))
	return c.JSON(ImportResult{Imported: n})
}

// CycleView is a cycle with the states it may move to next.
type CycleView struct {
	cycles.Cycle
	Allowed []cycles.Status `json:"allowed_transitions"`
}

func viewCycle(cy cycles.Cycle) CycleView { return CycleView{Cycle: cy, Allowed: cy.Status.Next()} }

// TransitionRequest is the body of a move of a cycle to another status.
type TransitionRequest struct {
	To cycles.Status `json:"to"`
	// Deadline is the day until which collection is announced open
	// (YYYY-MM-DD, not before today), only with to=collecting: opening or
	// reopening collection; without it a reopen clears the old deadline.
	// It is informational: nothing is refused after it.
	Deadline string `json:"deadline,omitempty" jsonschema:"format=date"`
}

// ListCycles answers cycles.list (List assessment cycles).
func (h *Handlers) ListCycles(c *fiber.Ctx, _ auth.Principal) error {
	cs, err := h.deps.Cycles.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(cs))
}

// GetCycle answers cycles.get (A cycle with its allowed transitions).
func (h *Handlers) GetCycle(c *fiber.Ctx, _ auth.Principal) error {
	cy, err := h.deps.Cycles.Get(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(viewCycle(cy))
}

// CreateCycle answers cycles.create (Create a cycle (draft)).
func (h *Handlers) CreateCycle(c *fiber.Ctx, _ auth.Principal) error {
	var in cycles.Input
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	cy, err := h.deps.Cycles.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "cycle:"+cy.ID)
	return c.Status(fiber.StatusCreated).JSON(viewCycle(cy))
}

// TransitionCycle answers cycles.transition (Move a cycle to another
// state).
func (h *Handlers) TransitionCycle(c *fiber.Ctx, _ auth.Principal) error {
	var req TransitionRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	cy, err := h.deps.Cycles.TransitionUntil(c.UserContext(), web.Param(c, "id"), req.To, req.Deadline)
	if err != nil {
		return err
	}
	detail := "to " + string(req.To)
	if req.Deadline != "" {
		detail += ", collection until " + req.Deadline
	}
	web.SetAuditDetail(c, detail)
	return c.JSON(viewCycle(cy))
}

// SchemeAssignment is the body of the choice of a cycle's scheme.
type SchemeAssignment struct {
	SchemeID string `json:"scheme_id"`
}

// SetCycleScheme names the scheme a cycle is assessed with; only before
// scoring starts.
func (h *Handlers) SetCycleScheme(c *fiber.Ctx, _ auth.Principal) error {
	var req SchemeAssignment
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	if _, err := h.deps.Schemes.Get(ctx, req.SchemeID); err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return fault.Invalid(fault.Field("scheme_id", "unknown_scheme", "评价方案不存在", "no such scheme"))
		}
		return err
	}
	cy, err := h.deps.Cycles.SetScheme(ctx, web.Param(c, "id"), req.SchemeID)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "scheme "+req.SchemeID)
	return c.JSON(viewCycle(cy))
}
