package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/cycles/cyclestest"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

// TestEvaluateMatchesServerRun scores the same data twice: imported into a
// cycle and run by the server's run store, and from the files by `ipeval
// evaluate`. The stored results and the results file are the same bytes.
func TestEvaluateMatchesServerRun(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	regionsCSV, err := os.ReadFile(evalRegions)
	if err != nil {
		t.Fatal(err)
	}
	cy, _ := cyclestest.Collecting(t, db, bytes.NewReader(regionsCSV), 2025)
	cs := cycles.NewStore(db)
	schemes := indicators.NewSchemeStore(db)
	manager := auth.Principal{UserID: "u-admin", Username: "admin", Role: auth.RoleAdmin}
	values, err := os.ReadFile(evalValues)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := indicators.NewValueStore(db, schemes).Import(ctx, manager, cy.ID, "values.csv", values, false); err != nil {
		t.Fatal(err)
	}
	// Verified as the review would leave them: review is tested elsewhere.
	if err := db.Model(&indicators.Value{}).Where("cycle_id = ?", cy.ID).Update("status", indicators.StatusVerified).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Transition(ctx, cy.ID, cycles.Scoring); err != nil {
		t.Fatal(err)
	}
	run, err := evaluation.NewStore(db, nil, schemes).RunNow(ctx, manager, cy.ID)
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "results.json")
	if printed, err := runEvaluate("--scheme", "default", "--regions", evalRegions, "--values", evalValues, "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, printed)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, []byte(run.Results)) {
		t.Fatalf("file mode and the server's run differ:\nfile   %.300s\nserver %.300s", file, run.Results)
	}
}
