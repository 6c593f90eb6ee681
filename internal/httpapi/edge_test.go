package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the server's metrics from its metrics handler in the
// Prometheus text format, parsed by Prometheus' own parser, so that a
// malformed exposition fails the test.
func (f *fixture) scrape() map[string]*dto.MetricFamily {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK {
		f.t.Fatalf("metrics: status %d: %s", rec.Code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		f.t.Fatalf("parse metrics: %v\n%s", err, body)
	}
	return fams
}

// requestCounts sums ipeval_http_requests_total by method and route.
func requestCounts(tb testing.TB, fams map[string]*dto.MetricFamily) map[string]int {
	tb.Helper()
	out := map[string]int{}
	fam := fams["ipeval_http_requests_total"]
	if fam == nil {
		return out
	}
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		out[labels["method"]+" "+labels["route"]] += int(m.GetCounter().GetValue())
	}
	return out
}

// TestProbe02MetricsAfterMixedRequests sends well over a hundred requests
// of every method to routes with and without parameters (and to no route
// at all), then reads the metrics: the exposition parses, and its counts
// per method and route pattern are exactly the requests made. Strings
// that Fiber hands a handler point into buffers that the next request
// overwrites; kept as label values they read "POS" or "GETT" and then
// collide.
func TestProbe02MetricsAfterMixedRequests(t *testing.T) {
	f := newFixture(t)
	type probe struct {
		method, path, route string
		body                any
	}
	probes := []probe{
		{"GET", "/api/v1/cycles", "/api/v1/cycles", nil},
		{"POST", "/api/v1/cycles", "/api/v1/cycles", `{"year": "x"}`},
		{"GET", "/api/v1/regions/140100", "/api/v1/regions/:code", nil},
		{"PUT", "/api/v1/regions/140200", "/api/v1/regions/:code", `{"name": 1}`},
		{"GET", "/api/v1/cycles/%s", "/api/v1/cycles/:id", nil},
		{"DELETE", "/api/v1/tokens/%s", "/api/v1/tokens/:id", nil},
		{"PATCH", "/api/v1/users/%s", "/api/v1/users/:id", map[string]bool{"disabled": false}},
		{"GET", "/healthz", "/healthz", nil},
		{"HEAD", "/api/v1/me", "unmatched", nil}, // the table serves GET only
		{"GET", "/api/v1/no-such-route/%s", "unmatched", nil},
		{"OPTIONS", "/api/v1/jobs", "unmatched", nil},
	}
	want := map[string]int{}
	for i := range 132 {
		p := probes[i%len(probes)]
		path := p.path
		if bytes.Contains([]byte(path), []byte("%s")) {
			path = fmt.Sprintf(path, uuid.NewString())
		}
		f.do(f.as("admin", request(p.method, path, p.body)))
		want[p.method+" "+p.route]++
	}
	got := requestCounts(t, f.scrape())
	for key, n := range want {
		if got[key] != n {
			t.Errorf("%s: %d requests counted, %d made", key, got[key], n)
		}
	}
	for key, n := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("series %q (%d) for no request made", key, n)
		}
	}
}

// TestProbe11MetricsNotPublic: the public application has no /metrics,
// for any caller; the metrics are served by their own handler, which
// cmd/ipeval puts on a listener of its own (TestProbe11MetricsAddress).
func TestProbe11MetricsNotPublic(t *testing.T) {
	f := newFixture(t)
	for _, who := range []string{"anonymous", "admin"} {
		resp, body := f.do(f.as(who, request("GET", "/metrics", nil)))
		wantProblem(t, resp, body, http.StatusNotFound)
	}
	if fams := f.scrape(); fams["ipeval_http_requests_total"] == nil {
		t.Fatal("the metrics handler has no request counter")
	}
}

// staticRoutes are the public assets whose answers may be cached.
var staticRoutes = []string{"GET /static/:file", "GET /static/vendor/:file", "GET /static/vendor/maps/:file"}

// TestProbe05NoStore calls every route of the router as an allowed
// signed-in caller (anonymously for the public ones, among them both
// sign-ins, whose answers set the session cookie) and as a refused one:
// every answer, success or problem, carries Cache-Control: no-store, but
// for the static assets, which stay cacheable. So do an anonymous refusal
// and an unknown route.
func TestProbe05NoStore(t *testing.T) {
	f := newFixture(t)
	check := func(t *testing.T, key string, resp *http.Response) {
		t.Helper()
		cc := resp.Header.Get("Cache-Control")
		if slices.Contains(staticRoutes, key) && resp.StatusCode == http.StatusOK {
			if !strings.HasPrefix(cc, "public") {
				t.Errorf("static asset: Cache-Control %q, want public", cc)
			}
			return
		}
		if cc != "no-store" {
			t.Errorf("status %d: Cache-Control %q, want no-store", resp.StatusCode, cc)
		}
	}
	seen := map[string]bool{}
	for _, r := range f.srv.App().GetRoutes(true) {
		key := r.Method + " " + r.Path
		if r.Method == http.MethodHead || seen[key] {
			continue
		}
		seen[key] = true
		who, build := allowed[key], samples[key]
		if build == nil {
			t.Errorf("route %s has no sample request", key)
			continue
		}
		var callers []string
		if i := slices.IndexFunc(who, func(w string) bool { return w != "anonymous" }); i >= 0 {
			callers = append(callers, who[i])
		}
		if slices.Contains(who, "anonymous") {
			callers = append(callers, "anonymous")
		}
		for _, w := range []string{"city", "contractor", "admin"} {
			if !slices.Contains(who, w) {
				callers = append(callers, w) // refused: a problem or an error page
				break
			}
		}
		for _, caller := range callers {
			t.Run(key+" as "+caller, func(t *testing.T) {
				f.t = t
				req, _ := build(f, caller)
				resp, _ := f.do(f.as(caller, req))
				check(t, key, resp)
			})
		}
	}
	for _, c := range []struct{ name, path string }{{"anonymous refusal", "/api/v1/me"}, {"unknown route", "/api/v1/nothing"}} {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := f.do(request("GET", c.path, nil))
			check(t, "", resp)
		})
	}
}

// TestProbe04CSRFQuery: a write with the session cookie and the right CSRF
// token in the URL query (?_csrf=), but not in the X-CSRF-Token header or
// the form body, is refused and stores nothing — for the API, for a page's
// form and for the sign-in form — while the same token in the header or
// the form body is taken.
func TestProbe04CSRFQuery(t *testing.T) {
	f := newFixture(t)
	session, csrf := f.formSession("admin")
	withSession := func(req *http.Request) *http.Request { req.AddCookie(session); return req }
	q := "?_csrf=" + url.QueryEscape(csrf)

	t.Run("API write", func(t *testing.T) {
		f.t = t
		before := f.count("cycles")
		resp, body := f.do(withSession(request("POST", "/api/v1/cycles"+q, map[string]int{"year": 2090})))
		wantProblem(t, resp, body, http.StatusForbidden)
		if f.count("cycles") != before {
			t.Fatal("a write with the token in the query only was stored")
		}
		req := withSession(request("POST", "/api/v1/cycles", map[string]int{"year": 2090}))
		req.Header.Set("X-CSRF-Token", csrf)
		if resp, body := f.do(req); resp.StatusCode != http.StatusCreated {
			t.Fatalf("the same write with the header: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("page form", func(t *testing.T) {
		f.t = t
		cy := f.sharedCycle()
		before := f.snapshot(map[string]string{"indicator_values": "*"})
		form := "region_code=140100&ver.B3=0&v.B3=7"
		resp, _ := f.do(withSession(httptestBody(request("POST", "/cycles/"+cy.ID+"/collect/values"+q, nil), form, "application/x-www-form-urlencoded")))
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("page form with the token in the query only: %d, want 403", resp.StatusCode)
		}
		if f.snapshot(map[string]string{"indicator_values": "*"}) != before {
			t.Fatal("the form write was stored")
		}
		resp, _ = f.do(withSession(httptestBody(request("POST", "/cycles/"+cy.ID+"/collect/values", nil), form+"&_csrf="+url.QueryEscape(csrf), "application/x-www-form-urlencoded")))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the same form with the token in its body: %d", resp.StatusCode)
		}
	})
	t.Run("sign-in form", func(t *testing.T) {
		f.t = t
		good := f.loginForm("city", fixturePassword)
		body, _ := io.ReadAll(good.Body)
		fields, _ := url.ParseQuery(string(body))
		token := fields.Get("_csrf")
		fields.Del("_csrf")
		req := httptestBody(request("POST", "/login?_csrf="+url.QueryEscape(token), nil), fields.Encode(), "application/x-www-form-urlencoded")
		for _, c := range good.Cookies() {
			req.AddCookie(c)
		}
		resp, _ := f.do(req)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("sign-in with the form's token in the query: %d, want 403", resp.StatusCode)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "ipeval_session" && c.Value != "" {
				t.Fatal("a session was opened")
			}
		}
	})
}
