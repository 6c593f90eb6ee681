package httpapi

import (
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
)

// evidenceForm documents the multipart form of an evidence upload.
type evidenceForm struct {
	RegionCode    string `json:"region_code"`
	IndicatorCode string `json:"indicator_code"`
	File          string `json:"file" jsonschema:"format=binary"`
}

func (s *Server) listEvidence(c *fiber.Ctx, p auth.Principal) error {
	es, err := s.deps.Evidence.List(c.UserContext(), p, param(c, "id"), query(c, "region"))
	if err != nil {
		return err
	}
	return c.JSON(listOf(es))
}

func (s *Server) addEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, created, err := s.attachUpload(c, p)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(ev)
}

// attachUpload attaches the file of a multipart form (region_code,
// indicator_code, file); the API and the collection page share it.
func (s *Server) attachUpload(c *fiber.Ctx, p auth.Principal) (indicators.Evidence, bool, error) {
	name, data, err := formFile(c, "file", s.deps.Evidence.MaxBytes())
	if err != nil {
		return indicators.Evidence{}, false, err
	}
	up := indicators.Upload{RegionCode: formValue(c, "region_code"), IndicatorCode: formValue(c, "indicator_code"),
		FileName: name, Data: data}
	ev, created, err := s.deps.Evidence.Add(c.UserContext(), p, param(c, "id"), up)
	if err != nil {
		return ev, false, err
	}
	setAuditObject(c, "evidence:"+ev.ID)
	setAuditDetail(c, ev.RegionCode+" "+ev.IndicatorCode+" sha256:"+ev.SHA256)
	return ev, created, nil
}

func (s *Server) getEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, data, err := s.deps.Evidence.Open(c.UserContext(), p, param(c, "id"), param(c, "evidence"))
	if err != nil {
		return err
	}
	return sendFile(c, ev.MediaType, ev.FileName, data)
}

func (s *Server) withdrawEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, err := s.deps.Evidence.Withdraw(c.UserContext(), p, param(c, "id"), param(c, "evidence"))
	if err != nil {
		return err
	}
	return c.JSON(ev)
}

// formFile reads the named file of a multipart form, with its base name:
// at most one byte more than limit, enough for the store to refuse it with
// its own explanation without the server holding the whole file.
func formFile(c *fiber.Ctx, field string, limit int64) (string, []byte, error) {
	fh, err := formUpload(c, field)
	if err != nil {
		return "", nil, err
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return "", nil, err
	}
	return fh.Filename, data, nil
}

// formUpload returns the named file of a multipart form, for a caller
// that streams it rather than read it whole. Fasthttp reads the form from
// the request's stream, bounded by its length (admitBody), keeping at most
// 8 KiB of it in memory and the rest in temporary files that it removes
// when the request ends.
func formUpload(c *fiber.Ctx, field string) (*multipart.FileHeader, error) {
	if !isMultipart(c) {
		return nil, fiber.NewError(fiber.StatusUnsupportedMediaType, "Content-Type must be multipart/form-data")
	}
	fh, err := c.FormFile(field)
	if err != nil {
		return nil, fault.Invalid(fault.Field(field, "required", "请选择要上传的文件（表单字段 "+field+"）",
			"attach the file as form field "+field))
	}
	return fh, nil
}

// formBool reads an optional boolean form field: true/false and the like,
// or "on", what a checked HTML checkbox sends.
func formBool(c *fiber.Ctx, name string) (bool, error) {
	v := formValue(c, name)
	switch v {
	case "":
		return false, nil
	case "on":
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fault.Invalid(fault.Field(name, "not_boolean", name+" 须为 true 或 false", name+" must be true or false"))
	}
	return b, nil
}

func isMultipart(c *fiber.Ctx) bool {
	mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	return err == nil && mt == fiber.MIMEMultipartForm
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
