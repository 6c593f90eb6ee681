package httpapi

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/web"
)

// valueBatch is the JSON batch of values: all stored, or none.
type valueBatch struct {
	Items []indicators.ValueInput `json:"items"`
}

type submitRequest struct {
	RegionCode     string   `json:"region_code"`
	IndicatorCodes []string `json:"indicator_codes"`
}

type reviewRequest struct {
	Verify  bool   `json:"verify"`
	Comment string `json:"comment"`
	Version int    `json:"version"`
}

func (s *Server) listValues(c *fiber.Ctx, p auth.Principal) error {
	vs, err := s.deps.Values.List(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(vs))
}

func (s *Server) setValues(c *fiber.Ctx, p auth.Principal) error {
	var req valueBatch
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
	vs, err := s.deps.Values.SetBatch(c.UserContext(), p, web.Param(c, "id"), req.Items)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, strconv.Itoa(len(req.Items))+" values")
	return c.JSON(web.ListOf(vs))
}

func (s *Server) submitValues(c *fiber.Ctx, p auth.Principal) error {
	var req submitRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	vs, err := s.deps.Values.Submit(c.UserContext(), p, web.Param(c, "id"), req.RegionCode, req.IndicatorCodes)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, "region "+req.RegionCode)
	return c.JSON(web.ListOf(vs))
}

func (s *Server) reviewValue(c *fiber.Ctx, p auth.Principal) error {
	var req reviewRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	v, err := s.deps.Values.Review(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "value"), req.Verify, req.Comment, req.Version)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) valueHistory(c *fiber.Ctx, p auth.Principal) error {
	rs, err := s.deps.Values.History(c.UserContext(), p, web.Param(c, "value"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(rs))
}

func (s *Server) completeness(c *fiber.Ctx, p auth.Principal) error {
	cs, err := s.deps.Values.Completeness(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(cs))
}

// importForm documents the multipart form of a spreadsheet import.
type importForm struct {
	File string `json:"file" jsonschema:"format=binary"`
	// Submit, "true", also submits the imported values for review.
	Submit string `json:"submit,omitempty" jsonschema:"enum=true,enum=false"`
}

func (s *Server) valuesTemplate(c *fiber.Ctx, p auth.Principal) error {
	f, err := s.deps.Values.Template(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"), web.Query(c, "format"))
	if err != nil {
		return err
	}
	return sendFile(c, f.MediaType, f.Name, f.Data)
}

func (s *Server) importValues(c *fiber.Ctx, p auth.Principal) error {
	submit, err := web.FormBool(c, "submit")
	if err != nil {
		return err
	}
	res, err := s.edge.ImportUpload(c, p, submit)
	if err != nil {
		return err
	}
	return c.JSON(res)
}
