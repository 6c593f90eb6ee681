package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testenv"
)

// browserTimeout bounds the whole browser test: start, every scenario, stop.
const browserTimeout = 60 * time.Second

// TestBrowserSignIn drives Debian's Chromium through the pages as a person
// would: the redirect to the sign-in page, a refused and an accepted sign-in,
// the session cookie, sign-out, the language switch and the API reference.
// Each scenario has a browser context of its own, so no cookie crosses from
// one to the next, and no page may load anything from another host.
func TestBrowserSignIn(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	base := serveFixture(t, f)
	browser := startBrowser(t, exe)

	t.Run("wrong password stays on the sign-in page", func(t *testing.T) {
		tab := newTab(t, browser, base)
		tab.navigate("/")
		tab.wantLocation("/login?next=%2F")
		resp := tab.signIn("city", "not-"+fixturePassword)
		if resp.Status != http.StatusUnauthorized {
			t.Errorf("sign-in with a wrong password: status %d, want %d", resp.Status, http.StatusUnauthorized)
		}
		tab.wantLocation("/login")
		// The text of "login.invalid" in pages.go.
		if got := tab.text(`main p.alert[role="alert"]`); got != "用户名或密码错误。" {
			t.Errorf("alert = %q, want the invalid-credentials message", got)
		}
		if got := tab.value(`main input[name="username"]`); got != "city" {
			t.Errorf("username field = %q, want it kept as %q", got, "city")
		}
		if got := tab.value(`main input[name="next"]`); got != "/" {
			t.Errorf("next field = %q, want it kept as %q", got, "/")
		}
		if c := tab.cookie("ipeval_session"); c != nil {
			t.Errorf("a refused sign-in set the session cookie: %+v", c)
		}
	})

	t.Run("sign in, session cookie, sign out", func(t *testing.T) {
		tab := newTab(t, browser, base)
		tab.navigate("/")
		tab.wantLocation("/login?next=%2F")
		if resp := tab.signIn("city", fixturePassword); resp.Status != http.StatusOK {
			t.Errorf("home page after sign-in: status %d, want %d", resp.Status, http.StatusOK)
		}
		tab.wantLocation("/")
		if got := tab.text("main h1"); got != "欢迎，city" {
			t.Errorf("heading = %q, want %q", got, "欢迎，city")
		}
		if got := tab.text("main dl.facts"); !strings.Contains(got, "市级用户") {
			t.Errorf("facts = %q, want the role name 市级用户", got)
		}
		if got := tab.text("header .who"); got != "city" {
			t.Errorf("header shows %q, want %q", got, "city")
		}

		c := tab.cookie("ipeval_session")
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
		if js, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil {
			t.Errorf("read document.cookie: %v", err)
		} else if strings.Contains(js, "ipeval_session") {
			t.Errorf("document.cookie shows the session: %q", js)
		}
		if t.Failed() {
			tab.screenshot("home.png")
		}

		// The sign-out form in the header.
		if resp := tab.submit(`header form[action="/logout"] button[type="submit"]`); resp.Status != http.StatusOK {
			t.Errorf("sign-in page after sign-out: status %d, want %d", resp.Status, http.StatusOK)
		}
		tab.wantLocation("/login")
		if c := tab.cookie("ipeval_session"); c != nil {
			t.Errorf("session cookie still there after sign-out: %+v", c)
		}
		tab.navigate("/")
		tab.wantLocation("/login?next=%2F")
	})

	t.Run("English", func(t *testing.T) {
		tab := newTab(t, browser, base)
		tab.navigate("/login?lang=en")
		if got := tab.text("main h1"); got != "Sign in" {
			t.Errorf("heading = %q, want %q", got, "Sign in")
		}
		if got, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || got != "en" {
			t.Errorf("html lang = %q (%v), want en", got, err)
		}
	})

	t.Run("API reference from this host only", func(t *testing.T) {
		tab := newTab(t, browser, base)
		tab.navigate("/docs")
		tab.wantLocation("/docs")
		if got := tab.textContent("main"); !strings.Contains(got, "/api/v1/cycles/{id}/transitions") {
			t.Errorf("/docs does not list /api/v1/cycles/{id}/transitions")
		}
		urls := tab.wantOwnHost()
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

// startBrowser starts Chromium at exe, headless and with a fresh profile, and
// returns the context of the browser. The browser and every tab end when the
// test does, or when browserTimeout runs out.
func startBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	out := new(lockedBuffer)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The machine has no outside network: nothing may try to reach it.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		// Close Chromium gracefully, so that no child process still writes
		// in the profile when the temporary directory is removed.
		if err := chromedp.Cancel(browserCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("close the browser: %v", err)
		}
		cancelBrowser()
		cancelAlloc() // waits for the process
		cancelTimeout()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v\n%s", exe, err, out.String())
	}
	return browserCtx
}

// tab is one page in a browser context of its own.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu      sync.Mutex
	urls    []string // of every request the page sent
	checked int      // how many of urls wantOwnHost has seen
}

func newTab(t *testing.T, browser context.Context, base string) *tab {
	t.Helper()
	tb := &tab{t: t, base: base}
	ctx, cancel := chromedp.NewContext(browser,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(func(ev any) {
			if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
				tb.mu.Lock()
				tb.urls = append(tb.urls, ev.Request.URL)
				tb.mu.Unlock()
			}
		}))
	tb.ctx = ctx
	t.Cleanup(func() {
		cancel()
		tb.wantOwnHost()
	})
	return tb
}

// wantOwnHost checks that every request the page sent since the last check
// went to the server under test, and returns all the page's requests so far.
func (tb *tab) wantOwnHost() []string {
	tb.t.Helper()
	tb.mu.Lock()
	urls, seen := append([]string(nil), tb.urls...), tb.checked
	tb.checked = len(urls)
	tb.mu.Unlock()
	for _, u := range urls[seen:] {
		if !strings.HasPrefix(u, tb.base+"/") {
			tb.t.Errorf("the page loaded %q, which is not from %s", u, tb.base)
		}
	}
	return urls
}

func (tb *tab) navigate(path string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(tb.base+path)); err != nil {
		tb.t.Fatalf("navigate to %s: %v", path, err)
	}
}

// signIn fills in the sign-in form and sends it, returning the response of
// the page it ends on.
func (tb *tab) signIn(username, password string) *network.Response {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx,
		chromedp.SendKeys(chromedp.CSS(`main input[name="username"]`), username),
		chromedp.SendKeys(chromedp.CSS(`main input[name="password"]`), password),
	); err != nil {
		tb.t.Fatalf("fill in the sign-in form: %v", err)
	}
	return tb.submit(`main form[action="/login"] button[type="submit"]`)
}

// submit clicks the button and waits for the page it leads to.
func (tb *tab) submit(button string) *network.Response {
	tb.t.Helper()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		tb.t.Fatalf("click %s: %v", button, err)
	}
	return resp
}

// wantLocation checks the page's address, path and query only.
func (tb *tab) wantLocation(path string) {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatalf("location: %v", err)
	}
	if loc != tb.base+path {
		tb.t.Errorf("at %s, want %s", strings.TrimPrefix(loc, tb.base), path)
	}
}

// text is the visible text of the first element that matches sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// textContent is all the text of the first element that matches sel,
// whether shown or folded away.
func (tb *tab) textContent(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text content of %s: %v", sel, err)
	}
	return s
}

func (tb *tab) value(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		tb.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// cookie returns the browser's cookie name for the server, or nil.
func (tb *tab) cookie(name string) *network.Cookie {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tb.base + "/"}})
	if err != nil {
		tb.t.Fatalf("get cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// screenshot saves the whole page, below the fold too. The file is
// in the test's artifact directory: a temporary one that is removed after
// the test, unless go test runs with -artifacts.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("screenshot: %v", err)
		return
	}
	file := filepath.Join(tb.t.ArtifactDir(), name)
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Logf("screenshot: %v", err)
		return
	}
	tb.t.Logf("screenshot: %s", file)
}

// lockedBuffer collects the browser's output, which arrives on another
// goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	browser := startBrowser(t, exe)

	tab := newTab(t, browser, base)
	page := "/cycles/" + cy.ID + "/collect"
	tab.navigate(page)
	if resp := tab.signIn("city", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("collection page after sign-in: status %d", resp.Status)
	}
	tab.wantLocation(page)
	if err := chromedp.Do(tab.ctx, chromedp.SetUploadFiles(`#import input[type="file"]`, []string{file})); err != nil {
		t.Fatalf("choose the file: %v", err)
	}
	if resp := tab.submit(`#import button[type="submit"]`); resp.Status != http.StatusOK {
		tab.screenshot("collect.png")
		t.Fatalf("upload: status %d", resp.Status)
	}
	if got := tab.text("main p.notice"); !strings.Contains(got, "提交审核 17 项") {
		t.Errorf("notice = %q, want 17 values submitted", got)
	}
	if got := tab.text(`tr[data-code="A2"] td.state`); got != "已提交" {
		t.Errorf("A2 is %q, want 已提交", got)
	}
	if got := tab.text(`tr[data-code="D1"] td.state`); got != "未填报" {
		t.Errorf("survey-sourced D1 is %q, want 未填报", got)
	}
}
