package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
)

// TestBadInput sends malformed requests to write routes and checks that each
// is refused with a problem document naming the problem, and that nothing
// was stored.
func TestBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		testBadInput(t, newFixtureOn(t, db, web.Options{LoginRate: 1000}))
	})
}

func testBadInput(t *testing.T, f *fixture) {
	long := `{"year": 2031, "name": "` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name, method, path, contentType, body string
		status                                int
		field, code                           string
		table                                 string
	}{
		{"malformed JSON", "POST", "/api/v1/cycles", "application/json", `{"year": 20`, 400, "", "malformed_json", "cycles"},
		{"unknown field", "POST", "/api/v1/cycles", "application/json", `{"year": 2031, "colour": "red"}`, 400, "colour", "unknown_field", "cycles"},
		{"wrong type", "POST", "/api/v1/cycles", "application/json", `{"year": "2031"}`, 400, "year", "wrong_type", "cycles"},
		{"trailing data", "POST", "/api/v1/cycles", "application/json", `{"year": 2031} {}`, 400, "", "trailing_data", "cycles"},
		{"empty body", "POST", "/api/v1/cycles", "application/json", ``, 400, "", "empty_body", "cycles"},
		{"oversize body", "POST", "/api/v1/cycles", "application/json", long, 413, "", "", "cycles"},
		{"not JSON", "POST", "/api/v1/cycles", "text/plain", `year=2031`, 415, "", "", "cycles"},
		{"year out of range", "POST", "/api/v1/cycles", "application/json", `{"year": 1800}`, 400, "year", "invalid_year", "cycles"},
		{"region: every problem listed", "POST", "/api/v1/regions", "application/json", `{"code": "!", "name": "", "kind": "planet", "parent_code": "999999"}`, 400, "kind", "unknown_kind", "regions"},
		{"import: bad row rolls back all", "POST", "/api/v1/regions/import", "text/csv", "code,name,kind,parent\n150100,呼和浩特,prefecture_city,140000\n150200,包头,nowhere,140000\n", 400, "", "unknown_kind", "regions"},
		{"user: weak password", "POST", "/api/v1/users", "application/json", `{"username": "weak1", "role": "city", "region_code": "140200", "password": "123"}`, 400, "password", "", "users"},
		{"user: city without region", "POST", "/api/v1/users", "application/json", `{"username": "noregion", "role": "city"}`, 400, "region_code", "", "users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			before := f.count(tt.table)
			req := request(tt.method, tt.path, nil)
			req = httptestBody(req, tt.body, tt.contentType)
			who := "admin"
			if tt.table == "users" {
				who = "secadmin"
			}
			resp, body := f.do(f.as(who, req))
			wantProblem(t, resp, body, tt.status)
			var p struct {
				Errors []struct {
					Field, Code, Message string
					MessageEn            string `json:"message_en"`
				}
			}
			_ = json.Unmarshal(body, &p)
			if tt.code != "" || tt.field != "" {
				found := false
				for _, e := range p.Errors {
					if (tt.code == "" || e.Code == tt.code) && (tt.field == "" || e.Field == tt.field) {
						found = e.Message != "" && e.MessageEn != ""
					}
				}
				if !found {
					t.Fatalf("no error with field %q code %q (zh and en) in %s", tt.field, tt.code, body)
				}
			}
			if after := f.count(tt.table); after != before {
				t.Fatalf("%s rows %d → %d: bad input was stored", tt.table, before, after)
			}
		})
	}
}

func TestRegionProblemsListedTogether(t *testing.T) {
	f := newFixture(t)
	b := f.call("admin", "POST", "/api/v1/regions", map[string]string{"code": "!", "name": "", "kind": "planet", "parent_code": "999999"}, 400)
	var p struct{ Errors []struct{ Field string } }
	_ = json.Unmarshal(b, &p)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	if got := strings.Join(fields, ","); got != "code,name,kind,parent_code" {
		t.Fatalf("fields %s, want code,name,kind,parent_code", got)
	}
}

func TestIllegalTransition(t *testing.T) {
	f := newFixture(t)
	c := f.collectingCycle()
	f.call("admin", "POST", "/api/v1/cycles/"+c.ID+"/transitions", map[string]string{"to": "scoring"}, 200)
	// A cycle is published with a run, never by a bare transition.
	resp, body := f.do(f.as("admin", request("POST", "/api/v1/cycles/"+c.ID+"/transitions", map[string]string{"to": "published"})))
	wantProblem(t, resp, body, http.StatusConflict)
	if !strings.Contains(string(body), "/api/v1/runs/") {
		t.Fatalf("refused publication does not point at runs: %s", body)
	}
	f.scoredRunOf(c.ID, true)
	resp, body = f.do(f.as("admin", request("POST", "/api/v1/cycles/"+c.ID+"/transitions", map[string]string{"to": "collecting"})))
	wantProblem(t, resp, body, http.StatusConflict)
	var p struct {
		From, To string
		Allowed  []string
	}
	_ = json.Unmarshal(body, &p)
	if p.From != "published" || p.To != "collecting" || strings.Join(p.Allowed, ",") != "archived" {
		t.Fatalf("problem %s, want from published, to collecting, allowed [archived]", body)
	}
	got := decode[map[string]any](t, f.call("admin", "GET", "/api/v1/cycles/"+c.ID, nil, 200))
	if got["status"] != "published" {
		t.Fatalf("status after refused transition = %v", got["status"])
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	for name, header := range map[string]string{
		"garbage":       "Bearer nonsense",
		"wrong scheme":  "Basic YWRtaW46eA==",
		"unknown token": "Bearer ipv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		t.Run(name, func(t *testing.T) {
			req := request("GET", "/api/v1/me", nil)
			req.Header.Set("Authorization", header)
			resp, body := f.do(req)
			wantProblem(t, resp, body, http.StatusUnauthorized)
		})
	}
	t.Run("revoked", func(t *testing.T) {
		f.t = t
		issued := decode[struct {
			Token string
			Info  struct{ ID string }
		}](t, f.call("city", "POST", "/api/v1/tokens", map[string]string{"name": "tmp"}, 201))
		req := request("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		if resp, _ := f.do(req); resp.StatusCode != 200 {
			t.Fatalf("fresh token refused: %d", resp.StatusCode)
		}
		f.call("city", "DELETE", "/api/v1/tokens/"+issued.Info.ID, nil, 204)
		req = request("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		resp, body := f.do(req)
		wantProblem(t, resp, body, http.StatusUnauthorized)
	})
	t.Run("expired", func(t *testing.T) {
		f.t = t
		issued := decode[struct {
			Token string
			Info  struct{ ID string }
		}](t, f.call("city", "POST", "/api/v1/tokens", map[string]any{"name": "short", "expires_in_days": 1}, 201))
		// The token's time runs out: a second past its expiry it is refused.
		// The expiry is moved in the database before the token's first use:
		// a server remembers a token it has verified until its expiry at
		// the latest (auth.TokenCacheTTL; auth TestTokens crosses
		// the expiry of a remembered token with the store's clock).
		if err := f.db.Model(&auth.Token{}).Where("id = ?", issued.Info.ID).Update("expires_at", time.Now().UTC().Add(-time.Second)).Error; err != nil {
			t.Fatal(err)
		}
		req := request("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		resp, body := f.do(req)
		wantProblem(t, resp, body, http.StatusUnauthorized)
		before := f.count("cycles")
		req = request("POST", "/api/v1/cycles", map[string]int{"year": 2090})
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		resp, body = f.do(req)
		wantProblem(t, resp, body, http.StatusUnauthorized)
		if f.count("cycles") != before {
			t.Fatal("a write with an expired token was stored")
		}
	})
	t.Run("another user's token is not found", func(t *testing.T) {
		f.t = t
		issued := decode[struct{ Info struct{ ID string } }](t, f.call("city", "POST", "/api/v1/tokens", map[string]string{"name": "mine"}, 201))
		f.call("city2", "DELETE", "/api/v1/tokens/"+issued.Info.ID, nil, 404)
	})
}

func TestObjectLevelChecks(t *testing.T) {
	f := newFixture(t)
	adminJob := f.finishedJob("admin")
	f.call("city", "GET", "/api/v1/jobs/"+adminJob, nil, 404)
	f.call("city", "GET", "/api/v1/jobs/"+adminJob+"/result", nil, 404)
	f.call("contractor", "GET", "/api/v1/jobs/"+adminJob, nil, 404)
	f.call("admin", "GET", "/api/v1/jobs/"+f.finishedJob("city"), nil, 200)
	f.call("contractor", "GET", "/api/v1/organisations/"+f.org2.ID, nil, 404)
	// The security administrator and the auditor see their own jobs only,
	// and the security administrator, alone, revokes another user's token.
	f.call("secadmin", "GET", "/api/v1/jobs/"+adminJob, nil, 404)
	f.call("auditor", "GET", "/api/v1/jobs/"+adminJob+"/result", nil, 404)
	f.call("auditor", "GET", "/api/v1/jobs/"+f.finishedJob("auditor"), nil, 200)
	f.call("secadmin", "GET", "/api/v1/organisations/"+f.org2.ID, nil, 200)
	for who, want := range map[string]int{"admin": 404, "auditor": 404, "city2": 404, "secadmin": 204} {
		_, tok, err := f.auth.IssueToken(context.Background(), f.accounts["city"].user.ID, "spare", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.call(who, "DELETE", "/api/v1/tokens/"+tok.ID, nil, want)
	}
	jobsOfCity := decode[struct{ Items []struct{ ID string } }](t, f.call("city", "GET", "/api/v1/jobs", nil, 200))
	for _, j := range jobsOfCity.Items {
		if j.ID == adminJob {
			t.Fatal("city official sees the admin's job in its list")
		}
	}

	// Every route open to city officials or contractors, addressed with
	// another region's or organisation's object: refused (or the object
	// left out), its secrets unshown, and nothing changed.
	w := f.foreignObjects()
	seen := map[string]bool{}
	for _, r := range f.srv.App().GetRoutes(true) {
		key := r.Method + " " + r.Path
		if r.Method == http.MethodHead || seen[key] {
			continue
		}
		seen[key] = true
		if who := allowed[key]; !slices.Contains(who, "city") && !slices.Contains(who, "contractor") {
			continue
		}
		build, ok := foreignSamples[key]
		if !ok {
			if _, ok := unscoped[key]; !ok {
				t.Errorf("route %s is open to city officials or contractors but has no foreign-object sample nor a reason to need none", key)
			}
			continue
		}
		for i, c := range build(f, w) {
			t.Run(fmt.Sprintf("%s #%d as %s", key, i+1, c.who), func(t *testing.T) {
				f.t = t
				// The same request for objects that do not exist, to be
				// refused exactly alike (TestProbe07ExistenceOracle).
				random := newRandomTwin(t, c.req, w.hidden(f))
				before := f.snapshot(foreignTables)
				resp, body := f.do(f.as(c.who, c.req))
				switch {
				case resp.StatusCode != c.want:
					t.Fatalf("status %d, want %d: %.400s", resp.StatusCode, c.want, body)
				case c.want != http.StatusOK && strings.HasPrefix(r.Path, "/api/"):
					wantProblem(t, resp, body, c.want)
				}
				if c.want != http.StatusOK {
					random.sameAnswer(t, f, c.who, resp, body)
				}
				for _, s := range c.secrets {
					if bytes.Contains(body, []byte(s)) {
						t.Errorf("the answer shows %q of another region or organisation", s)
					}
				}
				if r.Method != http.MethodGet {
					if after := f.snapshot(foreignTables); after != before {
						t.Errorf("a refused write changed the data:\nbefore %s\nafter  %s", before, after)
					}
				}
			})
		}
	}
	for key := range foreignSamples {
		if !seen[key] {
			t.Errorf("foreignSamples lists %s, which the router does not serve", key)
		}
	}
	for key := range unscoped {
		if !seen[key] {
			t.Errorf("unscoped lists %s, which the router does not serve", key)
		}
	}
}

// TestSessionsAndCSRF signs in with the form, then checks that a write with
// the session cookie needs the CSRF token and that logging out ends the session.
func TestSessionsAndCSRF(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(f.loginForm("admin", fixturePassword))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form login: %d %s", resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ipeval_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v, want HttpOnly and SameSite=Lax", session)
	}
	withSession := func(req *http.Request) *http.Request { req.AddCookie(session); return req }

	resp, body = f.do(withSession(request("GET", "/", nil)))
	if resp.StatusCode != 200 {
		t.Fatalf("home with session: %d", resp.StatusCode)
	}
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatal("home page has no CSRF field in the logout form")
	}
	csrf := string(m[1])

	before := f.count("cycles")
	resp, body = f.do(withSession(request("POST", "/api/v1/cycles", map[string]int{"year": 2040})))
	wantProblem(t, resp, body, http.StatusForbidden)
	if f.count("cycles") != before {
		t.Fatal("a write without CSRF token was stored")
	}
	req := withSession(request("POST", "/api/v1/cycles", map[string]int{"year": 2040}))
	req.Header.Set("X-CSRF-Token", "wrong")
	resp, body = f.do(req)
	wantProblem(t, resp, body, http.StatusForbidden)

	req = withSession(request("POST", "/api/v1/cycles", map[string]int{"year": 2040}))
	req.Header.Set("X-CSRF-Token", csrf)
	if resp, body = f.do(req); resp.StatusCode != http.StatusCreated {
		t.Fatalf("write with CSRF token: %d %s", resp.StatusCode, body)
	}

	req = withSession(request("POST", "/logout", nil))
	req = httptestBody(req, "_csrf="+csrf, "application/x-www-form-urlencoded")
	req.AddCookie(session)
	if resp, _ = f.do(req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	resp, body = f.do(withSession(request("GET", "/api/v1/me", nil)))
	wantProblem(t, resp, body, http.StatusUnauthorized)
}

// TestSessionTimeouts ages sessions in the database as time would: one
// left idle for longer than auth.SessionIdleTimeout, one older than
// auth.SessionMaxAge though in use. Each is refused at the HTTP level and
// forgotten, and a session in use within the timeout goes on working.
func TestSessionTimeouts(t *testing.T) {
	f := newFixture(t)
	signIn := func() *http.Cookie {
		session, _ := f.formSession("city")
		return session
	}
	me := func(session *http.Cookie) (*http.Response, []byte) {
		req := request("GET", "/api/v1/me", nil)
		req.AddCookie(session)
		return f.do(req)
	}
	for _, tc := range []struct {
		name   string
		ageing map[string]any
		want   int
	}{
		{"idle within the timeout", map[string]any{"last_seen_at": time.Now().UTC().Add(-auth.SessionIdleTimeout + time.Minute)}, http.StatusOK},
		{"idle past the timeout", map[string]any{"last_seen_at": time.Now().UTC().Add(-auth.SessionIdleTimeout - time.Second)}, http.StatusUnauthorized},
		{"in use but past its maximum age", map[string]any{"created_at": time.Now().UTC().Add(-auth.SessionMaxAge - time.Minute),
			"expires_at": time.Now().UTC().Add(-time.Minute)}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			// One session at a time, so that the one to age is the only row.
			if err := f.db.Exec("DELETE FROM sessions").Error; err != nil {
				t.Fatal(err)
			}
			session := signIn()
			if resp, body := me(session); resp.StatusCode != http.StatusOK {
				t.Fatalf("fresh session refused: %d %s", resp.StatusCode, body)
			}
			var ids []string
			if err := f.db.Table("sessions").Pluck("id", &ids).Error; err != nil || len(ids) != 1 {
				t.Fatalf("sessions %v (%v), want one", ids, err)
			}
			id := ids[0]
			if err := f.db.Table("sessions").Where("id = ?", id).Updates(tc.ageing).Error; err != nil {
				t.Fatal(err)
			}
			resp, body := me(session)
			if tc.want == http.StatusOK {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("session in use refused: %d %s", resp.StatusCode, body)
				}
				return
			}
			wantProblem(t, resp, body, tc.want)
			var left int64
			f.db.Table("sessions").Where("id = ?", id).Count(&left)
			if left != 0 {
				t.Fatal("the ended session is still stored")
			}
			// A page sends the browser back to the sign-in page.
			req := request("GET", "/", nil)
			req.AddCookie(session)
			if resp, _ := f.do(req); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Fatalf("page with an ended session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestLoginThrottleAndAudit(t *testing.T) {
	f := newFixture(t)
	login := func(pw string) (*http.Response, []byte) {
		return f.do(request("POST", "/api/v1/auth/login", map[string]string{"username": "city", "password": pw}))
	}
	for range auth.FreeFailures {
		resp, body := login("wrong password")
		wantProblem(t, resp, body, http.StatusUnauthorized)
	}
	resp, body := login(fixturePassword)
	wantProblem(t, resp, body, http.StatusTooManyRequests)
	if got, want := resp.Header.Get("Retry-After"), strconv.Itoa(int(auth.NetworkDelay.Seconds())); got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	var n int64
	f.db.Table("audit_log").Where("action = ? AND object = ?", "auth.login", "user:city").Count(&n)
	if n != auth.FreeFailures+1 {
		t.Fatalf("audited login attempts = %d, want %d", n, auth.FreeFailures+1)
	}
	var results, details []string
	f.db.Table("audit_log").Where("action = ?", "auth.login").Order("id").Pluck("result", &results)
	f.db.Table("audit_log").Where("action = ?", "auth.login").Order("id").Pluck("detail", &details)
	if last := len(results) - 1; results[0] != "denied" || results[last] != "failure" || details[last] != "throttled" {
		t.Fatalf("audit results %v %v: want denied for bad password, failure (throttled) at the end", results, details)
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixtureOn(t, nil, web.Options{LoginRate: 3})
	var last *http.Response
	var body []byte
	for i := 0; i < 4; i++ {
		last, body = f.do(request("POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "x"}))
	}
	wantProblem(t, last, body, http.StatusTooManyRequests)
	if last.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	for i := 0; i < 5; i++ {
		f.do(request("POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "x"}))
	}
	// Three attempts within the limit and the first refusal are audited;
	// the refusals after it are not, so hammering cannot flood the log.
	var n int64
	f.db.Table("audit_log").Where("action = ?", "auth.login").Count(&n)
	if n != 4 {
		t.Fatalf("audited %d sign-in attempts, want 4", n)
	}
}

// TestOpenAPIMatchesRouter checks that the document lists exactly the
// routes the router serves.
func TestOpenAPIMatchesRouter(t *testing.T) {
	f := newFixture(t)
	doc := decode[struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string `json:"operationId"`
		}
	}](t, f.call("", "GET", "/openapi.json", nil, 200))
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	served := map[string]bool{}
	for _, r := range f.srv.App().GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue
		}
		key := strings.ToLower(r.Method) + " " + param.ReplaceAllString(r.Path, "{$1}")
		served[key] = true
		p, ok := doc.Paths[param.ReplaceAllString(r.Path, "{$1}")]
		if !ok || p[strings.ToLower(r.Method)].OperationID == "" {
			t.Errorf("router serves %s, the document does not list it", key)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !served[m+" "+path] {
				t.Errorf("document lists %s %s, the router does not serve it", m, path)
			}
		}
	}
	// Uploads are documented as forms with a binary file, downloads as files.
	raw := string(f.call("", "GET", "/openapi.json", nil, 200))
	for _, want := range []string{`"multipart/form-data"`, `"format": "binary"`, `"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("the document has no %s", want)
		}
	}
	resp, body := f.do(request("GET", "/docs", nil))
	if resp.StatusCode != 200 || !strings.Contains(string(body), "/api/v1/cycles/{id}/transitions") {
		t.Fatalf("/docs does not render the document: %d", resp.StatusCode)
	}
}

// TestDatabaseDown closes the database under the server: the API answers
// 503 problems and /readyz reports the database, without a crash.
func TestDatabaseDown(t *testing.T) {
	f := newFixture(t)
	f.call("admin", "GET", "/readyz", nil, 200)
	if err := database.Close(f.db); err != nil {
		t.Fatal(err)
	}
	resp, body := f.do(f.as("admin", request("GET", "/api/v1/cycles", nil)))
	wantProblem(t, resp, body, http.StatusServiceUnavailable)
	if strings.Contains(string(body), "sql") {
		t.Fatalf("503 leaks driver text: %s", body)
	}
	resp, body = f.do(request("GET", "/readyz", nil))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"database":"unavailable"`) {
		t.Fatalf("/readyz with database closed: %d %s", resp.StatusCode, body)
	}
	f.call("", "GET", "/healthz", nil, 200)
}

func TestUnknownRouteIsProblem(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(request("GET", "/api/v1/nothing-here", nil))
	wantProblem(t, resp, body, http.StatusNotFound)
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatal("response without request id")
	}
}
