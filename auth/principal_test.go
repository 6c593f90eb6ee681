package auth_test

import (
	"errors"
	"testing"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want auth.Role
		ok   bool
	}{
		{"admin", auth.RoleAdmin, true},
		{" City ", auth.RoleCity, true},
		{"CONTRACTOR", auth.RoleContractor, true},
		{"secadmin", auth.RoleSecAdmin, true},
		{"Auditor", auth.RoleAuditor, true},
		{"admin,secadmin", "", false},
		{"admin secadmin", "", false},
		{"", "", false},
		{"root", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := auth.ParseRole(tt.in)
			if tt.ok != (err == nil) || got != tt.want {
				t.Fatalf("ParseRole(%q) = %q, %v", tt.in, got, err)
			}
			if !tt.ok && !errors.Is(err, fault.ErrBadRequest) {
				t.Errorf("error %v is not a validation error", err)
			}
		})
	}
}

func TestPrincipalAccess(t *testing.T) {
	admin := auth.Principal{UserID: "u1", Role: auth.RoleAdmin}
	city := auth.Principal{UserID: "u2", Role: auth.RoleCity, RegionCode: "140100"}
	contractor := auth.Principal{UserID: "u3", Role: auth.RoleContractor, OrganisationID: "org-a"}
	cityNoRegion := auth.Principal{UserID: "u4", Role: auth.RoleCity}
	contractorNoOrg := auth.Principal{UserID: "u5", Role: auth.RoleContractor}
	anonymous := auth.Principal{}
	forged := auth.Principal{Role: auth.RoleAdmin, RegionCode: "140100"} // no user id
	// The security administrator and the auditor see no assessment data,
	// whatever ids their principal carries.
	secadmin := auth.Principal{UserID: "u6", Role: auth.RoleSecAdmin, RegionCode: "140100", OrganisationID: "org-a"}
	auditor := auth.Principal{UserID: "u7", Role: auth.RoleAuditor, RegionCode: "140100", OrganisationID: "org-a"}

	tests := []struct {
		name         string
		p            auth.Principal
		region, org  string
		wantRegion   bool
		wantOrg      bool
		wantAdmin    bool
		wantAnyStaff bool
	}{
		{"admin own nothing", admin, "140100", "org-a", true, true, true, true},
		{"admin empty ids", admin, "", "", false, false, true, true},
		{"city own region", city, "140100", "org-a", true, false, false, true},
		{"city other region", city, "140200", "", false, false, false, true},
		{"city without region", cityNoRegion, "", "", false, false, false, true},
		{"contractor own org", contractor, "140100", "org-a", false, true, false, false},
		{"contractor other org", contractor, "", "org-b", false, false, false, false},
		{"contractor without org", contractorNoOrg, "", "", false, false, false, false},
		{"anonymous", anonymous, "140100", "org-a", false, false, false, false},
		{"role without user", forged, "140100", "org-a", false, false, false, false},
		{"security administrator", secadmin, "140100", "org-a", false, false, false, false},
		{"auditor", auditor, "140100", "org-a", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.CanAccessRegion(tt.region); got != tt.wantRegion {
				t.Errorf("CanAccessRegion(%q) = %v, want %v", tt.region, got, tt.wantRegion)
			}
			if got := tt.p.CanAccessOrganisation(tt.org); got != tt.wantOrg {
				t.Errorf("CanAccessOrganisation(%q) = %v, want %v", tt.org, got, tt.wantOrg)
			}
			if got := tt.p.Is(auth.RoleAdmin); got != tt.wantAdmin {
				t.Errorf("Is(admin) = %v, want %v", got, tt.wantAdmin)
			}
			if got := tt.p.Is(auth.RoleAdmin, auth.RoleCity); got != tt.wantAnyStaff {
				t.Errorf("Is(admin, city) = %v, want %v", got, tt.wantAnyStaff)
			}
		})
	}
	if anonymous.Authenticated() || !city.Authenticated() {
		t.Error("Authenticated() wrong")
	}
	if admin.Is() {
		t.Error("Is() with no roles = true")
	}
}
