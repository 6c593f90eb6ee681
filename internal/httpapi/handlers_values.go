package httpapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
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
	vs, err := s.deps.Values.List(c.UserContext(), p, param(c, "id"), query(c, "region"))
	if err != nil {
		return err
	}
	return c.JSON(listOf(vs))
}

func (s *Server) setValues(c *fiber.Ctx, p auth.Principal) error {
	var req valueBatch
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Items) == 1 {
		// Named before the write, so that every attempt on a value — a
		// refused one too, such as the loser of two concurrent edits — is
		// found in the audit log by the value's object.
		it := req.Items[0]
		setAuditObject(c, "cycle:"+param(c, "id")+":"+strings.TrimSpace(it.RegionCode)+":"+strings.TrimSpace(it.IndicatorCode))
	}
	vs, err := s.deps.Values.SetBatch(c.UserContext(), p, param(c, "id"), req.Items)
	if err != nil {
		return err
	}
	setAuditDetail(c, strconv.Itoa(len(req.Items))+" values")
	return c.JSON(listOf(vs))
}

func (s *Server) submitValues(c *fiber.Ctx, p auth.Principal) error {
	var req submitRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	vs, err := s.deps.Values.Submit(c.UserContext(), p, param(c, "id"), req.RegionCode, req.IndicatorCodes)
	if err != nil {
		return err
	}
	setAuditDetail(c, "region "+req.RegionCode)
	return c.JSON(listOf(vs))
}

func (s *Server) reviewValue(c *fiber.Ctx, p auth.Principal) error {
	var req reviewRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	v, err := s.deps.Values.Review(c.UserContext(), p, param(c, "id"), param(c, "value"), req.Verify, req.Comment, req.Version)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) valueHistory(c *fiber.Ctx, p auth.Principal) error {
	rs, err := s.deps.Values.History(c.UserContext(), p, param(c, "value"))
	if err != nil {
		return err
	}
	return c.JSON(listOf(rs))
}

func (s *Server) completeness(c *fiber.Ctx, p auth.Principal) error {
	cs, err := s.deps.Values.Completeness(c.UserContext(), p, param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(listOf(cs))
}

// importForm documents the multipart form of a spreadsheet import.
type importForm struct {
	File string `json:"file" jsonschema:"format=binary"`
	// Submit, "true", also submits the imported values for review.
	Submit string `json:"submit,omitempty" jsonschema:"enum=true,enum=false"`
}

func (s *Server) valuesTemplate(c *fiber.Ctx, p auth.Principal) error {
	f, err := s.deps.Values.Template(c.UserContext(), p, param(c, "id"), query(c, "region"), query(c, "format"))
	if err != nil {
		return err
	}
	return sendFile(c, f.MediaType, f.Name, f.Data)
}

func (s *Server) importValues(c *fiber.Ctx, p auth.Principal) error {
	submit, err := formBool(c, "submit")
	if err != nil {
		return err
	}
	res, err := s.importUpload(c, p, submit)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// importUpload imports the file of a multipart form; the API and the
// collection page share it.
func (s *Server) importUpload(c *fiber.Ctx, p auth.Principal, submit bool) (indicators.ImportResult, error) {
	name, data, err := formFile(c, "file", s.deps.Values.MaxImportBytes())
	if err != nil {
		return indicators.ImportResult{}, err
	}
	res, err := s.deps.Values.Import(c.UserContext(), p, param(c, "id"), name, data, submit)
	if err != nil {
		return res, err
	}
	setAuditDetail(c, fmt.Sprintf("%s: %d entries, %d changed, %d submitted", name, res.Entries, res.Changed, res.Submitted))
	return res, nil
}
