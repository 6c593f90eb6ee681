package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestAxe checks the check: axe-core, injected under the pages' own
// Content-Security-Policy, finds an image without a text alternative and a
// field without a label, and nothing serious on the same page made right.
func TestAxe(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	browsertest.RequireAxe(t)
	pages := map[string]string{
		"/broken": `<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>
<h1>Broken</h1><img src="/pixel.png"><form><input name="q"></form></main></body></html>`,
		"/fixed": `<!doctype html><html lang="en"><head><title>Fixed</title></head><body><main>
<h1>Fixed</h1><img src="/pixel.png" alt="A dot"><form><label>Search <input name="q"></label></form></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The pages' policy: no inline script, nothing from elsewhere.
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		if r.URL.Path == "/pixel.png" {
			w.Header().Set("Content-Type", "image/gif")
			_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
			return
		}
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	browser := browsertest.Start(t, exe)
	tab := browsertest.NewTab(t, browser, srv.URL)

	tab.Navigate("/broken")
	var serious []string
	for _, v := range tab.AxeViolations() {
		if v.Serious() {
			serious = append(serious, v.ID)
		}
	}
	for _, want := range []string{"image-alt", "label"} {
		if !slices.Contains(serious, want) {
			t.Errorf("broken page: serious violations %v, want %s among them", serious, want)
		}
	}

	tab.Navigate("/fixed")
	tab.Axe("the fixed page")
}
