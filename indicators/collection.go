package indicators

import (
	"context"
	"strconv"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
)

// CycleGetter reads a cycle, as cycles.Store does.
type CycleGetter interface {
	Get(ctx context.Context, id string) (cycles.Cycle, error)
}

// Collection assembles the data-collection page of a cycle from the
// cycle, its scheme, the values, their histories and the evidence, so
// that the site's handlers only decode, authorise, call and render.
type Collection struct {
	cycles   CycleGetter
	schemes  *SchemeStore
	values   *ValueStore
	evidence *EvidenceStore
}

// NewCollection returns the collection page's assembler over the stores.
func NewCollection(cs CycleGetter, schemes *SchemeStore, values *ValueStore, evidence *EvidenceStore) *Collection {
	return &Collection{cycles: cs, schemes: schemes, values: values, evidence: evidence}
}

// CollectionPage is the data-collection page of one cycle: for a region
// its completeness, values, evidence and the indicators a file may be
// attached to; for an admin who names no region, every region's
// completeness.
type CollectionPage struct {
	Cycle        cycles.Cycle
	Region       string
	Completeness []Completeness
	Values       []CollectionRow
	Evidence     []Evidence
	Indicators   []scheme.Indicator // those a file may be attached to
	// Editable is set when the values table is a form: the cycle is
	// collecting and the caller may write the region.
	Editable bool
}

// CollectionRow is one indicator of the region with its stored value.
type CollectionRow struct {
	Indicator scheme.Indicator
	Value     *Value
	// Shown is the number with its unit.
	Shown string
	// Input is the stored number as the form's input shows it.
	Input string
	// Editable is the page's Editable, unless surveys provide the value.
	Editable bool
	History  []RevisionText
}

// RevisionText is one revision with the numbers before and after as
// shown: the number, or "—" for none; a value stated not to apply
// (OldNA, NewNA) the page says in words.
type RevisionText struct {
	Revision
	Old, New string
}

// Step is the step of the indicator's number input.
func (r CollectionRow) Step() string {
	if r.Indicator.Integer {
		return "1"
	}
	return "any"
}

// Binary reports whether the indicator is a yes/no one, entered by a select.
func (r CollectionRow) Binary() bool { return r.Indicator.Normalisation.Method == scheme.MethodBinary }

// Min is the indicator's lower bound for the number input, "" if open.
func (r CollectionRow) Min() string { return bound(r.Indicator.Min) }

// Max is the upper bound; see Min.
func (r CollectionRow) Max() string { return bound(r.Indicator.Max) }

// bound formats an optional range bound for a min or max attribute.
func bound(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'f', -1, 64)
}

// Page builds the collection page of the cycle for region ("" for every
// region's completeness, which only admins read). A cycle without a
// scheme shows only itself.
func (c *Collection) Page(ctx context.Context, by auth.Principal, cycleID, region string) (CollectionPage, error) {
	cy, err := c.cycles.Get(ctx, cycleID)
	if err != nil {
		return CollectionPage{}, err
	}
	d := CollectionPage{Cycle: cy, Region: region}
	if cy.SchemeID == nil {
		return d, nil
	}
	all, err := c.values.Completeness(ctx, by, cy.ID)
	if err != nil {
		return CollectionPage{}, err
	}
	for _, row := range all {
		if region == "" || row.RegionCode == region {
			d.Completeness = append(d.Completeness, row)
		}
	}
	if region == "" {
		return d, nil
	}
	sc, err := c.cycleScheme(ctx, cy)
	if err != nil {
		return CollectionPage{}, err
	}
	vals, err := c.values.List(ctx, by, cy.ID, region)
	if err != nil {
		return CollectionPage{}, err
	}
	if d.Evidence, err = c.evidence.List(ctx, by, cy.ID, region); err != nil {
		return CollectionPage{}, err
	}
	hist, err := c.values.Histories(ctx, by, cy.ID, region)
	if err != nil {
		return CollectionPage{}, err
	}
	d.Editable = cy.Status == cycles.Collecting && by.CanAccessRegion(region)
	for _, ind := range sc.Indicators {
		row := CollectionRow{Indicator: ind, Editable: d.Editable && !ind.SurveySourced()}
		for i := range vals {
			if vals[i].IndicatorCode == ind.Code {
				row.Value = &vals[i]
				row.History = revisionTexts(hist[vals[i].ID])
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
	return d, nil
}

// Scheme reads the scheme of a cycle, which a posted values form is read
// against; a cycle without one is a conflict.
func (c *Collection) Scheme(ctx context.Context, cycleID string) (scheme.Scheme, error) {
	cy, err := c.cycles.Get(ctx, cycleID)
	if err != nil {
		return scheme.Scheme{}, err
	}
	return c.cycleScheme(ctx, cy)
}

// cycleScheme reads the scheme of cy; a cycle without one is a conflict.
func (c *Collection) cycleScheme(ctx context.Context, cy cycles.Cycle) (scheme.Scheme, error) {
	if cy.SchemeID == nil {
		return scheme.Scheme{}, fault.With(fault.ErrConflict, "the cycle has no scheme", "考核周期尚未指定评价方案", nil)
	}
	st, err := c.schemes.Get(ctx, *cy.SchemeID)
	if err != nil {
		return scheme.Scheme{}, err
	}
	return c.schemes.Decode(st)
}

// revisionTexts shows revisions' numbers.
func revisionTexts(revs []Revision) []RevisionText {
	shown := func(n *float64) string {
		if n != nil {
			return strconv.FormatFloat(*n, 'f', -1, 64)
		}
		return "—"
	}
	out := make([]RevisionText, len(revs))
	for i, r := range revs {
		out[i] = RevisionText{Revision: r, Old: shown(r.OldNumber), New: shown(r.NewNumber)}
	}
	return out
}
