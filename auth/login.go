package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
)

// Authenticate checks a username and password from client (the caller's
// IP address). Unknown users, wrong passwords and disabled users all get
// ErrInvalidCredentials after the same argon2 work, so that the answer does
// not reveal which usernames exist.
//
// Guessing is slowed by the throttle (see FreeFailures), keyed on the name
// as typed and the client's network, so that an unknown name is slowed
// exactly like a real one and a stranger slowing a name from one network
// does not keep its owner out from another. A throttled attempt gets
// ErrThrottled without its password being checked. A right password clears
// the name's throttle.
//
// When too many passwords are being checked at once and ctx ends before a
// turn comes, the error wraps fault.ErrUnavailable and nothing is counted.
func (s *Store) Authenticate(ctx context.Context, username, password, client string) (User, error) {
	network := ClientNetwork(client)
	if err := s.throttle.begin(username, network, s.clock()); err != nil {
		return User{}, err
	}
	var u User
	err := s.conn(ctx).Where("username = ?", normaliseUsername(username)).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if err := s.withHashSlot(ctx, func() { equalizeTiming(password) }); err != nil {
			s.throttle.cancel(username, network)
			return User{}, fmt.Errorf("authenticate: %w", err)
		}
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		s.throttle.cancel(username, network)
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if err := s.verifyPassword(ctx, u, password, network); err != nil {
		return User{}, err
	}

	now := s.clock()
	columns := map[string]any{"last_login_at": now}
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
	u.LastLoginAt = &now
	return u, nil
}

// errWrongPassword marks, beside ErrInvalidCredentials, a refusal that was
// about the password itself rather than a disabled user, so that
// ChangePassword can name the field at fault. Authenticate's callers never
// need it: to them all refusals look alike on purpose.
var errWrongPassword = errors.New("wrong password")

// checkPassword is ChangePassword's check of the current password: it is
// throttled under the user's name like a sign-in, so that a password
// guessed through either is slowed by the same count.
func (s *Store) checkPassword(ctx context.Context, u User, password, client string) error {
	network := ClientNetwork(client)
	if err := s.throttle.begin(u.Username, network, s.clock()); err != nil {
		return err
	}
	return s.verifyPassword(ctx, u, password, network)
}

// verifyPassword checks password against u's hash after the throttle let
// the attempt through, and settles the throttle's count: cleared by a right
// password of an enabled user (the network then known to the name), undone
// when no hash slot came free.
func (s *Store) verifyPassword(ctx context.Context, u User, password, network string) error {
	var ok bool
	var verr error
	if err := s.withHashSlot(ctx, func() { ok, verr = VerifyPassword(u.PasswordHash, password) }); err != nil {
		s.throttle.cancel(u.Username, network)
		return fmt.Errorf("check password of %s: %w", u.Username, err)
	}
	if verr != nil {
		// A hash nobody can match is a wrong password to the caller; the
		// operator sees the cause in the wrapped error.
		return fmt.Errorf("user %s: %w: %w: %w", u.Username, verr, errWrongPassword, ErrInvalidCredentials)
	}
	if !ok {
		return fmt.Errorf("user %s: %w: %w", u.Username, errWrongPassword, ErrInvalidCredentials)
	}
	if u.Disabled {
		return fmt.Errorf("user %s is disabled: %w", u.Username, ErrInvalidCredentials)
	}
	s.throttle.succeed(u.Username, network, s.clock())
	return nil
}

// ClearThrottle forgets every failed attempt for username, so that it may
// sign in again at once from anywhere: the security administrator's
// "unlocking". It reports until when the name was slowed (zero if it was
// not). Unknown names are cleared alike.
func (s *Store) ClearThrottle(username string) time.Time {
	until := s.throttle.until(username, s.clock())
	s.throttle.clear(username)
	return until
}

// ThrottledUntil reports until when sign-in attempts for username are
// slowed from at least one network, or the zero time.
func (s *Store) ThrottledUntil(username string) time.Time {
	return s.throttle.until(username, s.clock())
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
