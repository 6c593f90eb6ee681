package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
)

// Credential policy.
const (
	// SessionIdleTimeout ends a session nobody has used for this long.
	SessionIdleTimeout = 30 * time.Minute
	// SessionMaxAge ends a session this long after sign-in, however busy.
	SessionMaxAge = 12 * time.Hour
	// DefaultTokenTTL is the lifetime of an API token issued without one.
	DefaultTokenTTL = 90 * 24 * time.Hour
	// MinTokenTTL and MaxTokenTTL bound the lifetime asked of IssueToken.
	// Callers speak in whole days; the year's cap makes secrets that sit in
	// scripts and CI settings get rotated at least that often.
	MinTokenTTL = 24 * time.Hour
	MaxTokenTTL = 365 * 24 * time.Hour
)

// touchInterval is how stale a token's LastUsedAt or a session's LastSeenAt
// may get before a request writes it again: a minute is precise enough for
// people and idle timeouts and keeps reads from turning into writes.
const touchInterval = time.Minute

// usernamePattern is the shape of a username: lower case, so that names are
// unique regardless of the database's collation.
var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// Column sizes from migration 0001.
const (
	maxOrganisationName = 191
	maxDisplayName      = 128
	maxTokenName        = 100
	maxClientIP         = 64
	maxUserAgent        = 255
)

// Store keeps users, organisations and credentials in the database.
type Store struct {
	db  *gorm.DB
	now func() time.Time
	// hashSlots holds one element per argon2 computation in flight (see
	// withHashSlot). It lives here rather than in a package variable so
	// that each Store, and each test, has its own bound.
	hashSlots chan struct{}
	// tokens remembers verified API tokens by hash (see TokenCacheTTL).
	tokens *lru.Cache[string, cachedToken]
	// throttle slows password guessing (see FreeFailures).
	throttle *throttle
}

// NewStore returns a Store on db. now is the clock (nil: the system clock
// in UTC); tests pass a fake one to cross throttle and idle limits without
// sleeping.
//
// The Store runs at most one argon2 computation per CPU (and at least two)
// at a time; further logins and password changes wait for a turn, or fail
// with fault.ErrUnavailable when their context ends first.
func NewStore(db *gorm.DB, now func() time.Time) *Store {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	tokens, err := lru.New[string, cachedToken](tokenCacheSize)
	if err != nil { // only for a size below 1
		panic(err)
	}
	return &Store{db: db, now: now, hashSlots: make(chan struct{}, max(runtime.GOMAXPROCS(0), 2)),
		tokens: tokens, throttle: newThrottle()}
}

// clock returns the current time in UTC, truncated to the millisecond that
// MySQL's DATETIME(3) keeps, so that what a method returns equals what a
// later read returns on either database.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Store) conn(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// newID returns a UUIDv7: time-ordered, so that new rows append to the
// primary-key index instead of splitting pages at random.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

// dbErr turns gorm's translated errors (the database is opened with
// TranslateError) into fault kinds.
func dbErr(err error) error {
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fault.ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("already exists: %w", fault.ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("referenced row missing or still in use: %w", fault.ErrConflict)
	}
	return err
}

// updateUser applies columns to user id and reports gorm.ErrRecordNotFound
// when there is no such user. Existence is checked separately because MySQL
// counts only changed rows as affected.
func updateUser(tx *gorm.DB, id string, columns map[string]any) error {
	res := tx.Model(&User{}).Where("id = ?", id).Updates(columns)
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	var n int64
	if err := tx.Model(&User{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return gorm.ErrRecordNotFound
	}
	return nil
}

// CreateOrganisation adds an organisation. Its name is unique.
func (s *Store) CreateOrganisation(ctx context.Context, name, kind string) (Organisation, error) {
	name = strings.TrimSpace(name)
	var errs []fault.FieldError
	if n := utf8.RuneCountInString(name); n == 0 || n > maxOrganisationName {
		errs = append(errs, fault.Field("name", "length",
			fmt.Sprintf("机构名称须为 1–%d 个字符", maxOrganisationName),
			fmt.Sprintf("name must be 1-%d characters", maxOrganisationName)))
	}
	errs = append(errs, textguard.Fields(textguard.Line, "name", name)...)
	if kind != OrgKindContractor && kind != OrgKindAuthority {
		errs = append(errs, fault.Field("kind", "invalid",
			"机构类型须为 contractor（第三方调查机构）或 authority（主管部门）",
			"kind must be contractor or authority"))
	}
	if err := fault.Invalid(errs...); err != nil {
		return Organisation{}, err
	}
	id, err := newID()
	if err != nil {
		return Organisation{}, err
	}
	now := s.clock()
	o := Organisation{ID: id, Name: name, Kind: kind, CreatedAt: now, UpdatedAt: now}
	if err := s.conn(ctx).Create(&o).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return Organisation{}, fault.With(fault.ErrConflict,
				fmt.Sprintf("organisation %q already exists", name), fmt.Sprintf("机构“%s”已存在", name), nil)
		}
		return Organisation{}, fmt.Errorf("create organisation %q: %w", name, dbErr(err))
	}
	return o, nil
}

// ListOrganisations returns every organisation by name.
func (s *Store) ListOrganisations(ctx context.Context) ([]Organisation, error) {
	var out []Organisation
	if err := s.conn(ctx).Order("name").Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	return out, nil
}

// Organisation returns the organisation with id.
func (s *Store) Organisation(ctx context.Context, id string) (Organisation, error) {
	var o Organisation
	if err := s.conn(ctx).Where("id = ?", id).Take(&o).Error; err != nil {
		return Organisation{}, fmt.Errorf("organisation %s: %w", id, dbErr(err))
	}
	return o, nil
}

// OrganisationByName returns the organisation named name.
func (s *Store) OrganisationByName(ctx context.Context, name string) (Organisation, error) {
	var o Organisation
	if err := s.conn(ctx).Where("name = ?", strings.TrimSpace(name)).Take(&o).Error; err != nil {
		return Organisation{}, fmt.Errorf("organisation %q: %w", name, dbErr(err))
	}
	return o, nil
}

// OrganisationRow is an organisation as the security administrator's list
// shows it, with the number of users that belong to it.
type OrganisationRow struct {
	Organisation
	Users int
}

// OrganisationDirectory returns every organisation by name with the number
// of its users, counted in one query.
func (s *Store) OrganisationDirectory(ctx context.Context) ([]OrganisationRow, error) {
	orgs, err := s.ListOrganisations(ctx)
	if err != nil {
		return nil, err
	}
	var counts []struct {
		OrganisationID string
		N              int
	}
	if err := s.conn(ctx).Model(&User{}).Select("organisation_id, COUNT(*) AS n").
		Where("organisation_id IS NOT NULL").Group("organisation_id").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("count organisation users: %w", err)
	}
	users := make(map[string]int, len(counts))
	for _, c := range counts {
		users[c.OrganisationID] = c.N
	}
	out := make([]OrganisationRow, len(orgs))
	for i, o := range orgs {
		out[i] = OrganisationRow{Organisation: o, Users: users[o.ID]}
	}
	return out, nil
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Username string
	// DisplayName defaults to Username.
	DisplayName string
	Role        Role
	// RegionCode is required for city users and refused for the others.
	RegionCode string
	// OrganisationID is required for contractor users (a contractor
	// organisation) and refused for the others.
	OrganisationID string
	// Password is checked against the policy; empty generates one.
	Password string
}

// CreateUser validates nu, reporting every problem at once, and adds the
// user. It returns the plaintext password — the one given or a generated one
// — so that it can be shown once; it is not stored.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (User, string, error) {
	nu.Username = strings.TrimSpace(nu.Username)
	nu.DisplayName = strings.TrimSpace(nu.DisplayName)
	nu.RegionCode = strings.TrimSpace(nu.RegionCode)
	nu.OrganisationID = strings.TrimSpace(nu.OrganisationID)
	if nu.DisplayName == "" {
		nu.DisplayName = nu.Username
	}
	errs, err := s.validateNewUser(ctx, nu)
	if err != nil {
		return User{}, "", err
	}
	if nu.Password == "" {
		nu.Password = generatePasswordFor(nu.Username, nu.DisplayName)
	} else if err := CheckPassword(nu.Password, nu.Username, nu.DisplayName); err != nil {
		var ve *fault.ValidationError
		if errors.As(err, &ve) {
			errs = append(errs, ve.Errors...)
		}
	}
	if err := fault.Invalid(errs...); err != nil {
		return User{}, "", err
	}

	hash, err := s.hashPassword(ctx, nu.Password)
	if err != nil {
		return User{}, "", fmt.Errorf("create user %s: %w", nu.Username, err)
	}
	id, err := newID()
	if err != nil {
		return User{}, "", err
	}
	now := s.clock()
	u := User{
		ID: id, Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role,
		PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if nu.RegionCode != "" {
		u.RegionCode = &nu.RegionCode
	}
	if nu.OrganisationID != "" {
		u.OrganisationID = &nu.OrganisationID
	}
	if err := s.conn(ctx).Create(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return User{}, "", fault.With(fault.ErrConflict,
				fmt.Sprintf("username %s is taken", nu.Username), fmt.Sprintf("用户名 %s 已被使用", nu.Username), nil)
		}
		return User{}, "", fmt.Errorf("create user %s: %w", nu.Username, dbErr(err))
	}
	return u, nu.Password, nil
}

// validateNewUser checks everything but the password. Its error is a
// database failure; validation problems are returned in the list.
func (s *Store) validateNewUser(ctx context.Context, nu NewUser) ([]fault.FieldError, error) {
	var errs []fault.FieldError
	if !usernamePattern.MatchString(nu.Username) {
		errs = append(errs, fault.Field("username", "invalid",
			"用户名须为 3–64 位小写字母、数字或 . _ -，并以字母或数字开头",
			"username must be 3-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"))
	}
	if !nu.Role.Valid() {
		errs = append(errs, fault.Field("role", "invalid",
			"角色须为 "+roleNames, "role must be one of admin, secadmin, auditor, contractor, city"))
	}
	more, err := s.validateProfile(ctx, nu.Role, nu.DisplayName, nu.RegionCode, nu.OrganisationID)
	return append(errs, more...), err
}

// validateProfile checks what both CreateUser and UpdateUser set: the
// display name, and the region or organisation the role binds a user to —
// one check, so that an edit cannot make an account creation would refuse.
// Its error is a database failure; problems are returned in the list.
func (s *Store) validateProfile(ctx context.Context, role Role, displayName, regionCode, orgID string) ([]fault.FieldError, error) {
	var errs []fault.FieldError
	if utf8.RuneCountInString(displayName) > maxDisplayName {
		errs = append(errs, fault.Field("display_name", "too_long",
			fmt.Sprintf("显示名称不能超过 %d 个字符", maxDisplayName),
			fmt.Sprintf("display name must be at most %d characters", maxDisplayName)))
	}
	errs = append(errs, textguard.Fields(textguard.Line, "display_name", displayName)...)

	needRegion, needOrg := role == RoleCity, role == RoleContractor
	switch {
	case needRegion && regionCode == "":
		errs = append(errs, fault.Field("region_code", "required",
			"市级用户必须指定所属地区", "a city user needs a region"))
	case needRegion:
		var kinds []string
		if err := s.conn(ctx).Table("regions").Where("code = ?", regionCode).Pluck("kind", &kinds).Error; err != nil {
			return nil, fmt.Errorf("look up region %s: %w", regionCode, err)
		}
		switch {
		case len(kinds) == 0:
			errs = append(errs, fault.Field("region_code", "unknown",
				fmt.Sprintf("地区 %s 不存在", regionCode), fmt.Sprintf("region %s does not exist", regionCode)))
		case kinds[0] == provinceKind:
			// The province assesses the others and is not assessed
			// itself: a city official bound to it would see no data.
			errs = append(errs, fault.Field("region_code", "not_assessed",
				fmt.Sprintf("地区 %s 是省级，不参加考核，不能绑定市级用户", regionCode),
				fmt.Sprintf("region %s is the province, which is not assessed", regionCode)))
		}
	case regionCode != "":
		errs = append(errs, fault.Field("region_code", "not_allowed",
			"只有市级用户可以绑定地区", "only city users belong to a region"))
	}
	switch {
	case needOrg && orgID == "":
		errs = append(errs, fault.Field("organisation_id", "required",
			"第三方调查机构用户必须指定所属机构", "a contractor user needs an organisation"))
	case needOrg:
		var o Organisation
		err := s.conn(ctx).Where("id = ?", orgID).Take(&o).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			errs = append(errs, fault.Field("organisation_id", "unknown",
				fmt.Sprintf("机构 %s 不存在", orgID), fmt.Sprintf("organisation %s does not exist", orgID)))
		case err != nil:
			return nil, fmt.Errorf("look up organisation %s: %w", orgID, err)
		case o.Kind != OrgKindContractor:
			errs = append(errs, fault.Field("organisation_id", "not_contractor",
				fmt.Sprintf("机构“%s”不是第三方调查机构", o.Name), fmt.Sprintf("organisation %q is not a contractor", o.Name)))
		}
	case orgID != "":
		errs = append(errs, fault.Field("organisation_id", "not_allowed",
			"只有第三方调查机构用户可以绑定机构", "only contractor users belong to an organisation"))
	}
	return errs, nil
}

// provinceKind is regions' kind.Province, spelled here because auth does
// not depend on regions (regions.Assessed is the same rule).
const provinceKind = "province"

// User returns the user with id.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	var u User
	if err := s.conn(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return User{}, fmt.Errorf("user %s: %w", id, dbErr(err))
	}
	return u, nil
}

// UserByUsername returns the user named username (case and surrounding
// spaces ignored, as at login).
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	var u User
	name := normaliseUsername(username)
	if err := s.conn(ctx).Where("username = ?", name).Take(&u).Error; err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, dbErr(err))
	}
	return u, nil
}

func normaliseUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ListUsers returns every user by username.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	if err := s.conn(ctx).Order("username").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// SetPassword checks pw against the policy, refuses the current password,
// and makes pw the user's password. Like every password change it lifts
// the name's throttle, signs the user out everywhere and revokes every API
// token of theirs, because a password is usually changed when the old one
// is suspected, and a token issued with a stolen password would outlive
// it. It returns the ids of the revoked tokens.
func (s *Store) SetPassword(ctx context.Context, userID, pw string) ([]string, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("set password: %w", err)
	}
	if err := CheckPassword(pw, u.Username, u.DisplayName); err != nil {
		return nil, err
	}
	var same bool
	if err := s.withHashSlot(ctx, func() { same, _ = VerifyPassword(u.PasswordHash, pw) }); err != nil {
		return nil, fmt.Errorf("set password of %s: %w", u.Username, err)
	}
	if same {
		return nil, fault.Invalid(sameAsCurrent())
	}
	return s.replacePassword(ctx, u, pw, false)
}

// sameAsCurrent is the refusal of a new password equal to the current one.
func sameAsCurrent() fault.FieldError {
	return fault.Field("new_password", "same_as_current",
		"新密码不能与当前密码相同", "the new password must differ from the current one")
}

// ResetPassword gives the user a generated password and returns it, for the
// security administrator to pass on, with the ids of the API tokens it
// revoked. A reset always revokes them: it is made when the owner lost the
// password or the account is suspected, and keeping another person's
// credentials alive is not the administrator's call (the owner can issue
// new tokens in a minute).
func (s *Store) ResetPassword(ctx context.Context, username string) (string, []string, error) {
	u, err := s.UserByUsername(ctx, username)
	if err != nil {
		return "", nil, fmt.Errorf("reset password: %w", err)
	}
	pw := generatePasswordFor(u.Username, u.DisplayName)
	revoked, err := s.replacePassword(ctx, u, pw, false)
	if err != nil {
		return "", nil, err
	}
	return pw, revoked, nil
}

// PasswordChange is a user's request to change their own password.
type PasswordChange struct {
	Current string
	New     string
	// Client is the caller's IP address, for the throttle.
	Client string
	// KeepTokens keeps the user's API tokens valid; by default the change
	// revokes them.
	KeepTokens bool
}

// ChangePassword is a user changing their own password: the current one is
// checked and throttled like a sign-in (a throttled attempt is refused with
// ErrThrottled). The new one must pass the policy and differ from the
// current one; like SetPassword, the change signs the user out everywhere
// and, unless ch.KeepTokens, revokes their API tokens, whose ids it
// returns. A wrong current password and a weak new one are reported
// together, as field problems on "current_password" and "new_password".
func (s *Store) ChangePassword(ctx context.Context, userID string, ch PasswordChange) ([]string, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	var errs []fault.FieldError
	switch err := s.checkPassword(ctx, u, ch.Current, ch.Client); {
	case errors.Is(err, errWrongPassword):
		errs = append(errs, fault.Field("current_password", "wrong_password", "当前密码不正确", "current password is wrong"))
	case err != nil:
		return nil, fmt.Errorf("change password: %w", err)
	case ch.New == ch.Current:
		errs = append(errs, sameAsCurrent())
	}
	var ve *fault.ValidationError
	if errors.As(CheckPassword(ch.New, u.Username, u.DisplayName), &ve) {
		for _, fe := range ve.Errors {
			fe.Field = "new_password"
			errs = append(errs, fe)
		}
	}
	if err := fault.Invalid(errs...); err != nil {
		return nil, err
	}
	return s.replacePassword(ctx, u, ch.New, ch.KeepTokens)
}

// replacePassword stores pw's hash, ends the user's sessions and, unless
// keepTokens, revokes their live API tokens, all in one transaction, and
// returns the revoked tokens' ids. The Store then forgets every token it
// had verified, so that a revoked one is refused at once here.
func (s *Store) replacePassword(ctx context.Context, u User, pw string, keepTokens bool) ([]string, error) {
	hash, err := s.hashPassword(ctx, pw)
	if err != nil {
		return nil, fmt.Errorf("set password of %s: %w", u.Username, err)
	}
	now := s.clock()
	var revoked []string
	defer s.forgetTokens()
	err = s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		revoked = nil
		err := updateUser(tx, u.ID, map[string]any{
			"password_hash": hash, "password_changed_at": now, "updated_at": now,
		})
		if err != nil {
			return err
		}
		revoked, err = revokeAccess(tx, u.ID, now, keepTokens)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set password of %s: %w", u.Username, dbErr(err))
	}
	s.throttle.clear(u.Username)
	return revoked, nil
}

// revokeAccess ends every session of user id and, unless keepTokens,
// revokes their live API tokens, returning the revoked tokens' ids. The
// caller runs it in its transaction and then forgets verified tokens.
func revokeAccess(tx *gorm.DB, id string, now time.Time, keepTokens bool) ([]string, error) {
	var revoked []string
	if !keepTokens {
		live := tx.Model(&Token{}).Where("user_id = ? AND revoked_at IS NULL", id)
		if err := live.Order("id").Pluck("id", &revoked).Error; err != nil {
			return nil, err
		}
		if len(revoked) > 0 {
			if err := tx.Model(&Token{}).Where("id IN ?", revoked).Update("revoked_at", now).Error; err != nil {
				return nil, err
			}
		}
	}
	return revoked, tx.Where("user_id = ?", id).Delete(&Session{}).Error
}

// SetDisabled disables or re-enables a user. A disabled user cannot sign in
// and every token and session of theirs is refused; disabling also deletes
// their sessions, while tokens are kept so that re-enabling restores them.
func (s *Store) SetDisabled(ctx context.Context, userID string, disabled bool) error {
	defer s.forgetTokens()
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		err := updateUser(tx, userID, map[string]any{"disabled": disabled, "updated_at": s.clock()})
		if err != nil || !disabled {
			return err
		}
		return tx.Where("user_id = ?", userID).Delete(&Session{}).Error
	})
	if err != nil {
		return fmt.Errorf("set user %s disabled=%t: %w", userID, disabled, dbErr(err))
	}
	return nil
}
