package surveys_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles/cyclestest"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/jobs/jobstest"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// benchRowsEnv sets the rows of the generated upload (default
// defaultBenchRows); ingestion refuses a file of more than 2,000,000.
const benchRowsEnv = "IPEVAL_BENCH_SURVEY_ROWS"

// defaultBenchRows is the benchmark: a million responses.
const defaultBenchRows = 1_000_000

// benchRegions is how many regions the generated responses spread over.
const benchRegions = 120

// benchItems is the questionnaire's scored items.
const benchItems = 20

// BenchmarkSurveyIngest reads one generated upload (IPEVAL_BENCH_SURVEY_ROWS
// responses, default a million, × 20 items over 120 regions) four ways, in
// the same run: a plain encoding/csv read of the file (the floor), ipeval's
// whole ingestion (Upload, then the job: validation, insert, quality
// screens and indices) into SQLite and into MySQL, and MySQL's own LOAD
// DATA LOCAL INFILE of the same rows into a comparable table. Each reports
// rows/s; the ipeval ones also the process's peak resident memory while
// ingesting (peak-MB, see benchPeakRSS). Each ipeval iteration uploads to
// a fresh project, since the same file uploaded again to a project is
// found, not read.
func BenchmarkSurveyIngest(b *testing.B) {
	rows := benchRows(b)
	q := benchQuestionnaire()
	path := benchWriteCSV(b, q, rows)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoding_csv", func(b *testing.B) {
		b.SetBytes(st.Size())
		for i := 0; i < b.N; i++ {
			if n := benchReadCSV(b, path); n != rows+1 {
				b.Fatalf("read %d records, want %d", n, rows+1)
			}
		}
		benchReportRate(b, rows)
	})
	b.Run("ipeval_sqlite", func(b *testing.B) { benchIngest(b, dbtest.New(b), q, path, rows) })
	b.Run("ipeval_mysql", func(b *testing.B) { benchIngest(b, dbtest.NewMySQL(b), q, path, rows) })
	b.Run("load_data_mysql", func(b *testing.B) { benchLoadData(b, path, rows) })
}

func benchRows(tb testing.TB) int {
	v := os.Getenv(benchRowsEnv)
	if v == "" {
		return defaultBenchRows
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < benchRegions {
		tb.Fatalf("%s=%q: want a number of rows, at least %d", benchRowsEnv, v, benchRegions)
	}
	return n
}

func benchReportRate(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// benchQuestionnaire is a version of the default questionnaire (the one
// the default scheme takes values from) with 20 items on one grid and an
// attention check.
func benchQuestionnaire() questionnaire.Questionnaire {
	q := questionnaire.Default()
	q.Items = nil
	for i := range benchItems {
		q.Items = append(q.Items, questionnaire.Item{Code: fmt.Sprintf("q%02d", i+1), Text: fmt.Sprintf("题目%d", i+1),
			Weight: 1, Group: "service"})
	}
	q.Attention = &questionnaire.AttentionCheck{Code: "attention", Text: "本题请选择“不满意”", Expect: 2}
	return q
}

// benchRegion is the code of synthetic region i.
func benchRegion(i int) string { return fmt.Sprintf("BR%03d", i) }

// benchWriteCSV streams rows responses to a temporary file as a survey
// tool exports them: metadata, 20 answers (numbers, the last as label
// text), the attention check. Every row is valid; a tenth are speeders.
func benchWriteCSV(tb testing.TB, q questionnaire.Questionnaire, rows int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "responses.csv")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	header := []string{"region", "respondent_type", "respondent_id", "contact", "seconds", "submitted_at"}
	for _, it := range q.Items {
		header = append(header, it.Code)
	}
	header = append(header, "attention")
	fmt.Fprintf(w, "\ufeff%s\r\n", strings.Join(header, ","))
	types := []string{"企业", "高校院所", "服务机构", "个人"}
	labels := []string{"非常不满意", "不满意", "基本满意", "满意", "非常满意"}
	var line []byte
	for i := range rows {
		line = line[:0]
		line = fmt.Appendf(line, "%s,%s,R%07d,138%08d,%d,2024-05-%02d %02d:%02d:%02d", benchRegion(i%benchRegions), types[i%4],
			i, i, 60+(i*7)%600, 1+i%28, i%24, i%60, (i*7)%60)
		for j := range benchItems {
			if j == benchItems-1 {
				line = append(line, ',')
				line = append(line, labels[(i+j)%5]...)
			} else {
				line = append(line, ',', byte('1'+(i*31+j*7)%5))
			}
		}
		line = append(line, ",2\r\n"...)
		if _, err := w.Write(line); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// readCSV reads the file with encoding/csv and returns its records.
func benchReadCSV(tb testing.TB, path string) int {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// benchEnv is a store on db with what a project needs: an admin, a
// contractor organisation, a cycle with the default scheme, the 120
// regions and the questionnaire.
type benchEnv struct {
	store   *surveys.Store
	admin   auth.Principal
	org     auth.Organisation
	cycleID string
	qid     string
	regions []surveys.ProjectRegion
	handler jobs.Handler
	queue   *jobs.Queue
}

func newBenchEnv(b *testing.B, db *gorm.DB, q questionnaire.Questionnaire) *benchEnv {
	b.Helper()
	ctx := context.Background()
	queue := jobstest.NewQueue(b, db)
	files, err := blobs.New(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	var csvRegions strings.Builder
	csvRegions.WriteString("code,name,kind,parent\nBR,基准省,province,\n")
	env := &benchEnv{queue: queue}
	for i := range benchRegions {
		fmt.Fprintf(&csvRegions, "%s,基准市%03d,prefecture_city,BR\n", benchRegion(i), i)
		env.regions = append(env.regions, surveys.ProjectRegion{Code: benchRegion(i), Target: 10_000, Minimum: 100})
	}
	as := auth.NewStore(db, nil)
	// The jobs an upload queues name their creator, a stored user.
	u, _, err := as.CreateUser(ctx, auth.NewUser{Username: "bench-admin", Role: auth.RoleAdmin})
	if err != nil {
		b.Fatal(err)
	}
	env.admin = auth.Principal{UserID: u.ID, Username: u.Username, Role: auth.RoleAdmin}
	if env.org, err = as.CreateOrganisation(ctx, "基准调查机构", auth.OrgKindContractor); err != nil {
		b.Fatal(err)
	}
	// A project's cycle needs a scheme that takes values from its
	// questionnaire: the default scheme's survey:satisfaction.
	c, _ := cyclestest.Collecting(b, db, strings.NewReader(csvRegions.String()), 2024)
	env.cycleID = c.ID
	env.store = surveys.NewStore(db, queue, indicators.NewValueStore(db, indicators.NewSchemeStore(db)), files, []byte("bench contact key"), 1<<40)
	body, err := q.JSON()
	if err != nil {
		b.Fatal(err)
	}
	sq, _, err := env.store.CreateQuestionnaire(ctx, env.admin, body)
	if err != nil {
		b.Fatal(err)
	}
	env.qid = sq.ID
	env.handler = env.store.Handler(slog.New(slog.DiscardHandler))
	return env
}

// project commissions a fresh project, so that the same file is read
// again rather than found as an earlier batch.
func (env *benchEnv) project(b *testing.B, i int) surveys.Project {
	b.Helper()
	p, err := env.store.CreateProject(context.Background(), env.admin, env.cycleID, surveys.ProjectInput{
		OrganisationID: env.org.ID, QuestionnaireID: env.qid, Name: fmt.Sprintf("基准测试 %d", i),
		Regions: env.regions, FieldworkStart: "2024-05-01", FieldworkEnd: "2024-05-31"})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// ingest uploads the file to project p and runs its ingestion job, as a
// worker would.
func (env *benchEnv) ingest(b *testing.B, p surveys.Project, path string) surveys.Batch {
	b.Helper()
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	batch, created, err := env.store.Upload(ctx, env.admin, p.ID, "responses.csv", f, "")
	if err != nil || !created {
		b.Fatalf("upload: created %v, %v", created, err)
	}
	job, err := env.queue.Get(ctx, *batch.JobID)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := env.handler(ctx, job, func(int, string) {}); err != nil {
		b.Fatalf("ingest: %v", err)
	}
	v, err := env.store.GetBatch(ctx, env.admin, batch.ID)
	if err != nil {
		b.Fatal(err)
	}
	return v.Batch
}

func benchIngest(b *testing.B, db *gorm.DB, q questionnaire.Questionnaire, path string, rows int) {
	env := newBenchEnv(b, db, q)
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := env.project(b, i)
		readPeak := benchPeakRSS()
		b.StartTimer()
		batch := env.ingest(b, p, path)
		b.StopTimer()
		peak = max(peak, readPeak())
		if batch.Status != surveys.BatchValid || batch.ValidRows != rows {
			v, _ := env.store.GetBatch(context.Background(), env.admin, batch.ID)
			b.Fatalf("batch %s: %d valid rows of %d, error %q, problems %v", batch.Status, batch.ValidRows, rows,
				batch.Error, v.Problems[:min(3, len(v.Problems))])
		}
		idx, err := env.store.Quality(context.Background(), env.admin, p.ID)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, ri := range idx {
			n += ri.Responses
		}
		if len(idx) != benchRegions || n != rows {
			b.Fatalf("indices of %d regions over %d responses, want %d over %d", len(idx), n, benchRegions, rows)
		}
		b.StartTimer()
	}
	benchReportRate(b, rows)
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
}

// benchPeakRSS starts measuring the peak resident memory of the process and
// returns the function that reads it, in bytes.
//
// On Linux it returns what the Go runtime holds but no longer uses to the
// kernel, then resets the kernel's high-water mark of the process's
// resident set (writing 5 to /proc/self/clear_refs) and reads VmHWM from
// /proc/self/status at the end. The kernel keeps that mark itself (it is
// raised before memory is released, and read as at least the current
// resident set), so no short peak is missed between samples, and it counts
// everything the process maps: the Go heap and stacks, the embedded
// broker, and SQLite's page cache, which the pure-Go driver allocates
// outside the Go heap, where runtime/metrics would not see it. A plain
// getrusage Maxrss could not be reset: in a benchmark process it would
// report whatever earlier work peaked highest. The figure includes the
// test process at rest (some 45 MB), so it is an upper bound of what
// ingestion needs, comparable as it stands with a 200 MB target.
// Elsewhere it falls back to getrusage's Maxrss, the peak of the process
// so far.
func benchPeakRSS() func() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil {
		return func() int64 {
			if n, ok := benchVmHWM(); ok {
				return n
			}
			return benchMaxRSS()
		}
	}
	return benchMaxRSS
}

// benchVmHWM reads the peak resident set of the process from /proc/self/status.
func benchVmHWM() (int64, bool) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(raw) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// benchMaxRSS is getrusage's peak resident set of the process, in bytes.
func benchMaxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss // bytes there, KiB on Linux and the BSDs
	}
	return ru.Maxrss << 10
}

// benchLoadTable is the comparable table: one column per CSV column, typed
// (answers as TINYINT, the last item, given as label text, as VARCHAR),
// with an auto-increment key and an index on the region, as
// survey_responses has.
func benchLoadTable() string {
	var cols strings.Builder
	for i := range benchItems - 1 {
		fmt.Fprintf(&cols, "q%02d TINYINT NOT NULL, ", i+1)
	}
	return "CREATE TABLE bench_load (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, region VARCHAR(32) NOT NULL, " +
		"respondent_type VARCHAR(32) NOT NULL, respondent_id VARCHAR(128) NOT NULL, contact VARCHAR(64) NOT NULL, " +
		"seconds DOUBLE, submitted_at DATETIME, " + cols.String() + fmt.Sprintf("q%02d VARCHAR(16) NOT NULL, ", benchItems) +
		"attention TINYINT NOT NULL, KEY idx_bench_load_region (region)) " +
		"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
}

func benchLoadData(b *testing.B, path string, rows int) {
	db, err := sql.Open("mysql", dbtest.EmptyMySQL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1)
	mysql.RegisterLocalFile(path)
	b.Cleanup(func() { mysql.DeregisterLocalFile(path) })
	cols := "region, respondent_type, respondent_id, contact, seconds, submitted_at, "
	for i := range benchItems {
		cols += fmt.Sprintf("q%02d, ", i+1)
	}
	load := fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE bench_load CHARACTER SET utf8mb4 "+
		"FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\r\\n' IGNORE 1 LINES (%sattention)",
		strings.ReplaceAll(path, "'", "''"), cols)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, stmt := range []string{"DROP TABLE IF EXISTS bench_load", benchLoadTable()} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		res, err := db.ExecContext(ctx, load)
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1148 || me.Number == 3948) {
			// The server refuses local files: allow them, as the benchmark
			// needs, and say so.
			b.StopTimer()
			if _, gerr := db.ExecContext(ctx, "SET GLOBAL local_infile = 1"); gerr != nil {
				b.Fatalf("LOAD DATA LOCAL refused (%v), and SET GLOBAL local_infile = 1 failed: %v", err, gerr)
			}
			b.Logf("LOAD DATA LOCAL was refused (%v): set local_infile = 1 on the server", err)
			b.StartTimer()
			res, err = db.ExecContext(ctx, load)
		}
		if err != nil {
			b.Fatal(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(rows) {
			b.Fatalf("loaded %d rows (%v), want %d", n, err, rows)
		}
	}
	benchReportRate(b, rows)
}
