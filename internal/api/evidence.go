package api

import (
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
)

// EvidenceForm documents the multipart form of an evidence upload.
type EvidenceForm struct {
	RegionCode    string `json:"region_code"`
	IndicatorCode string `json:"indicator_code"`
	File          string `json:"file" jsonschema:"format=binary"`
}

// ListEvidence answers evidence.list (Evidence files of a cycle
// (?region=CODE)).
func (h *Handlers) ListEvidence(c *fiber.Ctx, p auth.Principal) error {
	es, err := h.deps.Evidence.List(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(es))
}

// AddEvidence answers evidence.add (Upload an evidence file (PDF, image,
// office document, OFD)).
func (h *Handlers) AddEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, created, err := h.edge.AttachUpload(c, p)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(ev)
}

// GetEvidence answers evidence.get (Download an evidence file (?inline=1:
// a PDF or an image shown in the page, framable by the site only)), for
// the review queue's preview. The store checks the caller's access to the object (a city official
// reads only its region's evidence); a file that is not a PDF or an
// image is a download even when asked inline.
func (h *Handlers) GetEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, data, err := h.deps.Evidence.Open(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "evidence"))
	if err != nil {
		return err
	}
	if web.Query(c, "inline") == "1" && ev.Inline() {
		return sendInline(c, ev.MediaType, ev.FileName, data)
	}
	return sendFile(c, ev.MediaType, ev.FileName, data)
}

// sendInline answers with a stored image or PDF for display: its sniffed
// type, inline, sandboxed (no script, no form, no same-origin access,
// nothing loaded), and — alone of every response — framable, by the
// site's own pages only, so that the review queue can show a PDF in a
// frame. Its caller allows only the types a browser renders without
// running anything of ours.
func sendInline(c *fiber.Ctx, mediaType, name string, data []byte) error {
	c.Set(fiber.HeaderContentType, mediaType)
	c.Set(fiber.HeaderContentDisposition, "inline"+strings.TrimPrefix(disposition(name), "attachment"))
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'")
	c.Set("X-Frame-Options", "SAMEORIGIN")
	return c.Send(data)
}

// WithdrawEvidence answers evidence.withdraw (Withdraw an evidence file (it
// stays on record)).
func (h *Handlers) WithdrawEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, err := h.deps.Evidence.Withdraw(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "evidence"))
	if err != nil {
		return err
	}
	return c.JSON(ev)
}

// sendFile answers with a stored file as a download. It is never shown
// inline, so that an uploaded HTML or SVG cannot run in our origin.
func sendFile(c *fiber.Ctx, mediaType, name string, data []byte) error {
	c.Set(fiber.HeaderContentType, mediaType)
	c.Set(fiber.HeaderContentDisposition, disposition(name))
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'none'")
	c.Set("X-Frame-Options", "DENY")
	return c.Send(data)
}

// disposition is an attachment header naming the file: RFC 6266's
// filename* for the real (often Chinese) name, and a plain ASCII filename
// for clients that read only that. A name built from user text (a cycle
// named "=HYPERLINK(\"http://x\")") may hold a slash; it becomes "_" in
// both, so that no download header carries a path.
func disposition(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' {
			return '_'
		}
		return r
	}, name)
	full := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if ascii == name {
		return full
	}
	return `attachment; filename="` + ascii + `"; ` + strings.TrimPrefix(full, "attachment; ")
}
