// Package jobs runs long work — survey ingestion, evaluation runs,
// sensitivity analysis, report rendering — as durable jobs.
//
// The jobs table is the source of truth: every job is a row with its kind,
// JSON payload, status (queued → running → succeeded | failed), progress,
// message, attempts and result. asynq is only the transport: a job travels
// as an asynq task whose task id is the job id, so the broker holds at most
// one task per job, and the standard asynq keys let asynq's CLI and web UI
// inspect the queues. A lost broker loses no work: rows stay queued and the
// Sweeper hands the broker again whatever it no longer holds.
//
// The pieces:
//
//   - Registry: the kinds of job, each with its Handler and options
//     (MaxRetry, Timeout). Packages that own work declare their kinds as
//     constants and provide handlers for them.
//   - Queue: the client side, used by the API process: submit, read, list.
//     It needs no registry: tasks travel with generous asynq ceilings.
//   - Worker: an asynq server running the registered handlers, applying
//     each kind's retries and timeout, with backoff and graceful shutdown.
//   - Sweeper: the periodic repair that re-enqueues queued jobs the broker
//     lost and recovers running jobs whose worker vanished.
//
// A kind is named "domain:action" — "evaluation:run", "surveys:ingest",
// "reports:render", "audit:export" — where domain is the package that
// declares the kind and handles it. That is asynq's own convention, so the
// kinds read naturally in asynq's CLI and web UI, which show them as task
// types; a kind names where its handler lives; and the colon keeps kinds
// apart from the dotted names of routes and messages ("audit.export" is
// the route that submits "audit:export"). Kinds named otherwise before
// (evaluation.run, survey.ingest, reports.render) were renamed by
// migration 0010, and the Registry still runs jobs of those names, which a
// broker or a process of an older version may yet hand it: see formerKinds.
//
// Handlers must be idempotent: a job can be started more than once (a worker
// dies mid-run, a shutdown hands the task back), and a duplicate delivery of
// a finished job does nothing. A handler returns an error wrapping
// asynq.SkipRetry for work that can never succeed (a malformed payload), and
// honours ctx, which is cancelled on timeout and when its worker gives up.
package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Status is where a job is in its life.
type Status string

// Job statuses. A job is queued until a worker starts it, running while a
// handler works on it, and ends succeeded or failed. A job whose attempt
// fails but may be retried goes back to queued.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusRunning, StatusSucceeded, StatusFailed:
		return true
	}
	return false
}

// Job is one row of the jobs table.
type Job struct {
	ID   string `json:"id" gorm:"primaryKey;size:36"`
	Kind string `json:"kind" gorm:"size:64"`
	// Payload is the JSON document the job was submitted with.
	Payload  string `json:"payload"`
	Status   Status `json:"status" gorm:"size:16"`
	Progress int    `json:"progress"`
	// Message is the latest human-readable note: progress text while
	// running, the reason of the last failure while queued for a retry,
	// and once failed the reason in Chinese when known (Error has it in
	// English).
	Message string `json:"message"`
	// Attempts counts how often a worker started the job, including starts
	// that a shutdown or a vanished worker interrupted.
	Attempts int `json:"attempts"`
	// Result is what a successful handler returned, typically a reference
	// to what it produced (a run id, a report path).
	Result string `json:"result"`
	// Error is the last attempt's error as API callers may see it: the
	// detail of a fault.Detailed or fault.ValidationError in the handler's
	// error, otherwise a generic text pointing at the server log, which
	// alone holds the full error (it may name hosts, files or SQL). A
	// success clears it.
	Error       string     `json:"error"`
	CreatedBy   *string    `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	HeartbeatAt *time.Time `json:"heartbeat_at"`
}

// TableName maps Job onto the jobs table of migration 0001.
func (Job) TableName() string { return "jobs" }

// Done reports whether the job has finished, successfully or not.
func (j Job) Done() bool { return j.Status == StatusSucceeded || j.Status == StatusFailed }

// Decode unmarshals the job's payload into v. A payload that does not decode
// can never succeed, so the error wraps asynq.SkipRetry: a handler returns
// it as is. It also wraps the json error, for callers that want to tell a
// syntax error from a type mismatch.
func (j Job) Decode(v any) error {
	if err := json.Unmarshal([]byte(j.Payload), v); err != nil {
		return fmt.Errorf("decode %s payload of job %s: %w: %w", j.Kind, j.ID, err, asynq.SkipRetry)
	}
	return nil
}

// Column limits of the jobs table (characters).
const (
	maxKind    = 64
	maxMessage = 500
	maxError   = 1000
)

// now is the current time as the database keeps it: UTC, milliseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
