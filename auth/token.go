package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
)

// TokenPrefix starts every API token secret, so that a leaked token is easy
// to recognise (in logs, by secret scanners) and to tell from a session.
const TokenPrefix = "ipv_"

const (
	secretBytes = 32
	// secretLen is the length of 32 bytes in unpadded base64url.
	secretLen = 43
	// displayPrefixLen characters of a token after TokenPrefix are kept
	// for display.
	displayPrefixLen = 8
)

// newSecret returns 32 random bytes as unpadded base64url.
func newSecret() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(secretBytes))
}

// validSecret reports whether s has the shape newSecret produces, so that
// garbage is refused without a database round trip.
func validSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == secretBytes
}

// secretHash is what the database keeps of a token or session secret. A
// plain SHA-256 is right here, unlike for passwords: the secrets carry 256
// random bits, so there is nothing to guess and no need for a slow,
// salted hash, and a deterministic hash lets the row be found by index.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// IssueToken creates an API token for the user, valid for ttl: 0 means
// DefaultTokenTTL, anything else must lie within MinTokenTTL and
// MaxTokenTTL. It returns the secret, which is shown once and never stored,
// and the token's record.
//
// The lifetime is checked here, not by the HTTP layer or the CLI, so that
// every way of issuing a token applies the same bounds. Its problem is
// reported on field "expires_in_days", the name callers ask in.
func (s *Store) IssueToken(ctx context.Context, userID, name string, ttl time.Duration) (string, Token, error) {
	name = strings.TrimSpace(name)
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	var errs []fault.FieldError
	if n := utf8.RuneCountInString(name); n == 0 || n > maxTokenName {
		errs = append(errs, fault.Field("name", "length",
			fmt.Sprintf("令牌名称须为 1–%d 个字符", maxTokenName),
			fmt.Sprintf("token name must be 1-%d characters", maxTokenName)))
	}
	errs = append(errs, textguard.Fields(textguard.Line, "name", name)...)
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		minDays, maxDays := int(MinTokenTTL/(24*time.Hour)), int(MaxTokenTTL/(24*time.Hour))
		errs = append(errs, fault.Field("expires_in_days", "out_of_range",
			fmt.Sprintf("有效期须为 %d–%d 天", minDays, maxDays),
			fmt.Sprintf("expiry must be %d-%d days", minDays, maxDays)))
	}
	if err := fault.Invalid(errs...); err != nil {
		return "", Token{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return "", Token{}, fmt.Errorf("issue token: %w", err)
	}
	if u.Disabled {
		return "", Token{}, fault.With(fault.ErrConflict,
			fmt.Sprintf("user %s is disabled", u.Username), fmt.Sprintf("用户 %s 已停用", u.Username), nil)
	}
	id, err := newID()
	if err != nil {
		return "", Token{}, err
	}
	now := s.clock()
	secret := TokenPrefix + newSecret()
	t := Token{
		ID: id, UserID: u.ID, Name: name,
		Prefix:    secret[len(TokenPrefix) : len(TokenPrefix)+displayPrefixLen],
		Hash:      secretHash(secret),
		ExpiresAt: now.Add(ttl), CreatedAt: now,
	}
	if err := s.conn(ctx).Create(&t).Error; err != nil {
		return "", Token{}, fmt.Errorf("issue token: %w", dbErr(err))
	}
	return secret, t, nil
}

// TokenPrincipal returns the Principal of the API token secret, or
// ErrInvalidToken when the secret is malformed or unknown, the token revoked
// or expired, or its user disabled.
func (s *Store) TokenPrincipal(ctx context.Context, secret string) (Principal, error) {
	raw, ok := strings.CutPrefix(secret, TokenPrefix)
	if !ok || !validSecret(raw) {
		return Principal{}, ErrInvalidToken
	}
	hash := secretHash(secret)
	now := s.clock()
	if c, ok := s.tokens.Get(hash); ok && now.Before(c.until) {
		return c.p, nil
	}
	// Looking the hash up by index leaks nothing useful through timing:
	// an attacker would need a preimage of SHA-256 to steer it.
	var t Token
	err := s.conn(ctx).Where("hash = ?", hash).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up token: %w", err)
	}
	if t.RevokedAt != nil {
		return Principal{}, fmt.Errorf("token %s revoked: %w", t.ID, ErrInvalidToken)
	}
	if !now.Before(t.ExpiresAt) {
		return Principal{}, fmt.Errorf("token %s expired: %w", t.ID, ErrInvalidToken)
	}
	p, err := s.userPrincipal(ctx, t.UserID, ErrInvalidToken)
	if err != nil {
		return Principal{}, err
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchInterval {
		err := s.conn(ctx).Model(&Token{}).Where("id = ?", t.ID).Update("last_used_at", now).Error
		if err != nil {
			return Principal{}, fmt.Errorf("touch token %s: %w", t.ID, err)
		}
	}
	p.TokenID = t.ID
	s.tokens.Add(hash, cachedToken{p: p, until: earliest(t.ExpiresAt, now.Add(TokenCacheTTL))})
	return p, nil
}

// TokenCacheTTL is how long a Store believes a token it has verified
// without asking the database again, so that an API client's requests
// cost no query for their credential. A revocation or a disabled user
// takes effect at once on the Store that made the change (it forgets
// every token), and within this time on other servers sharing the
// database.
const TokenCacheTTL = 2 * time.Second

// tokenCacheSize bounds the tokens a Store remembers: far more than the
// clients one province has.
const tokenCacheSize = 4096

// cachedToken is a verified token's principal and until when to believe it.
type cachedToken struct {
	p     Principal
	until time.Time
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// forgetTokens makes the next use of every token ask the database, after a
// change that may refuse some of them.
func (s *Store) forgetTokens() { s.tokens.Purge() }

// userPrincipal loads user id and builds its Principal; a missing or
// disabled user is refused with refusal.
func (s *Store) userPrincipal(ctx context.Context, id string, refusal error) (Principal, error) {
	var u User
	err := s.conn(ctx).Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, refusal
	}
	if err != nil {
		return Principal{}, fmt.Errorf("load user %s: %w", id, err)
	}
	p, ok := principal(u)
	if !ok {
		return Principal{}, fmt.Errorf("user %s is disabled: %w", u.Username, refusal)
	}
	return p, nil
}

// RevokeToken revokes a token. Revoking a revoked token is not an error, so
// that a retried request succeeds; the first revocation time is kept.
func (s *Store) RevokeToken(ctx context.Context, tokenID string) error {
	defer s.forgetTokens()
	res := s.conn(ctx).Model(&Token{}).Where("id = ? AND revoked_at IS NULL", tokenID).Update("revoked_at", s.clock())
	if res.Error != nil {
		return fmt.Errorf("revoke token %s: %w", tokenID, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.Token(ctx, tokenID); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
	}
	return nil
}

// RevokeUserTokens revokes every live token of the user and returns how many
// it revoked.
func (s *Store) RevokeUserTokens(ctx context.Context, userID string) (int64, error) {
	defer s.forgetTokens()
	res := s.conn(ctx).Model(&Token{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", s.clock())
	if res.Error != nil {
		return 0, fmt.Errorf("revoke tokens of user %s: %w", userID, res.Error)
	}
	return res.RowsAffected, nil
}

// ListTokens returns the user's tokens, newest first, revoked and expired
// ones included so that people can see what existed.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	var out []Token
	if err := s.conn(ctx).Where("user_id = ?", userID).Order("created_at DESC").Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list tokens of user %s: %w", userID, err)
	}
	return out, nil
}

// Token returns the token with id.
func (s *Store) Token(ctx context.Context, id string) (Token, error) {
	var t Token
	if err := s.conn(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return Token{}, fmt.Errorf("token %s: %w", id, dbErr(err))
	}
	return t, nil
}
