package httpapi_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// navLinks are the header navigation's links of a page (the language
// switch aside, whose address is the page's own), and the one marked as
// the current section.
func navLinks(t testing.TB, body []byte) (links []string, current string) {
	t.Helper()
	s := string(body)
	start, end := strings.Index(s, "<nav"), strings.Index(s, "</nav>")
	if start < 0 || end < start {
		t.Fatal("the page has no navigation")
	}
	for _, m := range regexp.MustCompile(`<a href="([^"]*)"([^>]*)>`).FindAllStringSubmatch(s[start:end], -1) {
		if strings.Contains(m[1], "lang=") {
			continue
		}
		links = append(links, m[1])
		if strings.Contains(m[2], `aria-current="page"`) {
			current = m[1]
		}
	}
	return links, current
}

// TestNavigationByRole reads a page of each role's own and checks that
// the header links exactly the sections the role may work in, the page's
// own marked current; a city official's links its current cycle once
// there is one past draft.
func TestNavigationByRole(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		role, page, current string
		links               []string
	}{
		{"admin", "/cycles", "/cycles", []string{"/", "/cycles", "/schemes", "/regions", "/surveys", "/jobs", "/docs"}},
		{"secadmin", "/users", "/users", []string{"/", "/users", "/organisations", "/docs"}},
		{"auditor", "/audit", "/audit", []string{"/", "/audit", "/docs"}},
		{"city", "/", "/", []string{"/", "/docs"}},
		{"city", "collect", "collect", []string{"/", "collect", "/docs"}},
		{"contractor", "/surveys", "/surveys", []string{"/", "/surveys", "/docs"}},
		{"anonymous", "/login", "", []string{"/docs", "/login"}},
	}
	for _, tt := range tests {
		t.Run(tt.role+" "+tt.page, func(t *testing.T) {
			f.t = t
			if tt.page == "collect" {
				// A cycle past draft: the city official's navigation links
				// its collect page.
				collect := "/cycles/" + f.collectingCycle().ID + "/collect"
				tt.page, tt.current, tt.links[1] = collect, collect, collect
			}
			resp, body := f.do(f.as(tt.role, request("GET", tt.page, nil)))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d", tt.page, resp.StatusCode)
			}
			links, current := navLinks(t, body)
			if !slices.Equal(links, tt.links) {
				t.Errorf("navigation %q, want %q", links, tt.links)
			}
			if current != tt.current {
				t.Errorf("current section %q, want %q", current, tt.current)
			}
		})
	}
}
