package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

func sessionRows(tb testing.TB, db *gorm.DB) int64 {
	tb.Helper()
	var n int64
	if err := db.Table("sessions").Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, clock := newStore(t, db)
		org := addOrg(t, s, "调查公司", auth.OrgKindContractor)
		u := addUser(t, s, auth.NewUser{Username: "surveyor", Role: auth.RoleContractor, OrganisationID: org.ID})

		t.Run("idle timeout", func(t *testing.T) {
			secret, sess, err := s.NewSession(ctx, u.ID, "10.0.0.1", "Mozilla/5.0")
			if err != nil {
				t.Fatal(err)
			}
			if len(sess.CSRFToken) != 43 || sess.ID == secret || len(sess.ID) != 64 {
				t.Errorf("session = %+v", sess)
			}
			p, err := s.SessionPrincipal(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			want := auth.Principal{UserID: u.ID, Username: "surveyor", Role: auth.RoleContractor,
				OrganisationID: org.ID, SessionID: sess.ID, CSRFToken: sess.CSRFToken}
			if p != want {
				t.Errorf("principal = %+v\nwant %+v", p, want)
			}
			clock.Advance(auth.SessionIdleTimeout + time.Minute)
			if _, err := s.SessionPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidSession) || !errors.Is(err, fault.ErrUnauthenticated) {
				t.Fatalf("idle session: %v, want ErrInvalidSession", err)
			}
			if n := sessionRows(t, db); n != 0 {
				t.Errorf("%d session rows left after expiry", n)
			}
		})

		t.Run("activity keeps it alive until max age", func(t *testing.T) {
			secret, sess, err := s.NewSession(ctx, u.ID, "10.0.0.1", "Mozilla/5.0")
			if err != nil {
				t.Fatal(err)
			}
			start := clock.Now()
			for clock.Now().Sub(start) < auth.SessionMaxAge {
				clock.Advance(20 * time.Minute)
				_, err := s.SessionPrincipal(ctx, secret)
				alive := !clock.Now().After(sess.ExpiresAt)
				if alive && err != nil {
					t.Fatalf("after %v: %v", clock.Now().Sub(start), err)
				}
				if !alive && !errors.Is(err, auth.ErrInvalidSession) {
					t.Fatalf("after %v (past max age): %v", clock.Now().Sub(start), err)
				}
			}
			clock.Advance(20 * time.Minute)
			if _, err := s.SessionPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidSession) {
				t.Fatalf("past max age: %v", err)
			}
		})

		t.Run("end", func(t *testing.T) {
			a, _, _ := s.NewSession(ctx, u.ID, "", "")
			b, _, _ := s.NewSession(ctx, u.ID, "", "")
			if err := s.EndSession(ctx, a); err != nil {
				t.Fatal(err)
			}
			if err := s.EndSession(ctx, a); err != nil {
				t.Errorf("ending twice: %v", err)
			}
			if _, err := s.SessionPrincipal(ctx, a); !errors.Is(err, auth.ErrInvalidSession) {
				t.Errorf("ended session: %v", err)
			}
			if _, err := s.SessionPrincipal(ctx, b); err != nil {
				t.Errorf("other session ended too: %v", err)
			}
			if err := s.EndUserSessions(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionPrincipal(ctx, b); !errors.Is(err, auth.ErrInvalidSession) {
				t.Errorf("after EndUserSessions: %v", err)
			}
		})

		t.Run("disabled user", func(t *testing.T) {
			secret, _, _ := s.NewSession(ctx, u.ID, "", "")
			if err := s.SetDisabled(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidSession) {
				t.Errorf("disabled user's session: %v", err)
			}
			if _, _, err := s.NewSession(ctx, u.ID, "", ""); !errors.Is(err, fault.ErrUnauthenticated) {
				t.Errorf("new session for disabled user: %v", err)
			}
			if err := s.SetDisabled(ctx, u.ID, false); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.NewSession(ctx, "missing", "", ""); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("new session for missing user: %v", err)
			}
		})

		t.Run("garbage", func(t *testing.T) {
			for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 44), "ipv_" + strings.Repeat("A", 43)} {
				if _, err := s.SessionPrincipal(ctx, bad); !errors.Is(err, auth.ErrInvalidSession) {
					t.Errorf("SessionPrincipal(%q) = %v", bad, err)
				}
			}
		})

		t.Run("long and garbled headers", func(t *testing.T) {
			ua := strings.Repeat("浏览器", 200) + "\xff"
			_, sess, err := s.NewSession(ctx, u.ID, strings.Repeat("1", 100), ua)
			if err != nil {
				t.Fatal(err)
			}
			if len([]rune(sess.UserAgent)) != 255 || len(sess.ClientIP) != 64 {
				t.Errorf("user agent %d runes, client ip %d", len([]rune(sess.UserAgent)), len(sess.ClientIP))
			}
		})

		t.Run("purge", func(t *testing.T) {
			if err := s.EndUserSessions(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			idle, _, _ := s.NewSession(ctx, u.ID, "", "")
			clock.Advance(25 * time.Minute)
			fresh, _, _ := s.NewSession(ctx, u.ID, "", "")
			clock.Advance(10 * time.Minute)
			n, err := s.PurgeExpiredSessions(ctx)
			if err != nil || n != 1 {
				t.Fatalf("PurgeExpiredSessions = %d, %v; want 1", n, err)
			}
			if _, err := s.SessionPrincipal(ctx, fresh); err != nil {
				t.Errorf("fresh session purged: %v", err)
			}
			if _, err := s.SessionPrincipal(ctx, idle); !errors.Is(err, auth.ErrInvalidSession) {
				t.Errorf("idle session: %v", err)
			}
			if n := sessionRows(t, db); n != 1 {
				t.Errorf("%d rows left, want 1", n)
			}
		})

		// SessionPrincipal and PurgeExpiredSessions must agree to the
		// millisecond on both limits: a session the sweep keeps is usable,
		// and one it would delete is refused.
		t.Run("lookup and purge agree on the boundaries", func(t *testing.T) {
			agree := func(t *testing.T, secret string, alive bool) {
				t.Helper()
				n, err := s.PurgeExpiredSessions(ctx)
				if err != nil {
					t.Fatal(err)
				}
				_, lookupErr := s.SessionPrincipal(ctx, secret)
				switch {
				case alive && (n != 0 || lookupErr != nil):
					t.Errorf("live session: purged %d, lookup %v", n, lookupErr)
				case !alive && (n != 1 || !errors.Is(lookupErr, auth.ErrInvalidSession)):
					t.Errorf("expired session: purged %d, lookup %v", n, lookupErr)
				}
			}
			if err := s.EndUserSessions(ctx, u.ID); err != nil {
				t.Fatal(err)
			}

			idle, _, _ := s.NewSession(ctx, u.ID, "", "")
			clock.Advance(auth.SessionIdleTimeout)
			agree(t, idle, true) // and touched again
			clock.Advance(auth.SessionIdleTimeout + time.Millisecond)
			agree(t, idle, false)

			busy, sess, _ := s.NewSession(ctx, u.ID, "", "")
			for clock.Now().Add(20 * time.Minute).Before(sess.ExpiresAt) {
				clock.Advance(20 * time.Minute)
				if _, err := s.SessionPrincipal(ctx, busy); err != nil {
					t.Fatalf("busy session before max age: %v", err)
				}
			}
			clock.Advance(sess.ExpiresAt.Sub(clock.Now()))
			agree(t, busy, true)
			clock.Advance(time.Millisecond)
			agree(t, busy, false)
			if n := sessionRows(t, db); n != 0 {
				t.Errorf("%d rows left, want 0", n)
			}
		})
	})
}
