package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// who may call each route: written out by hand, independently of the route
// table, so that a change of access in routes.go must be made twice.
var allowed = map[string][]string{
	"GET /healthz":                       {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"GET /readyz":                        {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"GET /openapi.json":                  {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"GET /":                              {"admin", "secadmin", "auditor", "contractor", "city"},
	"GET /login":                         {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"POST /login":                        {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"POST /logout":                       {"admin", "secadmin", "auditor", "contractor", "city"},
	"GET /docs":                          {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"GET /users":                         {"secadmin"},
	"POST /users/:id/disabled":           {"secadmin"},
	"POST /users/:id/password":           {"secadmin"},
	"POST /users/:id/throttle":           {"secadmin"},
	"GET /audit":                         {"auditor"},
	"POST /audit/export":                 {"auditor"},
	"GET /cycles":                        {"admin"},
	"POST /cycles":                       {"admin"},
	"GET /cycles/:id":                    {"admin"},
	"POST /cycles/:id/transitions":       {"admin"},
	"GET /cycles/:id/runs":               {"admin"},
	"POST /cycles/:id/runs":              {"admin"},
	"POST /cycles/:id/runs/:run/publish": {"admin"},
	// Schemes pages.
	"GET /schemes":                                        {"admin"},
	"POST /schemes":                                       {"admin"},
	"POST /schemes/default":                               {"admin"},
	"GET /schemes/:id":                                    {"admin"},
	"GET /schemes/:id/download":                           {"admin"},
	"GET /schemes/:id/diff":                               {"admin"},
	"POST /cycles/:id/scheme":                             {"admin"},
	"POST /surveys":                                       {"admin"}, // Surveys pages: commission, accept, return, lock.
	"POST /surveys/:id/accept":                            {"admin"},
	"POST /surveys/:id/return":                            {"admin"},
	"POST /surveys/:id/lock":                              {"admin"},
	"GET /cycles/:id/collect":                             {"admin", "city"},
	"GET /cycles/:id/overview":                            {"admin", "city"},
	"GET /cycles/:id/diff":                                {"admin"},
	"GET /cycles/:id/regions/:code":                       {"admin", "city"},
	"GET /cycles/:id/report":                              {"admin", "city"},
	"GET /cycles/:id/regions/:code/report":                {"admin", "city"},
	"POST /cycles/:id/collect/import":                     {"admin", "city"},
	"POST /cycles/:id/collect/evidence":                   {"admin", "city"},
	"POST /cycles/:id/collect/values":                     {"admin", "city"},
	"GET /cycles/:id/review":                              {"admin"},
	"POST /cycles/:id/review/:value/verify":               {"admin"},
	"POST /cycles/:id/review/:value/return":               {"admin"},
	"POST /cycles/:id/review/verify-region":               {"admin"},
	"GET /surveys":                                        {"admin", "contractor"},
	"GET /surveys/:id":                                    {"admin", "contractor"},
	"POST /surveys/:id/upload":                            {"admin", "contractor"},
	"POST /surveys/:id/submit":                            {"admin", "contractor"},
	"GET /static/:file":                                   {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"GET /static/vendor/:file":                            {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"GET /static/vendor/maps/:file":                       {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"POST /api/v1/auth/login":                             {"anonymous", "admin", "secadmin", "auditor", "contractor", "city"},
	"POST /api/v1/auth/logout":                            {"admin", "secadmin", "auditor", "contractor", "city"},
	"GET /api/v1/me":                                      {"admin", "secadmin", "auditor", "contractor", "city"},
	"PUT /api/v1/me/password":                             {"admin", "secadmin", "auditor", "contractor", "city"},
	"GET /api/v1/tokens":                                  {"admin", "secadmin", "auditor", "contractor", "city"},
	"POST /api/v1/tokens":                                 {"admin", "secadmin", "auditor", "contractor", "city"},
	"DELETE /api/v1/tokens/:id":                           {"admin", "secadmin", "auditor", "contractor", "city"},
	"GET /api/v1/users":                                   {"secadmin"},
	"POST /api/v1/users":                                  {"secadmin"},
	"GET /api/v1/users/:id":                               {"secadmin"},
	"PATCH /api/v1/users/:id":                             {"secadmin"},
	"POST /api/v1/users/:id/password":                     {"secadmin"},
	"DELETE /api/v1/users/:id/throttle":                   {"secadmin"},
	"GET /api/v1/organisations":                           {"admin", "secadmin"},
	"POST /api/v1/organisations":                          {"secadmin"},
	"GET /api/v1/organisations/:id":                       {"admin", "secadmin", "contractor"},
	"GET /api/v1/regions":                                 {"admin", "secadmin", "contractor", "city"},
	"POST /api/v1/regions":                                {"admin"},
	"POST /api/v1/regions/import":                         {"admin"},
	"GET /api/v1/regions/:code":                           {"admin", "secadmin", "contractor", "city"},
	"PUT /api/v1/regions/:code":                           {"admin"},
	"GET /api/v1/cycles":                                  {"admin", "contractor", "city"},
	"POST /api/v1/cycles":                                 {"admin"},
	"GET /api/v1/cycles/:id":                              {"admin", "contractor", "city"},
	"PUT /api/v1/cycles/:id/scheme":                       {"admin"},
	"POST /api/v1/cycles/:id/transitions":                 {"admin"},
	"GET /api/v1/schemes":                                 {"admin", "city"},
	"POST /api/v1/schemes":                                {"admin"},
	"GET /api/v1/schemes/:id":                             {"admin", "city"},
	"PUT /api/v1/schemes/:id":                             {"admin"},
	"GET /api/v1/cycles/:id/values":                       {"admin", "city"},
	"POST /api/v1/cycles/:id/values":                      {"admin", "city"},
	"POST /api/v1/cycles/:id/values/submit":               {"admin", "city"},
	"POST /api/v1/cycles/:id/values/:value/review":        {"admin"},
	"GET /api/v1/cycles/:id/values/:value/history":        {"admin", "city"},
	"GET /api/v1/cycles/:id/values/template":              {"admin", "city"},
	"POST /api/v1/cycles/:id/values/import":               {"admin", "city"},
	"GET /api/v1/cycles/:id/evidence":                     {"admin", "city"},
	"POST /api/v1/cycles/:id/evidence":                    {"admin", "city"},
	"GET /api/v1/cycles/:id/evidence/:evidence":           {"admin", "city"},
	"POST /api/v1/cycles/:id/evidence/:evidence/withdraw": {"admin", "city"},
	"POST /api/v1/cycles/:id/runs":                        {"admin"},
	"GET /api/v1/cycles/:id/runs":                         {"admin", "city"},
	"GET /api/v1/runs/:id":                                {"admin", "city"},
	"GET /api/v1/runs/:id/regions/:code":                  {"admin", "city"},
	"POST /api/v1/runs/:id/publish":                       {"admin"},
	"POST /api/v1/runs/:id/report":                        {"admin"},
	"GET /api/v1/runs/:id/sensitivity":                    {"admin", "city"},
	"GET /api/v1/runs/:id/diff/:other":                    {"admin"},
	"GET /api/v1/runs/:id/workbook":                       {"admin", "city"},
	"GET /api/v1/runs/:id/handover":                       {"admin", "city"},
	"GET /api/v1/cycles/:id/completeness":                 {"admin", "city"},
	"GET /api/v1/questionnaires":                          {"admin"},
	"POST /api/v1/questionnaires":                         {"admin"},
	"GET /api/v1/questionnaires/:id":                      {"admin"},
	"POST /api/v1/cycles/:id/survey-projects":             {"admin"},
	"GET /api/v1/survey-projects":                         {"admin", "contractor"},
	"GET /api/v1/survey-projects/:id":                     {"admin", "contractor"},
	"PUT /api/v1/survey-projects/:id/mapping":             {"admin", "contractor"},
	"POST /api/v1/survey-projects/:id/submit":             {"admin", "contractor"},
	"POST /api/v1/survey-projects/:id/accept":             {"admin"},
	"POST /api/v1/survey-projects/:id/return":             {"admin"},
	"POST /api/v1/survey-projects/:id/lock":               {"admin"},
	"GET /api/v1/survey-projects/:id/template":            {"admin", "contractor"},
	"POST /api/v1/survey-projects/:id/batches":            {"admin", "contractor"},
	"GET /api/v1/survey-projects/:id/batches":             {"admin", "contractor"},
	"GET /api/v1/survey-projects/:id/quality":             {"admin", "contractor"},
	"GET /api/v1/survey-batches/:id":                      {"admin", "contractor"},
	"GET /api/v1/survey-batches/:id/report":               {"admin", "contractor"},
	"POST /api/v1/survey-batches/:id/withdraw":            {"admin", "contractor"},
	"GET /api/v1/cycles/:id/survey-indices":               {"admin", "city"},
	"GET /api/v1/audit":                                   {"auditor"},
	"POST /api/v1/audit/exports":                          {"auditor"},
	"GET /api/v1/jobs":                                    {"admin", "secadmin", "auditor", "contractor", "city"},
	"GET /api/v1/jobs/:id":                                {"admin", "secadmin", "auditor", "contractor", "city"},
	"GET /api/v1/jobs/:id/result":                         {"admin", "secadmin", "auditor", "contractor", "city"},
	// People pages: regions, users and organisations.
	"GET /regions":              {"admin"},
	"POST /regions":             {"admin"},
	"GET /regions/template.csv": {"admin"},
	"POST /regions/import":      {"admin"},
	"GET /regions/:code":        {"admin"},
	"POST /regions/:code":       {"admin"},
	"POST /users":               {"secadmin"},
	"GET /organisations":        {"secadmin"},
	"POST /organisations":       {"secadmin"},
	// Ops pages
	"GET /jobs": {"admin", "secadmin", "auditor", "contractor", "city"},
	// Users pages: edit
	"GET /users/:id":  {"secadmin"},
	"POST /users/:id": {"secadmin"},
}

// callers are the roles the matrix tries every route as, and no role.
var callers = []string{"anonymous", "admin", "secadmin", "auditor", "contractor", "city"}

// sample builds, for a route and a caller, a request that succeeds when
// the caller is allowed, and the status it then gets. Objects addressed by
// id belong to the caller, so that only the role rule can refuse them.
type sample func(f *fixture, who string) (*http.Request, int)

func json200(method, path string, body any) sample {
	return fixed(method, path, body, http.StatusOK)
}

func fixed(method, path string, body any, status int) sample {
	return func(*fixture, string) (*http.Request, int) { return request(method, path, body), status }
}

var samples = map[string]sample{
	"GET /healthz":      json200("GET", "/healthz", nil),
	"GET /readyz":       json200("GET", "/readyz", nil),
	"GET /openapi.json": json200("GET", "/openapi.json", nil),
	"GET /":             json200("GET", "/", nil),
	"GET /login": func(_ *fixture, who string) (*http.Request, int) {
		if who == "anonymous" {
			return request("GET", "/login", nil), http.StatusOK
		}
		return request("GET", "/login", nil), http.StatusSeeOther // already signed in
	},
	"POST /login": func(f *fixture, _ string) (*http.Request, int) {
		a := f.newAccount(auth.NewUser{Username: f.uniqueName("form"), DisplayName: "f", Role: auth.RoleAdmin, Password: fixturePassword})
		return f.loginForm(a.user.Username, fixturePassword), http.StatusSeeOther
	},
	"POST /logout":                  fixed("POST", "/logout", nil, http.StatusSeeOther),
	"GET /docs":                     json200("GET", "/docs", nil),
	"GET /static/:file":             json200("GET", "/static/app.css", nil),
	"GET /static/vendor/:file":      json200("GET", "/static/vendor/echarts.min.js", nil),
	"GET /static/vendor/maps/:file": json200("GET", "/static/vendor/maps/shanxi.js", nil),
	"POST /api/v1/auth/login": func(f *fixture, _ string) (*http.Request, int) {
		a := f.newAccount(auth.NewUser{Username: f.uniqueName("api"), DisplayName: "a", Role: auth.RoleCity, RegionCode: "140100", Password: fixturePassword})
		return request("POST", "/api/v1/auth/login", map[string]string{"username": a.user.Username, "password": fixturePassword}), http.StatusOK
	},
	"POST /api/v1/auth/logout": fixed("POST", "/api/v1/auth/logout", nil, http.StatusNoContent),
	"GET /api/v1/me":           json200("GET", "/api/v1/me", nil),
	"PUT /api/v1/me/password": func(f *fixture, who string) (*http.Request, int) {
		cur := fixturePassword
		if a, ok := f.accounts[who]; ok {
			cur = a.password
			a.password = "Rotated-" + cur
		}
		// The caller keeps its tokens, with which the matrix goes on.
		return request("PUT", "/api/v1/me/password", map[string]any{"current_password": cur, "new_password": "Rotated-" + cur, "keep_tokens": true}), http.StatusNoContent
	},
	"GET /api/v1/tokens":  json200("GET", "/api/v1/tokens", nil),
	"POST /api/v1/tokens": fixed("POST", "/api/v1/tokens", map[string]any{"name": "ci", "expires_in_days": 7}, http.StatusCreated),
	"DELETE /api/v1/tokens/:id": func(f *fixture, who string) (*http.Request, int) {
		owner := f.accounts["admin"].user.ID
		if a, ok := f.accounts[who]; ok {
			owner = a.user.ID
		}
		_, t, err := f.auth.IssueToken(context.Background(), owner, "spare", 24*time.Hour)
		if err != nil {
			f.t.Fatal(err)
		}
		return request("DELETE", "/api/v1/tokens/"+t.ID, nil), http.StatusNoContent
	},
	"GET /api/v1/users": json200("GET", "/api/v1/users", nil),
	"POST /api/v1/users": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/users", map[string]any{"username": f.uniqueName("new"), "display_name": "新用户", "role": "city", "region_code": "140200"}), http.StatusCreated
	},
	"GET /api/v1/users/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/users/"+f.accounts["city"].user.ID, nil), http.StatusOK
	},
	"PATCH /api/v1/users/:id": func(f *fixture, _ string) (*http.Request, int) {
		a := f.newAccount(auth.NewUser{Username: f.uniqueName("patch"), DisplayName: "p", Role: auth.RoleAdmin})
		return request("PATCH", "/api/v1/users/"+a.user.ID, map[string]any{"disabled": true}), http.StatusOK
	},
	"POST /api/v1/users/:id/password": func(f *fixture, _ string) (*http.Request, int) {
		a := f.newAccount(auth.NewUser{Username: f.uniqueName("reset"), DisplayName: "r", Role: auth.RoleCity, RegionCode: "140200"})
		return request("POST", "/api/v1/users/"+a.user.ID+"/password", nil), http.StatusOK
	},
	"DELETE /api/v1/users/:id/throttle": func(f *fixture, _ string) (*http.Request, int) {
		return request("DELETE", "/api/v1/users/"+f.accounts["city2"].user.ID+"/throttle", nil), http.StatusOK
	},
	"GET /users": json200("GET", "/users", nil),
	"POST /users/:id/disabled": func(f *fixture, _ string) (*http.Request, int) {
		a := f.newAccount(auth.NewUser{Username: f.uniqueName("pdis"), DisplayName: "p", Role: auth.RoleAdmin})
		return form("POST", "/users/"+a.user.ID+"/disabled", url.Values{"disabled": {"true"}}), http.StatusSeeOther
	},
	"POST /users/:id/password": func(f *fixture, _ string) (*http.Request, int) {
		a := f.newAccount(auth.NewUser{Username: f.uniqueName("preset"), DisplayName: "r", Role: auth.RoleCity, RegionCode: "140200"})
		return form("POST", "/users/"+a.user.ID+"/password", nil), http.StatusOK
	},
	"POST /users/:id/throttle": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/users/"+f.accounts["city2"].user.ID+"/throttle", nil), http.StatusSeeOther
	},
	// People pages: regions, users and organisations.
	"GET /regions": json200("GET", "/regions", nil),
	"POST /regions": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/regions", url.Values{"code": {f.uniqueName("R")}, "name": {"页面新增县"}, "kind": {"county"}, "parent_code": {"140100"}}), http.StatusSeeOther
	},
	"GET /regions/template.csv": json200("GET", "/regions/template.csv", nil),
	"POST /regions/import": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/regions/import", nil, "file", "regions.csv",
			[]byte("code,name,kind,parent\n"+f.uniqueName("I")+",页面导入县,county,140100\n")), http.StatusSeeOther
	},
	"GET /regions/:code": json200("GET", "/regions/140100", nil),
	"POST /regions/:code": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/regions/140200", url.Values{"name": {"大同市"}, "kind": {"prefecture_city"}, "parent_code": {"140000"}}), http.StatusSeeOther
	},
	"POST /users": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/users", url.Values{"username": {f.uniqueName("page")}, "display_name": {"页面用户"}, "role": {"city"}, "region_code": {"140200"}}), http.StatusCreated
	},
	"GET /organisations": json200("GET", "/organisations", nil),
	"POST /organisations": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/organisations", url.Values{"name": {f.uniqueName("页面机构")}, "kind": {"contractor"}}), http.StatusSeeOther
	},
	"GET /audit": json200("GET", "/audit?action=cycles.create", nil),
	"POST /audit/export": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/audit/export", url.Values{"action": {"cycles.create"}}), http.StatusSeeOther
	},
	"GET /api/v1/organisations": json200("GET", "/api/v1/organisations", nil),
	"POST /api/v1/organisations": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/organisations", map[string]string{"name": f.uniqueName("调查机构"), "kind": "contractor"}), http.StatusCreated
	},
	"GET /api/v1/organisations/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/organisations/"+f.org.ID, nil), http.StatusOK
	},
	"GET /api/v1/regions": json200("GET", "/api/v1/regions", nil),
	"POST /api/v1/regions": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/regions", map[string]string{"code": f.uniqueName("P"), "name": "示范园区", "kind": "pilot_park", "parent_code": "140100"}), http.StatusCreated
	},
	"POST /api/v1/regions/import": func(f *fixture, _ string) (*http.Request, int) {
		req := request("POST", "/api/v1/regions/import", nil)
		req = httptestBody(req, "code,name,kind,parent\n"+f.uniqueName("C")+",某县,county,140100\n", "text/csv")
		return req, http.StatusOK
	},
	"GET /api/v1/regions/:code": json200("GET", "/api/v1/regions/140100", nil),
	"PUT /api/v1/regions/:code": json200("PUT", "/api/v1/regions/140200", map[string]string{"name": "大同市", "kind": "prefecture_city", "parent_code": "140000"}),
	"GET /api/v1/cycles":        json200("GET", "/api/v1/cycles", nil),
	"POST /api/v1/cycles": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/cycles", map[string]any{"year": 2000 + f.years.Add(1)}), http.StatusCreated
	},
	"GET /api/v1/cycles/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/cycles/"+f.sharedCycle().ID, nil), http.StatusOK
	},
	"PUT /api/v1/cycles/:id/scheme": func(f *fixture, _ string) (*http.Request, int) {
		return request("PUT", "/api/v1/cycles/"+f.newCycle().ID+"/scheme", map[string]string{"scheme_id": f.storedScheme().ID}), http.StatusOK
	},
	"POST /api/v1/cycles/:id/transitions": func(f *fixture, _ string) (*http.Request, int) {
		cy := f.newCycle() // with a scheme: none cannot leave draft
		if _, err := f.cycles.SetScheme(context.Background(), cy.ID, f.storedScheme().ID); err != nil {
			f.t.Fatal(err)
		}
		return request("POST", "/api/v1/cycles/"+cy.ID+"/transitions", map[string]string{"to": "collecting"}), http.StatusOK
	},
	"GET /api/v1/schemes": json200("GET", "/api/v1/schemes", nil),
	"POST /api/v1/schemes": func(f *fixture, _ string) (*http.Request, int) {
		return httptestBody(request("POST", "/api/v1/schemes", nil), defaultSchemeYAML(f), "application/yaml"), http.StatusCreated
	},
	"GET /api/v1/schemes/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/schemes/"+f.storedScheme().ID, nil), http.StatusOK
	},
	"PUT /api/v1/schemes/:id": func(f *fixture, _ string) (*http.Request, int) {
		st := f.storedScheme()
		sc, err := f.schemes.Decode(st)
		if err != nil {
			f.t.Fatal(err)
		}
		sc.Name += "（修订）"
		body, _ := sc.JSON()
		return httptestBody(request("PUT", "/api/v1/schemes/"+st.ID, nil), string(body), "application/json"), http.StatusOK
	},
	"GET /api/v1/cycles/:id/values": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/cycles/"+f.sharedCycle().ID+"/values?region=140100", nil), http.StatusOK
	},
	"POST /api/v1/cycles/:id/values": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/cycles/"+f.collectingCycle().ID+"/values", map[string]any{"items": []map[string]any{
			{"region_code": "140100", "indicator_code": "A2", "number": 3}}}), http.StatusOK
	},
	"POST /api/v1/cycles/:id/values/submit": func(f *fixture, _ string) (*http.Request, int) {
		cy, _ := f.valueOf("140100")
		return request("POST", "/api/v1/cycles/"+cy+"/values/submit", map[string]any{"region_code": "140100"}), http.StatusOK
	},
	"POST /api/v1/cycles/:id/values/:value/review": func(f *fixture, _ string) (*http.Request, int) {
		cy, v := f.valueOf("140100")
		f.call("admin", "POST", "/api/v1/cycles/"+cy+"/values/submit", map[string]any{"region_code": "140100"}, 200)
		return request("POST", "/api/v1/cycles/"+cy+"/values/"+v+"/review", map[string]any{"verify": true, "version": 2}), http.StatusOK
	},
	"GET /api/v1/cycles/:id/values/:value/history": func(f *fixture, _ string) (*http.Request, int) {
		cy, v := f.valueOf("140100")
		return request("GET", "/api/v1/cycles/"+cy+"/values/"+v+"/history", nil), http.StatusOK
	},
	"GET /cycles/:id/regions/:code": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.surveyedCycle().ID+"/regions/140100", nil), http.StatusOK
	},
	"GET /cycles/:id/report": func(f *fixture, who string) (*http.Request, int) {
		// The province report is the admins'; the route lets a city
		// official in to point them at their region's edition.
		status := http.StatusOK
		if who == "city" {
			status = http.StatusForbidden
		}
		return request("GET", "/cycles/"+f.reportedCycle().ID+"/report", nil), status
	},
	"GET /cycles/:id/regions/:code/report": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.reportedCycle().ID+"/regions/140100/report", nil), http.StatusOK
	},
	"GET /cycles/:id/diff": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.surveyedCycle().ID+"/diff", nil), http.StatusOK
	},
	"GET /cycles/:id/overview": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.surveyedCycle().ID+"/overview", nil), http.StatusOK
	},
	"GET /cycles": json200("GET", "/cycles", nil),
	"POST /cycles": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/cycles", url.Values{"year": {fmt.Sprint(2000 + f.years.Add(1))}, "name": {"页面新建周期"},
			"scheme_id": {f.storedScheme().ID}}), http.StatusSeeOther
	},
	"GET /cycles/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.sharedCycle().ID, nil), http.StatusOK
	},
	"POST /cycles/:id/transitions": func(f *fixture, _ string) (*http.Request, int) {
		cy := f.newCycle()
		if _, err := f.cycles.SetScheme(context.Background(), cy.ID, f.storedScheme().ID); err != nil {
			f.t.Fatal(err)
		}
		return form("POST", "/cycles/"+cy.ID+"/transitions", url.Values{"to": {"collecting"}}), http.StatusSeeOther
	},
	"GET /cycles/:id/runs": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.surveyedCycle().ID+"/runs", nil), http.StatusOK
	},
	"POST /cycles/:id/runs": func(f *fixture, _ string) (*http.Request, int) {
		return formRequest("/cycles/"+f.scoringCycle().ID+"/runs", "draws=50"), http.StatusSeeOther
	},
	"POST /cycles/:id/runs/:run/publish": func(f *fixture, _ string) (*http.Request, int) {
		cy := f.scoringCycle()
		return formRequest("/cycles/"+cy.ID+"/runs/"+f.scoredRunOf(cy.ID, false)+"/publish", ""), http.StatusSeeOther
	},
	// Schemes pages.
	"GET /schemes": json200("GET", "/schemes", nil),
	"POST /schemes": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/schemes", nil, "file", "scheme.yaml", []byte(defaultSchemeYAML(f))), http.StatusSeeOther
	},
	"POST /schemes/default": fixed("POST", "/schemes/default", nil, http.StatusSeeOther),
	"GET /schemes/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/schemes/"+f.storedScheme().ID, nil), http.StatusOK
	},
	"GET /schemes/:id/download": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/schemes/"+f.storedScheme().ID+"/download", nil), http.StatusOK
	},
	"GET /schemes/:id/diff": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/schemes/"+f.storedScheme().ID+"/diff?to="+f.storedScheme().ID, nil), http.StatusOK
	},
	"POST /cycles/:id/scheme": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/cycles/"+f.newCycle().ID+"/scheme", url.Values{"scheme_id": {f.storedScheme().ID}}), http.StatusSeeOther
	},
	// Surveys pages: commission, accept, return, lock.
	"POST /surveys": func(f *fixture, _ string) (*http.Request, int) {
		return form("POST", "/surveys", commissionValues(f.sharedCycle().ID, f.org.ID)), http.StatusSeeOther
	},
	"POST /surveys/:id/accept": func(f *fixture, _ string) (*http.Request, int) {
		return formRequest("/surveys/"+f.submittedProject()+"/accept", ""), http.StatusSeeOther
	},
	"POST /surveys/:id/return": func(f *fixture, _ string) (*http.Request, int) {
		return formRequest("/surveys/"+f.submittedProject()+"/return", "reason=%E8%AF%B7%E8%A1%A5%E5%85%85"), http.StatusSeeOther
	},
	"POST /surveys/:id/lock": func(f *fixture, _ string) (*http.Request, int) {
		return formRequest("/surveys/"+f.acceptedProject()+"/lock", ""), http.StatusSeeOther
	},
	// Ops pages
	"GET /jobs": json200("GET", "/jobs?state=failed&kind=evaluation:run", nil),
	// Users pages: edit
	"GET /users/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/users/"+f.accounts["city2"].user.ID, nil), http.StatusOK
	},
	"POST /users/:id": func(f *fixture, _ string) (*http.Request, int) {
		a := f.newAccount(auth.NewUser{Username: f.uniqueName("pedit"), DisplayName: "e", Role: auth.RoleCity, RegionCode: "140200"})
		return form("POST", "/users/"+a.user.ID, url.Values{"display_name": {"改名"}, "region_code": {"140200"}}), http.StatusSeeOther
	},
	"GET /cycles/:id/collect": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.sharedCycle().ID+"/collect?region=140100", nil), http.StatusOK
	},
	"POST /cycles/:id/collect/import": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/cycles/"+f.sharedCycle().ID+"/collect/import", map[string]string{"region_code": "140100"}, "file", "values.csv",
			[]byte("地区代码,指标代码,数值\n140100,B3,2\n")), http.StatusOK
	},
	"POST /cycles/:id/collect/values": func(f *fixture, _ string) (*http.Request, int) {
		return httptestBody(request("POST", "/cycles/"+f.sharedCycle().ID+"/collect/values", nil),
			"region_code=140100&ver.B3=0&v.B3=2", "application/x-www-form-urlencoded"), http.StatusOK
	},
	"POST /cycles/:id/collect/evidence": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/cycles/"+f.sharedCycle().ID+"/collect/evidence",
			map[string]string{"region_code": "140100", "indicator_code": "F1"}, "file", "预算.pdf", f.uniquePDF()), http.StatusCreated
	},
	"GET /cycles/:id/review": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/cycles/"+f.sharedCycle().ID+"/review", nil), http.StatusOK
	},
	"POST /cycles/:id/review/:value/verify": func(f *fixture, _ string) (*http.Request, int) {
		cy, v := f.submittedValueOf("140100")
		return formRequest("/cycles/"+cy+"/review/"+v+"/verify", "version=2"), http.StatusSeeOther
	},
	"POST /cycles/:id/review/:value/return": func(f *fixture, _ string) (*http.Request, int) {
		cy, v := f.submittedValueOf("140100")
		return formRequest("/cycles/"+cy+"/review/"+v+"/return", "version=2&comment=%E8%AF%B7%E6%A0%B8%E5%AE%9E"), http.StatusSeeOther
	},
	"POST /cycles/:id/review/verify-region": func(f *fixture, _ string) (*http.Request, int) {
		cy, _ := f.submittedValueOf("140100")
		return formRequest("/cycles/"+cy+"/review/verify-region", "region_code=140100&confirm=on"), http.StatusSeeOther
	},
	"GET /surveys": json200("GET", "/surveys", nil),
	"GET /surveys/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/surveys/"+f.surveyProject(f.sharedCycle().ID, f.org), nil), http.StatusOK
	},
	"POST /surveys/:id/upload": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/surveys/"+f.surveyProject(f.sharedCycle().ID, f.org)+"/upload", nil,
			"file", "答卷.csv", f.uniqueSurveyFile()), http.StatusSeeOther
	},
	"POST /surveys/:id/submit": func(f *fixture, _ string) (*http.Request, int) {
		project, _ := f.validBatch()
		return request("POST", "/surveys/"+project+"/submit", nil), http.StatusSeeOther
	},
	"GET /api/v1/cycles/:id/values/template": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/cycles/"+f.sharedCycle().ID+"/values/template?region=140100", nil), http.StatusOK
	},
	"POST /api/v1/cycles/:id/values/import": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/api/v1/cycles/"+f.sharedCycle().ID+"/values/import", nil, "file", "values.csv",
			[]byte("地区代码,指标代码,数值\n140100,B2,6\n")), http.StatusOK
	},
	"GET /api/v1/cycles/:id/evidence": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/cycles/"+f.sharedCycle().ID+"/evidence?region=140100", nil), http.StatusOK
	},
	"POST /api/v1/cycles/:id/evidence": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/api/v1/cycles/"+f.sharedCycle().ID+"/evidence",
			map[string]string{"region_code": "140100", "indicator_code": "F1"}, "file", "预算.pdf", f.uniquePDF()), http.StatusCreated
	},
	"GET /api/v1/cycles/:id/evidence/:evidence": func(f *fixture, _ string) (*http.Request, int) {
		cy, ev := f.evidenceOf("140100")
		return request("GET", "/api/v1/cycles/"+cy+"/evidence/"+ev, nil), http.StatusOK
	},
	"POST /api/v1/cycles/:id/evidence/:evidence/withdraw": func(f *fixture, _ string) (*http.Request, int) {
		cy, ev := f.evidenceOf("140100")
		return request("POST", "/api/v1/cycles/"+cy+"/evidence/"+ev+"/withdraw", nil), http.StatusOK
	},
	"POST /api/v1/cycles/:id/runs": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/cycles/"+f.scoringCycle().ID+"/runs", nil), http.StatusAccepted
	},
	"GET /api/v1/cycles/:id/runs": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/cycles/"+f.sharedCycle().ID+"/runs", nil), http.StatusOK
	},
	"GET /api/v1/runs/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/runs/"+f.scoredRun(true), nil), http.StatusOK
	},
	"GET /api/v1/runs/:id/regions/:code": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/runs/"+f.scoredRun(true)+"/regions/140100", nil), http.StatusOK
	},
	"GET /api/v1/runs/:id/sensitivity": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/runs/"+f.scoredRun(true)+"/sensitivity", nil), http.StatusOK
	},
	"GET /api/v1/runs/:id/workbook": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/runs/"+f.scoredRun(true)+"/workbook", nil), http.StatusOK
	},
	"GET /api/v1/runs/:id/handover": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/runs/"+f.scoredRun(true)+"/handover?format=csv", nil), http.StatusOK
	},
	"GET /api/v1/runs/:id/diff/:other": func(f *fixture, _ string) (*http.Request, int) {
		run := f.scoredRun(false)
		return request("GET", "/api/v1/runs/"+run+"/diff/"+run, nil), http.StatusOK
	},
	"POST /api/v1/runs/:id/publish": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/runs/"+f.scoredRun(false)+"/publish", nil), http.StatusOK
	},
	"POST /api/v1/runs/:id/report": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/runs/"+f.publishedRun(f.reportedCycle().ID).ID+"/report", nil), http.StatusAccepted
	},
	"GET /api/v1/cycles/:id/completeness": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/cycles/"+f.sharedCycle().ID+"/completeness", nil), http.StatusOK
	},
	"GET /api/v1/questionnaires": json200("GET", "/api/v1/questionnaires", nil),
	"POST /api/v1/questionnaires": func(f *fixture, _ string) (*http.Request, int) {
		q := questionnaire.Default()
		q.Code = f.uniqueName("q")
		y, err := q.YAML()
		if err != nil {
			f.t.Fatal(err)
		}
		return httptestBody(request("POST", "/api/v1/questionnaires", nil), string(y), "application/yaml"), http.StatusCreated
	},
	"GET /api/v1/questionnaires/:id": func(f *fixture, _ string) (*http.Request, int) {
		sq, err := f.surveys.EnsureQuestionnaire(context.Background(), questionnaire.Default())
		if err != nil {
			f.t.Fatal(err)
		}
		return request("GET", "/api/v1/questionnaires/"+sq.ID, nil), http.StatusOK
	},
	"POST /api/v1/cycles/:id/survey-projects": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/cycles/"+f.sharedCycle().ID+"/survey-projects", surveyInput(f.org.ID, "140100")), http.StatusCreated
	},
	"GET /api/v1/survey-projects": json200("GET", "/api/v1/survey-projects", nil),
	"GET /api/v1/survey-projects/:id": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/survey-projects/"+f.surveyProject(f.sharedCycle().ID, f.org), nil), http.StatusOK
	},
	"PUT /api/v1/survey-projects/:id/mapping": func(f *fixture, _ string) (*http.Request, int) {
		return request("PUT", "/api/v1/survey-projects/"+f.surveyProject(f.sharedCycle().ID, f.org)+"/mapping",
			map[string]any{"columns": map[string]string{"地市": "region"}}), http.StatusOK
	},
	"POST /api/v1/survey-projects/:id/submit": func(f *fixture, _ string) (*http.Request, int) {
		project, _ := f.validBatch()
		return request("POST", "/api/v1/survey-projects/"+project+"/submit", nil), http.StatusOK
	},
	"POST /api/v1/survey-projects/:id/accept": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/survey-projects/"+f.submittedProject()+"/accept", nil), http.StatusOK
	},
	"POST /api/v1/survey-projects/:id/return": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/survey-projects/"+f.submittedProject()+"/return", map[string]string{"reason": "样本不足"}), http.StatusOK
	},
	"POST /api/v1/survey-projects/:id/lock": func(f *fixture, _ string) (*http.Request, int) {
		return request("POST", "/api/v1/survey-projects/"+f.acceptedProject()+"/lock", nil), http.StatusOK
	},
	"GET /api/v1/survey-projects/:id/template": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/survey-projects/"+f.surveyProject(f.sharedCycle().ID, f.org)+"/template", nil), http.StatusOK
	},
	"POST /api/v1/survey-projects/:id/batches": func(f *fixture, _ string) (*http.Request, int) {
		return upload("POST", "/api/v1/survey-projects/"+f.surveyProject(f.sharedCycle().ID, f.org)+"/batches", nil,
			"file", "答卷.csv", f.uniqueSurveyFile()), http.StatusAccepted
	},
	"GET /api/v1/survey-projects/:id/batches": func(f *fixture, _ string) (*http.Request, int) {
		project, _ := f.validBatch()
		return request("GET", "/api/v1/survey-projects/"+project+"/batches", nil), http.StatusOK
	},
	"GET /api/v1/survey-projects/:id/quality": func(f *fixture, _ string) (*http.Request, int) {
		project, _ := f.validBatch()
		return request("GET", "/api/v1/survey-projects/"+project+"/quality", nil), http.StatusOK
	},
	"GET /api/v1/survey-batches/:id": func(f *fixture, _ string) (*http.Request, int) {
		_, batch := f.validBatch()
		return request("GET", "/api/v1/survey-batches/"+batch, nil), http.StatusOK
	},
	"GET /api/v1/survey-batches/:id/report": func(f *fixture, _ string) (*http.Request, int) {
		_, batch := f.validBatch()
		return request("GET", "/api/v1/survey-batches/"+batch+"/report?format=xlsx", nil), http.StatusOK
	},
	"POST /api/v1/survey-batches/:id/withdraw": func(f *fixture, _ string) (*http.Request, int) {
		_, batch := f.validBatch()
		return request("POST", "/api/v1/survey-batches/"+batch+"/withdraw", nil), http.StatusOK
	},
	"GET /api/v1/cycles/:id/survey-indices": func(f *fixture, _ string) (*http.Request, int) {
		return request("GET", "/api/v1/cycles/"+f.surveyedCycle().ID+"/survey-indices", nil), http.StatusOK
	},
	"GET /api/v1/audit":          json200("GET", "/api/v1/audit?limit=5", nil),
	"POST /api/v1/audit/exports": fixed("POST", "/api/v1/audit/exports", map[string]string{"action": "cycles.create"}, http.StatusAccepted),
	"GET /api/v1/jobs":           json200("GET", "/api/v1/jobs", nil),
	"GET /api/v1/jobs/:id": func(f *fixture, who string) (*http.Request, int) {
		return request("GET", "/api/v1/jobs/"+f.finishedJob(who), nil), http.StatusOK
	},
	"GET /api/v1/jobs/:id/result": func(f *fixture, who string) (*http.Request, int) {
		return request("GET", "/api/v1/jobs/"+f.finishedJob(who)+"/result", nil), http.StatusOK
	},
}

// replayable reads req's body and returns a function that makes copies of
// req, each with the body anew.
func replayable(t testing.TB, req *http.Request) func() *http.Request {
	t.Helper()
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			t.Fatal(err)
		}
	}
	return func() *http.Request {
		r := req.Clone(context.Background())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return r
	}
}

// form builds a form post.
func form(method, path string, values url.Values) *http.Request {
	return httptestBody(request(method, path, nil), values.Encode(), "application/x-www-form-urlencoded")
}

func httptestBody(req *http.Request, body, contentType string) *http.Request {
	r := request(req.Method, req.URL.String(), nil)
	r.Body = ioNopCloser(body)
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Type", contentType)
	return r
}

// finishedJob stores a succeeded job with a file, created by the caller.
func (f *fixture) finishedJob(who string) string {
	f.t.Helper()
	id := uuid.NewString()
	rel := "exports/" + id + ".csv"
	if err := os.MkdirAll(filepath.Join(f.dataDir, "exports"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dataDir, filepath.FromSlash(rel)), []byte("a,b\n1,2\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
	art, _ := json.Marshal(jobs.Artifact{File: rel, Name: "x.csv", ContentType: "text/csv"})
	var creator any
	if a, ok := f.accounts[who]; ok {
		creator = a.user.ID
	}
	now := time.Now().UTC()
	if err := f.db.Table("jobs").Create(map[string]any{"id": id, "kind": "test", "payload": "{}", "status": "succeeded", "progress": 100,
		"message": "", "attempts": 1, "result": string(art), "error": "", "created_by": creator, "created_at": now, "updated_at": now}).Error; err != nil {
		f.t.Fatal(err)
	}
	return id
}

// loginForm fetches the sign-in page for its CSRF cookie and token and
// returns the form post that signs in.
func (f *fixture) loginForm(username, password string) *http.Request {
	f.t.Helper()
	resp, body := f.do(request("GET", "/login", nil))
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ipeval_login_csrf" {
			cookie = c
		}
	}
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if cookie == nil || m == nil {
		f.t.Fatalf("login page without CSRF cookie or field: %s", body)
	}
	form := url.Values{"username": {username}, "password": {password}, "_csrf": {string(m[1])}, "next": {"/"}}
	req := request("POST", "/login", nil)
	req = httptestBody(req, form.Encode(), "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	return req
}

// TestRouteRoleMatrix calls every route of the router as every role and
// as an anonymous caller and checks that exactly the allowed callers get
// through, that the others get 401/403 (or the sign-in redirect for pages)
// and that writes are audited.
func TestRouteRoleMatrix(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	for _, r := range f.srv.App().GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		who, ok := allowed[key]
		if !ok {
			t.Errorf("route %s has no entry in the access matrix", key)
			continue
		}
		build, ok := samples[key]
		if !ok {
			t.Errorf("route %s has no sample request", key)
			continue
		}
		// The callers the rule refuses share one sample, built once, so
		// that the fixture does not run out of cycle years: they are
		// turned away before any object is looked at.
		var refused func() *http.Request
		for _, caller := range callers {
			t.Run(key+" as "+caller, func(t *testing.T) {
				f.t = t
				var req *http.Request
				okStatus := 0
				switch {
				case slices.Contains(who, caller):
					req, okStatus = build(f, caller)
				case refused == nil:
					req, _ = build(f, caller)
					refused = replayable(t, req)
					req = refused()
				default:
					req = refused()
				}
				f.as(caller, req)
				auditBefore := f.count("audit_log")
				resp, body := f.do(req)
				page := !strings.HasPrefix(r.Path, "/api/") && resp.Header.Get("Content-Type") != "application/problem+json"
				switch {
				case slices.Contains(who, caller):
					if resp.StatusCode != okStatus {
						t.Fatalf("allowed caller got %d, want %d: %s", resp.StatusCode, okStatus, body)
					}
				case caller == "anonymous" && page:
					if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
						t.Fatalf("anonymous page got %d to %q, want 303 to /login?next=", resp.StatusCode, loc)
					}
				case caller == "anonymous":
					wantProblem(t, resp, body, http.StatusUnauthorized)
				case page:
					// A browser page refuses with an HTML error page.
					if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
						t.Fatalf("refused page: status %d, Content-Type %q; want 403 as HTML", resp.StatusCode, resp.Header.Get("Content-Type"))
					}
				default:
					wantProblem(t, resp, body, http.StatusForbidden)
				}
				if r.Method != http.MethodGet {
					// Every write by a known caller is audited, allowed or
					// refused; an anonymous caller refused at the door is
					// not, or anyone could fill the append-only log.
					want := int64(1)
					if caller == "anonymous" && !slices.Contains(who, caller) {
						want = 0
					}
					if got := f.count("audit_log") - auditBefore; got != want {
						t.Errorf("write added %d audit entries, want %d", got, want)
					}
				}
			})
		}
	}
	for key := range allowed {
		if !seen[key] {
			t.Errorf("matrix lists %s, which the router does not serve", key)
		}
	}
}

func wantProblem(t *testing.T, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem is not JSON: %s", body)
	}
	if p["status"] != float64(status) || p["title"] == "" || p["title_zh"] == "" {
		t.Fatalf("incomplete problem document: %s", body)
	}
	if strings.Contains(fmt.Sprint(p), "tokens.") {
		t.Fatalf("problem reveals internals: %s", body)
	}
}

func defaultSchemeYAML(f *fixture) string {
	b, err := scheme.Default().YAML()
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// storedScheme stores a fresh copy of the default scheme under a new code.
func (f *fixture) storedScheme() indicators.StoredScheme { return f.storedSchemeOf(scheme.Default()) }

// storedSchemeOf stores sc under a new code.
func (f *fixture) storedSchemeOf(sc scheme.Scheme) indicators.StoredScheme {
	f.t.Helper()
	sc.Code = f.uniqueName("scheme-")
	st, err := f.schemes.Create(context.Background(), sc, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// collectingCycle returns a new cycle assessed with the default scheme and
// open for data collection.
func (f *fixture) collectingCycle() cycles.Cycle { return f.collectingCycleOf(scheme.Default()) }

// collectingCycleOf returns a new cycle assessed with sc (stored under a
// new code) and open for data collection.
func (f *fixture) collectingCycleOf(sc scheme.Scheme) cycles.Cycle {
	f.t.Helper()
	ctx := context.Background()
	cy := f.newCycle()
	if _, err := f.cycles.SetScheme(ctx, cy.ID, f.storedSchemeOf(sc).ID); err != nil {
		f.t.Fatal(err)
	}
	cy, err := f.cycles.Transition(ctx, cy.ID, cycles.Collecting)
	if err != nil {
		f.t.Fatal(err)
	}
	return cy
}

// sharedCycle returns one collecting cycle of the fixture, for samples
// that read, or add to it without changing its state, so that the matrix
// does not run out of cycle years.
func (f *fixture) sharedCycle() cycles.Cycle {
	if f.shared == nil {
		c := f.collectingCycle()
		f.shared = &c
	}
	return *f.shared
}

// valueOf writes, as an admin, one draft value for region in a new
// collecting cycle and returns the cycle and value ids.
func (f *fixture) valueOf(region string) (cycleID, valueID string) {
	f.t.Helper()
	cy := f.collectingCycle()
	b := f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/values", map[string]any{"items": []map[string]any{
		{"region_code": region, "indicator_code": "A2", "number": 4}}}, 200)
	vs := decode[struct{ Items []struct{ ID string } }](f.t, b)
	return cy.ID, vs.Items[0].ID
}

// samplePDF is a minimal PDF: enough for content detection.
var samplePDF = []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")

// uniquePDF is a PDF whose content no other call returns, so that each
// upload is new rather than a retry of an earlier one.
func (f *fixture) uniquePDF() []byte {
	return append(bytes.Clone(samplePDF), f.uniqueName("% ")...)
}

// evidenceOf uploads, as an admin, one evidence file for region's F1 in a
// new collecting cycle and returns the cycle and evidence ids.
func (f *fixture) evidenceOf(region string) (cycleID, evidenceID string) {
	f.t.Helper()
	cy := f.collectingCycle()
	resp, b := f.do(f.as("admin", upload("POST", "/api/v1/cycles/"+cy.ID+"/evidence",
		map[string]string{"region_code": region, "indicator_code": "F1"}, "file", "预算.pdf", samplePDF)))
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("upload evidence: %d %s", resp.StatusCode, b)
	}
	return cy.ID, decode[indicators.Evidence](f.t, b).ID
}

// scoringCycle returns a new cycle with the default scheme, in scoring.
func (f *fixture) scoringCycle() cycles.Cycle {
	f.t.Helper()
	cy, err := f.cycles.Transition(context.Background(), f.collectingCycle().ID, cycles.Scoring)
	if err != nil {
		f.t.Fatal(err)
	}
	return cy
}

// scoredRun evaluates a new cycle in scoring, running the job in the test
// as a worker would, optionally publishes the run, and returns its id.
func (f *fixture) scoredRun(publish bool) string {
	f.t.Helper()
	return f.scoredRunOf(f.scoringCycle().ID, publish)
}

// scoredRunOf is scoredRun for a given cycle in scoring.
func (f *fixture) scoredRunOf(cycleID string, publish bool) string {
	f.t.Helper()
	ctx := context.Background()
	manager := auth.Principal{UserID: f.accounts["admin"].user.ID, Username: "admin", Role: auth.RoleAdmin}
	job, err := f.runs.Request(ctx, manager, cycleID, evaluation.Settings{})
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := f.runs.Handler()(ctx, job, func(int, string) {})
	if err != nil {
		f.t.Fatal(err)
	}
	id := decode[struct {
		RunID string `json:"run_id"`
	}](f.t, []byte(out)).RunID
	if publish {
		if _, err := f.runs.Publish(ctx, manager, id); err != nil {
			f.t.Fatal(err)
		}
	}
	return id
}

// foreignWorld holds objects of region 140200 and of the second
// organisation, each carrying a secret that no answer to the city official
// of 140100 or to the first organisation's contractor may show.
type foreignWorld struct {
	cycle, value, evidence string // a collecting cycle, 140200's A2 and F1 evidence in it
	reported, run          string // a published cycle with its report, and its run
	draft, draftCycle      string // an unpublished run, and its cycle in scoring
	token, job             string // city2's API token and job
	project, batch         string // a project of org2 and its valid batch
}

// Secrets the foreign objects carry: a value note, an evidence file name,
// a project name and a batch file name.
const (
	secretNote    = "机密备注-大同"
	secretFile    = "机密佐证-大同.pdf"
	secretProject = "机密项目-另一机构"
	secretBatch   = "机密答卷-另一机构.csv"
)

// foreignObjects builds the foreign world once per fixture.
func (f *fixture) foreignObjects() foreignWorld {
	f.t.Helper()
	if f.foreign != nil {
		return *f.foreign
	}
	var w foreignWorld
	cy := f.collectingCycle()
	w.cycle = cy.ID
	b := f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/values", map[string]any{"items": []map[string]any{
		{"region_code": "140200", "indicator_code": "A2", "number": 4, "note": secretNote}}}, http.StatusOK)
	w.value = decode[struct{ Items []struct{ ID string } }](f.t, b).Items[0].ID
	f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/values/submit", map[string]any{"region_code": "140200"}, http.StatusOK)
	resp, b := f.do(f.as("admin", upload("POST", "/api/v1/cycles/"+cy.ID+"/evidence",
		map[string]string{"region_code": "140200", "indicator_code": "F1"}, "file", secretFile, f.uniquePDF())))
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("upload evidence: %d %s", resp.StatusCode, b)
	}
	w.evidence = decode[indicators.Evidence](f.t, b).ID
	w.reported = f.reportedCycle().ID
	w.run = f.publishedRun(w.reported).ID
	dc := f.scoringCycle()
	w.draftCycle, w.draft = dc.ID, f.scoredRunOf(dc.ID, false)
	_, tok, err := f.auth.IssueToken(context.Background(), f.accounts["city2"].user.ID, "city2's", 24*time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	w.token, w.job = tok.ID, f.finishedJob("city2")
	in := surveyInput(f.org2.ID, "140100", "140200")
	in["name"] = secretProject
	w.project = decode[surveys.Project](f.t, f.call("admin", "POST", "/api/v1/cycles/"+f.sharedCycle().ID+"/survey-projects", in, http.StatusCreated)).ID
	bv := f.surveyBatch("admin", w.project, secretBatch, f.uniqueSurveyFile(), nil)
	if bv.Status != surveys.BatchValid {
		f.t.Fatalf("foreign batch is %s: %+v", bv.Status, bv.Problems)
	}
	w.batch = bv.ID
	f.foreign = &w
	return w
}

// foreignCase is one request by a city official or contractor for an
// object of another region or organisation: the status that refuses it (or
// 200 for a list or view that must leave the object out), and the texts
// the answer must not show.
type foreignCase struct {
	who     string
	req     *http.Request
	want    int
	secrets []string
}

var everySecret = []string{secretNote, secretFile, secretProject, secretBatch}

// foreignSamples addresses, for each route a city official or contractor
// may call that reaches objects of one region or organisation, another
// region's or organisation's object.
var foreignSamples = map[string]func(f *fixture, w foreignWorld) []foreignCase{
	"GET /cycles/:id/collect": func(_ *fixture, w foreignWorld) []foreignCase {
		// The page falls back to the official's own region.
		return []foreignCase{{"city", request("GET", "/cycles/"+w.cycle+"/collect?region=140200", nil), http.StatusOK, everySecret}}
	},
	"GET /cycles/:id/regions/:code": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/cycles/"+w.reported+"/regions/140200", nil), http.StatusForbidden, nil},
			{"city", request("GET", "/cycles/"+w.draftCycle+"/regions/140100?run="+w.draft, nil), http.StatusNotFound, nil},
		}
	},
	"GET /cycles/:id/report": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("GET", "/cycles/"+w.reported+"/report", nil), http.StatusForbidden, []string{`id="region-140200"`}}}
	},
	"GET /cycles/:id/regions/:code/report": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/cycles/"+w.reported+"/regions/140200/report", nil), http.StatusForbidden, []string{`id="region-140200"`}},
			{"city", request("GET", "/cycles/"+w.draftCycle+"/regions/140100/report?run="+w.draft, nil), http.StatusNotFound, nil},
		}
	},
	"POST /cycles/:id/collect/import": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", upload("POST", "/cycles/"+w.cycle+"/collect/import", map[string]string{"region_code": "140200"}, "file", "values.csv",
			[]byte("地区代码,指标代码,数值\n140200,B3,2\n")), http.StatusForbidden, nil}}
	},
	"POST /cycles/:id/collect/values": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", httptestBody(request("POST", "/cycles/"+w.cycle+"/collect/values", nil),
			"region_code=140200&ver.A2=2&v.A2=9&note.A2=x", "application/x-www-form-urlencoded"), http.StatusForbidden, nil}}
	},
	"POST /cycles/:id/collect/evidence": func(f *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", upload("POST", "/cycles/"+w.cycle+"/collect/evidence",
			map[string]string{"region_code": "140200", "indicator_code": "F1"}, "file", "a.pdf", f.uniquePDF()), http.StatusForbidden, nil}}
	},
	"DELETE /api/v1/tokens/:id": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("DELETE", "/api/v1/tokens/"+w.token, nil), http.StatusNotFound, nil},
			{"contractor", request("DELETE", "/api/v1/tokens/"+w.token, nil), http.StatusNotFound, nil},
		}
	},
	"GET /api/v1/cycles/:id/values": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/values?region=140200", nil), http.StatusForbidden, everySecret},
			{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/values", nil), http.StatusOK, append([]string{`"140200"`}, everySecret...)},
		}
	},
	"POST /api/v1/cycles/:id/values": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("POST", "/api/v1/cycles/"+w.cycle+"/values", map[string]any{"items": []map[string]any{
			{"region_code": "140200", "indicator_code": "A2", "number": 9, "version": 2}}}), http.StatusForbidden, nil}}
	},
	"POST /api/v1/cycles/:id/values/submit": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("POST", "/api/v1/cycles/"+w.cycle+"/values/submit", map[string]any{"region_code": "140200"}), http.StatusForbidden, nil}}
	},
	"GET /api/v1/cycles/:id/values/:value/history": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/values/"+w.value+"/history", nil), http.StatusNotFound, everySecret}}
	},
	"GET /api/v1/cycles/:id/values/template": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/values/template?region=140200&format=csv", nil), http.StatusForbidden, everySecret}}
	},
	"POST /api/v1/cycles/:id/values/import": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", upload("POST", "/api/v1/cycles/"+w.cycle+"/values/import", nil, "file", "values.csv",
			[]byte("地区代码,指标代码,数值\n140200,A2,9\n")), http.StatusForbidden, nil}}
	},
	"GET /api/v1/cycles/:id/evidence": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/evidence?region=140200", nil), http.StatusForbidden, everySecret},
			{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/evidence", nil), http.StatusOK, everySecret},
		}
	},
	"POST /api/v1/cycles/:id/evidence": func(f *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", upload("POST", "/api/v1/cycles/"+w.cycle+"/evidence",
			map[string]string{"region_code": "140200", "indicator_code": "F1"}, "file", "a.pdf", f.uniquePDF()), http.StatusForbidden, nil}}
	},
	"GET /api/v1/cycles/:id/evidence/:evidence": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/evidence/"+w.evidence, nil), http.StatusNotFound, append([]string{"%PDF"}, everySecret...)}}
	},
	"POST /api/v1/cycles/:id/evidence/:evidence/withdraw": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("POST", "/api/v1/cycles/"+w.cycle+"/evidence/"+w.evidence+"/withdraw", nil), http.StatusNotFound, everySecret}}
	},
	"GET /api/v1/cycles/:id/completeness": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("GET", "/api/v1/cycles/"+w.cycle+"/completeness", nil), http.StatusOK, []string{`"140200"`}}}
	},
	"GET /api/v1/runs/:id": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/runs/"+w.run, nil), http.StatusOK, []string{`"140200"`}},
			{"city", request("GET", "/api/v1/runs/"+w.draft, nil), http.StatusNotFound, nil},
		}
	},
	"GET /api/v1/runs/:id/regions/:code": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/runs/"+w.run+"/regions/140200", nil), http.StatusNotFound, []string{`"score"`}},
			{"city", request("GET", "/api/v1/runs/"+w.draft+"/regions/140100", nil), http.StatusNotFound, []string{`"score"`}},
		}
	},
	"GET /api/v1/runs/:id/sensitivity": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/runs/"+w.run+"/sensitivity", nil), http.StatusOK, []string{`"140200"`}},
			{"city", request("GET", "/api/v1/runs/"+w.draft+"/sensitivity", nil), http.StatusNotFound, nil},
		}
	},
	"GET /api/v1/runs/:id/workbook": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/runs/"+w.run+"/workbook?region=140200", nil), http.StatusForbidden, nil},
			{"city", request("GET", "/api/v1/runs/"+w.draft+"/workbook", nil), http.StatusNotFound, nil},
		}
	},
	"GET /api/v1/runs/:id/handover": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/runs/"+w.run+"/handover?format=json&region=140200", nil), http.StatusForbidden, nil},
			{"city", request("GET", "/api/v1/runs/"+w.run+"/handover?format=json", nil), http.StatusOK, []string{`"140200"`}},
			{"city", request("GET", "/api/v1/runs/"+w.draft+"/handover?format=csv", nil), http.StatusNotFound, nil},
		}
	},
	"GET /api/v1/cycles/:id/survey-indices": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"city", request("GET", "/api/v1/cycles/"+w.reported+"/survey-indices", nil), http.StatusOK, []string{`"140200"`}}}
	},
	"GET /api/v1/jobs": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/jobs", nil), http.StatusOK, []string{w.job}},
			{"contractor", request("GET", "/api/v1/jobs", nil), http.StatusOK, []string{w.job}},
		}
	},
	"GET /api/v1/jobs/:id": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/jobs/"+w.job, nil), http.StatusNotFound, nil},
			{"contractor", request("GET", "/api/v1/jobs/"+w.job, nil), http.StatusNotFound, nil},
		}
	},
	"GET /api/v1/jobs/:id/result": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"city", request("GET", "/api/v1/jobs/"+w.job+"/result", nil), http.StatusNotFound, []string{"a,b"}},
			{"contractor", request("GET", "/api/v1/jobs/"+w.job+"/result", nil), http.StatusNotFound, []string{"a,b"}},
		}
	},
	"GET /surveys": func(_ *fixture, _ foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/surveys", nil), http.StatusOK, everySecret}}
	},
	"GET /surveys/:id": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{
			{"contractor", request("GET", "/surveys/"+w.project, nil), http.StatusNotFound, everySecret},
			{"contractor", request("GET", "/surveys/"+w.project+"?batch="+w.batch, nil), http.StatusNotFound, everySecret},
		}
	},
	"POST /surveys/:id/upload": func(f *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", upload("POST", "/surveys/"+w.project+"/upload", nil, "file", "答卷.csv", f.uniqueSurveyFile()), http.StatusNotFound, nil}}
	},
	"POST /surveys/:id/submit": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("POST", "/surveys/"+w.project+"/submit", nil), http.StatusNotFound, nil}}
	},
	"GET /api/v1/organisations/:id": func(f *fixture, _ foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/organisations/"+f.org2.ID, nil), http.StatusNotFound, []string{f.org2.Name}}}
	},
	"GET /api/v1/survey-projects": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/survey-projects", nil), http.StatusOK, append([]string{w.project}, everySecret...)}}
	},
	"GET /api/v1/survey-projects/:id": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/survey-projects/"+w.project, nil), http.StatusNotFound, everySecret}}
	},
	"PUT /api/v1/survey-projects/:id/mapping": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("PUT", "/api/v1/survey-projects/"+w.project+"/mapping",
			map[string]any{"columns": map[string]string{"地市": "region"}}), http.StatusNotFound, everySecret}}
	},
	"POST /api/v1/survey-projects/:id/submit": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("POST", "/api/v1/survey-projects/"+w.project+"/submit", nil), http.StatusNotFound, everySecret}}
	},
	"GET /api/v1/survey-projects/:id/template": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/survey-projects/"+w.project+"/template?format=csv", nil), http.StatusNotFound, everySecret}}
	},
	"POST /api/v1/survey-projects/:id/batches": func(f *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", upload("POST", "/api/v1/survey-projects/"+w.project+"/batches", nil, "file", "答卷.csv", f.uniqueSurveyFile()), http.StatusNotFound, everySecret}}
	},
	"GET /api/v1/survey-projects/:id/batches": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/survey-projects/"+w.project+"/batches", nil), http.StatusNotFound, everySecret}}
	},
	"GET /api/v1/survey-projects/:id/quality": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/survey-projects/"+w.project+"/quality", nil), http.StatusNotFound, everySecret}}
	},
	"GET /api/v1/survey-batches/:id": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/survey-batches/"+w.batch, nil), http.StatusNotFound, everySecret}}
	},
	"GET /api/v1/survey-batches/:id/report": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("GET", "/api/v1/survey-batches/"+w.batch+"/report?format=csv", nil), http.StatusNotFound, everySecret}}
	},
	"POST /api/v1/survey-batches/:id/withdraw": func(_ *fixture, w foreignWorld) []foreignCase {
		return []foreignCase{{"contractor", request("POST", "/api/v1/survey-batches/"+w.batch+"/withdraw", nil), http.StatusNotFound, everySecret}}
	},
}

// unscoped names the routes a city official or contractor may call that
// reach no object of one region or organisation, with the reason.
var unscoped = map[string]string{
	"GET /":                         "the home page links the caller's own work",
	"GET /login":                    "public",
	"POST /login":                   "signs the caller in",
	"POST /logout":                  "ends the caller's own session",
	"GET /docs":                     "public",
	"GET /healthz":                  "public",
	"GET /readyz":                   "public",
	"GET /openapi.json":             "public",
	"GET /static/:file":             "public",
	"GET /static/vendor/:file":      "public",
	"GET /static/vendor/maps/:file": "public",
	"GET /cycles/:id/overview":      "the province's published ranking, shown to every city official by design",
	"POST /api/v1/auth/login":       "signs the caller in",
	"POST /api/v1/auth/logout":      "ends the caller's own session",
	"GET /api/v1/me":                "the caller",
	"PUT /api/v1/me/password":       "the caller's own password",
	"GET /api/v1/tokens":            "the caller's own tokens, listed by user id",
	"POST /api/v1/tokens":           "issues the caller's own token",
	"GET /api/v1/regions":           "reference data shared by all",
	"GET /api/v1/regions/:code":     "reference data shared by all",
	"GET /api/v1/cycles":            "reference data shared by all",
	"GET /api/v1/cycles/:id":        "reference data shared by all",
	"GET /api/v1/schemes":           "the published method, shared by all",
	"GET /api/v1/schemes/:id":       "the published method, shared by all",
	"GET /api/v1/cycles/:id/runs":   "the cycle's published run, the same for every city official",
	"GET /jobs":                     "the caller's own jobs, by the API's visibility rule (TestJobsPage)",
}

// foreignTables are the tables, with the columns compared, that a refused
// write to a foreign object must leave as they were. A token's use and a
// job's progress change by themselves, so only their identity and
// revocation count.
var foreignTables = map[string]string{"indicator_values": "*", "indicator_value_revisions": "*", "evidence_files": "*",
	"survey_projects": "*", "survey_batches": "*", "survey_responses": "*", "api_tokens": "id, revoked_at", "jobs": "id"}

// snapshot is the content of tables (name to columns), for comparing
// before and after.
func (f *fixture) snapshot(tables map[string]string) string {
	f.t.Helper()
	var b strings.Builder
	for _, table := range slices.Sorted(maps.Keys(tables)) {
		var rows []map[string]any
		if err := f.db.Table(table).Select(tables[table]).Order("id").Find(&rows).Error; err != nil {
			f.t.Fatal(err)
		}
		j, _ := json.Marshal(rows)
		b.WriteString(table + ":" + string(j) + "\n")
	}
	return b.String()
}
