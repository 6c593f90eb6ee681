package site

import (
	"errors"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
)

// schemesData is the list of stored scheme versions with the upload form
// as typed and the outcome of the form just posted.
type schemesData struct {
	Schemes []indicators.SchemeRow
	// Text is the pasted document of a refused upload, kept for fixing.
	Text   string
	Notice string
	formProblem
}

// schemeNotices are the outcomes a form reports back with ?notice=.
var schemeNotices = map[string]bool{"created": true, "default_added": true, "default_exists": true}

// noticeOf is the message key of the ?notice= outcome when it is one of
// known, under prefix; "" otherwise.
func noticeOf(c *fiber.Ctx, prefix string, known map[string]bool) string {
	if n := web.Query(c, "notice"); known[n] {
		return prefix + n
	}
	return ""
}

// SchemesPage lists every stored scheme version with the upload form and
// the form that adds the built-in default.
func (h *Handlers) SchemesPage(c *fiber.Ctx, _ auth.Principal) error {
	return h.renderSchemes(c, fiber.StatusOK, schemesData{Notice: noticeOf(c, "schemes.notice.", schemeNotices)})
}

// SchemeUploadForm stores an uploaded scheme (a YAML or JSON file, or a
// pasted document) as a new version, through the parsing and the store of
// the API's schemes.create. A refused document stores nothing and comes
// back with every problem by its path in the document.
func (h *Handlers) SchemeUploadForm(c *fiber.Ctx, p auth.Principal) error {
	text := web.FormValue(c, "text")
	data, err := schemeUpload(c, text)
	var sc scheme.Scheme
	if err == nil {
		sc, err = scheme.Parse(data)
	}
	var st indicators.StoredScheme
	if err == nil {
		st, err = h.deps.Schemes.Create(c.UserContext(), sc, p.UserID)
	}
	if err != nil {
		fp, status, ok := formProblemOf(c, err)
		if !ok {
			return err
		}
		if len(text) > scheme.MaxSize {
			text = ""
		}
		return h.renderSchemes(c, status, schemesData{Text: text, formProblem: fp})
	}
	web.SetAuditObject(c, "scheme:"+st.ID)
	web.SetAuditDetail(c, st.Code+" v"+strconv.Itoa(st.Version))
	return c.Redirect("/schemes/"+url.PathEscape(st.ID)+"?notice=created", fiber.StatusSeeOther)
}

// schemeUpload is the document of the upload form: the file when one is
// attached, the pasted text otherwise. Either is refused beyond
// scheme.MaxSize before it is parsed.
func schemeUpload(c *fiber.Ctx, text string) ([]byte, error) {
	var data []byte
	if fh, ferr := c.FormFile("file"); ferr == nil && fh.Size > 0 {
		_, b, err := web.FormFile(c, "file", scheme.MaxSize)
		if err != nil {
			return nil, err
		}
		data = b
	} else if strings.TrimSpace(text) != "" {
		data = []byte(text)
	} else {
		return nil, fault.Invalid(fault.Field("file", "required", "请选择方案文件（YAML 或 JSON）或粘贴方案内容",
			"choose a scheme file (YAML or JSON) or paste the scheme"))
	}
	if len(data) > scheme.MaxSize {
		return nil, fault.With(fault.ErrTooLarge, "a scheme is at most 1 MiB", "评价方案不能超过1 MiB", nil)
	}
	return data, nil
}

// SchemeAddDefaultForm stores the built-in default scheme unless a version
// saying the same is stored already; either way the manager lands on that
// version (or on the form's next page, such as the cycles page whose
// create form needs a scheme).
func (h *Handlers) SchemeAddDefaultForm(c *fiber.Ctx, p auth.Principal) error {
	st, created, err := h.deps.Schemes.CreateUnlessStored(c.UserContext(), scheme.Default(), p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "scheme:"+st.ID)
	notice := "default_exists"
	if created {
		notice = "default_added"
	}
	web.SetAuditDetail(c, "default scheme "+st.Code+" v"+strconv.Itoa(st.Version)+": "+notice)
	if next := safeNext(web.FormValue(c, "next")); next != "" {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	return c.Redirect("/schemes/"+url.PathEscape(st.ID)+"?notice="+notice, fiber.StatusSeeOther)
}

// renderSchemes shows the list of versions with d's form and outcome.
func (h *Handlers) renderSchemes(c *fiber.Ctx, status int, d schemesData) error {
	rows, err := h.schemeViews.List(c.UserContext())
	if err != nil {
		return err
	}
	d.Schemes = rows
	return h.pages.render(c, status, "schemes", "schemes.title", d)
}

// schemeData is one version's 细则 page.
type schemeData struct {
	indicators.SchemeDetail
	Notice string
}

// SchemePage shows a version as the 细则 table, with its download link and
// the form that compares it with another version.
func (h *Handlers) SchemePage(c *fiber.Ctx, _ auth.Principal) error {
	d, err := h.schemeViews.Detail(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	return h.pages.render(c, fiber.StatusOK, "scheme", "schemes.detail",
		schemeData{SchemeDetail: d, Notice: noticeOf(c, "schemes.notice.", schemeNotices)})
}

// SchemeDownload sends a version's document as an attachment: YAML, the
// format schemes are written in, or JSON with ?format=json.
func (h *Handlers) SchemeDownload(c *fiber.Ctx, _ auth.Principal) error {
	st, err := h.deps.Schemes.Get(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	sc, err := h.deps.Schemes.Decode(st)
	if err != nil {
		return err
	}
	ext, ctype, body := "yaml", "application/yaml; charset=utf-8", []byte(nil)
	if web.Query(c, "format") == "json" {
		ext, ctype = "json", fiber.MIMEApplicationJSONCharsetUTF8
		body, err = sc.JSON()
	} else {
		body, err = sc.YAML()
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ctype)
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment",
		map[string]string{"filename": safeFileName(st.Code) + "-v" + strconv.Itoa(st.Version) + "." + ext}))
	return c.Send(body)
}

// safeFileName keeps letters, digits, '-', '_' and '.' of a name; a
// stored code already matches, but the header must not depend on it.
func safeFileName(s string) string {
	out := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, s)
	return strings.TrimLeft(out, ".")
}

// SchemeDiffPage shows what changed from the path's version to ?to=.
func (h *Handlers) SchemeDiffPage(c *fiber.Ctx, _ auth.Principal) error {
	to := web.Query(c, "to")
	if to == "" {
		return fault.Invalid(fault.Field("to", "required", "请选择要对比的版本", "choose a version to compare with"))
	}
	d, err := h.schemeViews.Diff(c.UserContext(), web.Param(c, "id"), to)
	if err != nil {
		return err
	}
	return h.pages.render(c, fiber.StatusOK, "scheme_diff", "schemes.diff.title", d)
}

// CycleSchemeForm assesses the cycle with the chosen version, as the API's
// cycles.set_scheme does: only while the cycle is draft or collecting; a
// refusal comes back to the cycle's home with its reason.
func (h *Handlers) CycleSchemeForm(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	id := web.FormValue(c, "scheme_id")
	err := error(nil)
	if id == "" {
		err = fault.Invalid(fault.Field("scheme_id", "required", "请选择评价方案版本", "choose a scheme version"))
	} else if _, serr := h.deps.Schemes.Get(ctx, id); errors.Is(serr, fault.ErrNotFound) {
		err = fault.Invalid(fault.Field("scheme_id", "unknown_scheme", "评价方案不存在", "no such scheme"))
	} else if serr != nil {
		return serr
	}
	if err == nil {
		_, err = h.deps.Cycles.SetScheme(ctx, web.Param(c, "id"), id)
	}
	if err != nil {
		fp, status, ok := formProblemOf(c, err)
		if !ok {
			return err
		}
		return h.renderCycle(c, p, status, cycleData{formProblem: fp})
	}
	web.SetAuditDetail(c, "scheme "+id)
	return c.Redirect("/cycles/"+url.PathEscape(web.Param(c, "id"))+"?notice=scheme", fiber.StatusSeeOther)
}
