package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserDemo is the README's promise to a newcomer, in Chromium: run
// the service with demo data, open the printed address, sign in with a
// printed demo account and see the province map, the ranking and the
// region's dashboard with the numbers of a demo run, while nothing is
// loaded from any other host.
func TestBrowserDemo(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	env := envOf(map[string]string{"IPEVAL_DATA_DIR": t.TempDir()})
	out := serveInProcess(t, env, "--addr", "127.0.0.1:0", "--demo")
	base := listening.FindStringSubmatch(out.String())[1]
	m := regexp.MustCompile(`(?m)^\s+taiyuan\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve --demo printed no password for taiyuan:\n%s", out.String())
	}
	token := strings.TrimSpace(cli(t, env, "user", "token", "admin"))

	// What the API says about the newest published run, as an admin.
	var cyclesList struct {
		Items []struct{ ID, Status string }
	}
	apiGet(t, base, token, "/api/v1/cycles", &cyclesList)
	var cycle string
	for _, c := range cyclesList.Items {
		if c.Status == "published" && cycle == "" {
			cycle = c.ID
		}
	}
	if cycle == "" {
		t.Fatalf("the demo has no published cycle: %+v", cyclesList.Items)
	}
	var runList struct {
		Items []struct {
			ID          string
			PublishedAt *time.Time `json:"published_at"`
		}
	}
	apiGet(t, base, token, "/api/v1/cycles/"+cycle+"/runs", &runList)
	var runID string
	for _, r := range runList.Items {
		if r.PublishedAt != nil {
			runID = r.ID
		}
	}
	var result struct {
		Results struct {
			Regions []struct {
				Code, Name string
				Rank       int
				Score      *float64
			}
		}
	}
	apiGet(t, base, token, "/api/v1/runs/"+runID, &result)
	score := map[string]string{}
	for _, r := range result.Results.Regions {
		if r.Score != nil {
			score[r.Name] = fmt.Sprintf("%.1f", *r.Score)
		}
	}
	if len(score) < 11 {
		t.Fatalf("the demo run scored %d regions, want Shanxi's 11", len(score))
	}

	browser := browsertest.Start(t, exe)
	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/")
	if resp := tab.SignIn("taiyuan", m[1]); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: status %d", resp.Status)
	}

	overview := "/cycles/" + cycle + "/overview"
	tab.Navigate(overview)
	if counts := tab.PaintedCharts(); len(counts) < 3 || slices.Contains(counts, 0) {
		t.Errorf("overview: painted pixels per chart %v, want every chart drawn", counts)
	}
	tab.Screenshot("demo-overview.png")
	// Every region of the ranking table shows the API's score.
	rows := tab.Texts("table.ranking tbody tr")
	if len(rows) != len(score) {
		t.Errorf("ranking table has %d rows, want %d", len(rows), len(score))
	}
	for _, row := range rows {
		cells := strings.Split(row, "\t")
		if len(cells) < 3 || score[cells[1]] != cells[2] {
			t.Errorf("ranking row %q; the API scores it %q", row, score[cells[1]])
		}
	}

	tab.Navigate("/cycles/" + cycle + "/regions/140100")
	if counts := tab.PaintedCharts(); len(counts) < 3 || slices.Contains(counts, 0) {
		t.Errorf("dashboard: painted pixels per chart %v, want every chart drawn", counts)
	}
	tab.Screenshot("demo-dashboard.png")
	if got, want := tab.Text("main dd.big"), score["太原市"]; got != want {
		t.Errorf("dashboard score %q, the API's %q", got, want)
	}
	if resp := tab.Navigate("/cycles/" + cycle + "/regions/140200"); resp.Status != http.StatusForbidden {
		t.Errorf("another region's dashboard: status %d, want 403", resp.Status)
	}
}

// apiGet decodes the JSON of an authenticated GET into v.
func apiGet(t *testing.T, base, token, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
