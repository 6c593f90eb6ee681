// Package auth owns identities and credentials: users, organisations,
// argon2id passwords, API tokens, browser sessions, sign-in throttling, and the
// Principal carried into every request.
//
// It knows nothing about HTTP: the edges turn a cookie or an Authorization
// header into a secret, ask the Store for a Principal, and decide with the
// Principal's methods what the caller may see. Deny by default: the zero
// Principal is anonymous and may access nothing.
package auth

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipeval/ipeval/internal/fault"
)

// Role is what a user is allowed to do, as described in DESIGN.md section 2.
type Role string

// The roles. A user has exactly one, so that no account holds two of the
// administrative roles, which 等保2.0 level 3 keeps apart (系统、安全、审计
// 管理员三权分立).
const (
	// RoleAdmin is the provincial assessment manager: schemes, cycles,
	// regions, indicator data, surveys, runs and publication. It manages
	// neither users nor the audit log.
	RoleAdmin Role = "admin"
	// RoleSecAdmin is the security administrator: users, organisations,
	// password resets and login throttles; nothing about assessment data.
	RoleSecAdmin Role = "secadmin"
	// RoleAuditor is the audit administrator, who reads and exports the
	// audit log and nothing else.
	RoleAuditor Role = "auditor"
	// RoleContractor is a third-party survey contractor, bound to an
	// organisation and limited to the survey projects assigned to it.
	RoleContractor Role = "contractor"
	// RoleCity is a city or zone official, bound to one region.
	RoleCity Role = "city"
)

// Roles lists every role, in the order they are shown to people.
func Roles() []Role {
	return []Role{RoleAdmin, RoleSecAdmin, RoleAuditor, RoleContractor, RoleCity}
}

// roleNames is the list of role names for messages.
const roleNames = "admin、secadmin、auditor、contractor 或 city"

// ParseRole turns a role name (case-insensitive, surrounding spaces ignored)
// into a Role, so that the CLI and the API reject unknown roles the same way.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fault.Invalid(fault.Field("role", "invalid",
			fmt.Sprintf("未知角色 %q，应为 %s", s, roleNames),
			fmt.Sprintf("unknown role %q: want one of admin, secadmin, auditor, contractor, city", s)))
	}
	return r, nil
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// Administrative reports whether r is one of the three administrative
// roles that 等保2.0 keeps apart: assessment manager, security
// administrator and auditor.
func (r Role) Administrative() bool {
	return r == RoleAdmin || r == RoleSecAdmin || r == RoleAuditor
}

// Organisation kinds. Contractor users belong to a contractor organisation;
// authorities are recorded so that survey projects and reports can name the
// commissioning body.
const (
	OrgKindContractor = "contractor"
	OrgKindAuthority  = "authority"
)

// Organisation is a body users belong to, such as a survey contractor.
type Organisation struct {
	ID        string    `json:"id" gorm:"primaryKey;size:36"`
	Name      string    `json:"name" gorm:"size:191;not null"`
	Kind      string    `json:"kind" gorm:"size:32;not null"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TableName maps Organisation onto the table created by migration 0001.
func (Organisation) TableName() string { return "organisations" }

// User is a person who can sign in. City users carry a RegionCode and
// contractor users an OrganisationID; admins carry neither.
type User struct {
	ID             string  `json:"id" gorm:"primaryKey;size:36"`
	Username       string  `json:"username" gorm:"size:64;not null"`
	DisplayName    string  `json:"display_name" gorm:"size:128;not null"`
	Role           Role    `json:"role" gorm:"size:16;not null"`
	RegionCode     *string `json:"region_code" gorm:"size:32"`
	OrganisationID *string `json:"organisation_id" gorm:"size:36"`
	// PasswordHash is the PHC-encoded argon2id hash. It never leaves the
	// server, not even in an admin's user listing.
	PasswordHash      string     `json:"-" gorm:"size:255;not null"`
	PasswordChangedAt time.Time  `json:"password_changed_at"`
	LastLoginAt       *time.Time `json:"last_login_at"`
	Disabled          bool       `json:"disabled" gorm:"not null"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// TableName maps User onto the table created by migration 0001.
func (User) TableName() string { return "users" }

// Token is an API token for scripts and other machines. Only a hash of the
// secret is stored; the secret itself is shown once, when the token is issued.
type Token struct {
	ID     string `json:"id" gorm:"primaryKey;size:36"`
	UserID string `json:"user_id" gorm:"size:36;not null"`
	Name   string `json:"name" gorm:"size:100;not null"`
	// Prefix is the start of the secret, so that people can tell their
	// tokens apart without the server keeping the secret.
	Prefix     string     `json:"prefix" gorm:"size:16;not null"`
	Hash       string     `json:"-" gorm:"size:64;not null"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// TableName maps Token onto the table created by migration 0001.
func (Token) TableName() string { return "api_tokens" }

// Session is a signed-in browser. The cookie holds a random secret; the row
// is keyed by the secret's SHA-256, so a leaked database cannot be replayed
// as cookies.
type Session struct {
	// ID is the SHA-256 hex of the cookie secret. It is as good as the
	// secret for looking rows up, so it is never serialised.
	ID     string `json:"-" gorm:"primaryKey;size:64"`
	UserID string `json:"user_id" gorm:"size:36;not null"`
	// CSRFToken must accompany every state-changing request made with the
	// session cookie.
	CSRFToken  string    `json:"csrf_token" gorm:"column:csrf_token;size:64;not null"`
	ClientIP   string    `json:"client_ip" gorm:"size:64;not null"`
	UserAgent  string    `json:"user_agent" gorm:"size:255;not null"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// TableName maps Session onto the table created by migration 0001.
func (Session) TableName() string { return "sessions" }

// Principal is who is making a request and through which credential. It is
// built from the user row on every request, so a change of role, region or
// organisation, or disabling the user, takes effect at once.
type Principal struct {
	UserID         string `json:"user_id"`
	Username       string `json:"username"`
	Role           Role   `json:"role"`
	RegionCode     string `json:"region_code,omitempty"`
	OrganisationID string `json:"organisation_id,omitempty"`
	// TokenID is set when the request carries an API token.
	TokenID string `json:"token_id,omitempty"`
	// SessionID is set when the request carries a session cookie.
	SessionID string `json:"-"`
	// CSRFToken is the session's CSRF token, to compare with the one the
	// request sends; empty for token requests, which need no CSRF defence.
	CSRFToken string `json:"-"`
}

// Authenticated reports whether p names a user; the zero Principal is an
// anonymous caller.
func (p Principal) Authenticated() bool { return p.UserID != "" }

// Is reports whether p is authenticated and has one of roles.
func (p Principal) Is(roles ...Role) bool {
	return p.Authenticated() && slices.Contains(roles, p.Role)
}

// CanAccessRegion reports whether p may read or write data of region code:
// admins any region, city users only their own, contractors none (they never
// see indicator data).
func (p Principal) CanAccessRegion(code string) bool {
	switch {
	case !p.Authenticated() || code == "":
		return false
	case p.Role == RoleAdmin:
		return true
	case p.Role == RoleCity:
		return p.RegionCode != "" && p.RegionCode == code
	default:
		return false
	}
}

// CanAccessOrganisation reports whether p may act for organisation id:
// admins any, contractors only their own, city users none.
func (p Principal) CanAccessOrganisation(id string) bool {
	switch {
	case !p.Authenticated() || id == "":
		return false
	case p.Role == RoleAdmin:
		return true
	case p.Role == RoleContractor:
		return p.OrganisationID != "" && p.OrganisationID == id
	default:
		return false
	}
}

// Errors returned when a credential is refused. They carry a detail safe to
// show (in English and Chinese) and wrap the fault kind the HTTP layer maps
// to a status. The credential errors deliberately do not say which part was
// wrong, so that they do not reveal which usernames exist.
var (
	// ErrInvalidCredentials: unknown user, wrong password or disabled user.
	ErrInvalidCredentials = fault.With(fault.ErrUnauthenticated,
		"invalid username or password", "用户名或密码错误", nil)
	// ErrInvalidToken: unknown, malformed, revoked or expired API token, or
	// one whose user is disabled.
	ErrInvalidToken = fault.With(fault.ErrUnauthenticated,
		"invalid or expired API token", "API 令牌无效或已过期", nil)
	// ErrInvalidSession: unknown or expired session, or one whose user is
	// disabled.
	ErrInvalidSession = fault.With(fault.ErrUnauthenticated,
		"session expired, please sign in again", "会话已过期，请重新登录", nil)
)

// principal builds the Principal of u. It is the one place both the token
// and the session path go through, so that both refuse disabled users and
// read role, region and organisation the same way.
func principal(u User) (Principal, bool) {
	if u.Disabled || u.ID == "" || !u.Role.Valid() {
		return Principal{}, false
	}
	p := Principal{UserID: u.ID, Username: u.Username, Role: u.Role}
	if u.RegionCode != nil {
		p.RegionCode = *u.RegionCode
	}
	if u.OrganisationID != nil {
		p.OrganisationID = *u.OrganisationID
	}
	return p, true
}
