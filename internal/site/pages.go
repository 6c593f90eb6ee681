package site

import (
	"cmp"
	"context"
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
	"github.com/ipeval/ipeval/internal/site/i18n"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/reports/static"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Renderer holds the parsed templates: one set per page, each with the
// layout. It draws the pages and, for the shared error handler, the error
// page.
type Renderer struct {
	byName map[string]*template.Template
	// cityCycle finds the cycle a city official's navigation links
	// (site.New sets it; nil links none).
	cityCycle func(ctx context.Context) (*cycles.Cycle, error)
}

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Renderer{byName: map[string]*template.Template{}}
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
	// cityCycle is the cycle a city official's navigation links, if any.
	cityCycle *cycles.Cycle
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
	prob := web.ProblemFor(err)
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
func (v view) T(key string) string { return i18n.T(v.Lang, key) }

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

// render draws page name with data, titled by the message titleKey.
func (r *Renderer) render(c *fiber.Ctx, status int, name, titleKey string, data any) error {
	t, ok := r.byName[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	v := view{Lang: lang(c), User: web.Principal(c), Path: c.Path(), Query: string(c.Request().URI().QueryString()), Data: data}
	v.Title = v.T(titleKey)
	if v.User.Is(auth.RoleCity) && r.cityCycle != nil {
		// The navigation is no reason to fail a page (the error page
		// included): a cycle that cannot be read is simply not linked.
		if cy, err := r.cityCycle(c.UserContext()); err == nil {
			v.cityCycle = cy
		}
	}
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

// Error draws p as the error page: the shared error handler's answer to
// a failed page request (web.NewEdge).
func (r *Renderer) Error(c *fiber.Ctx, p web.Problem) error {
	return r.render(c, p.Status, "error", "error.title", p)
}

type homeData struct {
	// Assessment is set for the roles that take part in assessments, who
	// see the cycles; the security administrator and the auditor do not.
	Assessment bool
	Cycles     []cycles.Cycle
}

// HomePage answers page.home (Home page).
func (h *Handlers) HomePage(c *fiber.Ctx, p auth.Principal) error {
	if !web.Assessment.Allows(p) {
		return h.pages.render(c, fiber.StatusOK, "home", "home.title", homeData{})
	}
	cs, err := h.deps.Cycles.List(c.UserContext())
	if err != nil {
		return err
	}
	return h.pages.render(c, fiber.StatusOK, "home", "home.title", homeData{Assessment: true, Cycles: cs})
}

const loginCSRFCookie = "ipeval_login_csrf"

type loginData struct {
	CSRF     string
	Next     string
	Username string
	Error    string
}

// LoginPage shows the sign-in form. The form carries a token that must match
// a cookie (double submit), so no other site can sign a browser in.
func (h *Handlers) LoginPage(c *fiber.Ctx, p auth.Principal) error {
	if p.Authenticated() {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return h.pages.render(c, fiber.StatusOK, "login", "login.title", loginData{CSRF: h.loginCSRF(c), Next: safeNext(web.Query(c, "next"))})
}

func (h *Handlers) loginCSRF(c *fiber.Ctx) string {
	tok := c.Cookies(loginCSRFCookie)
	if len(tok) < 32 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		tok = base64.RawURLEncoding.EncodeToString(b)
	}
	c.Cookie(&fiber.Cookie{Name: loginCSRFCookie, Value: tok, Path: "/login", HTTPOnly: true, Secure: h.opts.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
	return tok
}

// LoginForm answers auth.login_form (Sign in with a form).
func (h *Handlers) LoginForm(c *fiber.Ctx, _ auth.Principal) error {
	data := loginData{Next: safeNext(web.FormValue(c, "next")), Username: web.FormValue(c, "username")}
	cookie, form := c.Cookies(loginCSRFCookie), web.FormValue(c, "_csrf")
	if cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(form)) != 1 {
		web.SetAuditObject(c, "user:"+data.Username)
		web.SetAuditDetail(c, "login csrf mismatch")
		data.CSRF = h.loginCSRF(c)
		data.Error = "login.expired"
		return h.pages.render(c, fiber.StatusForbidden, "login", "login.title", data)
	}
	_, _, err := h.edge.SignIn(c, data.Username, web.FormValue(c, "password"))
	if err == nil {
		next := data.Next
		if next == "" {
			next = "/"
		}
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	status := web.StatusOf(err)
	switch {
	case errors.Is(err, auth.ErrThrottled):
		c.Set(fiber.HeaderRetryAfter, web.RetryAfter(web.ProblemFor(err)))
		data.Error = "login.throttled"
	case errors.Is(err, auth.ErrInvalidCredentials):
		data.Error = "login.invalid"
	case status == fiber.StatusTooManyRequests:
		data.Error = "login.ratelimited"
	default:
		return err
	}
	data.CSRF = h.loginCSRF(c)
	return h.pages.render(c, status, "login", "login.title", data)
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

// LogoutForm answers auth.logout_form (Sign out).
func (h *Handlers) LogoutForm(c *fiber.Ctx, _ auth.Principal) error {
	if err := h.deps.Auth.EndSession(c.UserContext(), c.Cookies(web.SessionCookie)); err != nil {
		return err
	}
	h.edge.ClearSessionCookie(c)
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

// DocsPage renders the OpenAPI document as a page, entirely on the server,
// so that it works without any script or outside host.
func (h *Handlers) DocsPage(c *fiber.Ctx, _ auth.Principal) error {
	return h.pages.render(c, fiber.StatusOK, "docs", "docs.title", h.docs)
}

func indent(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// Static serves the embedded style sheets and scripts: the pages' own,
// then those of package reports (the report's print style sheet); nothing
// is loaded from another host.
func (h *Handlers) Static(c *fiber.Ctx, _ auth.Principal) error {
	name := path.Base(web.Param(c, "file"))
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

// Vendor serves the chart library that `make assets` put into package
// reports; vendorMap its map data.
func (h *Handlers) Vendor(c *fiber.Ctx, _ auth.Principal) error {
	return sendAsset(c, "vendor/"+path.Base(web.Param(c, "file")))
}

// VendorMap answers vendor.maps (Map data, served by the binary (offline)).
func (h *Handlers) VendorMap(c *fiber.Ctx, _ auth.Principal) error {
	return sendAsset(c, "vendor/maps/"+path.Base(web.Param(c, "file")))
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
