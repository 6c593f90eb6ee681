package jobs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

// Defaults for a kind registered without options.
const (
	DefaultMaxRetry = 3
	DefaultTimeout  = 30 * time.Minute
)

// Limits of the per-kind options. Tasks travel with these ceilings as their
// asynq MaxRetry and Timeout; the worker applies the kind's own, lower
// values, so that the process that runs a kind is the one place its policy
// is set, and the API process needs no registry to submit a job.
const (
	MaxMaxRetry = 25
	MaxTimeout  = 24 * time.Hour
)

// DefaultQueue is the asynq queue every job travels on.
const DefaultQueue = "default"

// Progress reports how far a handler has come: percent (clamped to 0–100)
// and a short message. Reports are persisted at most about once a second,
// the latest one always, and each refreshes the job's heartbeat. Progress is
// safe for concurrent use and cheap to call often.
type Progress func(percent int, message string)

// Handler does the work of one job. It returns a result (typically a
// reference to what it produced) or an error; an error wrapping
// asynq.SkipRetry fails the job at once, any other error is retried with
// backoff until the kind's MaxRetry is used up. ctx is cancelled when the
// kind's Timeout passes or the worker gives the task up. Handlers must be
// idempotent: a job may be started again after a crash or a shutdown.
//
// The error is logged in full, but API callers see its text only when it
// wraps a *fault.Detailed (its Detail) or a *fault.ValidationError: other
// errors may name hosts, files or SQL, so the job's Error then only points
// at the server log. A handler that wants the caller to know why wraps
// fault.With(kind, en, zh, nil).
type Handler func(ctx context.Context, job Job, progress Progress) (result string, err error)

// Option configures a kind at registration.
type Option func(*spec)

// MaxRetry sets how many times a failed job is retried: 0 (never) to
// MaxMaxRetry.
func MaxRetry(n int) Option {
	return func(s *spec) { s.maxRetry = min(max(n, 0), MaxMaxRetry) }
}

// Timeout sets how long one attempt may run before its ctx is cancelled, at
// most MaxTimeout.
func Timeout(d time.Duration) Option {
	return func(s *spec) {
		if d > 0 {
			s.timeout = min(d, MaxTimeout)
		}
	}
}

// spec is one registered kind.
type spec struct {
	handler  Handler
	maxRetry int
	timeout  time.Duration
}

func defaultSpec() spec {
	return spec{maxRetry: DefaultMaxRetry, timeout: DefaultTimeout}
}

// taskOptions are the asynq options of a job's task: the job id as task id,
// and the ceilings the worker's per-kind policy stays within.
func taskOptions(id string) []asynq.Option {
	return []asynq.Option{asynq.TaskID(id), asynq.Queue(DefaultQueue), asynq.MaxRetry(MaxMaxRetry), asynq.Timeout(MaxTimeout)}
}

// Registry lists the kinds of job, their handlers and options. Workers run
// the kinds of their registry; the Sweeper reads it for MaxRetry. It is safe
// for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]spec
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]spec{}} }

// Register adds a kind. Like http.ServeMux.Handle it panics on an empty
// kind, a nil handler or a kind registered twice: those are wiring bugs.
func (r *Registry) Register(kind string, h Handler, opts ...Option) {
	if kind == "" || h == nil {
		panic("jobs: Register needs a kind and a handler")
	}
	s := defaultSpec()
	s.handler = h
	for _, o := range opts {
		o(&s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[kind]; dup {
		panic(fmt.Sprintf("jobs: kind %q registered twice", kind))
	}
	r.kinds[kind] = s
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// formerKinds maps the names kinds had before they were named
// "domain:action" to their names now. Migration 0010 renamed them in the
// jobs table. A task the broker held from before the upgrade keeps its old
// type, but a worker runs a task as its job's row says, renamed; a process
// of the older version still running beside the new ones (an API process
// not yet upgraded) may however record a job under an old name after the
// migration. The registry runs such a job as the kind of its new name (the
// Sweeper applies that kind's retries), and List and SubmitOnceTx find jobs
// under either name. A kind renamed later adds its old name here and to a
// migration.
var formerKinds = map[string]string{
	"evaluation.run": "evaluation:run",
	"survey.ingest":  "surveys:ingest",
	"reports.render": "reports:render",
}

// currentKind returns the name kind has now: kind itself, unless it is a
// kind's former name.
func currentKind(kind string) string {
	if now, ok := formerKinds[kind]; ok {
		return now
	}
	return kind
}

// CurrentKind returns the name kind has now, for callers that say a
// job's kind in words: kind itself, unless it is a kind's former name.
func CurrentKind(kind string) string { return currentKind(kind) }

// namesOf returns every name a job of kind may be recorded under: its
// current name and its former ones.
func namesOf(kind string) []string {
	now := currentKind(kind)
	names := []string{now}
	for old, k := range formerKinds {
		if k == now {
			names = append(names, old)
		}
	}
	return names
}

// lookup returns the spec of kind, registered under its current name.
func (r *Registry) lookup(kind string) (spec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.kinds[currentKind(kind)]
	return s, ok
}

// specOf returns the kind's spec, or the defaults for a kind this registry
// does not know (a row written by another version of ipeval).
func (r *Registry) specOf(kind string) spec {
	if s, ok := r.lookup(kind); ok {
		return s
	}
	return defaultSpec()
}
