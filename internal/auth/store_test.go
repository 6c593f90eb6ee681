package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/dbtest"
	"github.com/ipeval/ipeval/internal/fault"
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

func TestLockout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, clock := newStore(t, db)
		u := addUser(t, s, auth.NewUser{Username: "alice", Role: auth.RoleAdmin})

		for i := 1; i <= auth.MaxFailedLogins; i++ {
			if _, err := s.Authenticate(ctx, "alice", "Wrong-password-1"); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("wrong password %d: %v, want ErrInvalidCredentials", i, err)
			}
		}
		_, err := s.Authenticate(ctx, "alice", testPassword)
		if !errors.Is(err, auth.ErrAccountLocked) || !errors.Is(err, fault.ErrLocked) {
			t.Fatalf("right password while locked: %v, want ErrAccountLocked", err)
		}
		got, _ := s.User(ctx, u.ID)
		if got.LockedUntil == nil || !got.LockedUntil.Equal(clock.Now().Add(auth.LockoutDuration)) || got.FailedLogins != 0 {
			t.Errorf("after lockout: locked_until=%v failed_logins=%d", got.LockedUntil, got.FailedLogins)
		}

		clock.Advance(auth.LockoutDuration - 1)
		if _, err := s.Authenticate(ctx, "alice", testPassword); !errors.Is(err, auth.ErrAccountLocked) {
			t.Fatalf("just before lockout ends: %v, want ErrAccountLocked", err)
		}
		clock.Advance(1)
		// One wrong guess after the lockout counts from zero again.
		if _, err := s.Authenticate(ctx, "alice", "Wrong-password-1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("wrong password after lockout: %v", err)
		}
		if got, _ := s.User(ctx, u.ID); got.FailedLogins != 1 {
			t.Errorf("failed_logins = %d, want 1", got.FailedLogins)
		}
		in, err := s.Authenticate(ctx, " ALICE ", testPassword)
		if err != nil {
			t.Fatalf("after lockout: %v", err)
		}
		got, _ = s.User(ctx, u.ID)
		if got.FailedLogins != 0 || got.LockedUntil != nil || got.LastLoginAt == nil || !got.LastLoginAt.Equal(clock.Now()) {
			t.Errorf("after success: %+v", got)
		}
		if in.ID != u.ID || in.FailedLogins != 0 {
			t.Errorf("Authenticate returned %+v", in)
		}
	})
}

func TestLockoutCountsConcurrentGuesses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		addUser(t, s, auth.NewUser{Username: "erin", Role: auth.RoleAdmin})
		var wg sync.WaitGroup
		for range auth.MaxFailedLogins {
			wg.Go(func() {
				if _, err := s.Authenticate(ctx, "erin", "Wrong-password-1"); !errors.Is(err, auth.ErrInvalidCredentials) {
					t.Errorf("wrong password: %v", err)
				}
			})
		}
		wg.Wait()
		if _, err := s.Authenticate(ctx, "erin", testPassword); !errors.Is(err, auth.ErrAccountLocked) {
			t.Errorf("after %d parallel guesses: %v, want ErrAccountLocked", auth.MaxFailedLogins, err)
		}
	})
}

func TestAuthenticateRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		u := addUser(t, s, auth.NewUser{Username: "bob", Role: auth.RoleAdmin})

		if _, err := s.Authenticate(ctx, "nobody", testPassword); !errors.Is(err, auth.ErrInvalidCredentials) || !errors.Is(err, fault.ErrUnauthenticated) {
			t.Errorf("unknown user: %v", err)
		}
		if err := s.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "bob", testPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("disabled user: %v", err)
		}
		if err := s.SetDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDisabled(ctx, u.ID, false); err != nil {
			t.Errorf("enabling twice: %v", err)
		}
		if _, err := s.Authenticate(ctx, "bob", testPassword); err != nil {
			t.Errorf("re-enabled user: %v", err)
		}
		if err := s.SetDisabled(ctx, "missing", true); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("SetDisabled(missing) = %v", err)
		}
		// A hash an operator garbled by hand refuses the login, not panics.
		if err := db.Exec("UPDATE users SET password_hash = 'garbage' WHERE id = ?", u.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "bob", testPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
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
		in, err := s.Authenticate(ctx, "carol", "password")
		if err != nil {
			t.Fatalf("login with old hash: %v", err)
		}
		got, _ := s.User(ctx, u.ID)
		if got.PasswordHash == reference || got.PasswordHash != in.PasswordHash || !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=65536,t=3,p=2$") {
			t.Errorf("hash not upgraded: %s", got.PasswordHash)
		}
		if _, err := s.Authenticate(ctx, "carol", "password"); err != nil {
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
		for range auth.MaxFailedLogins {
			_, _ = s.Authenticate(ctx, "dave", "Wrong-password-1")
		}

		err = s.SetPassword(ctx, u.ID, "short")
		if got := fieldCodes(t, err); !slices.Contains(got, "password/too_short") {
			t.Errorf("weak password problems = %v", got)
		}
		clock.Advance(auth.SessionIdleTimeout / 2)
		const next = "Another-Good-Pass-7"
		if err := s.SetPassword(ctx, u.ID, next); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidSession) {
			t.Errorf("session after password change: %v, want ErrInvalidSession", err)
		}
		if _, err := s.Authenticate(ctx, "dave", next); err != nil {
			t.Errorf("new password refused (lockout not lifted?): %v", err)
		}
		got, _ := s.User(ctx, u.ID)
		if !got.PasswordChangedAt.Equal(clock.Now()) {
			t.Errorf("password_changed_at = %v, want %v", got.PasswordChangedAt, clock.Now())
		}

		pw, err := s.ResetPassword(ctx, "dave")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "dave", next); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("old password after reset: %v", err)
		}
		if _, err := s.Authenticate(ctx, "dave", pw); err != nil {
			t.Errorf("reset password refused: %v", err)
		}
		if _, err := s.ResetPassword(ctx, "nobody"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("ResetPassword(nobody) = %v", err)
		}
		if err := s.SetPassword(ctx, "missing", next); !errors.Is(err, fault.ErrNotFound) {
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
		failedLogins := func() int {
			t.Helper()
			got, err := s.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.FailedLogins
		}
		const next = "Another-Good-Pass-7"

		// Both problems at once, and the wrong guess counts.
		err = s.ChangePassword(ctx, u.ID, "Wrong-password-1", "short")
		if got := fieldCodes(t, err); len(got) < 2 || got[0] != "current_password/wrong_password" || !slices.Contains(got, "password/too_short") {
			t.Errorf("problems = %v", got)
		}
		var ve *fault.ValidationError
		if errors.As(err, &ve) {
			if fe := ve.Errors[0]; fe.Message != "当前密码不正确" || fe.MessageEn != "current password is wrong" {
				t.Errorf("wrong password problem = %+v", fe)
			}
		}
		if n := failedLogins(); n != 1 {
			t.Errorf("failed_logins = %d after a wrong current password, want 1", n)
		}

		// The right password with a weak next one changes nothing.
		err = s.ChangePassword(ctx, u.ID, testPassword, "frank-Password-1")
		if got := fieldCodes(t, err); !slices.Equal(got, []string{"password/contains_username"}) {
			t.Errorf("problems = %v", got)
		}
		if _, err := s.SessionPrincipal(ctx, secret); err != nil {
			t.Errorf("session after a refused change: %v", err)
		}

		// Guesses here and at login share one count and one lockout.
		if _, err := s.Authenticate(ctx, "frank", "Wrong-password-1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("wrong login: %v", err)
		}
		for i := failedLogins(); i < auth.MaxFailedLogins; i++ {
			err := s.ChangePassword(ctx, u.ID, "Wrong-password-1", next)
			if got := fieldCodes(t, err); !slices.Equal(got, []string{"current_password/wrong_password"}) {
				t.Fatalf("wrong guess %d: problems = %v", i+1, got)
			}
		}
		err = s.ChangePassword(ctx, u.ID, testPassword, next)
		if !errors.Is(err, auth.ErrAccountLocked) || !errors.Is(err, fault.ErrLocked) {
			t.Fatalf("right password while locked: %v, want ErrAccountLocked", err)
		}
		if _, err := s.Authenticate(ctx, "frank", testPassword); !errors.Is(err, auth.ErrAccountLocked) {
			t.Errorf("login while locked by password changes: %v, want ErrAccountLocked", err)
		}

		clock.Advance(auth.LockoutDuration)
		if err := s.ChangePassword(ctx, u.ID, testPassword, next); err != nil {
			t.Fatalf("change after lockout: %v", err)
		}
		if _, err := s.SessionPrincipal(ctx, secret); !errors.Is(err, auth.ErrInvalidSession) {
			t.Errorf("session after password change: %v, want ErrInvalidSession", err)
		}
		if _, err := s.Authenticate(ctx, "frank", testPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("old password after change: %v", err)
		}
		if _, err := s.Authenticate(ctx, "frank", next); err != nil {
			t.Errorf("new password: %v", err)
		}
		if got, _ := s.User(ctx, u.ID); !got.PasswordChangedAt.Equal(clock.Now()) || got.LockedUntil != nil {
			t.Errorf("after change: password_changed_at=%v locked_until=%v", got.PasswordChangedAt, got.LockedUntil)
		}

		if err := s.ChangePassword(ctx, "missing", next, testPassword); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("ChangePassword(missing) = %v", err)
		}
		// A disabled user is refused as a credential, not told that the
		// password was wrong.
		if err := s.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		err = s.ChangePassword(ctx, u.ID, next, testPassword)
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
				_, err := s.Authenticate(ctx, "nobody", testPassword)
				return err
			},
			"Authenticate": func(ctx context.Context) error {
				_, err := s.Authenticate(ctx, "grace", "Wrong-password-1")
				return err
			},
			"ChangePassword": func(ctx context.Context) error {
				return s.ChangePassword(ctx, u.ID, "Wrong-password-1", next)
			},
			"SetPassword": func(ctx context.Context) error { return s.SetPassword(ctx, u.ID, next) },
			"ResetPassword": func(ctx context.Context) error {
				_, err := s.ResetPassword(ctx, "grace")
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
		if got, _ := s.User(ctx, u.ID); got.FailedLogins != 0 {
			t.Errorf("failed_logins = %d, want 0: an unchecked guess was counted", got.FailedLogins)
		}
		if _, err := s.Authenticate(ctx, "grace", testPassword); err != nil {
			t.Errorf("after the slots are freed: %v", err)
		}
		if _, err := s.UserByUsername(ctx, "heidi"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("user created without a hash slot: %v", err)
		}
	})
}
