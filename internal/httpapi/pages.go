package httpapi

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/reports/static"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds the parsed templates: one set per page, each with the layout.
type pages struct {
	byName map[string]*template.Template
}

func newPages() (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", base, err)
		}
		p.byName[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Lang  string
	User  auth.Principal
	Title string
	Path  string
	// Query is the request's raw query string.
	Query string
	Data  any
}

// LangURL is the page in the other language: the same path and query
// (such as ?run=), with lang replaced. A path that would lead off the
// site, such as //host on a not-found page, gives the home page instead.
func (v view) LangURL() string {
	p := safeNext(v.Path)
	if p == "" {
		p = "/"
	}
	q, _ := url.ParseQuery(v.Query) // what parses is kept; the rest is dropped
	q.Set("lang", v.Other())
	return p + "?" + q.Encode()
}

// ProblemTable is what the "problems" template draws: rows in the page's
// language. A value sheet's problems (indicators) name a column letter
// and an indicator; others a column or, failing that, a field.
func (v view) ProblemTable(rows []fault.FieldError, indicators bool) problemTable {
	return problemTable{view: v, Rows: rows, Indicators: indicators}
}

// problemTable is a table of problems found in an input.
type problemTable struct {
	view
	Rows       []fault.FieldError
	Indicators bool
}

// formProblem is a refused form's problem as its page shows it: the
// summary in the page's language and every problem found.
type formProblem struct {
	Problem  string
	Problems []fault.FieldError
}

// formProblemOf is what a refused form shows on its own page, and the
// status to answer with, when err is the user's to fix (bad input, a
// conflict, a file too large or of the wrong type); ok is false for other
// errors, which go to the error page.
func formProblemOf(c *fiber.Ctx, err error) (fp formProblem, status int, ok bool) {
	prob := problemFor(err)
	switch prob.Status {
	case fiber.StatusBadRequest, fiber.StatusConflict, fiber.StatusRequestEntityTooLarge, fiber.StatusUnsupportedMediaType:
	default:
		return fp, 0, false
	}
	fp.Problems = prob.Errors
	if lang(c) == "en" {
		fp.Problem = cmp.Or(prob.Detail, prob.Title)
	} else {
		fp.Problem = cmp.Or(prob.DetailZh, prob.Detail, prob.TitleZh)
	}
	return fp, prob.Status, true
}

// tr translates a message key into the language of c's page.
func tr(c *fiber.Ctx, key string) string { return view{Lang: lang(c)}.T(key) }

// T translates a message key into the page's language.
func (v view) T(key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if v.Lang == "en" {
		return m[1]
	}
	return m[0]
}

// Other is the language the switch offers.
func (v view) Other() string {
	if v.Lang == "en" {
		return "zh"
	}
	return "en"
}

// lang picks the language: ?lang= (remembered in a cookie), then the
// cookie, then Chinese.
func lang(c *fiber.Ctx) string {
	if q := c.Query("lang"); q == "en" || q == "zh" {
		c.Cookie(&fiber.Cookie{Name: "lang", Value: q, Path: "/", SameSite: fiber.CookieSameSiteLaxMode, MaxAge: 365 * 86400})
		return q
	}
	if c.Cookies("lang") == "en" {
		return "en"
	}
	return "zh"
}

func (s *Server) render(c *fiber.Ctx, status int, name, titleKey string, data any) error {
	t, ok := s.pages.byName[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	v := view{Lang: lang(c), User: principal(c), Path: c.Path(), Query: string(c.Request().URI().QueryString()), Data: data}
	v.Title = v.T(titleKey)
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	pageHeaders(c)
	return c.Status(status).SendString(b.String())
}

// pageHeaders marks a response as an HTML page under the pages' security
// policy: nothing from another host, no inline script, no framing.
func pageHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	c.Set("X-Frame-Options", "DENY")
	c.Set("X-Content-Type-Options", "nosniff")
}

func (s *Server) renderError(c *fiber.Ctx, p Problem) error {
	return s.render(c, p.Status, "error", "error.title", p)
}

type homeData struct {
	// Assessment is set for the roles that take part in assessments, who
	// see the cycles; the security administrator and the auditor do not.
	Assessment bool
	Cycles     []cycles.Cycle
}

func (s *Server) homePage(c *fiber.Ctx, p auth.Principal) error {
	if !assessment.allows(p) {
		return s.render(c, fiber.StatusOK, "home", "home.title", homeData{})
	}
	cs, err := s.deps.Cycles.List(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "home", "home.title", homeData{Assessment: true, Cycles: cs})
}

const loginCSRFCookie = "ipeval_login_csrf"

type loginData struct {
	CSRF     string
	Next     string
	Username string
	Error    string
}

// loginPage shows the sign-in form. The form carries a token that must match
// a cookie (double submit), so no other site can sign a browser in.
func (s *Server) loginPage(c *fiber.Ctx, p auth.Principal) error {
	if p.Authenticated() {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return s.render(c, fiber.StatusOK, "login", "login.title", loginData{CSRF: s.loginCSRF(c), Next: safeNext(query(c, "next"))})
}

func (s *Server) loginCSRF(c *fiber.Ctx) string {
	tok := c.Cookies(loginCSRFCookie)
	if len(tok) < 32 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		tok = base64.RawURLEncoding.EncodeToString(b)
	}
	c.Cookie(&fiber.Cookie{Name: loginCSRFCookie, Value: tok, Path: "/login", HTTPOnly: true, Secure: s.opts.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
	return tok
}

func (s *Server) loginForm(c *fiber.Ctx, _ auth.Principal) error {
	data := loginData{Next: safeNext(formValue(c, "next")), Username: formValue(c, "username")}
	cookie, form := c.Cookies(loginCSRFCookie), formValue(c, "_csrf")
	if cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(form)) != 1 {
		setAuditObject(c, "user:"+data.Username)
		setAuditDetail(c, "login csrf mismatch")
		data.CSRF = s.loginCSRF(c)
		data.Error = "login.expired"
		return s.render(c, fiber.StatusForbidden, "login", "login.title", data)
	}
	_, _, err := s.signIn(c, data.Username, formValue(c, "password"))
	if err == nil {
		next := data.Next
		if next == "" {
			next = "/"
		}
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	status := statusOf(err)
	switch {
	case errors.Is(err, auth.ErrThrottled):
		c.Set(fiber.HeaderRetryAfter, retryAfter(problemFor(err)))
		data.Error = "login.throttled"
	case errors.Is(err, auth.ErrInvalidCredentials):
		data.Error = "login.invalid"
	case status == fiber.StatusTooManyRequests:
		data.Error = "login.ratelimited"
	default:
		return err
	}
	data.CSRF = s.loginCSRF(c)
	return s.render(c, status, "login", "login.title", data)
}

// safeNext keeps only a same-site path as the place to go after sign-in.
// Browsers ignore tabs and newlines and treat a backslash like a slash, so
// "/\t/evil.example" would leave the site: any such character refuses the
// value outright.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.ContainsAny(next, "\\") {
		return ""
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") || strings.ContainsRune(u.Path, '\\') {
		return ""
	}
	return next
}

func (s *Server) logoutForm(c *fiber.Ctx, _ auth.Principal) error {
	if err := s.deps.Auth.EndSession(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// docOp is one operation as the /docs page lists it.
type docOp struct {
	Method, Path, Summary, Description string
	Roles                              []string
	Body, Response                     string
}

// docGroup is the operations of one tag.
type docGroup struct {
	Tag string
	Ops []docOp
}

// buildDocs reads the OpenAPI document back into the groups the /docs page
// shows, so that the page renders the document itself and nothing else.
func buildDocs(openapi []byte) ([]docGroup, error) {
	type content map[string]struct {
		Schema json.RawMessage `json:"schema"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Summary     string   `json:"summary"`
			Description string   `json:"description"`
			Tags        []string `json:"tags"`
			Roles       []string `json:"x-roles"`
			RequestBody struct {
				Content content `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content content `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		return nil, fmt.Errorf("read openapi document: %w", err)
	}
	byTag := map[string][]docOp{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			d := docOp{Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Description: op.Description, Roles: op.Roles}
			if b, ok := op.RequestBody.Content["application/json"]; ok {
				d.Body = indent(b.Schema)
			}
			for code, r := range op.Responses {
				if b, ok := r.Content["application/json"]; ok && code != "default" {
					d.Response = indent(b.Schema)
				}
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], d)
		}
	}
	var groups []docGroup
	for tag, ops := range byTag {
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return ops[i].Method < ops[j].Method
		})
		groups = append(groups, docGroup{Tag: tag, Ops: ops})
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Tag < groups[j].Tag })
	return groups, nil
}

// docsPage renders the OpenAPI document as a page, entirely on the server,
// so that it works without any script or outside host.
func (s *Server) docsPage(c *fiber.Ctx, _ auth.Principal) error {
	return s.render(c, fiber.StatusOK, "docs", "docs.title", s.docs)
}

func indent(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// static serves the embedded style sheets and scripts: the pages' own,
// then those of package reports (the report's print style sheet); nothing
// is loaded from another host.
func (s *Server) static(c *fiber.Ctx, _ auth.Principal) error {
	name := path.Base(param(c, "file"))
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		if b, err = fs.ReadFile(static.FS(), name); err != nil {
			return fault.ErrNotFound
		}
	}
	switch path.Ext(name) {
	case ".css":
		c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	case ".js":
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(b)
}

// vendor serves the chart library that `make assets` put into package
// reports; vendorMap its map data.
func (s *Server) vendor(c *fiber.Ctx, _ auth.Principal) error {
	return sendAsset(c, "vendor/"+path.Base(param(c, "file")))
}

func (s *Server) vendorMap(c *fiber.Ctx, _ auth.Principal) error {
	return sendAsset(c, "vendor/maps/"+path.Base(param(c, "file")))
}

func sendAsset(c *fiber.Ctx, name string) error {
	b, err := fs.ReadFile(static.FS(), name)
	if err != nil {
		return fault.ErrNotFound
	}
	if path.Ext(name) == ".js" {
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return c.Send(b)
}

// messages holds every text shown on pages, Chinese first.
var messages = map[string][2]string{
	"app.name":             {"知识产权公共服务考核评估系统", "IP Public Service Assessment"},
	"nav.home":             {"首页", "Home"},
	"nav.docs":             {"接口文档", "API reference"},
	"nav.logout":           {"退出", "Sign out"},
	"nav.login":            {"登录", "Sign in"},
	"lang.switch":          {"English", "中文"},
	"login.title":          {"登录", "Sign in"},
	"login.username":       {"用户名", "Username"},
	"login.password":       {"密码", "Password"},
	"login.submit":         {"登录", "Sign in"},
	"login.invalid":        {"用户名或密码错误。", "Wrong username or password."},
	"login.throttled":      {"登录失败次数过多，请稍后再试。", "Too many failed attempts; please wait a while before trying again."},
	"login.ratelimited":    {"尝试过于频繁，请一分钟后再试。", "Too many attempts; try again in a minute."},
	"login.expired":        {"登录表单已过期，请重新提交。", "The form expired; please submit it again."},
	"home.title":           {"首页", "Home"},
	"home.welcome":         {"欢迎", "Welcome"},
	"home.role":            {"角色", "Role"},
	"home.region":          {"所属地区", "Region"},
	"home.org":             {"所属机构", "Organisation"},
	"home.cycles":          {"考核周期", "Assessment cycles"},
	"home.year":            {"年度", "Year"},
	"home.name":            {"名称", "Name"},
	"home.status":          {"状态", "Status"},
	"home.none":            {"暂无考核周期。", "No cycles yet."},
	"role.admin":           {"考核管理员", "Assessment manager"},
	"role.secadmin":        {"安全管理员", "Security administrator"},
	"role.auditor":         {"审计管理员", "Auditor"},
	"home.users":           {"管理用户：启用停用、重置密码、解除登录限速", "Manage users: enable, reset passwords, unlock"},
	"home.audit":           {"查询和导出审计日志", "Search and export the audit log"},
	"users.title":          {"用户管理", "Users"},
	"users.display":        {"显示名称", "Display name"},
	"users.scope":          {"地区或机构", "Region or organisation"},
	"users.actions":        {"操作", "Actions"},
	"users.active":         {"正常", "Active"},
	"users.disabled":       {"已停用", "Disabled"},
	"users.throttled":      {"登录限速至", "Sign-in slowed until"},
	"users.enable":         {"启用", "Enable"},
	"users.disable":        {"停用", "Disable"},
	"users.reset":          {"重置密码", "Reset password"},
	"users.unthrottle":     {"解除登录限速", "Clear sign-in throttle"},
	"users.reset.done":     {"已重置密码：", "Password reset for"},
	"users.reset.once":     {"新密码仅显示这一次，请安全地转交本人；该用户的访问令牌已全部吊销。", "The new password is shown only now; pass it on safely. The user's API tokens were revoked."},
	"users.api":            {"创建用户和机构请使用接口 POST /api/v1/users、/api/v1/organisations。", "Create users and organisations with POST /api/v1/users and /api/v1/organisations."},
	"audit.title":          {"审计日志", "Audit log"},
	"audit.action":         {"操作", "Action"},
	"audit.object":         {"对象", "Object"},
	"audit.result":         {"结果", "Result"},
	"audit.from":           {"起始时间", "From"},
	"audit.to":             {"截止时间", "To"},
	"audit.search":         {"查询", "Search"},
	"audit.export":         {"按当前条件导出 CSV", "Export these entries as CSV"},
	"audit.exports":        {"我的导出", "My exports"},
	"audit.download":       {"下载", "Download"},
	"audit.at":             {"时间", "Time"},
	"audit.client":         {"来源地址", "Client"},
	"audit.detail":         {"说明", "Detail"},
	"audit.none":           {"没有符合条件的记录。", "No entries match."},
	"role.contractor":      {"第三方调查机构", "Survey contractor"},
	"role.city":            {"市级用户", "City official"},
	"collect.title":        {"数据填报", "Data collection"},
	"collect.locked":       {"本周期不在填报阶段，数据只读。", "The cycle is not collecting: values are read-only."},
	"collect.noscheme":     {"本周期尚未指定评价方案。", "The cycle has no scheme yet."},
	"collect.regions":      {"各地区填报进度", "Progress by region"},
	"collect.region":       {"地区", "Region"},
	"collect.completeness": {"填报进度", "Progress"},
	"collect.dimension":    {"维度", "Dimension"},
	"collect.verified":     {"已审核", "Verified"},
	"collect.submitted":    {"已提交", "Submitted"},
	"collect.draft":        {"草稿", "Draft"},
	"collect.rejected":     {"已退回", "Rejected"},
	"collect.missing":      {"未填报", "Missing"},
	"collect.na":           {"不适用", "Not applicable"},
	"collect.nofile":       {"缺佐证材料", "Evidence missing"},
	"collect.gridtemplate": {"下载全省填报模板（每行一个地区）", "Download the province template (a row per region)"},
	"collect.bulk":         {"批量填报", "Bulk entry"},
	"collect.download":     {"下载本地区填报模板：", "Download this region's template:"},
	"collect.file":         {"文件", "File"},
	"collect.submit":       {"导入后提交审核", "Submit for review after import"},
	"collect.upload":       {"上传导入", "Upload"},
	"collect.imported":     {"已读取 %d 项，修改 %d 项，提交审核 %d 项。", "Read %d values, changed %d, submitted %d for review."},
	"collect.attached":     {"已上传佐证材料：", "Evidence uploaded: "},
	"collect.values":       {"指标数据", "Indicator values"},
	"collect.indicator":    {"指标", "Indicator"},
	"collect.value":        {"数值", "Value"},
	"collect.state":        {"状态", "Status"},
	"collect.version":      {"版本", "Version"},
	"collect.comment":      {"审核意见", "Reviewer comment"},
	"collect.evidence":     {"佐证材料", "Evidence"},
	"collect.uploaded":     {"上传时间", "Uploaded"},
	"collect.withdrawn":    {"已撤回", "withdrawn"},
	"collect.attach":       {"上传佐证材料", "Upload evidence"},
	"collect.row":          {"行", "Row"},
	"collect.save":         {"保存", "Save"},
	"collect.savesubmit":   {"保存后提交审核（未修改时提交全部草稿）", "Submit for review after saving (all drafts when nothing changed)"},
	"collect.saved":        {"已保存 %d 项，提交审核 %d 项。", "Saved %d values, submitted %d for review."},
	"collect.unchanged":    {"没有修改任何数据。", "Nothing was changed."},
	"collect.stale":        {"数据已被他人修改，未保存任何内容。请重新打开本页，查看最新数据后再填写。", "Someone else changed these values meanwhile; nothing was stored. Reopen the page to see the current values, then enter yours again."},
	"collect.note":         {"说明", "Note"},
	"collect.yes":          {"是", "Yes"},
	"collect.no":           {"否", "No"},
	"collect.fromsurvey":   {"取自满意度调查，不可手工填报", "From survey results; not entered by hand"},
	"collect.history":      {"修改记录", "History"},
	"collect.at":           {"时间（UTC）", "Time (UTC)"},
	"collect.user":         {"用户", "User"},
	"collect.action":       {"操作", "Action"},
	"collect.change":       {"修改前 → 修改后", "Before → after"},
	"collect.reason":       {"原因", "Reason"},
	"action.set":           {"填报", "Set"},
	"action.submit":        {"提交", "Submit"},
	"action.verify":        {"审核通过", "Verify"},
	"action.reject":        {"退回", "Reject"},
	"action.conflict":      {"冲突（未保存）", "Conflict (not stored)"},
	"action.survey":        {"调查结果", "Survey"},
	"collect.column":       {"列", "Column"},
	"collect.problem":      {"问题", "Problem"},
	"value.draft":          {"草稿", "Draft"},
	"value.submitted":      {"已提交", "Submitted"},
	"value.verified":       {"已审核", "Verified"},
	"value.rejected":       {"已退回", "Rejected"},
	"home.collect":         {"数据填报", "Data collection"},
	"home.overview":        {"总览", "Overview"},
	"overview.title":       {"全省总览", "Province overview"},
	"overview.published":   {"已发布的评价结果", "Published results"},
	"overview.unpublished": {"未发布：仅管理员可见", "Not published: visible to managers only"},
	"overview.run":         {"评价运行", "Run"},
	"overview.failed":      {"以下评价运行失败，未保存结果：", "These runs failed and stored no results:"},
	"overview.show":        {"查看", "Show"},
	"overview.ranking":     {"排名", "Ranking"},
	"overview.rank":        {"名次", "Rank"},
	"overview.region":      {"地区", "Region"},
	"overview.score":       {"综合得分", "Score"},
	"overview.grade":       {"等次", "Grade"},
	"overview.capped":      {"规则封顶，原为", "capped by a rule, was "},
	"region.title":         {"地区仪表板", "Region dashboard"},
	"region.award":         {"评优资格", "Eligible for awards"},
	"region.yes":           {"有", "Yes"},
	"region.no":            {"无", "No"},
	"region.basis":         {"政策依据：", "Policy basis: "},
	"region.why":           {"评价说明", "Why this result"},
	"region.path":          {"提升至", "Path to"},
	"region.indicator":     {"指标", "Indicator"},
	"region.now":           {"现值", "Now"},
	"region.needed":        {"需达到", "Needed"},
	"region.change":        {"需增加", "Change"},
	"overview.compare":     {"与其他运行比较", "Compare with another run"},
	"overview.sensitivity": {"排名区间来自本次运行的敏感性分析（%d 次抽样：权重等设定随机扰动后各地区名次的 5%%–95%% 分位与中位数），仅管理员可见。", "Rank intervals from the run's sensitivity analysis (%d draws perturbing weights and other choices: the 5th–95th percentile and median of each region's rank); shown to managers only."},
	"region.satisfaction":  {"满意度调查", "Satisfaction survey"},
	"region.index":         {"满意度指数", "Satisfaction index"},
	"region.ci":            {"95%置信区间", "95% confidence interval"},
	"region.sample":        {"有效样本", "Valid responses"},
	"region.province":      {"全省平均", "Province mean"},
	"region.toofew":        {"参与比较的地区不足", "Too few regions to compare"},
	"region.insufficient":  {"有效样本 %d 份，低于最低要求 %d 份：该指数未计入评价。", "%d valid responses, below the minimum of %d: the index was not used in the assessment."},
	"region.nosurvey":      {"本周期尚无本地区已验收的满意度调查结果。", "No accepted satisfaction survey of this region in the cycle."},
	"region.data":          {"数据填报情况", "Data completeness"},
	"region.verifiedshare": {"已审核 %d 项，共 %d 项适用指标", "%d of %d applicable indicators verified"},
	"region.collect":       {"前往数据填报", "Go to data entry"},
	"region.unit":          {"单位", "Unit"},
	"region.source":        {"来源", "Source"},
	"region.reported":      {"地区填报", "Reported by the region"},
	"region.surveyed":      {"满意度调查", "Satisfaction survey"},
	"region.changed":       {"最后修改（UTC）", "Last change (UTC)"},
	"region.note":          {"说明", "Note"},
	"diff.title":           {"评价运行对比", "Compare runs"},
	"diff.back":            {"返回全省总览", "Back to the overview"},
	"diff.from":            {"对比基准（旧）", "From (earlier)"},
	"diff.to":              {"对比对象（新）", "To (later)"},
	"diff.compare":         {"对比", "Compare"},
	"diff.single":          {"本周期只有一次评价运行，无可对比。", "The cycle has a single run: there is nothing to compare it with."},
	"diff.scheme":          {"两次运行使用的评价方案不同。", "The two runs were scored with different schemes."},
	"diff.regions":         {"结果有变化的地区", "Regions whose result changed"},
	"diff.noregions":       {"各地区得分、名次和等次均无变化。", "No region's score, rank or grade changed."},
	"diff.change":          {"变化", "Change"},
	"diff.both":            {"结果变化", "Changed"},
	"diff.added":           {"新增地区", "Added"},
	"diff.removed":         {"移除地区", "Removed"},
	"diff.inputs":          {"有变化的输入数据", "Inputs that changed"},
	"diff.noinputs":        {"输入数据无变化。", "No input changed."},
	"diff.before":          {"对比基准", "From"},
	"diff.after":           {"对比对象", "To"},
	"status.draft":         {"草稿", "Draft"},
	"status.collecting":    {"数据采集中", "Collecting"},
	"status.scoring":       {"评分中", "Scoring"},
	"status.published":     {"已发布", "Published"},
	"status.archived":      {"已归档", "Archived"},
	"docs.title":           {"接口文档", "API reference"},
	"docs.intro":           {"以下列出全部接口。错误以 application/problem+json 返回。", "Every route of ipeval. Errors are application/problem+json."},
	"docs.roles":           {"可用角色", "Roles"},
	"docs.body":            {"请求体", "Request body"},
	"docs.response":        {"响应", "Response"},
	"error.title":          {"出错了", "Something went wrong"},
	"report.link":          {"知识产权营商环境评价报告", "Business-environment report"},
	"report.pending":       {"评价报告正在生成", "The report is being prepared"},
	"report.pending.text":  {"本次评价结果的营商环境评价报告正在生成，通常只需几秒钟。本页将自动刷新。", "The business-environment report of this run is being rendered, which usually takes a few seconds. This page refreshes by itself."},
	"report.job":           {"后台任务", "Job"},
	"report.refresh":       {"立即刷新", "Refresh now"},
	"error.request":        {"请求编号", "Request id"},
	"error.back":           {"返回首页", "Back to the home page"},

	// Survey projects: the contractor pages.
	"nav.surveys":             {"满意度调查", "Surveys"},
	"home.surveys":            {"查看调查项目、上传答卷、查看校验与质量报告", "Open the survey projects: upload responses, read the validation and quality reports"},
	"surveys.title":           {"满意度调查项目", "Survey projects"},
	"surveys.none":            {"暂无调查项目。", "No survey projects yet."},
	"survey.title":            {"调查项目", "Survey project"},
	"survey.name":             {"名称", "Name"},
	"survey.cycle":            {"考核周期", "Cycle"},
	"survey.organisation":     {"调查机构", "Organisation"},
	"survey.questionnaire":    {"问卷", "Questionnaire"},
	"survey.status":           {"状态", "Status"},
	"survey.regions":          {"调查地区", "Regions"},
	"survey.batches.valid":    {"有效批次", "Valid batches"},
	"survey.batches.pending":  {"处理中", "Being read"},
	"survey.batches.refused":  {"未通过", "Refused"},
	"survey.responses":        {"答卷数", "Responses"},
	"survey.since":            {"更新于", "since"},
	"survey.reason":           {"说明", "Reason"},
	"survey.fieldwork":        {"调查时间", "Fieldwork"},
	"survey.commissioned":     {"委托时间", "Commissioned"},
	"survey.items":            {"题目", "Items"},
	"survey.scale":            {"量表", "Scale"},
	"survey.types":            {"受访者类型", "Respondent types"},
	"survey.upload":           {"上传答卷", "Upload responses"},
	"survey.template":         {"下载上传模板：", "Download the upload template:"},
	"survey.replaces":         {"替换有效批次（可选）", "Replace a valid batch (optional)"},
	"survey.replaces.none":    {"不替换，作为新批次", "None: a new batch"},
	"survey.closed":           {"项目已验收，数据不能再上传或修改。", "The project is accepted: its data can no longer be uploaded or changed."},
	"survey.submit":           {"提交验收", "Submit for acceptance"},
	"survey.submit.hint":      {"提交后由省级管理员验收，满意度指数随后写入考核数据。须至少有一个有效批次，且没有正在校验的批次。", "A provincial manager then accepts the project and its indices become the cycle's values. It needs a valid batch and none still being checked."},
	"survey.problems":         {"校验问题", "Validation problems"},
	"survey.problems.count":   {"共 %d 处问题。完整校验报告：", "%d problem(s). The full validation report:"},
	"survey.batches":          {"上传批次", "Uploaded batches"},
	"survey.rows":             {"行数", "Rows"},
	"survey.validrows":        {"有效行", "Valid rows"},
	"survey.problemcount":     {"问题数", "Problems"},
	"survey.report":           {"校验报告", "Validation report"},
	"survey.nobatches":        {"尚未上传答卷。", "Nothing uploaded yet."},
	"survey.quality":          {"样本质量与满意度指数", "Sample quality and satisfaction index"},
	"survey.target":           {"目标样本", "Target"},
	"survey.duplicates":       {"重复", "Duplicates"},
	"survey.speeders":         {"用时过短", "Speeders"},
	"survey.straightliners":   {"一致作答", "Straight-liners"},
	"survey.attention":        {"注意力题未通过", "Failed attention check"},
	"survey.index":            {"满意度指数", "Index"},
	"survey.flags":            {"标记", "Flags"},
	"survey.insufficient":     {"样本不足（少于 %d）", "Insufficient sample (below %d)"},
	"survey.weighted":         {"已加权", "Weighted"},
	"survey.notice.uploaded":  {"已上传，正在后台校验：", "Uploaded; it is being checked:"},
	"survey.notice.duplicate": {"此文件已上传过，未重复导入，仍为原批次：", "This file was uploaded before; nothing was imported again. It is the earlier batch:"},
	"survey.notice.submitted": {"项目已提交验收。", "The project was submitted for acceptance."},
	"survey.js.sending":       {"正在上传", "Uploading"},
	"survey.js.queued":        {"等待校验", "Waiting to be checked"},
	"survey.js.loading":       {"正在校验", "Checking"},
	"survey.js.valid":         {"校验通过：{rows} 行全部有效。", "Checked: all {rows} rows are valid."},
	"survey.js.invalid":       {"校验未通过：发现 {problems} 处问题，未导入任何答卷。", "Refused: {problems} problem(s) found; nothing was imported."},
	"survey.js.failed":        {"无法读取文件，未导入任何答卷。", "The file could not be read; nothing was imported."},
	"survey.js.error":         {"上传失败：", "Upload failed: "},
	"project.open":            {"进行中", "Open"},
	"project.submitted":       {"已提交验收", "Submitted"},
	"project.accepted":        {"已验收", "Accepted"},
	"project.returned":        {"已退回", "Returned"},
	"project.locked":          {"已锁定", "Locked"},
	"batch.queued":            {"排队中", "Queued"},
	"batch.loading":           {"校验中", "Being read"},
	"batch.valid":             {"有效", "Valid"},
	"batch.invalid":           {"无效", "Invalid"},
	"batch.failed":            {"读取失败", "Failed"},
	"batch.withdrawn":         {"已撤回", "Withdrawn"},
	"batch.replaced":          {"已替换", "Replaced"},
}
