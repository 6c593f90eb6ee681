package surveys

import (
	"context"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/disclosure"
	"github.com/ipeval/ipeval/surveys/quality"
)

// ProvinceIndex is the province-wide picture of a cycle's satisfaction
// survey: the yardstick a region's dashboard compares its own index with.
type ProvinceIndex struct {
	// Regions is the number of regions whose index counts (Counts).
	Regions int `json:"regions"`
	// Mean is the mean of those regions' indices, each region counting
	// once whatever its sample; nil when no region counts, or when it is
	// withheld.
	Mean *float64 `json:"mean"`
	// Withheld is set when the means are kept from the caller: a city
	// official sees no mean over fewer than
	// disclosure.MinRegionsForAggregate regions, as it would give away
	// the other regions' indices.
	Withheld bool `json:"withheld,omitempty"`
	// Items are the items of the accepted projects' questionnaires, in
	// questionnaire order.
	Items []ProvinceItem `json:"items"`
}

// ProvinceItem is one questionnaire item across the province.
type ProvinceItem struct {
	Code   string `json:"code"`
	Text   string `json:"text"`
	TextEn string `json:"text_en,omitempty"`
	// Mean is the mean of the item means of the regions that count and
	// have one, nil when withheld as ProvinceIndex.Mean is; Regions is
	// their number.
	Mean    *float64 `json:"mean"`
	Regions int      `json:"regions"`
}

// Counts says whether an index is one acceptance turns into a value: it
// has valid responses and rests on a sufficient sample.
func (ri RegionIndex) Counts() bool { return ri.Mean != nil && !ri.Insufficient }

// RegionOf picks a region's index among indices listed in project order,
// as CycleIndices lists them: the latest that counts, as acceptance
// leaves the latest such value, else the latest. It reports false when
// the region has none.
func RegionOf(indices []RegionIndex, code string) (RegionIndex, bool) {
	var own *RegionIndex
	for i := range indices {
		if ri := &indices[i]; ri.RegionCode == code && (own == nil || ri.Counts() || !own.Counts()) {
			own = ri
		}
	}
	if own == nil {
		return RegionIndex{}, false
	}
	return *own, true
}

// ProvinceIndex returns the province-wide means of a cycle's accepted
// survey projects. A region surveyed by several projects counts with its
// latest index that counts, as acceptance leaves the latest such value.
// A city official may read it wherever CycleIndices shows it its own
// region (once the cycle is published). The official knows their own
// index, so a mean over few regions gives the others' away (with two,
// the other's is 2×mean − own): a city official gets the means, overall
// and per item, only where at least disclosure.MinRegionsForAggregate
// regions count; otherwise they are nil and Withheld is set. Admins,
// who see every region's index, always get them.
func (s *Store) ProvinceIndex(ctx context.Context, by auth.Principal, cycleID string) (ProvinceIndex, error) {
	db := s.db.WithContext(ctx)
	ps, err := acceptedProjects(db, by, cycleID)
	if err != nil {
		return ProvinceIndex{}, err
	}
	out := ProvinceIndex{Items: []ProvinceItem{}}
	pos := map[string]int{}               // item code → index in out.Items
	counted := map[string]quality.Index{} // region → its latest index that counts
	var order []string                    // regions in the order first counted
	for _, p := range ps {
		sq, err := getQuestionnaire(db, p.QuestionnaireID)
		if err != nil {
			return ProvinceIndex{}, err
		}
		for _, it := range sq.Questionnaire.Items {
			if _, ok := pos[it.Code]; !ok {
				pos[it.Code] = len(out.Items)
				out.Items = append(out.Items, ProvinceItem{Code: it.Code, Text: it.Text, TextEn: it.TextEn})
			}
		}
		idx, err := readIndices(db, p)
		if err != nil {
			return ProvinceIndex{}, err
		}
		for _, ri := range idx {
			if !ri.Counts() {
				continue
			}
			if _, seen := counted[ri.RegionCode]; !seen {
				order = append(order, ri.RegionCode)
			}
			counted[ri.RegionCode] = ri.Index
		}
	}
	var sum float64
	itemSum := make([]float64, len(out.Items))
	for _, code := range order {
		idx := counted[code]
		sum += *idx.Mean
		for _, im := range idx.Items {
			if i, ok := pos[im.Code]; ok && im.Mean != nil {
				itemSum[i] += *im.Mean
				out.Items[i].Regions++
			}
		}
	}
	if out.Regions = len(order); out.Regions > 0 {
		m := sum / float64(out.Regions)
		out.Mean = &m
	}
	admin := by.Is(auth.RoleAdmin)
	for i := range out.Items {
		if n := out.Items[i].Regions; n > 0 && (admin || disclosure.Enough(n)) {
			m := itemSum[i] / float64(n)
			out.Items[i].Mean = &m
		} else if n > 0 {
			out.Withheld = true
		}
	}
	if !admin && out.Regions > 0 && !disclosure.Enough(out.Regions) {
		out.Mean, out.Withheld = nil, true
	}
	return out, nil
}
