package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/jobs"
)

// finishRunJobs marks the run jobs of a cycle that the test ran itself
// (scoredRunOf) as succeeded, as the worker would.
func (f *fixture) finishRunJobs(cycleID string) {
	f.t.Helper()
	if err := f.db.Table("jobs").Where("kind = ? AND payload LIKE ?", evaluation.JobKind, "%"+cycleID+"%").
		Update("status", jobs.StatusSucceeded).Error; err != nil {
		f.t.Fatal(err)
	}
}

// TestRunPagesList reads a cycle's runs page: its runs with their
// overview links and the compare form, an unknown cycle, and the cycle
// home's link to it.
func TestRunPagesList(t *testing.T) {
	f := newFixture(t)

	t.Run("unknown cycle", func(t *testing.T) {
		f.t = t
		for _, req := range []*http.Request{request("GET", "/cycles/no-such-cycle/runs", nil),
			form("POST", "/cycles/no-such-cycle/runs", url.Values{"draws": {"10"}}),
			form("POST", "/cycles/no-such-cycle/runs/no-such-run/publish", nil)} {
			if resp, body := f.do(f.as("admin", req)); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404: %s", req.Method, req.URL, resp.StatusCode, body)
			}
		}
	})

	t.Run("runs and compare", func(t *testing.T) {
		f.t = t
		cy := f.scoringCycle()
		first := f.scoredRunOf(cy.ID, false)
		f.finishRunJobs(cy.ID)
		second := f.scoredRunOf(cy.ID, false)
		f.finishRunJobs(cy.ID)
		resp, body := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID+"/runs", nil)))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		for _, want := range []string{`data-run="` + first + `"`, `data-run="` + second + `"`,
			"/cycles/" + cy.ID + "/overview?run=" + first, `action="/cycles/` + cy.ID + `/diff"`, `id="compare-runs"`,
			`action="/cycles/` + cy.ID + `/runs/` + first + `/publish"`, "发布后，各市级用户可以看到本市的评价结果", `id="start-run"`, "<td>admin</td>", "未生成"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the runs page does not show %q", want)
			}
		}
		reported := f.reportedCycle()
		run := f.publishedRun(reported.ID).ID
		_, page := f.do(f.as("admin", request("GET", "/cycles/"+reported.ID+"/runs", nil)))
		if !strings.Contains(string(page), `href="/cycles/`+reported.ID+`/report?run=`+run+`"`) {
			t.Errorf("the runs page does not link to the rendered report of run %s", run)
		}
		_, home := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID, nil)))
		if !strings.Contains(string(home), `href="/cycles/`+cy.ID+`/runs"`) {
			t.Errorf("the cycle home does not link to the runs page")
		}
	})
}

// TestRunPagesStart posts the settings form: settings the API refuses are
// refused by field in Chinese and English with no job queued; good ones
// queue a run job, audited, and the runs page follows it.
func TestRunPagesStart(t *testing.T) {
	f := newFixture(t)
	cy := f.scoringCycle()
	bad := []struct {
		name   string
		values url.Values
		zh, en []string
	}{
		{"draws out of range, spread too wide", url.Values{"draws": {"-5"}, "weight_spread": {"1.5"}},
			[]string{"抽样次数须在 0 至", "权重扰动幅度必须是 [0, 1) 内的数"},
			[]string{"draws must be between 0 and", "the weight spread must be a number in [0, 1)"}},
		{"not numbers", url.Values{"draws": {"一千"}, "weight_spread": {"x"}},
			[]string{"抽样次数须为整数", "权重扰动幅度必须是 [0, 1) 内的数"},
			[]string{"draws must be a whole number", "the weight spread must be a number in [0, 1)"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before := f.snapshot(map[string]string{"jobs": "*"})
			for lang, want := range map[string][]string{"zh": c.zh, "en": c.en} {
				resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/runs?lang="+lang, c.values)))
				if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("%s: status %d %q, want 400 as a page", lang, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				for _, w := range want {
					if !strings.Contains(string(body), w) {
						t.Errorf("%s: the page does not say %q", lang, w)
					}
				}
				if !strings.Contains(string(body), `id="start-run"`) {
					t.Errorf("%s: the refused form is not shown again", lang)
				}
			}
			if f.snapshot(map[string]string{"jobs": "*"}) != before {
				t.Errorf("a refused form changed the jobs table")
			}
		})
	}

	t.Run("not scoring", func(t *testing.T) {
		f.t = t
		other := f.collectingCycle()
		before := f.snapshot(map[string]string{"jobs": "*"})
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+other.ID+"/runs", url.Values{"draws": {"10"}})))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "考核周期须处于评分阶段才能运行评价") {
			t.Errorf("status %d, want 409 with the store's reason: %s", resp.StatusCode, body)
		}
		if f.snapshot(map[string]string{"jobs": "*"}) != before {
			t.Errorf("a refused form changed the jobs table")
		}
	})

	t.Run("queued", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/runs", url.Values{"draws": {"20"}, "weight_spread": {"0.1"}, "swap_aggregation": {"on"}})))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cycles/"+cy.ID+"/runs?notice=queued" {
			t.Fatalf("status %d at %q, want 303 to the runs page: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		var payloads []string
		f.db.Table("jobs").Where("kind = ? AND payload LIKE ?", evaluation.JobKind, "%"+cy.ID+"%").Pluck("payload", &payloads)
		if len(payloads) != 1 || !strings.Contains(payloads[0], `"draws":20`) || !strings.Contains(payloads[0], `"swap_aggregation":true`) {
			t.Errorf("run jobs %q, want one with the form's settings", payloads)
		}
		var n int64
		f.db.Table("audit_log").Where("action = ? AND object LIKE ? AND result = ?", "page.run_request", "job:%", "success").Count(&n)
		if n != 1 {
			t.Errorf("%d audit entries of the request, want 1", n)
		}
		resp, page := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID+"/runs?notice=queued", nil)))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="run-job"`) || resp.Header.Get("Refresh") == "" {
			t.Errorf("status %d, Refresh %q: the page does not follow the queued job", resp.StatusCode, resp.Header.Get("Refresh"))
		}
	})
}

// TestRunPagesPublish publishes from the runs page: a run of another
// cycle and a run of an earlier scoring period are refused with the
// reason, nothing changed; a run of the current period is published,
// the cycle moves to published, audited.
func TestRunPagesPublish(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	t.Run("a run of another cycle", func(t *testing.T) {
		f.t = t
		cy, other := f.scoringCycle(), f.scoringCycle()
		run := f.scoredRunOf(other.ID, false)
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/runs/"+run+"/publish", nil)))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404: %s", resp.StatusCode, body)
		}
		if got, _ := f.cycles.Get(ctx, other.ID); got.Status != cycles.Scoring {
			t.Errorf("the other cycle is %s, want scoring", got.Status)
		}
	})

	t.Run("a run of an earlier scoring period", func(t *testing.T) {
		f.t = t
		cy := f.scoringCycle()
		run := f.scoredRunOf(cy.ID, false)
		for _, to := range []cycles.Status{cycles.Collecting, cycles.Scoring} {
			if _, err := f.cycles.Transition(ctx, cy.ID, to); err != nil {
				t.Fatal(err)
			}
		}
		for lang, want := range map[string]string{"zh": "该评价结果属于考核周期此前的评分阶段", "en": "the run was computed in an earlier scoring period"} {
			resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/runs/"+run+"/publish?lang="+lang, nil)))
			if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), want) {
				t.Errorf("%s: status %d, want 409 saying %q: %s", lang, resp.StatusCode, want, body)
			}
		}
		if got, _ := f.cycles.Get(ctx, cy.ID); got.Status != cycles.Scoring {
			t.Errorf("the cycle is %s, want scoring", got.Status)
		}
	})

	t.Run("published", func(t *testing.T) {
		f.t = t
		cy := f.scoringCycle()
		run := f.scoredRunOf(cy.ID, false)
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/runs/"+run+"/publish", nil)))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cycles/"+cy.ID+"/runs?notice=published" {
			t.Fatalf("status %d at %q, want 303 to the runs page: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if got, _ := f.cycles.Get(ctx, cy.ID); got.Status != cycles.Published {
			t.Errorf("the cycle is %s, want published", got.Status)
		}
		var n int64
		f.db.Table("audit_log").Where("action = ? AND object = ? AND result = ?", "page.run_publish", "run:"+run, "success").Count(&n)
		if n != 1 {
			t.Errorf("%d audit entries of the publication, want 1", n)
		}
		_, page := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID+"/runs", nil)))
		if strings.Contains(string(page), "/publish\"") || !strings.Contains(string(page), "✓") {
			t.Errorf("the runs page of a published cycle still offers to publish, or does not say it was published")
		}
	})
}
