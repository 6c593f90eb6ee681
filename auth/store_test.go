package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

func TestOrganisations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		a := addOrg(t, s, "  太原调查咨询有限公司 ", auth.OrgKindContractor)
		if a.Name != "太原调查咨询有限公司" || a.ID == "" {
			t.Errorf("created %+v", a)
		}
		addOrg(t, s, "山西省知识产权局", auth.OrgKindAuthority)

		_, err := s.CreateOrganisation(ctx, "太原调查咨询有限公司", auth.OrgKindContractor)
		if !errors.Is(err, fault.ErrConflict) {
			t.Errorf("duplicate name: %v, want ErrConflict", err)
		}
		_, err = s.CreateOrganisation(ctx, " ", "club")
		if got := fieldCodes(t, err); !slices.Equal(got, []string{"name/length", "kind/invalid"}) {
			t.Errorf("problems = %v", got)
		}
		_, err = s.CreateOrganisation(ctx, strings.Repeat("机", 192), auth.OrgKindAuthority)
		if got := fieldCodes(t, err); !slices.Equal(got, []string{"name/length"}) {
			t.Errorf("problems = %v", got)
		}

		got, err := s.Organisation(ctx, a.ID)
		if err != nil || got.Name != a.Name || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Errorf("Organisation = %+v, %v; want %+v", got, err, a)
		}
		if got, err := s.OrganisationByName(ctx, a.Name); err != nil || got.ID != a.ID {
			t.Errorf("OrganisationByName = %+v, %v", got, err)
		}
		if _, err := s.Organisation(ctx, "nope"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("missing organisation: %v, want ErrNotFound", err)
		}
		list, err := s.ListOrganisations(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("ListOrganisations = %v, %v", list, err)
		}
	})
}

func TestCreateUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		addRegion(t, db, "140100", "太原市")
		org := addOrg(t, s, "调查公司", auth.OrgKindContractor)
		authority := addOrg(t, s, "知识产权局", auth.OrgKindAuthority)

		t.Run("valid", func(t *testing.T) {
			tests := []auth.NewUser{
				{Username: "admin", Role: auth.RoleAdmin},
				{Username: "taiyuan.city", DisplayName: "太原市 张三", Role: auth.RoleCity, RegionCode: "140100", Password: testPassword},
				{Username: "survey_1", Role: auth.RoleContractor, OrganisationID: org.ID, Password: testPassword},
			}
			for _, nu := range tests {
				u, pw, err := s.CreateUser(ctx, nu)
				if err != nil {
					t.Fatalf("CreateUser(%s): %v", nu.Username, err)
				}
				if nu.Password == "" && (len(pw) != auth.GeneratedPasswordLength || auth.CheckPassword(pw, nu.Username) != nil) {
					t.Errorf("generated password %q", pw)
				}
				if nu.Password != "" && pw != nu.Password {
					t.Errorf("returned password %q, want the given one", pw)
				}
				if ok, err := auth.VerifyPassword(u.PasswordHash, pw); !ok || err != nil {
					t.Errorf("stored hash does not verify the returned password: %v", err)
				}
				if strings.Contains(u.PasswordHash, pw) {
					t.Error("hash contains the password")
				}
				got, err := s.User(ctx, u.ID)
				if err != nil || got.Username != nu.Username || got.Role != nu.Role || got.DisplayName == "" {
					t.Errorf("User(%s) = %+v, %v", u.ID, got, err)
				}
				if (got.RegionCode != nil) != (nu.RegionCode != "") || (got.OrganisationID != nil) != (nu.OrganisationID != "") {
					t.Errorf("region/organisation not stored as given: %+v", got)
				}
				raw, _ := json.Marshal(got)
				if strings.Contains(string(raw), "argon2") || !strings.Contains(string(raw), `"display_name"`) {
					t.Errorf("JSON of user = %s", raw)
				}
			}
			if u, err := s.UserByUsername(ctx, " Taiyuan.City "); err != nil || u.Username != "taiyuan.city" {
				t.Errorf("UserByUsername = %+v, %v", u, err)
			}
			users, err := s.ListUsers(ctx)
			if err != nil || len(users) != 3 || users[0].Username != "admin" {
				t.Errorf("ListUsers = %v, %v", users, err)
			}
		})

		t.Run("invalid", func(t *testing.T) {
			tests := []struct {
				name string
				nu   auth.NewUser
				want []string
			}{
				{"everything at once", auth.NewUser{Username: "X", Role: "root", RegionCode: "140100", OrganisationID: org.ID, Password: "y"},
					[]string{"username/invalid", "role/invalid", "region_code/not_allowed", "organisation_id/not_allowed", "password/too_short", "password/too_simple"}},
				{"city without region", auth.NewUser{Username: "city2", Role: auth.RoleCity},
					[]string{"region_code/required"}},
				{"city unknown region", auth.NewUser{Username: "city2", Role: auth.RoleCity, RegionCode: "999999"},
					[]string{"region_code/unknown"}},
				{"city with organisation", auth.NewUser{Username: "city2", Role: auth.RoleCity, RegionCode: "140100", OrganisationID: org.ID},
					[]string{"organisation_id/not_allowed"}},
				{"contractor without organisation", auth.NewUser{Username: "survey2", Role: auth.RoleContractor},
					[]string{"organisation_id/required"}},
				{"contractor unknown organisation", auth.NewUser{Username: "survey2", Role: auth.RoleContractor, OrganisationID: "missing"},
					[]string{"organisation_id/unknown"}},
				{"contractor of an authority", auth.NewUser{Username: "survey2", Role: auth.RoleContractor, OrganisationID: authority.ID},
					[]string{"organisation_id/not_contractor"}},
				{"admin with region", auth.NewUser{Username: "admin2", Role: auth.RoleAdmin, RegionCode: "140100"},
					[]string{"region_code/not_allowed"}},
				{"password with username", auth.NewUser{Username: "admin2", Role: auth.RoleAdmin, Password: "Admin2-is-great"},
					[]string{"password/contains_username"}},
				{"long display name", auth.NewUser{Username: "admin2", DisplayName: strings.Repeat("名", 129), Role: auth.RoleAdmin},
					[]string{"display_name/too_long"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, _, err := s.CreateUser(ctx, tt.nu)
					if !errors.Is(err, fault.ErrBadRequest) {
						t.Fatalf("CreateUser = %v, want a validation error", err)
					}
					if got := fieldCodes(t, err); !slices.Equal(got, tt.want) {
						t.Errorf("problems = %v\nwant %v", got, tt.want)
					}
				})
			}
		})

		t.Run("duplicate username", func(t *testing.T) {
			_, _, err := s.CreateUser(ctx, auth.NewUser{Username: "admin", Role: auth.RoleAdmin})
			if !errors.Is(err, fault.ErrConflict) {
				t.Fatalf("duplicate: %v, want ErrConflict", err)
			}
		})
	})
}

func TestThrottle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, clock := newStore(t, db)
		addUser(t, s, auth.NewUser{Username: "alice", Role: auth.RoleAdmin})
		const stranger, owner = "203.0.113.7", "198.51.100.20"

		for i := 1; i <= auth.FreeFailures; i++ {
			if _, err := s.Authenticate(ctx, "alice", "Wrong-password-1", stranger); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("wrong password %d: %v, want ErrInvalidCredentials", i, err)
			}
		}
		// The same network, even its neighbour address, now waits, even
		// with the right password; the owner elsewhere does not.
		_, err := s.Authenticate(ctx, "alice", testPassword, "203.0.113.99")
		if !errors.Is(err, auth.ErrThrottled) || !errors.Is(err, fault.ErrTooManyRequests) {
			t.Fatalf("right password from the throttled network: %v, want ErrThrottled", err)
		}
		if until := s.ThrottledUntil("alice"); !until.Equal(clock.Now().Add(auth.NetworkDelay)) {
			t.Errorf("ThrottledUntil = %v, want %v", until, clock.Now().Add(auth.NetworkDelay))
		}
		clock.Advance(auth.NetworkDelay - 1)
		if _, err := s.Authenticate(ctx, "alice", "Wrong-password-1", stranger); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("just before the delay ends: %v, want ErrThrottled", err)
		}
		clock.Advance(1)
		if _, err := s.Authenticate(ctx, "alice", "Wrong-password-1", stranger); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("after the delay: %v", err)
		}
		// The next delay is twice as long.
		clock.Advance(2*auth.NetworkDelay - 1)
		if _, err := s.Authenticate(ctx, "alice", "Wrong-password-1", stranger); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("before the doubled delay ends: %v, want ErrThrottled", err)
		}
		in, err := s.Authenticate(ctx, " ALICE ", testPassword, owner)
		if err != nil {
			t.Fatalf("owner from another network: %v", err)
		}
		if in.LastLoginAt == nil || in.Username != "alice" {
			t.Errorf("Authenticate returned %+v", in)
		}
		// A right password clears the name's throttle everywhere.
		if _, err := s.Authenticate(ctx, "alice", "Wrong-password-1", stranger); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("after the owner signed in: %v, want ErrInvalidCredentials", err)
		}
	})
}

// TestThrottleKnownNetwork: strangers guessing from many networks raise the
// name's account-wide ceiling, which slows every network the name never
// signed in from, but not the owner's own: one guess each time the spacing
// ends must not keep the owner out.
func TestThrottleKnownNetwork(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		addUser(t, s, auth.NewUser{Username: "dora", Role: auth.RoleAdmin})
		const office = "198.51.100.20"
		if _, err := s.Authenticate(ctx, "dora", testPassword, office); err != nil {
			t.Fatal(err)
		}
		for i := range auth.AccountFreeFailures {
			stranger := fmt.Sprintf("203.0.%d.7", i)
			if _, err := s.Authenticate(ctx, "dora", "Wrong-password-1", stranger); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if _, err := s.Authenticate(ctx, "dora", "Wrong-password-1", "192.0.2.9"); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("a new network past the ceiling: %v, want ErrThrottled", err)
		}
		if _, err := s.Authenticate(ctx, "dora", testPassword, office); err != nil {
			t.Fatalf("the owner from the office they signed in from: %v", err)
		}
	})
}

func TestThrottleTreatsUnknownNamesAlike(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		addUser(t, s, auth.NewUser{Username: "erin", Role: auth.RoleAdmin})
		answers := func(name string) []string {
			var out []string
			for range auth.FreeFailures + 3 {
				_, err := s.Authenticate(ctx, name, "Wrong-password-1", "192.0.2.1")
				var d *fault.Detailed
				if !errors.As(err, &d) {
					t.Fatalf("%s: %v is not a detailed refusal", name, err)
				}
				out = append(out, fmt.Sprint(errors.Is(err, auth.ErrThrottled), d.Detail, d.Ext))
			}
			return out
		}
		known, unknown := answers("erin"), answers("nobody")
		if !slices.Equal(known, unknown) {
			t.Errorf("real name:\n%q\nunknown name:\n%q", known, unknown)
		}
		if got := s.ClearThrottle("nobody"); got.IsZero() {
			t.Errorf("ClearThrottle(nobody) reports no throttle")
		}
		if _, err := s.Authenticate(ctx, "nobody", "x", "192.0.2.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("after ClearThrottle: %v", err)
		}
	})
}

func TestThrottleCountsConcurrentGuesses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		addUser(t, s, auth.NewUser{Username: "erin", Role: auth.RoleAdmin})
		var wg sync.WaitGroup
		var checked atomic.Int64
		for range 3 * auth.FreeFailures {
			wg.Go(func() {
				if _, err := s.Authenticate(ctx, "erin", "Wrong-password-1", "192.0.2.1"); errors.Is(err, auth.ErrInvalidCredentials) {
					checked.Add(1)
				}
			})
		}
		wg.Wait()
		if n := checked.Load(); n != auth.FreeFailures {
			t.Errorf("%d parallel guesses checked, want %d", n, auth.FreeFailures)
		}
	})
}

// TestThrottleCeilingOnlySlows: guesses from many networks slow the name
// everywhere, by at most AccountMaxDelay, never shut its owner out.
func TestThrottleCeilingOnlySlows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, clock := newStore(t, db)
		addUser(t, s, auth.NewUser{Username: "ivan", Role: auth.RoleAdmin})
		for i := range 10 * auth.AccountFreeFailures {
			_, _ = s.Authenticate(ctx, "ivan", "Wrong-password-1", fmt.Sprintf("10.%d.%d.1", i/256, i%256))
			clock.Advance(time.Second)
		}
		_, err := s.Authenticate(ctx, "ivan", testPassword, "172.16.0.1")
		if !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("owner during a distributed guess: %v, want ErrThrottled", err)
		}
		clock.Advance(auth.AccountMaxDelay)
		if _, err := s.Authenticate(ctx, "ivan", testPassword, "172.16.0.1"); err != nil {
			t.Errorf("owner after AccountMaxDelay: %v", err)
		}
	})
}

func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.0/24",
		"::ffff:203.0.113.7":   "203.0.113.0/24",
		"2001:db8:1:2:3::4":    "2001:db8:1:2::/64",
		"not an address":       "not an address",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
	} {
		if got := auth.ClientNetwork(in); got != want {
			t.Errorf("ClientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuthenticateRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		u := addUser(t, s, auth.NewUser{Username: "bob", Role: auth.RoleAdmin})

		if _, err := s.Authenticate(ctx, "nobody", testPassword, ""); !errors.Is(err, auth.ErrInvalidCredentials) || !errors.Is(err, fault.ErrUnauthenticated) {
			t.Errorf("unknown user: %v", err)
		}
		if err := s.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "bob", testPassword, ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("disabled user: %v", err)
		}
		if err := s.SetDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDisabled(ctx, u.ID, false); err != nil {
			t.Errorf("enabling twice: %v", err)
		}
		if _, err := s.Authenticate(ctx, "bob", testPassword, ""); err != nil {
			t.Errorf("re-enabled user: %v", err)
		}
		if err := s.SetDisabled(ctx, "missing", true); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("SetDisabled(missing) = %v", err)
		}
		// A hash an operator garbled by hand refuses the login, not panics.
		if err := db.Exec("UPDATE users SET password_hash = 'garbage' WHERE id = ?", u.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "bob", testPassword, ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("garbled hash: %v", err)
		}
	})
}

func TestAuthenticateRehashes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		u := addUser(t, s, auth.NewUser{Username: "carol", Role: auth.RoleAdmin})
		// A hash made with older, weaker parameters, as if they had since
		// been raised.
		if err := db.Exec("UPDATE users SET password_hash = ? WHERE id = ?", reference, u.ID).Error; err != nil {
			t.Fatal(err)
		}
		in, err := s.Authenticate(ctx, "carol", "password", "")
		if err != nil {
			t.Fatalf("login with old hash: %v", err)
		}
		got, _ := s.User(ctx, u.ID)
		if got.PasswordHash == reference || got.PasswordHash != in.PasswordHash || !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=65536,t=3,p=2$") {
			t.Errorf("hash not upgraded: %s", got.PasswordHash)
		}
		if _, err := s.Authenticate(ctx, "carol", "password", ""); err != nil {
			t.Errorf("login with upgraded hash: %v", err)
		}
	})
}

func TestSetPassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, clock := newStore(t, db)
		u := addUser(t, s, auth.NewUser{Username: "dave", Role: auth.RoleAdmin})
		secret, _, err := s.NewSession(ctx, u.ID, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		for range auth.FreeFailures {
			_, _ = s.Authenticate(ctx, "dave", "Wrong-password-1", "127.0.0.1")
		}

		_, err = s.SetPassword(ctx, u.ID, "short")
		if got := fieldCodes(t, err); !slices.Contains(got, "password/too_short") {
			t.Errorf("weak password problems = %v", got)
		}
		_, err = s.SetPassword(ctx, u.ID, testPassword)
		if got := fieldCodes(t, err); !slices.Equal(got, []string{"new_password/same_as_current"}) {
			t.Errorf("same password problems = %v", got)
		}
		clock.Advance(auth.SessionIdleTimeout / 2)
		const next = "Another-Good-Pass-7"
		if _, err := s.SetPassword(ctx, u.ID, next); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidSession) {
			t.Errorf("session after password change: %v, want ErrInvalidSession", err)
		}
		if _, err := s.Authenticate(ctx, "dave", next, "127.0.0.1"); err != nil {
			t.Errorf("new password refused (throttle not lifted?): %v", err)
		}
		got, _ := s.User(ctx, u.ID)
		if !got.PasswordChangedAt.Equal(clock.Now()) {
			t.Errorf("password_changed_at = %v, want %v", got.PasswordChangedAt, clock.Now())
		}

		token, tok, err := s.IssueToken(ctx, u.ID, "ci", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenPrincipal(ctx, token); err != nil {
			t.Fatal(err)
		}
		pw, revoked, err := s.ResetPassword(ctx, "dave")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(revoked, []string{tok.ID}) {
			t.Errorf("reset revoked %v, want [%s]", revoked, tok.ID)
		}
		if _, err := s.TokenPrincipal(ctx, token); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("token after reset: %v, want ErrInvalidToken at once", err)
		}
		if _, err := s.Authenticate(ctx, "dave", next, ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("old password after reset: %v", err)
		}
		if _, err := s.Authenticate(ctx, "dave", pw, ""); err != nil {
			t.Errorf("reset password refused: %v", err)
		}
		if _, _, err := s.ResetPassword(ctx, "nobody"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("ResetPassword(nobody) = %v", err)
		}
		if _, err := s.SetPassword(ctx, "missing", next); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("SetPassword(missing) = %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, clock := newStore(t, db)
		u := addUser(t, s, auth.NewUser{Username: "frank", Role: auth.RoleAdmin})
		secret, _, err := s.NewSession(ctx, u.ID, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		const next, client = "Another-Good-Pass-7", "192.0.2.9"
		change := func(current, next string) error {
			_, err := s.ChangePassword(ctx, u.ID, auth.PasswordChange{Current: current, New: next, Client: client})
			return err
		}

		// Both problems at once.
		err = change("Wrong-password-1", "short")
		if got := fieldCodes(t, err); len(got) < 2 || got[0] != "current_password/wrong_password" || !slices.Contains(got, "new_password/too_short") {
			t.Errorf("problems = %v", got)
		}
		var ve *fault.ValidationError
		if errors.As(err, &ve) {
			if fe := ve.Errors[0]; fe.Message != "当前密码不正确" || fe.MessageEn != "current password is wrong" {
				t.Errorf("wrong password problem = %+v", fe)
			}
		}

		// The right password with a weak or unchanged next one changes nothing.
		if got := fieldCodes(t, change(testPassword, "frank-Password-1")); !slices.Contains(got, "new_password/contains_username") {
			t.Errorf("problems = %v", got)
		}
		if got := fieldCodes(t, change(testPassword, testPassword)); !slices.Equal(got, []string{"new_password/same_as_current"}) {
			t.Errorf("problems = %v", got)
		}
		if _, err := s.SessionPrincipal(ctx, secret); err != nil {
			t.Errorf("session after a refused change: %v", err)
		}

		// Guesses here and at login share one throttle.
		for i := range auth.FreeFailures {
			if got := fieldCodes(t, change("Wrong-password-1", next)); !slices.Equal(got, []string{"current_password/wrong_password"}) {
				t.Fatalf("wrong guess %d: problems = %v", i+1, got)
			}
		}
		if err := change(testPassword, next); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("right password while throttled: %v, want ErrThrottled", err)
		}
		if _, err := s.Authenticate(ctx, "frank", testPassword, client); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("login while throttled by password changes: %v, want ErrThrottled", err)
		}

		clock.Advance(auth.NetworkDelay)
		token, _, err := s.IssueToken(ctx, u.ID, "kept", 0)
		if err != nil {
			t.Fatal(err)
		}
		revoked, err := s.ChangePassword(ctx, u.ID, auth.PasswordChange{Current: testPassword, New: next, Client: client, KeepTokens: true})
		if err != nil || len(revoked) != 0 {
			t.Fatalf("change after the delay, keeping tokens: %v %v", revoked, err)
		}
		if _, err := s.TokenPrincipal(ctx, token); err != nil {
			t.Errorf("kept token: %v", err)
		}
		if _, err := s.SessionPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidSession) {
			t.Errorf("session after password change: %v, want ErrInvalidSession", err)
		}
		if _, err := s.Authenticate(ctx, "frank", testPassword, client); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("old password after change: %v", err)
		}
		if _, err := s.Authenticate(ctx, "frank", next, client); err != nil {
			t.Errorf("new password: %v", err)
		}
		if got, _ := s.User(ctx, u.ID); !got.PasswordChangedAt.Equal(clock.Now()) {
			t.Errorf("after change: password_changed_at=%v", got.PasswordChangedAt)
		}

		if _, err := s.ChangePassword(ctx, "missing", auth.PasswordChange{Current: next, New: testPassword}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("ChangePassword(missing) = %v", err)
		}
		// A disabled user is refused as a credential, not told that the
		// password was wrong.
		if err := s.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		err = change(next, testPassword)
		if !errors.Is(err, auth.ErrInvalidCredentials) || errors.As(err, &ve) {
			t.Errorf("disabled user: %v, want ErrInvalidCredentials", err)
		}
	})
}

func TestHashingIsBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		u := addUser(t, s, auth.NewUser{Username: "grace", Role: auth.RoleAdmin})
		release := sync.OnceFunc(auth.FillHashSlots(s))
		defer release()

		const next = "Another-Good-Pass-7"
		calls := map[string]func(context.Context) error{
			"Authenticate(unknown user)": func(ctx context.Context) error {
				_, err := s.Authenticate(ctx, "nobody", testPassword, "")
				return err
			},
			"Authenticate": func(ctx context.Context) error {
				_, err := s.Authenticate(ctx, "grace", "Wrong-password-1", "192.0.2.1")
				return err
			},
			"ChangePassword": func(ctx context.Context) error {
				_, err := s.ChangePassword(ctx, u.ID, auth.PasswordChange{Current: "Wrong-password-1", New: next, Client: "192.0.2.1"})
				return err
			},
			"SetPassword": func(ctx context.Context) error {
				_, err := s.SetPassword(ctx, u.ID, next)
				return err
			},
			"ResetPassword": func(ctx context.Context) error {
				_, _, err := s.ResetPassword(ctx, "grace")
				return err
			},
			"CreateUser": func(ctx context.Context) error {
				_, _, err := s.CreateUser(ctx, auth.NewUser{Username: "heidi", Role: auth.RoleAdmin})
				return err
			},
		}
		// The deadline leaves the database lookups before the hashing ample
		// time, so that what ends the wait is the full set of slots.
		var wg sync.WaitGroup
		for name, call := range calls {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				if err := call(ctx); !errors.Is(err, fault.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s with every hash slot taken: %v, want ErrUnavailable", name, err)
				}
			})
		}
		wg.Wait()
		// An admin needs no database lookup before the hashing, so this
		// reaches the wait with its context already cancelled.
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.CreateUser(cancelled, auth.NewUser{Username: "heidi", Role: auth.RoleAdmin}); !errors.Is(err, fault.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("CreateUser with a cancelled context: %v, want ErrUnavailable", err)
		}

		// Nothing happened: no guess counted, no password changed, no user
		// added.
		release()
		if until := s.ThrottledUntil("grace"); !until.IsZero() {
			t.Errorf("throttled until %v: an unchecked guess was counted", until)
		}
		if _, err := s.Authenticate(ctx, "grace", testPassword, "192.0.2.1"); err != nil {
			t.Errorf("after the slots are freed: %v", err)
		}
		if _, err := s.UserByUsername(ctx, "heidi"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("user created without a hash slot: %v", err)
		}
	})
}
