package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/auth"
)

// snapshotUsers is every user's editable columns, to tell that a refused
// edit changed nothing (counts cannot: an edit adds no row).
func (f *fixture) snapshotUsers() string {
	f.t.Helper()
	var us []auth.User
	if err := f.db.Order("id").Find(&us).Error; err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range us {
		b.WriteString(u.ID + "," + u.DisplayName + "," + orNil(u.RegionCode) + "," + orNil(u.OrganisationID) + "," + u.UpdatedAt.String() + "\n")
	}
	return b.String()
}

func orNil(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestUserEditPage edits a city official and a contractor from their
// page: bad input is refused by field in both languages with the users
// table unchanged, and a good form is stored, audited, back on /users.
func TestUserEditPage(t *testing.T) {
	f := newFixture(t)
	authority, err := f.auth.CreateOrganisation(context.Background(), "省市场监管局", auth.OrgKindAuthority)
	if err != nil {
		t.Fatal(err)
	}
	city := f.newAccount(auth.NewUser{Username: "editcity", DisplayName: "太原联络员", Role: auth.RoleCity, RegionCode: "140100"})
	contractor := f.newAccount(auth.NewUser{Username: "editorg", DisplayName: "调查员", Role: auth.RoleContractor, OrganisationID: f.org.ID})

	page := f.pageAs("secadmin", request("GET", "/users/"+city.user.ID, nil), http.StatusOK)
	for _, want := range []string{`id="edit-user"`, `value="太原联络员"`, `<option value="140100" selected>`, `<option value="149900">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the edit page lacks %q", want)
		}
	}
	if strings.Contains(page, `<option value="140000">`) || strings.Contains(page, `name="organisation_id"`) {
		t.Errorf("a city official's edit page offers the province or an organisation")
	}
	if list := f.pageAs("secadmin", request("GET", "/users", nil), http.StatusOK); !strings.Contains(list, `href="/users/`+city.user.ID+`"`) ||
		strings.Contains(list, `href="/users/`+f.accounts["admin"].user.ID+`"`) {
		t.Errorf("the users page links the wrong edit pages")
	}

	post := func(id string, v url.Values) func(string) *http.Request {
		return func(lang string) *http.Request { return form("POST", "/users/"+id+"?lang="+lang, v) }
	}
	long := strings.Repeat("名", 129)
	for _, c := range []refusedForm{
		{name: "bidi character, unknown region", status: http.StatusBadRequest,
			req: post(city.user.ID, url.Values{"display_name": {"太原\u202e员"}, "region_code": {"149999"}}),
			zh:  []string{"|display_name|含有不允许的控制字符 U+202E", "|region_code|地区 149999 不存在"},
			en:  []string{"|display_name|contains a disallowed control character U+202E", "|region_code|region 149999 does not exist"}},
		{name: "control character, the province", status: http.StatusBadRequest,
			req: post(city.user.ID, url.Values{"display_name": {"太原\x07"}, "region_code": {"140000"}}),
			zh:  []string{"|display_name|含有不允许的控制字符 U+0007", "|region_code|地区 140000 是省级，不参加考核，不能绑定市级用户"},
			en:  []string{"|display_name|contains a disallowed control character U+0007", "|region_code|region 140000 is the province, which is not assessed"}},
		{name: "too long, no region", status: http.StatusBadRequest,
			req: post(city.user.ID, url.Values{"display_name": {long}, "region_code": {""}}),
			zh:  []string{"|display_name|显示名称不能超过 128 个字符", "|region_code|市级用户必须指定所属地区"},
			en:  []string{"|display_name|display name must be at most 128 characters", "|region_code|a city user needs a region"}},
		{name: "an authority is not a contractor", status: http.StatusBadRequest,
			req: post(contractor.user.ID, url.Values{"display_name": {"调查员"}, "organisation_id": {authority.ID}}),
			zh:  []string{"|organisation_id|机构“省市场监管局”不是第三方调查机构"}, en: []string{`|organisation_id|organisation "省市场监管局" is not a contractor`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			before := f.snapshotUsers()
			f.wantRefused(t, "secadmin", "edit-user", []string{"users", "api_tokens"}, c)
			if f.snapshotUsers() != before {
				t.Errorf("a refused edit changed the users table")
			}
			if body := f.pageAs("secadmin", c.req("zh"), c.status); !strings.Contains(body, `name="display_name" maxlength="128" value="`) {
				t.Errorf("the typed name is not kept")
			}
		})
	}

	t.Run("saved and audited", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("secadmin", form("POST", "/users/"+contractor.user.ID, url.Values{"display_name": {"调查组长"}, "organisation_id": {f.org.ID}})))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/users?notice=updated" {
			t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		u, err := f.auth.User(context.Background(), contractor.user.ID)
		if err != nil || u.DisplayName != "调查组长" {
			t.Errorf("stored %q, %v", u.DisplayName, err)
		}
		f.auditedOnce(t, "page.user_update", "user:"+contractor.user.ID)
		if list := f.pageAs("secadmin", request("GET", "/users?notice=updated", nil), http.StatusOK); !strings.Contains(list, "用户信息已保存") {
			t.Errorf("the users page does not say the user was saved")
		}
		// The organisation did not change: the contractor's token still works.
		if resp, _ := f.do(bearer(contractor.token, request("GET", "/api/v1/survey-projects", nil))); resp.StatusCode != http.StatusOK {
			t.Errorf("a name change revoked the token: status %d", resp.StatusCode)
		}
	})
}

func bearer(token string, req *http.Request) *http.Request {
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// TestUserEditScope moves a city official to another region through the
// API: their old token is refused at once, and the entry notes it.
func TestUserEditScope(t *testing.T) {
	f := newFixture(t)
	a := f.newAccount(auth.NewUser{Username: "mover", DisplayName: "调动", Role: auth.RoleCity, RegionCode: "140100"})
	if resp, _ := f.do(bearer(a.token, request("GET", "/api/v1/cycles", nil))); resp.StatusCode != http.StatusOK {
		t.Fatalf("the token does not work before: %d", resp.StatusCode)
	}
	resp, body := f.do(f.as("secadmin", request("PATCH", "/api/v1/users/"+a.user.ID, map[string]any{"region_code": "140200", "display_name": "大同联络员"})))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"region_code":"140200"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if resp, _ := f.do(bearer(a.token, request("GET", "/api/v1/cycles", nil))); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old token after a region change: status %d, want 401", resp.StatusCode)
	}
	var detail string
	f.db.Table("audit_log").Where("action = ? AND object = ? AND result = ?", "users.update", "user:"+a.user.ID, "success").Pluck("detail", &detail)
	if !strings.Contains(detail, "revoked 1 API token") {
		t.Errorf("audit detail %q does not name the revoked token", detail)
	}
	// The API refuses by field too, nothing stored.
	before := f.snapshotUsers()
	resp, body = f.do(f.as("secadmin", request("PATCH", "/api/v1/users/"+a.user.ID, map[string]any{"region_code": "140000", "disabled": true})))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "region_code") {
		t.Errorf("the province through the API: status %d: %s", resp.StatusCode, body)
	}
	if f.snapshotUsers() != before {
		t.Errorf("a refused patch changed the users table")
	}
}

// TestUserEditRefused: administrative accounts are not edited, even by
// the security administrator, and nobody else edits anyone.
func TestUserEditRefused(t *testing.T) {
	f := newFixture(t)
	before := f.snapshotUsers()
	for _, target := range []string{"admin", "secadmin", "auditor"} {
		id := f.accounts[target].user.ID
		for _, req := range []*http.Request{
			request("GET", "/users/"+id, nil),
			form("POST", "/users/"+id, url.Values{"display_name": {"改名"}}),
			request("PATCH", "/api/v1/users/"+id, map[string]any{"display_name": "改名"}),
		} {
			if resp, body := f.do(f.as("secadmin", req)); resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "ipeval") {
				t.Errorf("%s %s (%s): status %d, want 403 with the reason: %s", req.Method, req.URL.Path, target, resp.StatusCode, body)
			}
		}
	}
	city2 := f.accounts["city2"].user.ID
	for _, who := range []string{"admin", "auditor", "city", "contractor"} {
		for _, req := range []*http.Request{
			request("GET", "/users/"+city2, nil),
			form("POST", "/users/"+city2, url.Values{"display_name": {"冒改"}, "region_code": {"140100"}}),
			request("PATCH", "/api/v1/users/"+city2, map[string]any{"region_code": "140100"}),
		} {
			if resp, _ := f.do(f.as(who, req)); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s as %s: status %d, want 403", req.Method, req.URL.Path, who, resp.StatusCode)
			}
		}
	}
	if f.snapshotUsers() != before {
		t.Errorf("refused edits changed the users table")
	}
}
