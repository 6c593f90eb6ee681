package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestProbeDemo asks the demo, as `make run` serves it, what issue 14's
// outside probe asked, and checks each answer the issue states.
func TestProbeDemo(t *testing.T) {
	s := startLive(t, false, "--metrics-addr", "127.0.0.1:0")
	metricsURL := s.out.waitFor(t, metricsAt, 30*time.Second)[1]

	t.Run("a 1e308 value is a 400", func(t *testing.T) {
		body := `{"items":[{"region_code":"140100","indicator_code":"B1","number":1e308}]}`
		code, ct, b := s.raw(t, s.city, http.MethodPost, "/api/v1/cycles/"+s.collecting+"/values", "application/json", body)
		if code != http.StatusBadRequest || !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("1e308: %d %s %s", code, ct, b)
		}
	})

	t.Run("metrics count every request by method and route", func(t *testing.T) {
		before := scrapeRequests(t, metricsURL)
		want := map[[2]string]float64{}
		for i := range 120 {
			var method, path, route string
			switch i % 4 {
			case 0:
				method, path, route = http.MethodGet, "/healthz", "/healthz"
			case 1:
				method, path, route = http.MethodGet, "/api/v1/regions/140100", "/api/v1/regions/:code"
			case 2:
				method, path, route = http.MethodPost, "/api/v1/cycles/"+s.collecting+"/values/submit", "/api/v1/cycles/:id/values/submit"
			case 3:
				method, path, route = http.MethodDelete, "/api/v1/tokens/"+uuid.NewString(), "/api/v1/tokens/:id"
			}
			s.raw(t, s.city, method, path, "application/json", `{"region_code":"140100","indicator_codes":["NOPE"]}`)
			want[[2]string{method, route}]++
		}
		after := scrapeRequests(t, metricsURL)
		for k, n := range want {
			if got := after[k] - before[k]; got != n {
				t.Errorf("%s %s: %v requests counted, %v made", k[0], k[1], got, n)
			}
		}
		for k := range after {
			if _, ok := want[k]; !ok && after[k] != before[k] {
				t.Errorf("series %s %s counted requests nobody made: %v", k[0], k[1], after[k]-before[k])
			}
		}
	})

	t.Run("GET /api/v1/me is no-store", func(t *testing.T) {
		resp := s.response(t, s.city, http.MethodGet, "/api/v1/me", "", "")
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q", cc)
		}
	})

	t.Run("an organisation named with U+202E is a 400", func(t *testing.T) {
		token := strings.TrimSpace(cli(t, s.env, "user", "token", "secadmin"))
		code, _, b := s.raw(t, token, http.MethodPost, "/api/v1/organisations", "application/json",
			`{"name":"调查\u202eevil","kind":"contractor"}`)
		if code != http.StatusBadRequest {
			t.Fatalf("organisation with U+202E: %d %s", code, b)
		}
	})

	t.Run("an unpublished run's workbook is as missing as a random one", func(t *testing.T) {
		var list struct {
			Items []struct {
				ID          string
				PublishedAt *time.Time `json:"published_at"`
			}
		}
		s.get(t, s.admin, "/api/v1/cycles/"+s.publishedCycle+"/runs", &list)
		unpublished := ""
		for _, r := range list.Items {
			if r.PublishedAt == nil {
				unpublished = r.ID
			}
		}
		if unpublished == "" {
			t.Fatal("the demo has no unpublished run")
		}
		code, ct, b := s.raw(t, s.city, http.MethodGet, "/api/v1/runs/"+unpublished+"/workbook", "", "")
		rcode, rct, rb := s.raw(t, s.city, http.MethodGet, "/api/v1/runs/"+uuid.NewString()+"/workbook", "", "")
		if code != http.StatusNotFound || code != rcode || ct != rct {
			t.Fatalf("unpublished: %d %s %s; random: %d %s %s", code, ct, b, rcode, rct, rb)
		}
		if p, r := problemWithout(t, b), problemWithout(t, rb); !maps.Equal(p, r) {
			t.Fatalf("the answers differ:\n%v\n%v", p, r)
		}
	})

	t.Run("a password change ends the owner's API tokens", func(t *testing.T) {
		pw := newPassword(t, cli(t, s.env, "user", "passwd", "survey"))
		token := strings.TrimSpace(cli(t, s.env, "user", "token", "survey"))
		change := `{"current_password":` + jsonString(pw) + `,"new_password":"Zhongxin-Diaocha-2026-qiu"}`
		if code, _, b := s.raw(t, token, http.MethodPut, "/api/v1/me/password", "application/json", change); code != http.StatusNoContent {
			t.Fatalf("password change: %d %s", code, b)
		}
		if code, _, b := s.raw(t, token, http.MethodGet, "/api/v1/me", "", ""); code != http.StatusUnauthorized {
			t.Fatalf("the token after the change: %d %s", code, b)
		}
	})

	t.Run("a CSRF token in the URL does not count", func(t *testing.T) {
		pw := newPassword(t, cli(t, s.env, "user", "passwd", "secadmin"))
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		browser := &http.Client{Jar: jar}
		resp, err := browser.Post(s.base+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"username":"secadmin","password":`+jsonString(pw)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		var login struct {
			CSRF string `json:"csrf_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&login)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || login.CSRF == "" {
			t.Fatalf("sign in: %d %v", resp.StatusCode, err)
		}
		write := func(query, header string) int {
			req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/tokens"+query, strings.NewReader(`{"name":"csrf probe"}`))
			req.Header.Set("Content-Type", "application/json")
			if header != "" {
				req.Header.Set("X-CSRF-Token", header)
			}
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := write("?_csrf="+url.QueryEscape(login.CSRF), ""); code != http.StatusForbidden {
			t.Fatalf("?_csrf= without the header: %d", code)
		}
		if code := write("", login.CSRF); code != http.StatusCreated {
			t.Fatalf("the same token in the header: %d", code)
		}
	})

	t.Run("wrong passwords answer alike for a real and an unknown name", func(t *testing.T) {
		// Each name is tried from a loopback network of its own, so that
		// the per-client sign-in limit counts each series alike.
		from := func(ip string) *http.Client {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
			return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		}
		clients := map[string]*http.Client{"auditor": from("127.0.1.2"), "no-such-user": from("127.0.2.2")}
		attempt := func(name string) (int, http.Header, map[string]any) {
			resp, err := clients[name].Post(s.base+"/api/v1/auth/login", "application/json",
				strings.NewReader(`{"username":`+jsonString(name)+`,"password":"Not-The-Password-42"}`))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := resp.Header.Clone()
			for _, k := range []string{"Date", "X-Request-Id"} {
				h.Del(k)
			}
			return resp.StatusCode, h, problemWithout(t, b)
		}
		for i := range 6 {
			rc, rh, rb := attempt("auditor")
			uc, uh, ub := attempt("no-such-user")
			if rc != uc || !maps.EqualFunc(rh, uh, func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }) || !maps.Equal(rb, ub) {
				t.Fatalf("attempt %d: real name %d %v %v; unknown name %d %v %v", i+1, rc, rh, rb, uc, uh, ub)
			}
		}
	})
}

// raw sends one request with an optional bearer token and body and returns
// the status, content type and body.
func (s *liveServer) raw(tb testing.TB, token, method, path, contentType, body string) (int, string, []byte) {
	tb.Helper()
	resp := s.response(tb, token, method, path, contentType, body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// response sends one request and returns the open response.
func (s *liveServer) response(tb testing.TB, token, method, path, contentType, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewBufferString(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" && body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// scrapeRequests reads ipeval_http_requests_total by method and route,
// summed over status.
func scrapeRequests(tb testing.TB, metricsURL string) map[[2]string]float64 {
	tb.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d", metricsURL, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("metrics: %v", err)
	}
	out := map[[2]string]float64{}
	for _, m := range families["ipeval_http_requests_total"].GetMetric() {
		var method, route string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "method":
				method = l.GetValue()
			case "route":
				route = l.GetValue()
			}
		}
		out[[2]string{method, route}] += m.GetCounter().GetValue()
	}
	return out
}

// problemWithout decodes a problem document without its members that name
// the request (instance, request id).
func problemWithout(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		tb.Fatalf("not a problem document: %v: %s", err, b)
	}
	delete(p, "instance")
	delete(p, "request_id")
	return p
}

var shownPassword = regexp.MustCompile(`\(shown once\): (\S+)`)

// newPassword reads the one-time password `ipeval user passwd` printed.
func newPassword(tb testing.TB, out string) string {
	tb.Helper()
	m := shownPassword.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("no password in %q", out)
	}
	return m[1]
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
