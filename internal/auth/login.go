package auth

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
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
//
// When too many passwords are being checked at once and ctx ends before a
// turn comes, the error wraps fault.ErrUnavailable and nothing is counted.
func (s *Store) Authenticate(ctx context.Context, username, password string) (User, error) {
	var u User
	err := s.conn(ctx).Where("username = ?", normaliseUsername(username)).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if err := s.withHashSlot(ctx, func() { equalizeTiming(password) }); err != nil {
			return User{}, fmt.Errorf("authenticate: %w", err)
		}
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if err := s.checkPassword(ctx, u, password); err != nil {
		return User{}, err
	}

	now := s.clock()
	columns := map[string]any{"failed_logins": 0, "locked_until": nil, "last_login_at": now}
	if needsRehash(u.PasswordHash) {
		// The policy parameters were raised since this hash was made; the
		// plaintext is at hand only now. Upgrading is worth a second turn at
		// hashing but not a refused login, so a busy server skips it.
		if hash, err := s.hashPassword(ctx, password); err == nil {
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

// errWrongPassword marks, beside ErrInvalidCredentials, a refusal that was
// about the password itself rather than a disabled user, so that
// ChangePassword can name the field at fault. Authenticate's callers never
// need it: to them all refusals look alike on purpose.
var errWrongPassword = errors.New("wrong password")

// checkPassword is the password check that Authenticate and ChangePassword
// share, so that a password guessed through either is refused during a
// lockout and counts towards it. It leaves a successful check unrecorded:
// signing in and changing the password each clear the count their own way.
func (s *Store) checkPassword(ctx context.Context, u User, password string) error {
	if u.LockedUntil != nil && u.LockedUntil.After(s.clock()) {
		return fmt.Errorf("user %s until %s: %w", u.Username, u.LockedUntil.Format("15:04:05Z07:00"), ErrAccountLocked)
	}
	var ok bool
	var verr error
	if err := s.withHashSlot(ctx, func() { ok, verr = VerifyPassword(u.PasswordHash, password) }); err != nil {
		return fmt.Errorf("check password of %s: %w", u.Username, err)
	}
	if verr != nil {
		// A hash nobody can match is a wrong password to the caller; the
		// operator sees the cause in the wrapped error.
		return fmt.Errorf("user %s: %w: %w: %w", u.Username, verr, errWrongPassword, ErrInvalidCredentials)
	}
	if !ok {
		if err := s.recordFailedLogin(ctx, u.ID); err != nil {
			return err
		}
		return fmt.Errorf("user %s: %w: %w", u.Username, errWrongPassword, ErrInvalidCredentials)
	}
	if u.Disabled {
		return fmt.Errorf("user %s is disabled: %w", u.Username, ErrInvalidCredentials)
	}
	return nil
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

// errHashBusy is the refusal when no argon2 slot came free in time.
var errHashBusy = fault.With(fault.ErrUnavailable,
	"too many passwords are being checked at once, try again shortly", "当前校验密码的请求过多，请稍后再试", nil)

// withHashSlot runs fn, which computes argon2, while holding one of the
// Store's hash slots. Each computation takes 64 MiB and most of a core for
// about 100 ms, and unknown usernames cost one too, so without a bound a
// burst of logins could exhaust memory; with it, the burst queues.
//
// Waiting ends with ctx, as an error wrapping fault.ErrUnavailable and the
// context's cause. A ctx already done is refused even if a slot is free:
// nobody is waiting for the answer, and the hashing would be wasted.
func (s *Store) withHashSlot(ctx context.Context, fn func()) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", errHashBusy, context.Cause(ctx))
	}
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errHashBusy, context.Cause(ctx))
	}
	defer func() { <-s.hashSlots }()
	fn()
	return nil
}

// hashPassword is HashPassword within a hash slot.
func (s *Store) hashPassword(ctx context.Context, pw string) (string, error) {
	var hash string
	var herr error
	if err := s.withHashSlot(ctx, func() { hash, herr = HashPassword(pw) }); err != nil {
		return "", err
	}
	return hash, herr
}
