package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
)

// Route is one entry of the route table: everything the server, the
// authorisation wrapper, the audit log and the OpenAPI document know about it.
type Route struct {
	Method string
	Path   string
	// Name is the operation id and the audit action.
	Name      string
	Tag       string
	Summary   string
	SummaryZh string
	Access    Access
	// Object prefixes the audited object; path parameters are appended.
	Object string
	// Page marks a browser page: HTML errors, redirect to login.
	Page bool
	// Body and Response are example values whose types document the route.
	Body     any
	Response any
	// OptionalBody marks a Body the caller may leave out.
	OptionalBody bool
	// Consumes is the media type of Body, application/json when empty;
	// several are separated by commas.
	Consumes string
	// Produces is the media type of a non-JSON response (a download);
	// several, when a parameter chooses, are separated by ", ".
	Produces string
	// Status is the success status, 200 when zero.
	Status  int
	Handler func(c *fiber.Ctx, p auth.Principal) error
}

// Audited reports whether calls of the route are written to the audit log:
// every call that may change something.
func (r Route) Audited() bool { return unsafeMethod(r.Method) }

// Access is a Route's rule: the set of callers it lets through. Its zero
// value lets nobody through, so a route that forgets to say who may call it
// is closed, not open.
type Access uint8

// Callers a rule can let through.
const (
	anonymous Access = 1 << iota
	adminRole
	contractorRole
	cityRole
	secAdminRole
	auditorRole
)

// Rules of the route table.
const (
	// public routes need no credential.
	Public = anonymous | SignedIn
	// signedIn allows every authenticated user: their own account, tokens
	// and jobs.
	SignedIn = adminRole | contractorRole | cityRole | secAdminRole | auditorRole
	// assessment allows the roles that take part in assessments.
	Assessment = adminRole | contractorRole | cityRole
	// regionReaders allows the assessment roles and the security
	// administrator, who binds city officials to regions.
	RegionReaders = Assessment | secAdminRole
	// admin allows provincial assessment managers only.
	Admin = adminRole
	// secAdmin allows the security administrator only: users,
	// organisations, password resets, throttles.
	SecAdmin = secAdminRole
	// auditor allows the audit administrator only: the audit log.
	Auditor = auditorRole
	// adminOrSecAdmin allows both managers, for the organisations that one
	// maintains and the other commissions surveys from.
	AdminOrSecAdmin = adminRole | secAdminRole
	// adminOrContractor allows managers and survey contractors.
	AdminOrContractor = adminRole | contractorRole
	// adminOrCity allows managers and city officials.
	AdminOrCity = adminRole | cityRole
	// OrganisationReaders allows both managers, and a contractor, who may
	// read its own organisation.
	OrganisationReaders = AdminOrSecAdmin | contractorRole
)

func roleBit(r auth.Role) Access {
	switch r {
	case auth.RoleAdmin:
		return adminRole
	case auth.RoleContractor:
		return contractorRole
	case auth.RoleCity:
		return cityRole
	case auth.RoleSecAdmin:
		return secAdminRole
	case auth.RoleAuditor:
		return auditorRole
	}
	return 0
}

// IsPublic reports whether the rule lets callers without a credential in.
func (a Access) IsPublic() bool { return a&anonymous != 0 }

// Allows reports whether the rule lets p through.
func (a Access) Allows(p auth.Principal) bool {
	if !p.Authenticated() {
		return a.IsPublic()
	}
	return a&roleBit(p.Role) != 0
}

// Roles lists the callers a rule allows, for the OpenAPI document.
func (a Access) Roles() []string {
	var out []string
	for _, r := range []struct {
		bit  Access
		name string
	}{{anonymous, "anonymous"}, {adminRole, string(auth.RoleAdmin)}, {secAdminRole, string(auth.RoleSecAdmin)}, {auditorRole, string(auth.RoleAuditor)},
		{contractorRole, string(auth.RoleContractor)}, {cityRole, string(auth.RoleCity)}} {
		if a&r.bit != 0 {
			out = append(out, r.name)
		}
	}
	return out
}

// List is the envelope of every collection response.
type List[T any] struct {
	Items []T `json:"items"`
}

// ListOf wraps items in the list envelope, an empty list for nil.
func ListOf[T any](items []T) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items}
}
