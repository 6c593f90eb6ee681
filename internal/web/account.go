package web

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

// UserView is a user as shown through the API: never its password hash.
type UserView struct {
	ID             string     `json:"id"`
	Username       string     `json:"username"`
	DisplayName    string     `json:"display_name"`
	Role           auth.Role  `json:"role"`
	RegionCode     *string    `json:"region_code"`
	OrganisationID *string    `json:"organisation_id"`
	Disabled       bool       `json:"disabled"`
	LastLoginAt    *time.Time `json:"last_login_at"`
	CreatedAt      time.Time  `json:"created_at"`
	// ThrottledUntil is, in the security administrator's views, until when
	// sign-in attempts for the name are slowed from some network.
	ThrottledUntil *time.Time `json:"throttled_until,omitempty"`
}

// ViewUser is u as the API shows it.
func ViewUser(u auth.User) UserView {
	return UserView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, RegionCode: u.RegionCode,
		OrganisationID: u.OrganisationID, Disabled: u.Disabled, LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt}
}

// ManagedUser is viewUser with the user's throttle, for the security
// administrator.
func (e *Edge) ManagedUser(u auth.User) UserView {
	v := ViewUser(u)
	if until := e.deps.Auth.ThrottledUntil(u.Username); !until.IsZero() {
		v.ThrottledUntil = &until
	}
	return v
}

// SignIn checks a username and password and opens a browser session. Every
// attempt is audited under the username tried.
func (e *Edge) SignIn(c *fiber.Ctx, username, password string) (auth.User, auth.Principal, error) {
	username = strings.TrimSpace(username)
	SetAuditObject(c, "user:"+username)
	// Limited by the client's network, as the throttle counts: a caller
	// with an IPv6 /64 has more addresses than any table could hold.
	if ok, first := e.loginLimit.Allow(auth.ClientNetwork(e.ClientIP(c))); !ok {
		if !first {
			c.Locals(skipAuditKey, true)
		}
		SetAuditDetail(c, "rate limited")
		return auth.User{}, auth.Principal{}, fiber.NewError(fiber.StatusTooManyRequests, "Too many sign-in attempts; try again in a minute")
	}
	ctx := c.UserContext()
	u, err := e.deps.Auth.Authenticate(ctx, username, password, e.ClientIP(c))
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrThrottled):
			SetAuditDetail(c, "throttled")
		case errors.Is(err, auth.ErrInvalidCredentials):
			SetAuditDetail(c, "invalid credentials")
		}
		return u, auth.Principal{}, err
	}
	secret, sess, err := e.deps.Auth.NewSession(ctx, u.ID, e.ClientIP(c), c.Get(fiber.HeaderUserAgent))
	if err != nil {
		return u, auth.Principal{}, err
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: secret, Path: "/", HTTPOnly: true, Secure: e.opts.SecureCookies,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: sess.ExpiresAt})
	p, err := e.deps.Auth.SessionPrincipal(ctx, secret)
	if err != nil {
		return u, p, err
	}
	c.Locals(principalKey, p)
	return u, p, nil
}

// ClearSessionCookie makes the browser forget its session cookie.
func (e *Edge) ClearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", HTTPOnly: true, Secure: e.opts.SecureCookies,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(0, 0), MaxAge: -1})
}

// RevokedDetail is the audit note of a password change: which tokens it
// revoked, or that the caller kept them.
func RevokedDetail(revoked []string, kept bool) string {
	switch {
	case kept:
		return "API tokens kept"
	case len(revoked) == 0:
		return "no API tokens to revoke"
	}
	return fmt.Sprintf("revoked %d API token(s): %s", len(revoked), strings.Join(revoked, ", "))
}

// UserCreated is a user with the password just set for it, shown once.
type UserCreated struct {
	User     UserView `json:"user"`
	Password string   `json:"password"`
}

// CreateAccount creates a user for the API's users.create and the users
// page alike: an account of an administrative role is refused (OnlyOnHost),
// every other problem comes back by field from the store, and the audit
// entry names the new user. The answer carries the generated password, to
// be shown once; a password the caller chose is not echoed back.
func (e *Edge) CreateAccount(c *fiber.Ctx, nu auth.NewUser) (UserCreated, error) {
	if err := OnlyOnHost(nu.Role); err != nil {
		return UserCreated{}, err
	}
	u, pw, err := e.deps.Auth.CreateUser(c.UserContext(), nu)
	if err != nil {
		return UserCreated{}, err
	}
	SetAuditObject(c, "user:"+u.ID)
	if nu.Password != "" {
		pw = ""
	}
	return UserCreated{User: ViewUser(u), Password: pw}, nil
}

// ResetPasswordOf resets the password of the user in the path, notes the
// revoked tokens in the audit entry and returns the new password.
func (e *Edge) ResetPasswordOf(c *fiber.Ctx) (UserCreated, error) {
	ctx := c.UserContext()
	u, err := e.deps.Auth.User(ctx, Param(c, "id"))
	if err != nil {
		return UserCreated{}, err
	}
	if err := OnlyOnHost(u.Role); err != nil {
		return UserCreated{}, err
	}
	pw, revoked, err := e.deps.Auth.ResetPassword(ctx, u.Username)
	if err != nil {
		return UserCreated{}, err
	}
	SetAuditDetail(c, RevokedDetail(revoked, false))
	return UserCreated{User: e.ManagedUser(u), Password: pw}, nil
}

// EditAccount changes the display name, region or organisation of user id
// for the API's users.update and the user's edit page alike. An account of
// an administrative role is refused, as its creation and reset are
// (NotEditable); every other problem comes back by field from the store.
// The audit entry notes a change of scope and the tokens it revoked.
func (e *Edge) EditAccount(c *fiber.Ctx, id string, ch auth.UserChange) (auth.User, error) {
	ctx := c.UserContext()
	u, err := e.deps.Auth.User(ctx, id)
	if err != nil {
		return u, err
	}
	if err := NotEditable(u.Role); err != nil {
		return u, err
	}
	done, err := e.deps.Auth.UpdateUser(ctx, id, ch)
	if err != nil {
		return u, err
	}
	if done.Rebound {
		SetAuditDetail(c, "region or organisation changed; sessions ended; "+RevokedDetail(done.Revoked, false))
	}
	return done.User, nil
}

// NotEditable refuses to edit an account of an administrative role: like
// their creation and reset (OnlyOnHost), it is done on the server, so that
// the security administrator cannot rename or rebind those who watch them.
func NotEditable(r auth.Role) error {
	if !r.Administrative() {
		return nil
	}
	return fault.With(fault.ErrForbidden,
		"accounts of the assessment manager, security administrator and auditor are not edited here: they stay as made on the server; make a new one there (ipeval user add) and disable the old one",
		"考核管理员、安全管理员、审计管理员账户不能在此修改：如需变更，请在服务器上用 ipeval user add 新建账户并停用原账户", nil)
}

// ClearThrottleOf clears the throttle of the user in the path, noting in
// the audit entry until when it would have lasted.
func (e *Edge) ClearThrottleOf(c *fiber.Ctx) (auth.User, error) {
	u, err := e.deps.Auth.User(c.UserContext(), Param(c, "id"))
	if err != nil {
		return u, err
	}
	if until := e.deps.Auth.ClearThrottle(u.Username); !until.IsZero() {
		SetAuditDetail(c, "throttled until "+until.Format(time.RFC3339))
	}
	return u, nil
}

// SetDisabledOf enables or disables user id for the API and the users page
// alike; nobody disables their own account, which could leave no one to
// undo it.
func (e *Edge) SetDisabledOf(c *fiber.Ctx, p auth.Principal, id string, disabled bool) error {
	if disabled && id == p.UserID {
		return fault.Invalid(fault.Field("disabled", "self_disable", "不能停用自己的账户", "you cannot disable your own account"))
	}
	return e.deps.Auth.SetDisabled(c.UserContext(), id, disabled)
}

// OnlyOnHost refuses, through the API and the pages, to create an account
// of an administrative role or to reset its password: whoever did would
// learn its password and hold two of the roles kept apart. Those accounts
// are made and reset with the ipeval command on the server (user add,
// user passwd), by whoever runs the host.
func OnlyOnHost(r auth.Role) error {
	if !r.Administrative() {
		return nil
	}
	return fault.With(fault.ErrForbidden,
		"accounts of the assessment manager, security administrator and auditor are created and reset only with the ipeval command on the server (ipeval user add, ipeval user passwd)",
		"考核管理员、安全管理员、审计管理员账户只能在服务器上用 ipeval 命令创建或重置密码（ipeval user add、ipeval user passwd）", nil)
}

// AuditFilter reads the audit filter through get (the query string's or a
// form body's values), reporting every malformed parameter.
func AuditFilter(get func(key string) string) (audit.Filter, error) {
	f := audit.Filter{Username: get("username"), Action: get("action"), Object: get("object"), Result: get("result")}
	var errs []fault.FieldError
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				errs = append(errs, fault.Field(name, "invalid_time", "时间须为 RFC 3339 格式", "time must be RFC 3339"))
			}
			*dst = t
		}
	}
	if v := get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fault.Field("before", "invalid_cursor", "游标须为正整数", "cursor must be a positive integer"))
		}
		f.Before = n
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxPage {
			errs = append(errs, fault.Field("limit", "out_of_range", "limit 须为1–500", "limit must be 1-500"))
		}
		f.Limit = n
	}
	return f, fault.Invalid(errs...)
}
