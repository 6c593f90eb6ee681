package httpapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/cycles"
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
}

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
	st, err := s.deps.Schemes.Get(ctx, *cy.SchemeID)
	if err != nil {
		return err
	}
	sc, err := s.deps.Schemes.Decode(st)
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
	for _, ind := range sc.Indicators {
		row := collectRow{Indicator: ind}
		for i := range vals {
			if vals[i].IndicatorCode == ind.Code {
				row.Value = &vals[i]
				if n := vals[i].Number; n != nil {
					row.Shown = strconv.FormatFloat(*n, 'f', -1, 64) + " " + ind.Unit
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
