package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/app"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/demo"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
	"github.com/ipeval/ipeval/internal/testing/testproc"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/jobs/jobstest"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// childEnv, set to 1, makes the test binary run the command line it was
// given, as the ipeval binary would, instead of the tests: the fault tests
// start real ipeval processes that they can kill without building one.
const childEnv = "IPEVAL_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "ipeval:", err)
			os.Exit(exitCode(err))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is an ipeval command running as a child process of the test.
type process struct {
	cmd    *exec.Cmd
	out    *output
	exited chan struct{}
}

// startIpeval runs `ipeval args...` as a child process with vars added to
// its environment; it is killed, if still running, when the test ends,
// and its output is logged if the test failed.
func startIpeval(t testing.TB, vars map[string]string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), out: &output{}, exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), childEnv+"=1", "IPEVAL_METRICS_ADDR=127.0.0.1:0")
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.signal(t, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("ipeval %s:\n%s", args[0], p.out.String())
		}
	})
	return p
}

// signal sends sig and waits for the process to end.
func (p *process) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("ipeval did not end within 30s of %v", sig)
	}
}

// faultRows is the size of the survey file of TestWorkerKilledMidJob: large
// enough that its ingestion takes a good second.
const faultRows = 60_000

// TestWorkerKilledMidJob runs `ipeval worker` as a process, kills it with
// SIGKILL while it ingests a large survey file, and starts a fresh worker:
// the job is retried, as attempt 2, and the batch ends as an uninterrupted
// ingestion of the same file does — every response stored once, the same
// indices. It runs on MariaDB when IPEVAL_TEST_MYSQL_DSN is set, else on a
// SQLite file the processes share, and on a throwaway redis-server.
func TestWorkerKilledMidJob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbAddr := filepath.Join(dir, "ipeval.db")
	if os.Getenv(testenv.MySQLDSN) != "" || testenv.InCI() {
		dbAddr = dbtest.EmptyMySQL(t)
	}
	rds := testproc.StartRedis(t)
	args := []string{"--db", dbAddr, "--redis", rds.Addr, "--data-dir", dir, "--contact-key", strings.Repeat("k", app.MinContactKey), "--concurrency", "2"}
	cfg, _, err := flags(env{getenv: envOf(nil), stdout: io.Discard, stderr: io.Discard}, "worker", args, config.CommandSettings("worker")...)
	if err != nil {
		t.Fatal(err)
	}
	db, err := app.OpenDB(ctx, cfg, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	opt, err := jobs.RedisOpt(rds.Addr)
	if err != nil {
		t.Fatal(err)
	}
	queue := jobs.NewQueue(db, opt, nil)
	t.Cleanup(func() { _ = queue.Close() })
	svc, err := app.NewStores(cfg, db, queue)
	if err != nil {
		t.Fatal(err)
	}
	store := svc.Surveys
	if _, err := demo.Load(ctx, db, demo.Options{}); err != nil {
		t.Fatal(err)
	}
	admin, contractor := demoPrincipal(t, svc, "admin"), demoPrincipal(t, svc, "survey")
	cycle := currentCycle(t, db)
	project := func() surveys.Project {
		t.Helper()
		p, err := store.CreateProject(ctx, admin, cycle, surveys.ProjectInput{
			OrganisationID: contractor.OrganisationID, Name: "满意度调查", Minimum: 3, Target: 10,
			Regions:        []surveys.ProjectRegion{{Code: "140100"}, {Code: "140200"}, {Code: "140300"}},
			FieldworkStart: "2026-09-01", FieldworkEnd: "2026-10-31",
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := surveyFile(faultRows, []string{"140100", "140200", "140300"}, "2026-09-15")
	clean := project()
	if _, err := store.IngestNow(ctx, contractor, clean.ID, "clean.csv", strings.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	want := projectIndices(t, store, admin, clean.ID)

	first := startIpeval(t, nil, append([]string{"worker"}, args...)...)
	p := project()
	b, _, err := store.Upload(ctx, contractor, p.ID, "answers.csv", strings.NewReader(file), "")
	if err != nil {
		t.Fatal(err)
	}
	jobstest.WaitFor(t, queue, *b.JobID, "report progress", 40*time.Second, func(j jobs.Job) bool { return j.Status == jobs.StatusRunning && j.Progress > 0 })
	first.signal(t, syscall.SIGKILL)
	if j, err := queue.Get(ctx, *b.JobID); err != nil || j.Status != jobs.StatusRunning || j.Attempts != 1 {
		t.Fatalf("job after the kill: %+v, %v; want running, attempt 1", j, err)
	}
	if v, err := store.GetBatch(ctx, admin, b.ID); err != nil || v.Status != surveys.BatchLoading {
		t.Fatalf("batch after the kill: %s, %v; want loading: make the file larger", v.Status, err)
	}

	// asynq hands a dead worker's task to another worker once the task's
	// lease (30 s) has been expired for 30 s more. The test moves that
	// clock forward rather than wait a minute: it backdates the lease, in
	// asynq's key for it, so that the fresh worker's first recovery pass
	// finds the task.
	rc := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer rc.Close()
	leases := "asynq:{" + jobs.DefaultQueue + "}:lease"
	if err := rc.ZAddXX(ctx, leases, redis.Z{Score: float64(time.Now().Add(-2 * time.Minute).Unix()), Member: *b.JobID}).Err(); err != nil {
		t.Fatal(err)
	}
	if score, err := rc.ZScore(ctx, leases, *b.JobID).Result(); err != nil || score > float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatalf("the killed worker's task has no backdated lease: %v, %v", score, err)
	}

	second := startIpeval(t, nil, append([]string{"worker"}, args...)...)
	done := jobstest.Wait(t, queue, *b.JobID, 40*time.Second)
	if done.Status != jobs.StatusSucceeded || done.Attempts != 2 {
		t.Fatalf("job %s after %d attempts (%s), want succeeded at the second", done.Status, done.Attempts, done.Error)
	}
	v, err := store.GetBatch(ctx, admin, b.ID)
	if err != nil || v.Status != surveys.BatchValid || v.ValidRows != faultRows {
		t.Fatalf("batch %+v, %v; want all %d rows valid", v.Batch, err, faultRows)
	}
	var stored int64
	if err := db.Table("survey_responses").Where("batch_id = ?", b.ID).Count(&stored).Error; err != nil || stored != faultRows {
		t.Fatalf("%d responses stored (%v), want %d", stored, err, faultRows)
	}
	if got := projectIndices(t, store, admin, p.ID); got != want {
		t.Fatalf("indices after the retry differ from an uninterrupted ingestion's:\n got %s\nwant %s", got, want)
	}
	second.signal(t, syscall.SIGTERM)
}

// demoPrincipal returns a demo user as a principal.
func demoPrincipal(t *testing.T, svc *app.Stores, username string) auth.Principal {
	t.Helper()
	u, err := svc.Auth.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	p := auth.Principal{UserID: u.ID, Username: u.Username, Role: u.Role}
	if u.OrganisationID != nil {
		p.OrganisationID = *u.OrganisationID
	}
	return p
}

// currentCycle returns the demo's cycle that collects data.
func currentCycle(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var id string
	if err := db.Table("cycles").Where("status = ?", "collecting").Pluck("id", &id).Error; err != nil || id == "" {
		t.Fatalf("no collecting cycle: %v", err)
	}
	return id
}

// surveyFile is a survey export of n respondents of the default
// questionnaire spread over regions, all submitted on day (2006-01-02).
// Answers differ from item to item and the times are unhurried, so that
// every row is valid and no quality screen removes one.
func surveyFile(n int, regions []string, day string) string {
	q := questionnaire.Default()
	var b strings.Builder
	b.WriteString("region,respondent_type,respondent_id,phone,seconds,submitted_at")
	for _, it := range q.Items {
		b.WriteString("," + it.Code)
	}
	b.WriteByte('\n')
	for i := range n {
		fmt.Fprintf(&b, "%s,%s,K%06d,,%d,%s 10:00:00", regions[i%len(regions)], q.RespondentTypes[i%len(q.RespondentTypes)].Code, i, 60+i%500, day)
		for j := range q.Items {
			fmt.Fprintf(&b, ",%d", 1+(i*7+j*3)%5)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// projectIndices returns a project's indices by region, without what
// names the project or the time, for comparing two projects.
func projectIndices(t *testing.T, store *surveys.Store, by auth.Principal, projectID string) string {
	t.Helper()
	idx, err := store.Quality(context.Background(), by, projectID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, ri := range idx {
		out[ri.RegionCode] = ri.Index
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
