package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/surveys"
)

// formSession signs who in with the sign-in form and returns the session
// cookie and the CSRF token that the pages' forms carry.
func (f *fixture) formSession(who string) (*http.Cookie, string) {
	f.t.Helper()
	resp, body := f.do(f.loginForm(who, fixturePassword))
	if resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("sign in as %s: %d %s", who, resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ipeval_session" {
			session = c
		}
	}
	req := request("GET", "/", nil)
	req.AddCookie(session)
	_, body = f.do(req)
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if session == nil || m == nil {
		f.t.Fatalf("no session cookie or CSRF field after signing in as %s", who)
	}
	return session, string(m[1])
}

// contractorOf adds a contractor account of org under the name who.
func (f *fixture) contractorOf(who string, org auth.Organisation) {
	f.t.Helper()
	f.accounts[who] = f.newAccount(auth.NewUser{Username: who, DisplayName: who, Role: auth.RoleContractor,
		OrganisationID: org.ID, Password: fixturePassword})
}

// pageAs gets a page as who and fails unless it answers want as HTML.
func (f *fixture) pageAs(who string, req *http.Request, want int) string {
	f.t.Helper()
	resp, body := f.do(f.as(who, req))
	if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		f.t.Fatalf("%s %s as %s: %d %s, want %d as HTML: %.500s", req.Method, req.URL, who, resp.StatusCode,
			resp.Header.Get("Content-Type"), want, body)
	}
	return string(body)
}

// TestSurveyPages shows a project to its contractor and to admins, with
// its batches and its index per region, and refuses it to everyone else.
func TestSurveyPages(t *testing.T) {
	f := newFixture(t)
	f.contractorOf("outsider", f.org2)
	project, batch := f.validBatch()
	q := decode[struct{ Items []surveys.RegionIndex }](t, f.call("contractor", "GET", "/api/v1/survey-projects/"+project+"/quality", nil, http.StatusOK))
	page := "/surveys/" + project
	other := f.surveyProject(f.sharedCycle().ID, f.org)

	t.Run("its contractor", func(t *testing.T) {
		f.t = t
		got := f.pageAs("contractor", request("GET", page, nil), http.StatusOK)
		want := []string{`data-batch="` + batch + `" data-status="valid"`, "答卷.csv", `/api/v1/survey-batches/` + batch + `/report?format=xlsx`,
			`/api/v1/survey-projects/` + project + `/template?format=csv`, `id="upload-form"`, `action="/surveys/` + project + `/submit"`,
			`<script src="/static/upload.js"></script>`, "总体而言，您对本地区的知识产权公共服务是否满意？", "太原市", "2025-05-01 – 2025-06-30"}
		for _, ri := range q.Items {
			if ri.Mean == nil {
				t.Fatalf("region %s has no index", ri.RegionCode)
			}
			want = append(want, `<td class="index">`+strconv.FormatFloat(*ri.Mean, 'f', 1, 64)+`</td>`)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("the project page lacks %s", w)
			}
		}
		if strings.Count(got, "<script") != strings.Count(got, "<script src=") {
			t.Error("the project page has an inline script")
		}
		list := f.pageAs("contractor", request("GET", "/surveys", nil), http.StatusOK)
		if !strings.Contains(list, `href="/surveys/`+project+`"`) {
			t.Error("the contractor's list lacks its project")
		}
		if home := f.pageAs("contractor", request("GET", "/", nil), http.StatusOK); !strings.Contains(home, `href="/surveys"`) {
			t.Error("the contractor's home page has no link to the survey projects")
		}
		if en := f.pageAs("contractor", request("GET", page+"?lang=en", nil), http.StatusOK); !strings.Contains(en, "Uploaded batches") {
			t.Error("the English page is not in English")
		}
	})

	t.Run("an admin", func(t *testing.T) {
		f.t = t
		if got := f.pageAs("admin", request("GET", page, nil), http.StatusOK); strings.Contains(got, `action="/surveys/`+project+`/submit"`) {
			t.Error("the admin is offered the contractor's submit button")
		}
		if list := f.pageAs("admin", request("GET", "/surveys", nil), http.StatusOK); !strings.Contains(list, `href="/surveys/`+project+`"`) || !strings.Contains(list, f.org.Name) {
			t.Error("the admin's list lacks the project or its organisation")
		}
	})

	for _, tc := range []struct {
		name, who, path string
		want            int
	}{
		{"another organisation's contractor", "outsider", page, http.StatusNotFound},
		{"another organisation's contractor, a batch", "outsider", page + "?batch=" + batch, http.StatusNotFound},
		{"a city official", "city", page, http.StatusForbidden},
		{"a city official, the list", "city", "/surveys", http.StatusForbidden},
		{"a missing project", "admin", "/surveys/00000000-0000-0000-0000-000000000000", http.StatusNotFound},
		{"a batch of another project", "admin", "/surveys/" + other + "?batch=" + batch, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			got := f.pageAs(tc.who, request("GET", tc.path, nil), tc.want)
			if strings.Contains(got, "答卷.csv") || strings.Contains(got, "upload-form") {
				t.Error("a refused page shows the project")
			}
		})
	}
	t.Run("the outsider's list", func(t *testing.T) {
		f.t = t
		if list := f.pageAs("outsider", request("GET", "/surveys", nil), http.StatusOK); strings.Contains(list, project) {
			t.Error("another organisation's contractor sees the project in its list")
		}
	})

	// The page offers only what the store would accept: once the cycle has
	// left collection, no upload form and no submit button.
	t.Run("a cycle past collection", func(t *testing.T) {
		f.t = t
		cy := f.collectingCycle()
		closed, _ := f.validBatchOf(cy.ID, f.org)
		if _, err := f.cycles.Transition(context.Background(), cy.ID, cycles.Scoring); err != nil {
			t.Fatal(err)
		}
		got := f.pageAs("contractor", request("GET", "/surveys/"+closed, nil), http.StatusOK)
		if strings.Contains(got, `id="upload-form"`) || strings.Contains(got, `/submit"`) {
			t.Error("the page offers an upload or a submission the store refuses")
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		f.t = t
		resp, _ := f.do(request("GET", page, nil))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape(page) {
			t.Fatalf("anonymous: %d to %q, want 303 to the sign-in page", resp.StatusCode, loc)
		}
	})
}

// TestSurveyUploadForm uploads through the page's form with the session
// and its CSRF token, as a browser without script does: the batch is
// stored and the page follows it; the same file again is the same batch,
// and the page says so; without the token nothing is stored.
func TestSurveyUploadForm(t *testing.T) {
	f := newFixture(t)
	project := f.surveyProject(f.sharedCycle().ID, f.org)
	session, csrf := f.formSession("contractor")
	page := "/surveys/" + project
	file := f.uniqueSurveyFile()
	post := func(fields map[string]string, name string, data []byte) *http.Response {
		t.Helper()
		req := upload("POST", page+"/upload", fields, "file", name, data)
		req.AddCookie(session)
		resp, _ := f.do(req)
		return resp
	}
	get := func(path string) string {
		t.Helper()
		req := request("GET", path, nil)
		req.AddCookie(session)
		resp, body := f.do(req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(body)
	}

	for _, tc := range []struct{ name, token string }{{"no token", ""}, {"a wrong token", "not-" + csrf}} {
		t.Run(tc.name, func(t *testing.T) {
			fields := map[string]string{}
			if tc.token != "" {
				fields["_csrf"] = tc.token
			}
			if resp := post(fields, "答卷.csv", file); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("upload with %s: %d, want 403", tc.name, resp.StatusCode)
			}
			if n := f.count("survey_batches"); n != 0 {
				t.Fatalf("a refused upload stored %d batches", n)
			}
		})
	}

	resp := post(map[string]string{"_csrf": csrf}, "答卷.csv", file)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != page || loc.Query().Get("notice") != "uploaded" {
		t.Fatalf("upload: %d to %q, want 303 back to the page", resp.StatusCode, resp.Header.Get("Location"))
	}
	id := loc.Query().Get("batch")
	b, err := f.surveys.GetBatch(context.Background(), f.principal("contractor"), id)
	if err != nil || b.ProjectID != project || b.Status != surveys.BatchQueued || b.JobID == nil {
		t.Fatalf("the uploaded batch: %+v, %v", b.Batch, err)
	}
	got := get(loc.String())
	for _, want := range []string{"已上传，正在后台校验", `data-batch="` + id + `" data-status="queued" data-pending="true" class="current"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the page after the upload lacks %s", want)
		}
	}

	f.ingest(id)
	resp = post(map[string]string{"_csrf": csrf}, "again.csv", file)
	again, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || again.Query().Get("batch") != id || again.Query().Get("notice") != "duplicate" {
		t.Fatalf("the same file again: %d to %q, want the batch %s as a duplicate", resp.StatusCode, resp.Header.Get("Location"), id)
	}
	got = get(again.String())
	if !strings.Contains(got, "此文件已上传过") || !strings.Contains(got, `data-batch="`+id+`" data-status="valid" class="current"`) {
		t.Error("the page does not say that the file was uploaded before")
	}
	if !strings.Contains(got, `<select name="replaces">`) || !strings.Contains(got, `<option value="`+id+`">`) {
		t.Error("the form does not offer to replace the valid batch")
	}
	if n := f.count("survey_batches"); n != 1 {
		t.Fatalf("%d batches after the same file twice, want 1", n)
	}

	t.Run("a file that is no spreadsheet", func(t *testing.T) {
		req := upload("POST", page+"/upload", map[string]string{"_csrf": csrf}, "file", "答卷.pdf", samplePDF)
		req.AddCookie(session)
		resp, body := f.do(req)
		if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(body), `class="alert"`) ||
			!strings.Contains(string(body), "请以 Excel 工作簿（.xlsx）或 CSV 文件（.csv）上传答卷数据") {
			t.Fatalf("a PDF: %d %.300s", resp.StatusCode, body)
		}
	})

	t.Run("submit", func(t *testing.T) {
		empty := f.surveyProject(f.sharedCycle().ID, f.org)
		req := httptestBody(request("POST", "/surveys/"+empty+"/submit", nil), "_csrf="+csrf, "application/x-www-form-urlencoded")
		req.AddCookie(session)
		resp, body := f.do(req)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "项目尚无有效的上传批次") {
			t.Fatalf("submit a project without data: %d %.300s", resp.StatusCode, body)
		}

		req = httptestBody(request("POST", page+"/submit", nil), "_csrf="+csrf, "application/x-www-form-urlencoded")
		req.AddCookie(session)
		resp, _ = f.do(req)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != page+"?notice=submitted" {
			t.Fatalf("submit: %d to %q", resp.StatusCode, loc)
		}
		got := get(page + "?notice=submitted")
		if !strings.Contains(got, "项目已提交验收。") || !strings.Contains(got, "status-submitted") || strings.Contains(got, `action="`+page+`/submit"`) {
			t.Error("the page after submitting does not show the project submitted, without the button")
		}
	})
}

// TestSurveyPagesEscape shows a project name, a file name and a problem
// text holding markup and quotes as text, on the list and the project page.
func TestSurveyPagesEscape(t *testing.T) {
	f := newFixture(t)
	in := surveyInput(f.org.ID, "140100", "140200")
	in["name"] = `<script>alert("项目")</script>`
	project := decode[surveys.Project](t, f.call("admin", "POST", "/api/v1/cycles/"+f.sharedCycle().ID+"/survey-projects", in, http.StatusCreated)).ID
	bad := surveyFile(append(goodRows("140100", "a", 1),
		surveyRow("140100", "enterprise", "x1", `"<script>alert(""答"")</script>"`, "4", "4", "4", "4", "4"))...)
	b := f.surveyBatch("contractor", project, `<script>'答卷'.csv`, bad, nil)
	if b.Status != surveys.BatchInvalid || len(b.Problems) == 0 || !strings.Contains(b.Problems[0].Message, `<script>alert("答")`) {
		t.Fatalf("batch %s with problems %+v; want a problem quoting the answer", b.Status, b.Problems)
	}
	pages := map[string]string{
		"list":    f.pageAs("contractor", request("GET", "/surveys", nil), http.StatusOK),
		"project": f.pageAs("contractor", request("GET", "/surveys/"+project+"?batch="+b.ID, nil), http.StatusOK),
	}
	for name, got := range pages {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(got, "<script>alert") || strings.Contains(got, "<script>'") {
				t.Error("user text reached the page as markup")
			}
			if !strings.Contains(got, `&lt;script&gt;alert(&#34;项目&#34;)&lt;/script&gt;`) {
				t.Error("the project name is not shown escaped")
			}
		})
	}
	got := pages["project"]
	for _, want := range []string{`&lt;script&gt;&#39;答卷&#39;.csv`, `&lt;script&gt;alert(&#34;答&#34;)&lt;/script&gt;`} {
		if !strings.Contains(got, want) {
			t.Errorf("the project page lacks %s", want)
		}
	}
}

// TestBrowserSurveyUpload is a contractor's upload in Chromium: sign in,
// open the project, choose a CSV made like the template and send it. The
// script shows the transfer and the reading in the progress bar, which
// ends full, and the batch appears valid in the table, with the region's
// index, without the page being loaded again; the same file again is
// reported as the batch already uploaded. The page logs no error and asks
// nothing of any other host.
func TestBrowserSurveyUpload(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	f.surveyWorker()
	project := f.surveyProject(f.sharedCycle().ID, f.org)
	file := filepath.Join(t.TempDir(), "答卷.csv")
	rows := append(goodRows("140100", "t", 4), goodRows("140200", "d", 4)...)
	if err := os.WriteFile(file, surveyFile(rows...), 0o600); err != nil {
		t.Fatal(err)
	}
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)
	tab := browsertest.NewTab(t, browser, base)
	page := "/surveys/" + project
	tab.Navigate(page)
	if resp := tab.SignIn("contractor", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("project page after sign-in: status %d", resp.Status)
	}
	tab.WantLocation(page)
	if _, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](`window.sameDocument = 'yes'`)); err != nil {
		t.Fatal(err)
	}

	send := func() uploadState {
		t.Helper()
		if err := chromedp.Do(tab.Ctx,
			chromedp.SetUploadFiles(`#upload-form input[type="file"]`, []string{file}),
			chromedp.Click(`#upload-form button[type="submit"]`),
		); err != nil {
			t.Fatalf("send the file: %v", err)
		}
		return uploadDone(t, tab)
	}
	st := send()
	tab.Screenshot("survey-upload.png")
	if st.State != "valid" || st.Value != st.Max || st.Max == 0 || !strings.Contains(st.Text, "8 行全部有效") {
		t.Errorf("after the upload: %+v, want a full bar and the batch valid", st)
	}
	if len(st.Batches) != 1 || st.Batches[0] != "valid 答卷.csv" {
		t.Errorf("batch rows %q, want one valid batch", st.Batches)
	}
	if st.Index == "" || st.Index == "—" {
		t.Errorf("太原市's index is %q after a valid batch", st.Index)
	}
	if st.Document != "yes" {
		t.Error("the page was loaded again")
	}
	tab.WantLocation(page)

	st = send()
	if st.State != "valid" || st.Value != st.Max || !strings.Contains(st.Text, "此文件已上传过") || len(st.Batches) != 1 {
		t.Errorf("the same file again: %+v, want the earlier batch reported", st)
	}
	if n := f.count("survey_batches"); n != 1 {
		t.Errorf("%d batches after the same file twice, want 1", n)
	}
}

// surveyWorker runs a worker that reads uploaded batches, as the service
// does, until the test ends.
func (f *fixture) surveyWorker() {
	f.t.Helper()
	reg := jobs.NewRegistry()
	reg.Register(surveys.JobKind, f.surveys.Handler(nil))
	w := jobs.NewWorker(f.db, f.redis, reg, 1, nil)
	w.PollInterval = 100 * time.Millisecond
	if err := w.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(w.Shutdown)
}

// uploadState is what the project page shows of an upload.
type uploadState struct {
	State, Text string
	Value, Max  float64
	// Batches are the rows of the batch table: status and file name.
	Batches []string
	// Index is 140100's satisfaction index in the quality table.
	Index    string
	Document string
}

// uploadDone waits up to twenty seconds for the upload's progress to end
// and returns what the page then shows.
func uploadDone(t *testing.T, tb *browsertest.Tab) uploadState {
	t.Helper()
	const read = `(function () {
		var box = document.querySelector('#upload-form .progress'), bar = box.querySelector('progress');
		var index = document.querySelector('#quality tr[data-region="140100"] td.index');
		return {
			State: box.getAttribute('data-state') || '', Text: box.querySelector('.progress-text').textContent,
			Value: bar.value, Max: bar.max,
			Batches: Array.from(document.querySelectorAll('#batches tr[data-batch]')).map(function (tr) {
				return tr.getAttribute('data-status') + ' ' + tr.cells[0].textContent.trim();
			}),
			Index: index ? index.textContent.trim() : '', Document: String(window.sameDocument)
		};
	})()`
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[uploadState](read))
		if err != nil {
			t.Fatal(err)
		}
		switch st.State {
		case "valid", "invalid", "failed", "error":
			// The sections are swapped in after the bar is full.
			if len(st.Batches) > 0 && !strings.HasPrefix(st.Batches[0], "queued") && !strings.HasPrefix(st.Batches[0], "loading") {
				return st
			}
		}
		if time.Now().After(deadline) {
			tb.Screenshot("survey-upload-timeout.png")
			t.Fatalf("the upload did not end: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
