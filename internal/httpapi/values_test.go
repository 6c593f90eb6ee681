package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
)

// TestValuesWorkflow walks one value through the API: a city official
// enters and submits its region's value, an admin verifies it, and the
// history shows every step; the refusals on the way are the domain's.
func TestValuesWorkflow(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	base := "/api/v1/cycles/" + cy.ID + "/values"
	item := func(region, code string, n float64, version int) map[string]any {
		return map[string]any{"items": []map[string]any{{"region_code": region, "indicator_code": code, "number": n, "version": version}}}
	}

	f.call("city", "POST", base, item("140200", "A2", 3, 0), http.StatusForbidden)
	f.call("contractor", "POST", base, item("140100", "A2", 3, 0), http.StatusForbidden)
	f.call("city", "POST", base, item("140100", "C4", 120, 0), http.StatusBadRequest)

	set := decode[struct {
		Items []struct {
			ID      string
			Version int
			Status  string
		}
	}](t, f.call("city", "POST", base, item("140100", "A2", 3, 0), http.StatusOK))
	v := set.Items[0]
	if v.Status != "draft" || v.Version != 1 {
		t.Fatalf("new value %+v", v)
	}
	resp, body := f.do(f.as("admin", request("POST", base, item("140100", "A2", 5, 0))))
	wantProblem(t, resp, body, http.StatusConflict)
	if !strings.Contains(string(body), `"current_version"`) {
		t.Fatalf("stale write without the current version: %s", body)
	}
	f.call("city", "POST", base+"/submit", map[string]any{"region_code": "140100"}, http.StatusOK)
	f.call("city", "POST", base+"/"+v.ID+"/review", map[string]any{"verify": true, "version": 2}, http.StatusForbidden)
	f.call("admin", "POST", base+"/"+v.ID+"/review", map[string]any{"verify": true, "version": 2}, http.StatusOK)

	hist := decode[struct {
		Items []struct{ Action, Username string }
	}](t, f.call("city", "GET", base+"/"+v.ID+"/history", nil, http.StatusOK))
	var steps []string
	for _, r := range hist.Items {
		steps = append(steps, r.Action+":"+r.Username)
	}
	got := strings.Join(steps, " ")
	for _, want := range []string{"set:city", "conflict:admin", "submit:city", "verify:admin"} {
		if !strings.Contains(got, want) {
			t.Fatalf("history %q lacks %s", got, want)
		}
	}
	f.call("city2", "GET", base+"/"+v.ID+"/history", nil, http.StatusNotFound)
	f.call("city2", "GET", base+"?region=140100", nil, http.StatusForbidden)

	f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/transitions", map[string]string{"to": "scoring"}, http.StatusOK)
	f.call("admin", "POST", base, item("140100", "A3", 1, 0), http.StatusConflict)
}

// TestConcurrentEditsOfOneValue has two admins save the same value from
// the same version at the same moment: exactly one wins, the other gets a
// 409 problem. The value's revision history shows the winner's revision and
// the loser's refused attempt; the audit log has both requests under the
// value, with their statuses.
func TestConcurrentEditsOfOneValue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixtureOn(t, db, web.Options{LoginRate: 1000})
		f.accounts["admin2"] = f.newAccount(auth.NewUser{Username: "admin2", DisplayName: "admin2", Role: auth.RoleAdmin, Password: fixturePassword})
		cy := f.collectingCycle()
		base := "/api/v1/cycles/" + cy.ID + "/values"
		item := func(n float64, version int) map[string]any {
			return map[string]any{"items": []map[string]any{{"region_code": "140100", "indicator_code": "A2", "number": n, "version": version}}}
		}
		created := decode[struct{ Items []struct{ ID string } }](t, f.call("city", "POST", base, item(3, 0), http.StatusOK))
		id := created.Items[0].ID

		admins := []string{"admin", "admin2"}
		type answer struct {
			resp *http.Response
			body []byte
		}
		answers := make([]answer, len(admins))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, who := range admins {
			req := f.as(who, request("POST", base, item(float64(10+i), 1)))
			wg.Go(func() {
				<-start
				resp, err := f.srv.App().Test(req, -1)
				if err != nil {
					t.Errorf("%s: %v", who, err)
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				answers[i] = answer{resp, body}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		winner, loser := -1, -1
		for i, a := range answers {
			switch a.resp.StatusCode {
			case http.StatusOK:
				winner = i
			case http.StatusConflict:
				loser = i
				wantProblem(t, a.resp, a.body, http.StatusConflict)
			}
		}
		if winner < 0 || loser < 0 {
			t.Fatalf("answers %d %s and %d %s, want one 200 and one 409", answers[0].resp.StatusCode, answers[0].body, answers[1].resp.StatusCode, answers[1].body)
		}

		values := decode[struct {
			Items []struct {
				ID      string
				Number  float64
				Version int
			}
		}](t, f.call("admin", "GET", base+"?region=140100", nil, http.StatusOK))
		for _, v := range values.Items {
			if v.ID == id && (v.Number != float64(10+winner) || v.Version != 2) {
				t.Fatalf("stored value %+v, want the winner's %d at version 2", v, 10+winner)
			}
		}

		hist := decode[struct {
			Items []struct {
				Action, Username string
				Version          int
			}
		}](t, f.call("admin", "GET", base+"/"+id+"/history", nil, http.StatusOK))
		var steps []string
		for _, r := range hist.Items {
			steps = append(steps, r.Action+":"+r.Username)
		}
		slices.Sort(steps)
		want := []string{"conflict:" + admins[loser], "set:" + admins[winner], "set:city"}
		if !slices.Equal(steps, want) {
			t.Fatalf("history %v, want %v", steps, want)
		}

		trail := decode[struct {
			Items []struct {
				Username, Result string
				Status           int
			}
		}](t, f.call("auditor", "GET", "/api/v1/audit?action=values.set&object="+url.QueryEscape("cycle:"+cy.ID+":140100:A2"), nil, http.StatusOK))
		var attempts []string
		for _, e := range trail.Items {
			attempts = append(attempts, fmt.Sprintf("%s:%d:%s", e.Username, e.Status, e.Result))
		}
		slices.Sort(attempts)
		want = []string{fmt.Sprintf("%s:200:success", admins[winner]), fmt.Sprintf("%s:409:failure", admins[loser]), "city:200:success"}
		slices.Sort(want)
		if !slices.Equal(attempts, want) {
			t.Fatalf("audit entries of the value %v, want %v", attempts, want)
		}
	})
}
