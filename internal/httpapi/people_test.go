package httpapi_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/spec"
)

// problemRow matches a row of a page's problems table: row, column or
// field, message.
var problemRow = regexp.MustCompile(`<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>`)

// problemRows are the rows of the page's problems table as
// "row|column-or-field|message".
func problemRows(page []byte) []string {
	var out []string
	for _, m := range problemRow.FindAllSubmatch(page, -1) {
		out = append(out, html.UnescapeString(string(m[1])+"|"+string(m[2])+"|"+string(m[3])))
	}
	return out
}

// refusedForm is a form that the page must refuse: the problems it must
// list in each language, as "row|column-or-field|message".
type refusedForm struct {
	name   string
	req    func(lang string) *http.Request
	status int
	zh, en []string
	// alert is the summary the page must show in Chinese when no field is
	// named (a conflict).
	alertZh, alertEn string
}

// wantRefused sends c's form as who in both languages and checks that the
// page comes back with status, form id shown again, every problem listed
// by field in that language, and the tables unchanged.
func (f *fixture) wantRefused(t *testing.T, who, formID string, tables []string, c refusedForm) {
	t.Helper()
	before := f.counts(tables)
	for lang, want := range map[string][]string{"zh": c.zh, "en": c.en} {
		resp, body := f.do(f.as(who, c.req(lang)))
		if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: status %d %q, want %d as a page: %s", lang, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, body)
		}
		rows := problemRows(body)
		for _, w := range want {
			if !slices.Contains(rows, w) {
				t.Errorf("%s: the page does not list %q; it lists %q", lang, w, rows)
			}
		}
		if len(rows) != len(want) {
			t.Errorf("%s: %d problems listed, want %d: %q", lang, len(rows), len(want), rows)
		}
		alert := map[string]string{"zh": c.alertZh, "en": c.alertEn}[lang]
		if alert != "" && !strings.Contains(html.UnescapeString(string(body)), alert) {
			t.Errorf("%s: the page does not say %q", lang, alert)
		}
		if !strings.Contains(string(body), `id="`+formID+`"`) {
			t.Errorf("%s: the refused form is not shown again", lang)
		}
	}
	if after := f.counts(tables); after != before {
		t.Errorf("a refused form changed the tables: %s, then %s", before, after)
	}
}

// counts is the number of rows of each table, for comparing before and after.
func (f *fixture) counts(tables []string) string {
	f.t.Helper()
	var b strings.Builder
	for _, table := range tables {
		b.WriteString(table + "=" + strconv.FormatInt(f.count(table), 10) + ";")
	}
	return b.String() + f.snapshotRegions()
}

// snapshotRegions is the regions table's content (keyed by code, which
// snapshot cannot order by).
func (f *fixture) snapshotRegions() string {
	f.t.Helper()
	var rs []regions.Region
	if err := f.db.Order("code").Find(&rs).Error; err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rs {
		parent := ""
		if r.ParentCode != nil {
			parent = *r.ParentCode
		}
		b.WriteString(r.Code + "," + r.Name + "," + string(r.Kind) + "," + parent + "," + r.UpdatedAt.String() + "\n")
	}
	return b.String()
}

// auditedOnce fails unless exactly one successful audit entry has action
// and object.
func (f *fixture) auditedOnce(t *testing.T, action, object string) {
	t.Helper()
	var n int64
	f.db.Table("audit_log").Where("action = ? AND object = ? AND result = ?", action, object, "success").Count(&n)
	if n != 1 {
		t.Errorf("%d audit entries %s %s, want 1", n, action, object)
	}
}

// TestRegionPagesCreate posts the add form of /regions: bad input is
// refused by field in Chinese and English with nothing stored, a taken
// code as a conflict, and a good form stores the region, audited.
func TestRegionPagesCreate(t *testing.T) {
	f := newFixture(t)
	post := func(v url.Values) func(string) *http.Request {
		return func(lang string) *http.Request { return form("POST", "/regions?lang="+lang, v) }
	}
	for _, c := range []refusedForm{
		{name: "every field wrong", status: http.StatusBadRequest,
			req: post(url.Values{"code": {"!"}, "name": {"  "}, "kind": {""}, "parent_code": {"999999"}}),
			zh:  []string{"|code|代码须为2–32位字母、数字、下划线或连字符", "|name|名称不能为空且不超过128字", "|kind|请选择地区类型", "|parent_code|上级地区不存在：999999"},
			en:  []string{"|code|code must be 2-32 letters, digits, _ or -", "|name|name must be 1-128 characters", "|kind|choose a region kind", "|parent_code|parent region does not exist: 999999"}},
		{name: "unknown kind, bidi override in the name", status: http.StatusBadRequest,
			req: post(url.Values{"code": {"140500"}, "name": {"晋城\u202e市"}, "kind": {"planet"}, "parent_code": {"140000"}}),
			zh:  []string{"|name|含有不允许的控制字符 U+202E", "|kind|未知的地区类型：planet"},
			en:  []string{"|name|contains a disallowed control character U+202E", "|kind|unknown region kind: planet"}},
		{name: "control character in the name", status: http.StatusBadRequest,
			req: post(url.Values{"code": {"140500"}, "name": {"晋城\x07市"}, "kind": {"prefecture_city"}}),
			zh:  []string{"|name|含有不允许的控制字符 U+0007"},
			en:  []string{"|name|contains a disallowed control character U+0007"}},
		{name: "a code that exists", status: http.StatusConflict,
			req:     post(url.Values{"code": {"140100"}, "name": {"太原"}, "kind": {"prefecture_city"}, "parent_code": {"140000"}}),
			alertZh: "地区代码 140100 已存在", alertEn: "a region with code 140100 already exists"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			f.wantRefused(t, "admin", "create-region", []string{"regions"}, c)
		})
	}

	t.Run("added", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", form("POST", "/regions", url.Values{"code": {"140500"}, "name": {"晋城市"}, "kind": {"prefecture_city"}, "parent_code": {"140000"}})))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/regions?notice=created" {
			t.Fatalf("status %d to %q, want 303 to /regions?notice=created: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		var r regions.Region
		if err := f.db.Where("code = ?", "140500").Take(&r).Error; err != nil || r.Name != "晋城市" || r.ParentCode == nil || *r.ParentCode != "140000" {
			t.Fatalf("stored %+v, %v", r, err)
		}
		f.auditedOnce(t, "page.region_create", "region:140500")
		page := f.pageAs("admin", request("GET", "/regions?notice=created", nil), http.StatusOK)
		for _, want := range []string{"地区已新增。", `<tr data-region="140500">`, "140000 山西省", `href="/regions/140500"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the list does not show %q", want)
			}
		}
	})
}

// regionsFile is a multipart post of a regions file to the import form.
func regionsFile(lang, content string) *http.Request {
	return upload("POST", "/regions/import?lang="+lang, nil, "file", "地区.csv", []byte(content))
}

// TestRegionPagesImport imports regions files from the page: a file with a
// bad row among good ones stores nothing and lists every problem by row
// and column in both languages; a good file is stored, audited, and the
// list says how many; the template round-trips.
func TestRegionPagesImport(t *testing.T) {
	f := newFixture(t)
	for _, c := range []refusedForm{
		{name: "bad rows among good ones", status: http.StatusBadRequest,
			req: func(lang string) *http.Request {
				return regionsFile(lang, "code,name,kind,parent\n140700,晋中市,prefecture_city,140000\n140702,榆次区,planet,140700\n"+
					"140721,榆社\u202e县,county,140700\n140700,重复,prefecture_city,140000\n140800,运城市,prefecture_city,149999\n")
			},
			zh: []string{"3|kind|未知的地区类型：planet", "4|name|含有不允许的控制字符 U+202E", "5|code|代码与第2行重复", "6|parent|上级地区不存在：149999"},
			en: []string{"3|kind|unknown region kind: planet", "4|name|contains a disallowed control character U+202E", "5|code|code repeats row 2", "6|parent|parent region does not exist: 149999"}},
		{name: "a column missing", status: http.StatusBadRequest,
			req: func(lang string) *http.Request { return regionsFile(lang, "code,name\n140700,晋中市\n") },
			zh:  []string{"1|kind|缺少列：kind"}, en: []string{"1|kind|missing column: kind"}},
		{name: "no file", status: http.StatusBadRequest,
			req: func(lang string) *http.Request {
				return upload("POST", "/regions/import?lang="+lang, map[string]string{"note": "x"}, "", "", nil)
			},
			zh: []string{"|file|请选择要上传的文件（表单字段 file）"}, en: []string{"|file|attach the file as form field file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			f.wantRefused(t, "admin", "import-regions", []string{"regions"}, c)
		})
	}

	t.Run("imported", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", regionsFile("zh", "\ufeffcode,name,kind,parent\n140700,晋中市,prefecture_city,140000\n140702,榆次区,county,140700\n")))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/regions?notice=imported&n=2" {
			t.Fatalf("status %d to %q, want 303 to /regions?notice=imported&n=2: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		f.auditedOnce(t, "page.regions_import", "regions")
		for lang, want := range map[string]string{"zh": "已导入 2 个地区。", "en": "2 regions imported."} {
			page := f.pageAs("admin", request("GET", "/regions?notice=imported&n=2&lang="+lang, nil), http.StatusOK)
			if !strings.Contains(page, want) || !strings.Contains(page, `<tr data-region="140702">`) {
				t.Errorf("%s: the list does not say %q or show 140702", lang, want)
			}
		}
	})

	t.Run("template", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", request("GET", "/regions/template.csv", nil)))
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("status %d, %q, %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
		}
		if !bytes.HasPrefix(body, []byte("\ufeffcode,name,kind,parent\r\n")) && !bytes.HasPrefix(body, []byte("\ufeffcode,name,kind,parent\n")) {
			t.Errorf("the template does not start with the BOM and header: %q", body[:min(len(body), 40)])
		}
		rows, err := spec.ParseCSV(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if n := f.count("regions"); int64(len(rows)) != n {
			t.Errorf("the template holds %d regions, the database %d", len(rows), n)
		}
		// Each parent comes before its children, so the file imports into
		// an empty database as it is.
		if errs := spec.CheckRows(rows, map[string]bool{}); len(errs) > 0 {
			t.Errorf("the template does not import on its own: %v", errs)
		}
		before := f.snapshotRegions()
		if resp, body := f.do(f.as("admin", regionsFile("zh", string(body)))); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("importing the template: status %d: %s", resp.StatusCode, body)
		}
		// Importing the regions as they are changes only update times.
		strip := regexp.MustCompile(`,[^,\n]*\n`)
		if strip.ReplaceAllString(f.snapshotRegions(), "\n") != strip.ReplaceAllString(before, "\n") {
			t.Errorf("re-importing the template changed regions")
		}
	})
}

// TestRegionEditPage changes a region from its page: an unknown region is
// not found, bad input is refused by field in both languages with nothing
// stored, and a good form is stored, audited.
func TestRegionEditPage(t *testing.T) {
	f := newFixture(t)
	page := f.pageAs("admin", request("GET", "/regions/140200", nil), http.StatusOK)
	for _, want := range []string{`id="edit-region"`, `action="/regions/140200"`, `value="大同市"`, `<option value="prefecture_city" selected>`,
		`<option value="140000" selected>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the edit page lacks %q", want)
		}
	}
	if strings.Contains(page, `<option value="140200"`) {
		t.Errorf("the region is offered as its own parent")
	}
	for _, req := range []*http.Request{request("GET", "/regions/NOWHERE", nil), form("POST", "/regions/NOWHERE", url.Values{"name": {"x"}, "kind": {"county"}})} {
		if resp, body := f.do(f.as("admin", req)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404: %s", req.Method, req.URL, resp.StatusCode, body)
		}
	}
	post := func(code string, v url.Values) func(string) *http.Request {
		return func(lang string) *http.Request { return form("POST", "/regions/"+code+"?lang="+lang, v) }
	}
	for _, c := range []refusedForm{
		{name: "empty name, unknown kind", status: http.StatusBadRequest,
			req: post("140200", url.Values{"name": {""}, "kind": {"planet"}, "parent_code": {"140000"}}),
			zh:  []string{"|name|名称不能为空且不超过128字", "|kind|未知的地区类型：planet"},
			en:  []string{"|name|name must be 1-128 characters", "|kind|unknown region kind: planet"}},
		{name: "its own parent", status: http.StatusBadRequest,
			req: post("140200", url.Values{"name": {"大同市"}, "kind": {"prefecture_city"}, "parent_code": {"140200"}}),
			zh:  []string{"|parent_code|上级地区不能是自身"}, en: []string{"|parent_code|a region cannot be its own parent"}},
		{name: "a parent chain that loops", status: http.StatusBadRequest,
			req: post("140000", url.Values{"name": {"山西省"}, "kind": {"province"}, "parent_code": {"140100"}}),
			zh:  []string{"|parent_code|上级关系形成环"}, en: []string{"|parent_code|parent chain would form a cycle"}},
		{name: "line break in the name", status: http.StatusBadRequest,
			req: post("140200", url.Values{"name": {"大同\n市"}, "kind": {"prefecture_city"}}),
			zh:  []string{"|name|含有不允许的控制字符 U+000A"}, en: []string{"|name|contains a disallowed control character U+000A"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			f.wantRefused(t, "admin", "edit-region", []string{"regions"}, c)
		})
	}
	t.Run("saved", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", form("POST", "/regions/149900", url.Values{"code": {"OTHER"}, "name": {"山西综改示范区"}, "kind": {"reform_zone"}, "parent_code": {""}})))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/regions/149900?notice=saved" {
			t.Fatalf("status %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		var r regions.Region
		if err := f.db.Where("code = ?", "149900").Take(&r).Error; err != nil || r.Name != "山西综改示范区" || r.ParentCode != nil {
			t.Fatalf("stored %+v, %v", r, err)
		}
		if f.db.Where("code = ?", "OTHER").Take(&regions.Region{}).Error == nil {
			t.Errorf("the form changed the code")
		}
		f.auditedOnce(t, "page.region_update", "region:149900")
		if page := f.pageAs("admin", request("GET", "/regions/149900?notice=saved", nil), http.StatusOK); !strings.Contains(page, "地区已保存。") {
			t.Errorf("the page does not say the region was saved")
		}
	})
}

// passwordShown matches the element that shows a new password once.
var passwordShown = regexp.MustCompile(`<code id="new-password">([^<]*)</code>`)

// TestUserPagesCreate creates accounts from the users page: bad input is
// refused by field in both languages with nothing stored, an
// administrative role is refused, and a city official's and a contractor's
// accounts are created with a password shown once that signs in.
func TestUserPagesCreate(t *testing.T) {
	f := newFixture(t)
	authority, err := f.auth.CreateOrganisation(context.Background(), "省知识产权局", auth.OrgKindAuthority)
	if err != nil {
		t.Fatal(err)
	}
	page := f.pageAs("secadmin", request("GET", "/users", nil), http.StatusOK)
	for _, want := range []string{`id="create-user"`, `<option value="city">`, `<option value="contractor">`, `<option value="140100">`, `<option value="` + f.org.ID + `">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the users page lacks %q", want)
		}
	}
	for _, not := range []string{`<option value="admin">`, `<option value="` + authority.ID + `">`} {
		if strings.Contains(page, not) {
			t.Errorf("the create form offers %q", not)
		}
	}
	post := func(v url.Values) func(string) *http.Request {
		return func(lang string) *http.Request { return form("POST", "/users?lang="+lang, v) }
	}
	tables := []string{"users", "api_tokens"}
	for _, c := range []refusedForm{
		{name: "nothing filled in", status: http.StatusBadRequest, req: post(url.Values{"username": {""}, "role": {""}}),
			zh: []string{"|username|用户名须为 3–64 位小写字母、数字或 . _ -，并以字母或数字开头", "|role|角色须为 admin、secadmin、auditor、contractor 或 city"},
			en: []string{"|username|username must be 3-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", "|role|role must be one of admin, secadmin, auditor, contractor, city"}},
		{name: "city official without a region", status: http.StatusBadRequest,
			req: post(url.Values{"username": {"jinzhong"}, "role": {"city"}, "organisation_id": {f.org.ID}}),
			zh:  []string{"|region_code|市级用户必须指定所属地区"}, en: []string{"|region_code|a city user needs a region"}},
		{name: "contractor without an organisation, bidi in the name", status: http.StatusBadRequest,
			req: post(url.Values{"username": {"surveyor"}, "display_name": {"调查\u2067员"}, "role": {"contractor"}, "region_code": {"140100"}}),
			zh:  []string{"|display_name|含有不允许的控制字符 U+2067", "|organisation_id|第三方调查机构用户必须指定所属机构"},
			en:  []string{"|display_name|contains a disallowed control character U+2067", "|organisation_id|a contractor user needs an organisation"}},
		{name: "unknown region, control character", status: http.StatusBadRequest,
			req: post(url.Values{"username": {"jinzhong"}, "display_name": {"晋中\x1b[31m"}, "role": {"city"}, "region_code": {"149999"}}),
			zh:  []string{"|display_name|含有不允许的控制字符 U+001B", "|region_code|地区 149999 不存在"},
			en:  []string{"|display_name|contains a disallowed control character U+001B", "|region_code|region 149999 does not exist"}},
		{name: "an authority is not a contractor", status: http.StatusBadRequest,
			req: post(url.Values{"username": {"surveyor"}, "role": {"contractor"}, "organisation_id": {authority.ID}}),
			zh:  []string{"|organisation_id|机构“省知识产权局”不是第三方调查机构"}, en: []string{`|organisation_id|organisation "省知识产权局" is not a contractor`}},
		{name: "a username that exists", status: http.StatusConflict,
			req:     post(url.Values{"username": {"city"}, "role": {"city"}, "region_code": {"140100"}}),
			alertZh: "用户名 city 已被使用", alertEn: "username city is taken"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			f.wantRefused(t, "secadmin", "create-user", tables, c)
		})
	}

	t.Run("administrative roles are made on the host", func(t *testing.T) {
		f.t = t
		before := f.counts(tables)
		for _, role := range []string{"admin", "secadmin", "auditor"} {
			resp, body := f.do(f.as("secadmin", form("POST", "/users", url.Values{"username": {"second-" + role}, "role": {role}})))
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "ipeval user add") {
				t.Errorf("%s: status %d, want 403 naming the command: %s", role, resp.StatusCode, body)
			}
		}
		if f.counts(tables) != before {
			t.Errorf("a refused role changed the tables")
		}
	})

	for _, c := range []struct {
		role, username string
		values         url.Values
		scope          string
	}{
		{"city", "jinzhong", url.Values{"region_code": {"140200"}, "organisation_id": {""}}, "140200"},
		// Both selects chosen: only the role's own counts.
		{"contractor", "surveyor2", url.Values{"organisation_id": {f.org.ID}, "region_code": {"140100"}}, f.org.Name},
	} {
		t.Run("created: "+c.role, func(t *testing.T) {
			f.t = t
			v := url.Values{"username": {c.username}, "display_name": {"新" + c.role}, "role": {c.role}}
			for k, vs := range c.values {
				v[k] = vs
			}
			resp, body := f.do(f.as("secadmin", form("POST", "/users", v)))
			if resp.StatusCode != http.StatusCreated || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, Cache-Control %q; want 201, no-store: %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
			}
			m := passwordShown.FindSubmatch(body)
			if m == nil || len(m[1]) < 12 {
				t.Fatalf("no password shown: %s", body)
			}
			pw := html.UnescapeString(string(m[1]))
			u, err := f.auth.UserByUsername(context.Background(), c.username)
			if err != nil || string(u.Role) != c.role {
				t.Fatalf("stored %+v, %v", u, err)
			}
			f.auditedOnce(t, "page.user_create", "user:"+u.ID)
			if resp, body := f.do(request("POST", "/api/v1/auth/login", map[string]string{"username": c.username, "password": pw})); resp.StatusCode != http.StatusOK {
				t.Errorf("the password shown does not sign in: %d %s", resp.StatusCode, body)
			}
			list := f.pageAs("secadmin", request("GET", "/users", nil), http.StatusOK)
			if strings.Contains(list, pw) || strings.Contains(list, `id="new-password"`) {
				t.Errorf("the users page shows the password again")
			}
			if !strings.Contains(list, `<tr data-user="`+c.username+`">`) || !strings.Contains(list, "<td>"+c.scope+"</td>") {
				t.Errorf("the users page does not list %s bound to %s", c.username, c.scope)
			}
		})
	}
}

// TestOrganisationPages lists and creates organisations: bad input is
// refused by field in both languages with nothing stored, a taken name as
// a conflict, and a good form creates it, audited.
func TestOrganisationPages(t *testing.T) {
	f := newFixture(t)
	page := f.pageAs("secadmin", request("GET", "/organisations", nil), http.StatusOK)
	if !strings.Contains(page, `<tr data-organisation="`+f.org.ID+`">`) || !strings.Contains(page, "<td>1</td>") || !strings.Contains(page, `id="create-organisation"`) {
		t.Errorf("the page does not list the fixture's organisation with its one user, or lacks the form")
	}
	post := func(v url.Values) func(string) *http.Request {
		return func(lang string) *http.Request { return form("POST", "/organisations?lang="+lang, v) }
	}
	for _, c := range []refusedForm{
		{name: "empty name, unknown kind", status: http.StatusBadRequest, req: post(url.Values{"name": {" "}, "kind": {"club"}}),
			zh: []string{"|name|机构名称须为 1–191 个字符", "|kind|机构类型须为 contractor（第三方调查机构）或 authority（主管部门）"},
			en: []string{"|name|name must be 1-191 characters", "|kind|kind must be contractor or authority"}},
		{name: "bidi override in the name", status: http.StatusBadRequest, req: post(url.Values{"name": {"调查\u202d公司"}, "kind": {"contractor"}}),
			zh: []string{"|name|含有不允许的控制字符 U+202D"}, en: []string{"|name|contains a disallowed control character U+202D"}},
		{name: "a name that exists", status: http.StatusConflict, req: post(url.Values{"name": {f.org.Name}, "kind": {"contractor"}}),
			alertZh: "机构“" + f.org.Name + "”已存在", alertEn: "organisation \"" + f.org.Name + "\" already exists"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			f.wantRefused(t, "secadmin", "create-organisation", []string{"organisations"}, c)
		})
	}
	t.Run("created", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("secadmin", form("POST", "/organisations", url.Values{"name": {"晋中调查公司"}, "kind": {"contractor"}})))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/organisations?notice=created" {
			t.Fatalf("status %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		o, err := f.auth.OrganisationByName(context.Background(), "晋中调查公司")
		if err != nil || o.Kind != auth.OrgKindContractor {
			t.Fatalf("stored %+v, %v", o, err)
		}
		f.auditedOnce(t, "page.organisation_create", "organisation:"+o.ID)
		page := f.pageAs("secadmin", request("GET", "/organisations?notice=created&lang=en", nil), http.StatusOK)
		if !strings.Contains(page, "The organisation was created.") || !strings.Contains(page, "晋中调查公司") {
			t.Errorf("the list does not say it was created or show it")
		}
		if users := f.pageAs("secadmin", request("GET", "/users", nil), http.StatusOK); !strings.Contains(users, `<option value="`+o.ID+`">`) {
			t.Errorf("the users page does not offer the new contractor")
		}
	})
}

// TestPeoplePagesObjectLevel: each write of the people pages is refused,
// storing nothing, to every role but the one #8 gives it: the assessment
// manager cannot create users or organisations, the security
// administrator cannot add, import or change regions, and the auditor,
// city officials and contractors can do none of it.
func TestPeoplePagesObjectLevel(t *testing.T) {
	f := newFixture(t)
	tables := []string{"regions", "users", "organisations", "api_tokens"}
	writes := []struct {
		owner string
		req   func() *http.Request
	}{
		{"admin", func() *http.Request {
			return form("POST", "/regions", url.Values{"code": {"140900"}, "name": {"忻州市"}, "kind": {"prefecture_city"}})
		}},
		{"admin", func() *http.Request {
			return upload("POST", "/regions/import", nil, "file", "r.csv", []byte("code,name,kind,parent\n140900,忻州市,prefecture_city,140000\n"))
		}},
		{"admin", func() *http.Request {
			return form("POST", "/regions/140100", url.Values{"name": {"改名"}, "kind": {"county"}})
		}},
		{"secadmin", func() *http.Request {
			return form("POST", "/users", url.Values{"username": {"intruder"}, "role": {"city"}, "region_code": {"140100"}})
		}},
		{"secadmin", func() *http.Request {
			return form("POST", "/organisations", url.Values{"name": {"冒名机构"}, "kind": {"contractor"}})
		}},
	}
	for _, w := range writes {
		for _, who := range []string{"admin", "secadmin", "auditor", "city", "contractor"} {
			if who == w.owner {
				continue
			}
			req := w.req()
			t.Run(req.Method+" "+req.URL.Path+" as "+who, func(t *testing.T) {
				f.t = t
				before := f.counts(tables)
				resp, body := f.do(f.as(who, req))
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("status %d, want 403: %s", resp.StatusCode, body)
				}
				if f.counts(tables) != before {
					t.Errorf("a refused write changed the tables")
				}
			})
		}
	}
	for _, who := range []string{"secadmin", "auditor", "city", "contractor"} {
		for _, path := range []string{"/regions", "/regions/140100", "/regions/template.csv"} {
			if resp, _ := f.do(f.as(who, request("GET", path, nil))); resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s as %s: status %d, want 403", path, who, resp.StatusCode)
			}
		}
	}
	for _, who := range []string{"admin", "auditor", "city", "contractor"} {
		if resp, _ := f.do(f.as(who, request("GET", "/organisations", nil))); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /organisations as %s: status %d, want 403", who, resp.StatusCode)
		}
	}
}
