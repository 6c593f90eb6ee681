package site

import (
	"context"
	"net/url"
	"strings"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
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
// links are those of its current cycle (cityLinks).
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
	links = append(links, v.cityLinks()...)
	for i := range links {
		h := links[i].Href
		links[i].Current = v.Path == h || (h != "/" && strings.HasPrefix(v.Path, h+"/"))
	}
	return links
}

// cityLinks are a city official's links to its current cycle: its
// collect page, and once results are published its dashboard.
func (v view) cityLinks() []navLink {
	cy := v.cityCycle
	if cy == nil || !v.User.Is(auth.RoleCity) {
		return nil
	}
	base := "/cycles/" + url.PathEscape(cy.ID)
	links := []navLink{{Href: base + "/collect", Key: "navbar.collect"}}
	if cy.Status == cycles.Published || cy.Status == cycles.Archived {
		links = append(links, navLink{Href: base + "/regions/" + url.PathEscape(v.User.RegionCode), Key: "navbar.dashboard"})
	}
	return links
}

// currentCycle is a city official's current cycle: the newest year's
// cycle past draft, nil when there is none.
func currentCycle(list func(context.Context) ([]cycles.Cycle, error)) func(context.Context) (*cycles.Cycle, error) {
	return func(ctx context.Context) (*cycles.Cycle, error) {
		cs, err := list(ctx)
		if err != nil {
			return nil, err
		}
		for _, cy := range cs { // newest year first
			if cy.Status != cycles.Draft {
				return &cy, nil
			}
		}
		return nil, nil
	}
}
