package reports

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/surveys"
)

// JobLister lists jobs, as jobs.Queue does.
type JobLister interface {
	List(ctx context.Context, f jobs.Filter) ([]jobs.Job, error)
}

// JobKinds are the kinds of job the jobs page filters by, each said in
// words by the message "jobs.kind.<kind>".
var JobKinds = []string{evaluation.JobKind, surveys.JobKind, JobKind, audit.TypeExport}

// JobStates are the states the jobs page filters by; "" (the default)
// is the jobs that need attention: queued, running or failed.
var JobStates = []jobs.Status{jobs.StatusQueued, jobs.StatusRunning, jobs.StatusFailed, jobs.StatusSucceeded}

// JobVisible reports whether p may see job j, on the jobs page as in the
// API's jobs.list and jobs.get: its creator may, and the assessment
// manager may see every job but an audit export, which holds the audit
// log that only the auditor reads.
func JobVisible(p auth.Principal, j jobs.Job) bool {
	if j.CreatedBy != nil && *j.CreatedBy == p.UserID {
		return true
	}
	return p.Is(auth.RoleAdmin) && j.Kind != audit.TypeExport
}

// JobsFilter is the jobs page's filter as asked: a state of JobStates or
// "" and a kind of JobKinds or "".
type JobsFilter struct {
	State jobs.Status
	Kind  string
}

// JobsView is the jobs page: the jobs the user may see that match the
// filter, newest first, with the choices of the filter.
type JobsView struct {
	Filter JobsFilter
	Rows   []JobRow
	Kinds  []string
	States []jobs.Status
	// Active tells whether a listed job is queued or running, so that the
	// page refreshes itself to follow their progress.
	Active bool
}

// JobRow is one job as the page shows it.
type JobRow struct {
	jobs.Job
	// KindKey is the message key of the kind in words.
	KindKey string
	// By is the username of who started it (the user id when unknown,
	// "" for the system).
	By string
	// Object names what the job works on ("cycle 2026…", "batch …"), and
	// ObjectHref where it is seen ("" for none).
	Object, ObjectHref string
	// ResultHref leads to what a finished job produced ("" for none).
	ResultHref string
}

// Jobs assembles the jobs page from the job queue and the users.
type Jobs struct {
	jobs  JobLister
	users UserLister
}

// NewJobs returns the jobs page's assembler.
func NewJobs(js JobLister, users UserLister) *Jobs { return &Jobs{jobs: js, users: users} }

// jobListLimit caps the jobs the page lists, as the API's jobs.list does.
const jobListLimit = 100

// Page assembles the jobs page for by under f: an admin's shows every
// job but audit exports, anyone else's their own (JobVisible). A state
// that is not one of JobStates is a bad request.
func (s *Jobs) Page(ctx context.Context, by auth.Principal, f JobsFilter) (JobsView, error) {
	q := jobs.Filter{Kind: f.Kind, Status: f.State, Limit: jobListLimit}
	if f.State == "" {
		q.Statuses = []jobs.Status{jobs.StatusQueued, jobs.StatusRunning, jobs.StatusFailed}
	}
	if !by.Is(auth.RoleAdmin) {
		q.CreatedBy = by.UserID
	}
	js, err := s.jobs.List(ctx, q)
	if err != nil {
		return JobsView{}, err
	}
	names, err := usernames(ctx, s.users)
	if err != nil {
		return JobsView{}, err
	}
	v := JobsView{Filter: f, Kinds: JobKinds, States: JobStates, Rows: []JobRow{}}
	for _, j := range js {
		if !JobVisible(by, j) {
			continue
		}
		row := JobRow{Job: j, KindKey: "jobs.kind." + jobs.CurrentKind(j.Kind)}
		if j.CreatedBy != nil {
			row.By = cmp.Or(names[*j.CreatedBy], *j.CreatedBy)
		}
		row.Object, row.ObjectHref, row.ResultHref = jobObject(j)
		v.Active = v.Active || !j.Done()
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

// jobObject says what a job works on and where its result is, from its
// payload and result: a run's cycle and the run, a survey batch, a run's
// report, a file produced (an audit export).
func jobObject(j jobs.Job) (object, href, result string) {
	var p struct {
		CycleID string `json:"cycle_id"`
		BatchID string `json:"batch_id"`
		RunID   string `json:"run_id"`
	}
	var r struct {
		RunID string `json:"run_id"`
		File  string `json:"file"`
	}
	_ = json.Unmarshal([]byte(j.Payload), &p) // a payload of another shape names nothing
	if j.Status == jobs.StatusSucceeded {
		_ = json.Unmarshal([]byte(j.Result), &r)
	}
	switch {
	case p.CycleID != "":
		object, href = "cycle:"+p.CycleID, "/cycles/"+url.PathEscape(p.CycleID)+"/runs"
		if r.RunID != "" {
			result = "/cycles/" + url.PathEscape(p.CycleID) + "/overview?run=" + url.QueryEscape(r.RunID)
		}
	case p.BatchID != "":
		object = "batch:" + p.BatchID
	case p.RunID != "":
		object = "run:" + p.RunID
	}
	if r.File != "" {
		result = "/api/v1/jobs/" + url.PathEscape(j.ID) + "/result"
	}
	return object, href, result
}

// usernames maps every user's id to its username, for the pages that
// name who did something.
func usernames(ctx context.Context, users UserLister) (map[string]string, error) {
	us, err := users.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(us))
	for _, u := range us {
		names[u.ID] = u.Username
	}
	return names, nil
}
