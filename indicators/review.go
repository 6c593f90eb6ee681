package indicators

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/reviewhint"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
)

// CycleLister reads a cycle and lists them all, as cycles.Store does.
type CycleLister interface {
	CycleGetter
	List(ctx context.Context) ([]cycles.Cycle, error)
}

// ReviewQueue assembles the provincial reviewer's queue of a cycle's
// values, with what helps to judge each, and verifies a region's values
// at once, so that the site's handlers only decode, call and render.
type ReviewQueue struct {
	cycles     CycleLister
	collection *Collection
}

// NewReviewQueue returns the review queue's assembler over the stores.
func NewReviewQueue(cs CycleLister, schemes *SchemeStore, values *ValueStore, evidence *EvidenceStore) *ReviewQueue {
	return &ReviewQueue{cycles: cs, collection: NewCollection(cs, schemes, values, evidence)}
}

// ReviewFilter selects the queue's rows; empty fields select all.
// Status "" is every status; the page defaults it to submitted.
type ReviewFilter struct {
	Region, Dimension, Indicator string
	Status                       Status
}

// ReviewRegion is a region the queue may be filtered by.
type ReviewRegion struct {
	Code, Name string
	Kind       kind.Kind
}

// ReviewPage is the review queue of one cycle.
type ReviewPage struct {
	Cycle cycles.Cycle
	// Previous is the cycle of the year before (the latest earlier year),
	// whose values the rows compare with; nil if none.
	Previous   *cycles.Cycle
	Filter     ReviewFilter
	Regions    []ReviewRegion
	Dimensions []scheme.Dimension
	Indicators []scheme.Indicator
	Rows       []ReviewRow
	// Reviewable is set while the cycle is collecting, when values may
	// be verified or returned.
	Reviewable bool
}

// ReviewRow is one value in the queue.
type ReviewRow struct {
	Value     Value
	Region    ReviewRegion
	Indicator scheme.Indicator
	// Shown is the number with its unit ("" when not applicable);
	// Previous last cycle's and Median the province median of the
	// indicator in this cycle, "—" when there is none.
	Shown, Previous, Median string
	Evidence                []Evidence
	History                 []RevisionText
	Hints                   []reviewhint.Hint
}

// Page builds the queue of the cycle for f. The province median is over
// every region's number of the indicator in this cycle, whatever its
// status; peers are the other regions of the same kind.
func (q *ReviewQueue) Page(ctx context.Context, by auth.Principal, cycleID string, f ReviewFilter) (ReviewPage, error) {
	if !by.Is(auth.RoleAdmin) {
		return ReviewPage{}, forbidden()
	}
	cy, err := q.cycles.Get(ctx, cycleID)
	if err != nil {
		return ReviewPage{}, err
	}
	d := ReviewPage{Cycle: cy, Filter: f, Reviewable: cy.Status == cycles.Collecting}
	if cy.SchemeID == nil {
		return d, nil
	}
	sc, err := q.collection.cycleScheme(ctx, cy)
	if err != nil {
		return ReviewPage{}, err
	}
	d.Dimensions, d.Indicators = sc.Dimensions, sc.Indicators
	values, evidence := q.collection.values, q.collection.evidence
	comp, err := values.Completeness(ctx, by, cy.ID)
	if err != nil {
		return ReviewPage{}, err
	}
	byCode := map[string]ReviewRegion{}
	for _, c := range comp {
		if _, ok := byCode[c.RegionCode]; !ok {
			r := ReviewRegion{Code: c.RegionCode, Name: c.RegionName, Kind: c.RegionKind}
			byCode[r.Code] = r
			d.Regions = append(d.Regions, r)
		}
	}
	vals, err := values.List(ctx, by, cy.ID, "")
	if err != nil {
		return ReviewPage{}, err
	}
	prev, err := q.previousValues(ctx, by, cy, &d)
	if err != nil {
		return ReviewPage{}, err
	}
	evs, err := evidence.List(ctx, by, cy.ID, f.Region)
	if err != nil {
		return ReviewPage{}, err
	}
	hist, err := values.Histories(ctx, by, cy.ID, f.Region)
	if err != nil {
		return ReviewPage{}, err
	}
	// numbers[indicator] are every region's numbers of this cycle.
	numbers := map[string][]Value{}
	for _, v := range vals {
		if v.Number != nil && !v.NotApplicable {
			numbers[v.IndicatorCode] = append(numbers[v.IndicatorCode], v)
		}
	}
	for _, v := range vals {
		ind, ok := sc.Indicator(v.IndicatorCode)
		if !ok || !f.selects(v, ind) {
			continue
		}
		row := ReviewRow{Value: v, Region: byCode[v.RegionCode], Indicator: ind, Previous: "—", Median: "—",
			History: revisionTexts(hist[v.ID])}
		if row.Region.Code == "" {
			row.Region = ReviewRegion{Code: v.RegionCode, Name: v.RegionCode}
		}
		in := reviewhint.Input{Min: ind.Min, Max: ind.Max, EvidenceRequired: ind.EvidenceRequired}
		if v.Number != nil && !v.NotApplicable {
			in.Number = v.Number
			row.Shown = fmtNumber(*v.Number) + " " + ind.Unit
		}
		if p, ok := prev[v.RegionCode+"/"+v.IndicatorCode]; ok {
			in.Previous = &p
			row.Previous = fmtNumber(p) + " " + ind.Unit
		}
		var all []float64
		for _, o := range numbers[v.IndicatorCode] {
			all = append(all, *o.Number)
			if o.RegionCode != v.RegionCode && byCode[o.RegionCode].Kind == row.Region.Kind {
				in.Peers = append(in.Peers, *o.Number)
			}
		}
		if m, ok := reviewhint.Median(all); ok {
			row.Median = fmtNumber(m) + " " + ind.Unit
		}
		for _, e := range evs {
			if e.RegionCode == v.RegionCode && e.IndicatorCode == v.IndicatorCode && e.WithdrawnAt == nil {
				row.Evidence = append(row.Evidence, e)
			}
		}
		in.Evidence = len(row.Evidence)
		for _, r := range hist[v.ID] {
			if r.Action == ActionReject {
				in.Returned, in.ReturnComment = true, r.Reason
			}
		}
		row.Hints = reviewhint.For(in)
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// Previewable reports whether a browser shows the file as an image
// inline (PNG, JPEG or WebP; TIFF it does not).
func (e Evidence) Previewable() bool {
	return slices.Contains([]string{"image/png", "image/jpeg", "image/webp"}, e.MediaType)
}

// PDF reports whether the file is a PDF, which a browser shows in a frame.
func (e Evidence) PDF() bool { return e.MediaType == "application/pdf" }

// Inline reports whether the file may be served for display in the page
// (an image or a PDF, by its sniffed type); anything else — office
// documents, OFD, and HTML or SVG should one ever be stored — is only
// ever a download, so that nothing uploaded runs in the site's origin.
func (e Evidence) Inline() bool { return e.Previewable() || e.PDF() }

// selects reports whether the filter keeps value v of indicator ind.
func (f ReviewFilter) selects(v Value, ind scheme.Indicator) bool {
	return (f.Region == "" || v.RegionCode == f.Region) && (f.Dimension == "" || ind.Dimension == f.Dimension) &&
		(f.Indicator == "" || v.IndicatorCode == f.Indicator) && (f.Status == "" || v.Status == f.Status)
}

// previousValues finds the cycle of the latest year before cy's, sets it
// on d and returns its numbers keyed by "region/indicator".
func (q *ReviewQueue) previousValues(ctx context.Context, by auth.Principal, cy cycles.Cycle, d *ReviewPage) (map[string]float64, error) {
	all, err := q.cycles.List(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Year < cy.Year && (d.Previous == nil || all[i].Year > d.Previous.Year) {
			d.Previous = &all[i]
		}
	}
	out := map[string]float64{}
	if d.Previous == nil {
		return out, nil
	}
	vals, err := q.collection.values.List(ctx, by, d.Previous.ID, "")
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		if v.Number != nil && !v.NotApplicable {
			out[v.RegionCode+"/"+v.IndicatorCode] = *v.Number
		}
	}
	return out, nil
}

// VerifyRegion verifies every submitted value of a region, each as
// ValueStore.Review does (the same rules and revisions); it returns how
// many it verified and, for each value the store refused, the reason.
func (q *ReviewQueue) VerifyRegion(ctx context.Context, by auth.Principal, cycleID, region string) (int, []fault.FieldError, error) {
	if region == "" {
		return 0, nil, fault.Invalid(fault.Field("region_code", "required", "请指定地区", "name the region"))
	}
	vals, err := q.collection.values.List(ctx, by, cycleID, region)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var refused []fault.FieldError
	for _, v := range vals {
		if v.Status != StatusSubmitted {
			continue
		}
		_, err := q.collection.values.Review(ctx, by, cycleID, v.ID, true, "", v.Version)
		var d *fault.Detailed
		switch {
		case err == nil:
			n++
		case errors.Is(err, fault.ErrConflict) && errors.As(err, &d):
			code, _ := d.Ext["code"].(string)
			refused = append(refused, fault.FieldError{Indicator: v.IndicatorCode, Field: "value",
				Code: cmp.Or(code, "conflict"), Message: d.DetailZh, MessageEn: d.Detail})
		default:
			return n, refused, err
		}
	}
	return n, refused, nil
}

// StatusOf reads a status filter: "" and "all" are every status; a name
// not a status is invalid.
func StatusOf(s string) (Status, error) {
	switch st := Status(s); {
	case s == "" || s == "all":
		return "", nil
	case slices.Contains([]Status{StatusDraft, StatusSubmitted, StatusVerified, StatusRejected}, st):
		return st, nil
	}
	return "", fault.Invalid(fault.Field("status", "invalid", fmt.Sprintf("状态无效：%s", s), "invalid status: "+s))
}

func fmtNumber(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
