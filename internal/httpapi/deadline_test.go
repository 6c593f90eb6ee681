package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipeval/ipeval/cycles"
)

// TestCollectionDeadline opens collection with a deadline from the cycle
// home and through the API: a bad deadline is refused by field in Chinese
// and English with nothing changed; a good one is stored, shown on the
// checklist with the days left and on the city official's collect page,
// and a reopening sets a new one.
func TestCollectionDeadline(t *testing.T) {
	f := newFixture(t)
	ready := func() cycles.Cycle {
		cy := f.newCycle()
		if _, err := f.cycles.SetScheme(context.Background(), cy.ID, f.storedScheme().ID); err != nil {
			t.Fatal(err)
		}
		return cy
	}
	today := cycles.Today(time.Now())
	bad := []struct {
		name, deadline, to string
		zh, en             string
	}{
		{"not a date", "2027-02-30", "collecting", "截止日期须为有效日期（年-月-日）", "the deadline must be a real date (YYYY-MM-DD)"},
		{"words", "下月底", "collecting", "截止日期须为有效日期（年-月-日）", "the deadline must be a real date (YYYY-MM-DD)"},
		{"before today", today.AddDate(0, 0, -1).Format(time.DateOnly), "collecting", "截止日期不能早于今天", "the deadline cannot be before today"},
		{"not opening collection", today.AddDate(0, 0, 3).Format(time.DateOnly), "archived", "只有开放数据填报时才能设定截止日期", "a deadline can be set only when collection opens"},
	}
	for _, c := range bad {
		t.Run("refused: "+c.name, func(t *testing.T) {
			f.t = t
			cy := ready()
			before := f.snapshot(map[string]string{"cycles": "*"})
			for lang, want := range map[string]string{"zh": c.zh, "en": c.en} {
				resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/transitions?lang="+lang, url.Values{"to": {c.to}, "deadline": {c.deadline}})))
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), want) {
					t.Errorf("%s: status %d, want 400 saying %q", lang, resp.StatusCode, want)
				}
				if !strings.Contains(string(body), `name="deadline"`) || !strings.Contains(string(body), `value="`+c.deadline+`"`) {
					t.Errorf("%s: the refused deadline is not shown again", lang)
				}
			}
			f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/transitions", map[string]any{"to": c.to, "deadline": c.deadline}, http.StatusBadRequest)
			if f.snapshot(map[string]string{"cycles": "*"}) != before {
				t.Errorf("a refused deadline changed the cycles table")
			}
		})
	}

	t.Run("set, shown, reset on reopening", func(t *testing.T) {
		f.t = t
		cy := ready()
		day := today.AddDate(0, 0, 12)
		resp, body := f.do(f.as("admin", form("POST", "/cycles/"+cy.ID+"/transitions", url.Values{"to": {"collecting"}, "deadline": {day.Format(time.DateOnly)}})))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		got, _ := f.cycles.Get(context.Background(), cy.ID)
		if got.CollectionDeadline == nil || !got.CollectionDeadline.Equal(day) {
			t.Fatalf("stored deadline %v, want %s", got.CollectionDeadline, day)
		}
		_, home := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID, nil)))
		if want := "开放至 " + day.Format(time.DateOnly) + "（剩余 12 天）"; !strings.Contains(string(home), want) {
			t.Errorf("the checklist does not say %q", want)
		}
		_, en := f.do(f.as("admin", request("GET", "/cycles/"+cy.ID+"?lang=en", nil)))
		if want := "open until " + day.Format(time.DateOnly) + " (12 days left)"; !strings.Contains(string(en), want) {
			t.Errorf("the English checklist does not say %q", want)
		}
		_, collect := f.do(f.as("city", request("GET", "/cycles/"+cy.ID+"/collect", nil)))
		if !strings.Contains(string(collect), "开放至 "+day.Format(time.DateOnly)) {
			t.Errorf("the city official's collect page does not show the deadline")
		}
		// Past the deadline: the checklist says by how much, and nothing is refused.
		past := today.AddDate(0, 0, -3)
		f.db.Model(&cycles.Cycle{}).Where("id = ?", cy.ID).Update("collection_deadline", past)
		_, home = f.do(f.as("admin", request("GET", "/cycles/"+cy.ID, nil)))
		if !strings.Contains(string(home), "（已逾期 3 天）") {
			t.Errorf("the checklist does not say the deadline passed 3 days ago")
		}
		f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/transitions", map[string]any{"to": "scoring"}, http.StatusOK)
		newDay := today.AddDate(0, 0, 5)
		f.call("admin", "POST", "/api/v1/cycles/"+cy.ID+"/transitions", map[string]any{"to": "collecting", "deadline": newDay.Format(time.DateOnly)}, http.StatusOK)
		got, _ = f.cycles.Get(context.Background(), cy.ID)
		if got.Status != cycles.Collecting || got.CollectionDeadline == nil || !got.CollectionDeadline.Equal(newDay) {
			t.Errorf("after the reopening: %s until %v, want collecting until %s", got.Status, got.CollectionDeadline, newDay)
		}
	})
}
