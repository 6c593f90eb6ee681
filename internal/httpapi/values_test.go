package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestValuesWorkflow walks one value through the API: a city official
// enters and submits its region's value, an admin verifies it, and the
// history shows every step; the refusals on the way are the domain's.
func TestValuesWorkflow(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	base := "/api/v1/cycles/" + cy.ID + "/values"
	item := func(region, code string, n float64, version int) map[string]any {
		return map[string]any{"items": []map[string]any{{"region_code": region, "indicator_code": code, "number": n, "version": version}}}
	}

	f.call("city", "POST", base, item("140200", "A2", 3, 0), http.StatusForbidden)
	f.call("contractor", "POST", base, item("140100", "A2", 3, 0), http.StatusForbidden)
	f.call("city", "POST", base, item("140100", "C4", 120, 0), http.StatusBadRequest)

	set := decode[struct {
		Items []struct {
			ID      string
			Version int
			Status  string
		}
	}](t, f.call("city", "POST", base, item("140100", "A2", 3, 0), http.StatusOK))
	v := set.Items[0]
	if v.Status != "draft" || v.Version != 1 {
		t.Fatalf("new value %+v", v)
	}
	resp, body := f.do(f.as("admin", request("POST", base, item("140100", "A2", 5, 0))))
	wantProblem(t, resp, body, http.StatusConflict)
	if !strings.Contains(string(body), `"current_version"`) {
		t.Fatalf("stale write without the current version: %s", body)
	}
	f.call("city", "POST", base+"/submit", map[string]any{"region_code": "140100"}, http.StatusOK)
	f.call("city", "POST", base+"/"+v.ID+"/review", map[string]any{"verify": true, "version": 2}, http.StatusForbidden)
	f.call("admin", "POST", base+"/"+v.ID+"/review", map[string]any{"verify": true, "version": 2}, http.StatusOK)

	hist := decode[struct {
		Items []struct{ Action, Username string }
	}](t, f.call("city", "GET", base+"/"+v.ID+"/history", nil, http.StatusOK))
	var steps []string
	for _, r := range hist.Items {
		steps = append(steps, r.Action+":"+r.Username)
	}
	got := strings.Join(steps, " ")
	for _, want := range []string{"set:city", "conflict:admin", "submit:city", "verify:admin"} {
		if !strings.Contains(got, want) {
			t.Fatalf("history %q lacks %s", got, want)
		}
	}
	f.call("city2", "GET", base+"/"+v.ID+"/history", nil, http.StatusNotFound)
	f.call("city2", "GET", base+"?region=140100", nil, http.StatusForbidden)

	f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/transitions", map[string]string{"to": "scoring"}, http.StatusOK)
	f.call("admin", "POST", base, item("140100", "A3", 1, 0), http.StatusConflict)
}
