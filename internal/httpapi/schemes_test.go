package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipeval/ipeval/indicators/scheme"
)

func TestSchemesAPI(t *testing.T) {
	f := newFixture(t)
	yml := defaultSchemeYAML(f)

	t.Run("bad scheme lists every problem by path, stores nothing", func(t *testing.T) {
		f.t = t
		bad := strings.Replace(yml, "weight: 25", "weight: -25", 1)
		bad = strings.Replace(bad, "F1 <= 0", "F9 <= 0", 1)
		before := f.count("schemes")
		resp, body := f.do(f.as("admin", httptestBody(request("POST", "/api/v1/schemes", nil), bad, "application/yaml")))
		wantProblem(t, resp, body, http.StatusBadRequest)
		for _, path := range []string{`"dimensions[0].weight"`, `"rules[R1].when"`, `unknown name \"F9\"`} {
			if !strings.Contains(string(body), path) {
				t.Errorf("problem does not name %s: %s", path, body)
			}
		}
		if f.count("schemes") != before {
			t.Fatal("a refused scheme was stored")
		}
	})

	t.Run("YAML round trip and new version once scored", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("admin", httptestBody(request("POST", "/api/v1/schemes", nil), yml, "application/yaml")))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		created := decode[struct{ ID string }](t, body)
		out := f.call("city", "GET", "/api/v1/schemes/"+created.ID+"?format=yaml", nil, 200)
		if string(out) != yml {
			t.Fatalf("YAML read back differs from what was sent")
		}
		cy := f.newCycle()
		if err := f.db.Table("cycles").Where("id = ?", cy.ID).Updates(map[string]any{"scheme_id": created.ID, "status": "scoring", "updated_at": time.Now().UTC()}).Error; err != nil {
			t.Fatal(err)
		}
		sc, _ := scheme.Parse([]byte(yml))
		sc.Name = "修订版"
		js, _ := sc.JSON()
		resp, body = f.do(f.as("admin", httptestBody(request("PUT", "/api/v1/schemes/"+created.ID, nil), string(js), "application/json")))
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") == "" {
			t.Fatalf("PUT of a scored scheme: %d %s, want 201 with a new version", resp.StatusCode, body)
		}
		v2 := decode[struct {
			ID      string
			Version int
		}](t, body)
		if v2.ID == created.ID || v2.Version != 2 {
			t.Fatalf("new version %+v", v2)
		}
	})

	t.Run("cycle scheme: unknown refused, locked once scoring", func(t *testing.T) {
		f.t = t
		cy := f.newCycle()
		f.call("admin", "PUT", "/api/v1/cycles/"+cy.ID+"/scheme", map[string]string{"scheme_id": "nope"}, 400)
		st := f.storedScheme()
		f.call("admin", "PUT", "/api/v1/cycles/"+cy.ID+"/scheme", map[string]string{"scheme_id": st.ID}, 200)
		for _, to := range []string{"collecting", "scoring"} {
			f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/transitions", map[string]string{"to": to}, 200)
		}
		f.call("admin", "PUT", "/api/v1/cycles/"+cy.ID+"/scheme", map[string]string{"scheme_id": st.ID}, 409)
	})

	t.Run("contractor may not read schemes", func(t *testing.T) {
		f.t = t
		f.call("contractor", "GET", "/api/v1/schemes", nil, 403)
	})
}
