package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

func TestTokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, clock := newStore(t, db)
		addRegion(t, db, "140100", "太原市")
		u := addUser(t, s, auth.NewUser{Username: "taiyuan", Role: auth.RoleCity, RegionCode: "140100"})

		secret, tok, err := s.IssueToken(ctx, u.ID, "nightly import", 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, auth.TokenPrefix) || len(secret) != len(auth.TokenPrefix)+43 {
			t.Errorf("secret %q has the wrong shape", secret)
		}
		if tok.Prefix != secret[4:12] || !tok.ExpiresAt.Equal(clock.Now().Add(auth.DefaultTokenTTL)) {
			t.Errorf("token = %+v", tok)
		}
		if raw, _ := json.Marshal(tok); strings.Contains(string(raw), tok.Hash) {
			t.Errorf("token JSON shows the hash: %s", raw)
		}

		t.Run("no plaintext stored", func(t *testing.T) {
			var rows []map[string]any
			if err := db.Table("api_tokens").Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 {
				t.Fatalf("%d rows", len(rows))
			}
			for col, v := range rows[0] {
				s := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					s = string(b)
				}
				if strings.Contains(s, secret[len(auth.TokenPrefix):]) {
					t.Errorf("column %s holds the secret", col)
				}
			}
		})

		p, err := s.TokenPrincipal(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		want := auth.Principal{UserID: u.ID, Username: "taiyuan", Role: auth.RoleCity, RegionCode: "140100", TokenID: tok.ID}
		if p != want {
			t.Errorf("principal = %+v\nwant %+v", p, want)
		}
		got, _ := s.Token(ctx, tok.ID)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(clock.Now()) {
			t.Errorf("last_used_at = %v, want %v", got.LastUsedAt, clock.Now())
		}
		clock.Advance(30 * time.Second)
		if _, err := s.TokenPrincipal(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Token(ctx, tok.ID); !got.LastUsedAt.Equal(clock.Now().Add(-30 * time.Second)) {
			t.Errorf("last_used_at touched within a minute: %v", got.LastUsedAt)
		}

		t.Run("garbage", func(t *testing.T) {
			for _, bad := range []string{"", "ipv_", "Bearer " + secret, secret + "x", secret[:len(secret)-1],
				strings.ToUpper(secret), "ipv_" + strings.Repeat("A", 43), "xyz_" + secret[4:], secret[4:],
				"ipv_" + strings.Repeat("é", 22)} {
				if _, err := s.TokenPrincipal(ctx, bad); !errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, fault.ErrUnauthenticated) {
					t.Errorf("TokenPrincipal(%q) = %v, want ErrInvalidToken", bad, err)
				}
			}
		})

		t.Run("disabled user", func(t *testing.T) {
			if err := s.SetDisabled(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TokenPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("disabled user's token: %v", err)
			}
			if _, _, err := s.IssueToken(ctx, u.ID, "x", 0); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("issue for disabled user: %v", err)
			}
			if err := s.SetDisabled(ctx, u.ID, false); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TokenPrincipal(ctx, secret); err != nil {
				t.Errorf("re-enabled user's token: %v", err)
			}
		})

		t.Run("revoked", func(t *testing.T) {
			if err := s.RevokeToken(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeToken(ctx, tok.ID); err != nil {
				t.Errorf("second revoke: %v", err)
			}
			if _, err := s.TokenPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("revoked token: %v", err)
			}
			if err := s.RevokeToken(ctx, "missing"); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("revoke missing: %v", err)
			}
		})

		t.Run("expired", func(t *testing.T) {
			secret, _, err := s.IssueToken(ctx, u.ID, "short-lived", auth.MinTokenTTL)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(auth.MinTokenTTL - time.Millisecond)
			if _, err := s.TokenPrincipal(ctx, secret); err != nil {
				t.Fatalf("before expiry: %v", err)
			}
			clock.Advance(time.Millisecond)
			if _, err := s.TokenPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("expired token: %v", err)
			}
		})

		t.Run("revoke all", func(t *testing.T) {
			for i := range 2 {
				if _, _, err := s.IssueToken(ctx, u.ID, fmt.Sprint("t", i), 0); err != nil {
					t.Fatal(err)
				}
			}
			n, err := s.RevokeUserTokens(ctx, u.ID)
			if err != nil || n != 3 { // the expired one and two new ones
				t.Errorf("RevokeUserTokens = %d, %v; want 3", n, err)
			}
			list, err := s.ListTokens(ctx, u.ID)
			if err != nil || len(list) != 4 {
				t.Fatalf("ListTokens = %d, %v", len(list), err)
			}
			for _, tk := range list {
				if tk.RevokedAt == nil {
					t.Errorf("token %s not revoked", tk.Name)
				}
			}
		})

		t.Run("invalid input", func(t *testing.T) {
			const day = 24 * time.Hour
			for _, tc := range []struct {
				name string
				ttl  time.Duration
				want string // field/code problems, comma-separated; empty: accepted
			}{
				{"nightly", 0, ""},
				{"one day", day, ""},
				{"a year", 365 * day, ""},
				{"a day and a half", 36 * time.Hour, ""},
				{"one hour", time.Hour, "expires_in_days/out_of_range"},
				{"just under a day", day - time.Millisecond, "expires_in_days/out_of_range"},
				{"just over a year", 365*day + time.Millisecond, "expires_in_days/out_of_range"},
				{"two years", 730 * day, "expires_in_days/out_of_range"},
				{"negative", -day, "expires_in_days/out_of_range"},
				{" ", day, "name/length"},
				{strings.Repeat("令", 101), day, "name/length"},
				{strings.Repeat("令", 100), day, ""},
				{"", -time.Hour, "name/length,expires_in_days/out_of_range"},
			} {
				_, tok, err := s.IssueToken(ctx, u.ID, tc.name, tc.ttl)
				if tc.want == "" {
					if err != nil {
						t.Errorf("IssueToken(%q, %v): %v", tc.name, tc.ttl, err)
						continue
					}
					want := tc.ttl
					if want == 0 {
						want = auth.DefaultTokenTTL
					}
					if got := tok.ExpiresAt.Sub(tok.CreatedAt); got != want {
						t.Errorf("IssueToken(%q, %v) lives %v", tc.name, tc.ttl, got)
					}
					continue
				}
				if got := fieldCodes(t, err); strings.Join(got, ",") != tc.want {
					t.Errorf("IssueToken(%q, %v) problems = %v, want %s", tc.name, tc.ttl, got, tc.want)
				}
			}
			if _, _, err := s.IssueToken(ctx, "missing", "x", 0); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("issue for missing user: %v", err)
			}
		})
	})
}

// TestTokenCacheAcrossServers shows what the token cache costs another
// server sharing the database: a token revoked, or a user disabled, there
// is still believed here until TokenCacheTTL has passed since it was last
// checked, and not a moment later; the server that made the change refuses
// at once (TestTokens).
func TestTokenCacheAcrossServers(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	here, clock := newStore(t, db)
	there := auth.NewStore(db, clock.Now)
	addRegion(t, db, "140100", "太原市")
	u := addUser(t, here, auth.NewUser{Username: "taiyuan", Role: auth.RoleCity, RegionCode: "140100"})

	for _, change := range []struct {
		name string
		do   func(tok auth.Token) error
	}{
		{"revoked", func(tok auth.Token) error { return there.RevokeToken(ctx, tok.ID) }},
		{"user disabled", func(auth.Token) error { return there.SetDisabled(ctx, u.ID, true) }},
	} {
		t.Run(change.name, func(t *testing.T) {
			secret, tok, err := here.IssueToken(ctx, u.ID, change.name, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := here.TokenPrincipal(ctx, secret); err != nil {
				t.Fatal(err)
			}
			if err := change.do(tok); err != nil {
				t.Fatal(err)
			}
			if _, err := there.TokenPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("the server that made the change: %v, want ErrInvalidToken", err)
			}
			clock.Advance(auth.TokenCacheTTL - time.Millisecond)
			if _, err := here.TokenPrincipal(ctx, secret); err != nil {
				t.Errorf("within the cache time: %v, want the remembered principal", err)
			}
			clock.Advance(time.Millisecond)
			if _, err := here.TokenPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("after the cache time: %v, want ErrInvalidToken", err)
			}
			if err := there.SetDisabled(ctx, u.ID, false); err != nil {
				t.Fatal(err)
			}
		})
	}
}
