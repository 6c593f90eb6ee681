package httpapi

import (
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
)

// evidenceForm documents the multipart form of an evidence upload.
type evidenceForm struct {
	RegionCode    string `json:"region_code"`
	IndicatorCode string `json:"indicator_code"`
	File          string `json:"file" jsonschema:"format=binary"`
}

func (s *Server) listEvidence(c *fiber.Ctx, p auth.Principal) error {
	es, err := s.deps.Evidence.List(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(es))
}

func (s *Server) addEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, created, err := s.edge.AttachUpload(c, p)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(ev)
}

func (s *Server) getEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, data, err := s.deps.Evidence.Open(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "evidence"))
	if err != nil {
		return err
	}
	return sendFile(c, ev.MediaType, ev.FileName, data)
}

func (s *Server) withdrawEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, err := s.deps.Evidence.Withdraw(c.UserContext(), p, web.Param(c, "id"), web.Param(c, "evidence"))
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
	c.Set("Content-Security-Policy", "sandbox; default-src 'none'")
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
