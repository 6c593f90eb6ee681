package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/jobs"
)

// TestProbe13SeparationOfDuties: the assessment manager, the security
// administrator and the auditor each do their own work and none of the
// others', and no account holds two roles.
func TestProbe13SeparationOfDuties(t *testing.T) {
	f := newFixture(t)
	cy := f.sharedCycle()
	newUser := map[string]any{"username": "someone", "role": "city", "region_code": "140200"}
	tests := []struct {
		who, method, path string
		body              any
		status            int
	}{
		// The assessment manager manages neither users nor the audit log.
		{"admin", "POST", "/api/v1/users", newUser, http.StatusForbidden},
		{"admin", "GET", "/api/v1/users", nil, http.StatusForbidden},
		{"admin", "POST", "/api/v1/users/" + f.accounts["city"].user.ID + "/password", nil, http.StatusForbidden},
		{"admin", "POST", "/api/v1/organisations", map[string]string{"name": "某机构", "kind": "contractor"}, http.StatusForbidden},
		{"admin", "GET", "/api/v1/audit", nil, http.StatusForbidden},
		{"admin", "POST", "/api/v1/audit/exports", nil, http.StatusForbidden},
		{"admin", "GET", "/users", nil, http.StatusForbidden},
		{"admin", "GET", "/audit", nil, http.StatusForbidden},
		{"admin", "POST", "/api/v1/cycles/" + cy.ID + "/values", map[string]any{"items": []map[string]any{{"region_code": "140100", "indicator_code": "A2", "number": 3}}}, http.StatusOK},
		// The security administrator touches no assessment data and no audit log.
		{"secadmin", "GET", "/api/v1/cycles", nil, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/cycles", map[string]any{"year": 2099}, http.StatusForbidden},
		{"secadmin", "GET", "/api/v1/cycles/" + cy.ID + "/values", nil, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/cycles/" + cy.ID + "/values", map[string]any{"items": []map[string]any{}}, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/cycles/" + cy.ID + "/runs", nil, http.StatusForbidden},
		{"secadmin", "GET", "/api/v1/survey-projects", nil, http.StatusForbidden},
		{"secadmin", "GET", "/api/v1/audit", nil, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/audit/exports", nil, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/users", newUser, http.StatusCreated},
		// Nor does it make or reset an administrative account, whose
		// password it would then know: that is done on the host.
		{"secadmin", "POST", "/api/v1/users", map[string]any{"username": "second-auditor", "role": "auditor"}, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/users", map[string]any{"username": "second-manager", "role": "admin"}, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/users/" + f.accounts["auditor"].user.ID + "/password", nil, http.StatusForbidden},
		{"secadmin", "POST", "/api/v1/users/" + f.accounts["admin"].user.ID + "/password", nil, http.StatusForbidden},
		{"secadmin", "GET", "/users", nil, http.StatusOK},
		// The auditor reads and exports the audit log, nothing else.
		{"auditor", "GET", "/api/v1/audit?limit=5", nil, http.StatusOK},
		{"auditor", "GET", "/audit?action=users.create", nil, http.StatusOK},
		{"auditor", "GET", "/api/v1/cycles", nil, http.StatusForbidden},
		{"auditor", "GET", "/api/v1/regions", nil, http.StatusForbidden},
		{"auditor", "GET", "/api/v1/users", nil, http.StatusForbidden},
		{"auditor", "POST", "/api/v1/users", newUser, http.StatusForbidden},
		{"auditor", "GET", "/api/v1/survey-projects", nil, http.StatusForbidden},
		{"auditor", "GET", "/cycles/" + cy.ID + "/collect", nil, http.StatusForbidden},
		// No account holds two roles.
		{"secadmin", "POST", "/api/v1/users", map[string]any{"username": "both", "role": "admin,secadmin"}, http.StatusBadRequest},
		{"secadmin", "POST", "/api/v1/users", map[string]any{"username": "both", "role": []string{"admin", "auditor"}}, http.StatusBadRequest},
		{"secadmin", "PATCH", "/api/v1/users/" + f.accounts["admin"].user.ID, map[string]any{"role": "auditor"}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.method+" "+strings.SplitN(tt.path, "?", 2)[0], func(t *testing.T) {
			f.t = t
			resp, body := f.do(f.as(tt.who, request(tt.method, tt.path, tt.body)))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tt.status, body)
			}
		})
	}

	t.Run("an audit export is the auditor's alone", func(t *testing.T) {
		f.t = t
		j := decode[jobs.Job](t, f.call("auditor", "POST", "/api/v1/audit/exports", map[string]string{"action": "users.create"}, http.StatusAccepted))
		f.call("auditor", "GET", "/api/v1/jobs/"+j.ID, nil, http.StatusOK)
		f.call("admin", "GET", "/api/v1/jobs/"+j.ID, nil, http.StatusNotFound)
		f.call("admin", "GET", "/api/v1/jobs/"+j.ID+"/result", nil, http.StatusNotFound)
		if b := f.call("admin", "GET", "/api/v1/jobs", nil, http.StatusOK); strings.Contains(string(b), j.ID) {
			t.Errorf("the admin's job list shows the audit export: %s", b)
		}
	})

	t.Run("the pages offer each role its work", func(t *testing.T) {
		f.t = t
		for who, want := range map[string]string{"secadmin": `href="/users"`, "auditor": `href="/audit"`} {
			if b := f.call(who, "GET", "/", nil, http.StatusOK); !strings.Contains(string(b), want) || strings.Contains(string(b), "/collect") {
				t.Errorf("home page of %s lacks %s or shows cycles: %s", who, want, b)
			}
		}
		b := string(f.call("secadmin", "GET", "/users", nil, http.StatusOK))
		for _, want := range []string{`action="/users/` + f.accounts["city"].user.ID + `/disabled"`, `/password"`, `/throttle"`, `name="_csrf"`} {
			if !strings.Contains(b, want) {
				t.Errorf("users page lacks %s", want)
			}
		}
		if b := string(f.call("auditor", "GET", "/audit?action=users.create", nil, http.StatusOK)); !strings.Contains(b, `action="/audit/export"`) || !strings.Contains(b, "users.create") {
			t.Errorf("audit page lacks the export form or the entries: %s", b)
		}
	})
}
