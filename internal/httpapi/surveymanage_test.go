package httpapi_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/surveys"
)

// commissionValues is a valid commission form for the cycle and
// organisation.
func commissionValues(cycleID, orgID string) url.Values {
	return url.Values{"cycle_id": {cycleID}, "organisation_id": {orgID}, "name": {"页面委托调查"},
		"target": {"10"}, "minimum": {"2"}, "fieldwork_start": {"2025-05-01"}, "fieldwork_end": {"2025-06-30"}}
}

// with returns a copy of v with the given fields replaced.
func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// TestSurveyCommissionForm commissions surveys from the list page: every
// bad input refused by field in Chinese and English with nothing stored,
// and a good one stored, audited and shown.
func TestSurveyCommissionForm(t *testing.T) {
	f := newFixture(t)
	cy := f.sharedCycle()
	authority, err := f.auth.CreateOrganisation(context.Background(), "省知识产权局", "authority")
	if err != nil {
		t.Fatal(err)
	}
	good := commissionValues(cy.ID, f.org.ID)
	bad := []struct {
		name   string
		values url.Values
		zh, en []string
	}{
		{"end before start", with(good, "fieldwork_start", "2025-06-30", "fieldwork_end", "2025-05-01"),
			[]string{"调查结束日期早于开始日期"}, []string{"fieldwork ends before it starts"}},
		{"minimum above target", with(good, "target", "5", "minimum", "6"),
			[]string{"最低样本量须至少为 1，且不大于目标样本量"}, []string{"the minimum sample must be at least 1 and at most the target"}},
		{"unknown organisation", with(good, "organisation_id", "no-such-organisation"),
			[]string{"机构不存在"}, []string{"no such organisation"}},
		{"not a contractor", with(good, "organisation_id", authority.ID),
			[]string{"只能委托第三方调查机构"}, []string{"the organisation is not a survey contractor"}},
		{"thresholds out of range", with(good, "median_fraction", "1", "min_seconds", "-1"),
			[]string{"中位数比例必须不小于0且小于1", "最短作答时间必须在0至86400秒之间"},
			[]string{"median_fraction must be at least 0 and less than 1", "min_seconds must be between 0 and 86400"}},
		{"1e308", with(good, "min_seconds", "1e308", "target", "1e308", "straight_line_items", "1e308"),
			[]string{"最短作答时间必须在0至86400秒之间", "目标样本量须为 1 至 1000000 之间的整数", "直线作答判定的最少题数须为 2 至 1000 之间的整数"},
			[]string{"min_seconds must be between 0 and 86400", "the target sample must be a whole number from 1 to 1000000",
				"the straight-lining grid size must be a whole number from 2 to 1000"}},
		{"not numbers", with(good, "median_fraction", "NaN", "minimum", "两"),
			[]string{"中位数比例须为数值", "最低样本量须为 1 至 1000000 之间的整数"},
			[]string{"the median fraction must be a number", "the minimum sample must be a whole number from 1 to 1000000"}},
		{"control and bidi characters in the name", with(good, "name", "调查\u202e名称"),
			[]string{"含有不允许的控制字符 U+202E"}, []string{"contains a disallowed control character U+202E"}},
		{"a control character in the name", with(good, "name", "调查\x07"),
			[]string{"含有不允许的控制字符 U+0007"}, []string{"contains a disallowed control character U+0007"}},
		{"no cycle", with(good, "cycle_id", ""), []string{"请选择考核周期"}, []string{"choose a cycle"}},
		{"unknown cycle", with(good, "cycle_id", "no-such-cycle"), []string{"考核周期不存在"}, []string{"no such cycle"}},
	}
	tables := map[string]string{"survey_projects": "*", "questionnaires": "id"}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before := f.snapshot(tables)
			for lang, want := range map[string][]string{"zh": c.zh, "en": c.en} {
				resp, body := f.do(f.as("admin", form("POST", "/surveys?lang="+lang, c.values)))
				if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("%s: status %d %q, want 400 as a page: %.300s", lang, resp.StatusCode, resp.Header.Get("Content-Type"), body)
				}
				text := html.UnescapeString(string(body))
				for _, w := range want {
					if !strings.Contains(text, w) {
						t.Errorf("%s: the page does not say %q: %s", lang, w, regexp.MustCompile(`(?s)<table class="problems">.*?</table>|class="alert"[^<]*<`).FindAllString(string(body), -1))
					}
				}
				if !strings.Contains(string(body), `id="commission-survey"`) {
					t.Errorf("%s: the refused form is not shown again", lang)
				}
				// The typed values come back.
				if name := c.values.Get("name"); name == good.Get("name") && !strings.Contains(string(body), `value="`+name+`"`) {
					t.Errorf("%s: the typed name is not kept", lang)
				}
				if start := c.values.Get("fieldwork_start"); !strings.Contains(string(body), `name="fieldwork_start" value="`+start+`"`) {
					t.Errorf("%s: the typed start %q is not kept", lang, start)
				}
			}
			if f.snapshot(tables) != before {
				t.Errorf("a refused form changed the stored projects")
			}
		})
	}

	t.Run("commissioned", func(t *testing.T) {
		f.t = t
		n := f.count("survey_projects")
		resp, body := f.do(f.as("admin", form("POST", "/surveys", with(good, "median_fraction", "0.25"))))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d, want 303: %.300s", resp.StatusCode, body)
		}
		if f.count("survey_projects") != n+1 {
			t.Fatalf("no project stored")
		}
		var p surveys.Project
		if err := f.db.Order("created_at DESC, id DESC").Take(&p).Error; err != nil {
			t.Fatal(err)
		}
		if loc := resp.Header.Get("Location"); loc != "/surveys/"+p.ID+"?notice=created" {
			t.Errorf("Location %q, want the project's page", loc)
		}
		pv, err := f.surveys.GetProject(context.Background(), f.principal("admin"), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if pv.Name != "页面委托调查" || pv.CycleID != cy.ID || pv.OrganisationID != f.org.ID || pv.Status != surveys.ProjectOpen ||
			pv.Thresholds.MedianFraction != 0.25 || pv.Thresholds.MinSeconds != 30 || len(pv.Regions) == 0 ||
			pv.Regions[0].Target != 10 || pv.Regions[0].Minimum != 2 || surveys.Day(pv.FieldworkEnd) != "2025-06-30" {
			t.Errorf("stored %+v", pv.Project)
		}
		var audits int64
		f.db.Table("audit_log").Where("action = ? AND object = ? AND result = ?", "page.survey_create", "survey_project:"+p.ID, "success").Count(&audits)
		if audits != 1 {
			t.Errorf("%d audit entries of the commission, want 1", audits)
		}
		page := f.pageAs("admin", request("GET", "/surveys/"+p.ID+"?notice=created", nil), http.StatusOK)
		if !strings.Contains(page, "调查项目已创建") {
			t.Error("the project page does not say it was commissioned")
		}
		list := f.pageAs("admin", request("GET", "/surveys?lang=en", nil), http.StatusOK)
		for _, w := range []string{`data-project="` + p.ID + `"`, "Regions below minimum", "Latest batch", `name="organisation_id"`} {
			if !strings.Contains(list, w) {
				t.Errorf("the list lacks %s", w)
			}
		}
		if strings.Contains(list, `<option value="`+authority.ID+`"`) {
			t.Error("the form offers an organisation that is not a contractor")
		}
	})
}

// TestSurveyManagerAccess refuses the manager's survey forms to everyone
// but admins — a contractor even for its own project — and answers 404 for
// an unknown project.
func TestSurveyManagerAccess(t *testing.T) {
	f := newFixture(t)
	project := f.submittedProject()
	tables := map[string]string{"survey_projects": "*", "indicator_values": "*"}
	before := f.snapshot(tables)
	posts := map[string]string{
		"/surveys":                        commissionValues(f.sharedCycle().ID, f.org.ID).Encode(),
		"/surveys/" + project + "/accept": "",
		"/surveys/" + project + "/return": "reason=x",
		"/surveys/" + project + "/lock":   "",
	}
	for _, who := range []string{"contractor", "city", "secadmin", "auditor"} {
		for path, body := range posts {
			resp, _ := f.do(f.as(who, formRequest(path, body)))
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", who, path, resp.StatusCode)
			}
		}
		if who == "contractor" {
			page := f.pageAs(who, request("GET", "/surveys/"+project, nil), http.StatusOK)
			if strings.Contains(page, "data-action=") {
				t.Error("the contractor's page offers the manager's confirmations")
			}
			if strings.Contains(f.pageAs(who, request("GET", "/surveys", nil), http.StatusOK), "commission-survey") {
				t.Error("the contractor's list offers the commission form")
			}
		}
	}
	for _, action := range []string{"accept", "return", "lock"} {
		resp, _ := f.do(f.as("admin", formRequest("/surveys/no-such-project/"+action, "reason=x")))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("admin %s of an unknown project: %d, want 404", action, resp.StatusCode)
		}
	}
	if f.snapshot(tables) != before {
		t.Error("a refused post changed the projects or values")
	}
}

// previewRow matches one row of the acceptance preview.
var previewRow = regexp.MustCompile(`(?s)<tr data-region="([^"]+)" data-indicator="([^"]+)">.*?<td class="value">([^<]+)</td>.*?<td class="current">([^<]*)</td>`)

// TestSurveyManagerMoves returns a submitted project with a reason (an
// empty one refused by field), accepts a resubmitted one after reading
// the preview of the values it writes, checks that exactly those were
// written, and locks it; a move the status does not allow is refused
// with the store's reason.
func TestSurveyManagerMoves(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	project, _ := f.validBatchOf(cy.ID, f.org)
	f.call("contractor", "POST", "/api/v1/survey-projects/"+project+"/submit", nil, http.StatusOK)
	page := "/surveys/" + project
	status := func() surveys.ProjectStatus {
		pv, err := f.surveys.GetProject(context.Background(), f.principal("admin"), project)
		if err != nil {
			t.Fatal(err)
		}
		return pv.Status
	}

	t.Run("an empty reason", func(t *testing.T) {
		f.t = t
		for lang, want := range map[string]string{"zh": "退回须说明理由", "en": "a returned project needs a reason"} {
			resp, body := f.do(f.as("admin", formRequest(page+"/return?lang="+lang, "reason=+++")))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), want) ||
				!strings.Contains(string(body), `data-action="return" open`) {
				t.Errorf("%s: %d, want 400 saying %q with the return form open: %.300s", lang, resp.StatusCode, want, body)
			}
		}
		if status() != surveys.ProjectSubmitted {
			t.Error("a refused return moved the project")
		}
	})

	t.Run("a move the status does not allow", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", formRequest(page+"/lock", "")))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "当前状态不允许此操作（lock）") {
			t.Errorf("lock a submitted project: %d %.300s", resp.StatusCode, body)
		}
	})

	t.Run("return", func(t *testing.T) {
		f.t = t
		got := f.pageAs("admin", request("GET", page, nil), http.StatusOK)
		for _, w := range []string{`data-action="accept"`, `data-action="return"`, `<textarea name="reason"`, "调查机构会看到理由"} {
			if !strings.Contains(got, w) {
				t.Errorf("the submitted project's page lacks %s", w)
			}
		}
		resp, _ := f.do(f.as("admin", formRequest(page+"/return", "reason="+url.QueryEscape("样本偏少，请补充"))))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != page+"?notice=returned" {
			t.Fatalf("return: %d to %q", resp.StatusCode, loc)
		}
		if status() != surveys.ProjectReturned {
			t.Error("the project is not returned")
		}
		if got := f.pageAs("contractor", request("GET", page, nil), http.StatusOK); !strings.Contains(got, "样本偏少，请补充") {
			t.Error("the contractor does not read the reason")
		}
	})

	f.call("contractor", "POST", "/api/v1/survey-projects/"+project+"/submit", nil, http.StatusOK)
	// An earlier accepted survey of the cycle gives the values the
	// preview replaces.
	earlier, _ := f.validBatchOf(cy.ID, f.org2)
	f.call("admin", "POST", "/api/v1/survey-projects/"+earlier+"/submit", nil, http.StatusOK)
	f.call("admin", "POST", "/api/v1/survey-projects/"+earlier+"/accept", nil, http.StatusOK)
	old := f.surveyValues(cy.ID)

	t.Run("accept writes what the preview shows", func(t *testing.T) {
		f.t = t
		got := f.pageAs("admin", request("GET", page, nil), http.StatusOK)
		en := f.pageAs("admin", request("GET", page+"?lang=en", nil), http.StatusOK)
		for _, w := range []string{"Accept and write the indices", "Value to write", "Current value", "City officials see their city's value once the results are published"} {
			if !strings.Contains(html.UnescapeString(en), w) {
				t.Errorf("the English page lacks %q", w)
			}
		}
		rows := previewRow.FindAllStringSubmatch(got, -1)
		if len(rows) == 0 {
			t.Fatalf("no preview rows: %.2000s", got)
		}
		shown := map[string]string{}
		for _, r := range rows {
			key := r[1] + "/" + r[2]
			shown[key] = r[3]
			if want, ok := old[key]; !ok || r[4] != want {
				t.Errorf("%s: the preview's current value %q, want %q", key, r[4], want)
			}
		}
		resp, _ := f.do(f.as("admin", formRequest(page+"/accept", "")))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != page+"?notice=accepted" {
			t.Fatalf("accept: %d to %q", resp.StatusCode, loc)
		}
		f.wantWrittenAsPreviewed(cy.ID, shown)
		after := f.pageAs("admin", request("GET", page+"?notice=accepted", nil), http.StatusOK)
		if !strings.Contains(after, "满意度指数已写入考核数据") || !strings.Contains(after, `data-action="lock"`) ||
			strings.Contains(after, `data-action="accept"`) {
			t.Error("the accepted project's page does not offer the lock only")
		}
	})

	t.Run("lock", func(t *testing.T) {
		f.t = t
		resp, _ := f.do(f.as("admin", formRequest(page+"/lock", "")))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != page+"?notice=locked" {
			t.Fatalf("lock: %d to %q", resp.StatusCode, loc)
		}
		if status() != surveys.ProjectLocked {
			t.Error("the project is not locked")
		}
		var audits int64
		f.db.Table("audit_log").Where("action IN ? AND object = ? AND result = ?",
			[]string{"page.survey_accept", "page.survey_return", "page.survey_lock"}, "survey_project:"+project, "success").Count(&audits)
		if audits != 3 {
			t.Errorf("%d audit entries of the moves, want 3", audits)
		}
	})
}

// wantWrittenAsPreviewed checks that the cycle's survey-sourced values
// are exactly those an acceptance preview showed (region/indicator →
// number as written on the page).
func (f *fixture) wantWrittenAsPreviewed(cycleID string, shown map[string]string) {
	f.t.Helper()
	written := f.surveyValues(cycleID)
	if len(written) != len(shown) {
		f.t.Errorf("%d values written, the preview showed %d", len(written), len(shown))
	}
	for key, v := range shown {
		if written[key] != v {
			f.t.Errorf("%s: written %q, the preview showed %q", key, written[key], v)
		}
	}
}

// surveyValues reads a cycle's survey-sourced values as region/indicator
// → the number written out as the preview writes it.
func (f *fixture) surveyValues(cycleID string) map[string]string {
	f.t.Helper()
	var vs []indicators.Value
	if err := f.db.Where("cycle_id = ? AND ci_lower IS NOT NULL", cycleID).Find(&vs).Error; err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for _, v := range vs {
		if v.Number != nil {
			out[v.RegionCode+"/"+v.IndicatorCode] = strconv.FormatFloat(*v.Number, 'f', -1, 64)
		}
	}
	return out
}
