package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/broker"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/demo"
	"github.com/ipeval/ipeval/internal/httpapi"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/jobs/jobstest"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/surveys"
)

// account is a user of the fixture with its credentials.
type account struct {
	user     auth.User
	password string
	token    string
}

// fixture is a server on a fresh SQLite database and an embedded broker,
// with one user per role (and a second city official) and a demo cycle.
type fixture struct {
	t        testing.TB
	db       *gorm.DB
	srv      *httpapi.Server
	auth     *auth.Store
	cycles   *cycles.Store
	schemes  *indicators.SchemeStore
	runs     *evaluation.Store
	reports  *reports.Store
	surveys  *surveys.Store
	queue    *jobs.Queue
	broker   *broker.Embedded
	redis    asynq.RedisConnOpt
	dataDir  string
	org      auth.Organisation
	org2     auth.Organisation
	accounts map[string]*account // admin, secadmin, auditor, contractor, city, city2
	seq      atomic.Int64
	years    atomic.Int64 // cycles take years 2000–2100; kept apart from seq
	shared   *cycles.Cycle
	// surveyed is a published cycle with an accepted survey; see
	// surveyedCycle.
	surveyed *cycles.Cycle
	// graded is a published cycle with graded regions and two runs; see
	// gradedCycle.
	graded *graded
	// foreign holds objects of another region and organisation; see
	// foreignObjects.
	foreign *foreignWorld
}

const fixturePassword = "Fixture-Pass-2026!"

// fixtureUploadMax is the fixture's evidence and survey upload size
// limit, low so that the over-limit case needs no large body.
const fixtureUploadMax = 256 << 10

// fixtureContactKey is the key of the fixture's contact hashes.
var fixtureContactKey = []byte("fixture-contact-key-0123456789abcdef")

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureOn(tb, dbtest.New(tb), web.Options{LoginRate: 1000})
}

func newFixtureOn(tb testing.TB, db *gorm.DB, opts web.Options) *fixture {
	tb.Helper()
	if db == nil {
		db = dbtest.New(tb)
	}
	ctx := context.Background()
	f := &fixture{t: tb, db: db, auth: auth.NewStore(db, nil), cycles: cycles.NewStore(db), dataDir: tb.TempDir(), accounts: map[string]*account{}}
	b := jobstest.Start(tb, db)
	f.broker, f.redis, f.queue = b.Embedded, b.Opt, b.Queue
	f.schemes = indicators.NewSchemeStore(db)
	regs := regions.NewStore(db)
	var err error
	if _, err = regs.ImportCSV(ctx, strings.NewReader(demoRegions)); err != nil {
		tb.Fatal(err)
	}
	if f.org, err = f.auth.CreateOrganisation(ctx, demo.Contractor, "contractor"); err != nil {
		tb.Fatal(err)
	}
	if f.org2, err = f.auth.CreateOrganisation(ctx, "另一调查机构", "contractor"); err != nil {
		tb.Fatal(err)
	}
	for name, nu := range map[string]auth.NewUser{
		"admin":      {Role: auth.RoleAdmin},
		"secadmin":   {Role: auth.RoleSecAdmin},
		"auditor":    {Role: auth.RoleAuditor},
		"contractor": {Role: auth.RoleContractor, OrganisationID: f.org.ID},
		"city":       {Role: auth.RoleCity, RegionCode: "140100"},
		"city2":      {Role: auth.RoleCity, RegionCode: "140200"},
	} {
		nu.Username, nu.DisplayName, nu.Password = name, name, fixturePassword
		f.accounts[name] = f.newAccount(nu)
	}
	files, err := blobs.New(filepath.Join(f.dataDir, "evidence"))
	if err != nil {
		tb.Fatal(err)
	}
	values := indicators.NewValueStore(db, f.schemes)
	f.runs = evaluation.NewStore(db, f.queue, f.schemes, evaluation.WithPublishHook(reports.PublishHook(f.queue)))
	f.reports = reports.NewStore(db, f.queue, f.runs, f.schemes, f.cycles)
	surveyFiles, err := blobs.New(filepath.Join(f.dataDir, "surveys"))
	if err != nil {
		tb.Fatal(err)
	}
	f.surveys = surveys.NewStore(db, f.queue, values, surveyFiles, fixtureContactKey, fixtureUploadMax)
	srv, err := httpapi.New(web.Deps{
		Auth: f.auth, Regions: regs, Cycles: f.cycles, Schemes: f.schemes, Values: values,
		Evidence: indicators.NewEvidenceStore(db, values, files, fixtureUploadMax), Runs: f.runs, Reports: f.reports, Surveys: f.surveys, Audit: audit.NewLog(db), Jobs: f.queue,
		Checks: []web.Check{
			{Name: "database", Fn: func(ctx context.Context) error { return database.Ping(ctx, db) }},
			{Name: "broker", Fn: f.queue.Ping},
		},
		Version: "test", DataDir: f.dataDir,
	}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	f.srv = srv
	return f
}

const demoRegions = "code,name,kind,parent\n140000,山西省,province,\n140100,太原市,prefecture_city,140000\n140200,大同市,prefecture_city,140000\n149900,山西转型综合改革示范区,reform_zone,140000\n"

func (f *fixture) newAccount(nu auth.NewUser) *account {
	f.t.Helper()
	ctx := context.Background()
	u, pw, err := f.auth.CreateUser(ctx, nu)
	if err != nil {
		f.t.Fatalf("create user %s: %v", nu.Username, err)
	}
	if nu.Password != "" {
		pw = nu.Password
	}
	tok, _, err := f.auth.IssueToken(ctx, u.ID, "test", auth.DefaultTokenTTL)
	if err != nil {
		f.t.Fatal(err)
	}
	return &account{user: u, password: pw, token: tok}
}

// next returns a number unique within the fixture, for codes and names.
func (f *fixture) next() int64 { return f.seq.Add(1) }

// request builds a request; body may be nil, a string (sent as is) or a
// value encoded as JSON.
func request(method, path string, body any) *http.Request {
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		r, ct = strings.NewReader(b), "application/json"
	case []byte:
		r, ct = bytes.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		r, ct = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(method, path, r)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

// upload builds a multipart/form-data request with fields and one file.
func upload(method, path string, fields map[string]string, fileField, fileName string, data []byte) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if fileField != "" {
		w, _ := mw.CreateFormFile(fileField, fileName)
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	req := httptest.NewRequest(method, path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// as authenticates req with the bearer token of the named account ("" for anonymous).
func (f *fixture) as(who string, req *http.Request) *http.Request {
	if who != "" && who != "anonymous" {
		req.Header.Set("Authorization", "Bearer "+f.accounts[who].token)
	}
	return req
}

// do sends req to the application and returns the response with its body read.
func (f *fixture) do(req *http.Request) (*http.Response, []byte) {
	f.t.Helper()
	resp, err := f.srv.App().Test(req, -1)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, b
}

// call is do for an account and JSON body, failing unless the status is want.
func (f *fixture) call(who, method, path string, body any, want int) []byte {
	f.t.Helper()
	resp, b := f.do(f.as(who, request(method, path, body)))
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, who, resp.StatusCode, want, b)
	}
	return b
}

func decode[T any](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("decode %T from %s: %v", v, b, err)
	}
	return v
}

// count returns the number of rows of table.
func (f *fixture) count(table string) int64 {
	f.t.Helper()
	var n int64
	if err := f.db.Table(table).Count(&n).Error; err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) newCycle() cycles.Cycle {
	f.t.Helper()
	c, err := f.cycles.Create(context.Background(), cycles.Input{Year: 2000 + int(f.years.Add(1))})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) uniqueName(prefix string) string { return fmt.Sprintf("%s%d", prefix, f.next()) }

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
