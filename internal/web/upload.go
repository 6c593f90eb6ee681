package web

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys"
)

// AttachUpload attaches the file of a multipart form (region_code,
// indicator_code, file); the API and the collection page share it.
func (e *Edge) AttachUpload(c *fiber.Ctx, p auth.Principal) (indicators.Evidence, bool, error) {
	name, data, err := FormFile(c, "file", e.deps.Evidence.MaxBytes())
	if err != nil {
		return indicators.Evidence{}, false, err
	}
	up := indicators.Upload{RegionCode: FormValue(c, "region_code"), IndicatorCode: FormValue(c, "indicator_code"),
		FileName: name, Data: data}
	ev, created, err := e.deps.Evidence.Add(c.UserContext(), p, Param(c, "id"), up)
	if err != nil {
		return ev, false, err
	}
	SetAuditObject(c, "evidence:"+ev.ID)
	SetAuditDetail(c, ev.RegionCode+" "+ev.IndicatorCode+" sha256:"+ev.SHA256)
	return ev, created, nil
}

// FormFile reads the named file of a multipart form, with its base name:
// at most one byte more than limit, enough for the store to refuse it with
// its own explanation without the server holding the whole file.
func FormFile(c *fiber.Ctx, field string, limit int64) (string, []byte, error) {
	fh, err := FormUpload(c, field)
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

// FormUpload returns the named file of a multipart form, for a caller
// that streams it rather than read it whole. Fasthttp reads the form from
// the request's stream, bounded by its length (admitBody), keeping at most
// 8 KiB of it in memory and the rest in temporary files that it removes
// when the request ends.
func FormUpload(c *fiber.Ctx, field string) (*multipart.FileHeader, error) {
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

// FormBool reads an optional boolean form field: true/false and the like,
// or "on", what a checked HTML checkbox sends.
func FormBool(c *fiber.Ctx, name string) (bool, error) {
	v := FormValue(c, name)
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

// ImportUpload imports the file of a multipart form; the API and the
// collection page share it.
func (e *Edge) ImportUpload(c *fiber.Ctx, p auth.Principal, submit bool) (indicators.ImportResult, error) {
	name, data, err := FormFile(c, "file", e.deps.Values.MaxImportBytes())
	if err != nil {
		return indicators.ImportResult{}, err
	}
	res, err := e.deps.Values.Import(c.UserContext(), p, Param(c, "id"), name, data, submit)
	if err != nil {
		return res, err
	}
	SetAuditDetail(c, fmt.Sprintf("%s: %d entries, %d changed, %d submitted", name, res.Entries, res.Changed, res.Submitted))
	return res, nil
}

// SurveyUpload stores the file of a multipart form (file, replaces) as a
// batch of the project :id, for the API and the project page alike.
func (e *Edge) SurveyUpload(c *fiber.Ctx, p auth.Principal) (surveys.Batch, bool, error) {
	fh, err := FormUpload(c, "file")
	if err != nil {
		return surveys.Batch{}, false, err
	}
	f, err := fh.Open()
	if err != nil {
		return surveys.Batch{}, false, fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	b, created, err := e.deps.Surveys.Upload(c.UserContext(), p, Param(c, "id"), fh.Filename, f, FormValue(c, "replaces"))
	if err != nil {
		return b, false, err
	}
	SetAuditObject(c, "survey_batch:"+b.ID)
	SetAuditDetail(c, b.FileName+" sha256:"+b.SHA256)
	return b, created, nil
}
