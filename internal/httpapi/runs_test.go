package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/jobs"
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

// TestRunSettings asks for a run with its own sensitivity settings: bad
// settings are refused by field before any job exists, and good ones reach
// the stored analysis.
func TestRunSettings(t *testing.T) {
	f := newFixture(t)
	cy := f.scoringCycle()
	path := "/api/v1/cycles/" + cy.ID + "/runs"
	for name, body := range map[string]any{
		"too many draws":  map[string]any{"draws": 1 << 30},
		"negative spread": map[string]any{"weight_spread": -0.1},
		"unknown setting": map[string]any{"drawz": 5},
	} {
		t.Run(name, func(t *testing.T) {
			resp, b := f.do(f.as("admin", request("POST", path, body)))
			wantProblem(t, resp, b, http.StatusBadRequest)
		})
	}
	if js, err := f.queue.List(context.Background(), jobs.Filter{Kind: evaluation.JobKind}); err != nil || len(js) != 0 {
		t.Fatalf("refused settings left jobs %+v (%v)", js, err)
	}
	j := decode[jobs.Job](t, f.call("admin", "POST", path, map[string]any{"draws": 40, "swap_aggregation": true}, http.StatusAccepted))
	out, err := f.runs.Handler()(context.Background(), j, func(int, string) {})
	if err != nil {
		t.Fatal(err)
	}
	id := decode[struct {
		RunID string `json:"run_id"`
	}](t, []byte(out)).RunID
	sens := decode[engine.SensitivityResult](t, f.call("admin", "GET", "/api/v1/runs/"+id+"/sensitivity", nil, http.StatusOK))
	if sens.Draws != 40 || !sens.Options.SwapAggregation || sens.Options.SwapNormalisation {
		t.Fatalf("stored analysis: %d draws, options %+v; want 40 draws with aggregation swapped", sens.Draws, sens.Options)
	}
}
