package surveys

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
)

// CycleReader reads cycles, as cycles.Store does.
type CycleReader interface {
	Get(ctx context.Context, id string) (cycles.Cycle, error)
	List(ctx context.Context) ([]cycles.Cycle, error)
}

// OrganisationReader reads organisations, as auth.Store does.
type OrganisationReader interface {
	ListOrganisations(ctx context.Context) ([]auth.Organisation, error)
	Organisation(ctx context.Context, id string) (auth.Organisation, error)
}

// Views assembles the view models of the site's survey pages — the list
// of projects and a project's page — from the projects, their cycles and
// their organisations, so that the site's handlers only decode,
// authorise, call and render.
type Views struct {
	store  *Store
	cycles CycleReader
	orgs   OrganisationReader
}

// NewViews returns the survey pages' assembler over the stores.
func NewViews(st *Store, cs CycleReader, orgs OrganisationReader) *Views {
	return &Views{store: st, cycles: cs, orgs: orgs}
}

// ProjectList is the list of survey projects a caller may see, with, for
// an admin, what the commission form offers.
type ProjectList struct {
	Projects []ProjectRow
	// Admin shows the progress columns and the commission form.
	Admin bool
	Commission
}

// Commission is what the commission form offers: the cycles that can
// take a survey (a scheme assigned, not yet published), the contractor
// organisations, and the stored questionnaires (the latest default one
// when none is chosen).
type Commission struct {
	Cycles         []cycles.Cycle
	Organisations  []auth.Organisation
	Questionnaires []StoredQuestionnaire
}

// ProjectRow is one project of the list with the names of its cycle and
// organisation.
type ProjectRow struct {
	ProjectSummary
	Cycle        string
	Organisation string
	// Valid counts the valid batches; Pending those still queued or
	// being read; Refused those read as invalid or failed.
	Valid, Pending, Refused int
	// BatchCount counts every batch; Progress is filled for admins.
	BatchCount int
	Progress   Progress
}

// List lists the projects of a cycle ("" for every cycle) the caller may
// see: a contractor's own, or every project for an admin.
func (v *Views) List(ctx context.Context, by auth.Principal, cycleID string) (ProjectList, error) {
	list, err := v.store.Summaries(ctx, by, cycleID)
	if err != nil {
		return ProjectList{}, err
	}
	cs, err := v.cycles.List(ctx)
	if err != nil {
		return ProjectList{}, err
	}
	orgs, err := v.organisationNames(ctx, by)
	if err != nil {
		return ProjectList{}, err
	}
	d := ProjectList{Projects: make([]ProjectRow, len(list)), Admin: by.Is(auth.RoleAdmin)}
	progress := map[string]Progress{}
	if d.Admin {
		if d.Commission, err = v.commission(ctx, by, cs); err != nil {
			return ProjectList{}, err
		}
		ps := make([]Project, len(list))
		for i := range list {
			ps[i] = list[i].Project
		}
		if progress, err = v.store.Progresses(ctx, by, ps); err != nil {
			return ProjectList{}, err
		}
	}
	for i, ps := range list {
		row := ProjectRow{ProjectSummary: ps, Organisation: orgs[ps.OrganisationID], Valid: ps.Batches[BatchValid],
			Pending: ps.Batches[BatchQueued] + ps.Batches[BatchLoading],
			Refused: ps.Batches[BatchInvalid] + ps.Batches[BatchFailed], Progress: progress[ps.ID]}
		for _, n := range ps.Batches {
			row.BatchCount += n
		}
		for _, cy := range cs {
			if cy.ID == ps.CycleID {
				row.Cycle = cy.Name
			}
		}
		d.Projects[i] = row
	}
	return d, nil
}

// commission lists what the commission form offers an admin, from the
// cycles cs.
func (v *Views) commission(ctx context.Context, by auth.Principal, cs []cycles.Cycle) (Commission, error) {
	var d Commission
	for _, cy := range cs {
		if cy.SchemeID != nil && cy.Status != cycles.Published && cy.Status != cycles.Archived {
			d.Cycles = append(d.Cycles, cy)
		}
	}
	orgs, err := v.orgs.ListOrganisations(ctx)
	if err != nil {
		return d, err
	}
	for _, o := range orgs {
		if o.Kind == auth.OrgKindContractor {
			d.Organisations = append(d.Organisations, o)
		}
	}
	d.Questionnaires, err = v.store.ListQuestionnaires(ctx, by)
	return d, err
}

// organisationNames names the organisations the caller may see: every
// one for an admin, its own for a contractor.
func (v *Views) organisationNames(ctx context.Context, by auth.Principal) (map[string]string, error) {
	out := map[string]string{}
	if by.Is(auth.RoleAdmin) {
		all, err := v.orgs.ListOrganisations(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			out[o.ID] = o.Name
		}
		return out, nil
	}
	if by.OrganisationID != "" {
		o, err := v.orgs.Organisation(ctx, by.OrganisationID)
		if err != nil {
			return nil, err
		}
		out[o.ID] = o.Name
	}
	return out, nil
}

// ProjectPage is one survey project's page: its state, questionnaire,
// uploads with their validation, and the quality of its sample.
type ProjectPage struct {
	Project      ProjectView
	Cycle        cycles.Cycle
	Organisation string
	// Fieldwork is the first and last day of the fieldwork.
	Fieldwork    [2]string
	Items, Types []string
	Scale        []string
	Batches      []Batch
	// Replaceable are the valid batches an upload may replace.
	Replaceable []Batch
	// Current is the batch asked for, with its first problems.
	Current *BatchView
	Regions []RegionText
	// CanUpload and CanSubmit show the upload form and the submit button.
	CanUpload, CanSubmit bool
	// CanAccept (with Preview, what accepting writes), CanReturn and
	// CanLock show an admin's confirmations.
	CanAccept, CanReturn, CanLock bool
	Preview                       *PreviewText
}

// PreviewText is what accepting a project would write, written out.
type PreviewText struct {
	Rows    []PreviewRow
	Skipped []SkippedRegion
}

// PreviewRow is one value accepting writes: the region's index as the
// value of a survey-sourced indicator, written as it will be stored, and
// the value it replaces ("" for none).
type PreviewRow struct {
	RegionCode, RegionName, Indicator string
	Number, CI, Current               string
}

// SkippedRegion is a region that accepting leaves without a value, and
// why.
type SkippedRegion struct {
	Code, Name, Reason string
}

// RegionText is one region's quality summary and index, written out.
type RegionText struct {
	RegionIndex
	Index, CI, EffectiveN string
	Warnings              []string
}

// Project builds the page of a project for its contractor or an admin, in
// English when en is set; batchID ("" for none) names a batch of it to
// show with its problems.
func (v *Views) Project(ctx context.Context, by auth.Principal, id, batchID string, en bool) (ProjectPage, error) {
	pv, err := v.store.GetProject(ctx, by, id)
	if err != nil {
		return ProjectPage{}, err
	}
	d := ProjectPage{Project: pv}
	if d.Cycle, err = v.cycles.Get(ctx, pv.CycleID); err != nil {
		return ProjectPage{}, err
	}
	orgs, err := v.organisationNames(ctx, by)
	if err != nil {
		return ProjectPage{}, err
	}
	d.Organisation = orgs[pv.OrganisationID]
	d.Fieldwork = [2]string{Day(pv.FieldworkStart), Day(pv.FieldworkEnd)}
	q := pv.Questionnaire.Questionnaire
	for _, it := range q.Items {
		d.Items = append(d.Items, pick(en, it.Text, it.TextEn))
	}
	for _, t := range q.RespondentTypes {
		d.Types = append(d.Types, pick(en, t.Name, t.NameEn))
	}
	for _, l := range q.Labels {
		d.Scale = append(d.Scale, strconv.Itoa(l.Value)+" "+pick(en, l.Text, l.TextEn))
	}
	if d.Batches, err = v.store.ListBatches(ctx, by, id); err != nil {
		return ProjectPage{}, err
	}
	for _, b := range d.Batches {
		if b.Status == BatchValid {
			d.Replaceable = append(d.Replaceable, b)
		}
	}
	if batchID != "" {
		bv, err := v.store.GetBatch(ctx, by, batchID)
		if err != nil {
			return ProjectPage{}, err
		}
		if bv.ProjectID != id {
			return ProjectPage{}, fault.With(fault.ErrNotFound, "the batch is not one of this project's", "该批次不属于此调查项目", nil)
		}
		d.Current = &bv
	}
	idx, err := v.store.Quality(ctx, by, id)
	if err != nil {
		return ProjectPage{}, err
	}
	for _, ri := range idx {
		d.Regions = append(d.Regions, regionText(ri, en))
	}
	d.CanUpload = v.store.Editable(ctx, pv.Project)
	d.CanSubmit = d.CanUpload && by.Is(auth.RoleContractor) && pv.Submittable()
	if by.Is(auth.RoleAdmin) {
		d.CanReturn = pv.Status == ProjectSubmitted
		d.CanAccept = d.CanReturn
		d.CanLock = pv.Status == ProjectAccepted
	}
	if d.CanAccept {
		pre, err := v.store.AcceptPreview(ctx, by, id)
		if err != nil {
			return ProjectPage{}, err
		}
		d.Preview = previewText(pre, idx, en)
	}
	return d, nil
}

// previewText writes a preview out: numbers exactly as they will be
// stored, so that what the admin confirms is what is written.
func previewText(pre Preview, idx []RegionIndex, en bool) *PreviewText {
	exact := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	out := &PreviewText{}
	for _, w := range pre.Writes {
		row := PreviewRow{RegionCode: w.RegionCode, RegionName: pre.Names[w.RegionCode], Indicator: w.Indicator,
			Number: exact(w.Number), CI: exact(w.CILower) + " – " + exact(w.CIUpper)}
		if c := w.Current; c != nil {
			switch {
			case c.NotApplicable:
				row.Current = pick(en, "不适用", "not applicable")
			case c.Number != nil:
				row.Current = exact(*c.Number)
			}
		}
		out.Rows = append(out.Rows, row)
	}
	for _, ri := range idx {
		if _, ok := pre.Skipped[ri.RegionCode]; !ok {
			continue
		}
		reason := pick(en, "无有效答卷", "no valid response")
		if ri.Mean != nil {
			reason = pick(en, fmt.Sprintf("有效样本 %d 低于最低样本量 %d", ri.N, ri.MinSample),
				fmt.Sprintf("valid sample %d below the minimum %d", ri.N, ri.MinSample))
		}
		out.Skipped = append(out.Skipped, SkippedRegion{Code: ri.RegionCode, Name: ri.RegionName, Reason: reason})
	}
	return out
}

// regionText writes a region's index out for the page: one decimal, a
// dash where there is no number.
func regionText(ri RegionIndex, en bool) RegionText {
	num := func(x *float64) string {
		if x == nil {
			return "—"
		}
		return strconv.FormatFloat(*x, 'f', 1, 64)
	}
	r := RegionText{RegionIndex: ri, Index: num(ri.Mean), CI: "—", EffectiveN: "—"}
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

// pick is the English text when asked for and present, else the Chinese.
func pick(en bool, zh, eng string) string {
	if en && eng != "" {
		return eng
	}
	return zh
}
