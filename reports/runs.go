package reports

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
)

// RunJobs reads a cycle's runs and its run jobs, as evaluation.Store
// does.
type RunJobs interface {
	RunLister
	// Failures returns the cycle's failed run jobs, newest first.
	Failures(ctx context.Context, by auth.Principal, cycleID string) ([]jobs.Job, error)
	// Active returns the cycle's queued or running run job, if any.
	Active(ctx context.Context, by auth.Principal, cycleID string) (*jobs.Job, error)
}

// UserLister lists the users, as auth.Store does: the runs page names
// who ran each run.
type UserLister interface {
	ListUsers(ctx context.Context) ([]auth.User, error)
}

// ReportReader reads what is stored of a run's report, as Store does.
type ReportReader interface {
	Get(ctx context.Context, by auth.Principal, runID string) (Stored, error)
}

// RunsView is the manager's runs page of a cycle: its runs newest first,
// the run job under way, the failed ones with their reasons, and what the
// manager may do now.
type RunsView struct {
	Cycle cycles.Cycle
	Runs  []RunRow
	// Active is the run job queued or running, nil when none is.
	Active *jobs.Job
	// Failed are the run jobs that failed, each with its reason.
	Failed []jobs.Job
	// CanRun tells whether the cycle may be evaluated now (it is scoring
	// and no run is under way).
	CanRun bool
}

// RunRow is one run of the runs page.
type RunRow struct {
	evaluation.Run
	// Hash is the inputs hash shortened for reading.
	Hash string
	// By is the username of who ran it (the user id when unknown).
	By string
	// Report is the run's stored report, nil when none is rendered.
	Report *Stored
	// Current tells whether the run is of the cycle's current scoring
	// period; Publishable whether it may be published now.
	Current, Publishable bool
}

// Runs assembles a cycle's runs page from the cycle and run stores.
type Runs struct {
	cycles CycleLister
	runs   RunJobs
	users  UserLister
	report ReportReader
}

// NewRuns returns the assembler of the runs page.
func NewRuns(cs CycleLister, runs RunJobs, users UserLister, report ReportReader) *Runs {
	return &Runs{cycles: cs, runs: runs, users: users, report: report}
}

// Page assembles the runs page of cycle cycleID for by (an admin).
func (r *Runs) Page(ctx context.Context, by auth.Principal, cycleID string) (RunsView, error) {
	cy, err := r.cycles.Get(ctx, cycleID)
	if err != nil {
		return RunsView{}, err
	}
	rs, err := r.runs.List(ctx, by, cy.ID)
	if err != nil {
		return RunsView{}, err
	}
	v := RunsView{Cycle: cy}
	if v.Failed, err = r.runs.Failures(ctx, by, cy.ID); err != nil {
		return RunsView{}, err
	}
	if v.Active, err = r.runs.Active(ctx, by, cy.ID); err != nil {
		return RunsView{}, err
	}
	v.CanRun = cy.Status == cycles.Scoring && v.Active == nil
	name, err := usernames(ctx, r.users)
	if err != nil {
		return RunsView{}, err
	}
	for _, run := range rs {
		row := RunRow{Run: run, Hash: run.InputsHash, By: cmp.Or(name[run.CreatedBy], run.CreatedBy), Current: run.ScoringPeriod == cy.ScoringPeriod}
		if len(row.Hash) > 12 {
			row.Hash = row.Hash[:12]
		}
		row.Publishable = row.Current && cy.Status == cycles.Scoring && run.PublishedAt == nil
		switch st, err := r.report.Get(ctx, by, run.ID); {
		case err == nil:
			row.Report = &st
		case !errors.Is(err, ErrNotRendered):
			return RunsView{}, err
		}
		v.Runs = append(v.Runs, row)
	}
	return v, nil
}

// RunOf checks that run runID is one of cycle cycleID's runs, so that a
// form under one cycle's path cannot act on another cycle's run: a run of
// another cycle is not found.
func (r *Runs) RunOf(ctx context.Context, by auth.Principal, cycleID, runID string) error {
	rs, err := r.runs.List(ctx, by, cycleID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(rs, func(x evaluation.Run) bool { return x.ID == runID }) {
		return fmt.Errorf("run %s of cycle %s: %w", runID, cycleID, fault.ErrNotFound)
	}
	return nil
}
