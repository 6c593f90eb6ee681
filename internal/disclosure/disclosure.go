// Package disclosure holds the rule that keeps province-wide aggregates
// from giving away a single region's figure.
package disclosure

// MinRegionsForAggregate is the fewest regions an aggregate shown beside a
// region's own figure — the province mean or median of an indicator or a
// satisfaction index, a region's percentile among its peers — must rest
// on before a city official sees it. Pages withhold it from city officials
// only; the business-environment report, whose region editions are cut
// from one document, withholds it from every reader.
//
// A reader always knows their own region's figure, and often guesses who
// the few others are. With two regions the mean gives the other's away
// (2×mean − own), the median of three is one of the two others' raw
// value, and a percentile among two or three regions is their order.
// From five on, a reader's own figure and the aggregate leave at least
// four other regions among which a value or an order is spread — the
// small-count rule statistical offices apply to published tables (three
// to five units). Provincial managers see every region's figure anyway.
const MinRegionsForAggregate = 5

// Enough reports whether an aggregate over n regions may be shown.
func Enough(n int) bool { return n >= MinRegionsForAggregate }
