package site

import (
	"strings"

	"github.com/ipeval/ipeval/auth"
)

// navLink is one link of the header's navigation: where it leads, the
// message key of its words, and whether the page shown is in its section
// (aria-current).
type navLink struct {
	Href, Key string
	Current   bool
}

// navByRole lists, per role, the sections its user may work in, so that
// the header offers only what the role may do (the route table's Access
// says the same; the role matrix test checks both). A city official's
// cycle pages (collect, dashboard) are reached from the home page, which
// lists its cycles.
var navByRole = map[auth.Role][]navLink{
	auth.RoleAdmin: {{Href: "/cycles", Key: "nav.cycles"}, {Href: "/schemes", Key: "navbar.schemes"}, {Href: "/regions", Key: "navbar.regions"},
		{Href: "/surveys", Key: "nav.surveys"}, {Href: "/jobs", Key: "navbar.jobs"}},
	auth.RoleSecAdmin:   {{Href: "/users", Key: "navbar.users"}, {Href: "/organisations", Key: "navbar.organisations"}},
	auth.RoleAuditor:    {{Href: "/audit", Key: "navbar.audit"}},
	auth.RoleContractor: {{Href: "/surveys", Key: "nav.surveys"}},
}

// Nav is the header's navigation for the page's user: home, then the
// sections of the user's role, the one the page is in marked current.
// A visitor who is not signed in gets none.
func (v view) Nav() []navLink {
	if !v.User.Authenticated() {
		return nil
	}
	links := append([]navLink{{Href: "/", Key: "nav.home"}}, navByRole[v.User.Role]...)
	for i := range links {
		h := links[i].Href
		links[i].Current = v.Path == h || (h != "/" && strings.HasPrefix(v.Path, h+"/"))
	}
	return links
}
