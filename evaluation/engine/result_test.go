package engine

import (
	"slices"
	"testing"
)

// TestRanked lists ranked regions by rank (ties by code) before the
// unranked ones (by code), and leaves the result as it was.
func TestRanked(t *testing.T) {
	res := Result{Regions: []RegionResult{{Code: "140100", Rank: 3}, {Code: "140200"}, {Code: "140300", Rank: 1},
		{Code: "140400", Rank: 1}, {Code: "140500"}}}
	var got []string
	for _, r := range res.Ranked() {
		got = append(got, r.Code)
	}
	if want := []string{"140300", "140400", "140100", "140200", "140500"}; !slices.Equal(got, want) {
		t.Errorf("Ranked() = %v, want %v", got, want)
	}
	if res.Regions[0].Code != "140100" || res.Regions[2].Code != "140300" {
		t.Errorf("Ranked reordered the result: %+v", res.Regions)
	}
}
