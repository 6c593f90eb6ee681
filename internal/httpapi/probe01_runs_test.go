package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/jobs"
)

// TestProbe01FailedRunShown: a run job that failed stores no run, yet the
// run list (API) and the overview page show an admin that it failed and
// why; a city official sees neither.
func TestProbe01FailedRunShown(t *testing.T) {
	f := newFixture(t)
	cy := f.scoringCycle()
	job := decode[jobs.Job](t, f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/runs", nil, http.StatusAccepted))
	// What the worker stores for a job whose handler wrapped asynq.SkipRetry
	// (package jobs tests that part).
	if err := f.db.Model(&jobs.Job{}).Where("id = ?", job.ID).Updates(map[string]any{"status": jobs.StatusFailed,
		"error": "results cannot be encoded", "message": "结果无法编码", "attempts": 1}).Error; err != nil {
		t.Fatal(err)
	}
	list := decode[struct {
		Items      []struct{ ID string }
		FailedJobs []jobs.Job `json:"failed_jobs"`
	}](t, f.call("admin", "GET", "/api/v1/cycles/"+cy.ID+"/runs", nil, http.StatusOK))
	if len(list.Items) != 0 || len(list.FailedJobs) != 1 || list.FailedJobs[0].ID != job.ID || list.FailedJobs[0].Error != "results cannot be encoded" {
		t.Fatalf("run list %+v, want no run and the failed job with its reason", list)
	}
	if body := f.call("city", "GET", "/api/v1/cycles/"+cy.ID+"/runs", nil, http.StatusOK); strings.Contains(string(body), job.ID) {
		t.Errorf("a city official sees the failed job: %s", body)
	}
	overview := "/cycles/" + cy.ID + "/overview"
	if page := f.page("admin", overview, http.StatusNotFound); !strings.Contains(page, "结果无法编码") {
		t.Errorf("the overview of a cycle without runs does not say why: %.500s", page)
	}
	f.scoredRunOf(cy.ID, false)
	if page := f.page("admin", overview, http.StatusOK); !strings.Contains(page, "结果无法编码") || !strings.Contains(page, job.ID) {
		t.Errorf("the overview does not list the failed run")
	}
}
