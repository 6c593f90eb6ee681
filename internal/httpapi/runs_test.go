package httpapi_test

import (
	"net/http"
	"testing"
)

// TestRunsAPI requests runs over HTTP: one job per cycle at a time, a
// cycle not in scoring refused, and a city official kept away from a run
// until it is published.
func TestRunsAPI(t *testing.T) {
	f := newFixture(t)
	cy := f.scoringCycle()
	type job struct{ ID string }
	first := decode[job](t, f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/runs", nil, http.StatusAccepted))
	second := decode[job](t, f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/runs", nil, http.StatusAccepted))
	if first.ID == "" || first.ID != second.ID {
		t.Fatalf("two requests made jobs %q and %q, want one", first.ID, second.ID)
	}
	resp, body := f.do(f.as("admin", request("POST", "/api/v1/cycles/"+f.collectingCycle().ID+"/runs", nil)))
	wantProblem(t, resp, body, http.StatusConflict)

	run := f.scoredRun(false)
	f.call("city", "GET", "/api/v1/runs/"+run, nil, http.StatusNotFound)
	f.call("admin", "POST", "/api/v1/runs/"+run+"/publish", nil, http.StatusOK)
	got := decode[struct {
		Results struct {
			Regions []struct{ Code string }
		}
	}](t, f.call("city", "GET", "/api/v1/runs/"+run, nil, http.StatusOK))
	if len(got.Results.Regions) != 1 || got.Results.Regions[0].Code != "140100" {
		t.Fatalf("a city official sees regions %+v of the published run, want only its own", got.Results.Regions)
	}
	f.call("city", "GET", "/api/v1/runs/"+run+"/regions/140200", nil, http.StatusNotFound)
}
