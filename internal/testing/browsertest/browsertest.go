// Package browsertest drives Debian's Chromium through ipeval's pages for
// tests: a headless browser with a fresh profile, tabs that each have a
// browser context of their own (so no cookie crosses from one scenario to
// the next), and the checks every page test makes: nothing loaded from
// another host, no error logged and no dialog opened, every chart drawn.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Timeout bounds a whole browser test: start, every scenario, stop.
const Timeout = 90 * time.Second

// Start starts Chromium at exe, headless and with a fresh profile, and
// returns the context of the browser. The browser and every tab end when
// the test does, or when Timeout runs out.
func Start(t *testing.T, exe string) context.Context {
	t.Helper()
	return StartFor(t, exe, Timeout)
}

// StartFor is Start for a test that walks through more pages than Timeout
// allows, such as a whole assessment year: the browser ends after d.
func StartFor(t *testing.T, exe string, d time.Duration) context.Context {
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
	ctx, cancelTimeout := context.WithTimeout(context.Background(), d)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(browserCtx); err != nil {
		// No browser to close gracefully: chromedp.Cancel would wait for
		// one forever.
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
		t.Fatalf("start %s: %v\n%s", exe, err, out.String())
	}
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
	return browserCtx
}

// Tab is one page in a browser context of its own. When the test ends it
// checks that every request went to Base and that the page logged no error
// and opened no dialog.
type Tab struct {
	T *testing.T
	// Ctx is the tab's chromedp context, for actions the helpers lack.
	Ctx context.Context
	// Base is the server's URL, such as http://127.0.0.1:40123.
	Base string

	mu      sync.Mutex
	urls    []string // of every request the page sent
	checked int      // how many of urls WantOwnHost has seen
	errs    []string // exceptions, console errors and dialogs
}

// NewTab opens a tab on the server at base.
func NewTab(t *testing.T, browser context.Context, base string) *Tab {
	t.Helper()
	tb := &Tab{T: t, Base: base}
	ctx, cancel := chromedp.NewContext(browser,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(tb.listen))
	tb.Ctx = ctx
	// The first action opens the tab, with the Network and Runtime domains
	// whose events the listener reads.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		tb.WantOwnHost()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if len(tb.errs) > 0 {
			t.Errorf("the pages logged errors or opened dialogs: %v", tb.errs)
		}
	})
	return tb
}

func (tb *Tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		tb.urls = append(tb.urls, e.Request.URL)
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil {
			msg += " " + ex.Description
		}
		tb.errs = append(tb.errs, msg)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value))
			}
			tb.errs = append(tb.errs, "console.error: "+strings.Join(parts, " "))
		}
	case *page.EventJavascriptDialogOpening:
		// An alert is what a hostile name let out as script would raise.
		tb.errs = append(tb.errs, "dialog: "+e.Message)
		// A dialog stalls the page until it is dismissed, and the listener
		// may not wait for the browser.
		go func() { _, _ = chromedp.Call(tb.Ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{}) }()
	}
}

// pdfViewer is Chromium's built-in PDF viewer, which draws a PDF shown in
// a page (the review queue's evidence preview): part of the browser, not
// another host. Nor is a data: address, which goes nowhere: Chromium's
// own style draws a date input's calendar icon with one.
const pdfViewer = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"

// WantOwnHost checks that every request the page sent since the last check
// went to the server under test, and returns all the page's requests so far.
func (tb *Tab) WantOwnHost() []string {
	tb.T.Helper()
	tb.mu.Lock()
	urls, seen := append([]string(nil), tb.urls...), tb.checked
	tb.checked = len(urls)
	tb.mu.Unlock()
	for _, u := range urls[seen:] {
		if !strings.HasPrefix(u, tb.Base+"/") && !strings.HasPrefix(u, pdfViewer) && !strings.HasPrefix(u, "data:") {
			tb.T.Errorf("the page loaded %q, which is not from %s", u, tb.Base)
		}
	}
	return urls
}

// Navigate opens path and returns the response of the page.
func (tb *Tab) Navigate(path string) *network.Response {
	tb.T.Helper()
	resp, err := chromedp.RunResponse(tb.Ctx, chromedp.Navigate(tb.Base+path))
	if err != nil {
		tb.T.Fatalf("navigate to %s: %v", path, err)
	}
	return resp
}

// SignIn fills in the sign-in form and sends it, returning the response of
// the page it ends on.
func (tb *Tab) SignIn(username, password string) *network.Response {
	tb.T.Helper()
	if err := chromedp.Do(tb.Ctx,
		chromedp.SendKeys(chromedp.CSS(`main input[name="username"]`), username),
		chromedp.SendKeys(chromedp.CSS(`main input[name="password"]`), password),
	); err != nil {
		tb.T.Fatalf("fill in the sign-in form: %v", err)
	}
	return tb.Submit(`main form[action="/login"] button[type="submit"]`)
}

// Submit clicks the button and waits for the page it leads to.
func (tb *Tab) Submit(button string) *network.Response {
	tb.T.Helper()
	resp, err := chromedp.RunResponse(tb.Ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		tb.T.Fatalf("click %s: %v", button, err)
	}
	return resp
}

// Location is the page's address, without Base.
func (tb *Tab) Location() string {
	tb.T.Helper()
	loc, err := chromedp.Run(tb.Ctx, chromedp.Location())
	if err != nil {
		tb.T.Fatalf("location: %v", err)
	}
	return strings.TrimPrefix(loc, tb.Base)
}

// WantLocation checks the page's address, path and query only.
func (tb *Tab) WantLocation(path string) {
	tb.T.Helper()
	if loc := tb.Location(); loc != path {
		tb.T.Errorf("at %s, want %s", loc, path)
	}
}

// Text is the visible text of the first element that matches sel.
func (tb *Tab) Text(sel string) string {
	tb.T.Helper()
	s, err := chromedp.Run(tb.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.T.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// TextContent is all the text of the first element that matches sel,
// whether shown or folded away.
func (tb *Tab) TextContent(sel string) string {
	tb.T.Helper()
	s, err := chromedp.Run(tb.Ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		tb.T.Fatalf("text content of %s: %v", sel, err)
	}
	return s
}

// Value is the value of the first form field that matches sel.
func (tb *Tab) Value(sel string) string {
	tb.T.Helper()
	s, err := chromedp.Run(tb.Ctx, chromedp.Value(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		tb.T.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// Cookie returns the browser's cookie name for the server, or nil.
func (tb *Tab) Cookie(name string) *network.Cookie {
	tb.T.Helper()
	res, err := chromedp.Call(tb.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tb.Base + "/"}})
	if err != nil {
		tb.T.Fatalf("get cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Texts is the visible text of every element that matches sel, in order.
func (tb *Tab) Texts(sel string) []string {
	tb.T.Helper()
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(function (e) { return e.innerText.trim(); })`, sel)
	out, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		tb.T.Fatalf("texts of %s: %v", sel, err)
	}
	return out
}

// Screenshot saves what the page shows in the test's artifact directory: a
// temporary one removed after the test, unless go test runs with
// -artifacts.
func (tb *Tab) Screenshot(name string) {
	tb.T.Helper()
	png, err := chromedp.Run(tb.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.T.Logf("screenshot: %v", err)
		return
	}
	file := filepath.Join(tb.T.ArtifactDir(), name)
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.T.Logf("screenshot: %v", err)
		return
	}
	tb.T.Logf("screenshot: %s", file)
}

// PaintedCharts waits up to ten seconds for every chart of the page (each
// element with data-option) to draw and returns the number of painted
// pixels of each chart's canvas, in document order.
func (tb *Tab) PaintedCharts() []int {
	tb.T.Helper()
	const painted = `Array.from(document.querySelectorAll('[data-option]')).map(function (el) {
		var c = el.querySelector('canvas');
		if (!c) return 0;
		var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
		for (var i = 3; i < d.length; i += 4) if (d[i]) n++;
		return n;
	})`
	deadline := time.Now().Add(10 * time.Second)
	for {
		counts, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[[]int](painted))
		if err != nil {
			tb.T.Fatalf("charts: %v", err)
		}
		if len(counts) > 0 && !slices.Contains(counts, 0) || time.Now().After(deadline) {
			return counts
		}
		time.Sleep(200 * time.Millisecond)
	}
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
