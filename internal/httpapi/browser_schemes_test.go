package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserSchemes is the manager's scheme pages in Chromium: add the
// built-in default, read it as the 细则 table, upload a bad scheme and see
// every problem by path with nothing stored, upload a revision and compare
// the two versions. Screenshots of each page are kept with -artifacts.
func TestBrowserSchemes(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/schemes")
	if resp := tab.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("schemes page after sign-in: status %d", resp.Status)
	}
	tab.WantLocation("/schemes")
	if resp := tab.Submit(`#add-default-scheme button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("add the default: status %d", resp.Status)
	}
	if !strings.HasPrefix(tab.Location(), "/schemes/") {
		t.Fatalf("after adding the default: at %s", tab.Location())
	}
	detail := tab.Location()
	if got := tab.Text("main p.notice"); got != "已添加内置默认方案。" {
		t.Errorf("notice = %q", got)
	}
	if got := tab.Text(`tr[data-indicator="A2"] td:nth-of-type(2)`); !strings.Contains(got, "在固定区间 0～10 内线性折算") {
		t.Errorf("A2's rule = %q", got)
	}
	if got := tab.Text(`tr[data-rule="R1"] td:nth-of-type(3)`); !strings.Contains(got, "四（三）") {
		t.Errorf("R1's basis = %q", got)
	}
	tab.Axe("scheme-detail")
	tab.Screenshot("scheme-detail.png")

	// A bad revision: every problem by its path, nothing stored.
	bad := scheme.Default()
	bad.Dimensions[1].Weight = -1
	bad.Indicators[0].Weight = 1e308
	file := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(file, schemeYAML(t, bad), 0o600); err != nil {
		t.Fatal(err)
	}
	tab.Navigate("/schemes")
	before := f.schemeCount()
	if err := chromedp.Do(tab.Ctx, chromedp.SetUploadFiles(`#upload-scheme input[name="file"]`, []string{file})); err != nil {
		t.Fatal(err)
	}
	if resp := tab.Submit(`#upload-scheme button[type="submit"]`); resp.Status != http.StatusBadRequest {
		t.Fatalf("bad upload: status %d, want 400", resp.Status)
	}
	paths := strings.Join(tab.Texts(`#scheme-problems td code`), " ")
	for _, want := range []string{"dimensions[1].weight", "indicators[0].weight"} {
		if !strings.Contains(paths, want) {
			t.Errorf("problems %q do not name %s", paths, want)
		}
	}
	if f.schemeCount() != before {
		t.Errorf("a refused upload stored a version")
	}
	tab.Axe("schemes-refused")
	tab.Screenshot("schemes-refused.png")

	// A good revision becomes version 2; the list shows both.
	good := scheme.Default()
	good.Dimensions[1].Weight = 30
	good.Indicators[1].EvidenceRequired = true
	if err := os.WriteFile(file, schemeYAML(t, good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab.Ctx, chromedp.SetUploadFiles(`#upload-scheme input[name="file"]`, []string{file})); err != nil {
		t.Fatal(err)
	}
	if resp := tab.Submit(`#upload-scheme button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("good upload: status %d", resp.Status)
	}
	tab.Navigate("/schemes")
	if got := tab.Texts(`table.schemes tbody tr`); len(got) != 2 {
		t.Errorf("list rows = %q, want two versions", got)
	}
	tab.Axe("schemes-list")
	tab.Screenshot("schemes-list.png")

	tab.Navigate(detail)
	if resp := tab.Submit(`#diff-scheme button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("diff: status %d", resp.Status)
	}
	if got := tab.Texts(`table.scheme-diff th code`); strings.Join(got, " ") != "dimensions[B].weight indicators[A2].evidence_required" {
		t.Errorf("changes = %q", got)
	}
	tab.Axe("scheme-diff")
	tab.Screenshot("scheme-diff.png")
	tab.WantOwnHost()
}
