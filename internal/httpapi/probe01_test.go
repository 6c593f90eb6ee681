package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
)

// TestProbe01PoisonValueRefused: a value beyond ±1e15, by JSON or by an
// imported file, for an indicator with no maximum of its own (B1), is a
// bilingual 400 located by field or row, and nothing is stored; on SQLite
// and MariaDB.
func TestProbe01PoisonValueRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixtureOn(t, db, web.Options{LoginRate: 1000})
		cy := f.collectingCycle()
		base := "/api/v1/cycles/" + cy.ID + "/values"
		for _, number := range []string{"1e308", "1.7976931348623157e308", "-1e308", "1000000000000001"} {
			t.Run("json "+number, func(t *testing.T) {
				body := `{"items":[{"region_code":"140100","indicator_code":"A2","number":3,"version":0},` +
					`{"region_code":"140100","indicator_code":"B1","number":` + number + `,"version":0}]}`
				resp, b := f.do(f.as("city", request("POST", base, body)))
				wantProblem(t, resp, b, http.StatusBadRequest)
				for _, want := range []string{`"code":"out_of_scale"`, `"indicator_code":"B1"`, "1e15", "绝对值"} {
					if !strings.Contains(string(b), want) {
						t.Errorf("problem lacks %s: %s", want, b)
					}
				}
			})
		}
		t.Run("csv", func(t *testing.T) {
			data := []byte("地区代码,指标代码,数值\n140100,A2,3\n140100,B1,1e308\n")
			resp, b := f.do(f.as("city", upload("POST", base+"/import", nil, "file", "a.csv", data)))
			wantProblem(t, resp, b, http.StatusBadRequest)
			for _, want := range []string{`"row":3`, `"code":"out_of_scale"`, "1e15"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("problem lacks %s: %s", want, b)
				}
			}
		})
		t.Run("page form", func(t *testing.T) {
			fields := url.Values{"region_code": {"140100"}, "ver.A2": {"0"}, "v.A2": {"3"}, "ver.B1": {"0"}, "v.B1": {"1e308"}}
			req := httptestBody(request("POST", "/cycles/"+cy.ID+"/collect/values", nil), fields.Encode(), "application/x-www-form-urlencoded")
			page := f.pageAs("city", req, http.StatusBadRequest)
			for _, want := range []string{"<td>B1</td>", "1e15", "未保存任何内容"} {
				if !strings.Contains(page, want) {
					t.Errorf("refused form lacks %q", want)
				}
			}
		})
		if n := f.count("indicator_values"); n != 0 {
			t.Fatalf("refused values stored %d rows", n)
		}
		// The bound itself is a value like any other.
		ok := `{"items":[{"region_code":"140100","indicator_code":"B1","number":1e15,"version":0}]}`
		if resp, b := f.do(f.as("city", request("POST", base, ok))); resp.StatusCode != http.StatusOK {
			t.Fatalf("1e15 refused: %d %s", resp.StatusCode, b)
		}
	})
}
