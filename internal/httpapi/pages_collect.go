package httpapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/sheet"
	"github.com/ipeval/ipeval/internal/fault"
)

// collectData is the data-collection page of one cycle: for a region its
// completeness, values, evidence and the forms to import and attach; for
// an admin who names no region, every region's completeness.
type collectData struct {
	Cycle        cycles.Cycle
	Region       string
	Completeness []indicators.Completeness
	Values       []collectRow
	Evidence     []indicators.Evidence
	Indicators   []scheme.Indicator // those a file may be attached to
	// Editable is set when the values table is a form: the cycle is
	// collecting and the caller may write the region.
	Editable bool
	// Outcome of the form just posted.
	Notice string
	formProblem
}

// collectRow is one indicator of the region with its stored value.
type collectRow struct {
	Indicator scheme.Indicator
	Value     *indicators.Value
	// Shown is the number with its unit.
	Shown string
	// Input is the stored number as the form's input shows it.
	Input string
	// Editable is the page's Editable, unless surveys provide the value.
	Editable bool
	History  []revisionRow
}

// revisionRow is one revision with the value before and after as shown.
type revisionRow struct {
	indicators.Revision
	Old, New string
}

// revisionRows shows revisions' values: the number, or 不适用 in the
// page's language, or empty for none.
func revisionRows(c *fiber.Ctx, revs []indicators.Revision) []revisionRow {
	shown := func(n *float64, na bool) string {
		switch {
		case na:
			return tr(c, "collect.na")
		case n != nil:
			return strconv.FormatFloat(*n, 'f', -1, 64)
		}
		return "—"
	}
	out := make([]revisionRow, len(revs))
	for i, r := range revs {
		out[i] = revisionRow{Revision: r, Old: shown(r.OldNumber, r.OldNA), New: shown(r.NewNumber, r.NewNA)}
	}
	return out
}

// Step is the step of the indicator's number input.
func (r collectRow) Step() string {
	if r.Indicator.Integer {
		return "1"
	}
	return "any"
}

// Binary reports whether the indicator is a yes/no one, entered by a select.
func (r collectRow) Binary() bool { return r.Indicator.Normalisation.Method == scheme.MethodBinary }

// bound formats an optional range bound for a min or max attribute.
func bound(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'f', -1, 64)
}

// Min and Max are the indicator's range for the number input, "" if open.
func (r collectRow) Min() string { return bound(r.Indicator.Min) }

// Max is the upper bound; see Min.
func (r collectRow) Max() string { return bound(r.Indicator.Max) }

// collectPage shows the page; the forms post to the routes below and come
// back to it with their outcome.
func (s *Server) collectPage(c *fiber.Ctx, p auth.Principal) error {
	return s.renderCollect(c, p, fiber.StatusOK, collectData{})
}

// collectImport takes a filled-in template from the page's form.
func (s *Server) collectImport(c *fiber.Ctx, p auth.Principal) error {
	submit, err := formBool(c, "submit")
	if err != nil {
		return s.collectFailed(c, p, err)
	}
	res, err := s.importUpload(c, p, submit)
	if err != nil {
		return s.collectFailed(c, p, err)
	}
	msg := fmt.Sprintf(tr(c, "collect.imported"), res.Entries, res.Changed, res.Submitted)
	return s.renderCollect(c, p, fiber.StatusOK, collectData{Notice: msg})
}

// collectEvidence attaches an evidence file from the page's form.
func (s *Server) collectEvidence(c *fiber.Ctx, p auth.Principal) error {
	ev, _, err := s.attachUpload(c, p)
	if err != nil {
		return s.collectFailed(c, p, err)
	}
	return s.renderCollect(c, p, fiber.StatusCreated, collectData{Notice: tr(c, "collect.attached") + ev.FileName})
}

// collectValues stores the values table's form. Only the indicators whose
// fields differ from the stored value are sent, each with the version the
// page showed, so that a change made meanwhile by someone else is a
// conflict rather than silently overwritten. With nothing changed, the
// submit box submits the region's drafts.
func (s *Server) collectValues(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	cycleID, region := param(c, "id"), strings.ToUpper(strings.TrimSpace(formValue(c, "region_code")))
	submit, err := formBool(c, "submit")
	if err == nil && region == "" {
		err = fault.Invalid(fault.Field("region_code", "required", "请指定地区", "name the region"))
	}
	if err != nil {
		return s.collectFailed(c, p, err)
	}
	// List authorises the region before anything is read from the form.
	stored, err := s.deps.Values.List(ctx, p, cycleID, region)
	if err != nil {
		return err
	}
	cy, err := s.deps.Cycles.Get(ctx, cycleID)
	if err != nil {
		return err
	}
	sc, err := s.cycleScheme(c, cy)
	if err != nil {
		return s.collectFailed(c, p, err)
	}
	items, err := formItems(c, sc, region, stored)
	if err != nil {
		return s.collectFailed(c, p, err)
	}
	if len(items) == 0 {
		if !submit {
			return s.renderCollect(c, p, fiber.StatusOK, collectData{Notice: tr(c, "collect.unchanged")})
		}
		vs, err := s.deps.Values.Submit(ctx, p, cycleID, region, nil)
		if err != nil {
			return s.collectFailed(c, p, err)
		}
		setAuditDetail(c, fmt.Sprintf("region %s: %d submitted", region, len(vs)))
		return s.renderCollect(c, p, fiber.StatusOK, collectData{Notice: fmt.Sprintf(tr(c, "collect.saved"), 0, len(vs))})
	}
	_, submitted, err := s.deps.Values.SetForm(ctx, p, cycleID, items, submit)
	if fp, ok := staleProblem(c, err); ok {
		return s.renderCollect(c, p, fiber.StatusConflict, collectData{formProblem: fp})
	}
	if err != nil {
		return s.collectFailed(c, p, err)
	}
	setAuditDetail(c, fmt.Sprintf("region %s: %d changed, %d submitted", region, len(items), submitted))
	return s.renderCollect(c, p, fiber.StatusOK, collectData{Notice: fmt.Sprintf(tr(c, "collect.saved"), len(items), submitted)})
}

// formItems decodes the values form: for each indicator entered by hand
// whose version field the form carries, the value typed (read as the
// template's cells are) and the note, kept when it differs from stored.
func formItems(c *fiber.Ctx, sc scheme.Scheme, region string, stored []indicators.Value) ([]indicators.ValueInput, error) {
	var items []indicators.ValueInput
	var errs []fault.FieldError
	for _, ind := range sc.Indicators {
		ver := formValue(c, "ver."+ind.Code)
		if ind.SurveySourced() || ver == "" {
			continue
		}
		version, err := strconv.Atoi(ver)
		if err != nil || version < 0 {
			errs = append(errs, fault.FieldError{Field: "version", Indicator: ind.Code, Code: "invalid_version",
				Message: "版本号无效：" + ver, MessageEn: "invalid version: " + ver})
			continue
		}
		na, err := formBool(c, "na."+ind.Code)
		if err != nil {
			return nil, err
		}
		// Browsers send a textarea's line ends as CRLF; stored notes have LF.
		note := strings.ReplaceAll(formValue(c, "note."+ind.Code), "\r\n", "\n")
		e := sheet.Entry{IndicatorCode: ind.Code, Value: formValue(c, "v."+ind.Code), NotApplicable: na, Note: note}
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
func (s *Server) collectFailed(c *fiber.Ctx, p auth.Principal, err error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return s.renderCollect(c, p, status, collectData{formProblem: fp})
}

// cycleScheme reads the scheme of cy; a cycle without one is a conflict.
func (s *Server) cycleScheme(c *fiber.Ctx, cy cycles.Cycle) (scheme.Scheme, error) {
	if cy.SchemeID == nil {
		return scheme.Scheme{}, fault.With(fault.ErrConflict, "the cycle has no scheme", "考核周期尚未指定评价方案", nil)
	}
	st, err := s.deps.Schemes.Get(c.UserContext(), *cy.SchemeID)
	if err != nil {
		return scheme.Scheme{}, err
	}
	return s.deps.Schemes.Decode(st)
}

func (s *Server) renderCollect(c *fiber.Ctx, p auth.Principal, status int, d collectData) error {
	ctx := c.UserContext()
	cy, err := s.deps.Cycles.Get(ctx, param(c, "id"))
	if err != nil {
		return err
	}
	d.Cycle = cy
	d.Region = strings.ToUpper(strings.TrimSpace(query(c, "region")))
	if d.Region == "" {
		d.Region = strings.ToUpper(strings.TrimSpace(formValue(c, "region_code")))
	}
	if p.Is(auth.RoleCity) {
		d.Region = p.RegionCode
	}
	if cy.SchemeID == nil {
		return s.render(c, status, "collect", "collect.title", d)
	}
	all, err := s.deps.Values.Completeness(ctx, p, cy.ID)
	if err != nil {
		return err
	}
	for _, row := range all {
		if d.Region == "" || row.RegionCode == d.Region {
			d.Completeness = append(d.Completeness, row)
		}
	}
	if d.Region == "" {
		return s.render(c, status, "collect", "collect.title", d)
	}
	sc, err := s.cycleScheme(c, cy)
	if err != nil {
		return err
	}
	vals, err := s.deps.Values.List(ctx, p, cy.ID, d.Region)
	if err != nil {
		return err
	}
	if d.Evidence, err = s.deps.Evidence.List(ctx, p, cy.ID, d.Region); err != nil {
		return err
	}
	hist, err := s.deps.Values.Histories(ctx, p, cy.ID, d.Region)
	if err != nil {
		return err
	}
	d.Editable = cy.Status == cycles.Collecting && p.CanAccessRegion(d.Region)
	for _, ind := range sc.Indicators {
		row := collectRow{Indicator: ind, Editable: d.Editable && !ind.SurveySourced()}
		for i := range vals {
			if vals[i].IndicatorCode == ind.Code {
				row.Value = &vals[i]
				row.History = revisionRows(c, hist[vals[i].ID])
				if n := vals[i].Number; n != nil {
					row.Input = strconv.FormatFloat(*n, 'f', -1, 64)
					row.Shown = row.Input + " " + ind.Unit
				}
			}
		}
		d.Values = append(d.Values, row)
		if !ind.SurveySourced() {
			d.Indicators = append(d.Indicators, ind)
		}
	}
	return s.render(c, status, "collect", "collect.title", d)
}
