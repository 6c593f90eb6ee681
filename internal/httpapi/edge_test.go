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

// routeKeys lists the routes of the router as "METHOD /path", once each,
// without the HEAD routes that Fiber adds.
func (f *fixture) routeKeys() []string {
	var keys []string
	for _, r := range f.srv.App().GetRoutes(true) {
		if key := r.Method + " " + r.Path; r.Method != http.MethodHead && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	return keys
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
	for _, key := range f.routeKeys() {
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

// hidden lists the ids of the foreign world whose existence the city
// official of 140100 and the first organisation's contractor may not
// know, and the region code 140200: objects of another region or
// organisation, and an unpublished run. Cycles are not among them: every
// signed-in user lists them.
func (w foreignWorld) hidden(f *fixture) []string {
	return []string{w.value, w.evidence, w.run, w.draft, w.token, w.job, w.project, w.batch, f.org2.ID, "140200"}
}

// randomTwin is a request like another but addressing, instead of each
// hidden object, one that does not exist.
type randomTwin struct {
	req  *http.Request
	swap map[string]string // random stand-in → hidden original
}

// newRandomTwin copies req (its body too, which it restores for req) with
// every hidden id in the URL and the body replaced by a random one; a
// region code is replaced by a well-formed code of no region.
func newRandomTwin(tb testing.TB, req *http.Request, hidden []string) randomTwin {
	tb.Helper()
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			tb.Fatal(err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		body = bytes.Clone(body)
	}
	u := req.URL.String()
	tw := randomTwin{swap: map[string]string{}}
	for _, id := range hidden {
		if id == "" || !strings.Contains(u, id) && !bytes.Contains(body, []byte(id)) {
			continue
		}
		stand := uuid.NewString()
		if len(id) == 6 { // a region code
			stand = "149998"
		}
		u = strings.ReplaceAll(u, id, stand)
		body = bytes.ReplaceAll(body, []byte(id), []byte(stand))
		tw.swap[stand] = id
	}
	tw.req = httptest.NewRequest(req.Method, u, bytes.NewReader(body))
	tw.req.Header = req.Header.Clone()
	return tw
}

// sameAnswer sends the twin as who and fails unless its answer is the
// refusal given (status, media type, body), but for the request id and
// the ids swapped. A request that addresses no hidden object (one refused
// for the caller's role) has nothing to compare.
func (tw randomTwin) sameAnswer(t *testing.T, f *fixture, who string, resp *http.Response, body []byte) {
	t.Helper()
	if len(tw.swap) == 0 {
		return
	}
	tr, tb := f.do(f.as(who, tw.req))
	for stand, id := range tw.swap {
		tb = bytes.ReplaceAll(tb, []byte(stand), []byte(id))
	}
	norm := func(r *http.Response, b []byte) string {
		return string(bytes.ReplaceAll(b, []byte(r.Header.Get("X-Request-Id")), nil))
	}
	if tr.StatusCode != resp.StatusCode || tr.Header.Get("Content-Type") != resp.Header.Get("Content-Type") || norm(tr, tb) != norm(resp, body) {
		t.Errorf("a hidden object and one that does not exist are told apart:\nhidden: %d %s\n%.600s\nrandom: %d %s\n%.600s",
			resp.StatusCode, resp.Header.Get("Content-Type"), body, tr.StatusCode, tr.Header.Get("Content-Type"), tb)
	}
}

// TestProbe07ExistenceOracle: a city official asking for an unpublished
// run's workbook, hand-over, result or sensitivity, and a contractor
// asking for another organisation's survey project or batch, get exactly
// the answer of an id that does not exist. TestObjectLevelChecks makes the
// same comparison for every route open to them.
func TestProbe07ExistenceOracle(t *testing.T) {
	f := newFixture(t)
	draft := f.scoredRun(false)
	project, batch := f.validBatchOf(f.sharedCycle().ID, f.org2)
	for _, c := range []struct{ who, path string }{
		{"city", "/api/v1/runs/" + draft + "/workbook"},
		{"city", "/api/v1/runs/" + draft + "/handover?format=csv"},
		{"city", "/api/v1/runs/" + draft},
		{"city", "/api/v1/runs/" + draft + "/regions/140100"},
		{"city", "/api/v1/runs/" + draft + "/sensitivity"},
		{"contractor", "/api/v1/survey-projects/" + project},
		{"contractor", "/api/v1/survey-batches/" + batch},
		{"contractor", "/surveys/" + project},
	} {
		t.Run(c.who+" "+c.path, func(t *testing.T) {
			f.t = t
			req := request("GET", c.path, nil)
			random := newRandomTwin(t, req, []string{draft, project, batch})
			resp, body := f.do(f.as(c.who, req))
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %.300s", resp.StatusCode, body)
			}
			random.sameAnswer(t, f, c.who, resp, body)
		})
	}
}
