package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/api"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/regions/spec"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// routeTable lists every route of ipeval, in one place.
func (s *Server) routeTable() []web.Route {
	a, ui := s.api, s.site
	get, post, put, patch, del := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete
	return []web.Route{
		// Operations.
		{Method: get, Path: "/healthz", Name: "health.live", Tag: "ops", Summary: "Liveness", SummaryZh: "存活检查", Access: web.Public, Response: api.Health{}, Handler: a.Healthz},
		{Method: get, Path: "/readyz", Name: "health.ready", Tag: "ops", Summary: "Readiness of database and broker", SummaryZh: "就绪检查（数据库与队列）", Access: web.Public, Response: api.Health{}, Handler: a.Readyz},
		{Method: get, Path: "/openapi.json", Name: "openapi", Tag: "ops", Summary: "This OpenAPI document", SummaryZh: "接口文档（OpenAPI）", Access: web.Public, Handler: a.OpenAPIJSON},

		// Pages.
		{Method: get, Path: "/", Name: "page.home", Tag: "pages", Summary: "Home page", SummaryZh: "首页", Access: web.SignedIn, Page: true, Handler: ui.HomePage},
		{Method: get, Path: "/login", Name: "page.login", Tag: "pages", Summary: "Sign-in page", SummaryZh: "登录页", Access: web.Public, Page: true, Handler: ui.LoginPage},
		{Method: post, Path: "/login", Name: "auth.login_form", Tag: "pages", Summary: "Sign in with a form", SummaryZh: "表单登录", Access: web.Public, Page: true, Object: "user", Handler: ui.LoginForm},
		{Method: post, Path: "/logout", Name: "auth.logout_form", Tag: "pages", Summary: "Sign out", SummaryZh: "退出登录", Access: web.SignedIn, Page: true, Object: "session", Handler: ui.LogoutForm},
		{Method: get, Path: "/cycles/:id/regions/:code", Name: "page.region", Tag: "pages", Summary: "A region's dashboard in a run (?run=ID): score, grade and cap, dimensions, contributions, trend, path to the next grade", SummaryZh: "地区仪表板", Access: web.AdminOrCity, Page: true, Handler: ui.RegionPage},
		{Method: get, Path: "/cycles/:id/report", Name: "page.report", Tag: "pages", Summary: "The business-environment report of a cycle's published run, every region's page included (admins; ?run=ID for another run with a report): printable A4 HTML", SummaryZh: "知识产权营商环境评价报告（全省，含各地区评价页）", Access: web.AdminOrCity, Page: true, Produces: fiber.MIMETextHTMLCharsetUTF8, Handler: ui.ReportPage},
		{Method: get, Path: "/cycles/:id/regions/:code/report", Name: "page.region_report", Tag: "pages", Summary: "A region's edition of the report: summary, ranking, map, that region's page and the methodology (city officials: their own region)", SummaryZh: "地区版评价报告（市级用户仅本地区）", Access: web.AdminOrCity, Page: true, Produces: fiber.MIMETextHTMLCharsetUTF8, Handler: ui.RegionReportPage},
		{Method: get, Path: "/cycles/:id/overview", Name: "page.overview", Tag: "pages", Summary: "Province overview of a run: map, ranking, grades (?run=ID)", SummaryZh: "全省总览：地图、排名、等次分布", Access: web.AdminOrCity, Page: true, Handler: ui.OverviewPage},
		{Method: get, Path: "/cycles/:id/diff", Name: "page.diff", Tag: "pages", Summary: "Compare two runs of a cycle (?from=RUN&to=RUN): results that changed, regions added or removed, inputs that changed", SummaryZh: "评价运行对比：结果、地区与输入数据的变化", Access: web.Admin, Page: true, Handler: ui.DiffPage},
		{Method: get, Path: "/cycles/:id/collect", Name: "page.collect", Tag: "pages", Summary: "Data collection of a cycle (?region=CODE)", SummaryZh: "数据填报页", Access: web.AdminOrCity, Page: true, Handler: ui.CollectPage},
		{Method: post, Path: "/cycles/:id/collect/import", Name: "page.collect_import", Tag: "pages", Summary: "Import a filled-in template from the page", SummaryZh: "页面导入填报表", Access: web.AdminOrCity, Page: true, Object: "cycle", Handler: ui.CollectImport},
		{Method: post, Path: "/cycles/:id/collect/values", Name: "page.collect_values", Tag: "pages", Summary: "Save the values form of the page, optionally submitting them", SummaryZh: "页面保存指标数据（可同时提交审核）", Access: web.AdminOrCity, Page: true, Object: "cycle", Handler: ui.CollectValues},
		{Method: post, Path: "/cycles/:id/collect/evidence", Name: "page.collect_evidence", Tag: "pages", Summary: "Upload evidence from the page", SummaryZh: "页面上传佐证材料", Access: web.AdminOrCity, Page: true, Object: "cycle", Status: fiber.StatusCreated, Handler: ui.CollectEvidence},
		{Method: get, Path: "/surveys", Name: "page.surveys", Tag: "pages", Summary: "Survey projects (a contractor: its organisation's; ?cycle=ID)", SummaryZh: "满意度调查项目列表", Access: web.AdminOrContractor, Page: true, Handler: ui.SurveysPage},
		{Method: get, Path: "/surveys/:id", Name: "page.survey", Tag: "pages", Summary: "A survey project: upload form, batches with their validation, quality and index per region (?batch=ID shows a batch's problems)", SummaryZh: "调查项目页：上传、校验报告、样本质量与满意度指数", Access: web.AdminOrContractor, Page: true, Handler: ui.SurveyPage},
		{Method: post, Path: "/surveys/:id/upload", Name: "page.survey_upload", Tag: "pages", Summary: "Upload a file of responses from the project page; back to the page with the batch", SummaryZh: "页面上传答卷数据", Access: web.AdminOrContractor, Page: true, Object: "survey_project", Body: api.BatchForm{}, Consumes: fiber.MIMEMultipartForm, Status: fiber.StatusSeeOther, Handler: ui.SurveyUploadForm},
		{Method: post, Path: "/surveys/:id/submit", Name: "page.survey_submit", Tag: "pages", Summary: "Submit a project for acceptance from its page", SummaryZh: "页面提交调查数据验收", Access: web.AdminOrContractor, Page: true, Object: "survey_project", Status: fiber.StatusSeeOther, Handler: ui.SurveySubmitForm},
		{Method: get, Path: "/users", Name: "page.users", Tag: "pages", Summary: "Users, with enabling, password resets and unlocking", SummaryZh: "用户管理：启用停用、重置密码、解除登录限速", Access: web.SecAdmin, Page: true, Handler: ui.UsersPage},
		{Method: post, Path: "/users/:id/disabled", Name: "page.user_disabled", Tag: "pages", Summary: "Enable (disabled=false) or disable a user from the users page", SummaryZh: "页面启用或停用用户", Access: web.SecAdmin, Page: true, Object: "user", Status: fiber.StatusSeeOther, Handler: ui.UserDisabledForm},
		{Method: post, Path: "/users/:id/password", Name: "page.user_password", Tag: "pages", Summary: "Reset a password from the users page (shown once); revokes the user's API tokens", SummaryZh: "页面重置密码（仅显示一次）", Access: web.SecAdmin, Page: true, Object: "user", Handler: ui.UserPasswordForm},
		{Method: post, Path: "/users/:id/throttle", Name: "page.user_throttle", Tag: "pages", Summary: "Clear a user's sign-in throttle from the users page", SummaryZh: "页面解除登录限速", Access: web.SecAdmin, Page: true, Object: "user", Status: fiber.StatusSeeOther, Handler: ui.UserThrottleForm},
		{Method: get, Path: "/audit", Name: "page.audit", Tag: "pages", Summary: "The audit log with filters (?username=&action=&object=&result=&from=&to=) and CSV exports", SummaryZh: "审计日志（可筛选、导出 CSV）", Access: web.Auditor, Page: true, Handler: ui.AuditPage},
		{Method: post, Path: "/audit/export", Name: "page.audit_export", Tag: "pages", Summary: "Export the filtered audit log as CSV from the page (a job)", SummaryZh: "页面导出审计日志（后台任务）", Access: web.Auditor, Page: true, Object: "job", Status: fiber.StatusSeeOther, Handler: ui.AuditExportForm},
		// Cycles pages: the manager's list of cycles and each cycle's home.
		{Method: get, Path: "/cycles", Name: "page.cycles", Tag: "pages", Summary: "Assessment cycles with the form that creates one", SummaryZh: "考核周期列表与新建", Access: web.Admin, Page: true, Handler: ui.CyclesPage},
		{Method: post, Path: "/cycles", Name: "page.cycle_create", Tag: "pages", Summary: "Create a cycle (draft) with its scheme version from the page; on to its home", SummaryZh: "页面新建考核周期（含评价方案版本）", Access: web.Admin, Page: true, Object: "cycle", Status: fiber.StatusSeeOther, Handler: ui.CycleCreateForm},
		{Method: get, Path: "/cycles/:id", Name: "page.cycle", Tag: "pages", Summary: "A cycle's home: the year's checklist and its state changes", SummaryZh: "考核周期主页：年度工作清单与状态变更", Access: web.Admin, Page: true, Handler: ui.CycleHomePage},
		{Method: post, Path: "/cycles/:id/transitions", Name: "page.cycle_transition", Tag: "pages", Summary: "Move a cycle to another state from its home (to=collecting|scoring|archived)", SummaryZh: "页面变更考核周期状态", Access: web.Admin, Page: true, Object: "cycle", Status: fiber.StatusSeeOther, Handler: ui.CycleTransitionForm},
		{Method: get, Path: "/docs", Name: "page.docs", Tag: "pages", Summary: "API reference", SummaryZh: "接口文档", Access: web.Public, Page: true, Handler: ui.DocsPage},
		{Method: get, Path: "/static/:file", Name: "static", Tag: "pages", Summary: "Style sheets and scripts", SummaryZh: "静态资源", Access: web.Public, Handler: ui.Static},
		{Method: get, Path: "/static/vendor/:file", Name: "vendor", Tag: "pages", Summary: "The chart library, served by the binary (offline)", SummaryZh: "图表库（本地提供）", Access: web.Public, Handler: ui.Vendor},
		{Method: get, Path: "/static/vendor/maps/:file", Name: "vendor.maps", Tag: "pages", Summary: "Map data, served by the binary (offline)", SummaryZh: "地图数据（本地提供）", Access: web.Public, Handler: ui.VendorMap},

		// Authentication.
		{Method: post, Path: "/api/v1/auth/login", Name: "auth.login", Tag: "auth", Summary: "Sign in; sets the session cookie", SummaryZh: "登录", Access: web.Public, Object: "user", Body: api.LoginRequest{}, Response: api.LoginResponse{}, Handler: a.Login},
		{Method: post, Path: "/api/v1/auth/logout", Name: "auth.logout", Tag: "auth", Summary: "End the session", SummaryZh: "退出登录", Access: web.SignedIn, Object: "session", Status: fiber.StatusNoContent, Handler: a.Logout},
		{Method: get, Path: "/api/v1/me", Name: "me.get", Tag: "auth", Summary: "The caller", SummaryZh: "当前用户", Access: web.SignedIn, Response: web.UserView{}, Handler: a.Me},
		{Method: put, Path: "/api/v1/me/password", Name: "me.password", Tag: "auth", Summary: "Change one's password; revokes one's API tokens unless keep_tokens", SummaryZh: "修改密码（除非 keep_tokens，同时吊销本人的访问令牌）", Access: web.SignedIn, Object: "user", Body: api.PasswordChange{}, Status: fiber.StatusNoContent, Handler: a.ChangePassword},
		{Method: get, Path: "/api/v1/tokens", Name: "tokens.list", Tag: "auth", Summary: "The caller's API tokens", SummaryZh: "我的访问令牌", Access: web.SignedIn, Response: web.List[auth.Token]{}, Handler: a.ListTokens},
		{Method: post, Path: "/api/v1/tokens", Name: "tokens.create", Tag: "auth", Summary: "Issue an API token (shown once)", SummaryZh: "签发访问令牌（仅显示一次）", Access: web.SignedIn, Object: "token", Body: api.TokenRequest{}, Response: api.TokenIssued{}, Status: fiber.StatusCreated, Handler: a.CreateToken},
		{Method: del, Path: "/api/v1/tokens/:id", Name: "tokens.revoke", Tag: "auth", Summary: "Revoke an API token", SummaryZh: "吊销访问令牌", Access: web.SignedIn, Object: "token", Status: fiber.StatusNoContent, Handler: a.RevokeToken},

		// Users and organisations.
		{Method: get, Path: "/api/v1/users", Name: "users.list", Tag: "users", Summary: "List users", SummaryZh: "用户列表", Access: web.SecAdmin, Response: web.List[web.UserView]{}, Handler: a.ListUsers},
		{Method: post, Path: "/api/v1/users", Name: "users.create", Tag: "users", Summary: "Create a user (password shown once)", SummaryZh: "创建用户（密码仅显示一次）", Access: web.SecAdmin, Object: "user", Body: api.NewUserRequest{}, Response: web.UserCreated{}, Status: fiber.StatusCreated, Handler: a.CreateUser},
		{Method: get, Path: "/api/v1/users/:id", Name: "users.get", Tag: "users", Summary: "A user", SummaryZh: "用户详情", Access: web.SecAdmin, Response: web.UserView{}, Handler: a.GetUser},
		{Method: patch, Path: "/api/v1/users/:id", Name: "users.update", Tag: "users", Summary: "Enable or disable a user", SummaryZh: "启用或停用用户", Access: web.SecAdmin, Object: "user", Body: api.UserPatch{}, Response: web.UserView{}, Handler: a.UpdateUser},
		{Method: post, Path: "/api/v1/users/:id/password", Name: "users.reset_password", Tag: "users", Summary: "Reset a password (shown once); revokes the user's API tokens", SummaryZh: "重置密码（仅显示一次），并吊销该用户的访问令牌", Access: web.SecAdmin, Object: "user", Response: web.UserCreated{}, Handler: a.ResetPassword},
		{Method: del, Path: "/api/v1/users/:id/throttle", Name: "users.clear_throttle", Tag: "users", Summary: "Clear the sign-in throttle of a user's name (unlock)", SummaryZh: "解除用户登录限速（解锁）", Access: web.SecAdmin, Object: "user", Response: web.UserView{}, Handler: a.ClearThrottle},
		{Method: get, Path: "/api/v1/organisations", Name: "organisations.list", Tag: "users", Summary: "List organisations", SummaryZh: "机构列表", Access: web.AdminOrSecAdmin, Response: web.List[auth.Organisation]{}, Handler: a.ListOrganisations},
		{Method: post, Path: "/api/v1/organisations", Name: "organisations.create", Tag: "users", Summary: "Create an organisation", SummaryZh: "创建机构", Access: web.SecAdmin, Object: "organisation", Body: api.OrganisationRequest{}, Response: auth.Organisation{}, Status: fiber.StatusCreated, Handler: a.CreateOrganisation},
		{Method: get, Path: "/api/v1/organisations/:id", Name: "organisations.get", Tag: "users", Summary: "An organisation (its own, for a contractor)", SummaryZh: "机构详情", Access: web.OrganisationReaders, Response: auth.Organisation{}, Handler: a.GetOrganisation},

		// Regions and cycles.
		{Method: get, Path: "/api/v1/regions", Name: "regions.list", Tag: "regions", Summary: "List regions", SummaryZh: "地区列表", Access: web.RegionReaders, Response: web.List[regions.Region]{}, Handler: a.ListRegions},
		{Method: post, Path: "/api/v1/regions", Name: "regions.create", Tag: "regions", Summary: "Create a region", SummaryZh: "新增地区", Access: web.Admin, Object: "region", Body: spec.Input{}, Response: regions.Region{}, Status: fiber.StatusCreated, Handler: a.CreateRegion},
		{Method: post, Path: "/api/v1/regions/import", Name: "regions.import", Tag: "regions", Summary: "Import regions from CSV (all or nothing)", SummaryZh: "从 CSV 导入地区（全部成功或全部不保存）", Access: web.Admin, Object: "regions", Consumes: "text/csv", Response: api.ImportResult{}, Handler: a.ImportRegions},
		{Method: get, Path: "/api/v1/regions/:code", Name: "regions.get", Tag: "regions", Summary: "A region", SummaryZh: "地区详情", Access: web.RegionReaders, Response: regions.Region{}, Handler: a.GetRegion},
		{Method: put, Path: "/api/v1/regions/:code", Name: "regions.update", Tag: "regions", Summary: "Update a region", SummaryZh: "修改地区", Access: web.Admin, Object: "region", Body: spec.Input{}, Response: regions.Region{}, Handler: a.UpdateRegion},
		{Method: get, Path: "/api/v1/cycles", Name: "cycles.list", Tag: "cycles", Summary: "List assessment cycles", SummaryZh: "考核周期列表", Access: web.Assessment, Response: web.List[cycles.Cycle]{}, Handler: a.ListCycles},
		{Method: post, Path: "/api/v1/cycles", Name: "cycles.create", Tag: "cycles", Summary: "Create a cycle (draft)", SummaryZh: "新建考核周期", Access: web.Admin, Object: "cycle", Body: cycles.Input{}, Response: cycles.Cycle{}, Status: fiber.StatusCreated, Handler: a.CreateCycle},
		{Method: get, Path: "/api/v1/cycles/:id", Name: "cycles.get", Tag: "cycles", Summary: "A cycle with its allowed transitions", SummaryZh: "考核周期详情", Access: web.Assessment, Response: api.CycleView{}, Handler: a.GetCycle},
		{Method: put, Path: "/api/v1/cycles/:id/scheme", Name: "cycles.set_scheme", Tag: "cycles", Summary: "Assess a cycle with a scheme (before scoring)", SummaryZh: "为考核周期指定评价方案（评分前）", Access: web.Admin, Object: "cycle", Body: api.SchemeAssignment{}, Response: api.CycleView{}, Handler: a.SetCycleScheme},
		{Method: post, Path: "/api/v1/cycles/:id/transitions", Name: "cycles.transition", Tag: "cycles", Summary: "Move a cycle to another state", SummaryZh: "变更考核周期状态", Access: web.Admin, Object: "cycle", Body: api.TransitionRequest{}, Response: api.CycleView{}, Handler: a.TransitionCycle},

		// Assessment schemes.
		{Method: get, Path: "/api/v1/schemes", Name: "schemes.list", Tag: "schemes", Summary: "List scheme versions", SummaryZh: "评价方案版本列表", Access: web.AdminOrCity, Response: web.List[indicators.StoredScheme]{}, Handler: a.ListSchemes},
		{Method: post, Path: "/api/v1/schemes", Name: "schemes.create", Tag: "schemes", Summary: "Create a scheme from JSON or YAML", SummaryZh: "新建评价方案（JSON 或 YAML）", Access: web.Admin, Object: "scheme", Body: scheme.Scheme{}, Response: api.SchemeView{}, Status: fiber.StatusCreated, Handler: a.CreateScheme},
		{Method: get, Path: "/api/v1/schemes/:id", Name: "schemes.get", Tag: "schemes", Summary: "A scheme version (JSON, or YAML with ?format=yaml)", SummaryZh: "评价方案详情（JSON；?format=yaml 为 YAML）", Access: web.AdminOrCity, Response: api.SchemeView{}, Handler: a.GetScheme},
		{Method: put, Path: "/api/v1/schemes/:id", Name: "schemes.replace", Tag: "schemes", Summary: "Replace a scheme; a scored one gets a new version", SummaryZh: "修改评价方案（已用于评分的生成新版本）", Access: web.Admin, Object: "scheme", Body: scheme.Scheme{}, Response: api.SchemeView{}, Handler: a.PutScheme},

		// Indicator values.
		{Method: get, Path: "/api/v1/cycles/:id/values", Name: "values.list", Tag: "values", Summary: "Indicator values of a cycle (?region=CODE)", SummaryZh: "指标数据列表", Access: web.AdminOrCity, Response: web.List[indicators.Value]{}, Handler: a.ListValues},
		{Method: post, Path: "/api/v1/cycles/:id/values", Name: "values.set", Tag: "values", Summary: "Write a batch of values (all or nothing)", SummaryZh: "批量填报指标数据（全部成功或全部不保存）", Access: web.AdminOrCity, Object: "cycle", Body: api.ValueBatch{}, Response: web.List[indicators.Value]{}, Handler: a.SetValues},
		{Method: post, Path: "/api/v1/cycles/:id/values/submit", Name: "values.submit", Tag: "values", Summary: "Submit a region's values for review", SummaryZh: "提交审核", Access: web.AdminOrCity, Object: "cycle", Body: api.SubmitRequest{}, Response: web.List[indicators.Value]{}, Handler: a.SubmitValues},
		{Method: post, Path: "/api/v1/cycles/:id/values/:value/review", Name: "values.review", Tag: "values", Summary: "Verify or reject a submitted value", SummaryZh: "审核（通过或退回）", Access: web.Admin, Object: "value", Body: api.ReviewRequest{}, Response: indicators.Value{}, Handler: a.ReviewValue},
		{Method: get, Path: "/api/v1/cycles/:id/values/:value/history", Name: "values.history", Tag: "values", Summary: "Revision history of a value", SummaryZh: "修改记录", Access: web.AdminOrCity, Response: web.List[indicators.Revision]{}, Handler: a.ValueHistory},
		{Method: get, Path: "/api/v1/cycles/:id/values/template", Name: "values.template", Tag: "values", Summary: "Spreadsheet template pre-filled with the stored values (?region=CODE&format=xlsx|csv)", SummaryZh: "下载填报模板（Excel 或 CSV）", Access: web.AdminOrCity, Produces: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Handler: a.ValuesTemplate},
		{Method: post, Path: "/api/v1/cycles/:id/values/import", Name: "values.import", Tag: "values", Summary: "Import a filled-in template, xlsx or CSV (all or nothing)", SummaryZh: "导入填报表（全部成功或全部不保存）", Access: web.AdminOrCity, Object: "cycle", Body: api.ImportForm{}, Consumes: fiber.MIMEMultipartForm, Response: indicators.ImportResult{}, Handler: a.ImportValues},
		{Method: get, Path: "/api/v1/cycles/:id/evidence", Name: "evidence.list", Tag: "values", Summary: "Evidence files of a cycle (?region=CODE)", SummaryZh: "佐证材料列表", Access: web.AdminOrCity, Response: web.List[indicators.Evidence]{}, Handler: a.ListEvidence},
		{Method: post, Path: "/api/v1/cycles/:id/evidence", Name: "evidence.add", Tag: "values", Summary: "Upload an evidence file (PDF, image, office document, OFD)", SummaryZh: "上传佐证材料", Access: web.AdminOrCity, Object: "cycle", Body: api.EvidenceForm{}, Consumes: fiber.MIMEMultipartForm, Response: indicators.Evidence{}, Status: fiber.StatusCreated, Handler: a.AddEvidence},
		{Method: get, Path: "/api/v1/cycles/:id/evidence/:evidence", Name: "evidence.get", Tag: "values", Summary: "Download an evidence file", SummaryZh: "下载佐证材料", Access: web.AdminOrCity, Produces: fiber.MIMEOctetStream, Handler: a.GetEvidence},
		{Method: post, Path: "/api/v1/cycles/:id/evidence/:evidence/withdraw", Name: "evidence.withdraw", Tag: "values", Summary: "Withdraw an evidence file (it stays on record)", SummaryZh: "撤回佐证材料", Access: web.AdminOrCity, Object: "evidence", Response: indicators.Evidence{}, Handler: a.WithdrawEvidence},
		{Method: get, Path: "/api/v1/cycles/:id/completeness", Name: "values.completeness", Tag: "values", Summary: "Completeness per region and dimension", SummaryZh: "数据完整性（按地区、维度）", Access: web.AdminOrCity, Response: web.List[indicators.Completeness]{}, Handler: a.Completeness},

		// Evaluation runs.
		{Method: post, Path: "/api/v1/cycles/:id/runs", Name: "runs.request", Tag: "runs", Summary: "Evaluate a cycle in scoring (a job; a second request while one runs returns it)", SummaryZh: "运行评价（后台任务）", Access: web.Admin, Object: "cycle", Body: evaluation.Settings{}, OptionalBody: true, Response: jobs.Job{}, Status: fiber.StatusAccepted, Handler: a.RequestRun},
		{Method: get, Path: "/api/v1/cycles/:id/runs", Name: "runs.list", Tag: "runs", Summary: "Runs of a cycle (city officials: the published one)", SummaryZh: "评价运行列表", Access: web.AdminOrCity, Response: api.RunList{}, Handler: a.ListRuns},
		{Method: get, Path: "/api/v1/runs/:id", Name: "runs.get", Tag: "runs", Summary: "A run with its results (city officials: their region of the published run)", SummaryZh: "评价结果", Access: web.AdminOrCity, Response: api.RunView{}, Handler: a.GetRun},
		{Method: get, Path: "/api/v1/runs/:id/regions/:code", Name: "runs.region", Tag: "runs", Summary: "One region's result with its explanation", SummaryZh: "地区评价结果与说明", Access: web.AdminOrCity, Response: engine.RegionResult{}, Handler: a.RunRegion},
		{Method: get, Path: "/api/v1/runs/:id/sensitivity", Name: "runs.sensitivity", Tag: "runs", Summary: "Sensitivity analysis of a run: rank intervals and grade probabilities", SummaryZh: "敏感性分析（排名区间与等次概率）", Access: web.AdminOrCity, Response: engine.SensitivityResult{}, Handler: a.RunSensitivity},
		{Method: get, Path: "/api/v1/runs/:id/workbook", Name: "runs.workbook", Tag: "runs", Summary: "The run as an Excel workbook: results, indicator scores, fired rules, sensitivity, about (?region=CODE: that region's detail; city officials: a published run, the province ranking and their own region's detail)", SummaryZh: "导出评价结果工作簿（Excel）", Access: web.AdminOrCity, Produces: api.MIMEXLSX, Handler: a.RunWorkbook},
		{Method: get, Path: "/api/v1/runs/:id/handover", Name: "runs.handover", Tag: "runs", Summary: "Hand-over package for the business-environment evaluation: one row per region × indicator with the value the run scored, unit, source, review status, run and scheme version (?format=csv|json&region=CODE; city officials: a published run, their own region)", SummaryZh: "营商环境评价移交数据（CSV 或 JSON）", Access: web.AdminOrCity, Produces: api.MIMECSV + ", " + fiber.MIMEApplicationJSON, Handler: a.RunHandover},
		{Method: get, Path: "/api/v1/runs/:id/diff/:other", Name: "runs.diff", Tag: "runs", Summary: "What changed from run :id to run :other: inputs, scores, ranks, grades", SummaryZh: "两次评价结果对比", Access: web.Admin, Response: evaluation.Diff{}, Handler: a.DiffRuns},
		{Method: post, Path: "/api/v1/runs/:id/report", Name: "runs.report", Tag: "runs", Summary: "Render a run's business-environment report (a job; publication queues one too; a second request while one is queued returns it)", SummaryZh: "生成评价报告（后台任务）", Access: web.Admin, Object: "run", Response: jobs.Job{}, Status: fiber.StatusAccepted, Handler: a.RequestReport},
		{Method: post, Path: "/api/v1/runs/:id/publish", Name: "runs.publish", Tag: "runs", Summary: "Publish a run: the cycle moves to published", SummaryZh: "发布评价结果", Access: web.Admin, Object: "run", Response: evaluation.Run{}, Handler: a.PublishRun},

		// Satisfaction surveys.
		{Method: get, Path: "/api/v1/questionnaires", Name: "questionnaires.list", Tag: "surveys", Summary: "List questionnaire versions", SummaryZh: "问卷版本列表", Access: web.Admin, Response: web.List[surveys.StoredQuestionnaire]{}, Handler: a.ListQuestionnaires},
		{Method: post, Path: "/api/v1/questionnaires", Name: "questionnaires.create", Tag: "surveys", Summary: "Store a questionnaire from JSON or YAML as the next version of its code (200 with the latest version when identical)", SummaryZh: "新建问卷（JSON 或 YAML；与最新版本相同时返回该版本）", Access: web.Admin, Object: "questionnaire", Body: questionnaire.Questionnaire{}, Consumes: "application/json, application/yaml, text/yaml", Response: surveys.StoredQuestionnaire{}, Status: fiber.StatusCreated, Handler: a.CreateQuestionnaire},
		{Method: get, Path: "/api/v1/questionnaires/:id", Name: "questionnaires.get", Tag: "surveys", Summary: "A questionnaire version", SummaryZh: "问卷详情", Access: web.Admin, Response: surveys.StoredQuestionnaire{}, Handler: a.GetQuestionnaire},
		{Method: post, Path: "/api/v1/cycles/:id/survey-projects", Name: "survey_projects.create", Tag: "surveys", Summary: "Commission a satisfaction survey of a cycle from a contractor", SummaryZh: "新建满意度调查项目（委托第三方机构）", Access: web.Admin, Object: "cycle", Body: surveys.ProjectInput{}, Response: surveys.Project{}, Status: fiber.StatusCreated, Handler: a.CreateSurveyProject},
		{Method: get, Path: "/api/v1/survey-projects", Name: "survey_projects.list", Tag: "surveys", Summary: "Survey projects (a contractor: its organisation's; ?cycle=ID)", SummaryZh: "调查项目列表", Access: web.AdminOrContractor, Response: web.List[surveys.Project]{}, Handler: a.ListSurveyProjects},
		{Method: get, Path: "/api/v1/survey-projects/:id", Name: "survey_projects.get", Tag: "surveys", Summary: "A survey project with its questionnaire", SummaryZh: "调查项目详情", Access: web.AdminOrContractor, Response: surveys.ProjectView{}, Handler: a.GetSurveyProject},
		{Method: put, Path: "/api/v1/survey-projects/:id/mapping", Name: "survey_projects.mapping", Tag: "surveys", Summary: "Save the column mapping used to read the project's uploads", SummaryZh: "保存上传文件的列映射", Access: web.AdminOrContractor, Object: "survey_project", Body: responsefile.Mapping{}, Response: surveys.Project{}, Handler: a.SetSurveyMapping},
		{Method: post, Path: "/api/v1/survey-projects/:id/submit", Name: "survey_projects.submit", Tag: "surveys", Summary: "Submit a project's data for acceptance", SummaryZh: "提交调查数据验收", Access: web.AdminOrContractor, Object: "survey_project", Body: api.MoveRequest{}, OptionalBody: true, Response: surveys.Project{}, Handler: a.MoveSurveyProject(surveys.Submit)},
		{Method: post, Path: "/api/v1/survey-projects/:id/accept", Name: "survey_projects.accept", Tag: "surveys", Summary: "Accept a submitted project: its indices become the cycle's survey-sourced values", SummaryZh: "验收调查项目（满意度指数写入指标数据）", Access: web.Admin, Object: "survey_project", Body: api.MoveRequest{}, OptionalBody: true, Response: api.AcceptView{}, Handler: a.MoveSurveyProject(surveys.Accept)},
		{Method: post, Path: "/api/v1/survey-projects/:id/return", Name: "survey_projects.return", Tag: "surveys", Summary: "Return a submitted project to its contractor (reason required)", SummaryZh: "退回调查项目（须说明理由）", Access: web.Admin, Object: "survey_project", Body: api.MoveRequest{}, Response: surveys.Project{}, Handler: a.MoveSurveyProject(surveys.Return)},
		{Method: post, Path: "/api/v1/survey-projects/:id/lock", Name: "survey_projects.lock", Tag: "surveys", Summary: "Lock an accepted project for good", SummaryZh: "锁定已验收的调查项目", Access: web.Admin, Object: "survey_project", Body: api.MoveRequest{}, OptionalBody: true, Response: surveys.Project{}, Handler: a.MoveSurveyProject(surveys.Lock)},
		{Method: get, Path: "/api/v1/survey-projects/:id/template", Name: "survey_projects.template", Tag: "surveys", Summary: "Empty upload template of a project (?format=xlsx|csv)", SummaryZh: "下载答卷上传模板（Excel 或 CSV）", Access: web.AdminOrContractor, Produces: api.MIMEXLSX, Handler: a.SurveyTemplate},
		{Method: post, Path: "/api/v1/survey-projects/:id/batches", Name: "survey_batches.upload", Tag: "surveys", Summary: "Upload a file of responses, xlsx or CSV (a job reads it, all or nothing; 200 with the batch already holding the same file)", SummaryZh: "上传答卷数据（后台校验，全部导入或全部不导入）", Access: web.AdminOrContractor, Object: "survey_project", Body: api.BatchForm{}, Consumes: fiber.MIMEMultipartForm, Response: surveys.Batch{}, Status: fiber.StatusAccepted, Handler: a.UploadSurveyBatch},
		{Method: get, Path: "/api/v1/survey-projects/:id/batches", Name: "survey_batches.list", Tag: "surveys", Summary: "Uploaded batches of a project", SummaryZh: "上传批次列表", Access: web.AdminOrContractor, Response: web.List[surveys.Batch]{}, Handler: a.ListSurveyBatches},
		{Method: get, Path: "/api/v1/survey-projects/:id/quality", Name: "survey_projects.quality", Tag: "surveys", Summary: "Quality summary and satisfaction index per region", SummaryZh: "样本质量与满意度指数（按地区）", Access: web.AdminOrContractor, Response: web.List[surveys.RegionIndex]{}, Handler: a.SurveyQuality},
		{Method: get, Path: "/api/v1/survey-batches/:id", Name: "survey_batches.get", Tag: "surveys", Summary: "A batch with its first problems and its job's progress", SummaryZh: "批次详情（校验问题与处理进度）", Access: web.AdminOrContractor, Response: surveys.BatchView{}, Handler: a.GetSurveyBatch},
		{Method: get, Path: "/api/v1/survey-batches/:id/report", Name: "survey_batches.report", Tag: "surveys", Summary: "Validation report of a batch (?format=csv|xlsx)", SummaryZh: "下载校验报告（CSV 或 Excel）", Access: web.AdminOrContractor, Produces: "text/csv", Handler: a.SurveyReport},
		{Method: post, Path: "/api/v1/survey-batches/:id/withdraw", Name: "survey_batches.withdraw", Tag: "surveys", Summary: "Withdraw a batch: its responses leave the indices (it stays on record)", SummaryZh: "撤回上传批次", Access: web.AdminOrContractor, Object: "survey_batch", Response: surveys.Batch{}, Handler: a.WithdrawSurveyBatch},
		{Method: get, Path: "/api/v1/cycles/:id/survey-indices", Name: "survey_indices.list", Tag: "surveys", Summary: "Satisfaction indices of a cycle's accepted surveys (city officials: their region, once published)", SummaryZh: "满意度指数（市级用户：发布后仅本地区）", Access: web.AdminOrCity, Response: web.List[surveys.RegionIndex]{}, Handler: a.CycleSurveyIndices},

		// Audit and jobs.
		{Method: get, Path: "/api/v1/audit", Name: "audit.list", Tag: "audit", Summary: "Search the audit log", SummaryZh: "查询审计日志", Access: web.Auditor, Response: web.List[audit.Entry]{}, Handler: a.ListAudit},
		{Method: post, Path: "/api/v1/audit/exports", Name: "audit.export", Tag: "audit", Summary: "Export the audit log as CSV (a job)", SummaryZh: "导出审计日志（后台任务）", Access: web.Auditor, Object: "job", Body: audit.Filter{}, Response: jobs.Job{}, Status: fiber.StatusAccepted, Handler: a.ExportAudit},
		{Method: get, Path: "/api/v1/jobs", Name: "jobs.list", Tag: "jobs", Summary: "The caller's jobs (an admin: all but audit exports)", SummaryZh: "后台任务列表", Access: web.SignedIn, Response: web.List[jobs.Job]{}, Handler: a.ListJobs},
		{Method: get, Path: "/api/v1/jobs/:id", Name: "jobs.get", Tag: "jobs", Summary: "A job and its progress", SummaryZh: "后台任务进度", Access: web.SignedIn, Response: jobs.Job{}, Handler: a.GetJob},
		{Method: get, Path: "/api/v1/jobs/:id/result", Name: "jobs.result", Tag: "jobs", Summary: "Download a job's file", SummaryZh: "下载任务结果文件", Access: web.SignedIn, Handler: a.JobResult},
	}
}
