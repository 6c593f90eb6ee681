package auth

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Authenticate checks a username and password. Unknown users, wrong
// passwords and disabled users all get ErrInvalidCredentials, so that the
// answer does not reveal which usernames exist. A locked account gets
// ErrAccountLocked without its password being checked, so that guessing
// cannot continue during the lockout.
//
// Each wrong password counts towards MaxFailedLogins; the count is kept in
// the database and incremented there, so that parallel guesses against one
// account all count. Reaching the limit locks the account for
// LockoutDuration and starts the count again. A successful login clears both.
func (s *Store) Authenticate(ctx context.Context, username, password string) (User, error) {
	var u User
	err := s.conn(ctx).Where("username = ?", normaliseUsername(username)).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		equalizeTiming(password)
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.clock()
	if u.LockedUntil != nil && u.LockedUntil.After(now) {
		return User{}, fmt.Errorf("user %s until %s: %w", u.Username, u.LockedUntil.Format("15:04:05Z07:00"), ErrAccountLocked)
	}
	ok, err := VerifyPassword(u.PasswordHash, password)
	if err != nil {
		// A hash nobody can match is a wrong password to the caller; the
		// operator sees the cause in the wrapped error.
		return User{}, fmt.Errorf("user %s: %w: %w", u.Username, err, ErrInvalidCredentials)
	}
	if !ok {
		if err := s.recordFailedLogin(ctx, u.ID); err != nil {
			return User{}, err
		}
		return User{}, ErrInvalidCredentials
	}
	if u.Disabled {
		return User{}, fmt.Errorf("user %s is disabled: %w", u.Username, ErrInvalidCredentials)
	}

	columns := map[string]any{"failed_logins": 0, "locked_until": nil, "last_login_at": now}
	if needsRehash(u.PasswordHash) {
		// The policy parameters were raised since this hash was made; the
		// plaintext is at hand only now.
		if hash, err := HashPassword(password); err == nil {
			columns["password_hash"] = hash
			u.PasswordHash = hash
		}
	}
	// UpdateColumns: signing in is not an edit of the user, so updated_at stays.
	if err := s.conn(ctx).Model(&User{}).Where("id = ?", u.ID).UpdateColumns(columns).Error; err != nil {
		return User{}, fmt.Errorf("record login of %s: %w", u.Username, err)
	}
	u.FailedLogins, u.LockedUntil, u.LastLoginAt = 0, nil, &now
	return u, nil
}

// recordFailedLogin counts one wrong password in a single statement, so
// that concurrent attempts cannot overwrite each other's count. locked_until
// is assigned first because MySQL evaluates assignments left to right, each
// seeing the ones before it; SQLite sees only the old row. Written in this
// order, both read the old failed_logins in both CASEs.
func (s *Store) recordFailedLogin(ctx context.Context, userID string) error {
	lockUntil := s.clock().Add(LockoutDuration)
	err := s.conn(ctx).Exec(
		`UPDATE users SET
			locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END,
			failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END
		WHERE id = ?`,
		MaxFailedLogins, lockUntil, MaxFailedLogins, userID).Error
	if err != nil {
		return fmt.Errorf("record failed login: %w", err)
	}
	return nil
}
