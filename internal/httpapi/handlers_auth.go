package httpapi

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	User      web.UserView `json:"user"`
	CSRFToken string       `json:"csrf_token"`
	ExpiresAt time.Time    `json:"expires_at"`
}

func (s *Server) login(c *fiber.Ctx, _ auth.Principal) error {
	var req loginRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	u, p, err := s.edge.SignIn(c, req.Username, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(loginResponse{User: web.ViewUser(u), CSRFToken: p.CSRFToken, ExpiresAt: time.Now().UTC().Add(auth.SessionIdleTimeout)})
}

func (s *Server) logout(c *fiber.Ctx, p auth.Principal) error {
	if v := c.Cookies(web.SessionCookie); v != "" {
		if err := s.deps.Auth.EndSession(c.UserContext(), v); err != nil {
			return err
		}
	}
	s.edge.ClearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) me(c *fiber.Ctx, p auth.Principal) error {
	u, err := s.deps.Auth.User(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(web.ViewUser(u))
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
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	web.SetAuditObject(c, "user:"+p.UserID)
	revoked, err := s.deps.Auth.ChangePassword(c.UserContext(), p.UserID, auth.PasswordChange{
		Current: req.CurrentPassword, New: req.NewPassword, Client: s.edge.ClientIP(c), KeepTokens: req.KeepTokens})
	if errors.Is(err, auth.ErrThrottled) {
		web.SetAuditDetail(c, "throttled")
	}
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, web.RevokedDetail(revoked, req.KeepTokens))
	s.edge.ClearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
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
	return c.JSON(web.ListOf(ts))
}

func (s *Server) createToken(c *fiber.Ctx, p auth.Principal) error {
	var req tokenRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	ttl := time.Duration(req.ExpiresInDays) * 24 * time.Hour
	secret, t, err := s.deps.Auth.IssueToken(c.UserContext(), p.UserID, strings.TrimSpace(req.Name), ttl)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "token:"+t.ID)
	return c.Status(fiber.StatusCreated).JSON(tokenIssued{Token: secret, Info: t})
}

// revokeToken revokes one of the caller's tokens; the security
// administrator may revoke any. Another user's token is reported as not
// found, not as forbidden.
func (s *Server) revokeToken(c *fiber.Ctx, p auth.Principal) error {
	ctx := c.UserContext()
	t, err := s.deps.Auth.Token(ctx, web.Param(c, "id"))
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

type userPatch struct {
	Disabled *bool `json:"disabled"`
}

func (s *Server) listUsers(c *fiber.Ctx, _ auth.Principal) error {
	us, err := s.deps.Auth.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]web.UserView, len(us))
	for i, u := range us {
		out[i] = s.edge.ManagedUser(u)
	}
	return c.JSON(web.ListOf(out))
}

func (s *Server) createUser(c *fiber.Ctx, _ auth.Principal) error {
	var req newUserRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	if err := web.OnlyOnHost(req.Role); err != nil {
		return err
	}
	u, pw, err := s.deps.Auth.CreateUser(c.UserContext(), auth.NewUser{Username: req.Username, DisplayName: req.DisplayName,
		Role: req.Role, RegionCode: req.RegionCode, OrganisationID: req.OrganisationID, Password: req.Password})
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "user:"+u.ID)
	if req.Password != "" {
		pw = ""
	}
	return c.Status(fiber.StatusCreated).JSON(web.UserCreated{User: web.ViewUser(u), Password: pw})
}

func (s *Server) getUser(c *fiber.Ctx, _ auth.Principal) error {
	u, err := s.deps.Auth.User(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(s.edge.ManagedUser(u))
}

func (s *Server) updateUser(c *fiber.Ctx, p auth.Principal) error {
	var req userPatch
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	id := web.Param(c, "id")
	ctx := c.UserContext()
	if req.Disabled != nil {
		if err := s.edge.SetDisabledOf(c, p, id, *req.Disabled); err != nil {
			return err
		}
	}
	u, err := s.deps.Auth.User(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(s.edge.ManagedUser(u))
}

func (s *Server) resetPassword(c *fiber.Ctx, _ auth.Principal) error {
	out, err := s.edge.ResetPasswordOf(c)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// clearThrottle lets the user sign in again at once from anywhere: the
// security administrator's unlocking.
func (s *Server) clearThrottle(c *fiber.Ctx, _ auth.Principal) error {
	u, err := s.edge.ClearThrottleOf(c)
	if err != nil {
		return err
	}
	return c.JSON(s.edge.ManagedUser(u))
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
	return c.JSON(web.ListOf(os))
}

func (s *Server) createOrganisation(c *fiber.Ctx, _ auth.Principal) error {
	var req organisationRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	o, err := s.deps.Auth.CreateOrganisation(c.UserContext(), req.Name, req.Kind)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "organisation:"+o.ID)
	return c.Status(fiber.StatusCreated).JSON(o)
}

// getOrganisation shows an organisation to the managers, or to a
// contractor its own; any other id is not found for a contractor.
func (s *Server) getOrganisation(c *fiber.Ctx, p auth.Principal) error {
	id := web.Param(c, "id")
	if !p.Is(auth.RoleSecAdmin) && !p.CanAccessOrganisation(id) {
		return fault.ErrNotFound
	}
	o, err := s.deps.Auth.Organisation(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(o)
}
