// Package evaluation keeps evaluation runs: it snapshots a cycle's inputs,
// scores them with the pure engine in package engine as a job, stores
// each run whole, and publishes one run per cycle. It is the engine's
// storage side; the engine itself knows nothing of databases.
package evaluation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
)

// JobKind is the job that scores a cycle.
const JobKind = "evaluation:run"

// Run is one stored evaluation of a cycle: its frozen inputs, the engine
// version, and the results. Identical inputs give byte-identical Results.
type Run struct {
	ID      string `json:"id" gorm:"primaryKey"`
	CycleID string `json:"cycle_id"`
	// JobID is the job that made the run; nil for one made in process.
	JobID         *string `json:"job_id"`
	SchemeID      string  `json:"scheme_id"`
	SchemeVersion int     `json:"scheme_version"`
	EngineVersion string  `json:"engine_version"`
	Seed          int64   `json:"seed"`
	InputsHash    string  `json:"inputs_hash"`
	Inputs        string  `json:"-"`
	ResultsHash   string  `json:"results_hash"`
	Results       string  `json:"-"`
	// Sensitivity is the Monte Carlo analysis of the results, as JSON.
	Sensitivity string     `json:"-"`
	Regions     int        `json:"regions"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	PublishedAt *time.Time `json:"published_at"`
	PublishedBy string     `json:"published_by,omitempty"`

	// ScoringPeriod is the cycle's scoring period the run was requested
	// in; only a run of the cycle's current period is published.
	ScoringPeriod int `json:"scoring_period"`
}

// TableName is the runs table of migration 0005.
func (Run) TableName() string { return "runs" }

// payload is what a run job carries: the cycle and the settings, not the
// inputs, which the job reads when it starts.
type payload struct {
	CycleID  string   `json:"cycle_id"`
	Settings Settings `json:"settings"`

	// ScoringPeriod is the cycle's scoring period at the request: the run
	// is stored only while the cycle is still in it.
	ScoringPeriod int `json:"scoring_period"`
}

// Settings are the choices an admin makes for a run's sensitivity analysis
// (DESIGN.md section 6); everything else follows from the inputs. The zero
// value is the default analysis: 1,000 draws, weights ±20%.
type Settings struct {
	// Draws is the number of Monte Carlo draws (0: the default).
	Draws int `json:"draws,omitempty"`
	// WeightSpread is the relative half-width of the weight perturbation
	// in [0, 1); nil is the default 0.2.
	WeightSpread *float64 `json:"weight_spread,omitempty"`
	// SwapNormalisation, SwapAggregation and ToggleImputation switch on
	// the engine's optional perturbations.
	SwapNormalisation bool `json:"swap_normalisation,omitempty"`
	SwapAggregation   bool `json:"swap_aggregation,omitempty"`
	ToggleImputation  bool `json:"toggle_imputation,omitempty"`
	// SurveyIntervals draws each survey-sourced value from its 95%
	// confidence interval.
	SurveyIntervals bool `json:"survey_intervals,omitempty"`
}

// Validate checks the settings before a job is queued, so that a bad
// request gets a 400 rather than a failed job.
func (st Settings) Validate() error {
	var errs []fault.FieldError
	if st.Draws < 0 || st.Draws > engine.MaxSensitivityDraws {
		errs = append(errs, fault.Field("draws", "invalid_draws",
			fmt.Sprintf("抽样次数须在 0 至 %d 之间（0 表示默认 %d 次）", engine.MaxSensitivityDraws, engine.DefaultSensitivityDraws),
			fmt.Sprintf("draws must be between 0 and %d (0 means the default %d)", engine.MaxSensitivityDraws, engine.DefaultSensitivityDraws)))
	}
	if w := st.WeightSpread; w != nil && !(*w >= 0 && *w < 1) {
		errs = append(errs, fault.Field("weight_spread", "invalid_spread",
			"权重扰动幅度必须是 [0, 1) 内的数", "the weight spread must be a number in [0, 1)"))
	}
	return fault.Invalid(errs...)
}

// options turns the settings into the engine's options for a snapshot.
func (st Settings) options(seed uint64, in engine.Input) engine.SensitivityOptions {
	opt := engine.SensitivityOptions{Seed: seed, Draws: st.Draws, WeightSpread: st.WeightSpread,
		SwapNormalisation: st.SwapNormalisation, SwapAggregation: st.SwapAggregation, ToggleImputation: st.ToggleImputation}
	if st.SurveyIntervals {
		opt.SurveyIntervals = in.Intervals
	}
	return opt
}

// Store keeps runs.
type Store struct {
	db      *gorm.DB
	queue   *jobs.Queue
	schemes *indicators.SchemeStore
	hooks   []PublishHook
}

// PublishHook is work that follows the publication of a run, such as
// rendering its report. Publish calls it inside the publishing
// transaction, so that a job it records with jobs.Queue.SubmitTx exists
// if and only if the publication commits, and enqueues the jobs it returns
// after the commit. It lets packages downstream of evaluation react to a
// publication without evaluation knowing them.
type PublishHook func(tx *gorm.DB, by auth.Principal, r Run) ([]jobs.Job, error)

// Option configures a Store.
type Option func(*Store)

// WithPublishHook adds a hook that every publication runs.
func WithPublishHook(h PublishHook) Option {
	return func(s *Store) { s.hooks = append(s.hooks, h) }
}

// NewStore returns a Store on db that submits run jobs to queue.
func NewStore(db *gorm.DB, queue *jobs.Queue, schemes *indicators.SchemeStore, opts ...Option) *Store {
	s := &Store{db: db, queue: queue, schemes: schemes}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Request asks for a run of a cycle in scoring, as a job. While a run of
// the cycle is queued or running, a second request returns that job
// instead of starting another. Only admins run evaluations.
func (s *Store) Request(ctx context.Context, by auth.Principal, cycleID string, st Settings) (jobs.Job, error) {
	if !by.Is(auth.RoleAdmin) {
		return jobs.Job{}, forbidden()
	}
	if err := st.Validate(); err != nil {
		return jobs.Job{}, err
	}
	var job jobs.Job
	fresh := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The cycle's lock: two requests cannot both find no job and both
		// submit one.
		c, err := lockCycle(tx, cycleID)
		if err != nil {
			return err
		}
		if err := scorable(c); err != nil {
			return err
		}
		body, err := json.Marshal(payload{CycleID: cycleID, ScoringPeriod: c.ScoringPeriod, Settings: st})
		if err != nil {
			return err
		}
		// Whatever its settings, a queued or running run of the cycle
		// answers the request: one run at a time per cycle.
		job, fresh, err = s.queue.SubmitOnceTx(tx, JobKind, json.RawMessage(body), by.UserID, func(j jobs.Job) bool {
			var p payload
			return j.Decode(&p) == nil && p.CycleID == cycleID
		})
		return err
	})
	if err != nil {
		return jobs.Job{}, err
	}
	if fresh {
		// The job row is committed: if enqueueing fails, the sweeper
		// enqueues it later.
		_ = s.queue.Enqueue(ctx, job)
	}
	return job, nil
}

// Handler is the job that scores a cycle: it reads a consistent snapshot
// of the inputs, runs the engine and stores the run in one transaction.
// It is idempotent: a retried job finds the run its first attempt stored,
// and a rerun on unchanged inputs stores byte-identical results.
func (s *Store) Handler() jobs.Handler {
	return func(ctx context.Context, job jobs.Job, progress jobs.Progress) (string, error) {
		var p payload
		if err := job.Decode(&p); err != nil {
			return "", err
		}
		var existing []Run
		if err := s.db.WithContext(ctx).Select("id").Where("job_id = ?", job.ID).Limit(1).Find(&existing).Error; err != nil {
			return "", fmt.Errorf("find run: %w", err)
		}
		if len(existing) > 0 {
			return runResult(existing[0].ID)
		}
		progress(5, "reading inputs")
		createdBy := ""
		if job.CreatedBy != nil {
			createdBy = *job.CreatedBy
		}
		run, err := s.evaluate(ctx, p.CycleID, p.ScoringPeriod, p.Settings, &job.ID, createdBy, progress)
		if err != nil {
			return "", err
		}
		return runResult(run.ID)
	}
}

// RunNow evaluates a cycle in scoring within the caller's process and
// stores the run, without a job: for the demo data and for tools that
// already run in a worker.
func (s *Store) RunNow(ctx context.Context, by auth.Principal, cycleID string) (Run, error) {
	if !by.Is(auth.RoleAdmin) {
		return Run{}, forbidden()
	}
	var c cycles.Cycle
	if err := s.db.WithContext(ctx).Where("id = ?", cycleID).Take(&c).Error; err != nil {
		return Run{}, fmt.Errorf("get cycle: %w", err)
	}
	if err := scorable(c); err != nil {
		return Run{}, err
	}
	return s.evaluate(ctx, cycleID, c.ScoringPeriod, Settings{}, nil, by.UserID, func(int, string) {})
}

// evaluate scores a snapshot of the cycle and stores the run, if the cycle
// is still in the scoring period the run was requested in.
func (s *Store) evaluate(ctx context.Context, cycleID string, period int, set Settings, jobID *string, createdBy string, progress jobs.Progress) (Run, error) {
	in, st, err := s.snapshot(ctx, cycleID, period)
	if err != nil {
		return Run{}, err
	}
	progress(20, "scoring")
	prep, err := engine.Prepare(in)
	if err != nil {
		return Run{}, cannotSucceed(err)
	}
	res, err := prep.Evaluate(engine.Options{})
	if err != nil {
		return Run{}, cannotSucceed(err)
	}
	inputs, err := json.Marshal(in)
	if err != nil {
		return Run{}, cannotSucceed(fmt.Errorf("encode inputs: %w", err))
	}
	results, err := json.Marshal(res)
	if err != nil {
		return Run{}, cannotSucceed(fmt.Errorf("encode results: %w", err))
	}
	// The seed comes from the inputs, so that a rerun on the same inputs
	// draws the same numbers and stores the same intervals.
	inputsHash := digest(inputs)
	seed := seedOf(inputsHash)
	sens, err := prep.Sensitivity(ctx, set.options(seed, in), func(done, total int) {
		progress(30+60*done/max(total, 1), "sensitivity analysis")
	})
	if err != nil {
		return Run{}, cannotSucceed(err)
	}
	sensitivity, err := json.Marshal(sens)
	if err != nil {
		return Run{}, cannotSucceed(fmt.Errorf("encode sensitivity: %w", err))
	}
	progress(95, "storing")
	run := Run{ID: uuid.Must(uuid.NewV7()).String(), CycleID: cycleID, JobID: jobID, SchemeID: st.ID,
		SchemeVersion: st.Version, EngineVersion: engine.EngineVersion, Seed: int64(seed), InputsHash: inputsHash,
		Inputs: string(inputs), ResultsHash: digest(results), Results: string(results), Sensitivity: string(sensitivity),
		Regions: len(res.Regions), ScoringPeriod: period, CreatedBy: createdBy, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := storeRun(s.db.WithContext(ctx), &run); err != nil {
		return Run{}, err
	}
	return run, nil
}

func runResult(id string) (string, error) {
	b, err := json.Marshal(map[string]string{"run_id": id})
	return string(b), err
}

// snapshot reads everything a run scores, in one read transaction so that
// a value changed meanwhile is either wholly in or wholly out, from a
// cycle still in the scoring period of the run.
func (s *Store) snapshot(ctx context.Context, cycleID string, period int) (engine.Input, indicators.StoredScheme, error) {
	var in engine.Input
	var st indicators.StoredScheme
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c cycles.Cycle
		if err := tx.Where("id = ?", cycleID).Take(&c).Error; err != nil {
			return fmt.Errorf("get cycle: %w", err)
		}
		if err := inPeriod(c, period); err != nil {
			return err
		}
		if err := scorable(c); err != nil {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		if err := tx.Where("id = ?", *c.SchemeID).Take(&st).Error; err != nil {
			return fmt.Errorf("get scheme: %w", err)
		}
		sc, err := s.schemes.Decode(st)
		if err != nil {
			return err
		}
		var rs []regions.Region
		if err := tx.Scopes(regions.Assessed).Order("code").Find(&rs).Error; err != nil {
			return fmt.Errorf("list regions: %w", err)
		}
		var vals []indicators.Value
		if err := tx.Where("cycle_id = ?", cycleID).Order("region_code, indicator_code").Find(&vals).Error; err != nil {
			return fmt.Errorf("list values: %w", err)
		}
		in.Scheme = sc
		for _, r := range rs {
			in.Regions = append(in.Regions, engine.Region{Code: r.Code, Name: r.Name, Kind: r.Kind})
		}
		in.Values = make(map[string]map[string]engine.Value, len(rs))
		assessed := make(map[string]bool, len(rs))
		for _, r := range rs {
			assessed[r.Code] = true
		}
		for _, v := range vals {
			// A region that has left the assessed set keeps its values on
			// record, but they are no longer scored.
			if (v.Number == nil && !v.NotApplicable) || !assessed[v.RegionCode] {
				continue
			}
			ev := engine.Value{NotApplicable: v.NotApplicable, Status: engine.ValueStatus(v.Status)}
			if v.Number != nil {
				ev.Number = *v.Number
			}
			if in.Values[v.RegionCode] == nil {
				in.Values[v.RegionCode] = map[string]engine.Value{}
			}
			in.Values[v.RegionCode][v.IndicatorCode] = ev
			if v.CILower != nil && v.CIUpper != nil && v.Number != nil {
				in.SetInterval(v.RegionCode, v.IndicatorCode, engine.Interval{Lower: *v.CILower, Upper: *v.CIUpper})
			}
		}
		return nil
	})
	return in, st, err
}

// seedOf derives a sensitivity seed from a hex SHA-256: 63 bits, so that
// it survives the signed column and JSON readers.
func seedOf(hash string) uint64 {
	b, _ := hex.DecodeString(hash[:16])
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	return x >> 1
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func forbidden() error {
	return fault.With(fault.ErrForbidden, "only provincial managers run and read unpublished evaluations",
		"仅省级管理员可运行和查看未发布的评价结果", nil)
}

// Publish makes a run the cycle's result and moves the cycle from scoring
// to published, in one transaction: a cycle has one published run. The
// store's publish hooks run in that transaction.
func (s *Store) Publish(ctx context.Context, by auth.Principal, runID string) (Run, error) {
	if !by.Is(auth.RoleAdmin) {
		return Run{}, forbidden()
	}
	var r Run
	var follow []jobs.Job
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Omit("inputs", "results", "sensitivity").Where("id = ?", runID).Take(&r).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("run %s: %w", runID, fault.ErrNotFound)
			}
			return fmt.Errorf("get run: %w", err)
		}
		at := time.Now().UTC().Truncate(time.Millisecond)
		// Only a run of the cycle's current scoring period: one computed
		// before the cycle was reopened may rest on values since changed.
		res := tx.Model(&cycles.Cycle{}).Where("id = ? AND status = ? AND scoring_period = ?", r.CycleID, cycles.Scoring, r.ScoringPeriod).
			Updates(map[string]any{"status": cycles.Published, "updated_at": at})
		if res.Error != nil {
			return fmt.Errorf("publish cycle: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return unpublishable(tx, r)
		}
		r.PublishedAt, r.PublishedBy = &at, by.UserID
		if err := tx.Model(&Run{}).Where("id = ?", r.ID).
			Updates(map[string]any{"published_at": at, "published_by": by.UserID}).Error; err != nil {
			return fmt.Errorf("publish run: %w", err)
		}
		for _, h := range s.hooks {
			js, err := h(tx, by, r)
			if err != nil {
				return fmt.Errorf("after publishing run %s: %w", r.ID, err)
			}
			follow = append(follow, js...)
		}
		return nil
	})
	if err != nil {
		return Run{}, err
	}
	// The jobs are committed. Enqueue logs a failure (with the queue's
	// logger), and the sweeper enqueues the jobs later: publication has
	// happened either way.
	for _, j := range follow {
		if s.queue != nil {
			_ = s.queue.Enqueue(ctx, j)
		}
	}
	return r, nil
}

// PublishedStamp names the set of published runs: it changes exactly when
// a run is published. Pages derived from published runs are cached under
// it (internal/pubcache). A cycle has one published run and keeps it, so
// the set stays as small as the number of cycles.
func (s *Store) PublishedStamp(ctx context.Context) (string, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&Run{}).Where("published_at IS NOT NULL").Order("id").Pluck("id", &ids).Error; err != nil {
		return "", fmt.Errorf("published runs: %w", err)
	}
	return strings.Join(ids, ","), nil
}
