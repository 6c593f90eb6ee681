package httpapi_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestPublishedPagesCached shows that pages of a published run are built
// once and then served from the cache, that each caller and language has
// views of its own, and that the views go stale when another run is
// published: a region's trend then gains a year.
func TestPublishedPagesCached(t *testing.T) {
	f := newFixture(t)
	first := f.fullCycle()
	dashboard := "/cycles/" + first.ID + "/regions/140100"
	years := func(page string) []string {
		t.Helper()
		var opt struct {
			XAxis []struct{ Data []string } `json:"xAxis"`
		}
		chartOption(t, page, "chart-trend", &opt)
		if len(opt.XAxis) != 1 {
			t.Fatalf("trend option %+v", opt)
		}
		return opt.XAxis[0].Data
	}

	t.Run("second view is a hit with the same page", func(t *testing.T) {
		a := f.page("city", dashboard, http.StatusOK)
		hits := f.viewCacheHits()
		b := f.page("city", dashboard, http.StatusOK)
		if f.viewCacheHits() != hits+1 {
			t.Errorf("cache hits %d after a second view, want %d", f.viewCacheHits(), hits+1)
		}
		if a != b {
			t.Error("the cached view differs from the one built")
		}
	})

	t.Run("views of their own per caller and language", func(t *testing.T) {
		overview := "/cycles/" + first.ID + "/overview"
		if page := f.page("admin", overview, http.StatusOK); !strings.Contains(page, `id="chart-sensitivity"`) {
			t.Fatal("the admin's overview has no rank intervals")
		}
		if page := f.page("city", overview, http.StatusOK); strings.Contains(page, `id="chart-sensitivity"`) {
			t.Error("the city official was served the admin's overview, with its rank intervals")
		}
		if page := f.page("city", dashboard+"?lang=en", http.StatusOK); !strings.Contains(page, `<html lang="en">`) {
			t.Error("the English dashboard was served in Chinese")
		}
	})

	t.Run("another publication makes views stale", func(t *testing.T) {
		before := years(f.page("city", dashboard, http.StatusOK))
		second := f.fullCycle()
		after := years(f.page("city", dashboard, http.StatusOK))
		year := strconv.Itoa(second.Year)
		if slices.Contains(before, year) || !slices.Contains(after, year) {
			t.Errorf("trend years %v before and %v after publishing %s", before, after, year)
		}
	})

	t.Run("unpublished runs are not cached", func(t *testing.T) {
		cy := f.scoringCycle()
		f.scoredRunOf(cy.ID, false)
		page := "/cycles/" + cy.ID + "/overview"
		f.page("admin", page, http.StatusOK)
		hits := f.viewCacheHits()
		f.page("admin", page, http.StatusOK)
		if f.viewCacheHits() != hits {
			t.Error("an unpublished run's page came from the cache")
		}
	})
}

// viewCacheHits reads the cache's hit counter from the metrics.
func (f *fixture) viewCacheHits() int {
	f.t.Helper()
	fam := f.scrape()["ipeval_view_cache_lookups_total"]
	for _, m := range fam.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "result" && l.GetValue() == "hit" {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return 0
}

// TestRegionResultCached shows who is served the cached JSON of a run's
// region: an admin's read of an unpublished run fills the cache, yet a city
// official still gets 404 for it, and after publication the official gets
// exactly the admin's answer from the cache; another region stays 404 for
// the official however it was cached.
func TestRegionResultCached(t *testing.T) {
	f := newFixture(t)
	cy := f.scoringCycle()
	run := f.scoredRunOf(cy.ID, false)
	own, other := "/api/v1/runs/"+run+"/regions/140100", "/api/v1/runs/"+run+"/regions/140200"

	want := f.call("admin", "GET", own, nil, http.StatusOK)
	f.call("admin", "GET", other, nil, http.StatusOK)
	hits := f.viewCacheHits()
	if got := f.call("admin", "GET", own, nil, http.StatusOK); string(got) != string(want) || f.viewCacheHits() != hits+1 {
		t.Fatalf("second admin read: a hit with the same answer expected (hits %d → %d)", hits, f.viewCacheHits())
	}
	f.call("city", "GET", own, nil, http.StatusNotFound)

	f.call("admin", "POST", "/api/v1/runs/"+run+"/publish", nil, http.StatusOK)
	// The entry says the run was unpublished when read: the first read
	// after publication asks the store again, the second is a hit.
	for i := range 2 {
		hits = f.viewCacheHits()
		if got := f.call("city", "GET", own, nil, http.StatusOK); string(got) != string(want) {
			t.Errorf("the official's answer after publication differs from the admin's:\n%s\n%s", got, want)
		}
		if f.viewCacheHits() != hits+i {
			t.Errorf("read %d after publication: cache hits %d → %d", i+1, hits, f.viewCacheHits())
		}
	}
	hits = f.viewCacheHits()
	f.call("city", "GET", other, nil, http.StatusNotFound)
	if f.viewCacheHits() != hits {
		t.Error("another region was served to the official from the cache")
	}
}
