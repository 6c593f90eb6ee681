package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipeval/ipeval/internal/textenc"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// NewSession signs the user in from a browser. It returns the secret for the
// cookie, which is not stored, and the session's record, whose CSRFToken
// the page must send back with every state-changing request. The caller is
// expected to have authenticated the user.
func (s *Store) NewSession(ctx context.Context, userID, clientIP, userAgent string) (string, Session, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return "", Session{}, fmt.Errorf("new session: %w", err)
	}
	if _, ok := principal(u); !ok {
		return "", Session{}, fmt.Errorf("new session: user %s is disabled: %w", u.Username, ErrInvalidCredentials)
	}
	now := s.clock()
	secret := newSecret()
	sess := Session{
		ID: secretHash(secret), UserID: userID, CSRFToken: newSecret(),
		ClientIP: textenc.Clip(clientIP, maxClientIP), UserAgent: textenc.Clip(userAgent, maxUserAgent),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionMaxAge),
	}
	if err := s.conn(ctx).Create(&sess).Error; err != nil {
		return "", Session{}, fmt.Errorf("new session: %w", dbErr(err))
	}
	return secret, sess, nil
}

// SessionPrincipal returns the Principal of the session cookie secret, or
// ErrInvalidSession when the session is unknown, idle for longer than
// SessionIdleTimeout, older than SessionMaxAge, or its user disabled. An
// expired session is deleted on the spot.
func (s *Store) SessionPrincipal(ctx context.Context, secret string) (Principal, error) {
	if !validSecret(secret) {
		return Principal{}, ErrInvalidSession
	}
	now := s.clock()
	var row struct {
		Session
		Expired bool
	}
	err := s.conn(ctx).Model(&Session{}).Select("*, ? AS expired", sessionExpired(now)).
		Where("id = ?", secretHash(secret)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrInvalidSession
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up session: %w", err)
	}
	sess := row.Session
	if row.Expired {
		if err := s.conn(ctx).Where("id = ?", sess.ID).Delete(&Session{}).Error; err != nil {
			return Principal{}, fmt.Errorf("delete expired session: %w", err)
		}
		return Principal{}, ErrInvalidSession
	}
	p, err := s.userPrincipal(ctx, sess.UserID, ErrInvalidSession)
	if err != nil {
		return Principal{}, err
	}
	if now.Sub(sess.LastSeenAt) > touchInterval {
		err := s.conn(ctx).Model(&Session{}).Where("id = ?", sess.ID).Update("last_seen_at", now).Error
		if err != nil {
			return Principal{}, fmt.Errorf("touch session: %w", err)
		}
	}
	p.SessionID, p.CSRFToken = sess.ID, sess.CSRFToken
	return p, nil
}

// sessionExpired is the rule for when a session has ended, as an SQL
// condition on a sessions row: idle for longer than SessionIdleTimeout or
// past its ExpiresAt. It is stated once, in SQL, because both users need it
// there: SessionPrincipal reads it as a column beside the row and
// PurgeExpiredSessions deletes by it, so they cannot disagree about a
// session on the boundary.
func sessionExpired(now time.Time) clause.Expr {
	return gorm.Expr("(last_seen_at < ? OR expires_at < ?)", now.Add(-SessionIdleTimeout), now)
}

// EndSession signs the browser out. Ending an unknown or already ended
// session is not an error: signing out twice is harmless.
func (s *Store) EndSession(ctx context.Context, secret string) error {
	if err := s.conn(ctx).Where("id = ?", secretHash(secret)).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndUserSessions signs the user out of every browser.
func (s *Store) EndUserSessions(ctx context.Context, userID string) error {
	if err := s.conn(ctx).Where("user_id = ?", userID).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("end sessions of user %s: %w", userID, err)
	}
	return nil
}

// PurgeExpiredSessions deletes every expired session and returns how many.
// SessionPrincipal deletes the expired sessions it meets; this sweeps those
// of browsers that never came back.
func (s *Store) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	now := s.clock()
	res := s.conn(ctx).Where(sessionExpired(now)).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge expired sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
