package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserSignIn drives Debian's Chromium through the pages as a person
// would: the redirect to the sign-in page, a refused and an accepted sign-in,
// the session cookie, sign-out, the language switch and the API reference.
// Each scenario has a browser context of its own, so no cookie crosses from
// one to the next, and no page may load anything from another host.
func TestBrowserSignIn(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	t.Run("wrong password stays on the sign-in page", func(t *testing.T) {
		tab := browsertest.NewTab(t, browser, base)
		tab.Navigate("/")
		tab.WantLocation("/login?next=%2F")
		resp := tab.SignIn("city", "not-"+fixturePassword)
		if resp.Status != http.StatusUnauthorized {
			t.Errorf("sign-in with a wrong password: status %d, want %d", resp.Status, http.StatusUnauthorized)
		}
		tab.WantLocation("/login")
		// The text of "login.invalid" in internal/site/i18n.
		if got := tab.Text(`main p.alert[role="alert"]`); got != "用户名或密码错误。" {
			t.Errorf("alert = %q, want the invalid-credentials message", got)
		}
		if got := tab.Value(`main input[name="username"]`); got != "city" {
			t.Errorf("username field = %q, want it kept as %q", got, "city")
		}
		if got := tab.Value(`main input[name="next"]`); got != "/" {
			t.Errorf("next field = %q, want it kept as %q", got, "/")
		}
		if c := tab.Cookie("ipeval_session"); c != nil {
			t.Errorf("a refused sign-in set the session cookie: %+v", c)
		}
	})

	t.Run("sign in, session cookie, sign out", func(t *testing.T) {
		tab := browsertest.NewTab(t, browser, base)
		tab.Navigate("/")
		tab.WantLocation("/login?next=%2F")
		if resp := tab.SignIn("city", fixturePassword); resp.Status != http.StatusOK {
			t.Errorf("home page after sign-in: status %d, want %d", resp.Status, http.StatusOK)
		}
		tab.WantLocation("/")
		if got := tab.Text("main h1"); got != "欢迎，city" {
			t.Errorf("heading = %q, want %q", got, "欢迎，city")
		}
		if got := tab.Text("main dl.facts"); !strings.Contains(got, "市级用户") {
			t.Errorf("facts = %q, want the role name 市级用户", got)
		}
		if got := tab.Text("header .who"); got != "city" {
			t.Errorf("header shows %q, want %q", got, "city")
		}

		c := tab.Cookie("ipeval_session")
		switch {
		case c == nil:
			t.Error("no ipeval_session cookie after sign-in")
		default:
			if !c.HTTPOnly {
				t.Error("ipeval_session is not HttpOnly")
			}
			if c.SameSite != network.CookieSameSiteLax {
				t.Errorf("ipeval_session SameSite = %q, want %q", c.SameSite, network.CookieSameSiteLax)
			}
			if c.Path != "/" {
				t.Errorf("ipeval_session Path = %q, want /", c.Path)
			}
		}
		// HttpOnly as the page sees it: no script can read the session.
		if js, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil {
			t.Errorf("read document.cookie: %v", err)
		} else if strings.Contains(js, "ipeval_session") {
			t.Errorf("document.cookie shows the session: %q", js)
		}
		if t.Failed() {
			tab.Screenshot("home.png")
		}

		// The sign-out form in the header.
		if resp := tab.Submit(`header form[action="/logout"] button[type="submit"]`); resp.Status != http.StatusOK {
			t.Errorf("sign-in page after sign-out: status %d, want %d", resp.Status, http.StatusOK)
		}
		tab.WantLocation("/login")
		if c := tab.Cookie("ipeval_session"); c != nil {
			t.Errorf("session cookie still there after sign-out: %+v", c)
		}
		tab.Navigate("/")
		tab.WantLocation("/login?next=%2F")
	})

	t.Run("English", func(t *testing.T) {
		tab := browsertest.NewTab(t, browser, base)
		tab.Navigate("/login?lang=en")
		if got := tab.Text("main h1"); got != "Sign in" {
			t.Errorf("heading = %q, want %q", got, "Sign in")
		}
		if got, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || got != "en" {
			t.Errorf("html lang = %q (%v), want en", got, err)
		}
	})

	t.Run("API reference from this host only", func(t *testing.T) {
		tab := browsertest.NewTab(t, browser, base)
		tab.Navigate("/docs")
		tab.WantLocation("/docs")
		if got := tab.TextContent("main"); !strings.Contains(got, "/api/v1/cycles/{id}/transitions") {
			t.Errorf("/docs does not list /api/v1/cycles/{id}/transitions")
		}
		urls := tab.WantOwnHost()
		if !slices.Contains(urls, base+"/docs") || !slices.Contains(urls, base+"/static/app.css") {
			t.Errorf("requests = %q, want /docs and /static/app.css among them", urls)
		}
	})
}

// serveFixture serves the fixture's application on a loopback port and
// returns its base URL, such as http://127.0.0.1:40123.
func serveFixture(t *testing.T, f *fixture) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			t.Errorf("shut down the server: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestBrowserCollect is a city official's collection round in Chromium:
// sign in, open the cycle's collection page, upload the filled-in Excel
// template through the form, and see every value submitted.
func TestBrowserCollect(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	cy := f.collectingCycle()
	tpl := f.call("city", "GET", "/api/v1/cycles/"+cy.ID+"/values/template", nil, http.StatusOK)
	file := filepath.Join(t.TempDir(), "太原市指标填报.xlsx")
	filled := fill(t, tpl, func(code string) string {
		if code == "A1" || code == "A4" {
			return "否"
		}
		return "1"
	})
	if err := os.WriteFile(file, filled, 0o600); err != nil {
		t.Fatal(err)
	}
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	tab := browsertest.NewTab(t, browser, base)
	page := "/cycles/" + cy.ID + "/collect"
	tab.Navigate(page)
	if resp := tab.SignIn("city", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("collection page after sign-in: status %d", resp.Status)
	}
	tab.WantLocation(page)
	if err := chromedp.Do(tab.Ctx, chromedp.SetUploadFiles(`#import input[type="file"]`, []string{file})); err != nil {
		t.Fatalf("choose the file: %v", err)
	}
	if resp := tab.Submit(`#import button[type="submit"]`); resp.Status != http.StatusOK {
		tab.Screenshot("collect.png")
		t.Fatalf("upload: status %d", resp.Status)
	}
	if got := tab.Text("main p.notice"); !strings.Contains(got, "提交审核 17 项") {
		t.Errorf("notice = %q, want 17 values submitted", got)
	}
	if got := tab.Text(`tr[data-code="A2"] td.state`); got != "已提交" {
		t.Errorf("A2 is %q, want 已提交", got)
	}
	if got := tab.Text(`tr[data-code="D1"] td.state`); got != "未填报" {
		t.Errorf("survey-sourced D1 is %q, want 未填报", got)
	}

	// The values form: a changed field is saved as a draft with its history.
	for _, act := range []chromedp.Action[chromedp.Void]{chromedp.SetValue(`#values input[name="v.A2"]`, "5"),
		chromedp.SendKeys(`#values textarea[name="note.A2"]`, "新增网点")} {
		if err := chromedp.Do(tab.Ctx, act); err != nil {
			t.Fatalf("fill the form: %v", err)
		}
	}
	if resp := tab.Submit(`#values button[type="submit"]`); resp.Status != http.StatusOK {
		tab.Screenshot("collect-form.png")
		t.Fatalf("save the form: status %d", resp.Status)
	}
	if got := tab.Text("main p.notice"); !strings.Contains(got, "已保存 1 项") {
		t.Errorf("notice = %q, want 1 value saved", got)
	}
	if got := tab.Value(`#values input[name="v.A2"]`); got != "5" {
		t.Errorf("A2 shows %q after saving, want 5", got)
	}
	if got := tab.TextContent(`tr[data-code="A2"] details`); !strings.Contains(got, "1 → 5") {
		t.Errorf("A2's history = %q, want the change 1 → 5", got)
	}
}
