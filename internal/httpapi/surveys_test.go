package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// surveyHeader is the header of the test response files: the template's
// column names for the default questionnaire.
const surveyHeader = "region,respondent_type,respondent_id,seconds,submitted_at,convenience,efficiency,information,consultation,attitude,overall"

// surveyFile joins the header and rows into a CSV file.
func surveyFile(rows ...string) []byte {
	return []byte(surveyHeader + "\n" + strings.Join(rows, "\n") + "\n")
}

// surveyRow is one response: region, type and id, a completion time and a
// submission time inside the fieldwork window of surveyInput, then the six
// answers.
func surveyRow(region, typ, id string, answers ...string) string {
	return strings.Join(append([]string{region, typ, id, "300", "2025-05-10 10:00:00"}, answers...), ",")
}

// goodRows returns n valid responses for region, ids prefix1…prefixN,
// with answers varied enough that no screen flags them.
func goodRows(region, prefix string, n int) []string {
	sets := [][]string{{"5", "4", "4", "5", "3", "4"}, {"4", "4", "3", "4", "5", "4"}, {"非常满意", "满意", "基本满意", "满意", "满意", "非常满意"}}
	types := []string{"enterprise", "institute", "个人"}
	out := make([]string, n)
	for i := range out {
		out[i] = surveyRow(region, types[i%len(types)], prefix+strconv.Itoa(i+1), sets[i%len(sets)]...)
	}
	return out
}

// surveyInput is a project of org over regions, each with a minimum
// sample of 2, fielded in May and June 2025.
func surveyInput(org string, regions ...string) map[string]any {
	rs := make([]map[string]any, len(regions))
	for i, r := range regions {
		rs[i] = map[string]any{"code": r, "target": 10, "minimum": 2}
	}
	return map[string]any{"organisation_id": org, "name": "2025年知识产权公共服务满意度调查", "regions": rs,
		"fieldwork_start": "2025-05-01", "fieldwork_end": "2025-06-30"}
}

// principal is the named account as the stores see it.
func (f *fixture) principal(who string) auth.Principal {
	f.t.Helper()
	u := f.accounts[who].user
	p := auth.Principal{UserID: u.ID, Username: u.Username, Role: u.Role}
	if u.RegionCode != nil {
		p.RegionCode = *u.RegionCode
	}
	if u.OrganisationID != nil {
		p.OrganisationID = *u.OrganisationID
	}
	return p
}

// surveyProject commissions, as an admin, a survey of cycleID from org
// (of regions 140100 and 140200 unless named) and returns its id.
func (f *fixture) surveyProject(cycleID string, org auth.Organisation, regions ...string) string {
	f.t.Helper()
	if len(regions) == 0 {
		regions = []string{"140100", "140200"}
	}
	b := f.call("admin", "POST", "/api/v1/cycles/"+cycleID+"/survey-projects", surveyInput(org.ID, regions...), http.StatusCreated)
	return decode[surveys.Project](f.t, b).ID
}

// uploadSurvey uploads a file to a project as who and returns the status
// and body.
func (f *fixture) uploadSurvey(who, projectID, name string, data []byte, fields map[string]string) (*http.Response, []byte) {
	f.t.Helper()
	return f.do(f.as(who, upload("POST", "/api/v1/survey-projects/"+projectID+"/batches", fields, "file", name, data)))
}

// surveyBatch uploads a new file as who, runs its ingestion job as a
// worker would and returns the batch as read.
func (f *fixture) surveyBatch(who, projectID, name string, data []byte, fields map[string]string) surveys.BatchView {
	f.t.Helper()
	resp, body := f.uploadSurvey(who, projectID, name, data, fields)
	if resp.StatusCode != http.StatusAccepted {
		f.t.Fatalf("upload %s: %d %s", name, resp.StatusCode, body)
	}
	return f.ingest(decode[surveys.Batch](f.t, body).ID)
}

// ingest runs the ingestion job of a batch in the test, as a worker would,
// and returns the batch as the API then shows it.
func (f *fixture) ingest(batchID string) surveys.BatchView {
	f.t.Helper()
	ctx := context.Background()
	v, err := f.surveys.GetBatch(ctx, f.principal("admin"), batchID)
	if err != nil {
		f.t.Fatal(err)
	}
	job, err := f.queue.Get(ctx, *v.JobID)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.surveys.Handler(slog.New(slog.DiscardHandler))(ctx, job, func(int, string) {}); err != nil {
		f.t.Fatalf("ingest batch %s: %v", batchID, err)
	}
	return decode[surveys.BatchView](f.t, f.call("admin", "GET", "/api/v1/survey-batches/"+batchID, nil, http.StatusOK))
}

// validBatch returns a project of the shared cycle for the fixture's
// contractor, holding one valid batch, and the batch's id.
func (f *fixture) validBatch() (projectID, batchID string) {
	f.t.Helper()
	return f.validBatchOf(f.sharedCycle().ID, f.org)
}

// validBatchOf is validBatch for a cycle and organisation.
func (f *fixture) validBatchOf(cycleID string, org auth.Organisation) (projectID, batchID string) {
	f.t.Helper()
	projectID = f.surveyProject(cycleID, org)
	rows := append(goodRows("140100", "a", 3), goodRows("140200", "b", 3)...)
	b := f.surveyBatch("admin", projectID, "答卷.csv", surveyFile(rows...), nil)
	if b.Status != surveys.BatchValid {
		f.t.Fatalf("batch is %s: %+v", b.Status, b.Problems)
	}
	return projectID, b.ID
}

// submittedProject returns a project of the shared cycle with a valid
// batch, submitted for acceptance.
func (f *fixture) submittedProject() string {
	f.t.Helper()
	id, _ := f.validBatch()
	f.call("admin", "POST", "/api/v1/survey-projects/"+id+"/submit", nil, http.StatusOK)
	return id
}

// acceptedProject returns a project of the shared cycle, accepted.
func (f *fixture) acceptedProject() string {
	f.t.Helper()
	id := f.submittedProject()
	f.call("admin", "POST", "/api/v1/survey-projects/"+id+"/accept", nil, http.StatusOK)
	return id
}

// surveyedCycle returns a published cycle whose survey of 140100 and
// 140200 was accepted; made once per fixture.
func (f *fixture) surveyedCycle() cycles.Cycle {
	f.t.Helper()
	if f.surveyed == nil {
		cy := f.collectingCycle()
		id, _ := f.validBatchOf(cy.ID, f.org)
		f.call("contractor", "POST", "/api/v1/survey-projects/"+id+"/submit", nil, http.StatusOK)
		f.call("admin", "POST", "/api/v1/survey-projects/"+id+"/accept", nil, http.StatusOK)
		f.publish(cy.ID)
		f.surveyed = &cy
	}
	return *f.surveyed
}

// publish moves a collecting cycle to scoring and publishes a run of it.
func (f *fixture) publish(cycleID string) {
	f.t.Helper()
	if _, err := f.cycles.Transition(context.Background(), cycleID, cycles.Scoring); err != nil {
		f.t.Fatal(err)
	}
	f.scoredRunOf(cycleID, true)
}

// quality returns the responses per region of a project's quality summary.
func (f *fixture) quality(who, projectID string) map[string]int {
	f.t.Helper()
	q := decode[struct{ Items []surveys.RegionIndex }](f.t, f.call(who, "GET", "/api/v1/survey-projects/"+projectID+"/quality", nil, http.StatusOK))
	out := map[string]int{}
	for _, ri := range q.Items {
		out[ri.RegionCode] = ri.Responses
	}
	return out
}

// problemDoc is a problem document with the members these tests read.
type problemDoc struct {
	Detail        string             `json:"detail"`
	Errors        []fault.FieldError `json:"errors"`
	ProjectStatus string             `json:"project_status"`
	BatchStatus   string             `json:"batch_status"`
}

// xlsxFile builds a one-sheet workbook of rows.
func xlsxFile(tb testing.TB, rows [][]string) []byte {
	tb.Helper()
	x := excelize.NewFile()
	defer x.Close()
	sheet := x.GetSheetName(0)
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, v := range r {
			cells[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow(sheet, cell, &cells); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestQuestionnairesAPI stores questionnaires as YAML and JSON: a new
// document is a new version, the same one again returns the stored
// version, a bad one lists its problems by path and stores nothing.
func TestQuestionnairesAPI(t *testing.T) {
	f := newFixture(t)
	q := questionnaire.Default()
	q.Code = "test_survey"
	yml, err := q.YAML()
	if err != nil {
		t.Fatal(err)
	}
	js, err := q.JSON()
	if err != nil {
		t.Fatal(err)
	}
	post := func(body []byte, contentType string) (*http.Response, []byte) {
		t.Helper()
		return f.do(f.as("admin", httptestBody(request("POST", "/api/v1/questionnaires", nil), string(body), contentType)))
	}

	resp, body := post(yml, "application/yaml")
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), "/api/v1/questionnaires/") {
		t.Fatalf("create: %d %s (Location %q)", resp.StatusCode, body, resp.Header.Get("Location"))
	}
	first := decode[surveys.StoredQuestionnaire](t, body)
	if first.Version != 1 || first.Code != "test_survey" || len(first.Questionnaire.Items) != 6 {
		t.Fatalf("stored %+v", first)
	}

	for _, tc := range []struct {
		name, contentType string
		body              []byte
	}{
		{"same document as JSON", "application/json", js},
		{"same document as text/yaml", "text/yaml; charset=utf-8", yml},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(tc.body, tc.contentType)
			if again := decode[surveys.StoredQuestionnaire](t, body); resp.StatusCode != http.StatusOK || again.ID != first.ID {
				t.Fatalf("%d %s, want 200 with the stored version", resp.StatusCode, body)
			}
		})
	}

	q.Name = "修订版问卷"
	js2, _ := q.JSON()
	resp, body = post(js2, "application/json")
	if v2 := decode[surveys.StoredQuestionnaire](t, body); resp.StatusCode != http.StatusCreated || v2.Version != 2 || v2.ID == first.ID {
		t.Fatalf("changed document: %d %s, want version 2", resp.StatusCode, body)
	}

	before := f.count("questionnaires")
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"answer label outside the scale", "application/yaml", strings.Replace(string(yml), "value: 1", "value: 9", 1), http.StatusBadRequest, "labels["},
		{"unknown field", "application/yaml", string(yml) + "colour: blue\n", http.StatusBadRequest, "colour"},
		{"not a document type", "text/plain", string(yml), http.StatusUnsupportedMediaType, "yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post([]byte(tc.body), tc.contentType)
			wantProblem(t, resp, body, tc.status)
			if !strings.Contains(string(body), tc.want) {
				t.Fatalf("problem lacks %q: %s", tc.want, body)
			}
		})
	}
	if f.count("questionnaires") != before {
		t.Fatal("a refused questionnaire was stored")
	}

	list := decode[struct{ Items []surveys.StoredQuestionnaire }](t, f.call("admin", "GET", "/api/v1/questionnaires", nil, http.StatusOK))
	if len(list.Items) != 2 || list.Items[0].Version != 2 {
		t.Fatalf("list %+v, want versions 2 and 1", list.Items)
	}
	got := decode[surveys.StoredQuestionnaire](t, f.call("admin", "GET", "/api/v1/questionnaires/"+first.ID, nil, http.StatusOK))
	if got.Questionnaire.Name != questionnaire.Default().Name {
		t.Fatalf("version 1 reads back as %q", got.Questionnaire.Name)
	}
	f.call("admin", "GET", "/api/v1/questionnaires/nope", nil, http.StatusNotFound)
}

// TestSurveyProjectsAPI commissions projects: bad input is listed by
// field, and a contractor sees only its organisation's projects.
func TestSurveyProjectsAPI(t *testing.T) {
	f := newFixture(t)
	cy := f.sharedCycle()
	path := "/api/v1/cycles/" + cy.ID + "/survey-projects"

	bad := surveyInput("nope", "140100", "999999", "140100")
	bad["name"] = " "
	bad["fieldwork_end"] = "2025-04-01"
	resp, body := f.do(f.as("admin", request("POST", path, bad)))
	wantProblem(t, resp, body, http.StatusBadRequest)
	var fields []string
	for _, e := range decode[problemDoc](t, body).Errors {
		fields = append(fields, e.Field+":"+e.Code)
	}
	for _, want := range []string{"name:invalid_name", "organisation_id:unknown_organisation", "fieldwork_end:end_before_start",
		"regions[1].code:unknown_region", "regions[2].code:duplicate_region"} {
		if !slices.Contains(fields, want) {
			t.Errorf("problem does not list %s: %v", want, fields)
		}
	}
	if n := f.count("survey_projects"); n != 0 {
		t.Fatalf("a refused project was stored (%d)", n)
	}
	f.call("admin", "POST", "/api/v1/cycles/nope/survey-projects", surveyInput(f.org.ID, "140100"), http.StatusNotFound)
	resp, body = f.do(f.as("admin", request("POST", path, map[string]any{"name": "x", "colour": "blue"})))
	wantProblem(t, resp, body, http.StatusBadRequest)

	resp, body = f.do(f.as("admin", request("POST", path, surveyInput(f.org.ID, "140100", "140200"))))
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), "/api/v1/survey-projects/") {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	own := decode[surveys.Project](t, body)
	if own.Status != surveys.ProjectOpen || len(own.Regions) != 2 || own.Regions[0].Minimum != 2 {
		t.Fatalf("created %+v", own)
	}
	other := f.surveyProject(cy.ID, f.org2)

	for _, tc := range []struct {
		who, query string
		want       []string
	}{
		{"admin", "", []string{other, own.ID}},
		{"admin", "?cycle=" + cy.ID, []string{other, own.ID}},
		{"admin", "?cycle=nope", nil},
		{"contractor", "", []string{own.ID}},
	} {
		t.Run(tc.who+tc.query, func(t *testing.T) {
			list := decode[struct{ Items []surveys.Project }](t, f.call(tc.who, "GET", "/api/v1/survey-projects"+tc.query, nil, http.StatusOK))
			var ids []string
			for _, p := range list.Items {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("listed %v, want %v", ids, tc.want)
			}
		})
	}
	v := decode[surveys.ProjectView](t, f.call("contractor", "GET", "/api/v1/survey-projects/"+own.ID, nil, http.StatusOK))
	if v.Questionnaire.Code != "satisfaction" || len(v.Questionnaire.Questionnaire.Items) != 6 {
		t.Fatalf("project view %+v", v.Questionnaire)
	}
	f.call("admin", "GET", "/api/v1/survey-projects/nope", nil, http.StatusNotFound)
}

// TestSurveyBadUploads uploads the files contractors get wrong. Each is
// taken (202) and read by the job; a bad one leaves its batch invalid or
// failed with its problems and stores no response at all; a good one in
// an awkward encoding is read.
func TestSurveyBadUploads(t *testing.T) {
	f := newFixture(t)
	cy := f.sharedCycle()
	good := goodRows("140100", "g", 2)
	xlsx := xlsxFile(t, [][]string{strings.Split(surveyHeader, ","), strings.Split(good[0], ",")})

	for _, tc := range []struct {
		name, file string
		data       []byte
		status     surveys.BatchStatus
		// code, row and column of the first problem, or text of the error.
		code, column string
		row          int
		want         string
	}{
		{name: "answer 6 on a 5-point scale", file: "a.csv", status: surveys.BatchInvalid,
			data: surveyFile(good[0], surveyRow("140100", "enterprise", "x", "5", "6", "4", "4", "4", "4")),
			code: "out_of_scale", row: 3, column: "efficiency", want: "1–5"},
		{name: "label not on the scale", file: "a.csv", status: surveys.BatchInvalid,
			data: surveyFile(surveyRow("140100", "enterprise", "x", "还行", "4", "4", "4", "4", "4")),
			code: "unknown_label", row: 2, column: "convenience", want: "还行"},
		{name: "required item unanswered", file: "a.csv", status: surveys.BatchInvalid,
			data: surveyFile(surveyRow("140100", "enterprise", "x", "4", "4", "4", "4", "4", "")),
			code: "missing_item", row: 2, column: "overall", want: "overall"},
		{name: "unknown region", file: "a.csv", status: surveys.BatchInvalid,
			data: surveyFile(surveyRow("999999", "enterprise", "x", "4", "4", "4", "4", "4", "4")),
			code: "unknown_region", row: 2, column: "region", want: "999999"},
		{name: "region outside the project", file: "a.csv", status: surveys.BatchInvalid,
			data: surveyFile(surveyRow("149900", "enterprise", "x", "4", "4", "4", "4", "4", "4")),
			code: "region_outside_project", row: 2, column: "region", want: "149900"},
		{name: "header matching no mapping", file: "a.csv", status: surveys.BatchInvalid,
			data: []byte("地点,问题一,问题二\n太原市,5,4\n"),
			code: "missing_columns", row: 1, want: "region, respondent_type, convenience"},
		{name: "empty file", file: "a.csv", status: surveys.BatchFailed, data: []byte{}, want: "empty"},
		{name: "header only", file: "a.csv", status: surveys.BatchFailed, data: []byte(surveyHeader + "\r\n"), want: "no data rows"},
		{name: "truncated xlsx", file: "a.xlsx", status: surveys.BatchFailed, data: xlsx[:len(xlsx)/2], want: "xlsx"},
		{name: "mixed line endings and a BOM", file: "a.csv", status: surveys.BatchValid,
			data: []byte("\ufeff" + surveyHeader + "\r\n" + good[0] + "\n" + good[1] + "\r" + goodRows("140100", "h", 1)[0] + "\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			project := f.surveyProject(cy.ID, f.org, "140100")
			b := f.surveyBatch("contractor", project, tc.file, tc.data, nil)
			if b.Status != tc.status {
				t.Fatalf("batch is %s, want %s: %+v %q", b.Status, tc.status, b.Problems, b.Error)
			}
			responses := f.quality("contractor", project)["140100"]
			if tc.status == surveys.BatchValid {
				if responses != 3 || b.ValidRows != 3 {
					t.Fatalf("valid batch: %d rows read, %d responses stored; want 3", b.ValidRows, responses)
				}
				return
			}
			if responses != 0 || b.ValidRows != 0 {
				t.Fatalf("a refused batch stored %d responses", responses)
			}
			if tc.code == "" {
				if !strings.Contains(strings.ToLower(b.Error), tc.want) {
					t.Fatalf("error %q lacks %q", b.Error, tc.want)
				}
				return
			}
			if len(b.Problems) == 0 || b.ProblemCount != len(b.Problems) {
				t.Fatalf("problems %+v, count %d", b.Problems, b.ProblemCount)
			}
			p := b.Problems[0]
			if p.Code != tc.code || p.Row != tc.row || p.Column != tc.column || p.Message == "" || p.MessageEn == "" ||
				!strings.Contains(p.Message+p.MessageEn, tc.want) {
				t.Fatalf("problem %+v, want %s at row %d column %q naming %q", p, tc.code, tc.row, tc.column, tc.want)
			}
		})
	}
	if n := f.count("survey_responses"); n != 3 {
		t.Fatalf("%d responses stored, want only the 3 of the good file", n)
	}
}

// TestSurveyReport downloads the validation report of an invalid batch as
// CSV and XLSX and reads both back.
func TestSurveyReport(t *testing.T) {
	f := newFixture(t)
	project := f.surveyProject(f.sharedCycle().ID, f.org, "140100")
	b := f.surveyBatch("contractor", project, "五月答卷.csv", surveyFile(
		surveyRow("140100", "enterprise", "x1", "6", "4", "4", "4", "4", "4"),
		surveyRow("140200", "enterprise", "x2", "4", "4", "4", "4", "4", "4")), nil)
	if b.Status != surveys.BatchInvalid || b.ProblemCount != 2 {
		t.Fatalf("batch %s with %d problems, want invalid with 2", b.Status, b.ProblemCount)
	}
	base := "/api/v1/survey-batches/" + b.ID + "/report"
	want := [][]string{{"2", "convenience", "out_of_scale"}, {"3", "region", "region_outside_project"}}

	for _, tc := range []struct {
		query, contentType string
		read               func(t *testing.T, body []byte) [][]string
	}{
		{"", "text/csv; charset=utf-8", readCSVReport},
		{"?format=csv", "text/csv; charset=utf-8", readCSVReport},
		{"?format=XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", readXLSXReport},
	} {
		t.Run("format"+tc.query, func(t *testing.T) {
			f.t = t
			resp, body := f.do(f.as("contractor", request("GET", base+tc.query, nil)))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.contentType {
				t.Fatalf("report: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") ||
				!strings.Contains(cd, "filename*=utf-8''%E6%A0%A1%E9%AA%8C%E6%8A%A5%E5%91%8A-%E4%BA%94%E6%9C%88") {
				t.Fatalf("disposition %q, want 校验报告-五月答卷", cd)
			}
			rows := tc.read(t, body)
			if len(rows) != 3 {
				t.Fatalf("report rows %q, want a header and 2 problems", rows)
			}
			for i, w := range want {
				if got := rows[i+1]; len(got) < 5 || !slices.Equal(got[:3], w) || got[3] == "" || got[4] == "" {
					t.Fatalf("report row %d: %q, want %q with messages", i+1, got, w)
				}
			}
		})
	}
	resp, body := f.do(f.as("contractor", request("GET", base+"?format=pdf", nil)))
	wantProblem(t, resp, body, http.StatusBadRequest)
	if e := decode[problemDoc](t, body).Errors; len(e) != 1 || e[0].Field != "format" {
		t.Fatalf("unknown format: %s", body)
	}
	f.call("contractor", "GET", "/api/v1/survey-batches/nope/report", nil, http.StatusNotFound)
}

func readCSVReport(t *testing.T, body []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readXLSXReport(t *testing.T, body []byte) [][]string {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestSurveyUploadRefusals covers the uploads refused at once, before any
// batch exists: each answers its problem and stores nothing.
func TestSurveyUploadRefusals(t *testing.T) {
	f := newFixture(t)
	cy := f.sharedCycle()
	open := f.surveyProject(cy.ID, f.org, "140100")
	others := f.surveyProject(cy.ID, f.org2, "140100")
	accepted := f.acceptedProject()
	file := surveyFile(goodRows("140100", "r", 2)...)
	big := surveyFile(goodRows("140100", "big", fixtureUploadMax/40)...)
	if len(big) <= fixtureUploadMax {
		t.Fatalf("the large file is only %d bytes", len(big))
	}
	batches, jobsBefore, blobs := f.count("survey_batches"), f.count("jobs"), f.storedFiles(t, "surveys")

	for _, tc := range []struct {
		name, who, project, file string
		data                     []byte
		fields                   map[string]string
		status                   int
		want                     string
		ext                      func(problemDoc) string
	}{
		{name: "over the size limit", who: "contractor", project: open, file: "big.csv", data: big, status: http.StatusRequestEntityTooLarge, want: "exceeds"},
		{name: "old Excel format", who: "contractor", project: open, file: "a.xls", data: file, status: http.StatusUnsupportedMediaType, want: ".xls"},
		{name: "another organisation's project", who: "contractor", project: others, file: "a.csv", data: file, status: http.StatusNotFound},
		{name: "accepted project", who: "admin", project: accepted, file: "a.csv", data: file, status: http.StatusConflict, want: "accepted",
			ext: func(p problemDoc) string { return p.ProjectStatus }},
		{name: "unknown project", who: "admin", project: "nope", file: "a.csv", data: file, status: http.StatusNotFound},
		{name: "replaces a batch of no such id", who: "contractor", project: open, file: "a.csv", data: file,
			fields: map[string]string{"replaces": "nope"}, status: http.StatusBadRequest, want: "unknown_batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			resp, body := f.uploadSurvey(tc.who, tc.project, tc.file, tc.data, tc.fields)
			wantProblem(t, resp, body, tc.status)
			if !strings.Contains(string(body), tc.want) {
				t.Fatalf("problem lacks %q: %s", tc.want, body)
			}
			if tc.ext != nil && tc.ext(decode[problemDoc](t, body)) != "accepted" {
				t.Fatalf("problem lacks the project status: %s", body)
			}
			if n := f.storedFiles(t, "surveys"); n != blobs {
				t.Fatalf("a refused upload left %d files (had %d)", n, blobs)
			}
		})
	}
	t.Run("no file or no form", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("contractor", upload("POST", "/api/v1/survey-projects/"+open+"/batches", nil, "", "", nil)))
		wantProblem(t, resp, body, http.StatusBadRequest)
		resp, body = f.do(f.as("contractor", request("POST", "/api/v1/survey-projects/"+open+"/batches", map[string]string{"file": "x"})))
		wantProblem(t, resp, body, http.StatusUnsupportedMediaType)
	})
	f.t = t
	if f.count("survey_batches") != batches || f.count("jobs") != jobsBefore {
		t.Fatalf("refused uploads left batches (%d → %d) or jobs (%d → %d)", batches, f.count("survey_batches"), jobsBefore, f.count("jobs"))
	}
}

// TestSurveyBatchLifecycle re-uploads, withdraws and replaces batches and
// watches the quality summary follow.
func TestSurveyBatchLifecycle(t *testing.T) {
	f := newFixture(t)
	project := f.surveyProject(f.sharedCycle().ID, f.org, "140100")
	first := surveyFile(goodRows("140100", "a", 3)...)
	a := f.surveyBatch("contractor", project, "a.csv", first, nil)

	t.Run("identical re-upload returns the batch", func(t *testing.T) {
		f.t = t
		resp, body := f.uploadSurvey("contractor", project, "again.csv", first, nil)
		if got := decode[surveys.Batch](t, body); resp.StatusCode != http.StatusOK || got.ID != a.ID || resp.Header.Get("Location") != "" {
			t.Fatalf("re-upload: %d %s, want 200 with batch %s", resp.StatusCode, body, a.ID)
		}
	})

	b := f.surveyBatch("contractor", project, "b.csv", surveyFile(goodRows("140100", "b", 2)...), nil)
	if got := f.quality("contractor", project)["140100"]; got != 5 {
		t.Fatalf("two batches give %d responses, want 5", got)
	}

	t.Run("withdraw removes the batch's responses", func(t *testing.T) {
		f.t = t
		w := decode[surveys.Batch](t, f.call("contractor", "POST", "/api/v1/survey-batches/"+b.ID+"/withdraw", nil, http.StatusOK))
		if w.Status != surveys.BatchWithdrawn || w.WithdrawnAt == nil {
			t.Fatalf("withdrawn batch %+v", w)
		}
		if got := f.quality("contractor", project)["140100"]; got != 3 {
			t.Fatalf("after withdrawal %d responses, want 3", got)
		}
		f.call("contractor", "POST", "/api/v1/survey-batches/"+b.ID+"/withdraw", nil, http.StatusOK)
	})

	t.Run("a queued batch cannot be withdrawn", func(t *testing.T) {
		f.t = t
		resp, body := f.uploadSurvey("contractor", project, "q.csv", surveyFile(goodRows("140100", "q", 1)...), nil)
		if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") == "" {
			t.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		q := decode[surveys.Batch](t, body)
		v := decode[surveys.BatchView](t, f.call("contractor", "GET", resp.Header.Get("Location"), nil, http.StatusOK))
		if v.Status != surveys.BatchQueued || v.Job == nil || v.Job.Kind != surveys.JobKind || v.Job.Status != jobs.StatusQueued {
			t.Fatalf("queued batch %+v, job %+v", v.Batch, v.Job)
		}
		resp, body = f.do(f.as("contractor", request("POST", "/api/v1/survey-batches/"+q.ID+"/withdraw", nil)))
		wantProblem(t, resp, body, http.StatusConflict)
		if decode[problemDoc](t, body).BatchStatus != "queued" {
			t.Fatalf("problem lacks the batch status: %s", body)
		}
		f.ingest(q.ID)
		f.call("contractor", "POST", "/api/v1/survey-batches/"+q.ID+"/withdraw", nil, http.StatusOK)
	})

	t.Run("an invalid replacement changes nothing", func(t *testing.T) {
		f.t = t
		bad := surveyFile(surveyRow("140100", "enterprise", "z", "9", "4", "4", "4", "4", "4"))
		r := f.surveyBatch("contractor", project, "fix.csv", bad, map[string]string{"replaces": a.ID})
		if r.Status != surveys.BatchInvalid || r.Replaces == nil || *r.Replaces != a.ID {
			t.Fatalf("replacement %+v", r.Batch)
		}
		if old := f.ingest(a.ID); old.Status != surveys.BatchValid {
			t.Fatalf("the replaced batch is %s", old.Status)
		}
		if got := f.quality("contractor", project)["140100"]; got != 3 {
			t.Fatalf("after an invalid replacement %d responses, want 3", got)
		}
	})

	t.Run("a valid replacement swaps the data", func(t *testing.T) {
		f.t = t
		r := f.surveyBatch("contractor", project, "fix.csv", surveyFile(goodRows("140100", "c", 2)...), map[string]string{"replaces": a.ID})
		if r.Status != surveys.BatchValid {
			t.Fatalf("replacement is %s: %+v", r.Status, r.Problems)
		}
		old := f.ingest(a.ID)
		if old.Status != surveys.BatchReplaced || old.ReplacedBy == nil || *old.ReplacedBy != r.ID {
			t.Fatalf("the replaced batch %+v", old.Batch)
		}
		if got := f.quality("contractor", project)["140100"]; got != 2 {
			t.Fatalf("after the replacement %d responses, want 2", got)
		}
		// A batch already replaced is no longer there to replace.
		resp, body := f.uploadSurvey("contractor", project, "again.csv", surveyFile(goodRows("140100", "d", 1)...), map[string]string{"replaces": a.ID})
		wantProblem(t, resp, body, http.StatusConflict)
	})

	list := decode[struct{ Items []surveys.Batch }](t, f.call("contractor", "GET", "/api/v1/survey-projects/"+project+"/batches", nil, http.StatusOK))
	if len(list.Items) != 5 {
		t.Fatalf("%d batches listed, want 5", len(list.Items))
	}
}

// TestSurveyMapping loads a file whose tool names its columns its own way,
// once the project's mapping names them.
func TestSurveyMapping(t *testing.T) {
	f := newFixture(t)
	project := f.surveyProject(f.sharedCycle().ID, f.org, "140100")
	file := []byte("所在城市代码,受访对象,流水,Q1,Q2,Q3,Q4,Q5,Q6\n" +
		"140100,企业,m1,5,4,4,5,3,4\n140100,个人,m2,4,4,3,4,5,4\n")
	mapping := "/api/v1/survey-projects/" + project + "/mapping"

	if b := f.surveyBatch("contractor", project, "tool.csv", file, nil); b.Status != surveys.BatchInvalid || b.Problems[0].Code != "missing_columns" {
		t.Fatalf("unmapped file: %s %+v", b.Status, b.Problems)
	}
	resp, body := f.do(f.as("contractor", request("PUT", mapping, map[string]any{"columns": map[string]string{"Q1": "nope"}})))
	wantProblem(t, resp, body, http.StatusBadRequest)

	cols := map[string]string{"所在城市代码": "region", "受访对象": "respondent_type", "流水": "respondent_id",
		"Q1": "convenience", "Q2": "efficiency", "Q3": "information", "Q4": "consultation", "Q5": "attitude", "Q6": "overall"}
	p := decode[surveys.Project](t, f.call("contractor", "PUT", mapping, map[string]any{"columns": cols}, http.StatusOK))
	if len(p.Mapping.Columns) != len(cols) {
		t.Fatalf("saved mapping %v", p.Mapping.Columns)
	}
	if b := f.surveyBatch("contractor", project, "tool.csv", file, nil); b.Status != surveys.BatchValid || b.ValidRows != 2 {
		t.Fatalf("mapped file: %s, %d rows, %+v", b.Status, b.ValidRows, b.Problems)
	}
}

// TestSurveyTemplate downloads a project's template in both formats and
// uploads the workbook filled in.
func TestSurveyTemplate(t *testing.T) {
	f := newFixture(t)
	project := f.surveyProject(f.sharedCycle().ID, f.org, "140100", "140200")
	base := "/api/v1/survey-projects/" + project + "/template"

	resp, body := f.do(f.as("contractor", request("GET", base+"?format=csv", nil)))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(string(body), "\ufeffregion,respondent_type,respondent_id") {
		t.Fatalf("CSV template: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, tpl := f.do(f.as("contractor", request("GET", base, nil)))
	cd := resp.Header.Get("Content-Disposition")
	// 满意度调查模板-2025年…
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
		!strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=utf-8''%E6%BB%A1%E6%84%8F%E5%BA%A6%E8%B0%83%E6%9F%A5%E6%A8%A1%E6%9D%BF-2025") ||
		!strings.HasSuffix(cd, ".xlsx") {
		t.Fatalf("XLSX template: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = f.do(f.as("contractor", request("GET", base+"?format=ods", nil)))
	wantProblem(t, resp, body, http.StatusBadRequest)

	x, err := excelize.OpenReader(bytes.NewReader(tpl))
	if err != nil {
		t.Fatal(err)
	}
	sheet := x.GetSheetName(0)
	header, err := x.GetRows(sheet)
	if err != nil || len(header) != 1 {
		t.Fatalf("template rows %q (%v)", header, err)
	}
	row := []any{"大同市", "服务机构", "t1", "13800000000", "125", "2025-06-30 23:00:00", "非常满意", "满意", "5", "4", "满意", "基本满意"}
	if err := x.SetSheetRow(sheet, "A2", &row); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	_ = x.Close()
	b := f.surveyBatch("contractor", project, "filled.xlsx", buf.Bytes(), nil)
	if b.Status != surveys.BatchValid || b.Format != "xlsx" {
		t.Fatalf("filled template: %s %+v %q", b.Status, b.Problems, b.Error)
	}
	if q := f.quality("contractor", project); q["140200"] != 1 || q["140100"] != 0 {
		t.Fatalf("quality after the template %v", q)
	}
}

// TestSurveyAcceptance takes a project through submission and acceptance:
// the indices become the cycle's D1 values, verified with their interval,
// and a city official reads its region's index once results are published.
func TestSurveyAcceptance(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	project, _ := f.validBatchOf(cy.ID, f.org)
	path := "/api/v1/survey-projects/" + project

	f.call("contractor", "POST", path+"/accept", nil, http.StatusForbidden)
	resp, body := f.do(f.as("admin", request("POST", path+"/accept", nil)))
	wantProblem(t, resp, body, http.StatusConflict)
	if decode[problemDoc](t, body).ProjectStatus != "open" {
		t.Fatalf("problem lacks the project status: %s", body)
	}

	sub := decode[surveys.Project](t, f.call("contractor", "POST", path+"/submit", nil, http.StatusOK))
	if sub.Status != surveys.ProjectSubmitted {
		t.Fatalf("submitted project is %s", sub.Status)
	}
	// Until acceptance the contractor may still change the data, and the
	// manager cannot accept while a batch is being read.
	resp, uploaded := f.uploadSurvey("contractor", project, "late.csv", surveyFile(goodRows("140100", "late", 1)...), nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload while submitted: %d %s", resp.StatusCode, uploaded)
	}
	resp, body = f.do(f.as("admin", request("POST", path+"/accept", nil)))
	wantProblem(t, resp, body, http.StatusConflict)
	f.ingest(decode[surveys.Batch](t, uploaded).ID)

	t.Run("return needs a reason", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", request("POST", path+"/return", nil)))
		wantProblem(t, resp, body, http.StatusBadRequest)
		if !strings.Contains(string(body), "reason_required") {
			t.Fatalf("problem: %s", body)
		}
		ret := decode[surveys.Project](t, f.call("admin", "POST", path+"/return", map[string]string{"reason": "大同市样本不足"}, http.StatusOK))
		if ret.Status != surveys.ProjectReturned || ret.StatusReason != "大同市样本不足" {
			t.Fatalf("returned project %+v", ret)
		}
		f.call("contractor", "POST", path+"/submit", map[string]string{"reason": "已补充"}, http.StatusOK)
	})
	f.t = t

	resp, body = f.do(f.as("city", request("GET", "/api/v1/cycles/"+cy.ID+"/survey-indices", nil)))
	wantProblem(t, resp, body, http.StatusNotFound)

	acc := decode[struct {
		Project    surveys.Project
		Acceptance surveys.Acceptance
	}](t, f.call("admin", "POST", path+"/accept", nil, http.StatusOK))
	if acc.Project.Status != surveys.ProjectAccepted || !slices.Equal(acc.Acceptance.Indicators, []string{"D1"}) ||
		!slices.Equal(acc.Acceptance.Regions, []string{"140100", "140200"}) {
		t.Fatalf("acceptance %+v", acc)
	}
	resp, body = f.do(f.as("contractor", request("POST", path+"/submit", nil)))
	wantProblem(t, resp, body, http.StatusConflict)
	resp, body = f.uploadSurvey("admin", project, "late.csv", surveyFile(goodRows("140100", "late", 1)...), nil)
	wantProblem(t, resp, body, http.StatusConflict)
	if decode[problemDoc](t, body).ProjectStatus != "accepted" {
		t.Fatalf("problem lacks the project status: %s", body)
	}

	values := decode[struct {
		Items []struct {
			RegionCode    string   `json:"region_code"`
			IndicatorCode string   `json:"indicator_code"`
			Number        *float64 `json:"number"`
			CILower       *float64 `json:"ci_lower"`
			CIUpper       *float64 `json:"ci_upper"`
			Status        string
		}
	}](t, f.call("admin", "GET", "/api/v1/cycles/"+cy.ID+"/values", nil, http.StatusOK))
	var d1 []string
	for _, v := range values.Items {
		if v.IndicatorCode != "D1" {
			continue
		}
		d1 = append(d1, v.RegionCode)
		if v.Status != "verified" || v.Number == nil || v.CILower == nil || v.CIUpper == nil ||
			*v.CILower > *v.Number || *v.Number > *v.CIUpper || *v.Number <= 0 || *v.Number > 100 {
			t.Fatalf("D1 of %s: %+v", v.RegionCode, v)
		}
	}
	if !slices.Equal(d1, []string{"140100", "140200"}) {
		t.Fatalf("D1 written for %v, want 140100 and 140200", d1)
	}

	resp, body = f.do(f.as("city", request("GET", "/api/v1/cycles/"+cy.ID+"/survey-indices", nil)))
	wantProblem(t, resp, body, http.StatusNotFound)
	indices := "/api/v1/cycles/" + cy.ID + "/survey-indices"
	if got := regionsOf(t, f.call("admin", "GET", indices, nil, http.StatusOK)); !slices.Equal(got, []string{"140100", "140200"}) {
		t.Fatalf("admin sees indices of %v", got)
	}

	lock := decode[surveys.Project](t, f.call("admin", "POST", path+"/lock", map[string]string{"reason": "结果已采用"}, http.StatusOK))
	if lock.Status != surveys.ProjectLocked {
		t.Fatalf("locked project is %s", lock.Status)
	}
	f.publish(cy.ID)
	for who, want := range map[string][]string{"city": {"140100"}, "city2": {"140200"}, "admin": {"140100", "140200"}} {
		if got := regionsOf(t, f.call(who, "GET", indices, nil, http.StatusOK)); !slices.Equal(got, want) {
			t.Fatalf("%s sees indices of %v, want %v", who, got, want)
		}
	}
	f.call("contractor", "GET", indices, nil, http.StatusForbidden)
}

func regionsOf(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	for _, ri := range decode[struct{ Items []surveys.RegionIndex }](t, body).Items {
		if ri.N == 0 || ri.Mean == nil {
			t.Fatalf("index of %s without responses: %+v", ri.RegionCode, ri)
		}
		out = append(out, ri.RegionCode)
	}
	return out
}

// TestSurveyObjectsOfAnotherOrganisation addresses, as a contractor, every
// project and batch route with another organisation's objects: each is
// not found, as a missing one would be, and nothing changes.
func TestSurveyObjectsOfAnotherOrganisation(t *testing.T) {
	f := newFixture(t)
	project, batch := f.validBatchOf(f.sharedCycle().ID, f.org2)
	p, b := "/api/v1/survey-projects/"+project, "/api/v1/survey-batches/"+batch
	file := surveyFile(goodRows("140100", "x", 1)...)
	for _, req := range []*http.Request{
		request("GET", p, nil),
		request("PUT", p+"/mapping", map[string]any{"columns": map[string]string{}}),
		request("POST", p+"/submit", nil),
		request("GET", p+"/template", nil),
		upload("POST", p+"/batches", nil, "file", "a.csv", file),
		request("GET", p+"/batches", nil),
		request("GET", p+"/quality", nil),
		request("GET", b, nil),
		request("GET", b+"/report", nil),
		request("POST", b+"/withdraw", nil),
	} {
		t.Run(req.Method+" "+req.URL.Path, func(t *testing.T) {
			f.t = t
			resp, body := f.do(f.as("contractor", req))
			wantProblem(t, resp, body, http.StatusNotFound)
		})
	}
	f.t = t
	v := decode[surveys.ProjectView](t, f.call("admin", "GET", p, nil, http.StatusOK))
	if v.Status != surveys.ProjectOpen || len(v.Mapping.Columns) != 0 {
		t.Fatalf("the other organisation's project changed: %+v", v.Project)
	}
	if bv := f.ingest(batch); bv.Status != surveys.BatchValid {
		t.Fatalf("the other organisation's batch is %s", bv.Status)
	}
	if n := f.count("survey_batches"); n != 1 {
		t.Fatalf("%d batches, want 1", n)
	}
	list := decode[struct{ Items []surveys.Project }](t, f.call("contractor", "GET", "/api/v1/survey-projects", nil, http.StatusOK))
	if len(list.Items) != 0 {
		t.Fatalf("a contractor lists another organisation's projects: %+v", list.Items)
	}
}

// uniqueSurveyFile is a valid file no other call returns.
func (f *fixture) uniqueSurveyFile() []byte {
	return surveyFile(goodRows("140100", fmt.Sprintf("u%d-", f.next()), 2)...)
}
