package web_test

import (
	"encoding/json"
	"testing"

	"github.com/ipeval/ipeval/internal/web"
)

func TestProblemExtensionsKeepMembers(t *testing.T) {
	b, err := json.Marshal(web.Problem{Type: "/problems/conflict", Title: "Conflict", Status: 409,
		Ext: map[string]any{"status": "collecting", "type": "x", "cycle_status": "collecting"}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["status"] != float64(409) || got["type"] != "/problems/conflict" || got["cycle_status"] != "collecting" {
		t.Fatalf("problem document %s", b)
	}
}
