package httpapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
)

// TestProbe04TokensRevokedOnPasswordChange: a password change revokes the
// owner's API tokens (unless the owner keeps them on purpose), a reset by
// the security administrator always does, and both are audited with the
// tokens they revoked. The token cache forgets them at once.
func TestProbe04TokensRevokedOnPasswordChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixtureOn(t, db, web.Options{LoginRate: 1000})
		me := func(token string) int {
			t.Helper()
			req := request("GET", "/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, _ := f.do(req)
			return resp.StatusCode
		}
		lastDetail := func(action string) string {
			t.Helper()
			var d []string
			f.db.Table("audit_log").Where("action = ?", action).Order("id DESC").Limit(1).Pluck("detail", &d)
			if len(d) == 0 {
				t.Fatalf("no audit entry for %s", action)
			}
			return d[0]
		}

		t.Run("owner changes the password", func(t *testing.T) {
			f.t = t
			city := f.accounts["city"]
			second := decode[struct{ Token string }](t, f.call("city", "POST", "/api/v1/tokens", map[string]any{"name": "script"}, http.StatusCreated)).Token
			if me(city.token) != http.StatusOK || me(second) != http.StatusOK { // both now in the token cache
				t.Fatal("tokens refused before the change")
			}
			f.call("city", "PUT", "/api/v1/me/password", map[string]any{"current_password": city.password, "new_password": "Rotated-" + city.password}, http.StatusNoContent)
			city.password = "Rotated-" + city.password
			if got, got2 := me(city.token), me(second); got != http.StatusUnauthorized || got2 != http.StatusUnauthorized {
				t.Errorf("tokens after the owner's password change: %d and %d, want 401", got, got2)
			}
			if d := lastDetail("me.password"); !strings.Contains(d, "revoked 2 API token(s)") {
				t.Errorf("audit detail %q does not list the revoked tokens", d)
			}
		})

		t.Run("owner keeps the tokens on purpose", func(t *testing.T) {
			f.t = t
			c := f.accounts["contractor"]
			f.call("contractor", "PUT", "/api/v1/me/password", map[string]any{"current_password": c.password, "new_password": "Kept-" + c.password, "keep_tokens": true}, http.StatusNoContent)
			c.password = "Kept-" + c.password
			if got := me(c.token); got != http.StatusOK {
				t.Errorf("kept token: %d, want 200", got)
			}
			if d := lastDetail("me.password"); d != "API tokens kept" {
				t.Errorf("audit detail %q", d)
			}
		})

		t.Run("security administrator resets the password", func(t *testing.T) {
			f.t = t
			c := f.accounts["contractor"]
			if me(c.token) != http.StatusOK {
				t.Fatal("token refused before the reset")
			}
			out := decode[struct{ Password string }](t, f.call("secadmin", "POST", "/api/v1/users/"+c.user.ID+"/password", nil, http.StatusOK))
			if got := me(c.token); got != http.StatusUnauthorized {
				t.Errorf("token after a reset: %d, want 401", got)
			}
			if d := lastDetail("users.reset_password"); !strings.Contains(d, "revoked 1 API token(s)") {
				t.Errorf("audit detail %q does not list the revoked token", d)
			}
			if err := auth.CheckPassword(out.Password, c.user.Username); err != nil {
				t.Errorf("generated password %q fails the policy: %v", out.Password, err)
			}
		})
	})
}

// TestClientBehindProxy: behind a trusted proxy the caller is the
// right-most address of X-Forwarded-For that no trusted proxy added;
// addresses the caller writes in front of it change nothing, so a guesser
// can neither escape its throttle nor sign its audit entries with another
// network's address.
func TestClientBehindProxy(t *testing.T) {
	// In process the peer is 0.0.0.0: it stands for the proxy the server
	// sits behind, and 10/8 for the proxies in front of that.
	f := newFixtureOn(t, nil, web.Options{LoginRate: 1000, TrustedProxies: []string{"0.0.0.0", "10.0.0.0/8"}})
	for i := range auth.FreeFailures + 1 {
		req := request("POST", "/api/v1/auth/login", map[string]string{"username": "city", "password": "Wrong-Pass-2026!"})
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.1, 203.0.113.9, 10.1.2.3", i))
		resp, body := f.do(req)
		want := http.StatusUnauthorized
		if i == auth.FreeFailures {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Fatalf("attempt %d with a forged left part: %d %s, want %d", i+1, resp.StatusCode, body, want)
		}
	}
	var ip string
	if err := f.db.Table("audit_log").Select("client_ip").Where("action = ?", "auth.login").Order("id DESC").Limit(1).Scan(&ip).Error; err != nil {
		t.Fatal(err)
	}
	if ip != "203.0.113.9" {
		t.Errorf("audited client %q, want 203.0.113.9", ip)
	}
}

// TestProbe04LockoutOracle: wrong passwords for a real and an unknown name
// get identical answers, and slowing a name down from one client network
// does not keep its owner out from another.
func TestProbe04LockoutOracle(t *testing.T) {
	f := newFixtureOn(t, nil, web.Options{LoginRate: 1000, TrustedProxies: []string{"0.0.0.0/0", "::/0"}})
	login := func(name, password, from string) (*http.Response, []byte) {
		req := request("POST", "/api/v1/auth/login", map[string]string{"username": name, "password": password})
		req.Header.Set("X-Forwarded-For", from)
		return f.do(req)
	}
	// answer is what a caller can compare: status, headers but the
	// per-request ones, and the body without its request id.
	answer := func(resp *http.Response, body []byte) string {
		var h []string
		for k, v := range resp.Header {
			if k != "X-Request-Id" && k != "Date" {
				h = append(h, k+"="+strings.Join(v, ","))
			}
		}
		slices.Sort(h)
		b := requestIDMember.ReplaceAllString(string(body), "")
		return resp.Status + "\n" + strings.Join(h, "\n") + "\n" + b
	}
	const stranger = "203.0.113.50"
	for i := range auth.FreeFailures + 3 {
		known, unknown := answer(login("city", "Wrong-Pass-2026!", stranger)), answer(login("nosuchuser", "Wrong-Pass-2026!", stranger))
		if known != unknown {
			t.Fatalf("attempt %d: a real name answers\n%s\nan unknown one\n%s", i+1, known, unknown)
		}
		if want := "401"; i >= auth.FreeFailures {
			want = "429"
			if !strings.HasPrefix(known, want) || !strings.Contains(known, "Retry-After=") {
				t.Fatalf("attempt %d: %s, want %s with Retry-After", i+1, known, want)
			}
		} else if !strings.HasPrefix(known, want) {
			t.Fatalf("attempt %d: %s, want %s", i+1, known, want)
		}
	}
	// The stranger's neighbours are slowed too, the owner elsewhere is not.
	if resp, body := login("city", fixturePassword, "203.0.113.51"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password from the throttled network: %d %s, want 429", resp.StatusCode, body)
	}
	if resp, body := login("city", fixturePassword, "198.51.100.7"); resp.StatusCode != http.StatusOK {
		t.Errorf("owner from another network: %d %s, want 200", resp.StatusCode, body)
	}
	// The security administrator can lift a throttle.
	for range auth.FreeFailures + 1 {
		login("city2", "Wrong-Pass-2026!", stranger)
	}
	type listed struct {
		Username       string `json:"username"`
		ThrottledUntil string `json:"throttled_until"`
	}
	users := decode[struct{ Items []listed }](t, f.call("secadmin", "GET", "/api/v1/users", nil, http.StatusOK))
	if i := slices.IndexFunc(users.Items, func(u listed) bool { return u.Username == "city2" }); i < 0 || users.Items[i].ThrottledUntil == "" {
		t.Errorf("the users list does not show city2 throttled: %+v", users.Items)
	}
	f.call("secadmin", "DELETE", "/api/v1/users/"+f.accounts["city2"].user.ID+"/throttle", nil, http.StatusOK)
	if resp, body := login("city2", fixturePassword, stranger); resp.StatusCode != http.StatusOK {
		t.Errorf("after the throttle was cleared: %d %s", resp.StatusCode, body)
	}
}

// TestProbe04WeakPasswords: common and guessable passwords, the username
// and the current password are refused by field, in both languages,
// wherever a password is set.
func TestProbe04WeakPasswords(t *testing.T) {
	f := newFixture(t)
	city := f.accounts["city"]
	tests := []struct {
		name, password, field string
	}{
		{"common", "Password1234!", "password"},
		{"repetition", "Aaaaaaaaaaa1", "password"},
		{"keyboard", "1qaz@WSX3edc", "password"},
		{"username", "Newuser-2026!x", "password"},
	}
	for _, tt := range tests {
		t.Run("create user: "+tt.name, func(t *testing.T) {
			f.t = t
			resp, body := f.do(f.as("secadmin", request("POST", "/api/v1/users", map[string]any{
				"username": "newuser", "role": "city", "region_code": "140200", "password": tt.password})))
			wantFieldProblem(t, resp, body, tt.field)
		})
		t.Run("change: "+tt.name, func(t *testing.T) {
			f.t = t
			resp, body := f.do(f.as("city", request("PUT", "/api/v1/me/password", map[string]any{
				"current_password": city.password, "new_password": strings.ReplaceAll(tt.password, "Newuser", "City")})))
			wantFieldProblem(t, resp, body, "new_password")
		})
	}
	t.Run("change: the current password again", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("city", request("PUT", "/api/v1/me/password", map[string]any{
			"current_password": city.password, "new_password": city.password})))
		wantFieldProblem(t, resp, body, "new_password")
	})
	t.Run("generated passwords pass", func(t *testing.T) {
		f.t = t
		out := decode[struct{ Password string }](t, f.call("secadmin", "POST", "/api/v1/users", map[string]any{
			"username": "generated", "role": "city", "region_code": "140200"}, http.StatusCreated))
		if err := auth.CheckPassword(out.Password, "generated"); err != nil {
			t.Errorf("generated %q: %v", out.Password, err)
		}
	})
}

// requestIDMember matches the request id of a problem document, which
// differs between any two answers.
var requestIDMember = regexp.MustCompile(`"request_id":"[^"]*"`)

// wantFieldProblem checks a 400 problem that names field, in Chinese and
// English.
func wantFieldProblem(t *testing.T, resp *http.Response, body []byte, field string) {
	t.Helper()
	wantProblem(t, resp, body, http.StatusBadRequest)
	p := decode[struct {
		Errors []struct {
			Field     string `json:"field"`
			Message   string `json:"message"`
			MessageEn string `json:"message_en"`
		}
	}](t, body)
	for _, e := range p.Errors {
		if e.Field == field && e.Message != "" && e.MessageEn != "" {
			return
		}
	}
	t.Errorf("no bilingual problem on %s: %s", field, body)
}
