package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// insertJob records a job row of kind in status for the named account
// ("" for the system) and returns its id.
func (f *fixture) insertJob(who, kind, status, payload, message, errText string) string {
	f.t.Helper()
	id := uuid.NewString()
	var creator any
	if a, ok := f.accounts[who]; ok {
		creator = a.user.ID
	}
	now := time.Now().UTC()
	if err := f.db.Table("jobs").Create(map[string]any{"id": id, "kind": kind, "payload": payload, "status": status, "progress": 40,
		"message": message, "attempts": 2, "result": "", "error": errText, "created_by": creator, "created_at": now, "updated_at": now}).Error; err != nil {
		f.t.Fatal(err)
	}
	return id
}

// TestJobsPage reads /jobs as each role: the API's jobs.list rule holds
// (an admin sees every job but audit exports, anyone else only their
// own), kinds and failure reasons are in words in both languages, the
// filters select by state and kind, and a page with a job under way
// reloads itself.
func TestJobsPage(t *testing.T) {
	f := newFixture(t)
	cy := f.newCycle()
	run := f.insertJob("admin", "evaluation:run", "running", `{"cycle_id":"`+cy.ID+`"}`, "scoring regions", "")
	failed := f.insertJob("admin", "evaluation:run", "failed", `{"cycle_id":"`+cy.ID+`"}`, "缺少数据：140100", "missing values: 140100")
	export := f.insertJob("auditor", "audit:export", "failed", `{"filter":{}}`, "导出失败", "export failed")
	cityIngest := f.insertJob("city", "surveys:ingest", "queued", `{"batch_id":"b-1"}`, "", "")
	city2Job := f.insertJob("city2", "surveys:ingest", "failed", `{"batch_id":"b-2"}`, "", "")
	done := f.insertJob("admin", "reports:render", "succeeded", `{"run_id":"r-1"}`, "", "")

	tests := []struct {
		who, query string
		see, hide  []string
	}{
		{"admin", "", []string{run, failed, cityIngest, city2Job}, []string{export, done}},
		{"admin", "?state=succeeded", []string{done}, []string{run, failed, export}},
		{"admin", "?state=failed&kind=evaluation:run", []string{failed}, []string{run, city2Job, export}},
		{"auditor", "", []string{export}, []string{run, failed, cityIngest}},
		{"city", "", []string{cityIngest}, []string{run, failed, export, city2Job}},
		{"city2", "", []string{city2Job}, []string{cityIngest, run}},
		{"contractor", "", nil, []string{run, failed, export, cityIngest, city2Job}},
		{"secadmin", "", nil, []string{run, failed, export, cityIngest, city2Job}},
	}
	for _, tt := range tests {
		t.Run(tt.who+tt.query, func(t *testing.T) {
			f.t = t
			resp, body := f.do(f.as(tt.who, request("GET", "/jobs"+tt.query, nil)))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			for _, id := range tt.see {
				if !strings.Contains(string(body), `data-job="`+id+`"`) {
					t.Errorf("job %s not listed", id)
				}
			}
			for _, id := range tt.hide {
				if strings.Contains(string(body), id) {
					t.Errorf("job %s shown", id)
				}
			}
		})
	}

	t.Run("words, reasons, links and refresh", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", request("GET", "/jobs", nil)))
		for _, want := range []string{"评价运行", "调查数据导入", "缺少数据：140100", "scoring regions", `href="/cycles/` + cy.ID + `/runs"`, `<progress max="100" value="40"`, "admin"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the page does not show %q", want)
			}
		}
		if resp.Header.Get("Refresh") == "" {
			t.Error("a page with a running job does not reload itself")
		}
		_, en := f.do(f.as("admin", request("GET", "/jobs?lang=en", nil)))
		for _, want := range []string{"Evaluation run", "Survey ingestion", "missing values: 140100", "Failure reason"} {
			if !strings.Contains(string(en), want) {
				t.Errorf("the English page does not show %q", want)
			}
		}
		resp, _ = f.do(f.as("admin", request("GET", "/jobs?state=succeeded", nil)))
		if resp.Header.Get("Refresh") != "" {
			t.Error("a page with no job under way reloads itself")
		}
	})

	t.Run("unknown state", func(t *testing.T) {
		f.t = t
		if resp, _ := f.do(f.as("admin", request("GET", "/jobs?state=lost", nil))); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		f.t = t
		if resp, _ := f.do(request("GET", "/jobs", nil)); resp.StatusCode == http.StatusOK {
			t.Errorf("an anonymous visitor read the jobs page")
		}
	})
}
