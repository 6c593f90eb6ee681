package site

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/sheet"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
)

// collectData is the data-collection page of one cycle
// (indicators.CollectionPage) with the outcome of the form just posted.
type collectData struct {
	indicators.CollectionPage
	// Outcome of the form just posted.
	Notice string
	formProblem
}

// CollectPage shows the page; the forms post to the routes below and come
// back to it with their outcome.
func (h *Handlers) CollectPage(c *fiber.Ctx, p auth.Principal) error {
	return h.renderCollect(c, p, fiber.StatusOK, collectData{})
}

// CollectImport takes a filled-in template from the page's form.
func (h *Handlers) CollectImport(c *fiber.Ctx, p auth.Principal) error {
	submit, err := web.FormBool(c, "submit")
	if err != nil {
		return h.collectFailed(c, p, err)
	}
	res, err := h.edge.ImportUpload(c, p, submit)
	if err != nil {
		return h.collectFailed(c, p, err)
	}
	msg := fmt.Sprintf(tr(c, "collect.imported"), res.Entries, res.Changed, res.Submitted)
	return h.renderCollect(c, p, fiber.StatusOK, collectData{Notice: msg})
}

// CollectEvidence attaches an evidence file from the page's form.
func (h *Handlers) CollectEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, _, err := h.edge.AttachUpload(c, p)
	if err != nil {
		return h.collectFailed(c, p, err)
	}
	return h.renderCollect(c, p, fiber.StatusCreated, collectData{Notice: tr(c, "collect.attached") + ev.FileName})
}

// CollectValues stores the values table's form. Only the indicators whose
// fields differ from the stored value are sent, each with the version the
// page showed, so that a change made meanwhile by someone else is a
// conflict rather than silently overwritten. With nothing changed, the
// submit box submits the region's drafts.
func (h *Handlers) CollectValues(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	cycleID, region := web.Param(c, "id"), strings.ToUpper(strings.TrimSpace(web.FormValue(c, "region_code")))
	submit, err := web.FormBool(c, "submit")
	if err == nil && region == "" {
		err = fault.Invalid(fault.Field("region_code", "required", "请指定地区", "name the region"))
	}
	if err != nil {
		return h.collectFailed(c, p, err)
	}
	// List authorises the region before anything is read from the form.
	stored, err := h.deps.Values.List(ctx, p, cycleID, region)
	if err != nil {
		return err
	}
	sc, err := h.collection.Scheme(ctx, cycleID)
	if err != nil {
		return h.collectFailed(c, p, err)
	}
	items, err := formItems(c, sc, region, stored)
	if err != nil {
		return h.collectFailed(c, p, err)
	}
	if len(items) == 0 {
		if !submit {
			return h.renderCollect(c, p, fiber.StatusOK, collectData{Notice: tr(c, "collect.unchanged")})
		}
		vs, err := h.deps.Values.Submit(ctx, p, cycleID, region, nil)
		if err != nil {
			return h.collectFailed(c, p, err)
		}
		web.SetAuditDetail(c, fmt.Sprintf("region %s: %d submitted", region, len(vs)))
		return h.renderCollect(c, p, fiber.StatusOK, collectData{Notice: fmt.Sprintf(tr(c, "collect.saved"), 0, len(vs))})
	}
	_, submitted, err := h.deps.Values.SetForm(ctx, p, cycleID, items, submit)
	if fp, ok := staleProblem(c, err); ok {
		return h.renderCollect(c, p, fiber.StatusConflict, collectData{formProblem: fp})
	}
	if err != nil {
		return h.collectFailed(c, p, err)
	}
	web.SetAuditDetail(c, fmt.Sprintf("region %s: %d changed, %d submitted", region, len(items), submitted))
	return h.renderCollect(c, p, fiber.StatusOK, collectData{Notice: fmt.Sprintf(tr(c, "collect.saved"), len(items), submitted)})
}

// formItems decodes the values form: for each indicator entered by hand
// whose version field the form carries, the value typed (read as the
// template's cells are) and the note, kept when it differs from stored.
func formItems(c *fiber.Ctx, sc scheme.Scheme, region string, stored []indicators.Value) ([]indicators.ValueInput, error) {
	var items []indicators.ValueInput
	var errs []fault.FieldError
	for _, ind := range sc.Indicators {
		ver := web.FormValue(c, "ver."+ind.Code)
		if ind.SurveySourced() || ver == "" {
			continue
		}
		version, err := strconv.Atoi(ver)
		if err != nil || version < 0 {
			errs = append(errs, fault.FieldError{Field: "version", Indicator: ind.Code, Code: "invalid_version",
				Message: "版本号无效：" + ver, MessageEn: "invalid version: " + ver})
			continue
		}
		na, err := web.FormBool(c, "na."+ind.Code)
		if err != nil {
			return nil, err
		}
		// Browsers send a textarea's line ends as CRLF; stored notes have LF.
		note := strings.ReplaceAll(web.FormValue(c, "note."+ind.Code), "\r\n", "\n")
		e := sheet.Entry{IndicatorCode: ind.Code, Value: web.FormValue(c, "v."+ind.Code), NotApplicable: na, Note: note}
		number, na, filled, fe := sheet.Interpret(e, ind)
		if fe == nil && number != nil {
			// Checked here too, so that a field that is not a number does
			// not hide another's range; the store checks everything else.
			if fe = ind.CheckValue(*number); fe != nil {
				fe.Indicator = ind.Code
			}
		}
		if fe != nil {
			fe.Field = "number"
			errs = append(errs, *fe)
			continue
		}
		in := indicators.ValueInput{RegionCode: region, IndicatorCode: ind.Code, Number: number, NotApplicable: na,
			Note: strings.TrimSpace(e.Note), Version: version}
		var cur *indicators.Value
		for i := range stored {
			if stored[i].IndicatorCode == ind.Code {
				cur = &stored[i]
			}
		}
		switch {
		case cur == nil && !filled && in.Note == "":
			continue // still missing
		case cur != nil && sameValue(*cur, in):
			continue
		}
		items = append(items, in)
	}
	if err := fault.Invalid(errs...); err != nil {
		return nil, err
	}
	return items, nil
}

// sameValue reports whether in would leave v as it is.
func sameValue(v indicators.Value, in indicators.ValueInput) bool {
	sameNumber := (v.Number == nil) == (in.Number == nil) && (v.Number == nil || *v.Number == *in.Number)
	return sameNumber && v.NotApplicable == in.NotApplicable && v.Note == in.Note
}

// staleProblem is the page's problem for the conflict of a stale
// version: what to do, and the indicators concerned with their current
// version; ok is false for other errors.
func staleProblem(c *fiber.Ctx, err error) (fp formProblem, ok bool) {
	var d *fault.Detailed
	if !errors.Is(err, fault.ErrConflict) || !errors.As(err, &d) {
		return fp, false
	}
	list, ok := d.Ext["conflicts"].([]map[string]any)
	if !ok {
		return fp, false
	}
	fp.Problem = tr(c, "collect.stale")
	for _, item := range list {
		code, _ := item["indicator_code"].(string)
		n, _ := item["current_version"].(int)
		fp.Problems = append(fp.Problems, fault.FieldError{Indicator: code, Field: "version", Code: "stale_version",
			Message:   fmt.Sprintf("已被他人修改，当前为第 %d 版", n),
			MessageEn: fmt.Sprintf("changed by someone else meanwhile; it is now version %d", n)})
	}
	return fp, true
}

// collectFailed shows a refused form on the page itself, with every
// problem listed, when it is the user's to fix; other errors go to the
// error page.
func (h *Handlers) collectFailed(c *fiber.Ctx, p auth.Principal, err error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return h.renderCollect(c, p, status, collectData{formProblem: fp})
}

// renderCollect shows the collection page of the path's cycle for the
// region asked for (?region=, else the form's region_code; a city
// official's own region always), with d's outcome of a form.
func (h *Handlers) renderCollect(c *fiber.Ctx, p auth.Principal, status int, d collectData) error {
	region := strings.ToUpper(strings.TrimSpace(web.Query(c, "region")))
	if region == "" {
		region = strings.ToUpper(strings.TrimSpace(web.FormValue(c, "region_code")))
	}
	if p.Is(auth.RoleCity) {
		region = p.RegionCode
	}
	page, err := h.collection.Page(c.UserContext(), p, web.Param(c, "id"), region)
	if err != nil {
		return err
	}
	d.CollectionPage = page
	return h.pages.render(c, status, "collect", "collect.title", d)
}
