package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ipeval/ipeval/internal/testing/loadgen"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// The load test's shape (make loadtest): about a minute in all.
const (
	loadDuration   = 40 * time.Second
	loadReadRate   = 300 // city officials' reads per second
	loadWriters    = 4   // provincial managers writing and verifying
	loadSurveyRows = 100_000
	loadDraws      = 1000 // sensitivity draws of the evaluation run
	loadCities     = 5    // city officials, each reading their own region
)

// TestLoad is `make loadtest`: on MySQL and Redis, for loadDuration, city
// officials read their dashboards (the region result as JSON and the page)
// at a steady rate, provincial managers write, submit and verify indicator
// values as fast as they are answered, a contractor uploads a survey of
// 100,000 responses and a manager evaluates a cycle with a sensitivity
// analysis, all at once. It prints throughput, p50 and p99 per kind of
// request and fails on any 5xx, any failed request, and any acknowledged
// write that is not there afterwards.
func TestLoad(t *testing.T) {
	if os.Getenv("IPEVAL_LOADTEST") == "" {
		t.Skip("the load test runs with make loadtest (IPEVAL_LOADTEST=1)")
	}
	testenv.Require(t, testenv.MySQLDSN)
	testenv.Require(t, testenv.RedisAddr)
	s := startLive(t, false, "--workers", "2")
	if s.backend != "mysql+redis" {
		t.Fatalf("the load test runs on MySQL and Redis, not %s", s.backend)
	}
	readers := s.cityReaders(t)
	writers := newValueWriters(s.writableValues(t)[:loadWriters])
	scoring := s.scoringCycle(t)
	project, file := s.surveyProject(t)

	ctx, cancel := context.WithTimeout(context.Background(), loadDuration+2*time.Minute)
	defer cancel()
	var (
		wg                 sync.WaitGroup
		reads, writes      loadgen.Result
		upload, evaluation timedStep
	)
	wg.Add(4)
	go func() {
		defer wg.Done()
		reads = mustLoad(t, ctx, s.readTarget(readers), loadgen.Config{Rate: loadReadRate, Concurrency: 64, Duration: loadDuration})
	}()
	go func() {
		defer wg.Done()
		writes = mustLoad(t, ctx, s.reviewTarget(writers), loadgen.Config{Concurrency: loadWriters, Duration: loadDuration})
	}()
	go func() {
		defer wg.Done()
		upload = s.uploadSurvey(t, ctx, project, file)
	}()
	go func() {
		defer wg.Done()
		time.Sleep(5 * time.Second) // into the steady state of the other loads
		evaluation = s.evaluate(t, ctx, scoring)
	}()
	wg.Wait()

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\nload test (%s, %s):\n", s.backend, loadDuration)
	fmt.Fprintln(tw, "what\trequests\tper second\tp50\tp99\tfailed\t5xx\t")
	for _, l := range []struct {
		name string
		res  loadgen.Result
	}{
		{fmt.Sprintf("city officials' dashboards (JSON and page, %d/s)", loadReadRate), reads},
		{fmt.Sprintf("managers writing, submitting, verifying (%d at once)", loadWriters), writes},
	} {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.1f ms\t%.1f ms\t%d\t%d\t\n", l.name, l.res.Sent, l.res.Throughput(),
			ms(l.res.Percentile(0.5)), ms(l.res.Percentile(0.99)), l.res.Failures, l.res.Count5xx())
	}
	fmt.Fprintf(tw, "survey upload of %d responses, to a valid batch\t1\t%.0f rows/s\t%.1f s\t\t%d\t\t\n", loadSurveyRows,
		float64(loadSurveyRows)/upload.took.Seconds(), upload.took.Seconds(), upload.failed())
	fmt.Fprintf(tw, "evaluation run with %d sensitivity draws\t1\t\t%.1f s\t\t%d\t\t\n", loadDraws, evaluation.took.Seconds(), evaluation.failed())
	_ = tw.Flush()

	for name, res := range map[string]loadgen.Result{"reads": reads, "writes": writes} {
		if res.Count5xx() > 0 || res.Failures > 0 {
			t.Errorf("%s: %d failed, %d with 5xx; first: %s", name, res.Failures, res.Count5xx(), res.FirstFailure)
		}
	}
	for name, step := range map[string]timedStep{"survey upload": upload, "evaluation": evaluation} {
		if step.err != nil {
			t.Errorf("%s: %v", name, step.err)
		}
	}
	s.checkNoLostWrites(t, writers)
}

func mustLoad(t *testing.T, ctx context.Context, target loadgen.Target, cfg loadgen.Config) loadgen.Result {
	res, err := loadgen.Run(ctx, target, cfg)
	if err != nil {
		t.Error(err)
	}
	return res
}

// timedStep is one long operation of the load: how long it took, and
// why it failed.
type timedStep struct {
	took time.Duration
	err  error
}

func (s timedStep) failed() int {
	if s.err != nil {
		return 1
	}
	return 0
}

// cityReader is a city official with a token.
type cityReader struct{ token, region string }

// cityReaders returns the demo's official of 太原市 and further officials
// of other cities, added from the command line as an administrator would.
func (s *liveServer) cityReaders(t *testing.T) []cityReader {
	out := []cityReader{{s.city, s.cityRegion}}
	for i, code := range []string{"140200", "140300", "140400", "140500", "140600", "140700"}[:loadCities-1] {
		name := fmt.Sprintf("loadcity%d", i+1)
		cli(t, s.env, "user", "add", "--username", name, "--role", "city", "--region", code)
		out = append(out, cityReader{strings.TrimSpace(cli(t, s.env, "user", "token", name)), code})
	}
	return out
}

// readTarget alternates a city official's region result in the published
// run with their dashboard page; each worker reads as one of the officials.
func (s *liveServer) readTarget(readers []cityReader) loadgen.Target {
	return loadgen.Target{Method: "GET", URL: s.base + "/",
		Prepare: func(c loadgen.Call, r *loadgen.Request) {
			rd := readers[c.Worker%len(readers)]
			r.Header = map[string]string{"Authorization": "Bearer " + rd.token}
			if c.I%2 == 0 {
				r.Path = "/api/v1/runs/" + s.publishedRun + "/regions/" + rd.region
			} else {
				r.Path = "/cycles/" + s.publishedCycle + "/regions/" + rd.region
			}
		},
		Check: func(c loadgen.Call, _ int, body []byte) error {
			rd := readers[c.Worker%len(readers)]
			if !bytes.Contains(body, []byte(rd.region)) {
				return fmt.Errorf("the answer does not name region %s: %.200s", rd.region, body)
			}
			return nil
		}}
}

// valueWriter is one manager's value: they write it, submit it and verify
// it, over and over. acked records each acknowledged step: the version
// it produced and the number the value then had.
type valueWriter struct {
	liveValue
	id    string
	step  int
	acked []ackedWrite
}

type ackedWrite struct {
	version int
	number  float64
	action  string
}

func newValueWriters(vs []liveValue) []*valueWriter {
	out := make([]*valueWriter, len(vs))
	for i, v := range vs {
		out[i] = &valueWriter{liveValue: v}
	}
	return out
}

// reviewTarget makes each worker one manager cycling their value through
// write, submit and verify, each step carrying the version of the last.
func (s *liveServer) reviewTarget(writers []*valueWriter) loadgen.Target {
	cycle := "/api/v1/cycles/" + s.collecting
	return loadgen.Target{Method: "POST", URL: s.base + cycle + "/values",
		Header: map[string]string{"Authorization": "Bearer " + s.admin},
		Prepare: func(c loadgen.Call, r *loadgen.Request) {
			w := writers[c.Worker]
			r.ContentType = "application/json"
			switch w.step % 3 {
			case 0:
				r.Body, _ = json.Marshal(map[string]any{"items": []map[string]any{{"region_code": w.Region,
					"indicator_code": w.Indicator, "number": w.Number + float64(w.step%2), "version": w.Version, "reason": "load"}}})
			case 1:
				r.Path = cycle + "/values/submit"
				r.Body, _ = json.Marshal(map[string]any{"region_code": w.Region, "indicator_codes": []string{w.Indicator}})
			case 2:
				r.Path = cycle + "/values/" + w.id + "/review"
				r.Body, _ = json.Marshal(map[string]any{"verify": true, "version": w.Version})
			}
		},
		Check: func(c loadgen.Call, _ int, body []byte) error {
			w := writers[c.Worker]
			var one struct {
				ID      string   `json:"id"`
				Number  *float64 `json:"number"`
				Version int      `json:"version"`
				Status  string   `json:"status"`
			}
			var many struct{ Items []json.RawMessage }
			raw := body
			if w.step%3 != 2 {
				if err := json.Unmarshal(body, &many); err != nil || len(many.Items) != 1 {
					return fmt.Errorf("step %d answered %.200s", w.step%3, body)
				}
				raw = many.Items[0]
			}
			if err := json.Unmarshal(raw, &one); err != nil || one.Number == nil || one.Version <= w.Version {
				return fmt.Errorf("step %d answered %.200s", w.step%3, body)
			}
			w.id, w.Version = one.ID, one.Version
			w.acked = append(w.acked, ackedWrite{version: one.Version, number: *one.Number, action: one.Status})
			w.step++
			return nil
		}}
}

// checkNoLostWrites reads every written value back: its number and version
// are the last acknowledged, and its history holds every acknowledged
// version.
func (s *liveServer) checkNoLostWrites(t *testing.T, writers []*valueWriter) {
	t.Helper()
	type storedValue struct {
		ID      string   `json:"id"`
		Number  *float64 `json:"number"`
		Version int      `json:"version"`
	}
	var stored struct{ Items []storedValue }
	s.get(t, s.admin, "/api/v1/cycles/"+s.collecting+"/values", &stored)
	acked := 0
	for _, w := range writers {
		if len(w.acked) == 0 {
			t.Errorf("value %s/%s: no write was acknowledged", w.Region, w.Indicator)
			continue
		}
		acked += len(w.acked)
		last := w.acked[len(w.acked)-1]
		i := slices.IndexFunc(stored.Items, func(v storedValue) bool { return v.ID == w.id })
		if i < 0 {
			t.Errorf("value %s/%s: not stored, last acknowledged %+v", w.Region, w.Indicator, last)
			continue
		}
		if got := stored.Items[i]; got.Version != last.version || *got.Number != last.number {
			t.Errorf("value %s/%s: stored %+v, last acknowledged %+v", w.Region, w.Indicator, got, last)
			continue
		}
		var history struct {
			Items []struct{ Version int }
		}
		s.get(t, s.admin, "/api/v1/cycles/"+s.collecting+"/values/"+w.id+"/history", &history)
		kept := map[int]bool{}
		for _, h := range history.Items {
			kept[h.Version] = true
		}
		for _, a := range w.acked {
			if !kept[a.version] {
				t.Errorf("value %s/%s: acknowledged version %d (%s) is not in its history", w.Region, w.Indicator, a.version, a.action)
			}
		}
	}
	fmt.Printf("no lost writes: %d acknowledged writes, submissions and verifications of %d values read back\n", acked, len(writers))
}

// scoringCycle prepares, through the API, a cycle to evaluate under load:
// the next year, the collecting cycle's scheme, every region's reported
// values written, submitted and verified, then moved to scoring.
func (s *liveServer) scoringCycle(t *testing.T) string {
	t.Helper()
	var collecting struct {
		Year     int
		SchemeID string `json:"scheme_id"`
	}
	s.get(t, s.admin, "/api/v1/cycles/"+s.collecting, &collecting)
	var cy struct{ ID string }
	s.post(t, s.admin, "/api/v1/cycles", map[string]any{"year": collecting.Year + 1}, &cy)
	s.put(t, s.admin, "/api/v1/cycles/"+cy.ID+"/scheme", map[string]any{"scheme_id": collecting.SchemeID})
	s.post(t, s.admin, "/api/v1/cycles/"+cy.ID+"/transitions", map[string]any{"to": "collecting"}, nil)
	values := s.writableValues(t)
	rng := rand.New(rand.NewPCG(7, 11))
	var items []map[string]any
	for _, v := range values {
		items = append(items, map[string]any{"region_code": v.Region, "indicator_code": v.Indicator,
			"number": v.Number + float64(rng.IntN(2))})
	}
	var written struct {
		Items []struct {
			ID         string `json:"id"`
			RegionCode string `json:"region_code"`
			Version    int
		}
	}
	s.post(t, s.admin, "/api/v1/cycles/"+cy.ID+"/values", map[string]any{"items": items}, &written)
	regions := map[string]bool{}
	for _, v := range written.Items {
		regions[v.RegionCode] = true
	}
	for r := range regions {
		s.post(t, s.admin, "/api/v1/cycles/"+cy.ID+"/values/submit", map[string]any{"region_code": r}, nil)
	}
	for _, v := range written.Items {
		s.post(t, s.admin, "/api/v1/cycles/"+cy.ID+"/values/"+v.ID+"/review", map[string]any{"verify": true, "version": v.Version + 1}, nil)
	}
	s.post(t, s.admin, "/api/v1/cycles/"+cy.ID+"/transitions", map[string]any{"to": "scoring"}, nil)
	return cy.ID
}

// evaluate requests a run of cycle with a sensitivity analysis and waits
// for its job.
func (s *liveServer) evaluate(t *testing.T, ctx context.Context, cycle string) timedStep {
	start := time.Now()
	var job struct{ ID string }
	code, body := s.do(t, s.admin, "POST", "/api/v1/cycles/"+cycle+"/runs", map[string]any{"draws": loadDraws,
		"swap_normalisation": true, "swap_aggregation": true, "toggle_imputation": true})
	if code != http.StatusAccepted || json.Unmarshal(body, &job) != nil {
		return timedStep{err: fmt.Errorf("request a run: %d %s", code, body)}
	}
	err := s.waitForJob(t, ctx, job.ID)
	return timedStep{took: time.Since(start), err: err}
}

// waitForJob polls a job until it has succeeded.
func (s *liveServer) waitForJob(t *testing.T, ctx context.Context, id string) error {
	for {
		var j struct{ Status, Error string }
		s.get(t, s.admin, "/api/v1/jobs/"+id, &j)
		switch j.Status {
		case "succeeded":
			return nil
		case "failed":
			return fmt.Errorf("job %s failed: %s", id, j.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("job %s still %s: %w", id, j.Status, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// surveyProject commissions a survey of the collecting cycle from the demo
// contractor and generates its upload: loadSurveyRows responses spread
// over the assessed regions, as CSV.
func (s *liveServer) surveyProject(t *testing.T) (string, []byte) {
	t.Helper()
	var cy struct{ Year int }
	s.get(t, s.admin, "/api/v1/cycles/"+s.collecting, &cy)
	var orgs struct {
		Items []struct{ ID, Kind string }
	}
	s.get(t, s.admin, "/api/v1/organisations", &orgs)
	i := slices.IndexFunc(orgs.Items, func(o struct{ ID, Kind string }) bool { return o.Kind == "contractor" })
	if i < 0 {
		t.Fatal("the demo has no contractor organisation")
	}
	var p struct{ ID string }
	s.post(t, s.admin, "/api/v1/cycles/"+s.collecting+"/survey-projects", map[string]any{"organisation_id": orgs.Items[i].ID,
		"name": "负载测试调查", "fieldwork_start": fmt.Sprintf("%d-09-01", cy.Year), "fieldwork_end": fmt.Sprintf("%d-10-31", cy.Year)}, &p)
	file := surveyFile(loadSurveyRows, s.assessedRegions(t), fmt.Sprintf("%d-09-15", cy.Year))
	return p.ID, []byte(file)
}

// uploadSurvey uploads the file as the demo contractor and waits until its
// batch has been read, valid.
func (s *liveServer) uploadSurvey(t *testing.T, ctx context.Context, project string, file []byte) timedStep {
	token := strings.TrimSpace(cli(t, s.env, "user", "token", "survey"))
	start := time.Now()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "负载测试.csv")
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.base+"/api/v1/survey-projects/"+project+"/batches", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return timedStep{err: err}
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var b struct{ ID string }
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(answer, &b) != nil {
		return timedStep{err: fmt.Errorf("upload: %d %s", resp.StatusCode, answer)}
	}
	for {
		var v struct {
			Status    string
			ValidRows int `json:"valid_rows"`
			Error     string
			Problems  []struct {
				Row       int
				MessageEn string `json:"message_en"`
			}
		}
		s.get(t, token, "/api/v1/survey-batches/"+b.ID, &v)
		switch v.Status {
		case "valid":
			if v.ValidRows != loadSurveyRows {
				return timedStep{err: fmt.Errorf("batch valid with %d rows, want %d", v.ValidRows, loadSurveyRows)}
			}
			return timedStep{took: time.Since(start)}
		case "invalid", "failed":
			return timedStep{err: fmt.Errorf("batch %s: %s %+v", v.Status, v.Error, v.Problems[:min(3, len(v.Problems))])}
		}
		select {
		case <-ctx.Done():
			return timedStep{err: fmt.Errorf("batch still %s: %w", v.Status, ctx.Err())}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// post and put send JSON and decode a 2xx answer into v (if not nil).
func (s *liveServer) post(tb testing.TB, token, path string, body, v any) {
	tb.Helper()
	s.send(tb, token, "POST", path, body, v)
}

func (s *liveServer) put(tb testing.TB, token, path string, body any) {
	tb.Helper()
	s.send(tb, token, "PUT", path, body, nil)
}

func (s *liveServer) send(tb testing.TB, token, method, path string, body, v any) {
	tb.Helper()
	code, answer := s.do(tb, token, method, path, body)
	if code < 200 || code > 299 {
		tb.Fatalf("%s %s: %d %s", method, path, code, answer)
	}
	if v != nil {
		if err := json.Unmarshal(answer, v); err != nil {
			tb.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
