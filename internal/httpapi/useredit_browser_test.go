package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserUserEdit is the user's edit page in Chromium: the security
// administrator follows the row's edit link, is refused a bidi character
// by field, then moves the official to another region and is back on the
// users list with the notice. Screenshots are kept with -artifacts.
func TestBrowserUserEdit(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)
	id := f.accounts["city2"].user.ID

	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/users")
	if resp := tab.SignIn("secadmin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("users page after sign-in: status %d", resp.Status)
	}
	href, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](`document.querySelector('tr[data-user="city2"] a.edit-user').getAttribute("href")`))
	if err != nil || href != "/users/"+id {
		t.Fatalf("the row's edit link = %q, %v", href, err)
	}
	tab.Navigate(href)
	tab.WantLocation("/users/" + id)
	tab.Screenshot("user-edit.png")
	tab.Axe("user edit page")

	if err := chromedp.Do(tab.Ctx, chromedp.SetValue(`#edit-user input[name="display_name"]`, "大同\u202e员")); err != nil {
		t.Fatal(err)
	}
	if resp := tab.Submit(`#edit-user button[type="submit"]`); resp.Status != http.StatusBadRequest {
		t.Fatalf("a bidi character: status %d, want 400", resp.Status)
	}
	if got := tab.Texts(`table.problems tbody tr`); len(got) != 1 || !strings.Contains(got[0], "display_name") {
		t.Errorf("problems = %q, want one on display_name", got)
	}
	tab.Screenshot("user-edit-refused.png")
	tab.Axe("user edit page with a refused form")

	for _, act := range []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(`#edit-user input[name="display_name"]`, "晋中联络员"),
		chromedp.SetValue(`#edit-user select[name="region_code"]`, "149900"),
	} {
		if err := chromedp.Do(tab.Ctx, act); err != nil {
			t.Fatal(err)
		}
	}
	if resp := tab.Submit(`#edit-user button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("save: status %d", resp.Status)
	}
	tab.WantLocation("/users?notice=updated")
	if got := tab.Text(`tr[data-user="city2"]`); !strings.Contains(got, "晋中联络员") || !strings.Contains(got, "149900") {
		t.Errorf("row of city2 = %q", got)
	}
	tab.Screenshot("user-edited.png")
}
