package auth

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
)

// UserChange is the input of UpdateUser: a nil field is left as it is.
type UserChange struct {
	DisplayName *string
	// RegionCode applies to city officials, OrganisationID to contractors;
	// each is refused, as at creation, for the other roles.
	RegionCode     *string
	OrganisationID *string
}

// ProfileChange is what UpdateUser did: the user as stored and the ids of
// the API tokens it revoked.
type ProfileChange struct {
	User User
	// Rebound is true when the region or organisation changed, which
	// signed the user out and revoked their tokens.
	Rebound bool
	Revoked []string
}

// UpdateUser changes user id's display name, region or organisation, with
// the checks of CreateUser (validateProfile), reporting every problem at
// once and storing nothing then. A change of region or organisation
// changes what the user may see, so it ends their sessions and revokes
// their API tokens like a password reset: whatever was signed in under
// the old scope must sign in again under the new one.
func (s *Store) UpdateUser(ctx context.Context, id string, ch UserChange) (ProfileChange, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return ProfileChange{}, fmt.Errorf("update user: %w", err)
	}
	name := u.DisplayName
	if ch.DisplayName != nil {
		if name = strings.TrimSpace(*ch.DisplayName); name == "" {
			name = u.Username
		}
	}
	region, org := deref(u.RegionCode), deref(u.OrganisationID)
	if ch.RegionCode != nil {
		region = strings.TrimSpace(*ch.RegionCode)
	}
	if ch.OrganisationID != nil {
		org = strings.TrimSpace(*ch.OrganisationID)
	}
	errs, err := s.validateProfile(ctx, u.Role, name, region, org)
	if err != nil {
		return ProfileChange{}, err
	}
	if err := fault.Invalid(errs...); err != nil {
		return ProfileChange{}, err
	}
	out := ProfileChange{Rebound: region != deref(u.RegionCode) || org != deref(u.OrganisationID)}
	now := s.clock()
	columns := map[string]any{"display_name": name, "region_code": nullable(region), "organisation_id": nullable(org), "updated_at": now}
	if out.Rebound {
		defer s.forgetTokens()
	}
	err = s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		out.Revoked = nil
		if err := updateUser(tx, u.ID, columns); err != nil {
			return err
		}
		if !out.Rebound {
			return nil
		}
		out.Revoked, err = revokeAccess(tx, u.ID, now, false)
		return err
	})
	if err != nil {
		return ProfileChange{}, fmt.Errorf("update user %s: %w", u.Username, dbErr(err))
	}
	out.User, err = s.User(ctx, u.ID)
	return out, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// nullable is s for a nullable column: NULL when empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
