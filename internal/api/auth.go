package api

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
)

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse is the answer to a sign-in: the user and the session's
// CSRF token.
type LoginResponse struct {
	User      web.UserView `json:"user"`
	CSRFToken string       `json:"csrf_token"`
	ExpiresAt time.Time    `json:"expires_at"`
}

// Login answers auth.login (Sign in; sets the session cookie).
func (h *Handlers) Login(c *fiber.Ctx, _ auth.Principal) error {
	var req LoginRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	u, p, err := h.edge.SignIn(c, req.Username, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(LoginResponse{User: web.ViewUser(u), CSRFToken: p.CSRFToken, ExpiresAt: time.Now().UTC().Add(auth.SessionIdleTimeout)})
}

// Logout answers auth.logout (End the session).
func (h *Handlers) Logout(c *fiber.Ctx, p auth.Principal) error {
	if v := c.Cookies(web.SessionCookie); v != "" {
		if err := h.deps.Auth.EndSession(c.UserContext(), v); err != nil {
			return err
		}
	}
	h.edge.ClearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// Me answers me.get (The caller).
func (h *Handlers) Me(c *fiber.Ctx, p auth.Principal) error {
	u, err := h.deps.Auth.User(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(web.ViewUser(u))
}

// PasswordChange is the body of a change of one's own password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// KeepTokens keeps the caller's API tokens valid; by default a
	// password change revokes them.
	KeepTokens bool `json:"keep_tokens,omitempty"`
}

// ChangePassword checks the current password (throttled like a sign-in)
// and sets the new one, which signs the user out everywhere and revokes
// their API tokens unless the body asks to keep them.
func (h *Handlers) ChangePassword(c *fiber.Ctx, p auth.Principal) error {
	var req PasswordChange
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	web.SetAuditObject(c, "user:"+p.UserID)
	revoked, err := h.deps.Auth.ChangePassword(c.UserContext(), p.UserID, auth.PasswordChange{
		Current: req.CurrentPassword, New: req.NewPassword, Client: h.edge.ClientIP(c), KeepTokens: req.KeepTokens})
	if errors.Is(err, auth.ErrThrottled) {
		web.SetAuditDetail(c, "throttled")
	}
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, web.RevokedDetail(revoked, req.KeepTokens))
	h.edge.ClearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// TokenRequest is the body of a request for an API token.
type TokenRequest struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days,omitempty"`
}

// TokenIssued is a new API token with its secret, shown once.
type TokenIssued struct {
	Token string     `json:"token"`
	Info  auth.Token `json:"info"`
}

// ListTokens answers tokens.list (The caller's API tokens).
func (h *Handlers) ListTokens(c *fiber.Ctx, p auth.Principal) error {
	ts, err := h.deps.Auth.ListTokens(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(ts))
}

// CreateToken answers tokens.create (Issue an API token (shown once)).
func (h *Handlers) CreateToken(c *fiber.Ctx, p auth.Principal) error {
	var req TokenRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	ttl := time.Duration(req.ExpiresInDays) * 24 * time.Hour
	secret, t, err := h.deps.Auth.IssueToken(c.UserContext(), p.UserID, strings.TrimSpace(req.Name), ttl)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "token:"+t.ID)
	return c.Status(fiber.StatusCreated).JSON(TokenIssued{Token: secret, Info: t})
}

// RevokeToken revokes one of the caller's tokens; the security
// administrator may revoke any. Another user's token is reported as not
// found, not as forbidden.
func (h *Handlers) RevokeToken(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	t, err := h.deps.Auth.Token(ctx, web.Param(c, "id"))
	if err != nil {
		return err
	}
	if t.UserID != p.UserID && !p.Is(auth.RoleSecAdmin) {
		return fault.ErrNotFound
	}
	if err := h.deps.Auth.RevokeToken(ctx, t.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// NewUserRequest is the body of the creation of a user.
type NewUserRequest struct {
	Username       string    `json:"username"`
	DisplayName    string    `json:"display_name"`
	Role           auth.Role `json:"role"`
	RegionCode     string    `json:"region_code,omitempty"`
	OrganisationID string    `json:"organisation_id,omitempty"`
	// Password is optional; when empty a strong one is generated and returned once.
	Password string `json:"password,omitempty"`
}

// UserPatch is the body of a change to a user: an absent field stays. A
// change of region or organisation signs the user out and revokes their
// API tokens.
type UserPatch struct {
	Disabled    *bool   `json:"disabled,omitempty"`
	DisplayName *string `json:"display_name,omitempty"`
	// RegionCode is a city official's region: an assessed one.
	RegionCode *string `json:"region_code,omitempty"`
	// OrganisationID is a contractor's organisation: a contractor one.
	OrganisationID *string `json:"organisation_id,omitempty"`
}

// ListUsers answers users.list (List users).
func (h *Handlers) ListUsers(c *fiber.Ctx, _ auth.Principal) error {
	us, err := h.deps.Auth.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]web.UserView, len(us))
	for i, u := range us {
		out[i] = h.edge.ManagedUser(u)
	}
	return c.JSON(web.ListOf(out))
}

// CreateUser answers users.create (Create a user (password shown once)).
func (h *Handlers) CreateUser(c *fiber.Ctx, _ auth.Principal) error {
	var req NewUserRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	out, err := h.edge.CreateAccount(c, auth.NewUser{Username: req.Username, DisplayName: req.DisplayName,
		Role: req.Role, RegionCode: req.RegionCode, OrganisationID: req.OrganisationID, Password: req.Password})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// GetUser answers users.get (A user).
func (h *Handlers) GetUser(c *fiber.Ctx, _ auth.Principal) error {
	u, err := h.deps.Auth.User(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(h.edge.ManagedUser(u))
}

// UpdateUser answers users.update (Change a user's display name, region
// or organisation; enable or disable it). The profile is changed first, so
// that a refused one leaves the account as it was.
func (h *Handlers) UpdateUser(c *fiber.Ctx, p auth.Principal) error {
	var req UserPatch
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	id := web.Param(c, "id")
	ctx := c.UserContext()
	if req.DisplayName != nil || req.RegionCode != nil || req.OrganisationID != nil {
		ch := auth.UserChange{DisplayName: req.DisplayName, RegionCode: req.RegionCode, OrganisationID: req.OrganisationID}
		if _, err := h.edge.EditAccount(c, id, ch); err != nil {
			return err
		}
	}
	if req.Disabled != nil {
		if err := h.edge.SetDisabledOf(c, p, id, *req.Disabled); err != nil {
			return err
		}
	}
	u, err := h.deps.Auth.User(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(h.edge.ManagedUser(u))
}

// ResetPassword answers users.reset_password (Reset a password (shown
// once); revokes the user's API tokens).
func (h *Handlers) ResetPassword(c *fiber.Ctx, _ auth.Principal) error {
	out, err := h.edge.ResetPasswordOf(c)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// ClearThrottle lets the user sign in again at once from anywhere: the
// security administrator's unlocking.
func (h *Handlers) ClearThrottle(c *fiber.Ctx, _ auth.Principal) error {
	u, err := h.edge.ClearThrottleOf(c)
	if err != nil {
		return err
	}
	return c.JSON(h.edge.ManagedUser(u))
}

// OrganisationRequest is the body of the creation of an organisation.
type OrganisationRequest struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// ListOrganisations answers organisations.list (List organisations).
func (h *Handlers) ListOrganisations(c *fiber.Ctx, _ auth.Principal) error {
	os, err := h.deps.Auth.ListOrganisations(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(os))
}

// CreateOrganisation answers organisations.create (Create an organisation).
func (h *Handlers) CreateOrganisation(c *fiber.Ctx, _ auth.Principal) error {
	var req OrganisationRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	o, err := h.deps.Auth.CreateOrganisation(c.UserContext(), req.Name, req.Kind)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "organisation:"+o.ID)
	return c.Status(fiber.StatusCreated).JSON(o)
}

// GetOrganisation shows an organisation to the managers, or to a
// contractor its own; any other id is not found for a contractor.
func (h *Handlers) GetOrganisation(c *fiber.Ctx, p auth.Principal) error {
	id := web.Param(c, "id")
	if !p.Is(auth.RoleSecAdmin) && !p.CanAccessOrganisation(id) {
		return fault.ErrNotFound
	}
	o, err := h.deps.Auth.Organisation(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(o)
}
