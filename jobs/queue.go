package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/fault"
)

// enqueueTimeout bounds how long Submit waits for the broker: a write that
// created a job must not hang on a broker outage.
const enqueueTimeout = 3 * time.Second

// Queue is the client side of jobs: it records jobs and hands them to the
// broker. It is safe for concurrent use.
type Queue struct {
	db        *gorm.DB
	log       *slog.Logger
	rc        redis.UniversalClient
	client    *asynq.Client
	inspector *asynq.Inspector
}

// NewQueue returns a Queue recording jobs in db and enqueueing them on the
// broker at redisOpt; log may be nil. It does not connect: a broker that is
// down at start only delays jobs.
func NewQueue(db *gorm.DB, redisOpt asynq.RedisConnOpt, log *slog.Logger) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rc := redisClient(redisOpt)
	return &Queue{
		db:        db,
		log:       log,
		rc:        rc,
		client:    asynq.NewClientFromRedisClient(rc),
		inspector: asynq.NewInspectorFromRedisClient(rc),
	}
}

// redisClient connects to the broker. For a single server it fails fast —
// one dial attempt, one retry — instead of go-redis's five dial attempts per
// try, so that a write that creates a job during an outage is not held up:
// the Sweeper enqueues the job later anyway.
func redisClient(opt asynq.RedisConnOpt) redis.UniversalClient {
	if o, ok := opt.(asynq.RedisClientOpt); ok {
		return redis.NewClient(&redis.Options{
			Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolSize: o.PoolSize, TLSConfig: o.TLSConfig,
			MaxRetries: 1, DialerRetries: 1,
		})
	}
	rc, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		panic(fmt.Sprintf("jobs: unsupported RedisConnOpt %T", opt))
	}
	return rc
}

// Close releases the connection to the broker.
func (q *Queue) Close() error { return q.rc.Close() }

// Submit records a queued job of the given kind and enqueues it. payload
// is encoded as JSON (a json.RawMessage is stored as is); createdBy is a user
// id or "". When the broker cannot be reached Submit logs a warning and still
// returns the job: the row is the truth, and the Sweeper enqueues it once the
// broker is back.
func (q *Queue) Submit(ctx context.Context, kind string, payload any, createdBy string) (Job, error) {
	job, err := q.SubmitTx(q.db.WithContext(ctx), kind, payload, createdBy)
	if err != nil {
		return Job{}, err
	}
	_ = q.Enqueue(ctx, job)
	return job, nil
}

// SubmitTx records a queued job inside the caller's transaction tx, so that
// the job exists if and only if the rest of the caller's writes commit. It
// does not enqueue: after the commit, the caller passes the job to Enqueue.
//
//	var job jobs.Job
//	err := db.Transaction(func(tx *gorm.DB) error {
//		// … store the upload …
//		var err error
//		job, err = q.SubmitTx(tx, TypeIngestBatch, payload, userID)
//		return err
//	})
//	if err != nil { … }
//	q.Enqueue(ctx, job)
//
// A job whose Enqueue is forgotten or fails is not lost: the Sweeper
// enqueues queued jobs the broker does not hold once they are older than its
// grace period.
func (q *Queue) SubmitTx(tx *gorm.DB, kind string, payload any, createdBy string) (Job, error) {
	if kind == "" || len(kind) > maxKind {
		return Job{}, fmt.Errorf("submit job: kind %q: want 1 to %d characters", kind, maxKind)
	}
	body, err := encodePayload(payload)
	if err != nil {
		return Job{}, fmt.Errorf("submit %s job: %w", kind, err)
	}
	t := now()
	job := Job{ID: uuid.NewString(), Kind: kind, Payload: body, Status: StatusQueued, CreatedAt: t, UpdatedAt: t}
	if createdBy != "" {
		job.CreatedBy = &createdBy
	}
	if err := tx.Create(&job).Error; err != nil {
		return Job{}, fmt.Errorf("insert %s job: %w", kind, err)
	}
	return job, nil
}

// SubmitOnceTx is SubmitTx unless a queued or running job of kind (under
// its current or a former name) already answers for this one — same says whether it does — in which case that
// job (the oldest) is returned instead; fresh reports that a new job was
// recorded, which the caller enqueues after tx commits. Callers that must
// not let two transactions both find no job lock a row they share first.
func (q *Queue) SubmitOnceTx(tx *gorm.DB, kind string, payload any, createdBy string, same func(Job) bool) (job Job, fresh bool, err error) {
	var active []Job
	if err := tx.Where("kind IN ? AND status IN ?", namesOf(kind), []Status{StatusQueued, StatusRunning}).
		Order("created_at").Find(&active).Error; err != nil {
		return Job{}, false, fmt.Errorf("find active %s jobs: %w", kind, err)
	}
	for _, j := range active {
		if same(j) {
			return j, false, nil
		}
	}
	job, err = q.SubmitTx(tx, kind, payload, createdBy)
	return job, err == nil, err
}

func encodePayload(payload any) (string, error) {
	switch p := payload.(type) {
	case nil:
		return "{}", nil
	case json.RawMessage:
		if !json.Valid(p) {
			return "", fmt.Errorf("payload is not valid JSON: %w", fault.ErrBadRequest)
		}
		return string(p), nil
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("encode payload: %w", err)
	}
	return string(b), nil
}

// Enqueue hands a recorded job to the broker, with the job id as task id.
// A job the broker already holds is left alone. It runs even when ctx is
// cancelled (the job is committed by then) but gives up after a few
// seconds; a failure is logged and returned for information only — the job
// stays queued and the Sweeper retries.
func (q *Queue) Enqueue(ctx context.Context, job Job) error {
	if err := q.enqueue(ctx, job); err != nil {
		q.log.Warn("job not enqueued; the sweeper will retry", "job_id", job.ID, "kind", job.Kind, "err", err)
		return err
	}
	return nil
}

func (q *Queue) enqueue(ctx context.Context, job Job) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	_, err := q.client.EnqueueContext(ctx, asynq.NewTask(job.Kind, []byte(job.Payload)), taskOptions(job.ID)...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue job %s: %w", job.ID, err)
	}
	return nil
}

// Get returns the job with the given id, or an error wrapping
// fault.ErrNotFound.
func (q *Queue) Get(ctx context.Context, id string) (Job, error) {
	return load(ctx, q.db, id)
}

func load(ctx context.Context, db *gorm.DB, id string) (Job, error) {
	var job Job
	err := db.WithContext(ctx).Where("id = ?", id).Take(&job).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return Job{}, fmt.Errorf("job %s: %w", id, fault.ErrNotFound)
	case err != nil:
		return Job{}, fmt.Errorf("load job %s: %w", id, err)
	}
	return job, nil
}

// Filter selects jobs for List. Empty fields match everything.
type Filter struct {
	CreatedBy string
	// Kind matches the jobs of a kind, named by its current or a former
	// name, under either.
	Kind   string
	Status Status
	// Statuses, when Status is empty, matches the jobs in any of them
	// (the jobs page's default: those that need attention).
	Statuses []Status
	// Limit caps the number of jobs (default 50, at most 500).
	Limit int
}

// List limits of Filter.Limit.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// List returns the jobs matching f, newest first.
func (q *Queue) List(ctx context.Context, f Filter) ([]Job, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, fault.With(fault.ErrBadRequest, fmt.Sprintf("unknown job status %q", f.Status), fmt.Sprintf("未知的任务状态 %q", f.Status), nil)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	db := q.db.WithContext(ctx).Model(&Job{})
	if f.CreatedBy != "" {
		db = db.Where("created_by = ?", f.CreatedBy)
	}
	if f.Kind != "" {
		db = db.Where("kind IN ?", namesOf(f.Kind))
	}
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	} else if len(f.Statuses) > 0 {
		db = db.Where("status IN ?", f.Statuses)
	}
	jobs := []Job{}
	if err := db.Order("created_at DESC").Order("id DESC").Limit(limit).Find(&jobs).Error; err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// Ping reports whether the broker answers within ctx, for readiness
// checks. It reuses the queue's connection pool: a check per request must
// not open a client, and with it connections, each time. The error wraps
// fault.ErrUnavailable.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.rc.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("broker: %w: %w", fault.ErrUnavailable, err)
	}
	return nil
}

// Ping reports whether the broker at redisOpt answers within ctx. It opens
// and closes a client per call, so it suits a one-off check; a process that
// has a Queue checks with (*Queue).Ping instead. The error wraps
// fault.ErrUnavailable.
func Ping(ctx context.Context, redisOpt asynq.RedisConnOpt) error {
	rc := redisClient(redisOpt)
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("broker: %w: %w", fault.ErrUnavailable, err)
	}
	return nil
}

// RedisOpt parses a broker address: host:port, or a URL
// redis://[[user]:password@]host[:port][/db] (rediss:// for TLS).
func RedisOpt(addr string) (asynq.RedisConnOpt, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, errors.New("empty broker address")
	}
	if !strings.Contains(addr, "://") {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("broker address %q: want host:port or redis://host:port/db: %w", addr, err)
		}
		return asynq.RedisClientOpt{Addr: addr, DialTimeout: dialTimeout}, nil
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("broker address: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("broker address: unsupported scheme %q (want redis or rediss)", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("broker address %q: no host", addr)
	}
	opt, err := asynq.ParseRedisURI(addr)
	if err != nil {
		return nil, fmt.Errorf("broker address: %w", err)
	}
	o := opt.(asynq.RedisClientOpt)
	if u.Port() == "" {
		o.Addr = net.JoinHostPort(u.Hostname(), "6379")
	}
	o.Username = u.User.Username()
	o.DialTimeout = dialTimeout
	return o, nil
}

// dialTimeout keeps a request that touches an unreachable broker short.
const dialTimeout = 2 * time.Second
