package httpapi

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	User      userView  `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// userView is a user as shown through the API: never its password hash.
type userView struct {
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

func viewUser(u auth.User) userView {
	return userView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, RegionCode: u.RegionCode,
		OrganisationID: u.OrganisationID, Disabled: u.Disabled, LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt}
}

// managedUser is viewUser with the user's throttle, for the security
// administrator.
func (s *Server) managedUser(u auth.User) userView {
	v := viewUser(u)
	if until := s.deps.Auth.ThrottledUntil(u.Username); !until.IsZero() {
		v.ThrottledUntil = &until
	}
	return v
}

// signIn checks a username and password and opens a browser session. Every
// attempt is audited under the username tried.
func (s *Server) signIn(c *fiber.Ctx, username, password string) (auth.User, auth.Principal, error) {
	username = strings.TrimSpace(username)
	setAuditObject(c, "user:"+username)
	// Limited by the client's network, as the throttle counts: a caller
	// with an IPv6 /64 has more addresses than any table could hold.
	if ok, first := s.loginLimit.Allow(auth.ClientNetwork(s.clientIP(c))); !ok {
		if !first {
			c.Locals(skipAuditKey, true)
		}
		setAuditDetail(c, "rate limited")
		return auth.User{}, auth.Principal{}, fiber.NewError(fiber.StatusTooManyRequests, "Too many sign-in attempts; try again in a minute")
	}
	ctx := c.UserContext()
	u, err := s.deps.Auth.Authenticate(ctx, username, password, s.clientIP(c))
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrThrottled):
			setAuditDetail(c, "throttled")
		case errors.Is(err, auth.ErrInvalidCredentials):
			setAuditDetail(c, "invalid credentials")
		}
		return u, auth.Principal{}, err
	}
	secret, sess, err := s.deps.Auth.NewSession(ctx, u.ID, s.clientIP(c), c.Get(fiber.HeaderUserAgent))
	if err != nil {
		return u, auth.Principal{}, err
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: secret, Path: "/", HTTPOnly: true, Secure: s.opts.SecureCookies,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: sess.ExpiresAt})
	p, err := s.deps.Auth.SessionPrincipal(ctx, secret)
	if err != nil {
		return u, p, err
	}
	c.Locals(principalKey, p)
	return u, p, nil
}

func (s *Server) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true, Secure: s.opts.SecureCookies,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(0, 0), MaxAge: -1})
}

func (s *Server) login(c *fiber.Ctx, _ auth.Principal) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u, p, err := s.signIn(c, req.Username, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(loginResponse{User: viewUser(u), CSRFToken: p.CSRFToken, ExpiresAt: time.Now().UTC().Add(auth.SessionIdleTimeout)})
}

func (s *Server) logout(c *fiber.Ctx, p auth.Principal) error {
	if v := c.Cookies(sessionCookie); v != "" {
		if err := s.deps.Auth.EndSession(c.UserContext(), v); err != nil {
			return err
		}
	}
	s.clearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) me(c *fiber.Ctx, p auth.Principal) error {
	u, err := s.deps.Auth.User(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(viewUser(u))
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// KeepTokens keeps the caller's API tokens valid; by default a
	// password change revokes them.
	KeepTokens bool `json:"keep_tokens,omitempty"`
}

// changePassword checks the current password (throttled like a sign-in)
// and sets the new one, which signs the user out everywhere and revokes
// their API tokens unless the body asks to keep them.
func (s *Server) changePassword(c *fiber.Ctx, p auth.Principal) error {
	var req passwordChange
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	setAuditObject(c, "user:"+p.UserID)
	revoked, err := s.deps.Auth.ChangePassword(c.UserContext(), p.UserID, auth.PasswordChange{
		Current: req.CurrentPassword, New: req.NewPassword, Client: s.clientIP(c), KeepTokens: req.KeepTokens})
	if errors.Is(err, auth.ErrThrottled) {
		setAuditDetail(c, "throttled")
	}
	if err != nil {
		return err
	}
	setAuditDetail(c, revokedDetail(revoked, req.KeepTokens))
	s.clearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// revokedDetail is the audit note of a password change: which tokens it
// revoked, or that the caller kept them.
func revokedDetail(revoked []string, kept bool) string {
	switch {
	case kept:
		return "API tokens kept"
	case len(revoked) == 0:
		return "no API tokens to revoke"
	}
	return fmt.Sprintf("revoked %d API token(s): %s", len(revoked), strings.Join(revoked, ", "))
}

type tokenRequest struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days,omitempty"`
}

type tokenIssued struct {
	Token string     `json:"token"`
	Info  auth.Token `json:"info"`
}

func (s *Server) listTokens(c *fiber.Ctx, p auth.Principal) error {
	ts, err := s.deps.Auth.ListTokens(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(listOf(ts))
}

func (s *Server) createToken(c *fiber.Ctx, p auth.Principal) error {
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ttl := time.Duration(req.ExpiresInDays) * 24 * time.Hour
	secret, t, err := s.deps.Auth.IssueToken(c.UserContext(), p.UserID, strings.TrimSpace(req.Name), ttl)
	if err != nil {
		return err
	}
	setAuditObject(c, "token:"+t.ID)
	return c.Status(fiber.StatusCreated).JSON(tokenIssued{Token: secret, Info: t})
}

// revokeToken revokes one of the caller's tokens; the security
// administrator may revoke any. Another user's token is reported as not
// found, not as forbidden.
func (s *Server) revokeToken(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	t, err := s.deps.Auth.Token(ctx, param(c, "id"))
	if err != nil {
		return err
	}
	if t.UserID != p.UserID && !p.Is(auth.RoleSecAdmin) {
		return fault.ErrNotFound
	}
	if err := s.deps.Auth.RevokeToken(ctx, t.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type newUserRequest struct {
	Username       string    `json:"username"`
	DisplayName    string    `json:"display_name"`
	Role           auth.Role `json:"role"`
	RegionCode     string    `json:"region_code,omitempty"`
	OrganisationID string    `json:"organisation_id,omitempty"`
	// Password is optional; when empty a strong one is generated and returned once.
	Password string `json:"password,omitempty"`
}

type userCreated struct {
	User     userView `json:"user"`
	Password string   `json:"password"`
}

type userPatch struct {
	Disabled *bool `json:"disabled"`
}

func (s *Server) listUsers(c *fiber.Ctx, _ auth.Principal) error {
	us, err := s.deps.Auth.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]userView, len(us))
	for i, u := range us {
		out[i] = s.managedUser(u)
	}
	return c.JSON(listOf(out))
}

func (s *Server) createUser(c *fiber.Ctx, _ auth.Principal) error {
	var req newUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := onlyOnHost(req.Role); err != nil {
		return err
	}
	u, pw, err := s.deps.Auth.CreateUser(c.UserContext(), auth.NewUser{Username: req.Username, DisplayName: req.DisplayName,
		Role: req.Role, RegionCode: req.RegionCode, OrganisationID: req.OrganisationID, Password: req.Password})
	if err != nil {
		return err
	}
	setAuditObject(c, "user:"+u.ID)
	if req.Password != "" {
		pw = ""
	}
	return c.Status(fiber.StatusCreated).JSON(userCreated{User: viewUser(u), Password: pw})
}

func (s *Server) getUser(c *fiber.Ctx, _ auth.Principal) error {
	u, err := s.deps.Auth.User(c.UserContext(), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(s.managedUser(u))
}

func (s *Server) updateUser(c *fiber.Ctx, p auth.Principal) error {
	var req userPatch
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	id := param(c, "id")
	ctx := c.UserContext()
	if req.Disabled != nil {
		if err := s.setDisabledOf(c, p, id, *req.Disabled); err != nil {
			return err
		}
	}
	u, err := s.deps.Auth.User(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(s.managedUser(u))
}

func (s *Server) resetPassword(c *fiber.Ctx, _ auth.Principal) error {
	out, err := s.resetPasswordOf(c)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// resetPasswordOf resets the password of the user in the path, notes the
// revoked tokens in the audit entry and returns the new password.
func (s *Server) resetPasswordOf(c *fiber.Ctx) (userCreated, error) {
	ctx := c.UserContext()
	u, err := s.deps.Auth.User(ctx, param(c, "id"))
	if err != nil {
		return userCreated{}, err
	}
	if err := onlyOnHost(u.Role); err != nil {
		return userCreated{}, err
	}
	pw, revoked, err := s.deps.Auth.ResetPassword(ctx, u.Username)
	if err != nil {
		return userCreated{}, err
	}
	setAuditDetail(c, revokedDetail(revoked, false))
	return userCreated{User: s.managedUser(u), Password: pw}, nil
}

// clearThrottle lets the user sign in again at once from anywhere: the
// security administrator's unlocking.
func (s *Server) clearThrottle(c *fiber.Ctx, _ auth.Principal) error {
	u, err := s.clearThrottleOf(c)
	if err != nil {
		return err
	}
	return c.JSON(s.managedUser(u))
}

// clearThrottleOf clears the throttle of the user in the path, noting in
// the audit entry until when it would have lasted.
func (s *Server) clearThrottleOf(c *fiber.Ctx) (auth.User, error) {
	u, err := s.deps.Auth.User(c.UserContext(), param(c, "id"))
	if err != nil {
		return u, err
	}
	if until := s.deps.Auth.ClearThrottle(u.Username); !until.IsZero() {
		setAuditDetail(c, "throttled until "+until.Format(time.RFC3339))
	}
	return u, nil
}

type organisationRequest struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

func (s *Server) listOrganisations(c *fiber.Ctx, _ auth.Principal) error {
	os, err := s.deps.Auth.ListOrganisations(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(listOf(os))
}

func (s *Server) createOrganisation(c *fiber.Ctx, _ auth.Principal) error {
	var req organisationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	o, err := s.deps.Auth.CreateOrganisation(c.UserContext(), req.Name, req.Kind)
	if err != nil {
		return err
	}
	setAuditObject(c, "organisation:"+o.ID)
	return c.Status(fiber.StatusCreated).JSON(o)
}

// getOrganisation shows an organisation to the managers, or to a
// contractor its own; any other id is not found for a contractor.
func (s *Server) getOrganisation(c *fiber.Ctx, p auth.Principal) error {
	id := param(c, "id")
	if !p.Is(auth.RoleSecAdmin) && !p.CanAccessOrganisation(id) {
		return fault.ErrNotFound
	}
	o, err := s.deps.Auth.Organisation(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// setDisabledOf enables or disables user id for the API and the users page
// alike; nobody disables their own account, which could leave no one to
// undo it.
func (s *Server) setDisabledOf(c *fiber.Ctx, p auth.Principal, id string, disabled bool) error {
	if disabled && id == p.UserID {
		return fault.Invalid(fault.Field("disabled", "self_disable", "不能停用自己的账户", "you cannot disable your own account"))
	}
	return s.deps.Auth.SetDisabled(c.UserContext(), id, disabled)
}

// onlyOnHost refuses, through the API and the pages, to create an account
// of an administrative role or to reset its password: whoever did would
// learn its password and hold two of the roles kept apart. Those accounts
// are made and reset with the ipeval command on the server (user add,
// user passwd), by whoever runs the host.
func onlyOnHost(r auth.Role) error {
	if !r.Administrative() {
		return nil
	}
	return fault.With(fault.ErrForbidden,
		"accounts of the assessment manager, security administrator and auditor are created and reset only with the ipeval command on the server (ipeval user add, ipeval user passwd)",
		"考核管理员、安全管理员、审计管理员账户只能在服务器上用 ipeval 命令创建或重置密码（ipeval user add、ipeval user passwd）", nil)
}
