package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/fault"
)

// Keys of values kept in the Fiber context for one request.
const (
	requestIDKey = "ipeval.request_id"
	principalKey = "ipeval.principal"
	pageKey      = "ipeval.page"
	objectKey    = "ipeval.audit_object"
	detailKey    = "ipeval.audit_detail"
	skipAuditKey = "ipeval.audit_skip"
	routeKey     = "ipeval.route"
)

// unmatchedRoute is the metrics and log label of a request that no route
// of the table served, so that probing random paths adds no series.
const unmatchedRoute = "unmatched"

// requestTimeout bounds the work of one request, so that an unreachable
// database turns into a 503 instead of a hung connection.
const requestTimeout = 30 * time.Second

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestContext gives every request an id (kept from X-Request-ID when it is
// well formed), a bounded context, a log line and metrics.
func (e *Edge) RequestContext(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(fiber.HeaderXRequestID)
	if !requestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	c.Locals(requestIDKey, id)
	c.Set(fiber.HeaderXRequestID, id)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	c.SetUserContext(ctx)

	err := c.Next()
	if err != nil {
		if herr := e.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	settleBody(c)
	status := c.Response().StatusCode()
	r, _ := c.Locals(routeKey).(*Route)
	route := unmatchedRoute
	if r != nil {
		route = r.Path
	}
	privateAnswer(c, r)
	elapsed := time.Since(start)
	e.metrics.observe(c.Method(), route, status, elapsed)
	level := slog.LevelInfo
	if route == "/healthz" || route == "/readyz" || strings.HasPrefix(route, "/static") {
		level = slog.LevelDebug
	}
	p := Principal(c)
	e.log.LogAttrs(ctx, level, "http request",
		slog.String("request_id", id), slog.String("method", c.Method()), slog.String("route", route),
		slog.Int("status", status), slog.Duration("duration", elapsed), slog.String("user_id", p.UserID))
	return nil
}

// privateAnswer makes every answer no-store — pages, API answers, errors,
// sign-ins that set a cookie, new passwords and tokens — unless a public
// Route's handler declared it cacheable (the static assets): a shared
// proxy or the browser's cache must never keep what one user was shown.
// Deciding it here, once, keeps a new handler from forgetting.
func privateAnswer(c *fiber.Ctx, r *Route) {
	if r != nil && r.Access.IsPublic() && bytes.HasPrefix(c.Response().Header.Peek(fiber.HeaderCacheControl), []byte("public")) {
		return
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// RequestID is the id RequestContext gave the request.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey).(string)
	return id
}

// Principal is the caller as authenticated for this request (or as a
// sign-in left it); the zero Principal is anonymous.
func Principal(c *fiber.Ctx) auth.Principal {
	p, _ := c.Locals(principalKey).(auth.Principal)
	return p
}

// IsPage reports whether the request is for a browser page, which is
// answered with HTML errors and a redirect to sign in.
func IsPage(c *fiber.Ctx) bool {
	page, _ := c.Locals(pageKey).(bool)
	return page
}

// Param returns a path parameter; the server's Immutable setting makes it
// a copy that may outlive the request.
func Param(c *fiber.Ctx, name string) string { return c.Params(name) }

// Query returns a query parameter, a copy as param'e.
func Query(c *fiber.Ctx, name string) string { return c.Query(name) }

// ClientIP is the caller's address. From a trusted proxy it is the
// right-most address of X-Forwarded-For that is not a trusted proxy: each
// proxy appends the address it was reached from, so whatever stands left
// of that may have been written by the caller itself, and believing it
// would let a caller pick the address it is throttled and audited under.
func (e *Edge) ClientIP(c *fiber.Ctx) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !e.trustedProxy(peer) {
		return peer.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		peer = a.Unmap()
		if !e.trustedProxy(peer) {
			break
		}
	}
	return peer.String()
}

// trustedProxy reports whether a is one of the trusted proxies.
func (e *Edge) trustedProxy(a netip.Addr) bool {
	for _, p := range e.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// proxyPrefixes reads the trusted proxies, addresses or CIDRs; what is
// neither trusts nothing.
func proxyPrefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range list {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

// SetAuditObject names the object a write touched when the route alone
// cannot (for example the id of something just created).
func SetAuditObject(c *fiber.Ctx, object string) { c.Locals(objectKey, object) }

// SetAuditDetail adds a short, caller-safe note to the audit entry.
func SetAuditDetail(c *fiber.Ctx, detail string) { c.Locals(detailKey, detail) }

// Handle wraps a route handler with authentication, authorisation, CSRF
// protection and auditing. Nothing reaches a handler that the route's
// Access rule does not allow.
func (e *Edge) Handle(r Route) fiber.Handler {
	rp := &r
	return func(c *fiber.Ctx) error {
		c.Locals(routeKey, rp)
		if r.Page {
			c.Locals(pageKey, true)
		}
		p, authErr := e.authenticate(c)
		c.Locals(principalKey, p)
		err := e.authorize(c, r, p, authErr)
		if errors.Is(err, errLoginRedirect) {
			return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		if err == nil {
			err = e.call(c, r, p)
		}
		// An anonymous caller refused at the door has done nothing to audit;
		// recording it would let anyone fill the append-only log.
		skip, _ := c.Locals(skipAuditKey).(bool)
		if r.Audited() && !skip && (Principal(c).Authenticated() || r.Access.IsPublic()) {
			e.record(c, r, err)
		}
		return err
	}
}

// call runs the handler, turning a panic into an error so that the request
// is still answered as a problem, logged and audited like any failure.
func (e *Edge) call(c *fiber.Ctx, r Route, p auth.Principal) (err error) {
	defer func() {
		if v := recover(); v != nil {
			e.log.Error("handler panic", "request_id", RequestID(c), "route", r.Name, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler %s panicked", r.Name)
		}
	}()
	return r.Handler(c, p)
}

var errLoginRedirect = errors.New("login required")

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "ipeval_session"

// authenticate finds the caller from a bearer token or a session cookie. No
// credential at all is an anonymous principal, not an error.
func (e *Edge) authenticate(c *fiber.Ctx) (auth.Principal, error) {
	ctx := c.UserContext()
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return auth.Principal{}, fault.With(fault.ErrUnauthenticated, "use the header Authorization: Bearer <token>", "请使用 Authorization: Bearer <令牌>", nil)
		}
		return e.deps.Auth.TokenPrincipal(ctx, strings.TrimSpace(secret))
	}
	if v := c.Cookies(SessionCookie); v != "" {
		p, err := e.deps.Auth.SessionPrincipal(ctx, v)
		if errors.Is(err, fault.ErrUnauthenticated) {
			e.ClearSessionCookie(c)
		}
		return p, err
	}
	return auth.Principal{}, nil
}

// authorize admits the caller to the route, then its body (admitBody),
// and only then checks the CSRF token, which may be read from the body.
func (e *Edge) authorize(c *fiber.Ctx, r Route, p auth.Principal, authErr error) error {
	if r.Access.IsPublic() {
		if authErr != nil && database.IsUnavailable(authErr) {
			return authErr
		}
		return e.admitBody(c, r, p)
	}
	if authErr != nil {
		if r.Page && errors.Is(authErr, fault.ErrUnauthenticated) {
			return errLoginRedirect
		}
		return authErr
	}
	if !p.Authenticated() {
		if r.Page {
			return errLoginRedirect
		}
		return fault.With(fault.ErrUnauthenticated, "sign in or send a bearer token", "请登录或提供访问令牌", nil)
	}
	if !r.Access.Allows(p) {
		return fault.With(fault.ErrForbidden, "your role may not use this route", "您的角色无权访问此功能", nil)
	}
	if err := e.admitBody(c, r, p); err != nil {
		return err
	}
	if p.SessionID != "" && unsafeMethod(c.Method()) && !validCSRF(c, p.CSRFToken) {
		return fault.With(fault.ErrForbidden, "missing or invalid CSRF token", "缺少或无效的 CSRF 令牌", map[string]any{"code": "csrf"})
	}
	return nil
}

// validCSRF compares the token of the X-CSRF-Token header or the _csrf
// field of the form body with the session's, in constant time.
func validCSRF(c *fiber.Ctx, want string) bool {
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = FormValue(c, "_csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// FormValue returns a field of the form body, URL-encoded or multipart, and
// never one of the URL query, as Fiber's FormValue would: a token or a
// password in a URL is kept in logs, history and Referer headers, and a
// link could carry a CSRF token to a forged request.
func FormValue(c *fiber.Ctx, name string) string {
	if v := c.Request().PostArgs().Peek(name); len(v) > 0 {
		return string(v)
	}
	if form, err := c.MultipartForm(); err == nil && len(form.Value[name]) > 0 {
		return form.Value[name][0]
	}
	return ""
}

func unsafeMethod(m string) bool {
	return m != fiber.MethodGet && m != fiber.MethodHead && m != fiber.MethodOptions
}

// record writes the audit entry of a write or a login attempt, for the
// Principal as the handler left it (a sign-in sets it). A failure to audit
// is logged; it does not undo what the request did.
func (e *Edge) record(c *fiber.Ctx, r Route, err error) {
	p := Principal(c)
	status := StatusOf(err)
	if err == nil {
		status = c.Response().StatusCode()
	}
	object, _ := c.Locals(objectKey).(string)
	if object == "" {
		object = r.Object
		for _, name := range c.Route().Params {
			object += ":" + c.Params(name)
		}
	}
	detail, _ := c.Locals(detailKey).(string)
	if err != nil && detail == "" {
		detail = ProblemFor(err).Title
	}
	entry := audit.Entry{
		UserID: p.UserID, Username: p.Username, Role: string(p.Role),
		Action: r.Name, Object: object, Result: audit.ResultOf(status), Status: status,
		ClientIP: e.ClientIP(c), RequestID: RequestID(c), Detail: detail,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if aerr := e.deps.Audit.Record(ctx, entry); aerr != nil {
		e.log.Error("audit write failed", "request_id", entry.RequestID, "action", entry.Action, "err", aerr)
	}
}
