package api

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
func (h *Handlers) sendScheme(c *fiber.Ctx, st indicators.StoredScheme) error {
	sc, err := h.deps.Schemes.Decode(st)
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
	return c.JSON(SchemeView{StoredScheme: st, Scheme: sc})
}

// SchemeView is a stored scheme with its document.
type SchemeView struct {
	indicators.StoredScheme
	Scheme scheme.Scheme `json:"scheme"`
}

// ListSchemes answers schemes.list (List scheme versions).
func (h *Handlers) ListSchemes(c *fiber.Ctx, _ auth.Principal) error {
	ss, err := h.deps.Schemes.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(ss))
}

// GetScheme answers schemes.get (A scheme version (JSON, or YAML with
// ?format=yaml)).
func (h *Handlers) GetScheme(c *fiber.Ctx, _ auth.Principal) error {
	st, err := h.deps.Schemes.Get(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	return h.sendScheme(c, st)
}

// CreateScheme answers schemes.create (Create a scheme from JSON or YAML).
func (h *Handlers) CreateScheme(c *fiber.Ctx, p auth.Principal) error {
	sc, err := schemeBody(c)
	if err != nil {
		return err
	}
	st, err := h.deps.Schemes.Create(c.UserContext(), sc, p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "scheme:"+st.ID)
	c.Location("/api/v1/schemes/" + st.ID)
	c.Status(fiber.StatusCreated)
	return h.sendScheme(c, st)
}

// PutScheme replaces a scheme; one that a cycle was scored with stays as it
// is and the change becomes a new version (201 with its location).
func (h *Handlers) PutScheme(c *fiber.Ctx, p auth.Principal) error {
	sc, err := schemeBody(c)
	if err != nil {
		return err
	}
	st, created, err := h.deps.Schemes.Replace(c.UserContext(), web.Param(c, "id"), sc, p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "scheme:"+st.ID)
	if created {
		web.SetAuditDetail(c, "new version of a scored scheme")
		c.Location("/api/v1/schemes/" + st.ID)
		c.Status(fiber.StatusCreated)
	}
	return h.sendScheme(c, st)
}
