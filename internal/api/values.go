package api

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/web"
)

// ValueBatch is the JSON batch of values: all stored, or none.
type ValueBatch struct {
	Items []indicators.ValueInput `json:"items"`
}

// SubmitRequest is the body of a submission of a region's values.
type SubmitRequest struct {
	RegionCode     string   `json:"region_code"`
	IndicatorCodes []string `json:"indicator_codes"`
}

// ReviewRequest is the body of the review of a value.
type ReviewRequest struct {
	Verify  bool   `json:"verify"`
	Comment string `json:"comment"`
	Version int    `json:"version"`
}

// ListValues answers values.list (Indicator values of a cycle
// (?region=CODE)).
func (h *Handlers) ListValues(c *fiber.Ctx, p auth.Principal) error {
	vs, err := h.deps.Values.List(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(vs))
}

// SetValues answers values.set (Write a batch of values (all or nothing)).
func (h *Handlers) SetValues(c *fiber.Ctx, p auth.Principal) error {
	var req ValueBatch
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Items) == 1 {
		// Named before the write, so that every attempt on a value — a
		// refused one too, such as the loser of two concurrent edits — is
		// found in the audit log by the value's object.
		it := req.Items[0]
		web.SetAuditObject(c, "cycle:"+web.Param(c, "id")+":"+strings.TrimSpace(it.RegionCode)+":"+strings.TrimSpace(it.IndicatorCode))
	}
	vs, err := h.deps.Values.SetBatch(c.UserContext(), p, web.Param(c, "id"), req.Items)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, strconv.Itoa(len(req.Items))+" values")
	return c.JSON(web.ListOf(vs))
}

// SubmitValues answers values.submit (Submit a region's values for review).
func (h *Handlers) SubmitValues(c *fiber.Ctx, p auth.Principal) error {
	var req SubmitRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	vs, err := h.deps.Values.Submit(c.UserContext(), p, web.Param(c, "id"), req.RegionCode, req.IndicatorCodes)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "region "+req.RegionCode)
	return c.JSON(web.ListOf(vs))
}

// ReviewValue answers values.review (Verify or reject a submitted value).
func (h *Handlers) ReviewValue(c *fiber.Ctx, p auth.Principal) error {
	var req ReviewRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, err := h.deps.Values.Review(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "value"), req.Verify, req.Comment, req.Version)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// ValueHistory answers values.history (Revision history of a value).
func (h *Handlers) ValueHistory(c *fiber.Ctx, p auth.Principal) error {
	rs, err := h.deps.Values.History(c.UserContext(), p, web.Param(c, "value"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(rs))
}

// Completeness answers values.completeness (Completeness per region and
// dimension).
func (h *Handlers) Completeness(c *fiber.Ctx, p auth.Principal) error {
	cs, err := h.deps.Values.Completeness(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(cs))
}

// ImportForm documents the multipart form of a spreadsheet import.
type ImportForm struct {
	File string `json:"file" jsonschema:"format=binary"`
	// Submit, "true", also submits the imported values for review.
	Submit string `json:"submit,omitempty" jsonschema:"enum=true,enum=false"`
}

// ValuesTemplate answers values.template (Spreadsheet template pre-filled
// with the stored values (?region=CODE&format=xlsx|csv)).
func (h *Handlers) ValuesTemplate(c *fiber.Ctx, p auth.Principal) error {
	f, err := h.deps.Values.Template(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"), web.Query(c, "format"))
	if err != nil {
		return err
	}
	return sendFile(c, f.MediaType, f.Name, f.Data)
}

// ImportValues answers values.import (Import a filled-in template, xlsx or
// CSV (all or nothing)).
func (h *Handlers) ImportValues(c *fiber.Ctx, p auth.Principal) error {
	submit, err := web.FormBool(c, "submit")
	if err != nil {
		return err
	}
	res, err := h.edge.ImportUpload(c, p, submit)
	if err != nil {
		return err
	}
	return c.JSON(res)
}
