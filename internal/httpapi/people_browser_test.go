package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserPeople is the people pages in Chromium: the assessment
// manager imports a regions file that is refused by row and column, then
// a good one; the security administrator creates a contractor
// organisation, then a contractor's and a city official's accounts, each
// password shown once and good for signing in. Screenshots of each step
// are kept with -artifacts.
func TestBrowserPeople(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "地区-有误.csv"), filepath.Join(dir, "地区.csv")
	if err := os.WriteFile(bad, []byte("code,name,kind,parent\n140700,晋中市,prefecture_city,140000\n140702,榆次区,planet,140700\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte("\ufeffcode,name,kind,parent\n140700,晋中市,prefecture_city,140000\n140702,榆次区,county,140700\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)

	admin := browsertest.NewTab(t, browser, base)
	admin.Navigate("/regions")
	if resp := admin.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("regions page after sign-in: status %d", resp.Status)
	}
	admin.WantLocation("/regions")
	admin.Screenshot("regions.png")
	admin.Axe("regions page")
	regionsBefore := f.count("regions")
	if err := chromedp.Do(admin.Ctx, chromedp.SetUploadFiles(`#import-regions input[name="file"]`, []string{bad})); err != nil {
		t.Fatalf("choose the file: %v", err)
	}
	if resp := admin.Submit(`#import-regions button[type="submit"]`); resp.Status != http.StatusBadRequest {
		t.Fatalf("a file with a bad row: status %d, want 400", resp.Status)
	}
	if got := admin.Text(`main p.alert[role="alert"]`); got != "发现1处问题，未保存任何内容。" {
		t.Errorf("alert = %q", got)
	}
	if got := admin.Texts(`table.problems tbody tr`); len(got) != 1 || !strings.Contains(got[0], "3") || !strings.Contains(got[0], "kind") ||
		!strings.Contains(got[0], "未知的地区类型：planet") {
		t.Errorf("problems = %q, want row 3, column kind", got)
	}
	if n := f.count("regions"); n != regionsBefore {
		t.Errorf("a refused file stored %d regions", n-regionsBefore)
	}
	admin.Screenshot("regions-refused.png")
	admin.Axe("regions page with a refused file")

	if err := chromedp.Do(admin.Ctx, chromedp.SetUploadFiles(`#import-regions input[name="file"]`, []string{good})); err != nil {
		t.Fatalf("choose the file: %v", err)
	}
	if resp := admin.Submit(`#import-regions button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("import: status %d", resp.Status)
	}
	admin.WantLocation("/regions?notice=imported&n=2")
	if got := admin.Text("main p.notice"); got != "已导入 2 个地区。" {
		t.Errorf("notice = %q", got)
	}
	if got := admin.Text(`tr[data-region="140702"]`); !strings.Contains(got, "榆次区") || !strings.Contains(got, "140700 晋中市") {
		t.Errorf("row of 140702 = %q", got)
	}
	admin.Screenshot("regions-imported.png")
	admin.Navigate("/regions/140702")
	admin.Screenshot("region-edit.png")
	admin.Axe("region edit page")
	admin.WantOwnHost()

	sec := browsertest.NewTab(t, browser, base)
	sec.Navigate("/organisations")
	if resp := sec.SignIn("secadmin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("organisations page after sign-in: status %d", resp.Status)
	}
	if err := chromedp.Do(sec.Ctx, chromedp.SendKeys(`#create-organisation input[name="name"]`, "晋中调查公司")); err != nil {
		t.Fatal(err)
	}
	if resp := sec.Submit(`#create-organisation button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("create an organisation: status %d", resp.Status)
	}
	sec.WantLocation("/organisations?notice=created")
	if got := sec.Text("main p.notice"); got != "机构已创建。" {
		t.Errorf("notice = %q", got)
	}
	sec.Screenshot("organisations-created.png")
	sec.Axe("organisations page")
	org, err := f.auth.OrganisationByName(t.Context(), "晋中调查公司")
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		username, role, field, value, shot string
	}{
		{"jzsurvey", "contractor", "organisation_id", org.ID, "users-contractor-created.png"},
		{"jinzhong", "city", "region_code", "140700", "users-city-created.png"},
	} {
		sec.Navigate("/users")
		for _, act := range []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(`#create-user input[name="username"]`, c.username),
			chromedp.SendKeys(`#create-user input[name="display_name"]`, "晋中"+c.role),
			chromedp.SetValue(`#create-user select[name="role"]`, c.role),
			chromedp.SetValue(`#create-user select[name="`+c.field+`"]`, c.value),
		} {
			if err := chromedp.Do(sec.Ctx, act); err != nil {
				t.Fatalf("fill the form: %v", err)
			}
		}
		if resp := sec.Submit(`#create-user button[type="submit"]`); resp.Status != http.StatusCreated {
			t.Fatalf("create %s: status %d", c.username, resp.Status)
		}
		pw := sec.Text("#new-password")
		if len(pw) < 12 || strings.ContainsAny(pw, " \n") {
			t.Fatalf("password shown = %q", pw)
		}
		sec.Screenshot(c.shot)
		sec.Axe("users page with a new password")
		resp, body := f.do(request("POST", "/api/v1/auth/login", map[string]string{"username": c.username, "password": pw}))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s cannot sign in with the password shown: %d %s", c.username, resp.StatusCode, body)
		}
	}
	sec.Navigate("/users")
	if got := sec.Texts("#new-password"); len(got) != 0 {
		t.Errorf("the users page shows a password again: %q", got)
	}
	if got := sec.Text(`tr[data-user="jzsurvey"]`); !strings.Contains(got, "晋中调查公司") {
		t.Errorf("the contractor's row = %q, want its organisation", got)
	}
	sec.Screenshot("users.png")
	sec.Axe("users page")
	sec.WantOwnHost()
}
