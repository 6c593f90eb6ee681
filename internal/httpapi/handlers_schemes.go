package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
)

// schemeBody reads a scheme sent as JSON or YAML; scheme.Parse reports
// every problem by path.
func schemeBody(c *fiber.Ctx) (scheme.Scheme, error) {
	ct := string(c.Request().Header.ContentType())
	if !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) && !strings.Contains(ct, "yaml") {
		return scheme.Scheme{}, fiber.NewError(fiber.StatusUnsupportedMediaType, "Content-Type must be application/json or application/yaml")
	}
	if len(c.Body()) > scheme.MaxSize {
		return scheme.Scheme{}, fault.With(fault.ErrTooLarge, "a scheme is at most 1 MiB", "评价方案不能超过1 MiB", nil)
	}
	return scheme.Parse(c.Body())
}

// sendScheme answers with the document as YAML when the caller asks for it
// (Accept or ?format=yaml), as JSON otherwise.
func (s *Server) sendScheme(c *fiber.Ctx, st indicators.StoredScheme) error {
	sc, err := s.deps.Schemes.Decode(st)
	if err != nil {
		return err
	}
	c.Set("ETag", `"`+st.Digest+`"`)
	if c.Query("format") == "yaml" || strings.Contains(c.Get(fiber.HeaderAccept), "yaml") {
		out, err := sc.YAML()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
		return c.Send(out)
	}
	return c.JSON(schemeView{StoredScheme: st, Scheme: sc})
}

// schemeView is a stored scheme with its document.
type schemeView struct {
	indicators.StoredScheme
	Scheme scheme.Scheme `json:"scheme"`
}

func (s *Server) listSchemes(c *fiber.Ctx, _ auth.Principal) error {
	ss, err := s.deps.Schemes.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(ss))
}

func (s *Server) getScheme(c *fiber.Ctx, _ auth.Principal) error {
	st, err := s.deps.Schemes.Get(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	return s.sendScheme(c, st)
}

func (s *Server) createScheme(c *fiber.Ctx, p auth.Principal) error {
	sc, err := schemeBody(c)
	if err != nil {
		return err
	}
	st, err := s.deps.Schemes.Create(c.UserContext(), sc, p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "scheme:"+st.ID)
	c.Location("/api/v1/schemes/" + st.ID)
	c.Status(fiber.StatusCreated)
	return s.sendScheme(c, st)
}

// putScheme replaces a scheme; one that a cycle was scored with stays as it
// is and the change becomes a new version (201 with its location).
func (s *Server) putScheme(c *fiber.Ctx, p auth.Principal) error {
	sc, err := schemeBody(c)
	if err != nil {
		return err
	}
	st, created, err := s.deps.Schemes.Replace(c.UserContext(), web.Param(c, "id"), sc, p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "scheme:"+st.ID)
	if created {
		web.SetAuditDetail(c, "new version of a scored scheme")
		c.Location("/api/v1/schemes/" + st.ID)
		c.Status(fiber.StatusCreated)
	}
	return s.sendScheme(c, st)
}
