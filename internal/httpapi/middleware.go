package httpapi

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

// requestContext gives every request an id (kept from X-Request-ID when it is
// well formed), a bounded context, a log line and metrics.
func (s *Server) requestContext(c *fiber.Ctx) error {
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
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	settleBody(c)
	status := c.Response().StatusCode()
	r, _ := c.Locals(routeKey).(*route)
	route := unmatchedRoute
	if r != nil {
		route = r.Path
	}
	privateAnswer(c, r)
	elapsed := time.Since(start)
	s.metrics.observe(c.Method(), route, status, elapsed)
	level := slog.LevelInfo
	if route == "/healthz" || route == "/readyz" || strings.HasPrefix(route, "/static") {
		level = slog.LevelDebug
	}
	p := principal(c)
	s.log.LogAttrs(ctx, level, "http request",
		slog.String("request_id", id), slog.String("method", c.Method()), slog.String("route", route),
		slog.Int("status", status), slog.Duration("duration", elapsed), slog.String("user_id", p.UserID))
	return nil
}

// privateAnswer makes every answer no-store — pages, API answers, errors,
// sign-ins that set a cookie, new passwords and tokens — unless a public
// route's handler declared it cacheable (the static assets): a shared
// proxy or the browser's cache must never keep what one user was shown.
// Deciding it here, once, keeps a new handler from forgetting.
func privateAnswer(c *fiber.Ctx, r *route) {
	if r != nil && r.Access.isPublic() && bytes.HasPrefix(c.Response().Header.Peek(fiber.HeaderCacheControl), []byte("public")) {
		return
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey).(string)
	return id
}

func principal(c *fiber.Ctx) auth.Principal {
	p, _ := c.Locals(principalKey).(auth.Principal)
	return p
}

func isPage(c *fiber.Ctx) bool {
	page, _ := c.Locals(pageKey).(bool)
	return page
}

// param returns a path parameter; the server's Immutable setting makes it
// a copy that may outlive the request.
func param(c *fiber.Ctx, name string) string { return c.Params(name) }

// query returns a query parameter, a copy as param's.
func query(c *fiber.Ctx, name string) string { return c.Query(name) }

// clientIP is the caller's address. From a trusted proxy it is the
// right-most address of X-Forwarded-For that is not a trusted proxy: each
// proxy appends the address it was reached from, so whatever stands left
// of that may have been written by the caller itself, and believing it
// would let a caller pick the address it is throttled and audited under.
func (s *Server) clientIP(c *fiber.Ctx) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !s.trustedProxy(peer) {
		return peer.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		peer = a.Unmap()
		if !s.trustedProxy(peer) {
			break
		}
	}
	return peer.String()
}

// trustedProxy reports whether a is one of the trusted proxies.
func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.proxies {
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

// setAuditObject names the object a write touched when the route alone
// cannot (for example the id of something just created).
func setAuditObject(c *fiber.Ctx, object string) { c.Locals(objectKey, object) }

// setAuditDetail adds a short, caller-safe note to the audit entry.
func setAuditDetail(c *fiber.Ctx, detail string) { c.Locals(detailKey, detail) }

// handle wraps a route handler with authentication, authorisation, CSRF
// protection and auditing. Nothing reaches a handler that the route's
// access rule does not allow.
func (s *Server) handle(r route) fiber.Handler {
	rp := &r
	return func(c *fiber.Ctx) error {
		c.Locals(routeKey, rp)
		if r.Page {
			c.Locals(pageKey, true)
		}
		p, authErr := s.authenticate(c)
		c.Locals(principalKey, p)
		err := s.authorize(c, r, p, authErr)
		if errors.Is(err, errLoginRedirect) {
			return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		if err == nil {
			err = s.call(c, r, p)
		}
		// An anonymous caller refused at the door has done nothing to audit;
		// recording it would let anyone fill the append-only log.
		skip, _ := c.Locals(skipAuditKey).(bool)
		if r.audited() && !skip && (principal(c).Authenticated() || r.Access.isPublic()) {
			s.record(c, r, err)
		}
		return err
	}
}

// call runs the handler, turning a panic into an error so that the request
// is still answered as a problem, logged and audited like any failure.
func (s *Server) call(c *fiber.Ctx, r route, p auth.Principal) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("handler panic", "request_id", requestID(c), "route", r.Name, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler %s panicked", r.Name)
		}
	}()
	return r.Handler(c, p)
}

var errLoginRedirect = errors.New("login required")

const sessionCookie = "ipeval_session"

// authenticate finds the caller from a bearer token or a session cookie. No
// credential at all is an anonymous principal, not an error.
func (s *Server) authenticate(c *fiber.Ctx) (auth.Principal, error) {
	ctx := c.UserContext()
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return auth.Principal{}, fault.With(fault.ErrUnauthenticated, "use the header Authorization: Bearer <token>", "请使用 Authorization: Bearer <令牌>", nil)
		}
		return s.deps.Auth.TokenPrincipal(ctx, strings.TrimSpace(secret))
	}
	if v := c.Cookies(sessionCookie); v != "" {
		p, err := s.deps.Auth.SessionPrincipal(ctx, v)
		if errors.Is(err, fault.ErrUnauthenticated) {
			s.clearSessionCookie(c)
		}
		return p, err
	}
	return auth.Principal{}, nil
}

// authorize admits the caller to the route, then its body (admitBody),
// and only then checks the CSRF token, which may be read from the body.
func (s *Server) authorize(c *fiber.Ctx, r route, p auth.Principal, authErr error) error {
	if r.Access.isPublic() {
		if authErr != nil && database.IsUnavailable(authErr) {
			return authErr
		}
		return s.admitBody(c, r, p)
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
	if !r.Access.allows(p) {
		return fault.With(fault.ErrForbidden, "your role may not use this route", "您的角色无权访问此功能", nil)
	}
	if err := s.admitBody(c, r, p); err != nil {
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
		got = formValue(c, "_csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// formValue returns a field of the form body, URL-encoded or multipart, and
// never one of the URL query, as Fiber's FormValue would: a token or a
// password in a URL is kept in logs, history and Referer headers, and a
// link could carry a CSRF token to a forged request.
func formValue(c *fiber.Ctx, name string) string {
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
// principal as the handler left it (a sign-in sets it). A failure to audit
// is logged; it does not undo what the request did.
func (s *Server) record(c *fiber.Ctx, r route, err error) {
	p := principal(c)
	status := statusOf(err)
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
		detail = problemFor(err).Title
	}
	e := audit.Entry{
		UserID: p.UserID, Username: p.Username, Role: string(p.Role),
		Action: r.Name, Object: object, Result: audit.ResultOf(status), Status: status,
		ClientIP: s.clientIP(c), RequestID: requestID(c), Detail: detail,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if aerr := s.deps.Audit.Record(ctx, e); aerr != nil {
		s.log.Error("audit write failed", "request_id", e.RequestID, "action", e.Action, "err", aerr)
	}
}
