package httpapi

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys"
)

// surveyListData is the list of survey projects a caller may see.
type surveyListData struct {
	Projects []surveyListRow
}

// surveyListRow is one project of the list with the names of its cycle
// and organisation.
type surveyListRow struct {
	surveys.ProjectSummary
	Cycle        string
	Organisation string
	// Valid counts the valid batches; Pending those still queued or
	// being read; Refused those read as invalid or failed.
	Valid, Pending, Refused int
}

// surveysPage lists a contractor's projects, or every project for an
// admin.
func (s *Server) surveysPage(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	list, err := s.deps.Surveys.Summaries(ctx, p, query(c, "cycle"))
	if err != nil {
		return err
	}
	cs, err := s.deps.Cycles.List(ctx)
	if err != nil {
		return err
	}
	orgs, err := s.organisationNames(c, p)
	if err != nil {
		return err
	}
	d := surveyListData{Projects: make([]surveyListRow, len(list))}
	for i, ps := range list {
		row := surveyListRow{ProjectSummary: ps, Organisation: orgs[ps.OrganisationID], Valid: ps.Batches[surveys.BatchValid],
			Pending: ps.Batches[surveys.BatchQueued] + ps.Batches[surveys.BatchLoading],
			Refused: ps.Batches[surveys.BatchInvalid] + ps.Batches[surveys.BatchFailed]}
		for _, cy := range cs {
			if cy.ID == ps.CycleID {
				row.Cycle = cy.Name
			}
		}
		d.Projects[i] = row
	}
	return s.render(c, fiber.StatusOK, "surveys", "surveys.title", d)
}

// organisationNames names the organisations the caller may see: every
// one for an admin, its own for a contractor.
func (s *Server) organisationNames(c *fiber.Ctx, p auth.Principal) (map[string]string, error) {
	ctx := c.UserContext()
	out := map[string]string{}
	if p.Is(auth.RoleAdmin) {
		all, err := s.deps.Auth.ListOrganisations(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			out[o.ID] = o.Name
		}
		return out, nil
	}
	if p.OrganisationID != "" {
		o, err := s.deps.Auth.Organisation(ctx, p.OrganisationID)
		if err != nil {
			return nil, err
		}
		out[o.ID] = o.Name
	}
	return out, nil
}

// surveyData is one survey project's page: its state, questionnaire,
// uploads with their validation, and the quality of its sample.
type surveyData struct {
	Project      surveys.ProjectView
	Cycle        cycles.Cycle
	Organisation string
	// Fieldwork is the first and last day of the fieldwork.
	Fieldwork    [2]string
	Items, Types []string
	Scale        []string
	Batches      []surveys.Batch
	// Replaceable are the valid batches an upload may replace.
	Replaceable []surveys.Batch
	// Current is the batch named by ?batch=, with its first problems.
	Current *surveys.BatchView
	Regions []surveyRegion
	// CanUpload and CanSubmit show the upload form and the submit button.
	CanUpload, CanSubmit bool
	// Notice is the message key of what the form just posted did.
	Notice string
	formProblem
}

// surveyRegion is one region's quality summary and index, written out.
type surveyRegion struct {
	surveys.RegionIndex
	Index, CI, EffectiveN string
	Warnings              []string
}

// surveyNotices are the outcomes a form reports back with ?notice=; any
// other value shows nothing.
var surveyNotices = map[string]bool{"uploaded": true, "duplicate": true, "submitted": true}

// surveyPage shows a project to its contractor and to admins (?batch=ID
// names a batch of it to show with its problems).
func (s *Server) surveyPage(c *fiber.Ctx, p auth.Principal) error {
	d := surveyData{}
	if n := query(c, "notice"); surveyNotices[n] {
		d.Notice = "survey.notice." + n
	}
	return s.renderSurvey(c, p, fiber.StatusOK, d)
}

// surveyUploadForm stores a file from the page's form, as the API does,
// and goes back to the project page, which follows the batch's reading.
func (s *Server) surveyUploadForm(c *fiber.Ctx, p auth.Principal) error {
	b, created, err := s.surveyUpload(c, p)
	if err != nil {
		return s.surveyFailed(c, p, err)
	}
	notice := "uploaded"
	if !created {
		notice = "duplicate"
	}
	return s.backToSurvey(c, url.Values{"batch": {b.ID}, "notice": {notice}})
}

// surveySubmitForm submits the project for acceptance from the page.
func (s *Server) surveySubmitForm(c *fiber.Ctx, p auth.Principal) error {
	if _, _, err := s.deps.Surveys.Move(c.UserContext(), p, param(c, "id"), surveys.Submit, ""); err != nil {
		return s.surveyFailed(c, p, err)
	}
	return s.backToSurvey(c, url.Values{"notice": {"submitted"}})
}

// backToSurvey answers a form post with a redirect to the project page, so
// that reloading the page does not post the form again.
func (s *Server) backToSurvey(c *fiber.Ctx, q url.Values) error {
	return c.Redirect("/surveys/"+url.PathEscape(param(c, "id"))+"?"+q.Encode(), fiber.StatusSeeOther)
}

// surveyFailed shows a refused form on the project page, when it is the
// user's to fix; other errors go to the error page.
func (s *Server) surveyFailed(c *fiber.Ctx, p auth.Principal, err error) error {
	fp, status, ok := formProblemOf(c, err)
	if !ok {
		return err
	}
	return s.renderSurvey(c, p, status, surveyData{formProblem: fp})
}

func (s *Server) renderSurvey(c *fiber.Ctx, p auth.Principal, status int, d surveyData) error {
	ctx := c.UserContext()
	id := param(c, "id")
	v, err := s.deps.Surveys.GetProject(ctx, p, id)
	if err != nil {
		return err
	}
	d.Project = v
	if d.Cycle, err = s.deps.Cycles.Get(ctx, v.CycleID); err != nil {
		return err
	}
	orgs, err := s.organisationNames(c, p)
	if err != nil {
		return err
	}
	d.Organisation = orgs[v.OrganisationID]
	d.Fieldwork = [2]string{surveys.Day(v.FieldworkStart), surveys.Day(v.FieldworkEnd)}
	en := lang(c) == "en"
	q := v.Questionnaire.Questionnaire
	for _, it := range q.Items {
		d.Items = append(d.Items, pick(en, it.Text, it.TextEn))
	}
	for _, t := range q.RespondentTypes {
		d.Types = append(d.Types, pick(en, t.Name, t.NameEn))
	}
	for _, l := range q.Labels {
		d.Scale = append(d.Scale, strconv.Itoa(l.Value)+" "+pick(en, l.Text, l.TextEn))
	}
	if d.Batches, err = s.deps.Surveys.ListBatches(ctx, p, id); err != nil {
		return err
	}
	for _, b := range d.Batches {
		if b.Status == surveys.BatchValid {
			d.Replaceable = append(d.Replaceable, b)
		}
	}
	if bid := query(c, "batch"); bid != "" {
		bv, err := s.deps.Surveys.GetBatch(ctx, p, bid)
		if err != nil {
			return err
		}
		if bv.ProjectID != id {
			return fault.With(fault.ErrNotFound, "the batch is not one of this project's", "该批次不属于此调查项目", nil)
		}
		d.Current = &bv
	}
	idx, err := s.deps.Surveys.Quality(ctx, p, id)
	if err != nil {
		return err
	}
	for _, ri := range idx {
		d.Regions = append(d.Regions, surveyRegionOf(ri, en))
	}
	d.CanUpload = s.deps.Surveys.Editable(ctx, v.Project)
	d.CanSubmit = d.CanUpload && p.Is(auth.RoleContractor) && v.Submittable()
	return s.render(c, status, "survey", "survey.title", d)
}

// surveyRegionOf writes a region's index out for the page: one decimal,
// a dash where there is no number.
func surveyRegionOf(ri surveys.RegionIndex, en bool) surveyRegion {
	num := func(x *float64) string {
		if x == nil {
			return "—"
		}
		return strconv.FormatFloat(*x, 'f', 1, 64)
	}
	r := surveyRegion{RegionIndex: ri, Index: num(ri.Mean), CI: "—", EffectiveN: "—"}
	if ri.CILow != nil && ri.CIHigh != nil {
		r.CI = num(ri.CILow) + " – " + num(ri.CIHigh)
	}
	if ri.N > 0 {
		r.EffectiveN = strconv.FormatFloat(ri.EffectiveN, 'f', 1, 64)
	}
	for _, w := range ri.Warnings {
		r.Warnings = append(r.Warnings, pick(en, w.Message, w.MessageEn))
	}
	return r
}
